#!/usr/bin/env bash
# Side-by-side benchmark (numbers, not pass/fail): the same Linux guest and
# the same tgtd LUN reached two ways,
#
#   a  iscsi-hba: -device iscsi-hba + a host-configured iscsi-hba-target,
#      the guest's iscsi_hba driver (guest/linux)
#   a0 the same with the driver's doorbell_batch=0 (a doorbell write per
#      command and per completion pass: what batching saves), on request
#   b  virtio-scsi-pci + scsi-hd on QEMU's own libiscsi block driver,
#      -drive file=iscsi://127.0.0.1:<port>/<iqn>/1,...,cache=none
#
# plus the host's ceiling: libiscsi's iscsi-perf against the same LUN.
#
#   scripts/bench.sh [--runs N] [--seconds S] [--sides LIST]
#   scripts/bench.sh --report DIR      print a saved run's table again
#
#   --runs N      rounds (default 3); each round: host ceiling, boot a,
#                 boot b, so a and b alternate a,b,a,b,...
#   --seconds S   seconds per fio job after a 1 s ramp (default 5)
#   --sides LIST  which sides, booted in this order each round (default
#                 a,b; e.g. a0,a,b)
#
# Jobs in each guest boot (tests/guest/scripts/bench-fio.sh; fio, libaio,
# O_DIRECT, time based): 4 KiB random read at QD1 and QD32 (also in
# batches: 16 I/Os per io_submit), 128 KiB sequential read and write at QD8.  Printed: the median per job and side
# with the range over the runs, the ratio a/b of the medians, and the
# ceiling; then the work per I/O each side's guest counted around each job
# (tests/guest/scripts/bench-fio.sh): doorbell writes (MMIO) and
# interrupts per I/O the block layer completed.  Raw fio JSON, guest console logs and iscsi-perf output are kept
# in $ISCSI_HBA_CACHE/bench/<timestamp>/ (results.json: the parsed numbers).
#
# If side a cannot run (driver does not build, load or show the disk) the
# table shows "n/a" and the reason; side b is measured anyway.
#
# Under TCG the guest's vCPU is the bottleneck and the machine is noisy:
# compare only numbers from the same run.  Environment: LUN_MB (128),
# GUEST_MEM (512), GUEST_SMP (1), ISCSI_HBA_CACHE.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
RUN_GUEST=$TOP/tests/guest/run.sh

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }
# set -e alone exits silently; say where
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

RUNS=3
SECONDS_PER_JOB=5
REPORT_ONLY=
A_NA=
JOBS=(randread-4k-qd1 randread-4k-qd32 randread-4k-qd32-b16 read-128k-qd8 write-128k-qd8)
SIDES=(a b)

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --runs) RUNS=$2; shift ;;
            --seconds) SECONDS_PER_JOB=$2; shift ;;
            --report) REPORT_ONLY=$2; shift ;;
            --sides) IFS=, read -r -a SIDES <<< "$2"; shift ;;
            -h|--help) sed -n '2,/^set -/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
            *) die "unknown argument '$1' (try --help)" ;;
        esac
        shift
    done
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
    [[ $SECONDS_PER_JOB =~ ^[1-9][0-9]*$ ]] || die "--seconds wants a positive number"
    local side
    [ "${#SIDES[@]}" -gt 0 ] || die "--sides wants a list of a, a0, b"
    for side in "${SIDES[@]}"; do
        case $side in a|a0|b) ;; *) die "--sides: unknown side '$side' (a, a0, b)" ;; esac
    done
}

# QEMU, the guest image and the driver.  A driver that does not build
# only takes side a out.
build() {
    log "building what is missing (QEMU, guest image, driver)"
    bash "$TOP/scripts/build-qemu.sh" qemu-system-x86_64 > "$OUT/build.log" 2>&1 ||
        { tail -n 20 "$OUT/build.log" >&2; die "scripts/build-qemu.sh failed"; }
    bash "$TOP/scripts/guest-image.sh" > /dev/null 2>> "$OUT/build.log" ||
        die "scripts/guest-image.sh failed (see $OUT/build.log)"
    A_NA=
    local drv
    if drv=$(bash "$TOP/scripts/build-guest-driver.sh" 2>> "$OUT/build.log"); then
        eval "$drv"
        GUEST_FILES=(-k "$KO" -k "$CTL")
    else
        A_NA="the driver does not build (see $OUT/build.log)"
        GUEST_FILES=()
    fi
}

