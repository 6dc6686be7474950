#!/usr/bin/env bash
# Build SeaBIOS with the iscsi-hba boot driver and print where it is.
#
#   scripts/build-seabios.sh        prints SEABIOS_BIN=<path to bios.bin>
#
# Source: Debian bookworm's seabios package (apt-get source, Debian's own
# patches applied), plus patches/seabios/ (applied in the order of
# patches/seabios/series) and the project's ABI header
# include/hw/iscsi-hba/iscsi-hba-abi.h, copied unchanged next to the driver
# (src/hw/).  Configuration: Debian's bios-256k.bin (QEMU=y ROM_SIZE=256).
# Use the result with QEMU's -bios.
#
# Cached under $ISCSI_HBA_CACHE/seabios/<version>-<hash>/, the hash covering
# the patches, the header and this script: an unchanged call costs one hash,
# a build about 40 s.  Needs gcc, make, python3 (scripts/install-deps.sh).
set -Eeuo pipefail
shopt -s inherit_errexit

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
PATCHES=$TOP/patches/seabios
ABI=$TOP/include/hw/iscsi-hba/iscsi-hba-abi.h

log() { echo "build-seabios: $*" >&2; }
die() { log "$*"; exit 1; }
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

# Debian's source tree, unpacked once; offline, the newest one cached.
fetch_source() {
    local dsc ver dir probe
    probe=$(mktemp -d)
    dsc=$(cd "$probe" && apt-get source --print-uris seabios/bookworm 2>/dev/null |
          awk '$2 ~ /^seabios_.*\.dsc$/ { print $2; exit }') || true
    rmdir "$probe"
    if [ -z "$dsc" ]; then
        # shellcheck disable=SC2012 # version-sorted names, no blanks
        dir=$(ls -d "$CACHE"/seabios/src/seabios-*/ 2>/dev/null | sort -V | tail -n 1)
        [ -n "$dir" ] || die "cannot get the seabios source from Debian (deb-src for bookworm?)"
        echo "${dir%/}"
        return
    fi
    ver=${dsc#seabios_}; ver=${ver%.dsc}
    dir=$CACHE/seabios/src/seabios-$ver
    if [ ! -f "$dir/.unpacked" ]; then
        log "fetching seabios $ver source (Debian bookworm)"
        rm -rf "$dir" "$CACHE/seabios/dl"
        mkdir -p "$CACHE/seabios/src"
        mkdir -p "$CACHE/seabios/dl"
        (cd "$CACHE/seabios/dl" && apt-get source --download-only -qq seabios/bookworm &&
         dpkg-source -q -x ./*.dsc "$dir") >&2
        rm -rf "$CACHE/seabios/dl"
        touch "$dir/.unpacked"
    fi
    echo "$dir"
}

input_hash() {
    local p
    {
        cat "$0" "$ABI" "$PATCHES/series"
        while read -r p; do cat "$PATCHES/$p"; done < "$PATCHES/series"
    } | sha256sum | cut -c1-12
}

build() {
    local src=$1 out=$2 work p
    work=$out.tmp
    rm -rf "$work"
    cp -a "$src" "$work"
    while read -r p; do
        [ -n "$p" ] || continue
        patch -s -p1 -d "$work" < "$PATCHES/$p" || die "patch $p does not apply to $(basename "$src")"
    done < "$PATCHES/series"
    cp "$ABI" "$work/src/hw/"
    printf 'CONFIG_QEMU=y\nCONFIG_ROM_SIZE=256\n' > "$work/.config"
    make -C "$work" PYTHON=python3 olddefconfig > "$work.log" 2>&1
    grep -q '^CONFIG_ISCSI_HBA=y' "$work/.config" || die "CONFIG_ISCSI_HBA is not set"
    # Warnings in the driver fail the build; SeaBIOS's own (farptr.h) do not.
    if ! make -C "$work" PYTHON=python3 EXTRAVERSION="-iscsi-hba" >> "$work.log" 2>&1; then
        tail -n 30 "$work.log" >&2
        die "build failed: $work.log"
    fi
    if grep -E 'src/hw/iscsi-hba[^:]*:[0-9]+:[0-9]+: (warning|error)' "$work.log" >&2; then
        die "the driver has warnings"
    fi
    mkdir -p "$out"
    cp "$work/out/bios.bin" "$out/bios.bin"
    mv "$work.log" "$out/build.log"
    rm -rf "$work"
}

main() {
    local src key out
    src=$(fetch_source)
    key=$(basename "$src")-$(input_hash)
    out=$CACHE/seabios/$key
    if [ ! -f "$out/bios.bin" ]; then
        log "building $key (about 40 s)"
        build "$src" "$out"
    fi
    echo "SEABIOS_BIN=$out/bios.bin"
}

main "$@"
