#!/usr/bin/env bash
# Run every iscsi-hba test: installs and builds what it needs first.
#
# The project's own tests (counted in the final line):
#   unit        project meson tests, each TAP subtest counted: ABI header,
#               ISDSC table, isdsc tool, iSCSI name rules (no QEMU needed)
#   qtest       device qtests against the normal qemu-system-x86_64 (QEMU 10.0)
#   qtest-asan  the same qtests against the sanitizer build of QEMU 10.2
#               (so both supported releases run them; AddressSanitizer
#               + UndefinedBehaviorSanitizer, libiscsi 1.19 instrumented too):
#               any sanitizer report fails, whatever TAP says.  That build
#               runs in the background, niced, while the suites of the
#               normal build run; these tests, the fuzz check and the
#               series check come after it
#   fuzz        a short deterministic generic-fuzz run over tests/fuzz/iscsi-hba
#               (fixed seed and runs; scripts/fuzz.sh --check)
#   guest       run-hba.sh: a Linux guest with the iscsi_hba driver, real tgtd;
#               run-boot.sh: SeaBIOS with the iscsi-hba driver boots Linux
#               from a tgtd LUN (scripts/build-seabios.sh, boot-image.sh);
#               run-uefi.sh: Debian's OVMF boots a tgtd LUN through the UEFI
#               driver in the device's option ROM (scripts/build-uefi-driver.sh)
#   windows     the Windows miniport: iscsihba.sys built with mingw-w64
#               (scripts/build-windows-driver.sh, one check), then its
#               code run against the device by tests/windows (TAP)
#   series      scripts/export-series.sh --check: the upstream patch series
#               applies to unpatched QEMU 10.2, passes checkpatch, builds
# Reported on their own lines (a failure still counts as failed):
#   stock       QEMU's own qmp-cmd-test (every QMP query, query-iscsi-hba too)
#   image       run-all.sh: self-checks of the guest image and a virtio control
#   style       QEMU's scripts/checkpatch.pl, one check per project C file
#
# "ok ... # SKIP" is counted as skipped, never as passed.  With CI=true a
# test skipped because tgtd cannot run (no root, no tgt) fails the run.
# Output is streamed; every suite's full log is kept in
# $ISCSI_HBA_CACHE/test-logs/last/ (the previous run in test-logs/prev/).
#
# Ends with a line "tests: N passed, N failed, N skipped"; exits non-zero on
# any failure.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
LOGS=$CACHE/test-logs/last
IN_CI=0
[ "${CI:-}" != true ] || IN_CI=1

PASSED=0 FAILED=0 SKIPPED=0
LAST_T=0        # when the previous suite ended (seconds of this run)
FAILURES=()
SUMMARY=()
SANITIZER_RE='ERROR: [A-Za-z]*Sanitizer|runtime error:'
# Why a test that needs tgtd skips (tests/qtest/libqos/tgtd-fixture.c).
TGTD_SKIP_RE='tgtd|tgtadm|needs root|not installed'

# ---- bookkeeping ----

# record CATEGORY SUITE PASS FAIL SKIP [NOTE]
record() {
    local cat=$1 suite=$2 pass=$3 fail=$4 skip=$5 note=${6:-} took
    took=$((SECONDS - LAST_T))
    LAST_T=$SECONDS
    if [ "$cat" = project ]; then
        PASSED=$((PASSED + pass))
        SKIPPED=$((SKIPPED + skip))
    fi
    FAILED=$((FAILED + fail))
    printf '== %s: %d passed, %d failed, %d skipped, %ds%s\n' "$suite" "$pass" "$fail" \
        "$skip" "$took" "${note:+ ($note)}"
    SUMMARY+=("$cat|$pass|$fail|$skip|$(printf '%-40s %4d passed %3d failed %3d skipped %4ds%s' \
              "$suite" "$pass" "$fail" "$skip" "$took" "${note:+  $note}")")
    if [ "$fail" -gt 0 ] || [ $((pass + fail + skip)) -eq 0 ]; then
        FAILURES+=("$suite")
        # A suite that ran nothing is a failure, but counted once.
        [ $((pass + fail + skip)) -ne 0 ] || FAILED=$((FAILED + 1))
    fi
}

# run_streamed LOG FILTER CMD...: run CMD, keep its whole output in LOG and
# show the lines matching FILTER as they come.  Returns CMD's status.
run_streamed() {
    local logf=$1 filter=$2
    shift 2
    "$@" 2>&1 | tee "$logf" | grep --line-buffered -E "$filter"
    return "${PIPESTATUS[0]}"
}

