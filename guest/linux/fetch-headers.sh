#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch Debian 12 (bookworm) kernel headers for out-of-tree module builds,
# without installing them: apt-get download + dpkg-deb -x into a sysroot,
# then make the tree self-contained (the flavour Makefile includes
# /usr/src/linux-headers-<abi>-common/Makefile; lib/modules/<abi>/build
# and source are absolute links).
#
#   guest/linux/fetch-headers.sh [ABI]        e.g. 6.1.0-56-amd64
#   KERNEL_ABI=6.1.0-56-amd64 guest/linux/fetch-headers.sh
#
# Without an ABI the newest linux-headers-6.1.0-N-amd64 known to apt is
# used.  Idempotent: the stamp holds the unpacked version.  Progress goes
# to stderr; the only line on stdout is the headers directory, for
# "make -C <dir> M=<module dir>".
#
# Layout (shared with scripts/guest-image.sh), under
# $ISCSI_HBA_CACHE/guest (default ~/.cache/iscsi-hba/guest):
#   <abi>/headers/          the sysroot (usr/src/linux-headers-<abi>, ...)
#   <abi>/.headers-done     stamp: the version unpacked

set -eu

cache=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
guest=$cache/guest
log() { echo "fetch-headers: $*" >&2; }
die() { log "$*"; exit 1; }

newest_abi() {
	apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' |
		awk '{ print $1 }' | sed -e 's/^linux-headers-//' |
		sort -V | tail -n 1
}

candidate() {
	apt-cache policy "$1" 2>/dev/null |
		awk '$1 == "Candidate:" { print $2; exit }'
}

abi=${1:-${KERNEL_ABI:-}}
if [ -z "$abi" ]; then
	abi=$(newest_abi)
	if [ -z "$abi" ]; then
		log "apt knows no linux-headers-6.1.0-*-amd64: apt-get update"
		apt-get update -qq >&2
		abi=$(newest_abi)
	fi
	[ -n "$abi" ] || die "cannot find linux-headers-6.1.0-*-amd64"
fi
case $abi in
*-amd64) ;;
*) abi=$abi-amd64 ;;
esac

dir=$guest/$abi
sysroot=$dir/headers
hdrs=$sysroot/usr/src/linux-headers-$abi
stamp=$dir/.headers-done
common=linux-headers-${abi%-amd64}-common

ver=$(candidate "linux-headers-$abi")
case $ver in
'' | '(none)')
	# Offline, or the ABI left the archive: a complete cached tree is fine.
	if [ -f "$stamp" ] && [ -f "$hdrs/Makefile" ]; then
		echo "$hdrs"
		exit 0
	fi
	die "apt knows no linux-headers-$abi"
	;;
esac
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] && [ -f "$hdrs/Makefile" ]; then
	echo "$hdrs"
	exit 0
fi

# linux-headers-<abi> depends on linux-kbuild-<major> of its own version.
kbuild=$(apt-cache depends "linux-headers-$abi=$ver" 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-kbuild-[^ ]*\)$/\1/p' | head -n 1)
[ -n "$kbuild" ] || kbuild=linux-kbuild-6.1

log "fetching linux-headers-$abi $common $kbuild ($ver)"
mkdir -p "$dir"
rm -rf "$sysroot" "$dir/dl-h" "$stamp"
mkdir -p "$dir/dl-h"
(
	cd "$dir/dl-h"
	# As root into a directory _apt cannot read, apt warns about its
	# sandbox; the download works all the same.
	apt-get download -qq "linux-headers-$abi=$ver" "$common=$ver" \
		"$kbuild=$ver" 2>&1 | grep -v unsandboxed >&2 || true
)
for deb in "$dir"/dl-h/*.deb; do
	[ -f "$deb" ] || die "download failed"
	log "unpacking $(basename "$deb")"
	dpkg-deb -x "$deb" "$sysroot"
done
rm -rf "$dir/dl-h" "$sysroot/usr/share/doc"
[ -f "$hdrs/Makefile" ] || die "no $hdrs/Makefile after unpacking"

# "include /usr/src/linux-headers-<abi>-common/Makefile"
echo "include $sysroot/usr/src/$common/Makefile" >"$hdrs/Makefile"
# Absolute links (lib/modules/<abi>/build, source) into the sysroot.
find "$sysroot" -type l -lname '/*' | while read -r l; do
	ln -sfn "$sysroot$(readlink "$l")" "$l"
done
# The relative scripts and tools links must resolve inside the sysroot.
for l in scripts tools; do
	[ -d "$hdrs/$l/" ] || die "$hdrs/$l does not resolve"
done
if grep -h '/usr/src\|/usr/lib/linux-kbuild' "$hdrs/Makefile" \
	"$hdrs/.kernelvariables" | grep -qv "$sysroot"; then
	die "$hdrs still refers to /usr/src"
fi

echo "$ver" >"$stamp"
log "headers ready"
echo "$hdrs"
