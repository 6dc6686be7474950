#!/usr/bin/env bash
# The main job: build QEMU with iscsi-hba (installing what is missing),
# start a q35 machine with the adapter and show the adapter's state.
#
# From a terminal you are left at QEMU's monitor ("info iscsi-hba",
# "info pci", "quit"); otherwise the state is printed and QEMU exits.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}

bash "$TOP/scripts/build-qemu.sh" qemu-system-x86_64
# The isdsc status decoder (project meson build, seconds).
[ -f "$CACHE/unit-build/build.ninja" ] ||
    meson setup "$CACHE/unit-build" "$TOP" >/dev/null
ninja -C "$CACHE/unit-build" isdsc >/dev/null
# shellcheck source=/dev/null
. "$CACHE/env"

QEMU_ARGS=(-machine q35 -accel tcg -nodefaults -display none
           -device iscsi-hba,id=hba0,num-queues=4)

if [ -t 0 ] && [ -t 1 ]; then
    echo "QEMU monitor: try 'info iscsi-hba', 'info pci', 'quit'."
    exec "$QEMU_BIN" "${QEMU_ARGS[@]}" -S -monitor stdio
fi

hmp() {
    printf '{"execute":"human-monitor-command","arguments":{"command-line":"%s"}}\n' "$1"
}
{
    echo '{"execute":"qmp_capabilities"}'
    hmp "info iscsi-hba"
    hmp "info pci"
    echo '{"execute":"query-iscsi-hba"}'
    echo '{"execute":"quit"}'
} | timeout 60 "$QEMU_BIN" "${QEMU_ARGS[@]}" -S -qmp stdio |
/usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    ret = msg.get("return")
    if isinstance(ret, str) and ret:
        text = ret.replace("\r", "")
        if text.startswith("  Bus"):
            # info pci: only the adapter
            blocks = text.split("  Bus")
            text = "".join("  Bus" + b for b in blocks if "10f5" in b)
        print(text, end="")
    elif isinstance(ret, list):
        print("query-iscsi-hba:", json.dumps(ret, indent=2))
'
echo
echo "Completion statuses are ISDSC values; decode them with isdsc:"
"$CACHE/unit-build/isdsc" ISDSC_AUTHENTICATION_FAILURE 0xAFFF0048
