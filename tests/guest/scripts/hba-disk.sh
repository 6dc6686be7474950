# iscsi-hba driver: a host-configured target's LUN becomes a working disk.
#
#   tests/guest/run-hba.sh hba-disk
#
# QEMU has -device iscsi-hba,id=hba0 and -object iscsi-hba-target (a tgtd
# target with one LUN of guest.size_mb MiB).  After modprobe the LUN must
# be an sd disk of vendor IET whose READ CAPACITY matches the LUN; data
# written with O_DIRECT and through the page cache must read back
# identical, also at the last LBA; a READ past the end must come back as
# CHECK CONDITION with ILLEGAL REQUEST sense; REPORT LUNS lists LUNs 0, 1;
# the driver's doorbell counters show its batching (MSI-X) or not (INTx).
# guest.expect_queues=<n>: the driver must have set up n I/O queues.
. /tests/lib.sh
. /tests/hba-lib.sh

SIZE_MB=${GUEST_SIZE_MB:?guest.size_mb missing}

hba_load
if ! disk=$(hba_wait_disk 30); then
    fail hba-disk-present "no IET disk within 30 s; sessions: $($HBA_CTL list 2>&1 | tr '\n' ' ')"
    exit 1
fi
dev=${disk#/dev/}
sysdev=/sys/block/$dev/device
pass hba-disk-present "$disk $(cat "$sysdev/vendor" | tr -s ' ') $(cat "$sysdev/model" | tr -s ' ') at $(basename "$(readlink -f "$sysdev")")"

# The session behind it: host-configured, logged in, SCSI target known.
sessions=$($HBA_CTL list 2>&1)
case $sessions in
    *logged-in*"${GUEST_IQN:-}"*"scsi "*host-configured*) pass hba-disk-session "$sessions" ;;
    *) fail hba-disk-session "list: $sessions" ;;
esac

