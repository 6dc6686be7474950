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
#   uefi-linux    the bootable image (scripts/boot-image.sh) on the LUN:
#                 OVMF boots GRUB from it, GRUB loads the kernel and initrd
#                 through the driver, Linux mounts its root from the LUN
#                 (tests/guest/scripts/boot-persist.sh, one boot); the
#                 driver disabled the adapter at ExitBootServices (trace:
#                 the firmware's enable is followed by a disable before the
#                 kernel prints anything)
#
# tests/guest/run-boot.sh boots the same image under firmware uefi too
# (boot-uefi-persist: write, reboot, read back; boot-uefi-fault;
# boot-uefi-bootindex).
#
# uefi-rom and uefi-login-status do not need the Linux image: the LUN holds
# a FAT partition with GRUB only.  Prints "GUEST-TEST: <name> PASS|FAIL"
# per test, and uefi-linux's boot times.  Serial logs (each line prefixed
# with ms since QEMU started): $CACHE/guest/logs/<test>.*.log.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
ALL_TESTS=(uefi-rom uefi-login-status uefi-linux)
ESP_LUN_MB=32

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

# make_esp_image <lun file> <token>: MBR, one FAT partition with GRUB as
# the removable-media loader; GRUB finds its config by a file search and
# prints the token file.  No loop devices, no mounts.  Written into the
# LUN's file in place: tgtd has it open.
make_esp_image() {
    local lun=$1 token=$2 dir img
    dir=$(mktemp -d)
    img=$dir/esp.img
    truncate -s ${ESP_LUN_MB}M "$img"
    echo 'start=2048, type=ef' | sfdisk -q "$img"
    mkfs.vfat -F 16 --offset 2048 -n ISCSIHBA "$img" $(((ESP_LUN_MB * 1024 * 1024 - 2048 * 512) / 1024)) > /dev/null
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
    dd if="$img" of="$lun" bs=1M conv=notrunc status=none
    rm -rf "$dir"
}

# run_stamped <log> <timeout> <command...>: run QEMU with its serial
# console on stdout; every line goes to <log> prefixed with the ms since
# the start (the wall clock start is the first line, for ordering against
# the trace).  Stops QEMU when the firmware gives up on the LUN and starts
# its built-in shell (it would wait there until the timeout).
run_stamped() {
    /usr/bin/python3 - "$@" <<'PY'
import subprocess, sys, time
log, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
t0 = time.time()
out = open(log, "wb")
out.write(b"0 T0 %.6f\n" % t0)
q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
rc = None
for line in q.stdout:
    out.write(b"%d " % int((time.time() - t0) * 1000) + line)
    out.flush()
    if b'"EFI Internal Shell"' in line and b"BdsDxe: starting" in line:
        out.write(b"run-uefi: the firmware started its shell: stopping\n")
        rc = 3
        break
    if time.time() - t0 > timeout:
        rc = 124
        break
if rc is not None:
    q.kill()
q.wait()
sys.exit(rc if rc is not None else q.returncode)
PY
}

# boot_ovmf <log> <extra -device options> [QEMU args...]: OVMF with a
# private copy of the variable store; QEMU exits when the guest powers off
# or GRUB halts (or after the timeout).  Trace of enable/disable: <log>.trace
boot_ovmf() {
    local glog=$1 devopts=$2 vars rc=0
    shift 2
    vars=$(mktemp)
    cp "$OVMF_VARS" "$vars"
    run_stamped "$glog" 400 "$QEMU_BIN" -machine q35 -accel tcg -m 512 -nodefaults \
        -display none -serial stdio -nic none \
        -D "$glog.trace" -msg timestamp=on -trace iscsi_hba_enable -trace iscsi_hba_disable \
        -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
        -drive "if=pflash,format=raw,unit=1,file=$vars" \
        -object "iscsi-hba-target,id=t0,hba=hba0,portal=$TGTD_PORTAL,target=$TGTD_IQN" \
        -device "iscsi-hba,id=hba0$devopts" "$@" 2> "$glog.qemu" || rc=$?
    rm -f "$vars"
    return "$rc"
}

# ms of the first serial line matching an ERE, or nothing
ms_at() {
    grep -a -m1 -E "$1" "$2" | cut -d' ' -f1
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
    tgtd_start "$ESP_LUN_MB" 1 > /dev/null
    glog=$(new_log uefi-rom)
    token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
    make_esp_image "$TGTD_DIR/lun1.img" "$token"
    # No romfile=: the device's default must carry the driver.
    boot_ovmf "$glog" "" || { log "uefi-rom: boot failed: $(tail -n 1 "$glog" | tr -cd "[:print:]") $(tail -n 2 "$glog.qemu")"; return 1; }
    check_lun_boot uefi-rom "$glog" "$token"
}

