#!/usr/bin/env bash
# Build the test guest's initramfs (uncompressed newc cpio) and print its path.
#
#   scripts/guest-initramfs.sh [-m module]... [-o out.cpio] [file]...
#
#   file        extra files for the guest: *.ko go to
#               /lib/modules/<abi>/extra/ (depmod'ed, so "modprobe iscsi_hba"
#               works, dependencies included); any other file goes to
#               /usr/bin/ (ELF binaries with the shared libraries they need)
#   -m module   an extra in-tree module by name (e.g. -m scsi_debug), with
#               its dependencies; not loaded at boot
#   -o path     write there instead of the cache
#
# Contents: busybox (all applets), the base modules with their modules.dep
# closure (loaded by /init at boot: see BOOT_MODULES), static fio,
# sg3-utils and e2fsprogs tools, open-iscsi's iscsiadm, udevadm and the
# persistent-storage rules, with their libraries from bookworm,
# guest/linux's iscsi-hba-ctl when it has been built, /init and /tests/
# (tests/guest/initramfs/ and tests/guest/scripts/).
#
# Inputs come from scripts/guest-image.sh (run first if needed).  The result
# is cached under $ISCSI_HBA_CACHE/guest/<abi>/initramfs/<hash>.cpio, the
# hash covering every input, so an unchanged call costs one hash.
set -Eeuo pipefail
shopt -s nullglob

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}

log() { echo "guest-initramfs: $*" >&2; }
die() { log "$*"; exit 1; }
# set -e alone exits silently; say where
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

# Loaded by /init at every boot, in this order.  The crc32c, crct10dif
# and crc64-rocksoft implementations are found through the crypto API, not
# as module dependencies, so they are named here, first.
BOOT_MODULES=(
    crc32c_intel crc32c_generic crct10dif_pclmul crct10dif_generic crc64_rocksoft_generic
    scsi_mod sd_mod sg
    virtio_pci virtio_scsi
    jbd2 ext4
)
# Shipped (with dependencies) but not loaded: for drivers that want them.
EXTRA_MODULES=(scsi_transport_iscsi)

TOOLS_SBIN=(mke2fs e2fsck dumpe2fs tune2fs)
TOOLS_LINKS=(mkfs.ext4:mke2fs mkfs.ext2:mke2fs fsck.ext4:e2fsck fsck.ext2:e2fsck)
LIB_DIRS=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu)

EXTRA_FILES=()
EXTRA_NAMES=()
OUT=
parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            -m) EXTRA_NAMES+=("$2"); shift 2 ;;
            -o) OUT=$2; shift 2 ;;
            -h|--help) sed -n '2,/^set -/p' "$0" | sed '$d'; exit 0 ;;
            -*) die "unknown option $1" ;;
            *) [ -f "$1" ] || die "no such file: $1"
               EXTRA_FILES+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
        esac
    done
}

load_env() {
    local env
    # its stdout is the env file: NAME=path lines
    env=$(bash "$TOP/scripts/guest-image.sh") || die "scripts/guest-image.sh failed"
    eval "$env"
    : "${KERNEL_ABI:?}" "${MODULES_ROOT:?}" "${MODULES_DIR:?}" "${BUSYBOX:?}" "${FIO:?}" "${TOOLS_ROOT:?}"
}

# iscsi-hba-ctl from the driver build, if it has been built.
find_ctl_tool() {
    [ -d "$TOP/guest/linux" ] || return 0
    find "$TOP/guest/linux" -maxdepth 3 -name iscsi-hba-ctl -type f -perm -u+x 2>/dev/null | head -n 1
}

