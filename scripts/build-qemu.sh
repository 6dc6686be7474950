#!/usr/bin/env bash
# Build qemu-system-x86_64 with the iscsi-hba device, and its qtests.
#
#   scripts/build-qemu.sh            # Debian trixie's QEMU 10.0 source package
#   QEMU_SRC=~/qemu scripts/build-qemu.sh   # your own QEMU 10.0 tree
#   scripts/build-qemu.sh qemu-system-x86_64  # only these ninja targets
#
# Everything slow lives in $ISCSI_HBA_CACHE (default ~/.cache/iscsi-hba),
# keyed by QEMU version, so a second run only recompiles what changed:
#   src/qemu-<ver>/      unpacked Debian source with this project overlaid
#   build/qemu-<ver>/    meson/ninja build directory
#   firmware/            option ROMs from bookworm-backports' qemu-system-data
#   ccache/              compiler cache
# On success it writes $ISCSI_HBA_CACHE/env, a shell fragment naming the
# binaries, for the test and run scripts to source.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
export CCACHE_DIR=$CACHE/ccache
mkdir -p "$CACHE/src" "$CACHE/build" "$CCACHE_DIR"

log() { echo "build-qemu: $*" >&2; }

# Newest QEMU 10.0 source in trixie; falls back to what is cached when the
# archive cannot be reached, so warm rebuilds work offline.
fetch_debian_source() {
    local dsc ver dir probe
    # --print-uris lines: 'URL' FILENAME SIZE HASH; the URL is %-encoded.
    # Asked from an empty directory: apt prints no URI for files present.
    probe=$(mktemp -d)
    dsc=$(cd "$probe" && apt-get source --print-uris qemu/trixie 2>/dev/null |
          awk '$2 ~ /^qemu_.*\.dsc$/ { print $2; exit }') || true
    rmdir "$probe"
    if [ -z "$dsc" ]; then
        dir=$(ls -d "$CACHE"/src/qemu-10.0.*/ 2>/dev/null | sort -V | tail -n 1)
        [ -n "$dir" ] || { log "cannot get QEMU source from Debian"; exit 1; }
        echo "${dir%/}"
        return
    fi
    ver=${dsc#qemu_}; ver=${ver%%+*}; ver=${ver#*:}
    case $ver in
        10.0.*) ;;
        *) log "trixie offers QEMU $ver; this project targets 10.0"; exit 1 ;;
    esac
    dir=$CACHE/src/qemu-$ver
    if [ ! -f "$dir/.unpacked" ]; then
        log "fetching QEMU $ver source (Debian trixie, Debian patches applied)"
        rm -rf "$dir" "$CACHE/src/dl"
        mkdir -p "$CACHE/src/dl"
        (cd "$CACHE/src/dl" && apt-get source --download-only -qq "qemu/trixie" &&
         dpkg-source -q -x ./*.dsc "$dir") >&2
        rm -rf "$CACHE/src/dl"
        touch "$dir/.unpacked"
    fi
    echo "$dir"
}

# Copy this project's files into the QEMU tree at the same paths.  Only
# changed files are copied, so ninja sees unchanged mtimes on warm runs.
# Files this project stopped shipping are removed again.
overlay_files() {
    local src=$1 manifest=$1/.iscsi-hba-files f
    local -a files
    mapfile -t files < <(cd "$TOP" && git ls-files --cached --others --exclude-standard -- hw include qapi \
                         tests/qtest docs/specs docs/system configs 2>/dev/null ||
                         find hw include qapi tests/qtest docs configs -type f)
    if [ -f "$manifest" ]; then
        while read -r f; do
            printf '%s\n' "${files[@]}" | grep -qxF "$f" || rm -f "$src/$f"
        done < "$manifest"
    fi
    for f in "${files[@]}"; do
        [ -f "$TOP/$f" ] || continue
        mkdir -p "$src/$(dirname "$f")"
        cmp -s "$TOP/$f" "$src/$f" || cp "$TOP/$f" "$src/$f"
    done
    printf '%s\n' "${files[@]}" > "$manifest"
}

# Apply patches/qemu/*.patch (QEMU's Kconfig, meson and qapi lists).  The
# original of every file a patch touches is kept in .iscsi-hba-orig/, so a
# changed series is applied to pristine files, whatever state the tree is
# in.  The applied series is remembered to skip the work when unchanged.
apply_patches() {
    local src=$1 applied=$1/.iscsi-hba-applied.patch orig=$1/.iscsi-hba-orig
    local wanted f
    wanted=$(cat "$TOP"/patches/qemu/*.patch)
    if [ -f "$applied" ] && [ "$(cat "$applied")" = "$wanted" ]; then
        return 0
    fi
    log "applying patches/qemu"
    mkdir -p "$orig"
    # Restore what an earlier series changed.
    (cd "$orig" && find . -type f) | while read -r f; do
        cp -p "$orig/$f" "$src/$f"
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
    printf '%s\n' "$wanted" > "$applied"
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
# detection never applies: name ccache's compiler links instead.
if [ -x /usr/lib/ccache/cc ]; then
    CONFIGURE_ARGS+=(--cc=/usr/lib/ccache/cc --cxx=/usr/lib/ccache/c++)
fi

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

# Debian strips firmware from the QEMU source.  A QEMU run from the build
# tree finds blobs in qemu-bundle/<prefix>/share/qemu, so link SeaBIOS
# (package seabios) and the x86 option ROMs (bookworm-backports'
# qemu-system-data, unpacked, never installed) there.
link_firmware() {
    local build=$1 fw=$CACHE/firmware f datadir
    if [ ! -f "$fw/.unpacked" ]; then
        log "fetching option ROMs from qemu-system-data (bookworm-backports)"
        rm -rf "$fw" && mkdir -p "$fw/dl"
        (cd "$fw/dl" && apt-get download -qq -t bookworm-backports qemu-system-data &&
         dpkg-deb -x ./qemu-system-data_*.deb "$fw/root") >&2
        rm -rf "$fw/dl"
        touch "$fw/.unpacked"
    fi
    datadir=$(find "$build/qemu-bundle" -type d -path '*/share/qemu' | head -n 1)
    [ -n "$datadir" ] || { log "no qemu-bundle data directory in $build"; exit 1; }
    for f in /usr/share/seabios/bios-256k.bin /usr/share/seabios/bios.bin \
             "$fw"/root/usr/share/qemu/{linuxboot_dma.bin,linuxboot.bin,pvh.bin,kvmvapic.bin,multiboot_dma.bin}; do
        [ -e "$f" ] || { log "missing firmware $f"; exit 1; }
        ln -sfn "$f" "$datadir/$(basename "$f")"
    done
}

