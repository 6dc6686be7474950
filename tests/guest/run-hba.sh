#!/usr/bin/env bash
# The iscsi-hba Linux driver (guest/linux) in a booted guest against a
# real tgtd: one QEMU boot (TCG) per test, a private tgtd per test.
#
#   tests/guest/run-hba.sh [test...]      default: all of them
#
#   hba-disk        host-configured target -> /dev/sdX of vendor IET;
#                   READ CAPACITY, O_DIRECT and buffered data, last LBA
#   hba-fs          ext4: mkfs, files, umount, e2fsck -fn, remount, md5
#   hba-fio-verify  fio randwrite + crc32c verify, 4k QD16 and 4k..512k,
#                   2 vCPUs so the driver runs 2 I/O queues
#   hba-sgchain     requests of 1..1024 unmergeable segments (inline SG,
#                   SG list, lists chained over pages), 4 MiB fio verify
#   hba-login       iscsi-hba-ctl discover/login/list/info/logout, CHAP
#                   target: wrong secret -> ISDSC_AUTHENTICATION_FAILURE
#   hba-faults      host fault injection: login status, dropped READ
#                   (timeout, ABORT TASK), delayed READ, disconnect under
#                   fio, transient/persistent write errors, an error
#                   after the data landed; nothing acknowledged is lost
#   hba-target-lost the target refuses reconnection: SESSION_FAILED, I/O
#                   fails fast, the driver frees the slot and logs in
#                   again until the target is back: the disk returns
#   hba-eh-ladder   LUNs 256 and 300 scan; a timed-out READ whose abort
#                   and LUN reset fail ends in a session reset, not a
#                   controller reset: the other session is untouched
#   hba-iscsiadm    scsi_transport_iscsi sysfs, open-iscsi's iscsiadm -m
#                   session [-P 3], udev by-path names (udevadm test),
#                   flash node logout/login (netlink, as iscsiadm would)
#   hba-recovery    the same ladder ending in a controller reset, with
#                   ext4 mounted and fio verifying: same disk although
#                   the session moved slots; a second adapter untouched
#   hba-reset       LUN reset and host (controller) reset under fio
#                   verify, with a host-configured and a guest session
#   hba-unload      rmmod while a session reconnects, modprobe again
#   hba-intx        hba-disk with msix=off (INTx)
#
# Every test runs even if an earlier one failed; exits non-zero if any
# failed.  Prints one line per test with its time, and the total.
#
# Builds what is missing (QEMU, guest image) and always rebuilds the
# driver and iscsi-hba-ctl (make -C guest/linux W=1, against the guest
# kernel's headers; a warning fails the run).  HBA_KO=<file.ko> uses that
# module instead and builds nothing (e.g. to check that a deliberately
# broken driver makes the tests fail).  Serial logs:
# $CACHE/guest/logs/<test>.*.log.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
RUN=$TOP/tests/guest/run.sh
KO=${HBA_KO:-$TOP/guest/linux/iscsi_hba.ko}
SIZE_MB=64
ALL_TESTS=(hba-disk hba-fs hba-fio-verify hba-sgchain hba-login hba-faults hba-target-lost hba-reset hba-eh-ladder hba-recovery hba-iscsiadm hba-unload hba-intx)

log() { echo "hba-tests: $*" >&2; }

ensure_built() {
    [ -x "$(sed -n 's/^QEMU_BIN=//p' "$CACHE/env" 2>/dev/null)" ] ||
        bash "$TOP/scripts/build-qemu.sh" qemu-system-x86_64 >&2
    bash "$TOP/scripts/guest-image.sh" > /dev/null
    eval "$(grep -E '^(KERNEL_ABI|HEADERS_DIR)=' "$CACHE/guest/env")"
    [ -z "${HBA_KO:-}" ] || return 0
    local blog=$CACHE/guest/$KERNEL_ABI/iscsi_hba-build.log
    mkdir -p "$(dirname "$blog")"
    if ! make -C "$TOP/guest/linux" KDIR="$HEADERS_DIR" W=1 > "$blog" 2>&1; then
        cat "$blog" >&2
        log "driver build failed"
        return 1
    fi
    if grep -q 'warning:' "$blog"; then
        grep 'warning:' "$blog" >&2
        log "driver build has warnings (W=1)"
        return 1
    fi
}

