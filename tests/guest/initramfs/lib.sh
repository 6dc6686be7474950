# Helpers for guest test scripts (busybox ash), installed as /tests/lib.sh.
# A test script starts with ". /tests/lib.sh" and reports with pass/fail/skip.
# The guest's rc is non-zero if any fail was reported OR the script exited
# non-zero -- mind that a script's last command sets its exit status (end
# with "exit 0" if that may be a harmless false test).
#
#   pass <name> [details]        GUEST-TEST: <name> PASS [details]
#   fail <name> [details]        ... FAIL ...; the run's rc becomes non-zero
#   skip <name> [details]        ... SKIP ...
#   check <name> <cmd> [args]    run cmd; PASS, or FAIL with its last output line
#   wait_for <secs> <cmd> [args] poll cmd every 0.1 s until it succeeds
#   scsi_disks [vendor]          /dev/sdX names, optionally of one SCSI vendor
#   pci_present <vendor> <dev>   is a PCI function with these ids present?

result() {
    _name=$1 _status=$2
    shift 2
    # one line, no matter what the details contain
    _details=$(echo "$*" | tr '\n' ' ' | sed 's/ *$//')
    echo "GUEST-TEST: $_name $_status${_details:+ $_details}"
    case $_status in
        PASS|SKIP) ;;
        *) echo "$_name" >> /tmp/guest-failures ;;
    esac
}
pass() { _n=$1; shift; result "$_n" PASS "$@"; }
fail() { _n=$1; shift; result "$_n" FAIL "$@"; }
skip() { _n=$1; shift; result "$_n" SKIP "$@"; }

check() {
    _n=$1
    shift
    if _out=$("$@" 2>&1); then
        pass "$_n"
    else
        fail "$_n" "rc=$? $(echo "$_out" | tail -n 1)"
        return 1
    fi
}

wait_for() {
    _t=$(( $1 * 10 ))
    shift
    while ! "$@" >/dev/null 2>&1; do
        _t=$((_t - 1))
        [ "$_t" -gt 0 ] || return 1
        sleep 0.1
    done
}

# SCSI disks, optionally only those whose INQUIRY vendor matches (QEMU's
# scsi-hd says "QEMU"; tgtd LUNs seen through iscsi-hba say "IET").
scsi_disks() {
    for _d in /sys/block/sd*; do
        [ -e "$_d" ] || continue
        if [ -n "${1:-}" ]; then
            _v=$(cat "$_d/device/vendor" 2>/dev/null | tr -d ' ')
            [ "$_v" = "$1" ] || continue
        fi
        echo "/dev/${_d##*/}"
    done
}

pci_present() {
    for _f in /sys/bus/pci/devices/*; do
        [ "$(cat "$_f/vendor")" = "$1" ] && [ "$(cat "$_f/device")" = "$2" ] && return 0
    done
    return 1
}
