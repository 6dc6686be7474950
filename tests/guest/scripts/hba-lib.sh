# Helpers for the iscsi-hba driver tests (hba-*.sh), sourced after
# /tests/lib.sh.  Not a test itself.  tests/guest/run-hba.sh passes the
# host's side through the kernel command line:
#
#   guest.portal=<ip:port>   the tgtd portal
#   guest.iqn=<iqn>          its target (LUN 1: guest.size_mb MiB)
#   guest.size_mb=<n>        size of that LUN
#
# Every step that could hang is bounded with timeout(1), so that a stuck
# driver gives a FAIL line (and run.sh's hard timeout stays a last resort).

HBA_MODULE=iscsi_hba
HBA_CTL=iscsi-hba-ctl

# modprobe the driver, check that it bound to the adapter; exit on failure.
# guest.expect_irq=MSI-X|INTx, guest.expect_queues=<n>: what the driver
# must report it set up ("iscsi_hba ...: MSI-X, 2 I/O queues").
hba_load() {
    if ! _out=$(timeout 60 modprobe "$HBA_MODULE" 2>&1); then
        fail hba-load "modprobe: $_out"
        exit 1
    fi
    _bdf=
    for _f in "/sys/bus/pci/drivers/$HBA_MODULE"/0000:*; do
        [ -e "$_f" ] && _bdf=${_f##*/}
    done
    if [ -z "$_bdf" ]; then
        fail hba-load "module loaded but bound to no PCI function"
        exit 1
    fi
    _setup=$(dmesg | sed -n 's/.*iscsi_hba [0-9a-f:.]*: \(\(MSI-X\|INTx\), [0-9]* I\/O queues*\)$/\1/p' | tail -n 1)
    _irq=${GUEST_EXPECT_IRQ:-*}
    _nq=${GUEST_EXPECT_QUEUES:-*}
    # shellcheck disable=SC2254,SC2027 # the expectations are patterns
    case $_setup in
        $_irq", "$_nq" I/O queue"*)
            pass hba-load "bound to $_bdf: $_setup" ;;
        *)  fail hba-load "bound to $_bdf: '$_setup', want '$_irq, $_nq I/O queue(s)'" ;;
    esac
}

# rmmod must succeed and leave nothing behind
hba_unload() {
    if ! _out=$(timeout 60 rmmod "$HBA_MODULE" 2>&1); then
        fail hba-unload "rmmod: $_out"
    elif [ -d "/sys/module/$HBA_MODULE" ]; then
        fail hba-unload "/sys/module/$HBA_MODULE still there"
    elif [ -n "$(scsi_disks IET)" ]; then
        fail hba-unload "disks left: $(scsi_disks IET)"
    else
        pass hba-unload
    fi
}

# an IET disk exists, sd has read its capacity and udev-less /dev has it
_hba_disk_ready() {
    _d=$(scsi_disks IET | head -n 1)
    [ -n "$_d" ] && [ -b "$_d" ] || return 1
    _s=$(cat "/sys/block/${_d#/dev/}/size" 2>/dev/null)
    [ -n "$_s" ] && [ "$_s" != 0 ]
}

# hba_wait_disk <secs>: print the first IET disk once it is usable
hba_wait_disk() {
    wait_for "$1" _hba_disk_ready || return 1
    scsi_disks IET | head -n 1
}

hba_no_disk() { [ -z "$(scsi_disks IET)" ]; }

# lines dmesg printed since hba_mark
hba_mark() { _hba_mark=$(dmesg | wc -l); }
hba_dmesg_since() { dmesg | tail -n +$((_hba_mark + 1)); }

# random data file: hba_pattern <file> <MiB>
hba_pattern() { dd if=/dev/urandom of="$1" bs=1M count="$2" 2>/dev/null; }

# hba_write <file> <disk> <byte offset> [dd flags]: O_DIRECT, 64 KiB blocks
hba_write() {
    timeout 120 dd if="$1" of="$2" bs=64k seek=$(($3 / 65536)) oflag=direct conv=notrunc 2>&1
}

