#!/usr/bin/env bash
# The main job: a Linux guest boots from a real iSCSI disk through the
# iscsi-hba adapter, and uses it.
#
#   scripts/run.sh                     build what is missing, boot, show it
#   scripts/run.sh --batch             no guest shell even on a terminal
#   scripts/run.sh --firmware bios     the firmware (default bios: SeaBIOS
#                                      with the iscsi-hba driver)
#   scripts/run.sh --firmware uefi     Debian's OVMF (package ovmf); the
#                                      adapter's option ROM carries the
#                                      UEFI driver (build-uefi-driver.sh)
#
# Steps: build QEMU with the adapter (scripts/build-qemu.sh, installing
# what is missing with apt), SeaBIOS with the adapter's boot driver
# (scripts/build-seabios.sh), and a bootable disk image
# (scripts/boot-image.sh: GRUB, Debian 12's kernel, an initramfs that
# loads the iscsi_hba driver and mounts root from the LUN, the test
# guest's userland as root file system); start a private tgtd on 127.0.0.1
# whose LUN 1 is a copy of that image (tests/guest/tgtd.sh; stopped by a
# trap, also on Ctrl-C); boot under TCG on q35, with no -kernel, from
#
#   -object iscsi-hba-target,id=t0,hba=hba0,portal=127.0.0.1:<port>,target=<iqn>
#   -device iscsi-hba,id=hba0,guest-portals=host-targets,\
#           bootindex=0,boot-target=t0,boot-lun=1
#
# The adapter logs in by itself when enabled; the firmware finds the LUN,
# GRUB reads the kernel through it, Linux mounts root from it.  In the
# guest: show where root is, the driver and the disk, write and read back
# a few MiB (O_DIRECT, past the image's partitions).
#
# From a terminal you are then left at the guest's shell (busybox, serial
# console; Ctrl-A c switches to QEMU's monitor, Ctrl-A x quits).  Otherwise
# (CI, pipes, --batch) a summary is printed with QEMU's "info iscsi-hba",
# and the exit status is 0 only if the disk appeared and the data read back
# intact.
#
# Environment: LUN_MB (160: the 128 MiB image and room for the I/O),
# GUEST_MEM (512), GUEST_SMP (1), RUN_TIMEOUT (batch: seconds before QEMU
# is killed, 300), ISCSI_HBA_CACHE.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}

log() { echo "run: [${SECONDS}s] $*" >&2; }
die() { log "$*"; exit 1; }
# set -e alone exits silently; say where
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

INTERACTIVE=0
FIRMWARE=bios
parse_args() {
    [ -t 0 ] && [ -t 1 ] && INTERACTIVE=1
    while [ $# -gt 0 ]; do
        case $1 in
            --batch) INTERACTIVE=0 ;;
            --firmware) [ $# -gt 1 ] || die "--firmware needs a value"; FIRMWARE=$2; shift ;;
            -h|--help) sed -n '2,/^set -/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
            *) die "unknown argument '$1' (try --help)" ;;
        esac
        shift
    done
}

# ---- building ---------------------------------------------------------------

build_everything() {
    log "building QEMU (first time: apt packages, then Debian's QEMU 10.0 source and a build of about 6 min)"
    bash "$TOP/scripts/build-qemu.sh" qemu-system-x86_64 >&2
    QEMU_BIN=$(sed -n 's/^QEMU_BIN=//p' "$CACHE/env")
    # The ISDSC decoder, for statuses "info iscsi-hba" shows (seconds).
    bash "$TOP/scripts/unit-build.sh" isdsc > /dev/null
    log "guest kernel, driver and boot disk image (first time: ~2 min)"
    local img
    img=$(bash "$TOP/scripts/boot-image.sh") ||
        die "the boot image (scripts/boot-image.sh) could not be built: see above"
    eval "$img"
    # shellcheck source=tests/guest/boot-host.sh
    . "$TOP/tests/guest/boot-host.sh"
    log "firmware: $FIRMWARE"
    local fw
    fw=$(boot_firmware_args "$FIRMWARE" "$WORK") || die "no firmware '$FIRMWARE'"
    mapfile -t FW_ARGS <<< "$fw"
}

