#!/usr/bin/env bash
# Export the project as a patch series in QEMU's upstream form.
#
#   scripts/export-series.sh [--release 10.0|10.2] [--out DIR]
#   scripts/export-series.sh --check [--release R]   # what run-tests.sh does
#
# The series is made in a throwaway git repository holding an unpatched
# copy of Debian's QEMU <release> source (default: the newest supported
# release): one commit per logical change (the table in series_plan), each
# with a commit message and Signed-off-by, then `git format-patch
# --cover-letter` into DIR (default $ISCSI_HBA_CACHE/series/<version>).
#
# The series is what the project's tree becomes in that release: the
# build lists of patches/qemu/ (common and <release>/), the project's
# files, hw/iscsi-hba/qemu-compat.h replaced by what it stands for in that
# release, "Since:" set to the release after it.  Not exported: the
# project's own build config (configs/) and everything outside QEMU's
# layout (guest/, tools/, scripts/, tests/unit, tests/guest, tests/fuzz).
#
# --check then proves the series: `git am` on another unpatched copy,
# scripts/checkpatch.pl on every patch (no error, no warning), and a
# build of the result: configure (device-only, -Werror, gcc) and compile
# every object of the device, its QAPI code and its qtests.  It prints TAP
# and exits non-zero on any failure.
#
# Signed-off-by: SIGNED_OFF_BY, else git's user.name/user.email.
set -euo pipefail
shopt -s inherit_errexit

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
log() { echo "export-series: $*" >&2; }
# shellcheck source=scripts/qemu-release.sh
. "$TOP/scripts/qemu-release.sh"

RELEASE=${SUPPORTED_VERSIONS##* }
OUT=''
CHECK=0
while [ $# -gt 0 ]; do
    case $1 in
        --release) RELEASE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --check) CHECK=1; shift ;;
        *) log "unknown argument '$1'"; exit 2 ;;
    esac
done
check_supported "$RELEASE" "--release $RELEASE"
ENTRY='iSCSI host bus adapter (iscsi-hba)'

