#!/usr/bin/env bash
# Fuzz the iscsi-hba device with QEMU's generic-fuzz (libFuzzer, ASan, UBSan).
#
#   scripts/fuzz.sh --minutes N     a long run: the corpus grows in the cache,
#                                   crashes are collected, not fatal
#   scripts/fuzz.sh --check         the test command's short run: fixed seed,
#                                   fixed number of runs over the corpus in
#                                   tests/fuzz/iscsi-hba/; fails on any crash
#                                   or sanitizer report
#   options: --seed S  --runs R  --no-build
#
# The fuzzed VM has the device (MSI-X on) and a host-configured
# iscsi-hba-target logged in to a private tgtd, so commands reach a real
# SCSI target.  Everything runs in a private network namespace with only
# the loopback interface: whatever portal a fuzzed guest LOGIN names, no
# packet leaves the machine, and tgtd can use the fixed portal and IQN that
# tests/fuzz/gen-corpus.py writes into the seeds.  Needs root.
#
# Artifacts (crash-*, timeout-*, ...) go to $CACHE/fuzz/artifacts/<time>/.
#   scripts/fuzz.sh --reproduce ARTIFACT
# prints the artifact as the register/DMA operations generic-fuzz performs
# (tests/fuzz/gen-corpus.py --decode) and replays it once with the device's
# trace events, the material for a qtest.  (QEMU's scripts/oss-fuzz/
# reorder_fuzzer_qtest_trace.py needs QTEST_LOG output, which QEMU 10.0's
# in-process fuzzer no longer writes: its qtest chardev reports CLOSED at
# start-up and logging stops.)
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
CORPUS=$TOP/tests/fuzz/iscsi-hba
# Target 1 is the host-configured one; target 2 is for guest logins.
FUZZ_IQN=iqn.2026-11.org.qemu.fuzz:target
FUZZ_GUEST_IQN=iqn.2026-11.org.qemu.fuzz:guest
FUZZ_PORTAL=127.0.0.1:3260
# The short run: enough to replay every seed and mutate a while (~2 min).
CHECK_RUNS=${ISCSI_HBA_FUZZ_RUNS:-12000}

MODE='' MINUTES='' SEED=1 RUNS='' BUILD=1 ARTIFACT=''

log() { echo "fuzz: $*" >&2; }
die() { log "$*"; exit 2; }

usage() {
    sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit "${1:-2}"
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --minutes) MODE=long MINUTES=${2:?}; shift ;;
            --check) MODE=check ;;
            --reproduce) MODE=reproduce ARTIFACT=${2:?}; shift ;;
            --seed) SEED=${2:?}; shift ;;
            --runs) RUNS=${2:?}; shift ;;
            --no-build) BUILD=0 ;;
            -h|--help) usage 0 ;;
            *) usage ;;
        esac
        shift
    done
    [ -n "$MODE" ] || usage
}

# ---- tgtd on the namespace's loopback (quirks: tests/guest/tgtd.sh) ----

TGTD_PID='' TGTD_DIR='' TGTD_CTL=''

tgtadm_() { tgtadm -C "$TGTD_CTL" --lld iscsi "$@"; }

tgtd_up() {
    local i
    command -v tgtd >/dev/null || die "tgtd not installed (package tgt)"
    TGTD_DIR=$(mktemp -d /dev/shm/iscsi-hba-fuzz.XXXXXX)
    # The control socket is a file in /var/run/tgtd, shared with the rest
    # of the machine: pick one nobody else uses (a short, below 32768).
    TGTD_CTL=$((20000 + $$ % 10000))
    setsid tgtd -f -C "$TGTD_CTL" --iscsi "portal=$FUZZ_PORTAL" \
        > "$TGTD_DIR/tgtd.log" 2>&1 < /dev/null &
    TGTD_PID=$!
    for i in $(seq 50); do
        kill -0 "$TGTD_PID" 2>/dev/null || break
        tgtadm_ --op show --mode portal 2>/dev/null | grep -q "Portal: $FUZZ_PORTAL," && break
        sleep 0.1
    done
    tgtadm_ --op show --mode portal 2>/dev/null | grep -q "Portal: $FUZZ_PORTAL," ||
        { cat "$TGTD_DIR/tgtd.log" >&2; die "tgtd did not come up"; }
    tgtadm_ --op new --mode target --tid 1 -T "$FUZZ_IQN"
    tgtadm_ --op new --mode target --tid 2 -T "$FUZZ_GUEST_IQN"
    for i in 1 2; do
        truncate -s 16M "$TGTD_DIR/lun$i.img"
        tgtadm_ --op new --mode logicalunit --tid "$i" --lun 1 --bstype rdwr -b "$TGTD_DIR/lun$i.img"
        tgtadm_ --op bind --mode target --tid "$i" -I ALL
    done
}