# hba_read <disk> <byte offset> <bytes> <file>: O_DIRECT
hba_read() {
    timeout 120 dd if="$1" of="$4" bs=64k skip=$(($2 / 65536)) count=$(($3 / 65536)) iflag=direct 2>&1
}

# hba_same <disk> <byte offset> <file>: does the disk hold <file> there?
hba_same() {
    _sz=$(wc -c < "$3")
    hba_read "$1" "$2" "$_sz" /tmp/hba-same.$$ > /dev/null || return 1
    cmp -s "$3" /tmp/hba-same.$$
    _rc=$?
    rm -f /tmp/hba-same.$$
    return $_rc
}

# seconds since the epoch, for elapsed times
hba_now() { date +%s; }

# the session id of the first session the tool lists for a target
hba_sid_of() {
    $HBA_CTL list 2>/dev/null | awk -v t="$1" '$3 == t { print $1; exit }'
}

# "scsi H:0:T:*" of an iscsi-hba-ctl login/list line -> "H:0:T"
hba_hct_of() { echo "$1" | sed -n 's/.* scsi \([0-9]*:0:[0-9]*\):\*.*/\1/p' | head -n 1; }

# /dev/sdX of SCSI device H:C:T:L, if sd has it
hba_disk_of() {
    for _b in /sys/class/scsi_device/"$1"/device/block/*; do
        [ -e "$_b" ] && echo "/dev/${_b##*/}" && return 0
    done
    return 1
}

# the H:C:T:L a /dev/sdX sits on
hba_hctl() { basename "$(readlink -f "/sys/block/${1#/dev/}/device")"; }

# fio_verify_bg <name> <file> <size>: randwrite + crc32c verify, QD8, in
# the background; fio_verify_check <name> reports it (after wait).
fio_verify_bg() {
    timeout 240 fio --name="$1" --filename="$2" --direct=1 --ioengine=libaio \
        --rw=randwrite --bs=4k --iodepth=8 --size="$3" \
        --verify=crc32c --do_verify=1 --verify_fatal=1 --minimal > "/tmp/fio-$1.out" 2>&1
    echo $? > "/tmp/fio-$1.rc"
}
fio_verify_check() {
    _rc=$(cat "/tmp/fio-$1.rc" 2>/dev/null)
    _line=$(grep '^3;' "/tmp/fio-$1.out" | tail -n 1)
    _err=$(echo "$_line" | cut -d';' -f5)
    _wr=$(echo "$_line" | cut -d';' -f47)
    _rd=$(echo "$_line" | cut -d';' -f6)
    if [ "$_rc" = 0 ] && [ "$_err" = 0 ] && [ "${_wr:-0}" -gt 0 ] && [ "${_rd:-0}" -gt 0 ]; then
        pass "$2" "wrote $_wr KiB, verified $_rd KiB"
    else
        fail "$2" "rc=$_rc err=$_err: $(grep -v '^3;' "/tmp/fio-$1.out" | tail -n 3)"
    fi
}

# hba_eh_prepare <disk> <lba>: random data at <lba>; its first 4 KiB,
# what a READ there must return, in /tmp/eh-want
hba_eh_prepare() {
    hba_pattern /tmp/eh-data 1
    hba_write /tmp/eh-data "$1" $(($2 * 512)) > /dev/null
    head -c 4096 /tmp/eh-data > /tmp/eh-want
}

# hba_eh_read <disk> <lba>: READ 4 KiB at <lba> (a fault rule holds it,
# the error handler recovers); sets eh_out, eh_rc, eh_secs, eh_msgs (the
# kernel log meanwhile); eh_same: did it return /tmp/eh-want?
hba_eh_read() {
    hba_mark
    _t0=$(hba_now)
    eh_out=$(timeout 200 dd if="$1" of=/tmp/eh-read bs=4k skip=$(($2 / 8)) count=1 iflag=direct 2>&1)
    eh_rc=$?
    eh_secs=$(($(hba_now) - _t0))
    eh_msgs=$(hba_dmesg_since)
}
eh_same() { [ "$eh_rc" = 0 ] && cmp -s /tmp/eh-want /tmp/eh-read; }
