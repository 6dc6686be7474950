#!/usr/bin/env bash
# Boot a Linux guest under QEMU (TCG) and run one guest test script in it.
#
#   tests/guest/run.sh [options] <script> [extra QEMU args...]
#
#   <script>     a name from tests/guest/scripts (smoke, virtio-fio, ...) or
#                the path of any shell script on the host (it is added to
#                the initramfs as /tests/<basename>)
#   QEMU args    passed through, e.g. -device iscsi-hba,num-queues=4
#
# Options:
#   -k FILE      put FILE into the initramfs: a .ko goes to
#                /lib/modules/<abi>/extra (modprobe-able), anything else
#                to /usr/bin (repeatable)
#   -m MODULE    also ship this in-tree module, with dependencies (repeatable)
#   -l MODULE    modprobe MODULE at boot, reported as GUEST-TEST (repeatable)
#   -a ARG       append ARG to the kernel command line (repeatable):
#                guest.<name>=<value> reaches scripts as GUEST_<NAME>;
#                <module>.<param>=<value> sets a module parameter
#   -t SECS      hard timeout: QEMU is killed after SECS (default 120)
#   -s           interactive: busybox shell on this terminal (Ctrl-A x quits)
#   -v           stream the serial console to stderr while it runs
#   -o FILE      serial log file (default $ISCSI_HBA_CACHE/guest/logs/...)
#
# Environment: QEMU_BIN (default: from $ISCSI_HBA_CACHE/env, written by
# scripts/build-qemu.sh), GUEST_MEM (512), GUEST_SMP (1), GUEST_ACCEL (tcg;
# KVM on these machines boots but dies: decide only by booting).
#
# Prints the guest's GUEST-TEST lines and exits with the guest's rc
# (GUEST-DONE rc=<n>): 0 all passed; 124 timeout; 125 the guest died
# without reporting (panic, QEMU error: the log tail is printed).
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}

