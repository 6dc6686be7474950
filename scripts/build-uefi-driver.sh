#!/usr/bin/env bash
# Build the iscsi-hba UEFI driver (guest/uefi) and its PCI option ROM.
#
#   scripts/build-uefi-driver.sh    prints UEFI_ROM=<path to efi-iscsi-hba.rom>
#
# Source: Debian bookworm's edk2 package (apt-get source); only BaseTools and
# the one module are built, never a firmware image.  The driver includes the
# project's ABI header include/hw/iscsi-hba/iscsi-hba-abi.h unchanged (copied
# into the package's Include/).  EfiRom wraps IscsiHbaDxe.efi into an option
# ROM with the device's PCI ids; the device loads it as its default romfile,
# and Debian's unmodified OVMF runs it.
#
# Cache ($ISCSI_HBA_CACHE/edk2/):
#   src/edk2-<ver>/        unpacked source with BaseTools built (once, ~1-2 min)
#   ws-<ver>/              build workspace, kept: a rebuild recompiles only
#                          what changed (~15 s)
#   efi-iscsi-hba.rom      the result, also linked into the QEMU builds' data
#                          directories (qemu-bundle) that $ISCSI_HBA_CACHE/env
#                          and env-asan name, so the default romfile resolves
#   efi-iscsi-hba.rom.key  hash of its inputs: an unchanged call costs a hash
set -Eeuo pipefail
shopt -s inherit_errexit

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
EDK=$CACHE/edk2
PKG=$TOP/guest/uefi/IscsiHbaPkg
ABI=$TOP/include/hw/iscsi-hba/iscsi-hba-abi.h
ROM_NAME=efi-iscsi-hba.rom

log() { echo "build-uefi-driver: $*" >&2; }
die() { log "$*"; exit 1; }
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR
# shellcheck source=scripts/debian-source.sh
. "$TOP/scripts/debian-source.sh"

install_tools() {
    local p missing=()
    for p in gcc g++ make nasm uuid-dev python3; do
        dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    log "installing ${missing[*]}"
    apt-get install -y -qq "${missing[@]}" > /dev/null
}

# Debian's source tree, unpacked once; offline, the newest one cached.
fetch_source() {
    debian_source edk2 bookworm "$EDK" || die "no edk2 source"
}

build_basetools() {
    local src=$1
    [ -f "$src/.basetools-built" ] && return
    log "building edk2 BaseTools (once per edk2 version, 1-2 min)"
    if ! make -C "$src/BaseTools" -j"$(nproc)" > "$src/basetools.log" 2>&1; then
        tail -n 30 "$src/basetools.log" >&2
        die "BaseTools build failed: $src/basetools.log"
    fi
    touch "$src/.basetools-built"
}

# The package as edk2 wants it: IscsiHbaPkg/ in a workspace, with the ABI
# header under its Include/.  cp -a keeps timestamps, so unchanged files
# are not recompiled.
prepare_workspace() {
    local ws=$1
    mkdir -p "$ws/IscsiHbaPkg/Include/hw/iscsi-hba"
    cp -a "$PKG/." "$ws/IscsiHbaPkg/"
    cp -a "$ABI" "$ws/IscsiHbaPkg/Include/hw/iscsi-hba/"
}

build_module() {
    local src=$1 ws=$2 log=$2/build.log
    # edksetup.sh reads its arguments from "$@" and sets up Conf/ in the
    # workspace; run it and build in a subshell of its own.
    if ! (
        set +eu
        export WORKSPACE=$ws PACKAGES_PATH=$src:$ws EDK_TOOLS_PATH=$src/BaseTools
        [ -x /usr/bin/python3 ] && export PYTHON_COMMAND=/usr/bin/python3
        cd "$ws" && set -- && . "$src/edksetup.sh" > /dev/null || exit 1
        build -a X64 -t GCC5 -b RELEASE -n "$(nproc)" \
            -p IscsiHbaPkg/IscsiHbaPkg.dsc -m IscsiHbaPkg/IscsiHbaDxe/IscsiHbaDxe.inf
    ) > "$log" 2>&1; then
        grep -E ': (error|warning)' "$log" | head -n 30 >&2 || tail -n 30 "$log" >&2
        die "driver build failed: $log"
    fi
}

# PCI ids from the ABI header, so the ROM matches the device.
abi_id() {
    awk -v n="$1" '$1 == "#define" && $2 == n { print $3; exit }' "$ABI"
}

make_rom() {
    local src=$1 efi=$2 rom=$3
    "$src/BaseTools/Source/C/bin/EfiRom" -o "$rom.tmp" \
        -f "$(abi_id ISCSI_HBA_PCI_VENDOR_ID)" -i "$(abi_id ISCSI_HBA_PCI_DEVICE_ID)" \
        -l "$(abi_id ISCSI_HBA_PCI_CLASS)" -ec "$efi" > /dev/null
    mv -f "$rom.tmp" "$rom"
}

# QEMU run from its build tree finds default option ROMs in
# qemu-bundle/<prefix>/share/qemu (scripts/build-qemu.sh links the others).
# Both flavors: a sanitizer build made before the ROM existed would
# otherwise warn about the missing default romfile for good.
link_into_qemu() {
    local rom=$1 env build datadir
    for env in "$CACHE/env" "$CACHE/env-asan"; do
        [ -f "$env" ] || continue
        # shellcheck source=/dev/null
        build=$(. "$env" && echo "${QEMU_BUILD_DIR:-}")
        [ -d "$build/qemu-bundle" ] || continue
        datadir=$(find "$build/qemu-bundle" -type d -path '*/share/qemu' | head -n 1)
        [ -z "$datadir" ] || ln -sfn "$rom" "$datadir/$ROM_NAME"
    done
}

input_hash() {
    {
        echo "$1"
        cat "$0" "$ABI"
        find "$PKG" -type f | LC_ALL=C sort | xargs cat
    } | sha256sum | cut -c1-16
}

main() {
    local src ws efi key start=$SECONDS
    install_tools
    src=$(fetch_source)
    key=$(input_hash "$(basename "$src")")
    if [ -f "$EDK/$ROM_NAME" ] && [ "$(cat "$EDK/$ROM_NAME.key" 2>/dev/null)" = "$key" ]; then
        link_into_qemu "$EDK/$ROM_NAME"
        echo "UEFI_ROM=$EDK/$ROM_NAME"
        return
    fi
    build_basetools "$src"
    ws=$EDK/ws-$(basename "$src")
    prepare_workspace "$ws"
    build_module "$src" "$ws"
    efi=$ws/Build/IscsiHba/RELEASE_GCC5/X64/IscsiHbaDxe.efi
    [ -f "$efi" ] || die "no $efi after the build"
    make_rom "$src" "$efi" "$EDK/$ROM_NAME"
    echo "$key" > "$EDK/$ROM_NAME.key"
    link_into_qemu "$EDK/$ROM_NAME"
    log "done in $((SECONDS - start))s: $(stat -c %s "$efi") bytes .efi, $(stat -c %s "$EDK/$ROM_NAME") bytes ROM"
    echo "UEFI_ROM=$EDK/$ROM_NAME"
}

main "$@"
