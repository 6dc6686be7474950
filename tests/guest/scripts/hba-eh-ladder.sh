# iscsi-hba driver: the error handler's ladder stops at the session, and
# flat-space LUNs above 255 scan.
#
#   tests/guest/run-hba.sh hba-eh-ladder
#
# The guest logs in to two targets of one tgtd: A (guest.iqn, LUNs 1, 256
# and 300 of different sizes) and B (guest.iqn2).  With io_timeout=5:
#   - LUNs 256 and 300 of A are SCSI devices (Linux LUN 0x4000 | n) with
#     the sizes tgtd gave them;
#   - while fio writes and verifies A, a READ of B at guest.lba_eh is
#     held by the adapter for 8 s (fault rule: delay; a dropped one
#     the adapter would answer itself on ABORT TASK; a delayed one also
#     outlives the LOGOUT, so the driver waits for it after the session
#     reset).  It times out after 5 s; the adapter
#     fails ABORT TASK and LUN RESET for B (fault rules), tgtd refuses
#     TARGET WARM RESET.  The driver then logs out of B and in again
#     (session reset) and does NOT reset the controller: A's session keeps
#     its id, its fio sees no error, and B's READ returns B's data.
. /tests/lib.sh
. /tests/hba-lib.sh

P=${GUEST_PORTAL:?guest.portal missing}
IQN=${GUEST_IQN:?guest.iqn missing}
IQN2=${GUEST_IQN2:?guest.iqn2 missing}
LBA=${GUEST_LBA_EH:?guest.lba_eh missing}

ctl() { timeout 90 "$HBA_CTL" "$@" 2>&1; }

hba_load
out_a=$(ctl login "$IQN" "$P")
out_b=$(ctl login "$IQN2" "$P")
hct_a=$(hba_hct_of "$out_a")
hct_b=$(hba_hct_of "$out_b")
# shellcheck disable=SC2317 # called through wait_for
four_disks() { [ "$(scsi_disks IET | wc -l)" = 4 ]; }
wait_for 30 four_disks
a=$(hba_disk_of "$hct_a:1")
b=$(hba_disk_of "$hct_b:1")
if [ -z "$a" ] || [ -z "$b" ]; then
    fail hba-eh-setup "A: $out_a; B: $out_b; disks: $(scsi_disks IET)"
    exit 1
fi
pass hba-eh-setup "A=$a ($hct_a) B=$b ($hct_b)"

# flat space: tgtd reports LUN n > 255 as 0x40|n>>8, n&0xff; Linux keeps
# the method bits: 0x4000 | n.  Sizes tell the LUNs apart (MiB 3 and 5).
luns_ok=1
for l in 256:3 300:5; do
    n=${l%:*}
    mb=${l#*:}
    d=$(hba_disk_of "$hct_a:$((0x4000 | n))")
    sz=$(cat "/sys/block/${d#/dev/}/size" 2>/dev/null)
    if [ -z "$d" ] || [ "$sz" != $((mb * 2048)) ]; then
        luns_ok=0
        fail hba-eh-lun$n "no device $hct_a:$((0x4000 | n)) of $mb MiB (got '$d' $sz sectors): $(ls /sys/class/scsi_device/)"
    elif ! hba_pattern /tmp/lun$n 1 || ! hba_write /tmp/lun$n "$d" 0 > /dev/null ||
         ! hba_same "$d" 0 /tmp/lun$n; then
        luns_ok=0
        fail hba-eh-lun$n "$d: data written does not read back"
    fi
done
[ $luns_ok = 1 ] && pass hba-eh-luns "LUNs 256 and 300 are $hct_a:$((0x4100)) and $hct_a:$((0x412c)), sizes and data right"

# B's data at the LBA whose READ the adapter holds once
hba_eh_prepare "$b" "$LBA"
sid_a=$(hba_sid_of "$IQN")

fio_verify_bg a "$a" 16M &
pa=$!
sleep 2
hba_eh_read "$b" "$LBA"
if eh_same && echo "$eh_msgs" | grep -q 'session reset done' &&
   ! echo "$eh_msgs" | grep -q 'resetting controller'; then
    pass hba-eh-session-reset "READ of B back in ${eh_secs}s after abort, LUN and target reset failed: session reset, no controller reset"
else
    fail hba-eh-session-reset "rc=$eh_rc after ${eh_secs}s $eh_out; dmesg: $(echo "$eh_msgs" | grep -E 'reset|abort|session|offline' | tail -n 8)"
fi

wait $pa
fio_verify_check a hba-eh-fio-a
sid_a2=$(hba_sid_of "$IQN")
if [ -n "$sid_a" ] && [ "$sid_a" = "$sid_a2" ] && [ "$(hba_disk_of "$hct_b:1")" = "$b" ] &&
   [ "$(cat "/sys/block/${b#/dev/}/device/state")" = running ]; then
    pass hba-eh-others "A kept session $sid_a; B is still $b ($hct_b), running"
else
    fail hba-eh-others "A: $sid_a -> $sid_a2; B: $(hba_disk_of "$hct_b:1") state $(cat "/sys/block/${b#/dev/}/device/state" 2>&1)"
fi
hba_unload
exit 0
