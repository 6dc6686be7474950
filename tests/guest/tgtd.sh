# A private tgtd (user-space iSCSI target) on 127.0.0.1 for guest tests.
# Source this file, then:
#
#   tgtd_start [size-MiB] [luns]   one target, LUNs 1..luns (default 1) of
#                                  size-MiB each (default 128), backed by
#                                  sparse files in /dev/shm, any initiator,
#                                  no authentication.  Sets TGTD_PORT,
#                                  TGTD_IQN, TGTD_CTL, TGTD_PORTAL.
#   tgtd_stop                      delete the target, stop tgtd, remove files
#
# tgtd_start installs an EXIT/INT/TERM trap that calls tgtd_stop, so a test
# that fails or is interrupted leaves nothing behind.  Needs root.
#
# tgtd 1.0.85 quirks handled here (see tests/qtest/libqos/tgtd-fixture.c):
# SIGTERM does not stop it; the target must be set offline (no re-logins),
# deleted with --force, then "--op delete --mode system" makes it exit.
# A control port already in use makes it exit at once; one that binds no
# portal listens on *:3260 instead, so readiness is "our portal is listed".

TGTD_PID=
TGTD_DIR=

_tgtadm() { tgtadm -C "$TGTD_CTL" --lld iscsi "$@"; }

_tgtd_free_tcp_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_tgtd_ready() {
    local _
    for _ in $(seq 50); do
        kill -0 "$TGTD_PID" 2>/dev/null || return 1
        _tgtadm --op show --mode portal 2>/dev/null | grep -q "Portal: $TGTD_PORTAL," && return 0
        sleep 0.1
    done
    return 1
}

tgtd_start() {
    local size=${1:-128} luns=${2:-1} attempt lun
    command -v tgtd >/dev/null || { echo "tgtd.sh: tgtd not installed (package tgt)" >&2; return 1; }
    TGTD_DIR=$(mktemp -d /dev/shm/iscsi-hba-guest.XXXXXX)
    trap 'tgtd_stop' EXIT
    trap 'tgtd_stop; exit 130' INT TERM
    for attempt in 0 1 2 3 4; do
        # the control port is a short in tgtd: stay below 32768
        TGTD_CTL=$((10000 + ($$ % 2200) * 10 + attempt))
        TGTD_PORT=$(_tgtd_free_tcp_port)
        TGTD_PORTAL=127.0.0.1:$TGTD_PORT
        setsid tgtd -f -C "$TGTD_CTL" --iscsi "portal=$TGTD_PORTAL" \
            > "$TGTD_DIR/tgtd.log" 2>&1 < /dev/null &
        TGTD_PID=$!
        _tgtd_ready && break
        kill -KILL "$TGTD_PID" 2>/dev/null || true
        wait "$TGTD_PID" 2>/dev/null || true
        TGTD_PID=
    done
    [ -n "$TGTD_PID" ] || { echo "tgtd.sh: tgtd did not come up; log:" >&2; cat "$TGTD_DIR/tgtd.log" >&2; return 1; }
    TGTD_IQN=iqn.2026-11.org.qemu.guest-test:$$
    _tgtadm --op new --mode target --tid 1 -T "$TGTD_IQN"
    for lun in $(seq "$luns"); do
        truncate -s "${size}M" "$TGTD_DIR/lun$lun.img"
        _tgtadm --op new --mode logicalunit --tid 1 --lun "$lun" \
            --bstype rdwr -b "$TGTD_DIR/lun$lun.img"
    done
    _tgtadm --op bind --mode target --tid 1 -I ALL
    echo "tgtd.sh: tgtd pid $TGTD_PID on $TGTD_PORTAL (control port $TGTD_CTL), target $TGTD_IQN" >&2
}

tgtd_stop() {
    local _
    if [ -n "$TGTD_PID" ]; then
        _tgtadm --op update --mode target --tid 1 -n state -v offline >/dev/null 2>&1 || true
        _tgtadm --op delete --force --mode target --tid 1 >/dev/null 2>&1 || true
        _tgtadm --op delete --mode system >/dev/null 2>&1 || true
        for _ in $(seq 20); do
            kill -0 "$TGTD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$TGTD_PID" 2>/dev/null || true
        wait "$TGTD_PID" 2>/dev/null || true
        rm -f "/var/run/tgtd/socket.$TGTD_CTL" "/var/run/tgtd/socket.$TGTD_CTL.lock"
        TGTD_PID=
    fi
    if [ -n "$TGTD_DIR" ]; then
        rm -rf "$TGTD_DIR"
        TGTD_DIR=
    fi
}
