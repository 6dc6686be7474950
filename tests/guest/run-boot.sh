#!/usr/bin/env bash
# Boot Linux from an iSCSI LUN through the iscsi-hba adapter: firmware, no
# -kernel.  A real tgtd serves the disk image of scripts/boot-image.sh; the
# firmware finds the LUN through the adapter's host-configured session, the
# boot loader reads the kernel through it, Linux mounts its root from it.
#
#   tests/guest/run-boot.sh [test...]      default: all of them
#
#   boot-<fw>-persist    boot, check that root is on the iscsi_hba disk,
#                        write a file, reboot, find the file again; GRUB's
#                        write through the firmware's driver (save_env)
#                        is in the LUN's file
#   boot-<fw>-fault      the first login fails (fault rule: status
#                        AUTHENTICATION_FAILURE); the firmware prints the
#                        ISDSC name on the console and boots after the retry
#   boot-<fw>-bootindex  two targets with a bootable LUN each; the one that
#                        the adapter's bootindex and boot-target name (the
#                        second) is booted
#
# <fw> is a firmware of BOOT_FIRMWARES (tests/guest/boot-host.sh): bios
# (SeaBIOS with the driver of patches/seabios, scripts/build-seabios.sh).
# A firmware is added there (its name and QEMU arguments) and here in
# firmware_console_ok (how it reports a failed login).
#
# Prints one line per test with its time and the boot times (firmware up to
# the boot loader, loader until the kernel starts, kernel until the test
# script runs), and the total.  Serial logs (host-timestamped):
# $CACHE/guest/logs/boot-*.log.  Environment: GUEST_MEM (512),
# BOOT_TIMEOUT (seconds per boot, 300).
set -Eeuo pipefail
shopt -s inherit_errexit

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
# shellcheck source=tests/guest/boot-host.sh
. "$TOP/tests/guest/boot-host.sh"
FIRMWARES=("${BOOT_FIRMWARES[@]}")
KINDS=(persist fault bootindex)
FAULT_STATUS=AUTHENTICATION_FAILURE

log() { echo "boot-tests: $*" >&2; }

all_tests() {
    local fw kind
    for fw in "${FIRMWARES[@]}"; do
        for kind in "${KINDS[@]}"; do
            echo "boot-$fw-$kind"
        done
    done
}

ensure_built() {
    [ -x "$(sed -n 's/^QEMU_BIN=//p' "$CACHE/env" 2>/dev/null)" ] ||
        bash "$TOP/scripts/build-qemu.sh" qemu-system-x86_64 >&2
    QEMU_BIN=$(sed -n 's/^QEMU_BIN=//p' "$CACHE/env")
    eval "$(bash "$TOP/scripts/boot-image.sh")"
}

# FW_ARGS: the QEMU arguments that select and configure firmware $1.
fw_args() {
    local out
    out=$(boot_firmware_args "$1" "$WORK") || return 1
    mapfile -t FW_ARGS <<< "$out"
}

# What GRUB's \$grub_platform says under a firmware: GRUB writes it to
# /boot/grub/grubenv through the firmware's disk driver.  Empty: not
# checked for that firmware.
firmware_grub_platform() {
    case $1 in
        bios) echo pc ;;
        uefi) echo efi ;;
    esac
}

# The firmware's write path: GRUB's save_env went through the firmware's
# driver and the adapter into the LUN's file (read on the host, mtools).
check_firmware_write() {
    local fw=$1 lun=$2 want env
    want=$(firmware_grub_platform "$fw")
    [ -n "$want" ] || return 0
    env=$(MTOOLS_SKIP_CHECK=1 mtype -i "$lun@@1M" ::/boot/grub/grubenv 2>&1 | grep -a '^fw_wrote=' || true)
    if [ "$env" = "fw_wrote=$want" ]; then
        echo "    GUEST-TEST: firmware-write PASS GRUB wrote '$env' to grubenv through the firmware's driver"
    else
        echo "    GUEST-TEST: firmware-write FAIL grubenv in the LUN holds '${env:-no fw_wrote}', not fw_wrote=$want"
        return 1
    fi
}

