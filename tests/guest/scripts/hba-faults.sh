# iscsi-hba driver: error paths driven by the adapter's fault injection.
#
#   tests/guest/run-hba.sh hba-faults
#
# QEMU starts with fault rules (run-hba.sh: fault_rules); every SCSI rule
# is confined to an LBA range (guest.lba_*, 512-byte sectors) that only
# its step touches.  No host-configured target: the guest logs in.
#
#   login     op=login status=AUTHENTICATION_FAILURE (once): iscsi-hba-ctl
#             prints ISDSC_AUTHENTICATION_FAILURE and exits 1, dmesg names
#             it; the next login succeeds
#   drop      READ(10) at lba_drop never completes: with a 5 s SCSI
#             timeout the midlayer's abort runs the driver's eh_abort,
#             which sends ABORT TASK; the read is retried and returns the
#             data written there before -- in 5..40 s, no hang
#   slow      READ(10) at lba_slow is answered but its completion held 8 s:
#             ABORT TASK finds no task ("does not exist"), eh_abort waits
#             for the normal completion, no escalation to a LUN reset
#   disconnect  the 3rd WRITE in 4 MiB at lba_disc shuts the connection
#             down while fio has 8 writes in flight: SESSION_LOST, then
#             SESSION_RECOVERED, the writes are retried, fio's verify
#             passes, SESSION_INFO counts 1 reconnect
#   werr      WRITE at lba_werr fails once with ISDSC_TRANSPORT_ERROR.
#             The driver maps it to DID_ERROR, which the midlayer retries
#             (sd allows 5 retries): dd succeeds, the data is there
#   merr      WRITE at lba_merr always gets CHECK CONDITION, MEDIUM ERROR
#             (03h/0Ch/00h): sd does not retry it, dd fails with EIO
#   terr      WRITE at lba_terr always fails with TRANSPORT_ERROR: retried,
#             then dd fails with EIO -- bounded, no hang
#   late      WRITE at lba_late reaches the target, then the adapter
#             reports ISDSC_CONNECTION_FAILED (once): DID_TRANSPORT_DISRUPTED,
#             the driver re-reads the session (still logged in) and the
#             retry succeeds
# After the error steps, data acknowledged before them (a 1 MiB block
# next to each faulty range) must be unchanged, and the disk must work.
. /tests/lib.sh
. /tests/hba-lib.sh

P=${GUEST_PORTAL:?guest.portal missing}
IQN=${GUEST_IQN:?guest.iqn missing}
MiB=1048576

ctl() { timeout 90 "$HBA_CTL" "$@" 2>&1; }
off() { echo $(($1 * 512)); }

hba_load

# --- login failure injected by the adapter
hba_mark
out=$(ctl login "$IQN" "$P")
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q 'ISDSC_AUTHENTICATION_FAILURE (0xefff0009)' &&
   hba_dmesg_since | grep -q 'failed: ISDSC_AUTHENTICATION_FAILURE (0xefff0009)'; then
    pass hba-faults-login "exit 1: $out"
else
    fail hba-faults-login "rc=$rc: $out; dmesg: $(hba_dmesg_since | tail -n 2)"
fi
out=$(ctl login "$IQN" "$P")
rc=$?
sid=$(echo "$out" | sed -n 's/^session \(0x[0-9a-f]*\) .*/\1/p')
if [ $rc != 0 ] || [ -z "$sid" ] || ! disk=$(hba_wait_disk 20); then
    fail hba-faults-relogin "rc=$rc: $out; disks: $(scsi_disks IET)"
    exit 1