# The LUN is filled once so that every run reads allocated pages: reads of
# a sparse file's holes are cheaper and would favour whoever runs first.
start_target() {
    # shellcheck source=tests/guest/tgtd.sh
    . "$TOP/tests/guest/tgtd.sh"
    tgtd_start "${LUN_MB:-128}" 1 2>> "$OUT/tgtd.log" || { cat "$OUT/tgtd.log" >&2; exit 1; }
    dd if=/dev/zero of="$TGTD_DIR/lun1.img" bs=1M count="${LUN_MB:-128}" conv=notrunc status=none
    LUN_URL=iscsi://$TGTD_PORTAL/$TGTD_IQN/1
    # tgtd.sh's traps stop tgtd; ours also end a boot in progress
    trap 'cleanup' EXIT
    trap 'cleanup; exit 130' INT TERM
    log "target $TGTD_IQN on $TGTD_PORTAL, ${LUN_MB:-128} MiB LUN in $TGTD_DIR"
}

# iscsi-perf: one libiscsi client, no guest; reads only.  Its progress
# lines end in \r; the last line is "iops average <n> (<m> MB/s)".
host_ceiling() {
    local run=$1 name blocks depth random out
    for spec in "randread-4k-qd1 8 1 -r" "randread-4k-qd32 8 32 -r" "read-128k-qd8 256 8 "; do
        read -r name blocks depth random <<< "$spec"
        out=$OUT/raw/run$run-host-$name.txt
        # shellcheck disable=SC2086 # $random is an option or nothing
        timeout $((SECONDS_PER_JOB + 30)) iscsi-perf -m "$depth" -b "$blocks" -t "$SECONDS_PER_JOB" \
            $random "$LUN_URL" > "$out" 2>&1 || echo "iscsi-perf failed: rc=$?" >> "$out"
    done
}

# One guest boot for one side, all jobs; the console log is the result.
boot_side() {
    local run=$1 side=$2
    local logf=$OUT/raw/run$run-$side.log
    # shellcheck disable=SC2054 # the commas belong to QEMU options
    local args=(-t $((120 + 6 * (SECONDS_PER_JOB + 1))) -o "$logf"
                -a "guest.runtime=$SECONDS_PER_JOB" -a "guest.jobs=$(IFS=,; echo "${JOBS[*]}")"
                # warnings only on the console: kernel lines must not cut our JSON lines
                -a loglevel=4)
    [ "$side" != a0 ] || args+=(-a guest.hba_args=doorbell_batch=0)
    # shellcheck disable=SC2054
    if [ "$side" != b ]; then
        args+=(${GUEST_FILES[@]+"${GUEST_FILES[@]}"} -a guest.side=hba bench-fio
               -device iscsi-hba,id=hba0,guest-portals=host-targets
               -object "iscsi-hba-target,id=t0,hba=hba0,portal=$TGTD_PORTAL,target=$TGTD_IQN")
    else
        args+=(${GUEST_FILES[@]+"${GUEST_FILES[@]}"} -a guest.side=virtio bench-fio
               -device virtio-scsi-pci,id=vscsi
               -drive "file=$LUN_URL,if=none,id=d0,format=raw,cache=none"
               -device scsi-hd,drive=d0,bus=vscsi.0)
    fi
    # Its own session, waited for in the background: Ctrl-C then runs our
    # trap at once, which ends the whole boot (tests/guest/run.sh puts QEMU
    # under timeout, in a process group of its own that Ctrl-C misses).
    setsid "$RUN_GUEST" "${args[@]}" > "$OUT/raw/run$run-$side.out" 2>&1 &
    BOOT_SID=$!
    wait "$BOOT_SID" || true
    BOOT_SID=
}

cleanup() {
    if [ -n "${BOOT_SID:-}" ]; then
        pkill -TERM -s "$BOOT_SID" 2>/dev/null || true
        sleep 1
    fi
    tgtd_stop
}

# Why a side-a boot gave no numbers, or nothing if it did.
boot_failure() {
    local logf=$1
    if grep -a -q 'BENCH-JSON' "$logf"; then
        return 0
    elif grep -a -q 'BENCH-NA' "$logf"; then
        grep -a -o 'BENCH-NA .*' "$logf" | head -n 1 | cut -d' ' -f2- | tr -d '\r'
    elif grep -a -q 'GUEST-DONE' "$logf"; then
        echo "no results (see $logf)"
    else
        echo "the guest did not finish: timeout or crash (see $logf)"
    fi
}

side_name() {
    case $1 in
        a) echo iscsi-hba ;;
        a0) echo "iscsi-hba, doorbell_batch=0" ;;
        b) echo virtio-scsi+libiscsi ;;
    esac
}

