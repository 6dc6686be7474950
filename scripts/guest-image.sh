#!/usr/bin/env bash
# Fetch and build what a Linux test guest needs, from Debian bookworm
# packages only, without installing any of them on the host:
#
#   scripts/guest-image.sh            # newest bookworm kernel ABI
#   KERNEL_ABI=6.1.0-56-amd64 scripts/guest-image.sh   # a given ABI
#   scripts/guest-image.sh --force   # re-check apt even if nothing changed
#
# Everything lives in $ISCSI_HBA_CACHE/guest (default ~/.cache/iscsi-hba):
#   <abi>/kernel/          linux-image-<abi>-unsigned unpacked; depmod -b run
#                          on it (lib/modules/<abi>/modules.dep)
#   <abi>/vmlinux          uncompressed ELF kernel, booted through QEMU's
#                          PVH entry (about twice as fast as the bzImage)
#   <abi>/headers/         linux-headers + linux-kbuild unpacked, Makefile
#                          pointed into the sysroot: `make -C $HEADERS_DIR M=...`
#                          (by guest/linux/fetch-headers.sh when that exists,
#                          the driver's own way; same layout otherwise)
#   userland/busybox-<ver>/busybox        busybox-static's binary
#   userland/fio-<ver>/fio                static fio built from Debian's source
#   userland/tools-<hash>/                sg3-utils, e2fsprogs and every shared
#                                         library they need, unpacked
# and the file $ISCSI_HBA_CACHE/guest/env naming them, for
# scripts/guest-initramfs.sh and tests/guest/run.sh to source.
#
# Idempotent: every step leaves a stamp holding the package version it
# unpacked, so a warm run touches neither the network nor the disk much.
# The kernel ABI moves with bookworm security updates (only the newest is
# kept in the archive), so it is discovered from apt, never hard-coded.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
GUEST=$CACHE/guest
mkdir -p "$GUEST/userland"

log() { echo "guest-image: [${SECONDS}s] $*" >&2; }
die() { log "$*"; exit 1; }
# set -e alone exits silently; say where
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# Host tools: apt-get source/dpkg-source (dpkg-dev), xz for the kernel
# payload, depmod/modinfo (kmod), a compiler for fio, readelf (binutils)
# for library closures, and zlib's static library for fio.
HOST_PKGS=(dpkg-dev xz-utils zstd kmod build-essential binutils zlib1g-dev util-linux)

install_host_tools() {
    local p missing=()
    for p in "${HOST_PKGS[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed$' || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing host tools: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# fio is built from bookworm's *source* package: add a deb-src entry for
# bookworm beside the binary ones (as install-deps.sh does for trixie).
ensure_bookworm_deb_src() {
    local file=/etc/apt/sources.list.d/iscsi-hba-bookworm-src.sources body
    body="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ ! -f "$file" ] || [ "$(cat "$file")" != "$body" ]; then
        printf '%s\n' "$body" | $SUDO tee "$file" >/dev/null
        log "added $file; apt-get update"
        $SUDO apt-get update -qq >&2
        APT_UPDATED=1
    fi
}

APT_UPDATED=0
# apt's lists may be older than the archive (a security update removed the
# version they name): update once, then retry.
apt_retry() {
    "$@" && return 0
    [ "$APT_UPDATED" = 1 ] && return 1
    log "apt failed; apt-get update and retry"
    $SUDO apt-get update -qq >&2
    APT_UPDATED=1
    "$@"
}

# apt-get download into the current directory.  Run as root into a
# directory _apt cannot read, apt warns about its sandbox: drop that line.
apt_download() {
    apt-get download -qq "$@" 2> >(grep -v unsandboxed >&2 || true)
}

# apt-cache reads all lists (with deb-src ones, about a second a call):
# ask for every package's candidate in one call, remember the answers.
declare -A CANDIDATE=()
load_candidates() {
    local pkg='' line
    while IFS= read -r line; do
        case $line in
            [a-z0-9]*:) pkg=${line%:} ;;
            *Candidate:*) CANDIDATE[$pkg]=${line##* } ;;
        esac
    done < <(apt-cache policy "$@" 2>/dev/null)
}

candidate_version() {
    [ -n "${CANDIDATE[$1]+set}" ] || load_candidates "$1"
    echo "${CANDIDATE[$1]:-}"
}