# TAP counts of a log: sets T_PASS T_FAIL T_SKIP T_CIFAIL T_MISSING.
tap_count() {
    local logf=$1 plan total
    T_PASS=$(grep -E '^ok ' "$logf" | grep -vcE '# (SKIP|skip)')
    T_SKIP=$(grep -E '^ok ' "$logf" | grep -cE '# (SKIP|skip)')
    T_FAIL=$(grep -E '^not ok ' "$logf" | grep -vcE '# TODO')
    T_SKIP=$((T_SKIP + $(grep -E '^not ok ' "$logf" | grep -cE '# TODO')))
    # In CI, tgtd must run: its skips are failures.
    T_CIFAIL=0
    if [ "$IN_CI" = 1 ]; then
        T_CIFAIL=$(grep -E '^ok .*# (SKIP|skip)' "$logf" | grep -cE "$TGTD_SKIP_RE")
    fi
    # A binary that stopped early reports fewer points than its plan.
    plan=$(grep -oE '^1\.\.[0-9]+' "$logf" | head -n 1 | cut -d. -f3)
    total=$((T_PASS + T_FAIL + T_SKIP))
    T_MISSING=0
    if [ -n "$plan" ] && [ "$total" -lt "$plan" ]; then
        T_MISSING=$((plan - total))
    fi
}

# ---- suites ----

# Count TAP subtests of every meson test (a test without TAP counts once).
unit_counts() {
    python3 - "$1" <<'PY'
import json, re, sys
p = f = s = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    tap = [l for l in t.get("stdout", "").splitlines()
           if re.match(r"(not )?ok\b", l)]
    if not tap:
        r = t["result"]
        p += r in ("OK", "EXPECTEDFAIL")
        s += r == "SKIP"
        f += r not in ("OK", "EXPECTEDFAIL", "SKIP")
        continue
    for l in tap:
        skip = re.search(r"#\s*(SKIP|TODO)", l, re.I)
        if skip:
            s += 1
        elif l.startswith("ok"):
            p += 1
        else:
            f += 1
    # a TAP test that failed as a whole (crash after its last point)
    if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and \
            not any(l.startswith("not ok") for l in tap):
        f += 1
print(p, f, s)
PY
}

run_unit() {
    local dir=$CACHE/unit-build logf=$LOGS/unit.log counts pass fail skip
    if ! bash "$TOP/scripts/unit-build.sh" > "$LOGS/unit-setup.log" 2>&1; then
        tail -n 40 "$LOGS/unit-setup.log"
        echo "unit: build failed (log $LOGS/unit-setup.log)"
        record project unit 0 1 0 "build failed"
        return
    fi
    run_streamed "$logf" '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout):' \
        meson test -C "$dir" --print-errorlogs
    counts=$(unit_counts "$dir/meson-logs/testlog.json") || counts="0 1 0"
    read -r pass fail skip <<< "$counts"
    tap_count "$dir/meson-logs/testlog.txt"
    fail=$((fail + T_CIFAIL))
    record project unit "$pass" "$fail" "$skip" "meson subtests"
}