fi
pass hba-faults-relogin "$out -> $disk"
dev=${disk#/dev/}

# Data the later steps must not lose: 1 MiB after each faulty range.
hba_pattern /tmp/keep 1
for lba in $GUEST_LBA_DROP $GUEST_LBA_WERR $GUEST_LBA_MERR $GUEST_LBA_TERR $GUEST_LBA_LATE $GUEST_LBA_SLOW; do
    hba_write /tmp/keep "$disk" $(( $(off "$lba") + MiB )) > /dev/null ||
        fail hba-faults-setup "write at LBA $lba + 1 MiB"
done

# --- dropped READ: timeout, abort, retry
hba_pattern /tmp/drop 1
hba_write /tmp/drop "$disk" "$(off "$GUEST_LBA_DROP")" > /dev/null || fail hba-faults-drop "setup write"
echo 5 > "/sys/block/$dev/device/timeout"
hba_mark
t0=$(hba_now)
timeout 120 dd if="$disk" of=/tmp/drop.back bs=4k skip=$((GUEST_LBA_DROP / 8)) count=1 iflag=direct 2>/dev/null
rc=$?
t=$(($(hba_now) - t0))
head -c 4096 /tmp/drop > /tmp/drop.want
msgs=$(hba_dmesg_since)
if [ $rc = 0 ] && cmp -s /tmp/drop.want /tmp/drop.back && [ $t -ge 4 ] && [ $t -le 40 ] &&
   echo "$msgs" | grep -q 'aborting command 0x28' &&
   echo "$msgs" | grep -q 'command 0x28 aborted (ABORT TASK response 0)'; then
    pass hba-faults-drop "read returned the right data after ${t}s: $(echo "$msgs" | grep -o 'command 0x28 aborted.*')"
else
    fail hba-faults-drop "rc=$rc after ${t}s, data $(cmp -s /tmp/drop.want /tmp/drop.back && echo ok || echo differs); dmesg: $(echo "$msgs" | tail -n 4)"
fi

# --- slow READ: answered by the target, completion held 8 s.  The abort
# at 5 s ends the held command (the device's ABORT TASK ends fault-held
# completions: "function complete"), the midlayer retries the read.
hba_pattern /tmp/slow 1
hba_write /tmp/slow "$disk" "$(off "$GUEST_LBA_SLOW")" > /dev/null || fail hba-faults-slow "setup write"
hba_mark
t0=$(hba_now)
timeout 120 dd if="$disk" of=/tmp/slow.back bs=4k skip=$((GUEST_LBA_SLOW / 8)) count=1 iflag=direct 2>/dev/null
rc=$?
t=$(($(hba_now) - t0))
head -c 4096 /tmp/slow > /tmp/slow.want
msgs=$(hba_dmesg_since)
if [ $rc = 0 ] && cmp -s /tmp/slow.want /tmp/slow.back && [ $t -ge 5 ] && [ $t -le 40 ] &&
   echo "$msgs" | grep -q 'command 0x28 aborted (ABORT TASK response 0)' &&
   ! echo "$msgs" | grep -q 'LUN reset'; then
    pass hba-faults-slow "read returned the right data after ${t}s: $(echo "$msgs" | grep -o 'command 0x28 aborted.*')"
else
    fail hba-faults-slow "rc=$rc after ${t}s; dmesg: $(echo "$msgs" | tail -n 4)"
fi
echo 30 > "/sys/block/$dev/device/timeout"

# --- connection dropped under fio: recovery, retried writes, verify
hba_mark
t0=$(hba_now)
out=$(timeout 120 fio --name=disc --filename="$disk" --direct=1 --ioengine=libaio \
        --rw=write --bs=64k --iodepth=8 --size=4M --offset="$(off "$GUEST_LBA_DISC")" \
        --verify=crc32c --do_verify=1 --verify_fatal=1 --minimal 2>&1)
rc=$?
t=$(($(hba_now) - t0))
msgs=$(hba_dmesg_since)
err=$(echo "$out" | grep '^3;' | cut -d';' -f5)
recon=$(ctl info "$sid" | sed -n 's/^reconnects: *//p')
ksid=0x$(printf %x "$sid")     # the kernel prints 0x10001, the tool 0x00010001
if [ $rc = 0 ] && [ "$err" = 0 ] && echo "$msgs" | grep -q "session $ksid .* lost: ISDSC_CONNECTION_FAILED" &&
   echo "$msgs" | grep -q "session $ksid .* recovered" && [ "$recon" = 1 ]; then
    pass hba-faults-disconnect "fio write+verify ok after ${t}s, reconnects=$recon"
else
    fail hba-faults-disconnect "rc=$rc err=$err after ${t}s reconnects=$recon: $(echo "$out" | grep -v '^3;' | tail -n 2); dmesg: $(echo "$msgs" | tail -n 4)"
fi

# --- transient transport error on a WRITE: the midlayer retries it
hba_pattern /tmp/werr 1
hba_mark
out=$(hba_write /tmp/werr "$disk" "$(off "$GUEST_LBA_WERR")")
rc=$?
msgs=$(hba_dmesg_since)
if [ $rc = 0 ] && hba_same "$disk" "$(off "$GUEST_LBA_WERR")" /tmp/werr &&
   echo "$msgs" | grep -q 'command 0x2a failed: ISDSC_TRANSPORT_ERROR'; then
    pass hba-faults-werr "failed once (ISDSC_TRANSPORT_ERROR -> DID_ERROR), retried, dd ok, data there"
else
    fail hba-faults-werr "rc=$rc $out; dmesg: $(echo "$msgs" | tail -n 3)"
fi

# --- persistent medium error on a WRITE: EIO, not retried
hba_pattern /tmp/merr 1
hba_mark
t0=$(hba_now)
out=$(timeout 120 dd if=/tmp/merr of="$disk" bs=4k seek=$((GUEST_LBA_MERR / 8)) count=1 oflag=direct 2>&1)
rc=$?
t=$(($(hba_now) - t0))
msgs=$(hba_dmesg_since)
if [ $rc = 1 ] && echo "$out" | grep -q 'Input/output error' && [ $t -le 20 ] &&
   echo "$msgs" | grep -q 'Sense Key : Medium Error' &&
   echo "$msgs" | grep -q "I/O error, dev $dev, sector $GUEST_LBA_MERR "; then
    pass hba-faults-merr "dd: EIO after ${t}s, sense MEDIUM ERROR"
else
    fail hba-faults-merr "rc=$rc after ${t}s: $out; dmesg: $(echo "$msgs" | tail -n 3)"
fi

# --- persistent transport error on a WRITE: retried, then EIO
hba_mark
t0=$(hba_now)
out=$(timeout 120 dd if=/tmp/merr of="$disk" bs=4k seek=$((GUEST_LBA_TERR / 8)) count=1 oflag=direct 2>&1)
rc=$?
t=$(($(hba_now) - t0))
msgs=$(hba_dmesg_since)
tries=$(echo "$msgs" | grep -c 'command 0x2a failed: ISDSC_TRANSPORT_ERROR')
if [ $rc = 1 ] && echo "$out" | grep -q 'Input/output error' && [ $t -le 30 ] && [ "$tries" -ge 2 ]; then
    pass hba-faults-terr "dd: EIO after ${t}s and $tries attempts"
else
    fail hba-faults-terr "rc=$rc after ${t}s, $tries attempts: $out; dmesg: $(echo "$msgs" | tail -n 3)"
fi

# --- the WRITE landed but the adapter reports CONNECTION_FAILED
hba_pattern /tmp/late 1
hba_mark
out=$(hba_write /tmp/late "$disk" "$(off "$GUEST_LBA_LATE")")
rc=$?
if [ $rc = 0 ] && hba_same "$disk" "$(off "$GUEST_LBA_LATE")" /tmp/late &&
   hba_dmesg_since | grep -q 'command 0x2a failed: ISDSC_CONNECTION_FAILED'; then
    pass hba-faults-late "CONNECTION_FAILED after the data landed: retried, dd ok, data there"
else
    fail hba-faults-late "rc=$rc $out; dmesg: $(hba_dmesg_since | tail -n 3)"
fi

# --- nothing acknowledged was lost, the disk and the session still work
lost=
for lba in $GUEST_LBA_DROP $GUEST_LBA_WERR $GUEST_LBA_MERR $GUEST_LBA_TERR $GUEST_LBA_LATE $GUEST_LBA_SLOW; do
    hba_same "$disk" $(( $(off "$lba") + MiB )) /tmp/keep || lost="$lost $lba"
done
hba_same "$disk" "$(off "$GUEST_LBA_DROP")" /tmp/drop || lost="$lost drop"
hba_same "$disk" "$(off "$GUEST_LBA_WERR")" /tmp/werr || lost="$lost werr"
if [ -z "$lost" ]; then
    pass hba-faults-no-loss "every acknowledged block reads back"
else
    fail hba-faults-no-loss "differs at:$lost"
fi
state=$(ctl info "$sid" | sed -n 's/^state: *//p')
hba_pattern /tmp/after 4
if [ "$state" = "logged-in (2)" ] && hba_write /tmp/after "$disk" $((8 * MiB)) > /dev/null &&
   hba_same "$disk" $((8 * MiB)) /tmp/after; then
    pass hba-faults-after "session $state, 4 MiB written and read back"
else
    fail hba-faults-after "session state '$state'"
fi
hba_unload
exit 0