# The series: subject | files (globs, in QEMU's layout) | MAINTAINERS F:
# patterns for the files it adds.  Every exported file is in exactly one
# patch; the commit messages follow (series_message).
series_plan() {
    cat <<'EOF'
build|Kconfig.host meson.build hw/Kconfig hw/meson.build hw/iscsi-hba/Kconfig hw/iscsi-hba/meson.build hw/iscsi-hba/trace-events hw/iscsi-hba/trace.h|hw/iscsi-hba/Kconfig hw/iscsi-hba/meson.build hw/iscsi-hba/trace*
abi|include/hw/iscsi-hba/iscsi-hba-abi.h docs/specs/iscsi-hba.rst docs/specs/index.rst|docs/specs/iscsi-hba.rst include/hw/iscsi-hba/
core|hw/iscsi-hba/iscsi-hba.h hw/iscsi-hba/pci.c hw/iscsi-hba/queue.c hw/iscsi-hba/databuf.h hw/iscsi-hba/databuf.c hw/iscsi-hba/admin.c hw/iscsi-hba/io.c hw/iscsi-hba/events.c hw/iscsi-hba/iscsi-name.h hw/iscsi-hba/iscsi-name.c|hw/iscsi-hba/admin.c hw/iscsi-hba/databuf.* hw/iscsi-hba/events.c hw/iscsi-hba/io.c hw/iscsi-hba/iscsi-hba.h hw/iscsi-hba/iscsi-name.* hw/iscsi-hba/pci.c hw/iscsi-hba/queue.c
sessions|hw/iscsi-hba/session.h hw/iscsi-hba/session.c hw/iscsi-hba/scsi.c hw/iscsi-hba/target.c hw/iscsi-hba/login-status.h hw/iscsi-hba/login-status.c hw/iscsi-hba/policy.c hw/iscsi-hba/resolve.c|hw/iscsi-hba/login-status.* hw/iscsi-hba/policy.c hw/iscsi-hba/resolve.c hw/iscsi-hba/scsi.c hw/iscsi-hba/session.* hw/iscsi-hba/target.c
faults|hw/iscsi-hba/fault.h hw/iscsi-hba/fault.c hw/iscsi-hba/fault-logic.h hw/iscsi-hba/fault-logic.c hw/iscsi-hba/fault-parse.c|hw/iscsi-hba/fault*
qapi|qapi/iscsi-hba.json qapi/meson.build qapi/qapi-schema.json qapi/qom.json hw/iscsi-hba/qmp.c hw/iscsi-hba/hmp.c hw/iscsi-hba/stubs.c hmp-commands.hx hmp-commands-info.hx include/monitor/hmp.h|hw/iscsi-hba/hmp.c hw/iscsi-hba/qmp.c hw/iscsi-hba/stubs.c qapi/iscsi-hba.json
qtests|tests/qtest/iscsi-hba*-test.c tests/qtest/libqos/iscsi-hba* tests/qtest/libqos/tgtd-fixture.* tests/qtest/libqos/bad-target.* tests/target/* tests/qtest/meson.build tests/qtest/libqos/meson.build|tests/qtest/iscsi-hba* tests/qtest/libqos/bad-target.* tests/qtest/libqos/iscsi-hba* tests/qtest/libqos/tgtd-fixture.* tests/target/
docs|docs/system/devices/iscsi-hba.rst docs/system/device-emulation.rst|docs/system/devices/iscsi-hba.rst
EOF
}

series_message() {
    case $1 in
        build) cat <<'EOF'
hw/iscsi-hba: add Kconfig and meson build glue

Add the ISCSI_HBA Kconfig symbol (PCI device, needs libiscsi, on by
default with PCI_DEVICES), a host LIBISCSI symbol set when libiscsi is
found, the hw/iscsi-hba subdirectory with its trace events, and a
MAINTAINERS entry.

The device's sources follow in the next patches; the device builds once
the series is complete.
EOF
            ;;
        abi) cat <<'EOF'
docs/specs: iscsi-hba programming interface and its ABI header

The iscsi-hba is a PCI iSCSI host bus adapter: the guest programs
submission/completion queue pairs, logs in to iSCSI targets through
admin commands and sends SCSI commands on the sessions; QEMU carries them
to real targets with libiscsi.  Every completion carries an ISDSC status
(the Windows iSCSI status values, in NTSTATUS format), so drivers see the
statuses a hardware HBA reports.

include/hw/iscsi-hba/iscsi-hba-abi.h is the guest ABI as one standalone
header (registers, queue entries, commands, statuses), usable by guest
drivers and firmware as well as by QEMU; docs/specs/iscsi-hba.rst
specifies the device.

The header is GPL-2.0-or-later OR BSD-2-Clause, not GPL-2.0-or-later
alone, because drivers under other licenses include it (a Windows
miniport, boot firmware); for the same reason it tests __KERNEL__ (the
Linux driver gets its types from the kernel) and __cplusplus (static
layout checks in C++), which checkpatch reports as architecture
specific defines.
EOF
            ;;
        core) cat <<'EOF'
hw/iscsi-hba: PCI function, queues and admin/I/O command sets

The PCI function with its registers, doorbells, MSI-X/INTx interrupts
and reset; submission/completion queue pairs and the request life cycle;
data buffers (scatter/gather lists, chained); the admin and I/O command
sets; asynchronous events; iSCSI name checks.

Guest memory is touched only with pci_dma_*() from bottom halves, never
from MMIO handlers; every guest-controlled value is validated, and a bad
one completes the command with an ISDSC status instead of stopping the
device.
EOF
            ;;
        sessions) cat <<'EOF'
hw/iscsi-hba: iSCSI sessions on libiscsi

Logins (CHAP and mutual CHAP with secrets from -object secret), SCSI
commands and task management on a session, REPORT LUNS, portal name
resolution off the main loop, the policy for which portals a guest may
make the host connect to, and iscsi-hba-target objects: targets
configured on the host that the adapter logs in to when the guest
enables it.  Login and connection failures map to ISDSC values.
EOF
            ;;
        faults) cat <<'EOF'
hw/iscsi-hba: fault injection

Rules that make chosen operations (login, SCSI, admin, task management)
fail with a given ISDSC status, delay, drop or disconnect, matched by
target, session, LUN, opcode or LBA range, once, every n-th time or
always.  They let driver writers exercise error paths that real targets
rarely produce.
EOF
            ;;
        qapi) cat <<'EOF'
qapi, hmp: iscsi-hba queries and fault injection commands

query-iscsi-hba and HMP "info iscsi-hba" show adapters, queues, sessions
and the last ISDSC status; iscsi-hba-fault-add/-del/-clear and
query-iscsi-hba-faults (and the HMP equivalents) manage fault rules; the
ISCSI_HBA_FAULT event reports a rule that fired, rate limited.  The
iscsi-hba-target object type joins qapi/qom.json.  Without the device the
commands exist and fail with a clear error.
EOF
            ;;
        qtests) cat <<'EOF'
tests/qtest: iscsi-hba tests

Register, queue and admin command tests, hostile-guest tests (malformed
queue entries, DMA to unmapped memory, resets in flight), fault injection
tests and regression tests.  Tests that need an iSCSI target run against
a real tgtd on loopback (tests/qtest/libqos/tgtd-fixture.c) and skip when
tgtd cannot be started; tests/target/iscsi-bad-target.py is a
deliberately misbehaving target for the responses tgtd never sends.
EOF
            ;;
        docs) cat <<'EOF'
docs/system: iscsi-hba device

How to use the device: -device iscsi-hba, iscsi-hba-target objects,
CHAP secrets, fault injection from QMP and HMP.
EOF
            ;;
    esac
}

# The release after RELEASE: what "Since:" says in an upstream submission.
next_release() {
    local major=${1%%.*} minor=${1#*.}
    if [ "$minor" -ge 2 ]; then
        echo "$((major + 1)).0"
    else
        echo "$major.$((minor + 1))"
    fi
}

# hw/iscsi-hba/qemu-compat.h, resolved for the tree at $1: upstream code
# names the API of its own release.
resolve_compat() {
    local tree=$1 props='hw/qdev-properties.h' data='void *' f
    [ ! -f "$tree/include/hw/core/qdev-properties.h" ] || props='hw/core/qdev-properties.h'
    grep -q 'void (\*class_init)(ObjectClass \*klass, const void \*data)' \
        "$tree/include/qom/object.h" && data='const void *'
    for f in "$tree"/hw/iscsi-hba/*.[ch]; do
        grep -q '#include "qemu-compat.h"' "$f" || continue
        if grep -qE 'DEFINE_PROP_|device_class_set_props' "$f"; then
            sed -i "s|#include \"qemu-compat.h\"|#include \"$props\"|" "$f"
        else
            sed -i '/#include "qemu-compat.h"/d' "$f"
        fi
        sed -i "s/IscsiHbaClassData /$data/g" "$f"
    done
    rm -f "$tree/hw/iscsi-hba/qemu-compat.h"
    if grep -rq 'qemu-compat\.h\|IscsiHbaClassData' "$tree/hw/iscsi-hba"; then
        log "qemu-compat.h is used in a way resolve_compat does not know"
        exit 1
    fi
}

# The project's files in QEMU's layout, as build-qemu.sh overlays them
# (minus the project's build config), copied into <tree>.
copy_project_files() {
    local tree=$1 f
    (cd "$TOP" && git ls-files --cached --others --exclude-standard -- \
        hw include qapi tests/target tests/qtest docs/specs docs/system) |
    while read -r f; do
        [ -f "$TOP/$f" ] || continue
        mkdir -p "$tree/$(dirname "$f")"
        cp "$TOP/$f" "$tree/$f"
    done
}

# patches/qemu for RELEASE, "Since:" of added QAPI lines set to <since>.
# qemu-fix-*.patch fix QEMU itself for the project's trimmed build (see
# each one); they are not the device's and stay out of the series.
build_list_patches() {
    local since=$1 p
    for p in "$TOP"/patches/qemu/*.patch "$TOP"/patches/qemu/"$RELEASE"/*.patch; do
        case $(basename "$p") in qemu-fix-*) continue ;; esac
        cat "$p"
    done | sed "s/^+# Since: [0-9.]*\$/+# Since: $since/"
}

# The MAINTAINERS entry, after megasas' (another SCSI HBA), with the F:
# patterns given added (each patch lists the files it adds, so that
# checkpatch finds MAINTAINERS updated).
maintainers_add() {
    local tree=$1 p
    local -a patterns
    read -ra patterns <<< "$2"
    if ! grep -q "^$ENTRY\$" "$tree/MAINTAINERS"; then
        rewrite "$tree/MAINTAINERS" awk -v e="$ENTRY" -v who="$SOB" '
            /^megasas$/ { m = 1 }
            m && /^$/ && !done {
                print; print e; print "M: " who
                print "L: qemu-block@nongnu.org"; print "S: Maintained"
                done = 1
            }
            { print }'
    fi
    for p in "${patterns[@]}"; do
        rewrite "$tree/MAINTAINERS" awk -v e="$ENTRY" -v f="F: $p" '
            $0 == e { inent = 1 }
            inent && !done && (/^$/ || (/^F: / && $0 > f)) { print f; done = 1 }
            inent && /^$/ { inent = 0 }
            { print }'
        grep -qxF "F: $p" "$tree/MAINTAINERS" || { log "no MAINTAINERS entry to extend"; exit 1; }
    done
}

# rewrite FILE CMD...: FILE replaced by CMD's output with FILE as input.
rewrite() {
    local file=$1 tmp
    shift
    tmp=$(mktemp)
    "$@" < "$file" > "$tmp"
    cat "$tmp" > "$file"
    rm -f "$tmp"
}

# Commit <group>'s files, already in <repo>'s work tree, with its
# MAINTAINERS lines.
commit_group() {
    local repo=$1 group=$2 files=$3 patterns=$4
    local -a paths
    read -ra paths <<< "$files"
    maintainers_add "$repo" "$patterns"
    (cd "$repo" && git add -- "${paths[@]}" MAINTAINERS &&
     { series_message "$group"; echo; echo "Signed-off-by: $SOB"; } |
         git commit -q -F -)
}

# Every file the project changes in <full> (a clone of the base) belongs
# to a patch.
check_plan_covers() {
    local full=$1 f missing=0
    local -A planned=()
    while read -r f; do
        planned[$f]=1
    done < <(cd "$full" && series_plan | while IFS='|' read -r _ files _; do
        eval "ls -d $files" 2>/dev/null; done)
    while read -r f; do
        [ "$f" = MAINTAINERS ] && continue
        [ -n "${planned[$f]:-}" ] || {
            log "$f is changed but in no patch of series_plan"
            missing=1
        }
    done < <(cd "$full" && git status --porcelain --untracked-files=all | awk '{ print $2 }')
    [ "$missing" = 0 ] || exit 1
}

# A git repository of the unpacked, unpatched Debian tree of <tree>'s
# version, one commit tagged "base" (made once, cached; printed).
pristine_repo() {
    local tree=$1 ver repo tmp
    ver=$(cat "$tree/VERSION")
    repo=$CACHE/series/qemu-$ver.git
    if ! git -C "$repo" rev-parse -q --verify base > /dev/null 2>&1; then
        log "making an unpatched QEMU $ver git repository (once)"
        tmp=$CACHE/series/pristine-$ver
        rm -rf "$repo" "$tmp"
        mkdir -p "$CACHE/series"
        unpack_pristine "$tree" "$tmp"
        # -f: QEMU's .gitignore names subprojects/*, which the tree needs
        (cd "$tmp" && git init -q && git add -A -f . &&
         git commit -q -m "QEMU $ver (Debian source)" && git tag base &&
         git clone -q --bare . "$repo") >&2
        rm -rf "$tmp"
    fi
    echo "$repo"
}

# A work tree of the pristine repository at <dir>, at "base" with
# nothing else in it.  An existing one is reset, not cloned again: files
# that did not change keep their times, so builds there stay incremental.
pristine_worktree() {
    local repo=$1 dir=$2
    if git -C "$dir" rev-parse -q --verify base > /dev/null 2>&1; then
        (cd "$dir" && { git am --abort > /dev/null 2>&1 || true; } && git checkout -q -f --detach base &&
         git clean -q -f -d -x && { git branch -q -D iscsi-hba 2>/dev/null || true; }) >&2
    else
        rm -rf "$dir"
        git clone -q "$repo" "$dir" >&2
        git -C "$dir" checkout -q --detach base >&2
    fi
}

cover_letter() {
    local file=$1 ver=$2 debver=$3 subject blurb
    subject="Add iscsi-hba, an iSCSI host bus adapter"
    blurb=$(cat <<EOF
This series adds iscsi-hba, a PCI iSCSI host bus adapter for people who
write and test storage drivers (Windows iSCSI HBA miniports, Linux SCSI
drivers).  The guest sees an HBA with submission/completion queues and
an admin command set for iSCSI logins; QEMU carries the commands to real
iSCSI targets with libiscsi.  Every completion carries an ISDSC status
(the Windows iSCSI status values), and faults can be injected from QMP
or HMP to exercise driver error paths.

  1    build glue (Kconfig, meson, MAINTAINERS)
  2    guest ABI header and specification
  3-5  device: PCI function and queues, iSCSI sessions, fault injection
  6    QMP/HMP commands, the iscsi-hba-target object
  7    qtests (a real tgtd on loopback where a target is needed)
  8    user documentation

Based on QEMU $ver (Debian's source package $debver).
The device builds once the whole series is applied: patch 1 wires up
a directory whose sources follow in patches 3-6.
EOF
)
    python3 - "$file" "$subject" "$blurb" <<'EOF'
import sys
path, subject, blurb = sys.argv[1:]
text = open(path).read()
text = text.replace('*** SUBJECT HERE ***', subject)
text = text.replace('*** BLURB HERE ***', blurb)
open(path, 'w').write(text)
EOF
}

# Make the series; prints its directory.
export_series() {
    local tree ver debver work since out
    tree=$(fetch_debian_source "$RELEASE")
    ver=$(cat "$tree/VERSION")
    debver=$(cat "$tree/.debian-version" 2>/dev/null || echo "qemu $ver")
    since=$(next_release "$RELEASE")
    out=${OUT:-$CACHE/series/$ver}
    work=$CACHE/series/work-$ver
    # The finished tree in the work tree: build lists, project files,
    # resolved for the release; then one commit per group.
    pristine_worktree "$(pristine_repo "$tree")" "$work"
    build_list_patches "$since" | patch -d "$work" -p1 -s --no-backup-if-mismatch
    copy_project_files "$work"
    resolve_compat "$work"
    sed -i "s/^# Since: [0-9.]*\$/# Since: $since/" "$work/qapi/iscsi-hba.json"
    check_plan_covers "$work"
    (cd "$work" && git checkout -q -b iscsi-hba)
    series_plan | while IFS='|' read -r group files patterns; do
        commit_group "$work" "$group" "$files" "$patterns"
    done
    if [ -n "$(git -C "$work" status --porcelain --untracked-files=all)" ]; then
        git -C "$work" status --short >&2
        log "the series leaves files of the finished tree out"
        exit 1
    fi
    rm -rf "$out" && mkdir -p "$out"
    (cd "$work" && git format-patch -q --cover-letter -o "$out" base..iscsi-hba)
    cover_letter "$(ls "$out"/0000-*.patch)" "$ver" "$debver"
    echo "$out"
}

# ---- --check ----

N=0 FAILS=0
ok() { N=$((N + 1)); echo "ok $N $*"; }
not_ok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N $*"; }

# Device-only configure and the device's objects (and its qtests').
build_series_tree() {
    local tree=$1 build=$2 cc=cc
    local -a targets
    [ -x /usr/lib/ccache/cc ] && cc=/usr/lib/ccache/cc
    mkdir -p "$tree/configs/devices/x86_64-softmmu"
    cp "$TOP/configs/devices/x86_64-softmmu/iscsi-hba.mak" "$tree/configs/devices/x86_64-softmmu/"
    local -a args=(--python=/usr/bin/python3 --target-list=x86_64-softmmu
        --without-default-features --without-default-devices
        --with-devices-x86_64=iscsi-hba --enable-tcg --enable-libiscsi
        --disable-docs --disable-install-blobs --disable-download --enable-werror
        --cc="$cc")
    # Configured once; later runs let ninja re-run meson where needed.
    if [ ! -f "$build/build.ninja" ] || [ "$(cat "$build/.args" 2>/dev/null)" != "${args[*]}" ]; then
        rm -rf "$build" && mkdir -p "$build"
        (cd "$build" && "$tree/configure" "${args[@]}") > "$build.configure.log" 2>&1 ||
            { tail -n 20 "$build.configure.log"; return 1; }
        echo "${args[*]}" > "$build/.args"
    fi
    # Every object compiled from the device's, its QAPI module's and its
    # qtests' sources (ninja -t targets lists them by output name).
    mapfile -t targets < <(ninja -C "$build" -t targets all |
        awk -F: '{ print $1 }' |
        grep -E '\.o$' | grep -E 'iscsi-hba|iscsi_hba|tgtd-fixture|bad-target')
    [ "${#targets[@]}" -gt 0 ] || { echo "# no iscsi-hba objects in the build"; return 1; }
    echo "# compiling ${#targets[@]} objects"
    nice -n 5 ninja -C "$build" "${targets[@]}" > "$build.log" 2>&1 ||
        { grep -E -A5 'error|warning' "$build.log" | head -n 40; return 1; }
}

# The warnings the commit messages explain (QEMU's checkpatch asks for
# exactly that): the ABI header is dual-licensed and tests __KERNEL__ and
# __cplusplus, because Linux, firmware and a Windows driver include it.
# One line per warning: "<message prefix>|<file>" (file empty: any).
EXPLAINED_WARNINGS="Saw acceptable license 'GPL-2.0-or-later OR BSD-2-Clause'|
architecture specific defines should be avoided|include/hw/iscsi-hba/iscsi-hba-abi.h"

# Prints checkpatch's errors and unexplained warnings; fails when any.
checkpatch_unexplained() {
    awk -v explained="$EXPLAINED_WARNINGS" '
        BEGIN { n = split(explained, ex, "\n") }
        function flush(  i, p) {
            if (msg == "") return
            if (msg ~ /^WARNING: /) {
                for (i = 1; i <= n; i++) {
                    split(ex[i], p, "|")
                    if (index(msg, "WARNING: " p[1]) == 1 && (p[2] == "" || file == p[2])) {
                        msg = ""; return
                    }
                }
            }
            print msg (file != "" ? " (" file ")" : ""); bad = 1; msg = ""
        }
        /^(ERROR|WARNING): / { flush(); msg = $0; file = ""; next }
        msg != "" && /^#[0-9]+: FILE: / { f = $3; sub(/:[0-9]+:$/, "", f); file = f; next }
        /^total: / { flush() }
        END { flush(); exit bad }' "$1"
}

check_series() {
    local out=$1 ver tree am p start unexplained
    tree=$(fetch_debian_source "$RELEASE")
    ver=$(cat "$tree/VERSION")
    # The export's work tree again, reset to the unpatched tree.
    am=$CACHE/series/work-$ver
    echo "# series for QEMU $ver in $out: $(ls "$out" | wc -l) files"
    pristine_worktree "$(pristine_repo "$tree")" "$am"
    if (cd "$am" && git am -q \
            $(ls "$out"/*.patch | grep -v '/0000-')) > "$am.log" 2>&1; then
        ok "git am: the series applies to unpatched QEMU $ver"
    else
        not_ok "git am: the series does not apply to QEMU $ver"; cat "$am.log"
        return
    fi
    for p in "$out"/*.patch; do
        case $p in */0000-*) continue ;; esac
        (cd "$am" && perl scripts/checkpatch.pl "$p") > "$p.checkpatch" 2>&1 || true
        if unexplained=$(checkpatch_unexplained "$p.checkpatch"); then
            ok "checkpatch $(basename "$p")"
        else
            not_ok "checkpatch $(basename "$p")"; echo "$unexplained" | head -n 30
        fi
    done
    start=$SECONDS
    if build_series_tree "$am" "$CACHE/series/build-$ver"; then
        ok "the series builds (device-only configure, device objects, -Werror, $((SECONDS - start))s)"
    else
        not_ok "the series does not build (log $CACHE/series/build-$ver.log)"
    fi
}

SOB=${SIGNED_OFF_BY:-"$(git -C "$TOP" config user.name) <$(git -C "$TOP" config user.email)>"}
# The author and committer of every commit made here.
GIT_AUTHOR_NAME=${SOB% <*}
GIT_AUTHOR_EMAIL=$(echo "$SOB" | sed 's/.*<\(.*\)>.*/\1/')
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME \
    GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
out=$(export_series)
log "series in $out"
if [ "$CHECK" = 1 ]; then
    check_series "$out"
    echo "1..$N"
    [ "$FAILS" = 0 ]
fi
