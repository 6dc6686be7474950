# shellcheck shell=bash
# QEMU releases this project builds in, and Debian's source packages of
# them.  Sourced by scripts/build-qemu.sh and scripts/export-series.sh,
# which define log() and CACHE first.
#
# What differs between the supported releases lives in two places only:
#   hw/iscsi-hba/qemu-compat.h   the C API differences
#   patches/qemu/<release>/      hunks that do not apply to every release
# (patches/qemu/*.patch apply to all of them).
#
# 10.0 -> 10.2, and how each difference is handled:
#   TypeInfo.class_init data became const void *   qemu-compat.h typedef
#   QAPI doc lines over 70 columns are errors       schema rewrapped (both)
#   global target_name() (qemu/target-info.h)       qtest helper renamed (both)
#   exec/memory.h became system/memory.h            include dropped, system/dma.h
#                                                   brings the right one (both)
#   docs/system/device-emulation.rst list changed   patches/qemu/<release>/0003
#   trimmed PC build fails to link (ACPI_CXL calls  patches/qemu/10.2/qemu-fix-*
#   a CONFIG_CXL-only function; QEMU's own bug)     (not part of the series)
# 11.x (source not reachable here, not built): hw/qdev-properties.h moved to
# hw/core/, handled by qemu-compat.h's __has_include.

SUPPORTED_VERSIONS='10.0 10.2'

# A release this project supports?  Exits with the list when not.
check_supported() {
    local release=$1 what=$2 v
    for v in $SUPPORTED_VERSIONS; do
        [ "$release" != "$v" ] || return 0
    done
    log "$what: QEMU $release is not supported; supported releases: $SUPPORTED_VERSIONS"
    exit 2
}

# The release (major.minor) of a QEMU tree, from its VERSION file.
tree_release() {
    local v
    v=$(cat "$1/VERSION" 2>/dev/null) || { log "$1 is not a QEMU tree (no VERSION file)"; exit 2; }
    echo "$v" | awk -F. '{ print $1 "." $2 }'
}

# The newest Debian source package of QEMU <release>.x that apt knows
# (trixie has 10.0, sid 10.2; scripts/install-deps.sh adds both), as
# "<debian version> <upstream version>".  Older entries apt still lists
# may no longer be served by the archive, so the newest wins.
debian_source_version() {
    apt-cache showsrc qemu 2>/dev/null |
        awk -v rel="$1" '
            $1 == "Version:" { v = $2; u = v; sub(/^[0-9]+:/, "", u); sub(/[+~-].*/, "", u)
                               if (index(u, rel ".") == 1) print v, u }' |
        sort -V -k2 | tail -n 1
}

# Debian's QEMU <release> source, Debian patches applied, unpacked into
# $CACHE/src/qemu-<version> (printed).  The package files stay in
# $CACHE/src/dl/qemu-<version>/ so that an unpatched copy can be made
# again (unpack_pristine).  Falls back to what is cached when the archive
# cannot be reached, so warm runs work offline.
fetch_debian_source() {
    local release=$1 debver ver dir dl
    read -r debver ver <<< "$(debian_source_version "$release")" || true
    if [ -z "${ver:-}" ]; then
        dir=$(ls -d "$CACHE"/src/qemu-"$release".*/ 2>/dev/null | grep -v -- '-asan/$' |
              sort -V | tail -n 1)
        [ -n "$dir" ] || { log "cannot get QEMU $release source from Debian"; exit 1; }
        echo "${dir%/}"
        return
    fi
    dir=$CACHE/src/qemu-$ver
    dl=$CACHE/src/dl/qemu-$ver
    if [ ! -f "$dir/.unpacked" ]; then
        log "fetching QEMU $ver source (Debian $debver, Debian patches applied)"
        rm -rf "$dir" "$dir-asan" "$dl"
        download_debian_source "$debver" "$dl"
        (cd "$dl" && dpkg-source -q -x ./*.dsc "$dir") >&2
        echo "$debver" > "$dir/.debian-version"
        touch "$dir/.unpacked"
    fi
    echo "$dir"
}

download_debian_source() {
    local debver=$1 dl=$2
    mkdir -p "$dl"
    (cd "$dl" && apt-get source --download-only -qq "qemu=$debver") >&2
}

# An unpatched copy of a cached Debian tree (the one fetch_debian_source
# printed) at <dest>: the same source package unpacked again.
unpack_pristine() {
    local tree=$1 dest=$2 ver debver dl
    ver=$(cat "$tree/VERSION")
    dl=$CACHE/src/dl/qemu-$ver
    if ! ls "$dl"/*.dsc > /dev/null 2>&1; then
        debver=$(cat "$tree/.debian-version" 2>/dev/null) ||
            read -r debver _ <<< "$(debian_source_version "$(tree_release "$tree")")"
        [ -n "${debver:-}" ] || { log "no Debian source package known for QEMU $ver"; exit 1; }
        download_debian_source "$debver" "$dl"
    fi
    rm -rf "$dest"
    (cd "$dl" && dpkg-source -q -x --no-copy ./*.dsc "$dest") >&2
}
