#!/usr/bin/env bash
# Build qemu-system-x86_64 with the iscsi-hba device, and its qtests.
#
#   scripts/build-qemu.sh            # Debian's QEMU 10.0 source package (trixie)
#   QEMU_VERSION=10.2 scripts/build-qemu.sh   # Debian's QEMU 10.2 (sid)
#   QEMU_SRC=~/qemu scripts/build-qemu.sh   # your own QEMU 10.0 or 10.2 tree
#   scripts/build-qemu.sh qemu-system-x86_64  # only these ninja targets
#   scripts/build-qemu.sh --asan     # the sanitizer build (or ISCSI_HBA_FLAVOR=asan)
#
# Supported QEMU releases: 10.0 and 10.2 (scripts/qemu-release.sh).  The
# normal flavor builds 10.0 and the asan flavor 10.2 unless QEMU_VERSION
# says otherwise, so the test command covers both releases with two
# builds.  With QEMU_SRC the release is the tree's own (its VERSION file).
#
# Two flavors, each with its own source tree, build directory and lock, so
# the long sanitizer build never blocks the normal one:
#   normal  gcc, the binaries every test and scripts/run.sh use
#   asan    clang-16 with AddressSanitizer, UndefinedBehaviorSanitizer and
#           libFuzzer: an instrumented qemu-system-x86_64, the device qtests
#           and qemu-fuzz-x86_64 (generic-fuzz), linked (rpath) against a
#           libiscsi 1.19 built with AddressSanitizer too
#
# Everything slow lives in $ISCSI_HBA_CACHE (default ~/.cache/iscsi-hba),
# keyed by QEMU version, so a second run only recompiles what changed:
#   src/qemu-<ver>/          unpacked Debian source with this project overlaid
#   src/dl/qemu-<ver>/       the Debian source package itself, kept for
#                            scripts/export-series.sh (an unpatched tree)
#   src/qemu-<ver>-asan/     the same, hard-linked, for the asan flavor
#   build/qemu-<ver>[-asan]/ meson/ninja build directories
#   libiscsi-asan/<ver>/     libiscsi built with AddressSanitizer
#   firmware/                option ROMs from bookworm-backports' qemu-system-data
#   ccache/                  compiler cache (both flavors)
# On success it writes $ISCSI_HBA_CACHE/env (normal) or env-asan, a shell
# fragment naming the binaries, for the test and run scripts to source.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
export CCACHE_DIR=$CACHE/ccache
mkdir -p "$CACHE/src" "$CACHE/build" "$CCACHE_DIR"

FLAVOR=${ISCSI_HBA_FLAVOR:-normal}
if [ "${1:-}" = --asan ]; then
    FLAVOR=asan
    shift
fi
case $FLAVOR in
    normal|asan) ;;
    *) echo "build-qemu: unknown flavor '$FLAVOR' (normal or asan)" >&2; exit 2 ;;
esac

# shellcheck source=scripts/qemu-release.sh
. "$TOP/scripts/qemu-release.sh"
QEMU_VERSION=${QEMU_VERSION:-}
if [ -z "$QEMU_VERSION" ] && [ -z "${QEMU_SRC:-}" ]; then
    QEMU_VERSION=10.0
    [ "$FLAVOR" = normal ] || QEMU_VERSION=10.2
fi

LOG_TAG='build-qemu'
[ "$FLAVOR" = normal ] || LOG_TAG="build-qemu ($FLAVOR)"
log() { echo "$LOG_TAG: $*" >&2; }

# Replace a file instead of writing into it: the asan source tree shares
# inodes with the normal one (cp -al), so nothing may modify a file in place.
replace_file() {
    local dst=$1 tmp
    tmp=$(mktemp "$dst.XXXXXX")
    cat > "$tmp"
    mv -f "$tmp" "$dst"
}

# The asan flavor's tree: a hard-linked copy of the Debian tree (seconds,
# no space).  Safe because every write below replaces files, never edits.
flavor_tree() {
    local base=$1 dir=$1-asan
    if [ "$FLAVOR" = normal ] || [ -n "${QEMU_SRC:-}" ]; then
        echo "$base"
        return
    fi
    if [ ! -f "$dir/.asan-tree" ]; then
        log "making the asan source tree (hard links to $base)"
        rm -rf "$dir"
        cp -al "$base" "$dir"
        touch "$dir/.asan-tree"
    fi
    echo "$dir"
}