tgtd_down() {
    local _ i
    if [ -n "$TGTD_PID" ]; then
        for i in 1 2; do
            tgtadm_ --op update --mode target --tid "$i" -n state -v offline >/dev/null 2>&1
            tgtadm_ --op delete --force --mode target --tid "$i" >/dev/null 2>&1
        done
        tgtadm_ --op delete --mode system >/dev/null 2>&1
        for _ in $(seq 20); do
            kill -0 "$TGTD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$TGTD_PID" 2>/dev/null
        wait "$TGTD_PID" 2>/dev/null
        rm -f "/var/run/tgtd/socket.$TGTD_CTL" "/var/run/tgtd/socket.$TGTD_CTL.lock"
        TGTD_PID=
    fi
    [ -z "$TGTD_DIR" ] || rm -rf "$TGTD_DIR"
    TGTD_DIR=
}

# ---- the fuzz target ----

fuzz_env() {
    local dev="iscsi-hba,id=hba0,msix=on,login-timeout=5,command-timeout=5"
    # Where the device has the host policy for guest portals, say it.
    if "$QEMU_BIN" -device iscsi-hba,help 2>/dev/null | grep -q guest-portals; then
        dev+=",guest-portals=host-targets"
    fi
    export QEMU_FUZZ_ARGS="-device $dev -object iscsi-hba-target,id=t0,hba=hba0,portal=$FUZZ_PORTAL,target=$FUZZ_IQN"
    export QEMU_FUZZ_OBJECTS='iscsi-hba*'
    # Leaks: QEMU's fuzz harness itself leaks per input; UBSan: a report is
    # a crash (with a reproducer), not a warning.
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:print_summary=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
}

sanitizer_reports() {
    grep -cE 'ERROR: [A-Za-z]*Sanitizer|runtime error:' "$1"
}