# Everything that ends up in the image, hashed: a changed test script, .ko
# or tool gives a new file name, an unchanged set reuses the cached image.
input_hash() {
    {
        echo "${BOOT_MODULES[*]} ${EXTRA_MODULES[*]} ${EXTRA_NAMES[*]}"
        cat "$CACHE/guest/env"
        # contents and base names only: the same files reached by another
        # path give the same image
        local f
        for f in "$TOP/scripts/guest-initramfs.sh" "$TOP"/tests/guest/initramfs/* \
                 "$TOP"/tests/guest/scripts/* ${EXTRA_FILES[@]+"${EXTRA_FILES[@]}"} \
                 ${CTL_TOOL:+"$CTL_TOOL"}; do
            echo "$(basename "$f") $(sha256sum < "$f")"
        done
    } | sha256sum | cut -c1-16
}

# ---- staging ---------------------------------------------------------------

install_busybox() {
    local stage=$1 applet
    install -D -m 755 "$BUSYBOX" "$stage/bin/busybox"
    # every applet as a symlink, except busybox itself (a link onto
    # itself would replace the binary)
    while read -r applet; do
        [ "$applet" = bin/busybox ] && continue
        mkdir -p "$stage/$(dirname "$applet")"
        ln -sfn /bin/busybox "$stage/$applet"
    done < <("$BUSYBOX" --list-full)
}

# Absolute path of a module file and of its dependencies (softdeps too),
# in load order, as the sysroot's modules.dep knows them.
module_closure() {
    local m
    for m in "$@"; do
        modprobe -d "$MODULES_ROOT" -S "$KERNEL_ABI" --show-depends "$m" ||
            die "module $m not found for $KERNEL_ABI"
    done | awk '$1 == "insmod" { print $2 }'
}

install_modules() {
    local stage=$1 mdir=$1/lib/modules/$KERNEL_ABI ko rel deps f
    mkdir -p "$mdir/extra"
    local names=("${BOOT_MODULES[@]}" "${EXTRA_MODULES[@]}" ${EXTRA_NAMES[@]+"${EXTRA_NAMES[@]}"})
    # dependencies of the out-of-tree modules are in-tree ones by name
    for f in ${EXTRA_FILES[@]+"${EXTRA_FILES[@]}"}; do
        case $f in *.ko)
            deps=$(modinfo -F depends "$f" | tr ',' ' ')
            # a module built against other headers is a mistake to catch here
            local vm
            vm=$(modinfo -F vermagic "$f" | awk '{ print $1 }')
            [ "$vm" = "$KERNEL_ABI" ] || die "$f was built for '$vm', the guest kernel is $KERNEL_ABI"
            for ko in $deps; do
                # a dependency among the extra .ko files themselves is fine
                printf '%s\n' "${EXTRA_FILES[@]}" | grep -q "/$ko.ko$" || names+=("$ko")
            done
            cp "$f" "$mdir/extra/"
        esac
    done
    while read -r ko; do
        rel=${ko#"$MODULES_DIR"/}
        install -D -m 644 "$ko" "$mdir/$rel"
    done < <(module_closure "${names[@]}" | sort -u)
    cp "$MODULES_DIR"/modules.{builtin,builtin.modinfo,order} "$mdir/"
    depmod -b "$stage" "$KERNEL_ABI"
    printf '%s\n' "${BOOT_MODULES[@]}" > "$stage/etc/guest-modules"
}

# Where a library named by DT_NEEDED lives: bookworm's packages unpacked
# in TOOLS_ROOT first, the host's (also bookworm) only as a fallback for
# tools built here, such as iscsi-hba-ctl.
find_library() {
    local name=$1 d p
    for d in "${LIB_DIRS[@]}"; do
        p=$TOOLS_ROOT/$d/$name
        if [ -e "$p" ]; then
            # absolute symlinks would lead out of the tree onto the host
            case $(readlink -f "$p") in "$TOOLS_ROOT"/*) echo "$p"; return ;; esac
        fi
    done
    for d in "${LIB_DIRS[@]}"; do
        p=/$d/$name
        if [ -e "$p" ]; then
            log "note: $name taken from the host"
            echo "$p"
            return
        fi
    done
    return 1
}

needed_libs() {
    readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

# Copy an ELF file and, recursively, the libraries it needs into the stage.
install_elf() {
    local stage=$1 src=$2 dest=$3 path
    install -D -m 755 "$src" "$stage/$dest"
    install_elf_libs "$stage" "$src"
    # the program interpreter, /lib64/ld-linux-x86-64.so.2
    if readelf -l "$src" 2>/dev/null | grep -q 'program interpreter'; then
        if [ ! -e "$stage/lib64/ld-linux-x86-64.so.2" ]; then
            path=$(find_library ld-linux-x86-64.so.2) || die "no ld-linux-x86-64.so.2"
            install -D -m 755 "$(readlink -f "$path")" "$stage/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
            mkdir -p "$stage/lib64"
            ln -sfn /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$stage/lib64/ld-linux-x86-64.so.2"
        fi
    fi
}

install_elf_libs() {
    local stage=$1 src=$2 lib path
    for lib in $(needed_libs "$src"); do
        [ -e "$stage/lib/x86_64-linux-gnu/$lib" ] && continue
        path=$(find_library "$lib") || die "no $lib for $src"
        install -D -m 755 "$(readlink -f "$path")" "$stage/lib/x86_64-linux-gnu/$lib"
        install_elf_libs "$stage" "$path"
    done
}

install_tools() {
    local stage=$1 f t
    install -D -m 755 "$FIO" "$stage/usr/bin/fio"
    # sg3-utils: every sg_* and scsi_* program (about 5 MB in all)
    for f in "$TOOLS_ROOT"/usr/bin/sg_* "$TOOLS_ROOT"/usr/bin/sginfo "$TOOLS_ROOT"/usr/bin/scsi_*; do
        [ -f "$f" ] && [ ! -L "$f" ] || continue
        head -c 4 "$f" | grep -q ELF || continue
        install_elf "$stage" "$f" "usr/bin/$(basename "$f")"
    done
    # e2fsprogs; real binaries replace busybox's applet links
    for t in "${TOOLS_SBIN[@]}"; do
        rm -f "$stage/sbin/$t"
        install_elf "$stage" "$TOOLS_ROOT/sbin/$t" "sbin/$t"
    done
    for t in "${TOOLS_LINKS[@]}"; do
        ln -sfn "${t#*:}" "$stage/sbin/${t%%:*}"
    done
    install -D -m 644 "$TOOLS_ROOT/etc/mke2fs.conf" "$stage/etc/mke2fs.conf"
    # open-iscsi's iscsiadm (sessions, flash nodes of offload HBAs) and
    # udevadm with the rules that name disks in /dev/disk/by-path: the
    # guest runs no udev daemon, tests run "udevadm test" as udev would
    install_elf "$stage" "$TOOLS_ROOT/sbin/iscsiadm" "sbin/iscsiadm"
    install -D -m 644 "$TOOLS_ROOT/etc/iscsi/iscsid.conf" "$stage/etc/iscsi/iscsid.conf"
    install_elf "$stage" "$TOOLS_ROOT/bin/udevadm" "bin/udevadm"
    install -D -m 644 "$TOOLS_ROOT/lib/udev/rules.d/60-persistent-storage.rules" \
        "$stage/lib/udev/rules.d/60-persistent-storage.rules"
    for f in ${EXTRA_FILES[@]+"${EXTRA_FILES[@]}"} ${CTL_TOOL:+"$CTL_TOOL"}; do
        case $f in *.ko) continue ;; esac
        rm -f "$stage/usr/bin/$(basename "$f")"
        if head -c 4 "$f" | grep -q ELF; then
            install_elf "$stage" "$f" "usr/bin/$(basename "$f")"
        else
            install -D -m 755 "$f" "$stage/usr/bin/$(basename "$f")"
        fi
    done
}

install_init_and_tests() {
    local stage=$1
    install -m 755 "$TOP/tests/guest/initramfs/init" "$stage/init"
    install -D -m 644 "$TOP/tests/guest/initramfs/lib.sh" "$stage/tests/lib.sh"
    cp "$TOP"/tests/guest/scripts/* "$stage/tests/" 2>/dev/null || true
    echo "root:x:0:0:root:/root:/bin/sh" > "$stage/etc/passwd"
    echo "root:x:0:" > "$stage/etc/group"
    cat > "$stage/etc/guest-release" <<INFO
KERNEL_ABI=$KERNEL_ABI
BUILT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EXTRA=${EXTRA_FILES[*]:-} ${CTL_TOOL:-}
INFO
}

# newc cpio by busybox's own cpio (the host has none), owned by root.
# Left uncompressed on purpose: inflating 15 MB in a TCG guest costs more
# than 2 s of boot (measured 3.6 s vs 5.3-8.5 s boot to poweroff).
pack() {
    local stage=$1 out=$2
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
     "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) > "$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
}

# Keep the newest few images per ABI; the rest were for older inputs.
prune_old_images() {
    local dir=$1
    find "$dir" -name '*.cpio' -printf '%T@ %p\n' | sort -rn |
        tail -n +9 | cut -d' ' -f2- | xargs -r rm -f
}

main() {
    parse_args "$@"
    load_env
    CTL_TOOL=$(find_ctl_tool)
    local dir=$CACHE/guest/$KERNEL_ABI/initramfs hash out
    mkdir -p "$dir"
    hash=$(input_hash)
    out=${OUT:-$dir/$hash.cpio}
    if [ -z "$OUT" ] && [ -f "$out" ]; then
        echo "$out"
        return
    fi
    STAGE=$(mktemp -d "${TMPDIR:-/tmp}/guest-initramfs.XXXXXX")
    trap 'rm -rf "$STAGE"' EXIT
    mkdir -p "$STAGE"/{proc,sys,dev,tmp,mnt,root,run,etc,tests}
    install_busybox "$STAGE"
    install_modules "$STAGE"
    install_tools "$STAGE"
    install_init_and_tests "$STAGE"
    pack "$STAGE" "$out"
    [ -n "$OUT" ] || prune_old_images "$dir"
    log "built $out ($(du -h "$out" | cut -f1))"
    echo "$out"
}

main "$@"