# Copy this project's files into the QEMU tree at the same paths.  Only
# changed files are copied, so ninja sees unchanged mtimes on warm runs.
# Files this project stopped shipping are removed again.
overlay_files() {
    local src=$1 manifest=$1/.iscsi-hba-files f
    local -a files
    mapfile -t files < <(cd "$TOP" && git ls-files --cached --others --exclude-standard -- hw include qapi tests/target \
                         tests/qtest docs/specs docs/system configs 2>/dev/null ||
                         find hw include qapi tests/qtest tests/target docs configs -type f)
    if [ -f "$manifest" ]; then
        while read -r f; do
            printf '%s\n' "${files[@]}" | grep -qxF "$f" || rm -f "$src/$f"
        done < "$manifest"
    fi
    for f in "${files[@]}"; do
        [ -f "$TOP/$f" ] || continue
        mkdir -p "$src/$(dirname "$f")"
        cmp -s "$TOP/$f" "$src/$f" || cp --remove-destination "$TOP/$f" "$src/$f"
    done
    printf '%s\n' "${files[@]}" | replace_file "$manifest"
}

# Apply patches/qemu/*.patch (QEMU's Kconfig, meson and qapi lists).  The
# original of every file a patch touches is kept in .iscsi-hba-orig/, so a
# changed series is applied to pristine files, whatever state the tree is
# in.  The applied series is remembered to skip the work when unchanged.
# (GNU patch writes a new file and renames it, so it breaks hard links.)
apply_patches() {
    local src=$1 applied=$1/.iscsi-hba-applied.patch orig=$1/.iscsi-hba-orig
    local wanted f release
    release=$(tree_release "$src")
    wanted=$(cat "$TOP"/patches/qemu/*.patch "$TOP"/patches/qemu/"$release"/*.patch)
    if [ -f "$applied" ] && [ "$(cat "$applied")" = "$wanted" ]; then
        return 0
    fi
    log "applying patches/qemu"
    mkdir -p "$orig"
    # Restore what an earlier series changed.
    (cd "$orig" && find . -type f) | while read -r f; do
        cp -p --remove-destination "$orig/$f" "$src/$f"
    done
    # Save originals of files this series touches for the first time.
    printf '%s\n' "$wanted" | sed -n 's|^+++ b/||p' | sort -u | while read -r f; do
        if [ ! -f "$orig/$f" ] && [ -f "$src/$f" ]; then
            mkdir -p "$orig/$(dirname "$f")"
            cp -p "$src/$f" "$orig/$f"
        fi
    done
    rm -f "$applied"
    printf '%s\n' "$wanted" | patch -d "$src" -p1 -s --no-backup-if-mismatch -N
    printf '%s\n' "$wanted" | replace_file "$applied"
}

CONFIGURE_ARGS=(
    --python=/usr/bin/python3
    --target-list=x86_64-softmmu
    --without-default-features --without-default-devices
    --with-devices-x86_64=iscsi-hba
    --enable-tcg --enable-kvm --enable-libiscsi
    --disable-docs --disable-install-blobs --enable-werror
)

# configure hands meson an explicit compiler, so meson's own ccache
# detection never applies: name ccache's compiler links instead
# (install-deps.sh creates them for clang-16 too).
flavor_configure_args() {
    local cc=cc cxx=c++
    if [ "$FLAVOR" = asan ]; then
        cc=clang-16 cxx=clang++-16
    fi
    if [ -x "/usr/lib/ccache/$cc" ]; then
        cc=/usr/lib/ccache/$cc cxx=/usr/lib/ccache/$cxx
    elif [ "$FLAVOR" = normal ]; then
        cc='' cxx=''
    fi
    [ -z "$cc" ] || CONFIGURE_ARGS+=("--cc=$cc" "--cxx=$cxx")
    if [ "$FLAVOR" = asan ]; then
        CONFIGURE_ARGS+=(--enable-fuzzing --enable-asan --enable-ubsan)
        # The instrumented libiscsi, where it could be built, is found
        # before the system one.  The path is fixed, so that whether it
        # exists never changes the configuration (no full rebuild).
        CONFIGURE_ARGS+=("--extra-ldflags=-Wl,-rpath,$(libiscsi_asan_dir)/lib")
    fi
}

configure_build() {
    local src=$1 build=$2 args
    args="${CONFIGURE_ARGS[*]}"
    if [ -f "$build/build.ninja" ] && [ "$(cat "$build/.iscsi-hba-configure" 2>/dev/null)" = "$args" ]; then
        return 0
    fi
    log "configuring $build"
    rm -rf "$build"
    mkdir -p "$build"
    (cd "$build" && "$src/configure" "${CONFIGURE_ARGS[@]}") > "$build.configure.log" 2>&1 || {
        tail -n 30 "$build.configure.log" >&2
        exit 1
    }
    echo "$args" > "$build/.iscsi-hba-configure"
}

# ---- libiscsi with AddressSanitizer (asan flavor) ----
#
# ASan sees only instrumented code; a use-after-free whose access happens
# inside libiscsi (a queued Data-Out sent from a freed task) needs libiscsi
# itself instrumented.  Source: Debian bookworm's libiscsi source package
# (the version Debian 12 runs).  Where the archive does not serve it, the
# sanitizer qtests use Debian's uninstrumented library and run-tests.sh
# runs the lifetime tests under valgrind instead.  (libiscsi 1.20's source
# is no stand-in: its struct scsi_task differs from 1.19's.)
# Prints the library directory, or nothing when it cannot be built.

libiscsi_fetch_source() {
    local work=$1
    mkdir -p "$work/dl"
    local origin
    if (cd "$work/dl" && apt-get source --download-only -qq libiscsi/bookworm &&
        dpkg-source -q -x ./libiscsi_*.dsc "$work/src") >/dev/null 2>&1; then
        origin=debian
    else
        return 1
    fi
    rm -rf "$work/dl"
    # Debian ships upstream 1.19.0 as libiscsi.so.7 (same symbols), the
    # name QEMU was linked against.
    sed -i 's/^SOCURRENT=.*/SOCURRENT=7/' "$work/src/lib/Makefile.am"
    echo "$origin"
}

libiscsi_asan_dir() {
    echo "$CACHE/libiscsi-asan/$(dpkg-query -W -f='${Version}' libiscsi7 2>/dev/null)"
}

build_libiscsi_asan() {
    local pkgver dir work key origin cc=clang-16
    pkgver=$(dpkg-query -W -f='${Version}' libiscsi7 2>/dev/null) || pkgver=
    case $pkgver in
        1.19.0-*) ;;
        *) log "libiscsi7 is '${pkgver:-not installed}', not 1.19.0: qtests use the uninstrumented libiscsi"
           return 0 ;;
    esac
    dir=$CACHE/libiscsi-asan/$pkgver
    [ -x /usr/lib/ccache/clang-16 ] && cc=/usr/lib/ccache/clang-16
    key="$pkgver asan-1"
    if [ -f "$dir/.built" ] && [ "$(cat "$dir/.built")" = "$key" ]; then
        echo "$dir/lib"
        return 0
    fi
    log "building libiscsi $pkgver with AddressSanitizer"
    rm -rf "$dir"
    work=$dir/work
    mkdir -p "$work"
    if ! origin=$(libiscsi_fetch_source "$work"); then
        log "no libiscsi $pkgver source in Debian's archive: qtests use the uninstrumented libiscsi"
        return 0
    fi
    if ! (cd "$work/src" && ./autogen.sh &&
          CC=$cc CFLAGS="-O1 -g -fsanitize=address -fno-omit-frame-pointer" \
              ./configure --prefix="$dir" --libdir="$dir/lib" --disable-werror \
              --disable-manpages --disable-test-tool --disable-tests --disable-examples &&
          nice make -j"$(nproc)" && make install) > "$dir/build.log" 2>&1; then
        tail -n 20 "$dir/build.log" >&2
        log "libiscsi build failed (log $dir/build.log)"
        return 0
    fi
    [ -e "$dir/lib/libiscsi.so.7" ] || { log "libiscsi built without soname 7"; return 0; }
    rm -rf "$work"
    echo "$origin" > "$dir/origin"
    echo "$key" > "$dir/.built"
    echo "$dir/lib"
}

