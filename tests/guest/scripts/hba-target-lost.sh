# iscsi-hba driver: the target goes away for longer than time2retain,
# then comes back: the disk comes back by itself.
#
#   tests/guest/run-hba.sh hba-target-lost
#
# The guest logs in with time2wait 1 s and time2retain 5 s and writes
# data.  It asks the host ("HBA-HOST: unbind" on the console) to take the
# target's ACL away: tgtd keeps the running session but refuses new
# logins (discovery stops listing the target, which is how the guest sees
# that it happened).  A WRITE at guest.lba_lost then makes the adapter
# drop the connection (fault rule); every reconnection is refused, and
# after time2retain the adapter gives up:
#   - EVENT_SESSION_FAILED is logged;
#   - the WRITE fails with EIO instead of hanging, and so does a READ,
#     at once (the device is transport-offline);
#   - the driver logs the failed session out (its adapter slot is free)
#     and keeps trying to log in again (iscsi_hba.relogin_interval=2);
# then, with the ACL back ("HBA-HOST: bind"), without anything done in
# the guest, the same /dev/sdX runs again and holds the data acknowledged
# before the loss; a logout then removes it.
. /tests/lib.sh
. /tests/hba-lib.sh

P=${GUEST_PORTAL:?guest.portal missing}
IQN=${GUEST_IQN:?guest.iqn missing}
LBA=${GUEST_LBA_LOST:?guest.lba_lost missing}
MiB=1048576

ctl() { timeout 90 "$HBA_CTL" "$@" 2>&1; }
# shellcheck disable=SC2317 # called through wait_for
listed() { ctl discover "$P" | grep -qx "TargetName=$IQN"; }
# shellcheck disable=SC2317
not_listed() { ! listed; }

hba_load
out=$(ctl login "$IQN" "$P" --time2wait 1 --time2retain 5)
sid=$(echo "$out" | sed -n 's/^session \(0x[0-9a-f]*\) .*/\1/p')
if [ -z "$sid" ] || ! disk=$(hba_wait_disk 20); then
    fail hba-lost-login "$out; disks: $(scsi_disks IET)"
    exit 1
fi
ksid=0x$(printf %x "$sid")
hba_pattern /tmp/keep 2
if hba_write /tmp/keep "$disk" $((4 * MiB)) > /dev/null && hba_same "$disk" $((4 * MiB)) /tmp/keep; then
    pass hba-lost-login "$out -> $disk, 2 MiB written"
else
    fail hba-lost-login "setup write"
fi

echo "HBA-HOST: unbind"
if wait_for 20 not_listed; then
    pass hba-lost-unbind "discovery no longer lists $IQN"
else
    fail hba-lost-unbind "the host did not unbind the target"
    exit 1
fi

# The WRITE that drops the connection: it must fail, not hang.
hba_mark
t0=$(hba_now)
hba_pattern /tmp/lost 1
out=$(timeout 120 dd if=/tmp/lost of="$disk" bs=4k seek=$((LBA / 8)) count=1 oflag=direct 2>&1)
rc=$?
t=$(($(hba_now) - t0))
msgs=$(hba_dmesg_since)
if [ $rc != 0 ] && [ $rc != 124 ] && echo "$out" | grep -q 'Input/output error' && [ $t -ge 3 ] && [ $t -le 60 ] &&
   echo "$msgs" | grep -q "session $ksid .* lost" && echo "$msgs" | grep -q "session $ksid .* failed: ISDSC_"; then
    pass hba-lost-write "EIO after ${t}s: $(echo "$msgs" | grep -o "session $ksid .* failed: ISDSC_[A-Z_]* ([0-9a-fx]*)")"
else
    fail hba-lost-write "rc=$rc after ${t}s: $out; dmesg: $(echo "$msgs" | tail -n 4)"
fi
# The driver gave the failed session up (LOGOUT) and logs in again.
if wait_for 20 sh -c "[ -z \"\$($HBA_CTL list 2>/dev/null)\" ]" &&
   hba_dmesg_since | grep -q 'logging in again' &&
   [ "$(cat "/sys/block/${disk#/dev/}/device/state")" = transport-offline ]; then
    pass hba-lost-state "failed session logged out by the driver; $disk transport-offline, still there"
else
    fail hba-lost-state "list: $(ctl list); $disk: $(cat "/sys/block/${disk#/dev/}/device/state" 2>&1)"
fi

# Further I/O fails at once (opening the offline disk already fails).
t0=$(hba_now)
out=$(timeout 60 dd if="$disk" of=/dev/null bs=4k count=1 iflag=direct 2>&1)
rc=$?
t=$(($(hba_now) - t0))
if [ $rc != 0 ] && [ $rc != 124 ] && [ $t -le 5 ]; then
    pass hba-lost-read "READ fails in ${t}s: $(echo "$out" | head -n 1)"
else
    fail hba-lost-read "rc=$rc after ${t}s: $out"
fi

echo "HBA-HOST: bind"
t0=$(hba_now)
# shellcheck disable=SC2317 # called through wait_for
running() { [ "$(cat "/sys/block/${disk#/dev/}/device/state")" = running ]; }
if wait_for 40 running && hba_same "$disk" $((4 * MiB)) /tmp/keep; then
    pass hba-lost-back "$disk running again after $(($(hba_now) - t0))s by itself, the data acknowledged before the loss is there"
else
    fail hba-lost-back "$disk: $(cat "/sys/block/${disk#/dev/}/device/state" 2>&1); list: $(ctl list); dmesg: $(hba_dmesg_since | tail -n 4)"
fi

sid=$(hba_sid_of "$IQN")
out=$(ctl logout "$sid")
rc=$?
if [ $rc = 0 ] && wait_for 20 hba_no_disk && [ -z "$(ctl list)" ]; then
    pass hba-lost-logout "$out: disk gone"
else
    fail hba-lost-logout "rc=$rc $out; list: $(ctl list); disks: $(scsi_disks IET)"
fi
hba_unload
exit 0