# The failed first login, as the firmware reports it on the console.
firmware_console_ok() {
    case $1 in
        bios) grep -a -q "iscsi-hba:   status: ISDSC_$FAULT_STATUS (0x" "$2" ;;
        uefi) grep -a -q -E "iscsi-hba: .*: 0x[0-9A-F]{8} ISDSC_$FAULT_STATUS " "$2" ;;
        *) return 1 ;;
    esac
}

# boot_guest <name> <job args> [QEMU args...]: boots (and reboots) until the
# guest powers off, prints its GUEST-TEST lines and the boot times, and
# returns its rc (GUEST-DONE rc=<n>; 124 timeout, 125 no result).
boot_guest() {
    local name=$1 args=$2 glog rc=0
    shift 2
    mkdir -p "$CACHE/guest/logs"
    glog=$CACHE/guest/logs/$name.$(date +%Y%m%d-%H%M%S).$$.log
    # shellcheck disable=SC2054 # commas belong to QEMU options
    local cmd=("$QEMU_BIN" -machine q35 -accel tcg -cpu max
               -m "${GUEST_MEM:-512}" -nodefaults -display none -serial stdio
               -fw_cfg "name=opt/org.iscsi-hba/args,string=$args" "$@")
    /usr/bin/python3 - "$glog" "${BOOT_TIMEOUT:-300}" "${cmd[@]}" <<'PY' || rc=$?
import re, subprocess, sys, time
log_path, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
marks = {}          # first arrival of each milestone, host seconds
kernel_start = None
def seen(key, t):
    marks.setdefault(key, t)
q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT)
out = open(log_path, "w")
pending, done_rc, reboots, results = b"", None, 0, []
import os, select
fd = q.stdout.fileno()
while True:
    now = time.monotonic() - t0
    if now > timeout:
        q.kill()
        done_rc = 124
        break
    r = select.select([fd], [], [], 0.5)[0]
    if not r:
        if q.poll() is not None:
            break
        continue
    chunk = os.read(fd, 65536)
    if not chunk:
        break
    pending += chunk
    *lines, pending = pending.split(b"\n")
    for raw in lines:
        line = raw.decode(errors="replace").rstrip("\r")
        out.write("%8.2f %s\n" % (now, line))
        if reboots == 0:
            # SeaBIOS / OVMF's boot manager
            if "Booting from" in line or "BdsDxe: starting Boot" in line:
                seen("loader", now)
            m = re.search(r"^\[ *([0-9]+\.[0-9]+)\] Run /init", line)
            if m:
                seen("kernel", now - float(m.group(1)))
            if "guest-init: running" in line:
                seen("userland", now)
        if "BOOT-REBOOTING" in line:
            reboots += 1
            if reboots > 1:
                out.write("run-boot: rebooted twice: stopping\n")
                q.kill()
        if line.startswith("GUEST-TEST: "):
            results.append(line[len("GUEST-TEST: "):])
        m = re.search(r"GUEST-DONE rc=([0-9]+)", line)
        if m:
            done_rc = int(m.group(1))
q.wait()
out.close()
for r in results:
    print("    GUEST-TEST: " + r)
if {"loader", "kernel", "userland"} <= marks.keys():
    print("    boot times: firmware %.1f s, loader %.1f s, kernel to userland %.1f s" %
          (marks["loader"], marks["kernel"] - marks["loader"],
           marks["userland"] - marks["kernel"]))
if done_rc is None:
    done_rc = 125
if done_rc:
    print("    (rc %d; serial log %s)" % (done_rc, log_path))
sys.exit(done_rc)
PY
    LAST_LOG=$glog
    return "$rc"
}

# -object for a target of tgtd: host_target <id> <iqn>
host_target() {
    echo "iscsi-hba-target,id=$1,hba=hba0,portal=$TGTD_PORTAL,target=$2"
}

test_persist() {
    local fw=$1 rc=0
    (
        . "$TOP/tests/guest/tgtd.sh"
        fw_args "$fw"
        tgtd_start "$BOOT_IMAGE_MB" 1
        lun_from_image "$TGTD_DIR/lun1.img" "$BOOT_IMAGE_MB"
        boot_guest "boot-$fw-persist" "script=boot-persist token=$$-$RANDOM" \
            "${FW_ARGS[@]}" \
            -object "$(host_target t0 "$TGTD_IQN")" \
            -device iscsi-hba,id=hba0,guest-portals=host-targets,bootindex=0,boot-target=t0,boot-lun=1 || rc=$?
        check_firmware_write "$fw" "$TGTD_DIR/lun1.img" || rc=1
        exit "$rc"
    )
}