# libFuzzer's last status line: "#N <what> cov: C ft: F corp: ..." (or
# "#N: cov: C ft: F ..." in fork mode).
print_stats() {
    local logf=$1 art=$2 line execs cov ft crashes
    line=$(grep -E '^#[0-9]+:?[[:space:]].*cov: [0-9]+ ft: [0-9]+' "$logf" | tail -n 1)
    execs=$(grep -oE '^Done [0-9]+ runs' "$logf" | tail -n 1 | grep -oE '[0-9]+')
    [ -n "$execs" ] || execs=$(echo "$line" | grep -oE '^#[0-9]+' | tr -d '#')
    cov=$(echo "$line" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
    ft=$(echo "$line" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+')
    crashes=$(find "$art" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
              -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | wc -l)
    echo "fuzz: executions ${execs:-?}, cov: ${cov:-?}, ft: ${ft:-?}, crashes/timeouts found: $crashes"
    echo "fuzz: artifacts in $art"
    echo "fuzz: log $logf"
    FOUND=$crashes EXECS=${execs:-0}
}

run_fuzzer() {
    local stamp art logf work rc
    stamp=$(date +%Y%m%d-%H%M%S)
    art=$CACHE/fuzz/artifacts/$stamp
    logf=$CACHE/fuzz/logs/$stamp-$MODE.log
    mkdir -p "$art" "$CACHE/fuzz/logs"
    local -a args=(--fuzz-target=generic-fuzz "-seed=$SEED" "-artifact_prefix=$art/"
                   -timeout=20 -rss_limit_mb=4096 -max_len=32768 -print_final_stats=1)
    if [ "$MODE" = check ]; then
        # New inputs go to a scratch directory: the repo corpus stays as is.
        work=$(mktemp -d)
        args+=("-runs=${RUNS:-$CHECK_RUNS}" -max_total_time=600 "$work" "$CORPUS")
    else
        work=$CACHE/fuzz/corpus
        mkdir -p "$work"
        args+=("-max_total_time=$((MINUTES * 60))" -fork=1 -ignore_crashes=1
               -ignore_timeouts=1 -ignore_ooms=1 "$work" "$CORPUS")
        [ -z "$RUNS" ] || args+=("-runs=$RUNS")
    fi
    log "$QEMU_FUZZ_BIN ${args[*]}"
    log "QEMU_FUZZ_ARGS=$QEMU_FUZZ_ARGS"
    (cd "$art" && "$QEMU_FUZZ_BIN" "${args[@]}") 2>&1 | tee "$logf" |
        grep --line-buffered -E '^#[0-9]+:?[[:space:]]+(INITED|DONE|pulse)|^#[0-9]+: |^Done |ERROR|runtime error:|^SUMMARY|^INFO: (seed|Running|A corpus)|^stat::number'
    rc=${PIPESTATUS[0]}
    [ "$MODE" != check ] || rm -rf "$work"
    FOUND=0 EXECS=0
    print_stats "$logf" "$art"
    [ "$FOUND" -gt 0 ] || rmdir "$art" 2>/dev/null
    if [ "$MODE" = check ]; then
        local reports
        reports=$(sanitizer_reports "$logf")
        if [ "$rc" -ne 0 ] || [ "$FOUND" -gt 0 ] || [ "$reports" -gt 0 ]; then
            grep -E -A30 'ERROR: [A-Za-z]*Sanitizer|runtime error:|deadly signal' "$logf" | head -n 60
            echo "not ok 1 fuzz: generic-fuzz, seed $SEED, ${RUNS:-$CHECK_RUNS} runs (exit $rc, $FOUND artifacts, $reports sanitizer reports)"
            return 1
        fi
        # The time limit is only a guard: the run must do all its runs.
        if [ "$EXECS" -lt "${RUNS:-$CHECK_RUNS}" ]; then
            echo "not ok 1 fuzz: only $EXECS of ${RUNS:-$CHECK_RUNS} runs before the time limit"
            return 1
        fi
        echo "ok 1 fuzz: generic-fuzz, seed $SEED, ${RUNS:-$CHECK_RUNS} runs over $(ls "$CORPUS" | wc -l) seeds, no crash, no sanitizer report"
    fi
    return 0
}

# A crash input as operations, then replayed with the device's traces.
reproduce() {
    echo "== $ARTIFACT as generic-fuzz operations"
    python3 "$TOP/tests/fuzz/gen-corpus.py" --decode "$ARTIFACT"
    echo "== replay (QEMU_FUZZ_ARGS=$QEMU_FUZZ_ARGS)"
    QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS -trace iscsi_hba_*" \
        "$QEMU_FUZZ_BIN" --fuzz-target=generic-fuzz -runs=1 "$ARTIFACT" 2>&1
}

in_namespace() {
    ip link set lo up || die "cannot bring up lo in the private namespace"
    tgtd_up
    trap 'tgtd_down' EXIT
    trap 'tgtd_down; exit 130' INT TERM
    fuzz_env
    case $MODE in
        reproduce) reproduce ;;
        *) run_fuzzer ;;
    esac
}

main() {
    parse_args "$@"
    if [ "$(id -u)" != 0 ]; then
        # Like the qtests that need tgtd: a skip for the test command.
        if [ "$MODE" = check ]; then
            echo "ok 1 fuzz # SKIP needs root (tgtd, a private network namespace)"
            exit 0
        fi
        die "needs root (tgtd, a private network namespace)"
    fi
    if [ -z "${ISCSI_HBA_FUZZ_NETNS:-}" ]; then
        if [ "$BUILD" = 1 ]; then
            bash "$TOP/scripts/build-qemu.sh" --asan qemu-fuzz-x86_64 qemu-system-x86_64 ||
                die "sanitizer build failed"
        fi
        [ -f "$CACHE/env-asan" ] || die "no sanitizer build ($CACHE/env-asan)"
        # Outside network: none.  (The build above needed apt.)
        exec unshare --net env ISCSI_HBA_FUZZ_NETNS=1 bash "$0" "$@" --no-build
    fi
    # shellcheck source=/dev/null
    . "$CACHE/env-asan"
    [ -x "$QEMU_FUZZ_BIN" ] || die "no $QEMU_FUZZ_BIN"
    in_namespace
}

main "$@"
