#!/usr/bin/env bash
# Build a disk image that boots Linux from an iscsi-hba LUN, and print its
# path.  Built from Debian packages, with no loop device and no mount.
#
#   scripts/boot-image.sh          prints BOOT_IMAGE=<path> (and its parts)
#
# Layout (MBR partition table, 128 MiB, 512-byte sectors):
#
#   sectors 1..2047  GRUB i386-pc core.img (BIOS; boot.img in the MBR)
#   partition 1      EFI system partition, FAT32, label ESP:
#                      /EFI/BOOT/BOOTX64.EFI   GRUB x86_64-efi (UEFI)
#                      /boot/grub/grub.cfg     one menu for both
#                      /boot/grub/grubenv      GRUB writes fw_wrote=<pc|efi>
#                      /boot/vmlinuz, /boot/initrd.img
#   partition 2      root file system, ext4, label bootroot: the test
#                    guest's userland (busybox, fio, sg3-utils, e2fsprogs,
#                    iscsi-hba-ctl, /tests; scripts/guest-initramfs.sh)
#
# /boot/initrd.img is small: busybox, the SCSI/ext4 modules and iscsi_hba;
# its /init loads them, mounts partition 2 of the disk GRUB was loaded
# from (GRUB passes its MBR signature) and switch_roots to the
# test guest's /init with guest.script=boot-job, which runs the script the
# host passes as fw_cfg file opt/org.iscsi-hba/script (see
# tests/guest/scripts/boot-job.sh).  So one image serves every boot test
# and the main job.  The kernel is Debian 12's (scripts/guest-image.sh).
#
# Cached as $ISCSI_HBA_CACHE/boot-image/<hash>.img, the hash covering
# every input; a build takes a few seconds.  Packages: fdisk, dosfstools,
# mtools, e2fsprogs, grub-pc-bin, grub-efi-amd64-bin (install-deps.sh).
set -Eeuo pipefail
shopt -s inherit_errexit

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}

IMAGE_MB=128
ESP_START=2048                  # sectors
ESP_MB=40
ROOT_LABEL=bootroot
# Loaded by the boot initramfs with their modules.dep dependencies.  The
# crc implementations are found through the crypto API, not as
# dependencies, so they are named, first.
BOOT_MODULES=(crc32c_generic crct10dif_generic crc64_rocksoft_generic sd_mod ext4)

log() { echo "boot-image: $*" >&2; }
die() { log "$*"; exit 1; }
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

need_tools() {
    local t missing=()
    for t in sfdisk mkfs.vfat mcopy mkfs.ext4 grub-mkimage grub-editenv; do
        command -v "$t" > /dev/null || missing+=("$t")
    done
    for t in /usr/lib/grub/i386-pc/boot.img /usr/lib/grub/x86_64-efi/linux.mod; do
        [ -e "$t" ] || missing+=("$t")
    done
    [ ${#missing[@]} = 0 ] ||
        die "missing ${missing[*]}: run scripts/install-deps.sh (fdisk dosfstools mtools e2fsprogs grub-pc-bin grub-efi-amd64-bin)"
}

# The guest's kernel, driver and userland cpio (all cached by their scripts).
inputs() {
    eval "$(bash "$TOP/scripts/guest-image.sh")"
    eval "$(bash "$TOP/scripts/build-guest-driver.sh")"
    ROOT_CPIO=$(bash "$TOP/scripts/guest-initramfs.sh" -m qemu_fw_cfg "$KO" "$CTL")
    VMLINUZ=$MODULES_ROOT/boot/vmlinuz-$KERNEL_ABI
    [ -f "$VMLINUZ" ] || die "no $VMLINUZ (scripts/guest-image.sh)"
}

input_hash() {
    {
        cat "$0"
        echo "$KERNEL_ABI $ROOT_CPIO"
        sha256sum "$KO" "$VMLINUZ" "$BUSYBOX"
        dpkg-query -W grub-pc-bin grub-efi-amd64-bin 2>/dev/null
    } | sha256sum | cut -c1-16
}

# /init of the boot initramfs: modules, root from the LUN, switch_root.
write_boot_init() {
    cat > "$1" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "boot-initrd: loading the SCSI and ext4 modules and iscsi_hba"
for m in /lib/modules/*.ko; do insmod "\$m" || echo "boot-initrd: insmod \$m failed"; done
# The loader names the disk it was loaded from by its MBR signature
# (boot.partuuid=<disk id>-01): root is partition 2 of that disk, so with
# several bootable LUNs Linux mounts the one the firmware booted.
want=
for arg in \$(cat /proc/cmdline); do
    case \$arg in boot.partuuid=*) want=\${arg#boot.partuuid=}; want=\${want%-*} ;; esac
done
find_root() {
    for d in /sys/block/sd*; do
        [ -e "\$d" ] || continue
        d=\${d##*/}
        if [ -z "\$want" ]; then
            findfs LABEL=$ROOT_LABEL 2>/dev/null && return 0
        elif [ "\$(od -An -tx4 -N4 -j440 /dev/\$d 2>/dev/null | tr -d ' ')" = "\$want" ] &&
             [ -b /dev/\${d}2 ]; then
            echo /dev/\${d}2
            return 0
        fi
    done
    return 1
}
root=
for i in \$(seq 300); do
    root=\$(find_root) && break
    sleep 0.1
done
if [ -z "\$root" ]; then
    echo "boot-initrd: no root file system (disk id '\$want', label $ROOT_LABEL) after 30 s:"
    cat /proc/partitions
    dmesg | grep -i -E 'iscsi|scsi|sd ' | tail -n 20
    exec sh
fi
echo "boot-initrd: root is \$root (\$(readlink -f /sys/class/block/\${root#/dev/}))"
mkdir -p /newroot
mount -t ext4 "\$root" /newroot || exec sh
umount /proc /sys /dev
exec switch_root /newroot /init
INIT
    chmod 755 "$1"
}

