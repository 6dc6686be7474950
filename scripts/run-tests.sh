#!/usr/bin/env bash
# Run every iscsi-hba test: installs and builds what it needs first.
#
#   unit      project meson tests: ABI header, ISDSC table, isdsc tool,
#             iSCSI name rules (no QEMU needed)
#   qtest     device tests against the built qemu-system-x86_64
#   guest     a Linux guest with the iscsi_hba driver against a real tgtd
#   style     QEMU's scripts/checkpatch.pl on the project's C files
#
# Ends with a line "tests: N passed, N failed"; exits non-zero on failure.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
PASSED=0
FAILED=0
FAILURES=()

count() {
    local suite=$1 pass=$2 fail=$3
    PASSED=$((PASSED + pass))
    FAILED=$((FAILED + fail))
    echo "== $suite: $pass passed, $fail failed"
    if [ "$fail" -gt 0 ] || [ "$pass" -eq 0 ]; then
        FAILURES+=("$suite")
    fi
}

run_unit() {
    local dir=$CACHE/unit-build log
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$TOP" >/dev/null || { count unit 0 1; return; }
    fi
    log=$(meson test -C "$dir" --print-errorlogs 2>&1)
    echo "$log" | grep -E '^ *[0-9]+/[0-9]+ ' || true
    count unit "$(echo "$log" | sed -n 's/^Ok: *\([0-9]*\).*/\1/p')" \
        "$(( $(echo "$log" | sed -n 's/^Fail: *\([0-9]*\).*/\1/p') + \
             $(echo "$log" | sed -n 's/^Timeout: *\([0-9]*\).*/\1/p') ))"
}

# Each qtest binary prints TAP; count its test points.  A binary that
# bails out (an assertion aborts the process) or exits non-zero fails,
# however many points passed before.
run_qtest() {
    local name=$1 out rc pass fail
    out=$(QTEST_QEMU_BINARY=$QEMU_BIN \
          timeout 900 "$QEMU_BUILD_DIR/tests/qtest/$name" --tap -k 2>&1)
    rc=$?
    echo "$out" | grep -E '^(not )?ok |^Bail out!'
    pass=$(echo "$out" | grep -c '^ok ')
    fail=$(echo "$out" | grep -c '^not ok ')
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        echo "$out" | tail -n 20
        echo "$name exited with status $rc"
        fail=1
    fi
    count "qtest $name" "$pass" "$fail"
}

# A guest suite (tests/guest): one Linux boot per test under TCG.  Count
# the guest checks (GUEST-TEST lines) and the runner's verdict per test.
run_guest() {
    local runner=$1 out rc pass fail
    out=$(timeout 2400 bash "$TOP/tests/guest/$runner" 2>&1)
    rc=$?
    echo "$out" | grep -E 'GUEST-TEST: .* FAIL|=== .*: (PASS|FAIL)| (PASS|FAIL) +[0-9.]+s|^hba-tests: total|FAILED' || true
    pass=$(echo "$out" | grep -cE 'GUEST-TEST: .* PASS')
    fail=$(echo "$out" | grep -cE 'GUEST-TEST: .* FAIL')
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        echo "$out" | tail -n 30
        echo "$runner exited with status $rc"
        fail=1
    fi
    count "guest $runner" "$pass" "$fail"
}

run_checkpatch() {
    local f pass=0 fail=0
    local -a files
    mapfile -t files < <(cd "$TOP" && git ls-files --cached --others \
        --exclude-standard -- 'hw/*.[ch]' 'include/*.h' 'tests/qtest/*.[ch]' \
        'tools/*.c' 'tests/unit/*.c')
    for f in "${files[@]}"; do
        # Relative paths: checkpatch applies test-file rules by path.
        if (cd "$TOP" && perl "$QEMU_SRC_DIR/scripts/checkpatch.pl" \
                --no-tree -q -f "$f") >/tmp/iscsi-hba-checkpatch.$$ 2>&1; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "checkpatch: $f"
            grep -E '^(ERROR|WARNING)' -A3 /tmp/iscsi-hba-checkpatch.$$
        fi
    done
    rm -f /tmp/iscsi-hba-checkpatch.$$
    count checkpatch "$pass" "$fail"
}

main() {
    bash "$TOP/scripts/build-qemu.sh" || { echo "tests: 0 passed, 1 failed"; exit 1; }
    # shellcheck source=/dev/null
    . "$CACHE/env"
    run_unit
    run_qtest iscsi-hba-test
    run_qtest iscsi-hba-iscsi-test
    run_qtest iscsi-hba-fault-test
    # QEMU's own: every QMP query without arguments (query-iscsi-hba too)
    run_qtest qmp-cmd-test
    run_guest run-all.sh
    run_guest run-hba.sh
    run_checkpatch
    if [ "${#FAILURES[@]}" -gt 0 ]; then
        echo "failed suites: ${FAILURES[*]}"
    fi
    echo "tests: $PASSED passed, $FAILED failed"
    [ "${#FAILURES[@]}" -eq 0 ]
}

main "$@"