# Debian strips firmware from the QEMU source.  A QEMU run from the build
# tree finds blobs in qemu-bundle/<prefix>/share/qemu, so link SeaBIOS
# (package seabios) and the x86 option ROMs (bookworm-backports'
# qemu-system-data, unpacked, never installed) there.
fetch_firmware() {
    local fw=$CACHE/firmware
    if [ ! -f "$fw/.unpacked" ]; then
        log "fetching option ROMs from qemu-system-data (bookworm-backports)"
        rm -rf "$fw" && mkdir -p "$fw/dl"
        (cd "$fw/dl" && apt-get download -qq -t bookworm-backports qemu-system-data &&
         dpkg-deb -x ./qemu-system-data_*.deb "$fw/root") >&2
        rm -rf "$fw/dl"
        touch "$fw/.unpacked"
    fi
}

link_firmware() {
    local build=$1 fw=$CACHE/firmware f datadir
    datadir=$(find "$build/qemu-bundle" -type d -path '*/share/qemu' | head -n 1)
    [ -n "$datadir" ] || { log "no qemu-bundle data directory in $build"; exit 1; }
    for f in /usr/share/seabios/bios-256k.bin /usr/share/seabios/bios.bin \
             "$fw"/root/usr/share/qemu/{linuxboot_dma.bin,linuxboot.bin,pvh.bin,kvmvapic.bin,multiboot_dma.bin}; do
        [ -e "$f" ] || { log "missing firmware $f"; exit 1; }
        ln -sfn "$f" "$datadir/$(basename "$f")"
    done
    # The device's default romfile (the UEFI driver), when
    # scripts/build-uefi-driver.sh has built it; the device warns without it.
    f=$CACHE/edk2/efi-iscsi-hba.rom
    [ ! -e "$f" ] || ln -sfn "$f" "$datadir/$(basename "$f")"
}