# Each qtest binary prints TAP; count its test points.  A binary that
# bails out, exits non-zero, stops short of its plan or makes a sanitizer
# report fails, however many points passed before.
# With SANITIZER_LOGS set (the asan suites), the sanitizer runtimes of QEMU
# and of the test write to files there (log_path), not to stderr: tests
# that check QEMU's stderr then see only QEMU's own lines, and no report
# can hide in a pipe.
# run_qtest CAT SUITE BUILD QEMU NAME [PATH]: PATH limits it to some tests
run_qtest() {
    local cat=$1 suite=$2 build=$3 bin=$4 name=$5 path=${6:-}
    local logf rc reports fail note='' san=''
    local -a senv=()
    logf=$LOGS/$suite.log
    if [ -n "${SANITIZER_LOGS:-}" ]; then
        san=$SANITIZER_LOGS/$name
        rm -rf "$san" && mkdir -p "$san"
        # file names say which program: sanitizer.<program>.<pid>
        senv=("ASAN_OPTIONS=${ASAN_OPTIONS:-}:log_path=$san/sanitizer:log_exe_name=1"
              "UBSAN_OPTIONS=${UBSAN_OPTIONS:-}:log_path=$san/sanitizer:log_exe_name=1")
    fi
    run_streamed "$logf" "^(not )?ok |^Bail out!|$SANITIZER_RE|^SUMMARY: " \
        env "${senv[@]}" QTEST_QEMU_BINARY="$bin" timeout 1200 "$build/tests/qtest/$name" --tap -k \
        ${path:+-p "$path"}
    rc=$?
    tap_count "$logf"
    fail=$((T_FAIL + T_CIFAIL))
    # Reports in the files go into the suite's log too.
    [ -z "$san" ] || cat "$san"/* >> "$logf" 2>/dev/null
    reports=$(grep -cE "$SANITIZER_RE" "$logf")
    if [ "$reports" -gt 0 ]; then
        grep -E -A25 "$SANITIZER_RE" "$logf" | head -n 80
        fail=$((fail + 1))
        note="sanitizer reports: $reports"
        # whose: QEMU's or the test program's (log_exe_name)
        [ -z "$san" ] || note+=" ($(grep -lE "$SANITIZER_RE" "$san"/* 2>/dev/null |
            sed 's|.*/sanitizer\.||; s|\.[0-9]*$||' | sort | uniq -c |
            awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }'))"
    fi
    if [ "$T_MISSING" -gt 0 ]; then
        fail=$((fail + 1))
        note="${note:+$note; }$T_MISSING test points missing from the plan"
    fi
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        tail -n 20 "$logf"
        fail=1
        note="${note:+$note; }exited with status $rc"
    fi
    [ "$T_CIFAIL" -eq 0 ] || note="${note:+$note; }$T_CIFAIL skipped without tgtd (CI)"
    [ "$fail" -eq 0 ] || echo "   full log: $logf"
    record "$cat" "$suite" "$T_PASS" "$fail" "$T_SKIP" "$note"
}

# The device's qtests: those whose source exists in this checkout.
device_qtests() {
    local f
    for f in "$TOP"/tests/qtest/iscsi-hba-test.c "$TOP"/tests/qtest/iscsi-hba-*-test.c; do
        [ -f "$f" ] && basename "$f" .c
    done | awk '!seen[$0]++'
}

run_device_qtests() {
    local flavor=$1 build=$2 bin=$3 name suite
    for name in $(device_qtests); do
        suite="qtest $name"
        [ "$flavor" = normal ] || suite="qtest-asan $name"
        if [ ! -x "$build/tests/qtest/$name" ]; then
            echo "$suite: not built (no registration patch in patches/qemu?)"
            record project "$suite" 0 1 0 "not built"
            continue
        fi
        run_qtest project "$suite" "$build" "$bin" "$name"
    done
}

# Does the sanitizer build see what it is for?  (1) QEMU loads the
# instrumented libiscsi; (2) a use-after-free whose access happens inside
# that libiscsi (as a Data-Out sent from a freed task would) is reported.
asan_self_check() {
    local libiscsi pass=0 fail=0 dir=$CACHE/asan-self-check note=''
    libiscsi=$(ldd "$QEMU_BIN" | awk '/libiscsi/ { print $3 }')
    if [ -z "$LIBISCSI_ASAN_DIR" ]; then
        # No source to build it from (see build-qemu.sh): the lifetime
        # tests run under valgrind instead (run_valgrind_lifetime).
        echo "ok 1 # SKIP no instrumented libiscsi: Debian's source package is not available"
        record project "qtest-asan self-check" 0 0 1 "libiscsi not instrumented; valgrind covers it"
        return
    fi
    if [ "${libiscsi#"$LIBISCSI_ASAN_DIR"}" != "$libiscsi" ]; then
        echo "ok 1 QEMU loads the AddressSanitizer libiscsi $libiscsi"
        pass=$((pass + 1))
    else
        echo "not ok 1 QEMU loads $libiscsi, not an instrumented libiscsi"
        fail=$((fail + 1))
        note="libiscsi not instrumented: its use-after-frees are invisible"
    fi
    mkdir -p "$dir"
    cat > "$dir/uaf.c" <<'EOF'
#include <stdio.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
int main(void)
{
    struct scsi_task *t = scsi_cdb_testunitready();

    scsi_free_scsi_task(t);
    printf("%p\n", scsi_get_task_private_ptr(t));  /* reads t in libiscsi */
    return 0;
}
EOF
    if clang-16 -fsanitize=address -g "$dir/uaf.c" -o "$dir/uaf" -liscsi \
            ${LIBISCSI_ASAN_DIR:+"-Wl,-rpath,$LIBISCSI_ASAN_DIR"} > "$dir/log" 2>&1 &&
       ! "$dir/uaf" >> "$dir/log" 2>&1 &&
       grep -q 'heap-use-after-free.*' "$dir/log" && grep -q 'in scsi_get_task_private_ptr' "$dir/log"; then
        echo "ok 2 a use-after-free inside libiscsi is reported"
        pass=$((pass + 1))
    else
        echo "not ok 2 a use-after-free inside libiscsi is not reported (log $dir/log)"
        fail=$((fail + 1))
    fi
    record project "qtest-asan self-check" "$pass" "$fail" 0 "$note"
}