# run_guest <script> [run.sh options...] [-- QEMU args...]: the driver
# and the LUN size always go along; tgtd's portal and target when one runs.
run_guest() {
    local script=$1
    shift
    local opts=(-t 180 -k "$KO" -a "guest.size_mb=$SIZE_MB")
    if [ -n "${TGTD_PORTAL:-}" ]; then
        opts+=(-a "guest.portal=$TGTD_PORTAL" -a "guest.iqn=$TGTD_IQN")
    fi
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    [ $# -eq 0 ] || shift
    "$RUN" "${opts[@]}" "$script" "$@"
}

# run_guest_hooked <action-fn> <run_guest args...>: as run_guest, while
# the host carries out what the guest asks for on its console: a line
# "HBA-HOST: <word>" runs "<action-fn> <word>" once.  The guest checks
# for the effect itself (the console is its only way to talk to us).
run_guest_hooked() {
    local fn=$1 script=$2 glog pid done_n=0 n rc=0 word
    shift 2
    mkdir -p "$CACHE/guest/logs"
    glog=$CACHE/guest/logs/$script.$(date +%Y%m%d-%H%M%S).$$.log
    run_guest "$script" -o "$glog" "$@" &
    pid=$!
    while kill -0 "$pid" 2> /dev/null; do
        n=$(grep -a -c 'HBA-HOST: ' "$glog" 2> /dev/null || true)
        while [ "${n:-0}" -gt "$done_n" ]; do
            done_n=$((done_n + 1))
            word=$(grep -a -o 'HBA-HOST: [a-z-]*' "$glog" | sed -n "${done_n}p")
            word=${word#HBA-HOST: }
            log "guest asks: $word"
            "$fn" "$word" || log "host action '$word' failed"
        done
        sleep 0.2
    done
    wait "$pid" || rc=$?
    return "$rc"
}

# -device iscsi-hba,id=hba0[,@1]: guest LOGIN and DISCOVERY may reach
# tgtd's portal (exactly), which the guest scripts log in to, and nothing
# else (the device's default would allow only the host target's portal).
hba_dev() {
    echo "iscsi-hba,id=hba0,guest-portals=$TGTD_PORTAL${1:+,$1}"
}

# One tgtd per test, in a subshell: tgtd.sh's EXIT trap stops it there.
host_target() {
    echo "-object" "iscsi-hba-target,id=t0,hba=hba0,portal=$TGTD_PORTAL,target=$TGTD_IQN"
}

test_hba_disk() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        # shellcheck disable=SC2046 # host_target prints two words
        run_guest hba-disk -a guest.expect_irq=MSI-X -a guest.expect_queues=1 \
            -- -device "$(hba_dev)" $(host_target)
    )
}

test_hba_intx() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        # shellcheck disable=SC2046
        run_guest hba-disk -a guest.expect_irq=INTx -a guest.expect_queues=1 \
            -- -device "$(hba_dev msix=off)" $(host_target)
    )
}

test_hba_fs() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        # shellcheck disable=SC2046
        run_guest hba-fs -- -device "$(hba_dev)" $(host_target)
    )
}

test_hba_fio_verify() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        # shellcheck disable=SC2046
        GUEST_SMP=2 run_guest hba-fio-verify -a guest.expect_queues=2 \
            -- -device "$(hba_dev)" $(host_target)
    )
}

# A second target (tid 2) with one 32 MiB LUN that only a CHAP user may
# log in to; tgtd.sh's own target stays open to everyone.
CHAP_USER=guestuser
CHAP_SECRET=hba-test-secret-1

test_hba_login() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        local chap_iqn=$TGTD_IQN-chap rc=0
        truncate -s 32M "$TGTD_DIR/chap.img"
        _tgtadm --op new --mode target --tid 2 -T "$chap_iqn"
        _tgtadm --op new --mode logicalunit --tid 2 --lun 1 --bstype rdwr -b "$TGTD_DIR/chap.img"
        _tgtadm --op bind --mode target --tid 2 -I ALL
        _tgtadm --op new --mode account --user "$CHAP_USER" --password "$CHAP_SECRET"
        _tgtadm --op bind --mode account --tid 2 --user "$CHAP_USER"
        run_guest hba-login -a "guest.chap_iqn=$chap_iqn" -a "guest.chap_user=$CHAP_USER" \
            -a "guest.chap_secret=$CHAP_SECRET" -a guest.chap_size_mb=32 \
            -- -device "$(hba_dev)" || rc=$?
        # tgtd.sh removes tid 1 only; it exits sooner without tid 2
        _tgtadm --op update --mode target --tid 2 -n state -v offline > /dev/null 2>&1 || true
        _tgtadm --op delete --force --mode target --tid 2 > /dev/null 2>&1 || true
        exit "$rc"
    )
}