# The guest side of the job, run by the test guest's /init (/tests/main-job.sh).
# It reports GUEST-TEST lines (tests/guest/initramfs/lib.sh) that the
# summary is made of, and a MAIN-JOB-INFO line the host answers by pausing
# the VM for "info iscsi-hba" while the session is still logged in.
write_guest_script() {
    cat > "$1" <<'GUEST'
. /tests/lib.sh
. /tests/boot-lib.sh
say() { echo "main-job: $*"; }
driver_log() { dmesg | grep -E 'iscsi_hba|scsi|sd ' | tail -n "${1:-8}" | sed 's/^/    /'; }

# 0. Root: mounted from the LUN by the boot initramfs.
show_root() {
    say "booted by ${GUEST_FIRMWARE:-?} firmware; kernel up $(cut -d' ' -f1 /proc/uptime) s"
    check_root_on_hba || return 1
    {
        echo "mounted on /:"
        grep " / " /proc/mounts
        echo "its disk: $(readlink -f /sys/block/$ROOT_DISK)"
        echo "kernel command line: $(cat /proc/cmdline)"
    } | sed 's/^/main-job:   /'
}

# 1. The driver, bound to the adapter's PCI function (the boot initramfs
#    loaded it; modprobe finds it loaded).
load_driver() {
    say "the iscsi_hba driver"
    if ! out=$(modprobe iscsi_hba 2>&1); then
        fail driver "modprobe iscsi_hba: $out"
        return 1
    fi
    bound=$(ls -d /sys/bus/pci/drivers/iscsi_hba/0000:* 2>/dev/null | head -n 1)
    if [ -z "$bound" ]; then
        fail driver "loaded but bound to no device: $(dmesg | grep iscsi_hba | tail -n 2 | tr '\n' ' ')"
        return 1
    fi
    pass driver "bound to ${bound##*/} ($(dmesg | grep -o -E '(MSI-X|MSI|INTx)[^,]*, [0-9]+ I/O queues?' | tail -n 1))"
}

# 2. The host-configured target's LUN as a SCSI disk (tgtd says "IET").
find_disk() {
    say "waiting for the target's disk (the adapter logs in by itself)"
    if ! wait_for 30 sh -c '. /tests/lib.sh; [ -n "$(scsi_disks IET)" ]'; then
        fail disk "no IET disk after 30 s; iscsi-hba-ctl list: $(iscsi-hba-ctl list 2>&1 | tr '\n' ' ')"
        return 1
    fi
    disk=$(scsi_disks IET | head -n 1)
    dev=${disk#/dev/}
    sectors=$(cat "/sys/block/$dev/size")
    # sysfs pads INQUIRY strings with blanks
    vendor=$(sed 's/ *$//' "/sys/block/$dev/device/vendor")
    model=$(sed 's/ *$//' "/sys/block/$dev/device/model")
    # prefixed, so that the host streams them as progress in batch runs too
    {
        echo "iscsi-hba-ctl list:"
        iscsi-hba-ctl list 2>&1
        echo "/proc/partitions:"
        grep -v '^major' /proc/partitions | grep .
        echo "sg_inq $disk:"
        sg_inq "$disk" 2>&1 | grep -E 'Vendor|Product|revision|Peripheral device type'
    } | sed 's/^/main-job:   /'
    pass disk "$disk $((sectors / 2048)) MiB, $vendor $model, SCSI $(basename "$(readlink "/sys/block/$dev/device")")"
}

# 3. A short write and read back, both with O_DIRECT so they reach the
#    target, at 136 MiB: past the boot image's partitions.
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# "<n> MiB/s" for 8 MiB moved between two uptime readings
rate() { awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; if (d <= 0) d = 0.01; printf "%.1f MiB/s", 8 / d }'; }
write_read() {
    say "writing and reading back 8 MiB"
    dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
    want=$(md5sum < /tmp/pattern | cut -d' ' -f1)
    t0=$(uptime_s)
    if ! out=$(dd if=/tmp/pattern of="$disk" bs=1M count=8 seek=136 oflag=direct conv=fsync 2>&1); then
        fail io "write failed: $(echo "$out" | tail -n 1)"
        return 1
    fi
    t1=$(uptime_s)
    if ! out=$(dd if="$disk" of=/tmp/back bs=1M count=8 skip=136 iflag=direct 2>&1); then
        fail io "read failed: $(echo "$out" | tail -n 1)"
        return 1
    fi
    t2=$(uptime_s)
    got=$(md5sum < /tmp/back | cut -d' ' -f1)
    if [ "$want" != "$got" ]; then
        fail io "read back differs: wrote md5 $want, read $got"
        return 1
    fi
    pass io "8 MiB written and read back at offset 136 MiB, md5 $got matches (write $(rate "$t0" "$t1"), read $(rate "$t1" "$t2"))"
}

# The host answers MAIN-JOB-INFO by pausing the VM for "info iscsi-hba";
# give it a moment.  Then the shell, if asked for, whatever happened.
finish() {
    rc=$1
    if [ "$rc" != 0 ]; then
        echo "--- the driver's last kernel messages"
        driver_log
    fi
    echo MAIN-JOB-INFO
    sleep 1
    if [ "${GUEST_INTERACTIVE:-0}" = 1 ]; then
        echo
        if [ "$rc" = 0 ]; then
            echo "Try: iscsi-hba-ctl list; sg_inq $disk; fio --name=t --filename=$disk --rw=randread --bs=4k --direct=1 --runtime=5 --time_based"
        else
            echo "The main job FAILED (see above).  Look around: dmesg | grep iscsi_hba; iscsi-hba-ctl list; ls /sys/class/scsi_device"
        fi
        echo "QEMU monitor: Ctrl-A c, then 'info iscsi-hba' (Ctrl-A c returns).  'exit' powers off, Ctrl-A x quits QEMU."
        setsid cttyhack sh -l
    fi
    exit "$rc"
}

show_root || finish 1
load_driver || finish 1
find_disk || finish 1
write_read || finish 1
finish 0
GUEST
}

# The guest runs this script from fw_cfg (tests/guest/scripts/boot-job.sh).
make_job() {
    write_guest_script "$WORK/main-job.sh"
}

# ---- the target -------------------------------------------------------------

start_target() {
    # shellcheck source=tests/guest/tgtd.sh
    . "$TOP/tests/guest/tgtd.sh"
    tgtd_start "${LUN_MB:-160}" 1 2> "$WORK/tgtd.out" || { cat "$WORK/tgtd.out" >&2; exit 1; }
    [ "${LUN_MB:-160}" -ge $((BOOT_IMAGE_MB + 16)) ] ||
        die "LUN_MB=${LUN_MB} is too small: the boot image needs $BOOT_IMAGE_MB MiB plus 16 for the I/O"
    lun_from_image "$TGTD_DIR/lun1.img" "${LUN_MB:-160}"
    # tgtd.sh installed its own traps; extend them with our temporary files.
    trap 'cleanup' EXIT
    trap 'cleanup; exit 130' INT TERM
}

# QEMU first (batch: it runs in the background under timeout, which passes
# the TERM on), then the target it was using.
# shellcheck disable=SC2317 # called from traps
cleanup() {
    if [ -n "${QEMU_PID:-}" ]; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    tgtd_stop
    rm -rf "$WORK"
}

# ---- the guest --------------------------------------------------------------

# shellcheck disable=SC2054 # the commas belong to QEMU options
qemu_command() {
    local args="interactive=$INTERACTIVE"
    QEMU_CMD=(
        "$QEMU_BIN" -machine q35 -accel tcg -cpu max
        -m "${GUEST_MEM:-512}" -smp "${GUEST_SMP:-1}"
        -nodefaults -no-reboot "${FW_ARGS[@]}"
        -fw_cfg "name=opt/org.iscsi-hba/script,file=$WORK/main-job.sh"
        -fw_cfg "name=opt/org.iscsi-hba/args,string=$args"
        -object "iscsi-hba-target,id=t0,hba=hba0,portal=$TGTD_PORTAL,target=$TGTD_IQN"
        -device iscsi-hba,id=hba0,guest-portals=host-targets,bootindex=0,boot-target=t0,boot-lun=1
    )
}

# The console and QEMU's monitor share the terminal (Ctrl-A c switches);
# signal=off lets Ctrl-C reach the guest's shell instead of killing QEMU.
# The console is also logged, for the result afterwards.
run_interactive() {
    local t0=$SECONDS
    log "booting from the LUN ($FIRMWARE firmware, GRUB, Linux); the guest shows root and the disk, then gives you its shell"
    "${QEMU_CMD[@]}" -display none \
        -chardev "stdio,id=con,mux=on,signal=off,logfile=$WORK/serial.log" \
        -serial chardev:con -mon chardev=con || QEMU_RC=$?
    BOOT_SECONDS=$((SECONDS - t0))
}

# QMP client for batch runs: answers the guest's MAIN-JOB-INFO line by
# pausing the VM for "info iscsi-hba" (the adapter still logged in), and
# since QEMU runs with -no-shutdown, asks again at the guest's power-off if
# that line never came (the driver failed), then quits QEMU.  Streams the
# guest's "main-job:" lines as progress.
qmp_watch() {
    /usr/bin/python3 - "$WORK/qmp.sock" "$WORK/serial.log" "$WORK/info.txt" "$QEMU_PID" "$WORK/times.txt" <<'PY'
import json, os, re, select, socket, sys, time
sock_path, log_path, info_path, qemu_pid = sys.argv[1:4] + [int(sys.argv[4])]
times_path = sys.argv[5]
t0 = time.monotonic()
marks = {}

def milestone(line):
    # firmware until it starts the loader; loader until the kernel starts
    # (a kernel line's arrival minus its own timestamp); kernel to userland
    now = time.monotonic() - t0
    if "Booting from" in line or "BdsDxe: starting Boot" in line:
        marks.setdefault("loader", now)
    m = re.search(r"^\[ *([0-9]+\.[0-9]+)\] Run /init", line)
    if m:
        marks.setdefault("kernel", now - float(m.group(1)))
    if "guest-init: running" in line and "userland" not in marks:
        marks["userland"] = now
        if {"loader", "kernel"} <= marks.keys():
            with open(times_path, "w") as out:
                out.write("firmware %.1f s, loader %.1f s, kernel to userland %.1f s" %
                          (marks["loader"], marks["kernel"] - marks["loader"],
                           marks["userland"] - marks["kernel"]))

def alive():
    try:
        os.kill(qemu_pid, 0)
        return True
    except OSError:
        return False

s = None
while s is None:
    if not alive():
        sys.exit(0)
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock_path)
    except OSError:
        s = None
        time.sleep(0.1)
f = s.makefile("rw")
events = []

def cmd(name, **args):
    f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
    f.flush()
    while True:
        line = f.readline()
        if not line:
            raise EOFError
        msg = json.loads(line)
        if "event" in msg:
            events.append(msg["event"])
        elif "return" in msg or "error" in msg:
            return msg.get("return", msg.get("error"))

def info():
    text = cmd("human-monitor-command", **{"command-line": "info iscsi-hba"})
    with open(info_path, "w") as out:
        out.write(str(text).replace("\r", ""))

f.readline()                         # greeting
cmd("qmp_capabilities")
log = open(log_path, "rb")
have_info = False
pending = b""
try:
    while True:
        chunk = log.read()
        if chunk:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace").rstrip("\r")
                milestone(line)
                if "main-job: " in line:
                    print(line[line.index("main-job: "):], flush=True)
                if "MAIN-JOB-INFO" in line and not have_info:
                    cmd("stop")
                    info()
                    cmd("cont")
                    have_info = True
        # events arrive unasked: read what is there without blocking long
        if select.select([s], [], [], 0.1)[0]:
            line = f.readline()
            if not line:
                break
            msg = json.loads(line)
            if msg.get("event") == "SHUTDOWN":
                events.append("SHUTDOWN")
        if "SHUTDOWN" in events:
            if not have_info:
                info()
            cmd("quit")
            break
except (EOFError, OSError, ValueError):
    pass                              # QEMU went away: the caller reports it
except KeyboardInterrupt:
    sys.exit(130)                     # Ctrl-C: the caller's trap cleans up
PY
}

