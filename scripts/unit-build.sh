#!/usr/bin/env bash
# Build the project's own meson targets (unit tests, the isdsc decoder, the
# Windows miniport harness) in the cache, for this checkout.
#
#   scripts/unit-build.sh [TARGET...]   no target: everything
#
# The build directory, $ISCSI_HBA_CACHE/unit-build, belongs to one source
# tree: set up from another checkout (a moved clone, a CI work tree), meson
# would regenerate against a tree that may be gone, so it is set up anew.
set -Eeuo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ISCSI_HBA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-hba}
DIR=$CACHE/unit-build

configured_source() {
    python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["directories"]["source"])' \
        "$DIR/meson-info/meson-info.json" 2>/dev/null
}

if [ ! -f "$DIR/build.ninja" ] || [ "$(configured_source)" != "$TOP" ]; then
    rm -rf "$DIR"
    meson setup "$DIR" "$TOP"
fi
meson compile -C "$DIR" "$@"