# modules.dep paths of a module and its dependencies, dependencies first.
LOAD_ORDER=()
add_module() {
    local rel=$1 dep
    [[ " ${LOAD_ORDER[*]} " == *" $rel "* ]] && return 0
    # one line: "<module>: <dependency> <dependency> ..."
    # shellcheck disable=SC2013
    for dep in $(grep "^$rel:" "$MODULES_DIR/modules.dep" | cut -d: -f2); do
        add_module "$dep"
    done
    LOAD_ORDER+=("$rel")
}

# Modules in load order, then iscsi_hba (with its own dependencies); the
# file names sort that way.
boot_initrd() {
    local dir=$1 out=$2 m rel n=10 dep
    mkdir -p "$dir"/{bin,proc,sys,dev,lib/modules}
    cp "$BUSYBOX" "$dir/bin/busybox"
    for m in "${BOOT_MODULES[@]}"; do
        rel=$(grep -E "(^|/)$m\.ko:" "$MODULES_DIR/modules.dep" | cut -d: -f1)
        [ -n "$rel" ] || die "module $m not in $MODULES_DIR/modules.dep"
        add_module "$rel"
    done
    for dep in $(modinfo -F depends "$KO" | tr ',' ' '); do
        rel=$(grep -E "(^|/)$dep\.ko:" "$MODULES_DIR/modules.dep" | cut -d: -f1)
        [ -n "$rel" ] || die "iscsi_hba needs $dep, not in modules.dep"
        add_module "$rel"
    done
    for rel in "${LOAD_ORDER[@]}"; do
        cp "$MODULES_DIR/$rel" "$dir/lib/modules/$n-$(basename "$rel")"
        n=$((n + 1))
    done
    cp "$KO" "$dir/lib/modules/$n-iscsi_hba.ko"
    write_boot_init "$dir/init"
    (cd "$dir" && find . | sort | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) |
        gzip -1 > "$out"
}

write_grub_cfg() {
    cat > "$1" <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry "Debian 12 from the iscsi-hba LUN" {
  # a write through the firmware's disk driver (int 13h / BlockIo):
  # the host finds it in the LUN's file (tests/guest/run-boot.sh)
  set fw_wrote=$grub_platform
  save_env fw_wrote
  echo "grub: loading the kernel and initrd through the firmware's disk"
  probe --part-uuid --set=bootpart $root
  # BIOS: linux16, not linux.  GRUB's 32-bit linux loader reserves the
  # kernel's whole init_size (~60 MiB) and, finding its heap there, moves
  # all of it at boot with a backward "rep movsb": 4-5 s under TCG.
  # linux16 loads the file at 1 MiB and lets the kernel place itself.
  set args="console=ttyS0 panic=-1 boot.partuuid=$bootpart guest.script=boot-job guest.firmware=$grub_platform"
  if [ "$grub_platform" = pc ]; then
    linux16 /boot/vmlinuz $args
    initrd16 /boot/initrd.img
  else
    linux /boot/vmlinuz $args
    initrd /boot/initrd.img
  fi
}
CFG
}