# The sanitizer qtests: ASan and UBSan halt at the first report; leaks are
# checked when QEMU exits (the qtests were leak-free when this was added).
run_asan_qtests() {
    # shellcheck source=/dev/null
    . "$CACHE/env-asan"
    asan_self_check
    ASAN_OPTIONS=detect_leaks=1:print_summary=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    SANITIZER_LOGS=$LOGS/sanitizer \
        run_device_qtests asan "$QEMU_BUILD_DIR" "$QEMU_BIN"
}

# The lifetime tests (a WRITE's Data-Out after LOGOUT, timeout, ABORT
# TASK) with QEMU under valgrind: a use-after-free inside libiscsi shows
# here even when libiscsi itself is not instrumented.
run_valgrind_lifetime() {
    local dir=$LOGS/valgrind wrapper
    rm -rf "$dir" && mkdir -p "$dir"
    # libqtest wants a binary name ending in -system-<arch>.
    wrapper=$dir/valgrind-system-x86_64
    printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --log-file="%s/qemu.%%p.log" "%s" "$@"\n' \
        "$dir" "$QEMU_BIN" > "$wrapper"
    chmod +x "$wrapper"
    run_qtest project "valgrind lifetime" "$QEMU_BUILD_DIR" "$wrapper" \
        iscsi-hba-badtarget-test /x86_64/iscsi-hba/badtarget/f3
    if grep -qs . "$dir"/qemu.*.log; then
        head -n 60 "$dir"/qemu.*.log
        FAILED=$((FAILED + 1))
        FAILURES+=("valgrind lifetime")
    fi
}

run_fuzz_check() {
    local logf=$LOGS/fuzz.log rc
    run_streamed "$logf" '^(not )?ok |^fuzz: |^#[0-9]+[[:space:]]+(INITED|DONE)|^Done |ERROR|runtime error:' \
        bash "$TOP/scripts/fuzz.sh" --check --no-build
    rc=$?
    tap_count "$logf"
    if [ "$rc" -ne 0 ] && [ "$T_FAIL" -eq 0 ]; then
        tail -n 30 "$logf"
        T_FAIL=1
    fi
    record project fuzz "$T_PASS" "$T_FAIL" "$T_SKIP" "scripts/fuzz.sh --check"
}

# A guest suite (tests/guest): one Linux boot per test under TCG.  Count
# the guest checks (GUEST-TEST lines) and the runner's verdict per test.
run_guest() {
    local cat=$1 runner=$2 logf=$LOGS/guest-${2%.sh}.log rc pass fail skip
    run_streamed "$logf" 'GUEST-TEST: [^ ]+ FAIL|=== .*: (PASS|FAIL)| (PASS|FAIL) +[0-9.]+s|^hba-tests: total' \
        timeout 2400 bash "$TOP/tests/guest/$runner"
    rc=$?
    pass=$(grep -cE 'GUEST-TEST: [^ ]+ PASS( |$)' "$logf")
    fail=$(grep -cE 'GUEST-TEST: [^ ]+ FAIL( |$)' "$logf")
    skip=$(grep -cE 'GUEST-TEST: [^ ]+ SKIP( |$)' "$logf")
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        tail -n 30 "$logf"
        echo "$runner exited with status $rc"
        fail=1
    fi
    record "$cat" "guest $runner" "$pass" "$fail" "$skip"
}