run_batch() {
    local rc=0 t0
    t0=$SECONDS
    log "booting from the LUN ($FIRMWARE firmware, GRUB, Linux; TCG: about 20 s)"
    timeout -k 5 "${RUN_TIMEOUT:-300}" "${QEMU_CMD[@]}" -display none -serial stdio \
        -no-shutdown -qmp "unix:$WORK/qmp.sock,server=on,wait=off" \
        < /dev/null > "$WORK/serial.log" 2>&1 &
    QEMU_PID=$!
    qmp_watch || true
    wait "$QEMU_PID" || rc=$?
    QEMU_PID=
    BOOT_SECONDS=$((SECONDS - t0))
    QEMU_RC=$rc
}

# ---- the summary ------------------------------------------------------------

boot_times() {
    if [ -s "$WORK/times.txt" ]; then
        cat "$WORK/times.txt"
    else
        echo "boot times not measured"
    fi
}

result_of() {
    grep -a -o "GUEST-TEST: $1 .*" "$WORK/serial.log" | tr -d '\r' | tail -n 1 | cut -d' ' -f3- || true
}

# The guest's results, QEMU's "info iscsi-hba" (batch only: from a terminal
# you had the monitor) and, on failure, the console's last lines.
# Returns 0 only if the disk appeared and its data read back intact.
print_summary() {
    local root driver disk io done_rc status=0
    root=$(result_of root)
    driver=$(result_of driver)
    disk=$(result_of disk)
    io=$(result_of io)
    done_rc=$(grep -a -o 'GUEST-DONE rc=[0-9]*' "$WORK/serial.log" | tail -n 1 | cut -d= -f2 || true)
    [[ $root == PASS* && $disk == PASS* && $io == PASS* ]] || status=1
    # batch: the guest must also have finished cleanly (no kernel warning);
    # from a terminal you may well have left it with Ctrl-A x
    [[ $INTERACTIVE == 1 || $done_rc == 0 ]] || status=1
    echo
    echo "=== iscsi-hba main job: summary (QEMU ran ${BOOT_SECONDS}s)"
    printf '  %-8s %s\n' root "${root:-not reached}" driver "${driver:-not reached}" disk "${disk:-not reached}" \
        I/O "${io:-not reached}" target "$TGTD_IQN at $TGTD_PORTAL (tgtd, ${LUN_MB:-160} MiB file LUN)" \
        firmware "$FIRMWARE: $(boot_times)"
    grep -a -o 'GUEST-TEST: kernel-log .*' "$WORK/serial.log" | sed 's/^GUEST-TEST: /  /' || true
    if [ "$INTERACTIVE" = 0 ]; then
        echo
        echo "=== QEMU: info iscsi-hba (VM paused after the I/O)"
        if [ -s "$WORK/info.txt" ]; then
            sed 's/^/  /' "$WORK/info.txt"
        else
            echo "  (not available: QEMU ended before it could be asked, rc=$QEMU_RC)"
        fi
        if [ "$status" != 0 ]; then
            echo
            echo "=== last lines of the guest's console"
            tail -n 30 "$WORK/serial.log" | tr -d '\r' | sed 's/^/  /'
            [ "$QEMU_RC" != 124 ] || echo "  (QEMU was killed after ${RUN_TIMEOUT:-300} s)"
        fi
    fi
    # keep the console log for a look afterwards; $WORK goes away
    mkdir -p "$CACHE/guest/logs"
    cp "$WORK/serial.log" "$CACHE/guest/logs/main-job.last.log"
    echo
    echo "guest console log: $CACHE/guest/logs/main-job.last.log"
    if [ "$status" = 0 ]; then
        echo "RESULT: OK  (statuses are ISDSC values: $CACHE/unit-build/isdsc <value> decodes one)"
    else
        echo "RESULT: FAILED"
    fi
    return "$status"
}

main() {
    parse_args "$@"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/iscsi-hba-run.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    build_everything
    start_target
    make_job
    qemu_command
    QEMU_RC=0
    if [ "$INTERACTIVE" = 1 ]; then
        run_interactive
    else
        run_batch
    fi
    print_summary && exit 0
    exit 1      # exit, not return: a failed return would trip the ERR trap
}

main "$@"