# The test guest's userland as the root file system.
root_tree() {
    local dir=$1
    mkdir -p "$dir"
    (cd "$dir" && "$BUSYBOX" cpio -i -d -m -u --quiet < "$ROOT_CPIO")
    mkdir -p "$dir/root" "$dir/mnt"
    echo "LABEL=$ROOT_LABEL / ext4 defaults 0 1" > "$dir/etc/fstab"
}

build_image() {
    local img=$1 work=$2 esp_bytes root_start root_bytes
    esp_bytes=$((ESP_MB * 1024 * 1024))
    root_start=$((ESP_START + esp_bytes / 512))
    root_bytes=$(((IMAGE_MB * 1024 * 1024) - root_start * 512))
    rm -f "$img"
    truncate -s "${IMAGE_MB}M" "$img"
    printf 'start=%d, size=%d, type=ef, bootable\nstart=%d, type=83\n' \
        "$ESP_START" $((esp_bytes / 512)) "$root_start" | sfdisk -q "$img"

    # ESP: kernel, initrd, GRUB config and the UEFI loader
    mkfs.vfat -F 32 -s 1 -n ESP --offset "$ESP_START" "$img" $((esp_bytes / 1024)) > /dev/null
    mkdir -p "$work/esp/EFI/BOOT" "$work/esp/boot/grub"
    cp "$VMLINUZ" "$work/esp/boot/vmlinuz"
    boot_initrd "$work/initrd" "$work/esp/boot/initrd.img"
    write_grub_cfg "$work/esp/boot/grub/grub.cfg"
    grub-editenv "$work/esp/boot/grub/grubenv" create
    # no device in the prefix: the one BOOTX64.EFI was loaded from
    grub-mkimage -O x86_64-efi -o "$work/esp/EFI/BOOT/BOOTX64.EFI" -p /boot/grub \
        part_msdos part_gpt fat normal linux configfile serial terminal echo test probe loadenv efi_gop
    MTOOLS_SKIP_CHECK=1 mcopy -s -i "$img@@$((ESP_START * 512))" "$work/esp/EFI" "$work/esp/boot" ::/

    # root: ext4 filled from a directory (-d), no mount
    root_tree "$work/root"
    mkfs.ext4 -q -F -L "$ROOT_LABEL" -E offset=$((root_start * 512)) -d "$work/root" \
        "$img" $((root_bytes / 1024))k

    # BIOS: boot.img in the MBR (partition table kept), core.img after it
    # the BIOS boot drive is hd0
    grub-mkimage -O i386-pc -o "$work/core.img" -p '(hd0,msdos1)/boot/grub' \
        biosdisk part_msdos fat normal linux16 configfile serial terminal echo test probe loadenv
    [ "$(stat -c %s "$work/core.img")" -lt $(((ESP_START - 1) * 512)) ] || die "core.img too large"
    dd if=/usr/lib/grub/i386-pc/boot.img of="$img" bs=440 count=1 conv=notrunc status=none
    dd if="$work/core.img" of="$img" bs=512 seek=1 conv=notrunc status=none
}

main() {
    local out work key
    need_tools
    inputs
    key=$(input_hash)
    out=$CACHE/boot-image/$key.img
    if [ ! -f "$out" ]; then
        log "building $out"
        work=$(mktemp -d "${TMPDIR:-/tmp}/boot-image.XXXXXX")
        # shellcheck disable=SC2064 # expand now
        trap "rm -rf '$work'" EXIT
        mkdir -p "$CACHE/boot-image"
        build_image "$work/disk.img" "$work"
        e2fsck -fn "$work/disk.img?offset=$(((ESP_START + ESP_MB * 2048) * 512))" > /dev/null ||
            die "the root file system does not check clean"
        mv "$work/disk.img" "$out"
    fi
    echo "BOOT_IMAGE=$out"
    echo "BOOT_IMAGE_MB=$IMAGE_MB"
}

main "$@"