measure() {
    local run side why a_failures=0 t0
    for run in $(seq "$RUNS"); do
        t0=$SECONDS
        log "round $run/$RUNS: host ceiling (iscsi-perf)"
        host_ceiling "$run"
        for side in "${SIDES[@]}"; do
            if [ "$side" != b ] && [ -n "$A_NA" ]; then
                continue
            fi
            log "round $run/$RUNS: side $side ($(side_name "$side"))"
            boot_side "$run" "$side"
            why=$(boot_failure "$OUT/raw/run$run-$side.log")
            [ -z "$why" ] || log "  side $side gave no numbers: $why"
            # A side-a failure twice in a row (or a missing driver) is not
            # noise: stop booting it and say why in the table.
            if [ "$side" != b ]; then
                if [ -n "$why" ]; then
                    a_failures=$((a_failures + 1))
                    [ "$a_failures" -lt 2 ] || A_NA=$why
                    case $why in modprobe*|*"bound to no device"*) A_NA=$why ;; esac
                else
                    a_failures=0
                fi
            fi
        done
        log "round $run/$RUNS done in $((SECONDS - t0)) s"
    done
}

# Parse the raw results into results.json and print the table.
report() {
    A_NA=$A_NA SIDES="${SIDES[*]}" /usr/bin/python3 - "$OUT" "$RUNS" "$SECONDS_PER_JOB" "${JOBS[@]}" <<'PY'
import json, os, re, statistics, sys

out, runs, seconds, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
raw = os.path.join(out, "raw")
names = {"a": "iscsi-hba", "a0": "iscsi-hba doorbell_batch=0", "b": "virtio-scsi+libiscsi"}
sides = {s: names[s] for s in os.environ.get("SIDES", "a b").split()}

def metrics(job, res):
    """The numbers one fio job gave: IOPS for 4k, MiB/s for 128k, QD1 latency."""
    j = res["jobs"][0]
    d = j["write"] if job.startswith("write") else j["read"]
    m = {"iops": d["iops"], "mib_s": d["bw"] / 1024.0,
         "lat_us": d["lat_ns"]["mean"] / 1000.0}
    p = d.get("clat_ns", {}).get("percentile", {})
    if "99.000000" in p:
        m["clat_p99_us"] = p["99.000000"] / 1000.0
    return m

samples = {s: {j: [] for j in jobs} for s in sides}
work = {s: {j: [] for j in jobs} for s in sides}      # per-I/O counts, one per run
by_run = {s: {j: [None] * runs for j in jobs} for s in sides}   # for paired ratios
notes = []
for run in range(1, runs + 1):
    for side in sides:
        path = os.path.join(raw, "run%d-%s.log" % (run, side))
        if not os.path.exists(path):
            continue
        text = open(path, "rb").read().decode(errors="replace").replace("\r", "")
        for job, body in re.findall(r"BENCH-JSON (\S+) (\{.*\})", text):
            try:
                res = json.loads(body)
            except ValueError:
                notes.append("run %d %s %s: output cut (kernel message?)" % (run, side, job))
                continue
            with open(os.path.join(raw, "run%d-%s-%s.json" % (run, side, job)), "w") as f:
                json.dump(res, f, indent=1)
            if job in samples[side]:
                samples[side][job].append(metrics(job, res))
                by_run[side][job][run - 1] = samples[side][job][-1]
        for job, before, after in re.findall(r"BENCH-WORK (\S+) (\S+) (\S+)", text):
            b, a = before.split(","), after.split(",")
            ios = int(a[3]) - int(b[3])
            if job in work[side] and ios > 0:
                work[side][job].append([None if x == "-" else (int(y) - int(x)) / ios
                                        for x, y in zip(b[:3], a[:3])])
        for job, why in re.findall(r"BENCH-ERR (\S+) (.*)", text):
            notes.append("run %d %s %s: fio failed: %s" % (run, side, job, why.strip()))

# iscsi-perf: "iops average <n> (<m> MB/s)" is the last line (MB = MiB)
ceiling = {}
for job, kib in (("randread-4k-qd1", 4), ("randread-4k-qd32", 4), ("read-128k-qd8", 128)):
    vals = []
    for run in range(1, runs + 1):
        path = os.path.join(raw, "run%d-host-%s.txt" % (run, job))
        if os.path.exists(path):
            m = re.findall(r"iops average (\d+)", open(path, "rb").read().decode(errors="replace"))
            if m:
                vals.append(int(m[-1]))
    if vals:
        ceiling[job] = {"iops": vals, "mib_s": [v * kib / 1024.0 for v in vals]}

def unit(job):
    return ("iops", "IOPS") if "4k" in job else ("mib_s", "MiB/s")

def med(xs):
    return statistics.median(xs) if xs else None

def fmt(x):
    return "n/a" if x is None else ("%.0f" % x if x >= 100 else "%.1f" % x)

a_na = os.environ.get("A_NA", "")
rows, results = [], {"runs": runs, "seconds": seconds, "jobs": {}}
for job in jobs:
    key, label = unit(job)
    r = {"unit": label}
    line = [job, label]
    c = ceiling.get(job)
    r["host"] = c[key] if c else None
    line.append("%s [%s-%s]" % (fmt(med(c[key])), fmt(min(c[key])), fmt(max(c[key]))) if c else "-")
    meds = {}
    for side in sides:
        vals = [m[key] for m in samples[side][job]]
        r[side] = vals
        meds[side] = med(vals)
        if vals:
            line.append("%s [%s-%s] n=%d" % (fmt(meds[side]), fmt(min(vals)), fmt(max(vals)), len(vals)))
        else:
            line.append("n/a")
    ratio = meds["a"] / meds["b"] if meds.get("a") and meds.get("b") else None
    r["a_over_b"] = ratio
    line.append("%.2f" % ratio if ratio else "n/a")
    # a and b of the same round ran back to back: their ratio is less
    # disturbed by the machine's load drifting over the whole run
    pairs = [ma[key] / mb[key]
             for ma, mb in zip(by_run.get("a", {}).get(job, []), by_run.get("b", {}).get(job, []))
             if ma and mb and mb[key]]
    r["a_over_b_paired"] = pairs
    line.append("%.2f [%.2f-%.2f]" % (med(pairs), min(pairs), max(pairs)) if pairs else "n/a")
    rows.append(line)
    if job.endswith("qd1"):
        lat = ["  mean latency", "us", "-"]
        for side in sides:
            vals = [m["lat_us"] for m in samples[side][job]]
            r[side + "_lat_us"] = vals
            lat.append(fmt(med(vals)) if vals else "n/a")
        la, lb = med(r.get("a_lat_us", [])), med(r.get("b_lat_us", []))
        lat.append("%.2f" % (la / lb) if la and lb else "n/a")
        lat.append("")
        rows.append(lat)
    results["jobs"][job] = r
# Work per I/O: median over the runs of each count / I/Os done
work_rows = []
for job in jobs:
    line = [job]
    for side in sides:
        runs_w = work[side][job]
        cells = []
        for i in range(3):
            vals = [w[i] for w in runs_w if w[i] is not None]
            cells.append("%.3f" % med(vals) if vals else "-")
        line.append(" / ".join(cells) if runs_w else "n/a")
        results["jobs"][job][side + "_work_per_io"] = runs_w
    work_rows.append(line)
results["a_not_available"] = a_na or None
results["notes"] = notes
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=1)

