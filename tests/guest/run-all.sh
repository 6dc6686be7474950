#!/usr/bin/env bash
# The guest test suite: boots Linux under QEMU (TCG) once per test.
#
#   tests/guest/run-all.sh [test...]      default: smoke module virtio-fio
#
#   smoke       the iscsi-hba PCI function is visible, the image's tools run
#   module      an out-of-tree module (tests/guest/modules/hello_guest),
#               built against the fetched headers, loads and unloads
#   virtio-fio  control without the iscsi-hba driver: fio and ext4 on a
#               virtio-scsi disk served by QEMU's libiscsi from a private tgtd
#   virtio-fio-file   the same on a raw file in /dev/shm (not in the default set)
#
# Builds what is missing first (scripts/build-qemu.sh, guest-image.sh).
# Exits non-zero if any test failed.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
RUN=$TOP/tests/guest/run.sh

log() { echo "guest-tests: $*" >&2; }

ensure_built() {
    [ -x "$(sed -n 's/^QEMU_BIN=//p' "$CACHE/env" 2>/dev/null)" ] ||
        bash "$TOP/scripts/build-qemu.sh" qemu-system-x86_64 >&2
    bash "$TOP/scripts/guest-image.sh" > /dev/null
    eval "$(grep -E '^(KERNEL_ABI|HEADERS_DIR)=' "$CACHE/guest/env")"
}

test_smoke() {
    "$RUN" smoke -device iscsi-hba
}

# Built in the cache, not in the source tree (kbuild writes next to the
# sources), against the headers of the guest's kernel.
test_module() {
    local build=$CACHE/guest/$KERNEL_ABI/hello_guest
    rm -rf "$build" && mkdir -p "$build"
    cp "$TOP"/tests/guest/modules/hello_guest/* "$build/"
    make -s -C "$HEADERS_DIR" M="$build" modules > "$build/build.log" 2>&1 || {
        cat "$build/build.log" >&2
        return 1
    }
    "$RUN" -k "$build/hello_guest.ko" -a guest.module=hello_guest smoke -device iscsi-hba
}

test_virtio_fio() {
    # a subshell: the tgtd trap ends with it
    (
        . "$TOP/tests/guest/tgtd.sh"
        tgtd_start 128 1 || exit 1
        "$RUN" virtio-fio -device virtio-scsi-pci,id=vscsi \
            -drive "file=iscsi://$TGTD_PORTAL/$TGTD_IQN/1,if=none,id=d0,format=raw,cache=none" \
            -device scsi-hd,drive=d0,bus=vscsi.0
    )
}

# The same on a raw file in /dev/shm: separates the guest's own cost
# from QEMU's libiscsi plus tgtd.
test_virtio_fio_file() {
    local img rc=0
    img=$(mktemp /dev/shm/iscsi-hba-guest-disk.XXXXXX)
    truncate -s 128M "$img"
    "$RUN" virtio-fio -device virtio-scsi-pci,id=vscsi \
        -drive "file=$img,if=none,id=d0,format=raw,cache=none,aio=threads" \
        -device scsi-hd,drive=d0,bus=vscsi.0 || rc=$?
    rm -f "$img"
    return "$rc"
}

main() {
    local tests=("$@") t failed=()
    [ "${#tests[@]}" -gt 0 ] || tests=(smoke module virtio-fio)
    ensure_built
    for t in "${tests[@]}"; do
        log "=== $t"
        if "test_${t//-/_}"; then
            log "=== $t: PASS"
        else
            log "=== $t: FAIL (rc=$?)"
            failed+=("$t")
        fi
    done
    if [ "${#failed[@]}" -gt 0 ]; then
        log "FAILED: ${failed[*]}"
        exit 1
    fi
    log "all passed: ${tests[*]}"
}

main "$@"
