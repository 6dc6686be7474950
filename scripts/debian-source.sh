# shellcheck shell=bash
# Sourced by the firmware build scripts: a Debian source package, unpacked
# once into a cache folder (Debian's own patches applied by dpkg-source).
#
#   dir=$(debian_source PACKAGE SUITE CACHEDIR)
#
# prints CACHEDIR/src/PACKAGE-<version>.  Offline, or when the archive no
# longer offers a version, the newest tree already unpacked there is used,
# so warm rebuilds never need the network.  Fails (status 1, message on
# stderr) when neither exists.

debian_source() {
    local pkg=$1 suite=$2 cache=$3 dsc ver dir probe
    # --print-uris lines: 'URL' FILENAME SIZE HASH.  Asked from an empty
    # directory: apt prints no URI for files already present.
    probe=$(mktemp -d)
    dsc=$(cd "$probe" && apt-get source --print-uris "$pkg/$suite" 2>/dev/null |
          awk -v p="^${pkg}_.*[.]dsc\$" '$2 ~ p { print $2; exit }') || true
    rmdir "$probe"
    if [ -z "$dsc" ]; then
        # shellcheck disable=SC2012 # version-sorted names, no blanks
        dir=$(ls -d "$cache/src/$pkg"-*/ 2>/dev/null | sort -V | tail -n 1)
        if [ -z "$dir" ]; then
            echo "cannot get the $pkg source from Debian (deb-src for $suite?)" >&2
            return 1
        fi
        echo "${dir%/}"
        return 0
    fi
    ver=${dsc#"${pkg}"_}
    ver=${ver%.dsc}
    dir=$cache/src/$pkg-$ver
    if [ ! -f "$dir/.unpacked" ]; then
        echo "fetching $pkg $ver source (Debian $suite)" >&2
        rm -rf "$dir" "$cache/dl"
        mkdir -p "$cache/src" "$cache/dl"
        (cd "$cache/dl" && apt-get source --download-only -qq "$pkg/$suite" &&
         dpkg-source -q -x ./*.dsc "$dir") >&2 || return 1
        rm -rf "$cache/dl"
        touch "$dir/.unpacked"
    fi
    echo "$dir"
}
