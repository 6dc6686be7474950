#!/usr/bin/env bash
# UEFI firmware tests of the iscsi-hba option ROM driver (guest/uefi):
# Debian's unmodified OVMF (package ovmf), a real tgtd, no -kernel.
#
#   tests/guest/run-uefi.sh [test...]     default: all of them
#
#   uefi-rom      the device's default romfile carries IscsiHbaDxe; OVMF
#                 loads it, its pass-thru reports the tgtd LUN, the boot
#                 manager boots the LUN's \EFI\BOOT\BOOTX64.EFI (GRUB), and
#                 GRUB reads a file with a fresh random token from the LUN
#                 and prints it: every byte came through the driver
#   uefi-login-status
#                 two host-configured targets, one of them a CHAP target
#                 given the wrong secret: tgtd rejects the login, the driver
#                 prints ISDSC_AUTHENTICATION_FAILURE by name and still boots
#                 the other target's LUN
#
# Independent of the bootable Linux image: the LUN holds a FAT partition
# with GRUB only.  Prints "GUEST-TEST: <name> PASS|FAIL" per test, and
# the boot times (ms) measured on the serial console.  Serial logs:
# $CACHE/guest/logs/<test>.*.log.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
ALL_TESTS=(uefi-rom uefi-login-status)

log() { echo "uefi-tests: $*" >&2; }
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

ensure_built() {
    local p missing=()
    for p in ovmf grub-efi-amd64-bin mtools dosfstools fdisk tgt; do
        dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] || apt-get install -y -qq "${missing[@]}" > /dev/null
    [ -x "$(sed -n 's/^QEMU_BIN=//p' "$CACHE/env" 2>/dev/null)" ] ||
        bash "$TOP/scripts/build-qemu.sh" qemu-system-x86_64 >&2
    # Builds the ROM and links it where the device's default romfile is found.
    bash "$TOP/scripts/build-uefi-driver.sh" > /dev/null
    QEMU_BIN=$(sed -n 's/^QEMU_BIN=//p' "$CACHE/env")
}

# make_esp_image <file> <token>: MBR, one FAT partition with GRUB as the
# removable-media loader; GRUB finds its config by a file search and prints
# the token file.  No loop devices, no mounts.
make_esp_image() {
    local img=$1 token=$2 dir
    dir=$(mktemp -d)
    truncate -s 32M "$img"
    echo 'start=2048, type=ef' | sfdisk -q "$img"
    mkfs.vfat -F 16 --offset 2048 -n ISCSIHBA "$img" $(((32 * 1024 * 1024 - 2048 * 512) / 1024)) > /dev/null
    cat > "$dir/embedded.cfg" <<'CFG'
search --no-floppy --file --set=root /iscsi-hba-token
configfile ($root)/grub.cfg
CFG
    cat > "$dir/grub.cfg" <<'CFG'
echo "UEFI-LOADER: running from $root"
echo -n "UEFI-TOKEN: "
cat /iscsi-hba-token
halt
CFG
    echo "$token" > "$dir/iscsi-hba-token"
    grub-mkimage -O x86_64-efi -o "$dir/BOOTX64.EFI" -c "$dir/embedded.cfg" -p / \
        part_msdos fat search search_fs_file configfile echo cat halt
    export MTOOLS_SKIP_CHECK=1
    mmd -i "$img@@1M" ::/EFI ::/EFI/BOOT
    mcopy -i "$img@@1M" "$dir/BOOTX64.EFI" ::/EFI/BOOT/
    mcopy -i "$img@@1M" "$dir/grub.cfg" "$dir/iscsi-hba-token" ::/
    rm -rf "$dir"
}

# boot_ovmf <log> <extra -device options> [QEMU args...]: OVMF with a
# private copy of the variable store; QEMU exits when GRUB halts (or after
# the timeout).
boot_ovmf() {
    local glog=$1 devopts=$2 vars rc=0
    shift 2
    vars=$(mktemp)
    cp "$OVMF_VARS" "$vars"
    timeout 300 "$QEMU_BIN" -machine q35 -accel tcg -m 256 -nodefaults \
        -display none -serial "file:$glog" -nic none -no-reboot \
        -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
        -drive "if=pflash,format=raw,unit=1,file=$vars" \
        -object "iscsi-hba-target,id=t0,hba=hba0,portal=$TGTD_PORTAL,target=$TGTD_IQN" \
        -device "iscsi-hba,id=hba0$devopts" "$@" > "$glog.qemu" 2>&1 || rc=$?
    rm -f "$vars"
    return "$rc"
}