log() { echo "guest-run: $*" >&2; }
die() { log "$*"; exit 2; }
# set -e alone exits silently; say where
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR
usage() { sed -n '2,/^set -/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2; }

EXTRA_FILES=()
EXTRA_MODULES=()
APPEND=()
TIMEOUT=${GUEST_TIMEOUT:-120}
SHELL_MODE=0
VERBOSE=0
LOG=

parse_args() {
    local opt
    OPTIND=1
    while getopts 'k:m:l:a:t:svo:h' opt; do
        case $opt in
            k) EXTRA_FILES+=("$OPTARG") ;;
            m) EXTRA_MODULES+=(-m "$OPTARG") ;;
            l) LOAD_MODULES="${LOAD_MODULES:+$LOAD_MODULES,}$OPTARG" ;;
            a) APPEND+=("$OPTARG") ;;
            t) TIMEOUT=$OPTARG ;;
            s) SHELL_MODE=1 ;;
            v) VERBOSE=1 ;;
            o) LOG=$OPTARG ;;
            *) usage ;;
        esac
    done
    shift $((OPTIND - 1))
    if [ "$SHELL_MODE" = 1 ] && [ $# -eq 0 ]; then
        SCRIPT=none
    else
        [ $# -ge 1 ] || usage
        SCRIPT=$1
        shift
    fi
    QEMU_ARGS=("$@")
}

find_qemu() {
    if [ -z "${QEMU_BIN:-}" ]; then
        [ -f "$CACHE/env" ] || die "no $CACHE/env: run scripts/build-qemu.sh first"
        QEMU_BIN=$(sed -n 's/^QEMU_BIN=//p' "$CACHE/env")
    fi
    [ -x "$QEMU_BIN" ] || die "QEMU_BIN=$QEMU_BIN is not executable"
}

# A script from tests/guest/scripts is already in the base initramfs; any
# other goes into a small second cpio appended to it (the kernel unpacks
# concatenated archives in order), so editing it costs no image rebuild.
resolve_script() {
    local s=$SCRIPT
    OVERLAY_SCRIPT=
    if [ "$s" = none ]; then
        SCRIPT_NAME=none
    elif [ -f "$TOP/tests/guest/scripts/$s" ] || [ -f "$TOP/tests/guest/scripts/$s.sh" ]; then
        SCRIPT_NAME=${s%.sh}
    elif [ -f "$s" ]; then
        OVERLAY_SCRIPT=$(cd "$(dirname "$s")" && pwd)/$(basename "$s")
        SCRIPT_NAME=$(basename "$s")
    else
        die "no guest script '$s' (tests/guest/scripts has: $(cd "$TOP/tests/guest/scripts" && ls | tr '\n' ' '))"
    fi
}

build_initrd() {
    local base dir
    base=$(bash "$TOP/scripts/guest-initramfs.sh" ${EXTRA_MODULES[@]+"${EXTRA_MODULES[@]}"} \
           ${EXTRA_FILES[@]+"${EXTRA_FILES[@]}"}) || die "scripts/guest-initramfs.sh failed"
    # <cache>/guest/<abi>/initramfs/<hash>.cpio: that ABI's own env file
    # (not guest/env, which a parallel run for another ABI may rewrite)
    eval "$(grep -E '^(KERNEL_ABI|VMLINUX|BUSYBOX)=' "$(dirname "$(dirname "$base")")/env")"
    if [ -z "$OVERLAY_SCRIPT" ]; then
        INITRD=$base
        return
    fi
    dir=$WORK/overlay
    mkdir -p "$dir/tests"
    cp "$OVERLAY_SCRIPT" "$dir/tests/"
    (cd "$dir" && printf '%s\n' tests "tests/$SCRIPT_NAME" |
     "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) > "$WORK/overlay.cpio"
    cat "$base" "$WORK/overlay.cpio" > "$WORK/initrd.cpio"
    INITRD=$WORK/initrd.cpio
}

kernel_cmdline() {
    local c="console=ttyS0 panic=-1 guest.script=$SCRIPT_NAME"
    [ -z "${LOAD_MODULES:-}" ] || c+=" guest.modules=$LOAD_MODULES"
    [ "$SHELL_MODE" = 0 ] || c+=" guest.shell=1"
    [ "${#APPEND[@]}" -eq 0 ] || c+=" ${APPEND[*]}"
    echo "$c"
}

qemu_command() {
    QEMU_CMD=(
        "$QEMU_BIN" -machine q35 -accel "${GUEST_ACCEL:-tcg}" -cpu max
        -m "${GUEST_MEM:-512}" -smp "${GUEST_SMP:-1}"
        -nodefaults -no-reboot
        -kernel "$VMLINUX" -initrd "$INITRD" -append "$(kernel_cmdline)"
    )
}

run_interactive() {
    log "interactive guest; Ctrl-A x quits QEMU"
    "${QEMU_CMD[@]}" -nographic -serial mon:stdio ${QEMU_ARGS[@]+"${QEMU_ARGS[@]}"}
}

# Batch run: serial console (and QEMU's own messages) into the log, a hard
# timeout, then the GUEST-TEST lines and the rc from GUEST-DONE.
run_batch() {
    local rc=0 t0 t1 done_line
    if [ -z "$LOG" ]; then
        mkdir -p "$CACHE/guest/logs"
        LOG=$CACHE/guest/logs/$SCRIPT_NAME.$(date +%Y%m%d-%H%M%S).$$.log
        # keep the 50 newest logs
        find "$CACHE/guest/logs" -name '*.log' -printf '%T@ %p\n' | sort -rn |
            tail -n +51 | cut -d' ' -f2- | xargs -r rm -f
    fi
    log "$SCRIPT_NAME: booting $KERNEL_ABI (log $LOG)"
    t0=$(date +%s.%N)
    if [ "$VERBOSE" = 1 ]; then
        timeout -k 5 "$TIMEOUT" "${QEMU_CMD[@]}" -display none -serial stdio \
            ${QEMU_ARGS[@]+"${QEMU_ARGS[@]}"} < /dev/null 2>&1 | tee "$LOG" >&2 || rc=${PIPESTATUS[0]}
    else
        timeout -k 5 "$TIMEOUT" "${QEMU_CMD[@]}" -display none -serial stdio \
            ${QEMU_ARGS[@]+"${QEMU_ARGS[@]}"} < /dev/null > "$LOG" 2>&1 || rc=$?
    fi
    t1=$(date +%s.%N)
    # The console may put kernel messages in front of ours on a line.
    grep -a -o 'GUEST-TEST: .*' "$LOG" | tr -d '\r' || true
    done_line=$(grep -a -o 'GUEST-DONE rc=[0-9]*' "$LOG" | tail -n 1 || true)
    ELAPSED=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
    if [ -n "$done_line" ]; then
        GUEST_RC=${done_line#GUEST-DONE rc=}
        log "$SCRIPT_NAME: rc=$GUEST_RC after ${ELAPSED}s (boot to poweroff)"
    elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        GUEST_RC=124
        log "$SCRIPT_NAME: TIMEOUT after ${TIMEOUT}s; last lines of $LOG:"
        tail -n 30 "$LOG" >&2
    else
        GUEST_RC=125
        log "$SCRIPT_NAME: guest ended without GUEST-DONE (QEMU rc=$rc); last lines of $LOG:"
        tail -n 30 "$LOG" >&2
    fi
}

main() {
    parse_args "$@"
    find_qemu
    resolve_script
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/guest-run.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    build_initrd
    qemu_command
    if [ "$SHELL_MODE" = 1 ]; then
        run_interactive
        return
    fi
    run_batch
    exit "$GUEST_RC"    # exit, not return: a non-zero return would trip the ERR trap
}

main "$@"
