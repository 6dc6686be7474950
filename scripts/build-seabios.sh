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
# shellcheck source=scripts/debian-source.sh
. "$TOP/scripts/debian-source.sh"

# Debian's source tree, unpacked once; offline, the newest one cached.
fetch_source() {
    debian_source seabios bookworm "$CACHE/seabios" || die "no seabios source"
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