head = ["job", "unit", "host ceiling"] + ["%s: %s" % kv for kv in sides.items()] + [
    "a/b", "a/b per round"]
widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
print()
print("Medians over %d run(s) of %d s per job, [min-max] n=samples.  a/b: ratio of the medians;\n"
      "a/b per round: median [min-max] of the ratios of a and b booted back to back.\n"
      "Host ceiling: iscsi-perf, one libiscsi client on the host, no guest (it cannot write)."
      % (runs, seconds))
for line in [head] + rows:
    print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip())
whead = ["job"] + ["%s: %s" % kv for kv in sides.items()]
widths = [max(len(str(x[i])) for x in work_rows + [whead]) for i in range(len(whead))]
print()
print("Work per I/O, medians over the runs: SQ doorbell writes / CQ doorbell writes /\n"
      "interrupts, each divided by the I/Os the guest's block layer completed in the job\n"
      "(ramp included).  virtio's notifications are not counted in the guest (-).")
for line in [whead] + work_rows:
    print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip())
if a_na:
    print("\na (iscsi-hba) not available: %s" % a_na)
for n in notes:
    print("note: %s" % n)
print("\nraw results: %s" % out)
PY
}

main() {
    parse_args "$@"
    if [ -n "$REPORT_ONLY" ]; then
        OUT=$REPORT_ONLY
        # shellcheck source=/dev/null
        . "$OUT/params"
        report
        return
    fi
    OUT=$CACHE/bench/$(date +%Y%m%d-%H%M%S)
    mkdir -p "$OUT/raw"
    build
    start_target
    local t0=$SECONDS
    measure
    log "measured in $((SECONDS - t0)) s"
    printf 'RUNS=%q\nSECONDS_PER_JOB=%q\nA_NA=%q\nSIDES=(%s)\n' "$RUNS" "$SECONDS_PER_JOB" "$A_NA" \
        "${SIDES[*]}" > "$OUT/params"
    report | tee "$OUT/table.txt"
}

main "$@"