run_test_uefi_login_status() {
    local glog token chap_iqn ok=0
    tgtd_start "$ESP_LUN_MB" 1 > /dev/null
    chap_iqn=$TGTD_IQN-chap
    glog=$(new_log uefi-login-status)
    token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
    make_esp_image "$TGTD_DIR/lun1.img" "$token"
    truncate -s 16M "$TGTD_DIR/chap.img"
    _tgtadm --op new --mode target --tid 2 -T "$chap_iqn"
    _tgtadm --op new --mode logicalunit --tid 2 --lun 1 --bstype rdwr -b "$TGTD_DIR/chap.img"
    _tgtadm --op bind --mode target --tid 2 -I ALL
    _tgtadm --op new --mode account --user uefiuser --password uefi-right-secret
    _tgtadm --op bind --mode account --tid 2 --user uefiuser
    # login-timeout=3: the driver waits at most 3 + 5 s for the session
    # that never logs in.
    boot_ovmf "$glog" ",login-timeout=3" \
        -object secret,id=wrong,data=uefi-wrong-secret \
        -object "iscsi-hba-target,id=t1,hba=hba0,portal=$TGTD_PORTAL,target=$chap_iqn,user=uefiuser,password-secret=wrong" ||
        { log "uefi-login-status: boot failed: $(tail -n 1 "$glog" | tr -cd "[:print:]") $(tail -n 2 "$glog.qemu")"; return 1; }
    check uefi-login-status "the failed login's ISDSC status by name" \
        "iscsi-hba: $chap_iqn: 0xEFFF0009 ISDSC_AUTHENTICATION_FAILURE" "$glog" || ok=1
    check_lun_boot uefi-login-status "$glog" "$token" '0x[01]' || ok=1
    return "$ok"
}

# The firmware disabled the adapter at ExitBootServices: its first enable
# is followed by a disable earlier than the kernel's first console line
# (the Linux driver's own reset comes seconds later).
check_quiesced() {
    local glog=$1 t0 t_linux t_dis
    t0=$(sed -n '1s/^0 T0 //p' "$glog")
    t_linux=$(ms_at '\] Linux version' "$glog")
    t_dis=$(grep -a -m1 -A1000 'iscsi_hba_enable' "$glog.trace" | grep -a -m1 'iscsi_hba_disable' |
            sed -n 's/^[0-9]*@\([0-9.]*\):.*/\1/p')
    if [ -n "$t0" ] && [ -n "$t_linux" ] && [ -n "$t_dis" ] &&
       /usr/bin/python3 -c "import sys; sys.exit(not ($t_dis - $t0) * 1000 < $t_linux)"; then
        log "uefi-linux: ok: adapter disabled at ExitBootServices, before the kernel ran"
        return 0
    fi
    log "uefi-linux: MISSING: disable before the kernel (t0=$t0 linux=${t_linux}ms disable=$t_dis)"
    return 1
}

run_test_uefi_linux() {
    local glog token t_bds t_linux t_shell ok=0 BOOT_IMAGE= BOOT_IMAGE_MB=
    eval "$(bash "$TOP/scripts/boot-image.sh")"
    [ -f "$BOOT_IMAGE" ] || { log "uefi-linux: no boot image"; return 1; }
    tgtd_start "$BOOT_IMAGE_MB" 1 > /dev/null
    dd if="$BOOT_IMAGE" of="$TGTD_DIR/lun1.img" bs=1M conv=notrunc,sparse status=none
    glog=$(new_log uefi-linux)
    token=uefi-$(od -An -N6 -tx8 /dev/urandom | tr -d ' ')
    boot_ovmf "$glog" "" \
        -fw_cfg "name=opt/org.iscsi-hba/args,string=script=boot-persist reboot=0 token=$token" ||
        { log "uefi-linux: boot failed: $(tail -n 1 "$glog" | tr -cd "[:print:]") $(tail -n 2 "$glog.qemu")"; return 1; }
    grep -a -E 'GUEST-TEST: ' "$glog" | cut -d' ' -f2- >&2
    check uefi-linux "Linux root on the LUN behind iscsi_hba" 'GUEST-TEST: root PASS' "$glog" || ok=1
    check uefi-linux "firmware booted the LUN the pass-thru found" \
        'BdsDxe: starting Boot[0-9A-F]+ .*/Scsi\(0x0,0x1\)' "$glog" || ok=1
    check uefi-linux "guest job finished" 'GUEST-DONE rc=0' "$glog" || ok=1
    check_quiesced "$glog" || ok=1
    t_bds=$(ms_at 'BdsDxe: loading Boot' "$glog")
    t_linux=$(ms_at '\] Linux version' "$glog")
    t_shell=$(ms_at 'boot-persist: firmware' "$glog")
    if [ -n "$t_bds" ] && [ -n "$t_linux" ] && [ -n "$t_shell" ]; then
        log "uefi-linux: first boot (TCG): firmware ${t_bds} ms (to the boot option)," \
            "loader $((t_linux - t_bds)) ms (GRUB, kernel + initrd over the HBA)," \
            "kernel to shell $((t_shell - t_linux)) ms"
    fi
    return "$ok"
}

run_one() {
    local name=$1 start=$SECONDS rc=0
    (
        . "$TOP/tests/guest/tgtd.sh"
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