# linux-image-amd64's candidate (bookworm or bookworm-security, never
# backports: that has priority 100) depends on linux-image-<abi>.
discover_abi() {
    local ver abi
    if [ -n "${KERNEL_ABI:-}" ]; then
        echo "$KERNEL_ABI"
        return
    fi
    ver=$(candidate_version linux-image-amd64)
    if [ -n "$ver" ] && [ "$ver" != "(none)" ]; then
        abi=$(apt-cache show "linux-image-amd64=$ver" 2>/dev/null |
              sed -n 's/^Depends: linux-image-\([^ ,]*\).*/\1/p' | head -n 1)
        abi=${abi%-unsigned}
        if [ -n "$abi" ]; then
            echo "$abi"
            return
        fi
    fi
    # No apt lists: the newest kernel this cache already holds.
    abi=$(cd "$GUEST" && ls -d */.kernel-done 2>/dev/null | sed 's,/.*,,' | sort -V | tail -n 1)
    [ -n "$abi" ] || die "cannot discover the bookworm kernel ABI from apt"
    log "apt knows no linux-image-amd64; using cached kernel $abi"
    echo "$abi"
}

# The kernel's own scripts/extract-vmlinux does the same: find the payload's
# magic inside the bzImage, decompress from there, keep what is an ELF.
extract_vmlinux() {
    local vmlinuz=$1 out=$2 off magic tool
    for magic in xz zstd gzip; do
        case $magic in
            xz)   tool="xz -dc --single-stream"; off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1) ;;
            zstd) tool="zstd -dcq";              off=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$vmlinuz" | head -n 1 | cut -d: -f1) ;;
            gzip) tool="gzip -dcq";              off=$(LC_ALL=C grep -obUaP '\x1f\x8b\x08' "$vmlinuz" | head -n 1 | cut -d: -f1) ;;
        esac
        [ -n "$off" ] || continue
        tail -c +$((off + 1)) "$vmlinuz" | $tool > "$out.tmp" 2>/dev/null || true
        if [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
            mv "$out.tmp" "$out"
            return 0
        fi
    done
    rm -f "$out.tmp"
    die "no ELF kernel found inside $vmlinuz"
}