test_fault() {
    local fw=$1 rc=0
    (
        . "$TOP/tests/guest/tgtd.sh"
        fw_args "$fw"
        tgtd_start "$BOOT_IMAGE_MB" 1
        lun_from_image "$TGTD_DIR/lun1.img" "$BOOT_IMAGE_MB"
        boot_guest "boot-$fw-fault" "script=boot-persist reboot=0" \
            "${FW_ARGS[@]}" \
            -object "$(host_target t0 "$TGTD_IQN")" \
            -device "iscsi-hba,id=hba0,guest-portals=host-targets,bootindex=0,boot-target=t0,boot-lun=1,fault-rules=op=login,,action=status,,status=$FAULT_STATUS" || rc=$?
        # counted like a guest check (scripts/run-tests.sh counts these lines)
        if firmware_console_ok "$fw" "$LAST_LOG"; then
            echo "    GUEST-TEST: firmware-console PASS $(grep -a -o -E "(0x[0-9A-F]{8} )?ISDSC_$FAULT_STATUS( \(0x[0-9a-f]*\))?" "$LAST_LOG" | head -n 1) on the console"
        else
            echo "    GUEST-TEST: firmware-console FAIL the firmware did not print ISDSC_$FAULT_STATUS for the failed login"
            rc=1
        fi
        exit "$rc"
    )
}

# Two targets, each with a bootable LUN of a different size; the boot
# target is the second (number 1: ids sort t0 < t1).  Root must be its
# 160 MiB LUN.
test_bootindex() {
    local fw=$1 rc=0
    (
        . "$TOP/tests/guest/tgtd.sh"
        fw_args "$fw"
        tgtd_start "$BOOT_IMAGE_MB" 1
        lun_from_image "$TGTD_DIR/lun1.img" "$BOOT_IMAGE_MB"
        lun_from_image "$TGTD_DIR/second.img" $((BOOT_IMAGE_MB + 32))
        _tgtadm --op new --mode target --tid 2 -T "$TGTD_IQN-2"
        _tgtadm --op new --mode logicalunit --tid 2 --lun 1 --bstype rdwr -b "$TGTD_DIR/second.img"
        _tgtadm --op bind --mode target --tid 2 -I ALL
        boot_guest "boot-$fw-bootindex" "script=boot-persist reboot=0 expect_mb=$((BOOT_IMAGE_MB + 32))" \
            "${FW_ARGS[@]}" \
            -object "$(host_target t0 "$TGTD_IQN")" \
            -object "$(host_target t1 "$TGTD_IQN-2")" \
            -device iscsi-hba,id=hba0,guest-portals=host-targets,bootindex=0,boot-target=t1,boot-lun=1 || rc=$?
        _tgtadm --op delete --force --mode target --tid 2 > /dev/null 2>&1 || true
        exit "$rc"
    )
}

main() {
    local tests=("$@") t fw kind start rc failed=0 total=$SECONDS
    [ ${#tests[@]} -gt 0 ] || mapfile -t tests < <(all_tests)
    ensure_built
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/iscsi-hba-boot.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    for t in "${tests[@]}"; do
        fw=${t#boot-}; fw=${fw%%-*}
        kind=${t#boot-"$fw"-}
        if ! declare -F "test_$kind" > /dev/null || [[ " ${FIRMWARES[*]} " != *" $fw "* ]]; then
            log "unknown test '$t' (have: $(all_tests | tr '\n' ' '))"
            failed=$((failed + 1))
            continue
        fi
        start=$SECONDS
        echo "$t:"
        rc=0
        "test_$kind" "$fw" || rc=$?
        if [ "$rc" = 0 ]; then
            echo "PASS $t ($((SECONDS - start)) s)"
        else
            echo "FAIL $t ($((SECONDS - start)) s, rc $rc)"
            failed=$((failed + 1))
        fi
    done
    echo "boot tests: ${#tests[@]} run, $failed failed, $((SECONDS - total)) s"
    [ "$failed" = 0 ]
}

main "$@"