# READ CAPACITY(16) through sg, and what sd made of it.
cap=$(sg_readcap -l "$disk" 2>&1)
blocks=$(echo "$cap" | sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p')
bsize=$(echo "$cap" | sed -n 's/.*Logical block length=\([0-9]*\) bytes.*/\1/p')
want=$((SIZE_MB * 1024 * 1024))
sd_bytes=$(( $(cat "/sys/block/$dev/size") * 512 ))
if [ -n "$blocks" ] && [ -n "$bsize" ] && [ $((blocks * bsize)) = "$want" ] && [ "$sd_bytes" = "$want" ]; then
    pass hba-disk-capacity "$blocks blocks of $bsize bytes = $SIZE_MB MiB (sd agrees)"
else
    fail hba-disk-capacity "want $want bytes; READ CAPACITY: blocks=$blocks bsize=$bsize; sd: $sd_bytes; $(echo "$cap" | tail -n 2)"
fi

# The driver's command timeout derives from the adapter's (IDENTIFY
# command_timeout_ms, 30 s by default) + 15 s: the adapter ends a command
# first.
tmo=$(cat "$sysdev/timeout")
if [ "$tmo" = 45 ]; then
    pass hba-disk-timeout "SCSI command timeout ${tmo}s"
else
    fail hba-disk-timeout "SCSI command timeout '$tmo', want 45 (the adapter's command-timeout 30 s + 15)"
fi

if [ -n "${GUEST_EXPECT_QUEUES:-}" ]; then
    nq=$(ls -d "/sys/block/$dev/mq/"* 2>/dev/null | wc -l)
    if [ "$nq" = "$GUEST_EXPECT_QUEUES" ]; then
        pass hba-disk-queues "$nq blk-mq hardware queues"
    else
        fail hba-disk-queues "want $GUEST_EXPECT_QUEUES hardware queues, have $nq"
    fi
fi

# O_DIRECT: 8 MiB at 1 MiB, read back from the disk.
hba_pattern /tmp/direct 8
out=$(hba_write /tmp/direct "$disk" 1048576) || fail hba-disk-direct "write: $out"
if hba_same "$disk" 1048576 /tmp/direct; then
    pass hba-disk-direct "8 MiB written and read back with O_DIRECT"
else
    fail hba-disk-direct "read back differs"
fi

# Through the page cache (large merged requests), then from the disk.
hba_pattern /tmp/buffered 8
if out=$(timeout 120 dd if=/tmp/buffered of="$disk" bs=1M seek=16 conv=fsync 2>&1); then
    echo 3 > /proc/sys/vm/drop_caches
    if hba_same "$disk" $((16 * 1048576)) /tmp/buffered && cmp -s /tmp/buffered /tmp/direct; then
        fail hba-disk-buffered "test bug: the two patterns are equal"
    elif hba_same "$disk" $((16 * 1048576)) /tmp/buffered; then
        pass hba-disk-buffered "8 MiB through the page cache, fsync, read back"
    else
        fail hba-disk-buffered "read back differs"
    fi
else
    fail hba-disk-buffered "write: $out"
fi
# the O_DIRECT data is still there
hba_same "$disk" 1048576 /tmp/direct || fail hba-disk-direct "earlier data changed"

# The driver's doorbell counters (sysfs) after that I/O: every command
# was rung, at most one SQ write each; with MSI-X the CQ head is written
# once per 256 completions (the CQ is twice the 256-entry SQ), with INTx
# after every completion pass, which is what deasserts the line.
host=$(ls -d /sys/bus/pci/drivers/iscsi_hba/0000:*/host* | head -n 1)
host=/sys/class/scsi_host/${host##*/}
n=$(cat "$host/completions") sq=$(cat "$host/sq_doorbells") cq=$(cat "$host/cq_doorbells")
counts="$n completions, $sq SQ and $cq CQ doorbell writes"
if [ "$n" -lt 64 ] || [ "$sq" -lt 1 ] || [ "$sq" -gt "$n" ]; then
    fail hba-disk-doorbells "$counts"
elif [ "${GUEST_EXPECT_IRQ:-}" = INTx ] && { [ "$cq" -lt 1 ] || [ "$cq" -gt "$n" ]; }; then
    fail hba-disk-doorbells "INTx: $counts"
elif [ "${GUEST_EXPECT_IRQ:-}" != INTx ] && [ "$cq" -gt $((n / 256)) ]; then
    fail hba-disk-doorbells "MSI-X: $counts, want at most one CQ write per 256"
else
    pass hba-disk-doorbells "$counts"
fi

# The last MiB of the disk, and one block past its end.
hba_pattern /tmp/last 1
last=$(( want - 1048576 ))
if hba_write /tmp/last "$disk" "$last" > /dev/null && hba_same "$disk" "$last" /tmp/last; then
    pass hba-disk-last-lba "last MiB written and read back"
else
    fail hba-disk-last-lba "last MiB"
fi
# READ(10) of the block after the last one, through sg: the target's
# CHECK CONDITION and sense data must come back through the driver.
lba=$(printf '%08x' $((want / 512)))
# shellcheck disable=SC2046 # the LBA as four separate hex bytes
out=$(timeout 60 sg_raw -r 512 "$disk" 28 00 $(echo "$lba" | sed 's/../& /g') 00 00 01 00 2>&1)
if echo "$out" | grep -qi 'check condition' && echo "$out" | grep -qi 'illegal request' &&
   echo "$out" | grep -qi 'out of range'; then
    pass hba-disk-past-end "READ(10) at LBA 0x$lba: $(echo "$out" | grep -i 'illegal request\|out of range' | tr -s ' ' | tr '\n' ' ')"
else
    fail hba-disk-past-end "READ(10) at LBA 0x$lba: $out"
fi

# REPORT LUNS through sg: the controller LUN 0 and the disk, LUN 1.
out=$(timeout 60 sg_luns "$disk" 2>&1)
if echo "$out" | grep -q '^ *0000000000000000$' && echo "$out" | grep -q '^ *0001000000000000$'; then
    pass hba-disk-luns "$(echo "$out" | head -n 1 | tr -s ' ')"
else
    fail hba-disk-luns "$out"
fi

hba_unload
exit 0