# The Windows miniport: the .sys build counts as one test, then the
# harness (built with the unit build) drives the real device.
run_windows() {
    local logf=$LOGS/windows.log bin=$CACHE/unit-build/test-windows-miniport
    local pass=0 fail=0 rc
    if bash "$TOP/scripts/build-windows-driver.sh" > "$LOGS/windows-build.log" 2>&1; then
        pass=1
        tail -n 1 "$LOGS/windows-build.log"
    else
        tail -n 30 "$LOGS/windows-build.log"
        fail=1
    fi
    run_streamed "$logf" '^(not )?ok |^Bail out!' \
        env QEMU_BIN="$QEMU_BIN" timeout 600 "$bin"
    rc=$?
    tap_count "$logf"
    fail=$((fail + T_FAIL + T_CIFAIL + T_MISSING))
    [ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
    record project "windows miniport" $((pass + T_PASS)) "$fail" "$T_SKIP" \
        "iscsihba.sys build + tests/windows harness"
}

run_checkpatch() {
    local f pass=0 fail=0 out=$LOGS/checkpatch.log
    local -a files
    mapfile -t files < <(cd "$TOP" && git ls-files --cached --others \
        --exclude-standard -- 'hw/*.[ch]' 'include/*.h' 'tests/qtest/*.[ch]' \
        'tools/*.c' 'tests/unit/*.c' 'tests/windows/*.[ch]')
    : > "$out"
    for f in "${files[@]}"; do
        # Relative paths: checkpatch applies test-file rules by path.
        if (cd "$TOP" && perl "$QEMU_SRC_DIR/scripts/checkpatch.pl" \
                --no-tree -q -f "$f") > "$out.one" 2>&1; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "checkpatch: $f"
            grep -E '^(ERROR|WARNING)' -A3 "$out.one"
        fi
        cat "$out.one" >> "$out"
    done
    rm -f "$out.one"
    record style "checkpatch (C files)" "$pass" "$fail" 0
}

# The UEFI driver's option ROM, the device's default romfile: built after
# QEMU (it is linked into the build's data directory) and before any test
# creates the device.
build_uefi_driver() {
    local logf=$LOGS/build-uefi-driver.log start=$SECONDS
    echo "== build (uefi driver): scripts/build-uefi-driver.sh (log $logf)"
    if bash "$TOP/scripts/build-uefi-driver.sh" > "$logf" 2>&1; then
        echo "== build (uefi driver): $((SECONDS - start))s"
        LAST_T=$SECONDS
    else
        tail -n 30 "$logf"
        record project "build uefi-driver" 0 1 0 "log $logf"
    fi
}

# The project as an upstream patch series (scripts/export-series.sh):
# git am, checkpatch per patch, a device-only build; TAP points counted.
run_series_check() {
    local logf=$LOGS/series.log rc
    run_streamed "$logf" '^(not )?ok |^# |export-series:' \
        bash "$TOP/scripts/export-series.sh" --check --release 10.2
    rc=$?
    tap_count "$logf"
    if [ "$rc" -ne 0 ] && [ "$T_FAIL" -eq 0 ]; then
        tail -n 30 "$logf"
        T_FAIL=1
    fi
    record project "series (QEMU 10.2)" "$T_PASS" "$T_FAIL" "$T_SKIP" "scripts/export-series.sh --check"
}

# ---- main ----

build() {
    local flavor=$1 logf=$LOGS/build-$1.log start=$SECONDS rc
    echo "== build ($flavor): scripts/build-qemu.sh${2:+ $2} (log $logf)"
    # (It may wait for others; it holds no lock of this run.)
    run_streamed "$logf" '^build-qemu|FAILED|error:' \
        env -u ISCSI_HBA_TESTS_RUNNING bash "$TOP/scripts/build-qemu.sh" ${2:+"$2"}
    rc=$?
    echo "== build ($flavor): $((SECONDS - start))s, status $rc"
    LAST_T=$SECONDS
    if [ "$rc" -ne 0 ]; then
        tail -n 40 "$logf"
        record project "build $flavor" 0 1 0 "log $logf"
    fi
    return "$rc"
}

# The sanitizer build runs in the background, at a lower priority than the
# tests, while the normal flavor's suites run: on a cold cache it takes
# about 20 minutes of two cores, and the tests leave much of the CPU idle
# (waiting on tgtd, timeouts, a one-vCPU guest), so the run gets shorter
# by most of the time they take.  Its output goes to its log only.
start_asan_build() {
    ASAN_LOG=$LOGS/build-asan.log
    ASAN_T0=$SECONDS
    echo "== build (asan): scripts/build-qemu.sh --asan, in the background (log $ASAN_LOG)"
    # its own process group, so that an interrupted run stops all of it
    env -u ISCSI_HBA_TESTS_RUNNING nice -n 10 \
        setsid bash "$TOP/scripts/build-qemu.sh" --asan > "$ASAN_LOG" 2>&1 &
    ASAN_PID=$!
    trap stop_asan_build EXIT
}

stop_asan_build() {
    [ -z "${ASAN_PID:-}" ] || kill -- "-$ASAN_PID" 2>/dev/null || true
}

finish_asan_build() {
    local start=$SECONDS rc=0
    echo "== build (asan): waiting for it"
    wait "$ASAN_PID" || rc=$?
    ASAN_PID=
    # its own time: the "done in" line build-qemu.sh ends with
    echo "== build (asan): $(grep -o 'done in [0-9]*s' "$ASAN_LOG" | tail -n 1 ||
                            echo "ended after $((SECONDS - ASAN_T0))s"),"\
         "$((SECONDS - start))s waited for, status $rc"
    LAST_T=$SECONDS
    if [ "$rc" -ne 0 ]; then
        tail -n 40 "$ASAN_LOG"
        record project "build asan" 0 1 0 "log $ASAN_LOG"
    fi
    return "$rc"
}