# Disk B's target (tid 2) drops its connection on the first TUR.
test_hba_unload() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        local rc=0
        truncate -s 32M "$TGTD_DIR/t2.img"
        _tgtadm --op new --mode target --tid 2 -T "$TGTD_IQN-2"
        _tgtadm --op new --mode logicalunit --tid 2 --lun 1 --bstype rdwr -b "$TGTD_DIR/t2.img"
        _tgtadm --op bind --mode target --tid 2 -I ALL
        # shellcheck disable=SC2046
        # a driver that waits for the reconnection hangs in rmmod: 60 s
        run_guest hba-unload -t 60 -a "guest.iqn2=$TGTD_IQN-2" \
            -- -device "$(hba_dev "fault-rules=op=scsi,,target=$TGTD_IQN-2,,opcode=0,,action=disconnect")" \
            $(host_target) || rc=$?
        _tgtadm --op update --mode target --tid 2 -n state -v offline > /dev/null 2>&1 || true
        _tgtadm --op delete --force --mode target --tid 2 > /dev/null 2>&1 || true
        exit "$rc"
    )
}

# build_tool <name>: tests/guest/tools/<name>.c, static for the guest,
# into $CACHE/guest/<name>; prints the path.
build_tool() {
    local bin=$CACHE/guest/$1 src=$TOP/tests/guest/tools/$1.c
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
        gcc -static -O2 -Wall -Wextra -Werror -o "$bin" "$src"
    fi
    echo "$bin"
}

build_sgvec() { SGVEC=$(build_tool hba-sgvec); }

test_hba_sgchain() {
    build_sgvec
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        # shellcheck disable=SC2046
        run_guest hba-sgchain -k "$SGVEC" \
            -- -device "$(hba_dev max-sg-elements=1024,max-transfer=4194304)" $(host_target)
    )
}

# The host-configured target and a second one (tid 2, 32 MiB) that the
# guest logs in to.
test_hba_reset() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        local rc=0
        truncate -s 32M "$TGTD_DIR/t2.img"
        _tgtadm --op new --mode target --tid 2 -T "$TGTD_IQN-2"
        _tgtadm --op new --mode logicalunit --tid 2 --lun 1 --bstype rdwr -b "$TGTD_DIR/t2.img"
        _tgtadm --op bind --mode target --tid 2 -I ALL
        # shellcheck disable=SC2046 # 2 vCPUs: resets with 2 I/O queues
        GUEST_SMP=2 run_guest hba-reset -a "guest.iqn2=$TGTD_IQN-2" \
            -- -device "$(hba_dev)" $(host_target) || rc=$?
        _tgtadm --op update --mode target --tid 2 -n state -v offline > /dev/null 2>&1 || true
        _tgtadm --op delete --force --mode target --tid 2 > /dev/null 2>&1 || true
        exit "$rc"
    )
}

# add_target <tid> <iqn> <MiB> [lun...]: a second (third...) target of
# this test's tgtd, open to everyone; LUN 1 unless LUN numbers are given.
add_target() {
    local tid=$1 iqn=$2 mb=$3 lun
    shift 3
    _tgtadm --op new --mode target --tid "$tid" -T "$iqn"
    for lun in "${@:-1}"; do
        truncate -s "${mb}M" "$TGTD_DIR/t$tid-$lun.img"
        _tgtadm --op new --mode logicalunit --tid "$tid" --lun "$lun" --bstype rdwr \
            -b "$TGTD_DIR/t$tid-$lun.img"
    done
    _tgtadm --op bind --mode target --tid "$tid" -I ALL
}

# tgtd.sh removes tid 1 only; it exits sooner without the others
del_targets() {
    local tid
    for tid in "$@"; do
        _tgtadm --op update --mode target --tid "$tid" -n state -v offline > /dev/null 2>&1 || true
        _tgtadm --op delete --force --mode target --tid "$tid" > /dev/null 2>&1 || true
    done
}

# rules <rule>...: a fault-rules property value (";" between rules, ","
# inside a -device value written ",,")
rules() {
    local IFS=';' r=("$@")
    echo "${r[*]//,/,,}"
}

# Target A (tid 1) gets LUNs 256 (3 MiB) and 300 (5 MiB); target B (tid
# 2): its READ at FAULT_LBA_EH is held for 8 s once, and ABORT TASK and LUN
# RESET for it fail once each.
FAULT_LBA_EH=40960

