#!/usr/bin/env bash
# Build the Windows Storport miniport (guest/windows) with Debian's
# mingw-w64: iscsihba.sys, warning-free (-Werror), into the cache.
#
#   scripts/build-windows-driver.sh [--print-path]
#
# Installs gcc-mingw-w64-x86-64 with apt-get if it is missing.  Output:
# $ISCSI_HBA_CACHE/windows/<key>/iscsihba.sys, where <key> is the
# compiler version plus a hash of every input, so an unchanged tree is
# not rebuilt (incremental) and a changed one never reuses a stale .sys.
# Prints "build-windows-driver: <path> (<bytes> bytes, <s>s)".
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
SRC=$TOP/guest/windows
CC=x86_64-w64-mingw32-gcc
DLLTOOL=x86_64-w64-mingw32-dlltool
start=$SECONDS

if ! command -v "$CC" > /dev/null || ! command -v "$DLLTOOL" > /dev/null; then
    echo "build-windows-driver: installing mingw-w64 (gcc-mingw-w64-x86-64)"
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y \
        --no-install-recommends gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 \
        mingw-w64-x86-64-dev > /dev/null
fi

inputs=$(cd "$TOP" && ls guest/windows/src/*.[ch] guest/windows/include/*.h \
         guest/windows/storport.def include/hw/iscsi-hba/iscsi-hba-abi.h \
         scripts/build-windows-driver.sh)
key=$( { "$CC" --version | head -n 1; (cd "$TOP" && cat $inputs); } |
       sha256sum | cut -c1-16)
out=$CACHE/windows/$key
sys=$out/iscsihba.sys

if [ ! -f "$sys" ]; then
    tmp=$out.tmp.$$
    rm -rf "$tmp" && mkdir -p "$tmp"
    # Kernel code: no red zone, no stack protector (no __security_cookie),
    # no libc (memcpy/memset come from ntoskrnl.exe).
    cflags=(-std=gnu11 -O2 -Wall -Wextra -Wpedantic -Werror
            -Wmissing-prototypes -Wstrict-prototypes -Wshadow
            -D_AMD64_ -D_WIN64 -ffreestanding -fno-stack-protector
            -mno-red-zone -fno-builtin -fno-asynchronous-unwind-tables
            -I"$SRC/include" -I"$SRC/src" -I"$TOP/include")
    objs=()
    for c in "$SRC"/src/*.c; do
        o=$tmp/$(basename "$c" .c).o
        "$CC" "${cflags[@]}" -c "$c" -o "$o"
        objs+=("$o")
    done
    "$DLLTOOL" -d "$SRC/storport.def" -l "$tmp/libstorport.a"
    "$CC" -shared -nostdlib -nostartfiles -Wl,--subsystem,native \
        -Wl,--image-base,0x140000000 -Wl,--dynamicbase -Wl,--nxcompat \
        -Wl,--file-alignment,0x200 -Wl,--section-alignment,0x1000 \
        -Wl,--exclude-all-symbols -Wl,--fatal-warnings -Wl,--no-insert-timestamp -s \
        -Wl,--entry,DriverEntry -o "$tmp/iscsihba.sys" "${objs[@]}" \
        -L"$tmp" -lstorport -lntoskrnl -lhal -lgcc
    # A native driver: check what the loader will see.
    objdump -p "$tmp/iscsihba.sys" > "$tmp/objdump.txt"
    grep -qE 'Subsystem[[:space:]]+0+1[[:space:]]+\(NT native\)' "$tmp/objdump.txt" ||
        { echo "build-windows-driver: not a native image" >&2; exit 1; }
    grep -q 'DLL Name: storport.sys' "$tmp/objdump.txt" ||
        { echo "build-windows-driver: storport.sys not imported" >&2; exit 1; }
    mkdir -p "$out"
    mv "$tmp"/* "$out"/ && rmdir "$tmp"
    built="built"
else
    built="cached"
fi
[ "${1:-}" != --print-path ] || { echo "$sys"; exit 0; }
echo "build-windows-driver: $sys ($(stat -c %s "$sys") bytes, $built," \
     "$((SECONDS - start))s)"
