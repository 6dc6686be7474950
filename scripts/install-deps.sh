#!/usr/bin/env bash
# Install what building and testing iscsi-hba needs on Debian 12 (bookworm).
#
# Idempotent: packages already present are skipped, so a warm machine pays
# one dpkg query.  Adds apt sources, beside the existing bookworm ones:
#   - bookworm-backports (deb + deb-src): meson >= 1.5 and python3-pycotap,
#     which QEMU 10 needs;
#   - trixie deb-src only: the QEMU 10.0 source package.  No trixie binary
#     packages are ever installed;
#   - sid deb-src only: the QEMU 10.2 source package (the second QEMU
#     release the device builds in).  No sid binary package is installed;
#   - bookworm deb-src: the libiscsi source package, built with
#     AddressSanitizer for the sanitizer build.
#
#   scripts/install-deps.sh          # build, run and test the normal build
#   scripts/install-deps.sh --asan   # plus the sanitizer/fuzzing build
set -euo pipefail

ASAN=0
[ "${1:-}" != --asan ] || ASAN=1

PKGS=(
    build-essential dpkg-dev pkg-config ninja-build ccache flex bison
    python3-venv libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev libiscsi-dev
    libiscsi-bin tgt seabios perl xz-utils valgrind
    fdisk dosfstools mtools e2fsprogs grub-pc-bin grub-efi-amd64-bin grub-common
)
BACKPORT_PKGS=(meson python3-pycotap)
# The sanitizer build: Debian 12's clang-16 has libFuzzer; autotools for
# libiscsi; the libiscsi build dependencies Debian uses; llvm-16 for
# llvm-symbolizer (sanitizer reports with function names and lines).
ASAN_PKGS=(clang-16 libclang-rt-16-dev lld-16 llvm-16 autoconf automake libtool libgcrypt20-dev)
[ "$ASAN" = 0 ] || PKGS+=("${ASAN_PKGS[@]}")

SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi

add_source() {
    local file=$1 body=$2
    if [ ! -f "$file" ] || [ "$(cat "$file")" != "$body" ]; then
        printf '%s\n' "$body" | $SUDO tee "$file" >/dev/null
        NEED_UPDATE=1
    fi
}

missing_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed$' || echo "$p"
    done
}

meson_new_enough() {
    local v
    v=$(dpkg-query -W -f='${Version}' meson 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge 1.5
}

NEED_UPDATE=0
add_source /etc/apt/sources.list.d/iscsi-hba-backports.sources \
"Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
# A Debian suite whose source packages (deb-src) apt may fetch.
add_source_suite() {
    add_source "/etc/apt/sources.list.d/iscsi-hba-$1-src.sources" \
"Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $1
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
}
add_source_suite trixie
add_source_suite sid
add_source_suite bookworm

# A stamp keeps warm runs from touching the network at all.
STAMP=/var/lib/apt/lists/.iscsi-hba-updated
if [ "$NEED_UPDATE" = 1 ] || [ ! -f "$STAMP" ]; then
    $SUDO apt-get update -qq -o DPkg::Lock::Timeout=600
    $SUDO touch "$STAMP"
fi

export DEBIAN_FRONTEND=noninteractive
# Other users of apt on the machine: wait for the lock instead of failing.
APT_WAIT=(-o DPkg::Lock::Timeout=600)
mapfile -t missing < <(missing_pkgs "${PKGS[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    $SUDO apt-get install -y -qq "${APT_WAIT[@]}" --no-install-recommends "${missing[@]}"
fi
# ccache's compiler links (/usr/lib/ccache/clang-16) appear only after this.
if [ "$ASAN" = 1 ] && [ ! -e /usr/lib/ccache/clang-16 ]; then
    $SUDO /usr/sbin/update-ccache-symlinks
fi
mapfile -t missing < <(missing_pkgs "${BACKPORT_PKGS[@]}")
if [ "${#missing[@]}" -gt 0 ] || ! meson_new_enough; then
    echo "install-deps: installing ${BACKPORT_PKGS[*]} from bookworm-backports"
    $SUDO apt-get install -y -qq "${APT_WAIT[@]}" --no-install-recommends \
        -t bookworm-backports "${BACKPORT_PKGS[@]}"
fi
