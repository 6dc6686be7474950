#!/usr/bin/env bash
# Build the Linux guest driver (guest/linux: iscsi_hba.ko and the static
# iscsi-hba-ctl) for the test guest's kernel, outside the source tree.
#
#   scripts/build-guest-driver.sh      prints KO=<path> and CTL=<path>
#
# kbuild writes its objects next to the sources, so the sources are copied
# to $ISCSI_HBA_CACHE/guest/<abi>/driver/guest/linux (only changed files,
# keeping make incremental) with include/ linked beside it for the ABI
# header.  The checkout stays clean and a concurrent build in guest/linux
# is not disturbed.  Needs scripts/guest-image.sh (run here) for the
# kernel headers.  On a compile error the log's tail goes to stderr and
# the exit status is 1.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}

log() { echo "build-guest-driver: $*" >&2; }

main() {
    local env build src f
    env=$(bash "$TOP/scripts/guest-image.sh") || { log "scripts/guest-image.sh failed"; exit 1; }
    eval "$env"
    : "${KERNEL_ABI:?}" "${HEADERS_DIR:?}"
    build=$CACHE/guest/$KERNEL_ABI/driver
    src=$build/guest/linux
    mkdir -p "$src"
    ln -sfn "$TOP/include" "$build/include"
    for f in "$TOP"/guest/linux/{*.c,*.h,Makefile}; do
        cmp -s "$f" "$src/$(basename "$f")" || cp "$f" "$src/"
    done
    if ! make -C "$src" KDIR="$HEADERS_DIR" modules iscsi-hba-ctl > "$build/build.log" 2>&1; then
        log "driver build failed ($build/build.log):"
        grep -E 'error|Error' "$build/build.log" | head -n 20 >&2 || tail -n 20 "$build/build.log" >&2
        exit 1
    fi
    echo "KO=$src/iscsi_hba.ko"
    echo "CTL=$src/iscsi-hba-ctl"
}

main "$@"