# Milliseconds from QEMU start until a console line matching $2 appeared,
# from a timestamped copy of the serial log.
new_log() {
    mkdir -p "$CACHE/guest/logs"
    echo "$CACHE/guest/logs/$1.$(date +%Y%m%d-%H%M%S).$$.log"
}

check() {
    local name=$1 what=$2 pattern=$3 glog=$4
    if grep -aEq "$pattern" "$glog"; then
        log "$name: ok: $what"
        return 0
    fi
    log "$name: MISSING: $what (/$pattern/ in $glog)"
    return 1
}

# The checks every successful boot from the LUN passes.
check_lun_boot() {
    local name=$1 glog=$2 token=$3 target=${4:-0x0} ok=0
    # BdsDxe names the boot option's device path: the HBA's PCI function,
    # then the pass-thru's SCSI node (target = session index, LUN 1).
    check "$name" "boot manager boots the LUN found by the pass-thru" \
        "BdsDxe: (loading|starting) Boot[0-9A-F]+ .*Pci\\([0-9a-fx,]+\\)/Scsi\\($target,0x1\\)" "$glog" || ok=1
    check "$name" "GRUB loaded from the LUN runs" 'UEFI-LOADER: running from hd' "$glog" || ok=1
    check "$name" "GRUB read the token file through the driver" "UEFI-TOKEN: $token" "$glog" || ok=1
    return "$ok"
}

run_test_uefi_rom() {
    local glog token
    glog=$(new_log uefi-rom)
    token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
    make_esp_image "$TGTD_DIR/lun1.img" "$token"
    # No romfile=: the device's default must carry the driver.
    boot_ovmf "$glog" "" || { log "uefi-rom: QEMU: $(tail -n 3 "$glog.qemu")"; return 1; }
    check_lun_boot uefi-rom "$glog" "$token"
}

run_test_uefi_login_status() {
    local glog token chap_iqn=$TGTD_IQN-chap ok=0
    glog=$(new_log uefi-login-status)
    token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
    make_esp_image "$TGTD_DIR/lun1.img" "$token"
    truncate -s 16M "$TGTD_DIR/chap.img"
    _tgtadm --op new --mode target --tid 2 -T "$chap_iqn"
    _tgtadm --op new --mode logicalunit --tid 2 --lun 1 --bstype rdwr -b "$TGTD_DIR/chap.img"
    _tgtadm --op bind --mode target --tid 2 -I ALL
    _tgtadm --op new --mode account --user uefiuser --password uefi-right-secret
    _tgtadm --op bind --mode account --tid 2 --user uefiuser
    # login-timeout=3: the driver waits at most 4 x 3 + 4 s for the session
    # that never logs in.
    boot_ovmf "$glog" ",login-timeout=3" \
        -object secret,id=wrong,data=uefi-wrong-secret \
        -object "iscsi-hba-target,id=t1,hba=hba0,portal=$TGTD_PORTAL,target=$chap_iqn,user=uefiuser,password-secret=wrong" ||
        { log "uefi-login-status: QEMU: $(tail -n 3 "$glog.qemu")"; return 1; }
    check uefi-login-status "the failed login's ISDSC status by name" \
        "iscsi-hba: $chap_iqn: 0xEFFF0009 ISDSC_AUTHENTICATION_FAILURE" "$glog" || ok=1
    check_lun_boot uefi-login-status "$glog" "$token" '0x[01]' || ok=1
    return "$ok"
}

run_one() {
    local name=$1 start=$SECONDS rc=0
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start 32 1 > /dev/null
        "run_test_${name//-/_}"
    ) || rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "GUEST-TEST: $name PASS $((SECONDS - start))s"
    else
        echo "GUEST-TEST: $name FAIL $((SECONDS - start))s"
    fi
    return "$rc"
}

main() {
    local t rc=0
    ensure_built
    [ $# -gt 0 ] || set -- "${ALL_TESTS[@]}"
    for t in "$@"; do
        run_one "$t" || rc=1
    done
    return "$rc"
}

main "$@"