test_hba_eh_ladder() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        local rc=0 iqn2=$TGTD_IQN-2
        truncate -s 3M "$TGTD_DIR/l256.img"
        truncate -s 5M "$TGTD_DIR/l300.img"
        _tgtadm --op new --mode logicalunit --tid 1 --lun 256 --bstype rdwr -b "$TGTD_DIR/l256.img"
        _tgtadm --op new --mode logicalunit --tid 1 --lun 300 --bstype rdwr -b "$TGTD_DIR/l300.img"
        add_target 2 "$iqn2" 32
        run_guest hba-eh-ladder -a "guest.iqn2=$iqn2" -a "guest.lba_eh=$FAULT_LBA_EH" \
            -a iscsi_hba.io_timeout=5 \
            -- -device "$(hba_dev "fault-rules=$(rules \
                "op=scsi,target=$iqn2,opcode=0x28,lba-start=$FAULT_LBA_EH,lba-end=$((FAULT_LBA_EH + 7)),action=delay,delay-ms=8000" \
                "op=tmf,target=$iqn2,opcode=1,action=status,status=SCSI_REQUEST_FAILED" \
                "op=tmf,target=$iqn2,opcode=5,action=status,status=SCSI_REQUEST_FAILED")")" || rc=$?
        del_targets 2
        exit "$rc"
    )
}

# The host-configured target and a guest login to a second one (tid 2).
test_hba_iscsiadm() {
    local fnode
    fnode=$(build_tool hba-fnode)
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        local rc=0 iqn2=$TGTD_IQN-2
        add_target 2 "$iqn2" 32
        # shellcheck disable=SC2046
        run_guest hba-iscsiadm -k "$fnode" -a "guest.iqn2=$iqn2" -- -device "$(hba_dev)" $(host_target) || rc=$?
        del_targets 2
        exit "$rc"
    )
}

# Adapter 0 (guest logins to A = tid 1 and B = tid 2): B's READ at
# FAULT_LBA_EH is held for 8 s once, ABORT TASK and LUN RESET for B fail once,
# and so does B's second LOGIN (the session reset's): the error handler
# ends with a controller reset.  Adapter 1: host-configured C (tid 3) and
# a guest login to D (tid 4).
test_hba_recovery() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        local rc=0 iqn2=$TGTD_IQN-2 iqn3=$TGTD_IQN-3 iqn4=$TGTD_IQN-4
        add_target 2 "$iqn2" 64
        add_target 3 "$iqn3" 16
        add_target 4 "$iqn4" 32
        run_guest hba-recovery -t 300 -a "guest.iqn2=$iqn2" -a "guest.iqn3=$iqn3" \
            -a "guest.iqn4=$iqn4" -a "guest.lba_eh=$FAULT_LBA_EH" -a iscsi_hba.io_timeout=5 \
            -- -device "$(hba_dev "fault-rules=$(rules \
                "op=scsi,target=$iqn2,opcode=0x28,lba-start=$FAULT_LBA_EH,lba-end=$((FAULT_LBA_EH + 7)),action=delay,delay-ms=8000" \
                "op=tmf,target=$iqn2,opcode=1,action=status,status=SCSI_REQUEST_FAILED" \
                "op=tmf,target=$iqn2,opcode=5,action=status,status=SCSI_REQUEST_FAILED" \
                "op=login,target=$iqn2,nth=2,action=status,status=AUTHENTICATION_FAILURE")")" \
            -device "iscsi-hba,id=hba1,guest-portals=$TGTD_PORTAL" \
            -object "iscsi-hba-target,id=t3,hba=hba1,portal=$TGTD_PORTAL,target=$iqn3" || rc=$?
        del_targets 2 3 4
        exit "$rc"
    )
}

# The target goes away for good: the guest asks the host to unbind the
# target (new logins are refused, the running session stays), the adapter
# drops the connection on a WRITE (fault rule), reconnecting fails until
# time2retain: EVENT_SESSION_FAILED.  Then bound again for a new login.
FAULT_LBA_LOST=114688

target_acl() {
    case $1 in
        unbind) _tgtadm --op unbind --mode target --tid 1 -I ALL ;;
        bind)   _tgtadm --op bind --mode target --tid 1 -I ALL ;;
        *)      return 1 ;;
    esac
}

test_hba_target_lost() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        local rule="op=scsi,direction=write,lba-start=$FAULT_LBA_LOST,lba-end=$((FAULT_LBA_LOST + 7)),action=disconnect"
        run_guest_hooked target_acl hba-target-lost -a "guest.lba_lost=$FAULT_LBA_LOST" \
            -a iscsi_hba.relogin_interval=2 \
            -- -device "$(hba_dev "fault-rules=${rule//,/,,}")"
    )
}