# linux-image-<abi>-unsigned: modules without signatures (they load with a
# taint only), so out-of-tree modules behave like the in-tree ones.
fetch_kernel() {
    local abi=$1 dir=$GUEST/$1 pkg ver
    pkg=linux-image-$abi-unsigned
    ver=$(candidate_version "$pkg")
    if [ -f "$dir/.kernel-done" ] && { [ -z "$ver" ] || [ "$ver" = "(none)" ] ||
                                       [ "$(cat "$dir/.kernel-done")" = "$ver" ]; }; then
        return 0
    fi
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "apt knows no $pkg"
    log "fetching $pkg $ver"
    rm -rf "$dir/kernel" "$dir/vmlinux" "$dir/dl"
    mkdir -p "$dir/dl"
    (cd "$dir/dl" && apt_retry apt_download "$pkg=$ver")
    dpkg-deb -x "$dir"/dl/*.deb "$dir/kernel"
    rm -rf "$dir/dl" "$dir/kernel/usr/share/doc"
    # The .deb ships no modules.dep: generate it in the sysroot.
    depmod -b "$dir/kernel" "$abi"
    extract_vmlinux "$dir/kernel/boot/vmlinuz-$abi" "$dir/vmlinux"
    echo "$ver" > "$dir/.kernel-done"
}

# linux-headers-<abi> (+ -common, + linux-kbuild-<major>) unpacked into a
# sysroot.  Its Makefile is one line, "include /usr/src/...-common/Makefile":
# point it into the sysroot; the scripts/ and tools/ symlinks are relative.
fetch_headers_ourselves() {
    local abi=$1 dir=$GUEST/$1 ver pkgs common kbuild
    ver=$(candidate_version "linux-headers-$abi")
    if [ -f "$dir/.headers-done" ] && { [ -z "$ver" ] || [ "$ver" = "(none)" ] ||
                                        [ "$(cat "$dir/.headers-done")" = "$ver" ]; }; then
        return 0
    fi
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "apt knows no linux-headers-$abi"
    common=linux-headers-${abi%-amd64}-common
    kbuild=$(apt-cache depends "linux-headers-$abi=$ver" 2>/dev/null |
             sed -n 's/^ *Depends: \(linux-kbuild-[^ ]*\)$/\1/p' | head -n 1)
    [ -n "$kbuild" ] || die "cannot tell which linux-kbuild linux-headers-$abi needs"
    pkgs=("linux-headers-$abi=$ver" "$common=$ver" "$kbuild=$ver")
    log "fetching ${pkgs[*]}"
    rm -rf "$dir/headers" "$dir/dl-h"
    mkdir -p "$dir/dl-h"
    (cd "$dir/dl-h" && apt_retry apt_download "${pkgs[@]}")
    local deb
    for deb in "$dir"/dl-h/*.deb; do
        dpkg-deb -x "$deb" "$dir/headers"
    done
    rm -rf "$dir/dl-h" "$dir/headers/usr/share/doc"
    echo "include $dir/headers/usr/src/$common/Makefile" \
        > "$dir/headers/usr/src/linux-headers-$abi/Makefile"
    echo "$ver" > "$dir/.headers-done"
}

# The driver engineer's guest/linux/fetch-headers.sh, when it exists, is
# the one way headers are fetched; it prints the headers directory.
fetch_headers() {
    local abi=$1 helper=$TOP/guest/linux/fetch-headers.sh hdir
    if [ -x "$helper" ] || [ -f "$helper" ]; then
        if hdir=$(KERNEL_ABI=$abi bash "$helper" | tail -n 1) && [ -f "$hdir/Makefile" ]; then
            echo "$hdir"
            return
        fi
        log "$helper gave no headers directory; fetching headers here"
    fi
    fetch_headers_ourselves "$abi"
    echo "$GUEST/$abi/headers/usr/src/linux-headers-$abi"
}

fetch_busybox() {
    local ver dir
    ver=$(candidate_version busybox-static)
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "apt knows no busybox-static"
    dir=$GUEST/userland/busybox-${ver//:/_}
    if [ ! -x "$dir/busybox" ]; then
        log "fetching busybox-static $ver"
        rm -rf "$dir" && mkdir -p "$dir/dl"
        (cd "$dir/dl" && apt_retry apt_download "busybox-static=$ver" &&
         dpkg-deb -x ./*.deb root && cp root/bin/busybox "$dir/busybox.tmp")
        rm -rf "$dir/dl"
        mv "$dir/busybox.tmp" "$dir/busybox"
    fi
    echo "$dir/busybox"
}

# A static fio: Debian's binary package drags in ceph/gluster/rdma (81 MB
# of libraries).  Built from bookworm's source package with the optional
# engines off; libaio's static library comes from libaio-dev, unpacked
# into a private prefix.  --disable-native: the guest CPU is TCG's, not
# the host's.  Engines left: psync, libaio, io_uring, sg, ...
FIO_CONFIGURE_ARGS=(
    --build-static --disable-native --disable-numa --disable-rdma
    --disable-rados --disable-rbd --disable-http --disable-gfapi
    --disable-libnfs --disable-pmem --disable-xnvme --disable-libzbc
    --disable-tcmalloc --disable-dfs --disable-shm --disable-lex
)

build_fio() {
    local ver dir aio src probe
    # fio/bookworm: the trixie deb-src entry of install-deps.sh offers a
    # newer fio too.  Asked from an empty directory, apt prints the URIs.
    probe=$(mktemp -d)
    ver=$(cd "$probe" && apt-get source --print-uris -qq fio/bookworm 2>/dev/null |
          awk '$2 ~ /^fio_.*\.dsc$/ { print $2; exit }') || true
    rmdir "$probe"
    ver=${ver#fio_}; ver=${ver%.dsc}
    if [ -z "$ver" ]; then
        # no deb-src lists: whatever fio this cache holds
        dir=$(ls -d "$GUEST"/userland/fio-*/ 2>/dev/null | sort -V | tail -n 1)
        [ -n "$dir" ] && [ -x "$dir/fio" ] || die "no fio source in apt and none cached"
        echo "${dir%/}/fio"
        return
    fi
    dir=$GUEST/userland/fio-${ver//:/_}
    if [ -x "$dir/fio" ]; then
        echo "$dir/fio"
        return
    fi
    log "building static fio $ver from Debian source"
    rm -rf "$dir" && mkdir -p "$dir/dl"
    aio=$dir/aio
    (cd "$dir/dl" && apt_retry apt_download libaio-dev libaio1 &&
     for deb in ./*.deb; do dpkg-deb -x "$deb" "$aio"; done)
    # only the static library, so the link cannot pick the .so
    rm -f "$aio"/usr/lib/*/libaio.so*
    (cd "$dir/dl" && apt_retry apt-get source -qq --download-only fio/bookworm 2> >(grep -v unsandboxed >&2 || true) &&
     dpkg-source -q -x ./fio_*.dsc "$dir/src" >/dev/null 2>&1)
    src=$dir/src
    (cd "$src" &&
     LDFLAGS="-L$(dirname "$(ls "$aio"/usr/lib/*/libaio.a)")" \
        ./configure --extra-cflags="-I$aio/usr/include" "${FIO_CONFIGURE_ARGS[@]}" &&
     make -j"$(nproc)" fio) > "$dir/build.log" 2>&1 || {
        tail -n 30 "$dir/build.log" >&2
        die "fio build failed (log: $dir/build.log)"
    }
    grep -q 'Linux AIO support *yes' "$dir/build.log" || die "fio was built without libaio"
    strip -o "$dir/fio" "$src/fio"
    rm -rf "$src" "$dir/dl" "$aio"
    echo "$dir/fio"
}

# sg3-utils, e2fsprogs, open-iscsi (iscsiadm) and udev (udevadm, the
# persistent-storage rules) are dynamic: unpack them together with the
# packages they directly depend on (libc6, libsgutils2, libext2fs2, ...;
# libpcre2-8-0 is libselinux1's, which udevadm needs).
# guest-initramfs.sh then copies each binary with its DT_NEEDED closure
# resolved inside this tree, never from the host, so the guest's userland
# is exactly bookworm's whatever the host has installed.
TOOLS_PKGS=(sg3-utils e2fsprogs open-iscsi udev libpcre2-8-0)

fetch_tools() {
    local pkgs p d key dir deb
    pkgs=("${TOOLS_PKGS[@]}")
    while read -r d; do pkgs+=("$d"); done < <(
        apt-cache depends "${TOOLS_PKGS[@]}" 2>/dev/null |
        sed -n 's/^ *\(Pre\)\{0,1\}Depends: \([a-z0-9][^ <>]*\)$/\2/p')
    mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
    load_candidates "${pkgs[@]}"
    local pinned=()
    for p in "${pkgs[@]}"; do
        pinned+=("$p=$(candidate_version "$p")")
    done
    key=$(printf '%s\n' "${pinned[@]}" | sha256sum | cut -c1-12)
    dir=$GUEST/userland/tools-$key
    if [ ! -f "$dir/.done" ]; then
        log "fetching ${pkgs[*]}"
        rm -rf "$dir" && mkdir -p "$dir/dl"
        (cd "$dir/dl" && apt_retry apt_download "${pinned[@]}")
        for deb in "$dir"/dl/*.deb; do
            dpkg-deb -x "$deb" "$dir/root"
        done
        rm -rf "$dir/dl" "$dir/root/usr/share/doc" "$dir/root/usr/share/man" "$dir/root/usr/share/locale"
        printf '%s\n' "${pinned[@]}" > "$dir/.done"
    fi
    echo "$dir/root"
}

write_env() {
    local abi=$1 headers=$2 busybox=$3 fio=$4 tools=$5 env=$GUEST/env
    cat > "$env.tmp" <<ENV
KERNEL_ABI=$abi
VMLINUX=$GUEST/$abi/vmlinux
MODULES_ROOT=$GUEST/$abi/kernel
MODULES_DIR=$GUEST/$abi/kernel/lib/modules/$abi
HEADERS_DIR=$headers
BUSYBOX=$busybox
FIO=$fio
TOOLS_ROOT=$tools
ENV
    mv "$env.tmp" "$env"
    cp "$env" "$GUEST/$abi/env"
    log "wrote $env"
    cat "$env"
}

# The outputs depend only on apt's lists, this script and the headers
# helper: when the env file is newer than all of them and names files that
# exist, there is nothing to do (a warm run then costs no apt-cache call).
env_is_current() {
    local env=$GUEST/env var val
    [ -f "$env" ] || return 1
    if [ -n "${KERNEL_ABI:-}" ]; then
        grep -qx "KERNEL_ABI=$KERNEL_ABI" "$env" || return 1
    fi
    [ "$0" -ot "$env" ] || return 1
    [ ! -f "$TOP/guest/linux/fetch-headers.sh" ] || [ "$TOP/guest/linux/fetch-headers.sh" -ot "$env" ] || return 1
    # apt dates list files by the server's Last-Modified: compare ctimes
    [ -z "$(find /var/lib/apt/lists -maxdepth 1 -type f \( -name '*Packages*' -o -name '*Sources*' \) \
            -cnewer "$env" -print -quit 2>/dev/null)" ] || return 1
    while IFS='=' read -r var val; do
        [ "$var" = KERNEL_ABI ] || [ -e "$val" ] || return 1
    done < "$env"
}

main() {
    if [ "${1:-}" != --force ] && env_is_current; then
        cat "$GUEST/env"
        return 0
    fi
    install_host_tools
    ensure_bookworm_deb_src
    # one fetcher at a time per cache; parallel test runs wait here
    exec 9> "$GUEST/.lock"
    flock 9
    local abi headers busybox fio tools
    abi=$(discover_abi)
    log "kernel ABI $abi"
    mkdir -p "$GUEST/$abi"
    load_candidates "linux-image-$abi-unsigned" "linux-headers-$abi" busybox-static
    fetch_kernel "$abi"
    headers=$(fetch_headers "$abi")
    busybox=$(fetch_busybox)
    fio=$(build_fio)
    tools=$(fetch_tools)
    write_env "$abi" "$headers" "$busybox" "$fio" "$tools"
}

main "$@"