# Keep other users of this cache (scripts/build-qemu.sh) from relinking
# the binaries while the tests use them: a shared hold on the flavor's
# build lock until the end (a build elsewhere waits, and says so).
hold_build() {
    local fd lock=$CACHE/.lock
    [ "$1" = normal ] || lock=$CACHE/.lock-$1
    exec {fd}>"$lock"
    flock -s "$fd"
    # A build started from inside a test (guest harness) must not wait for us.
    export ISCSI_HBA_TESTS_RUNNING=1
}

# One block per category, each with its subtotal.
summary() {
    local cat title line p f s tp tf ts shown
    echo
    echo "== summary"
    for cat in project stock image style; do
        case $cat in
            project) title="the project's tests (the last line counts these)" ;;
            stock) title="QEMU's stock tests (a failure counts as failed)" ;;
            image) title="guest image self-checks and virtio control (a failure counts as failed)" ;;
            style) title="style checks (a failure counts as failed)" ;;
        esac
        tp=0 tf=0 ts=0 shown=0
        for line in "${SUMMARY[@]}"; do
            [ "${line%%|*}" = "$cat" ] || continue
            [ "$shown" = 1 ] || echo "$title:"
            shown=1
            IFS='|' read -r _ p f s _ <<< "$line"
            tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
            echo "  ${line#*|*|*|*|}"
        done
        [ "$shown" = 0 ] ||
            printf '  %-40s %4d passed %3d failed %3d skipped\n' "subtotal" "$tp" "$tf" "$ts"
    done
    [ "${#FAILURES[@]}" -eq 0 ] || echo "failed suites: ${FAILURES[*]}"
    echo "logs: $LOGS ($((SECONDS / 60)) min $((SECONDS % 60)) s)"
}

main() {
    rm -rf "$CACHE/test-logs/prev"
    [ ! -d "$LOGS" ] || mv "$LOGS" "$CACHE/test-logs/prev"
    mkdir -p "$LOGS"

    if build normal; then
        hold_build normal
        # shellcheck source=/dev/null
        . "$CACHE/env"
        # the ROM first: the sanitizer build links it into its data
        # directory (the device's default romfile) before compiling
        build_uefi_driver
        start_asan_build
        run_unit
        run_windows
        run_device_qtests normal "$QEMU_BUILD_DIR" "$QEMU_BIN"
        run_qtest stock "qtest qmp-cmd-test" "$QEMU_BUILD_DIR" "$QEMU_BIN" qmp-cmd-test
        run_valgrind_lifetime
        run_guest image run-all.sh
        run_guest project run-hba.sh
        run_guest project run-boot.sh
        run_guest project run-uefi.sh
        run_checkpatch
        if finish_asan_build; then
            hold_build asan
            run_asan_qtests
            run_fuzz_check
        fi
        # shellcheck source=/dev/null
        . "$CACHE/env"
        # after the sanitizer build: both unpack QEMU 10.2's source
        run_series_check
    else
        run_unit
    fi
    summary
    echo "tests: $PASSED passed, $FAILED failed, $SKIPPED skipped"
    [ "${#FAILURES[@]}" -eq 0 ] && [ "$FAILED" -eq 0 ]
}

main "$@"