main() {
    # One build at a time per cache: parallel runs would race in ninja.
    exec 9>"$CACHE/.lock"
    flock 9
    TARGETS=("$@")
    [ "${#TARGETS[@]}" -gt 0 ] ||
        TARGETS=(qemu-system-x86_64 tests/qtest/iscsi-hba-test
                 tests/qtest/iscsi-hba-iscsi-test
                 tests/qtest/iscsi-hba-fault-test tests/qtest/qmp-cmd-test)
    bash "$TOP/scripts/install-deps.sh"
    local src ver build
    if [ -n "${QEMU_SRC:-}" ]; then
        src=$(cd "$QEMU_SRC" && pwd)
        ver=user-$(cat "$src/VERSION")
    else
        src=$(fetch_debian_source)
        ver=$(cat "$src/VERSION")
    fi
    build=$CACHE/build/qemu-$ver
    overlay_files "$src"
    apply_patches "$src"
    configure_build "$src" "$build"
    link_firmware "$build"
    log "building in $build"
    ninja -C "$build" "${TARGETS[@]}" >&2
    cat > "$CACHE/env" <<ENV
QEMU_SRC_DIR=$src
QEMU_BUILD_DIR=$build
QEMU_BIN=$build/qemu-system-x86_64
ENV
    log "done: $build/qemu-system-x86_64"
}

main "$@"