# Fault rules given at start-up, each confined to LBAs (512-byte sectors)
# that only its step of hba-faults.sh touches, so that the sd scan and
# the other steps never trigger it.  The guest gets the same numbers.
FAULT_LBA_DROP=40960        # READ(10) dropped once: timeout, ABORT TASK
FAULT_LBA_DISC=61440        # 3rd WRITE in 4 MiB from here: disconnect
FAULT_LBA_WERR=81920        # WRITE: TRANSPORT_ERROR once (retried)
FAULT_LBA_MERR=90112        # WRITE: MEDIUM ERROR, always
FAULT_LBA_TERR=98304        # WRITE: TRANSPORT_ERROR, always
FAULT_LBA_LATE=106496       # WRITE lands, then CONNECTION_FAILED once
FAULT_LBA_SLOW=110592       # READ(10) answered, completion held 8 s

fault_rules() {
    local r=(
        "op=login,action=status,status=AUTHENTICATION_FAILURE"
        "op=scsi,opcode=0x28,lba-start=$FAULT_LBA_DROP,lba-end=$((FAULT_LBA_DROP + 7)),action=drop"
        "op=scsi,direction=write,lba-start=$FAULT_LBA_DISC,lba-end=$((FAULT_LBA_DISC + 8191)),nth=3,action=disconnect"
        "op=scsi,direction=write,lba-start=$FAULT_LBA_WERR,lba-end=$((FAULT_LBA_WERR + 7)),action=status,status=TRANSPORT_ERROR"
        "op=scsi,direction=write,lba-start=$FAULT_LBA_MERR,lba-end=$((FAULT_LBA_MERR + 7)),count=0,action=scsi-status,sense-key=3,asc=0x0c,ascq=0"
        "op=scsi,direction=write,lba-start=$FAULT_LBA_TERR,lba-end=$((FAULT_LBA_TERR + 7)),count=0,action=status,status=TRANSPORT_ERROR"
        "op=scsi,direction=write,lba-start=$FAULT_LBA_LATE,lba-end=$((FAULT_LBA_LATE + 7)),after-target=on,action=status,status=CONNECTION_FAILED"
        "op=scsi,opcode=0x28,lba-start=$FAULT_LBA_SLOW,lba-end=$((FAULT_LBA_SLOW + 7)),action=delay,delay-ms=8000"
    )
    local IFS=';'
    # a comma inside a -device property value is written ",,"
    echo "${r[*]//,/,,}"
}

test_hba_faults() {
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start "$SIZE_MB" 1
        run_guest hba-faults \
            -a "guest.lba_drop=$FAULT_LBA_DROP" -a "guest.lba_disc=$FAULT_LBA_DISC" \
            -a "guest.lba_werr=$FAULT_LBA_WERR" -a "guest.lba_merr=$FAULT_LBA_MERR" \
            -a "guest.lba_terr=$FAULT_LBA_TERR" -a "guest.lba_late=$FAULT_LBA_LATE" \
            -a "guest.lba_slow=$FAULT_LBA_SLOW" \
            -- -device "$(hba_dev "fault-rules=$(fault_rules)")"
    )
}

since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

main() {
    local tests=("$@") t rc t0 start failed=() summary=()
    [ "${#tests[@]}" -gt 0 ] || tests=("${ALL_TESTS[@]}")
    for t in "${tests[@]}"; do
        declare -F "test_${t//-/_}" > /dev/null || { log "unknown test $t (have: ${ALL_TESTS[*]})"; exit 2; }
    done
    start=$(date +%s.%N)
    ensure_built
    for t in "${tests[@]}"; do
        log "=== $t"
        t0=$(date +%s.%N)
        rc=0
        "test_${t//-/_}" || rc=$?
        if [ "$rc" = 0 ]; then
            summary+=("$(printf '%-16s PASS %6ss' "$t" "$(since "$t0")")")
        else
            summary+=("$(printf '%-16s FAIL %6ss (rc=%s)' "$t" "$(since "$t0")" "$rc")")
            failed+=("$t")
        fi
        log "${summary[-1]}"
    done
    log "--- summary"
    for t in "${summary[@]}"; do
        log "$t"
    done
    log "total $(since "$start")s"
    if [ "${#failed[@]}" -gt 0 ]; then
        log "FAILED: ${failed[*]}"
        exit 1
    fi
    log "all passed: ${tests[*]}"
}

main "$@"