# The device's qtests: those whose source exists in this checkout and that
# a patch registered in QEMU's tests/qtest/meson.build.
device_qtests() {
    local src=$1 f name
    for f in "$TOP"/tests/qtest/iscsi-hba*-test.c; do
        [ -f "$f" ] || continue
        name=$(basename "$f" .c)
        grep -q "'$name'" "$src/tests/qtest/meson.build" && echo "tests/qtest/$name"
    done
}

# Short, shared steps under one lock: apt, the Debian source, the overlay
# and patches of this flavor's tree.  Prints the tree.
prepare_tree() {
    local base src release
    exec 8>"$CACHE/.lock-prepare"
    flock 8
    if [ "$FLAVOR" = asan ]; then
        bash "$TOP/scripts/install-deps.sh" --asan >&2
    else
        bash "$TOP/scripts/install-deps.sh" >&2
    fi
    fetch_firmware
    if [ -n "${QEMU_SRC:-}" ]; then
        base=$(cd "$QEMU_SRC" && pwd)
        release=$(tree_release "$base")
        check_supported "$release" "QEMU_SRC=$QEMU_SRC"
        if [ -n "$QEMU_VERSION" ] && [ "$QEMU_VERSION" != "$release" ]; then
            log "QEMU_VERSION=$QEMU_VERSION but QEMU_SRC=$QEMU_SRC is QEMU $release"
            exit 2
        fi
    else
        base=$(fetch_debian_source "$QEMU_VERSION")
    fi
    src=$(flavor_tree "$base")
    overlay_files "$src"
    apply_patches "$src"
    flock -u 8
    exec 8>&-
    echo "$src"
}

write_env() {
    local src=$1 build=$2 libdir=$3
    if [ "$FLAVOR" = normal ]; then
        replace_file "$CACHE/env" <<ENV
QEMU_SRC_DIR=$src
QEMU_BUILD_DIR=$build
QEMU_BIN=$build/qemu-system-x86_64
ENV
    else
        replace_file "$CACHE/env-asan" <<ENV
QEMU_SRC_DIR=$src
QEMU_BUILD_DIR=$build
QEMU_BIN=$build/qemu-system-x86_64
QEMU_FUZZ_BIN=$build/qemu-fuzz-x86_64
LIBISCSI_ASAN_DIR=$libdir
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-16/bin/llvm-symbolizer
ENV
    fi
}

main() {
    local src ver build libdir='' start=$SECONDS
    [ -z "$QEMU_VERSION" ] || check_supported "$QEMU_VERSION" "QEMU_VERSION=$QEMU_VERSION"
    local -a targets=("$@")
    # One build at a time per flavor: parallel runs would race in ninja and
    # in the flavor's source tree.  The other flavor is not blocked.  Lock
    # order everywhere: flavor, then prepare.  (.lock is the old name of
    # the normal flavor's lock, kept so older checkouts still exclude it.)
    if [ "$FLAVOR" = normal ]; then
        exec 9>"$CACHE/.lock"
    else
        exec 9>"$CACHE/.lock-$FLAVOR"
    fi
    # scripts/run-tests.sh holds it shared while its tests use the binaries.
    if ! flock -n 9; then
        if [ -n "${ISCSI_HBA_TESTS_RUNNING:-}" ]; then
            # Called from inside a test run, which may hold the lock itself.
            log "the build is in use by a test run; not rebuilding"
            exit 1
        fi
        log "waiting for another build or a test run using this build"
        flock 9
    fi
    src=$(prepare_tree)
    ver=$(cat "$src/VERSION")
    [ -z "${QEMU_SRC:-}" ] || ver=user-$ver
    build=$CACHE/build/qemu-$ver
    if [ "$FLAVOR" = asan ]; then
        build=$build-asan
        libdir=$(build_libiscsi_asan)
    fi
    flavor_configure_args
    if [ "${#targets[@]}" -eq 0 ]; then
        mapfile -t targets < <(device_qtests "$src")
        targets=(qemu-system-x86_64 "${targets[@]}")
        if [ "$FLAVOR" = normal ]; then
            targets+=(tests/qtest/qmp-cmd-test)
        else
            targets+=(qemu-fuzz-x86_64)
        fi
    fi
    configure_build "$src" "$build"
    link_firmware "$build"
    log "building in $build: ${targets[*]}"
    nice -n 5 ninja -C "$build" "${targets[@]}" >&2
    write_env "$src" "$build" "$libdir"
    log "done in $((SECONDS - start))s: $build/qemu-system-x86_64"
}

main "$@"
