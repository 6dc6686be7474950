# iscsi-hba driver: a controller reset by the real error handler keeps the
# disk under a mounted file system, and leaves another adapter alone.
#
#   tests/guest/run-hba.sh hba-recovery
#
# Adapter 0: the guest logs in to A (guest.iqn) and B (guest.iqn2); ext4
# on B, mounted, with fio writing and verifying a file on it.  Adapter 1:
# host-configured C (guest.iqn3) plus a guest login to D (guest.iqn4),
# fio on D.  The guest logs out of A, so that B's slot is no longer the
# lowest free one.  With io_timeout=5, a READ of B at guest.lba_eh is
# held for 8 s (fault rule); ABORT TASK and LUN RESET for B fail (fault rules),
# tgtd refuses TARGET WARM RESET, the session reset's LOGIN to B fails
# (fault rule): the error handler resets the controller.  Then:
#   - B's session is back in another adapter slot, but B is the same SCSI
#     target and the same /dev/sdX, state running (not offlined by the
#     error handler's test after the reset);
#   - the READ returns B's data, fio on the mounted ext4 verifies every
#     block, no I/O error and no ext4 error was logged, the file system
#     takes new writes;
#   - adapter 1 was not reset: C and D keep their session ids, fio on D
#     verifies.
. /tests/lib.sh
. /tests/hba-lib.sh

P=${GUEST_PORTAL:?guest.portal missing}
IQN=${GUEST_IQN:?guest.iqn missing}
IQN2=${GUEST_IQN2:?guest.iqn2 missing}
IQN3=${GUEST_IQN3:?guest.iqn3 missing}
IQN4=${GUEST_IQN4:?guest.iqn4 missing}
LBA=${GUEST_LBA_EH:?guest.lba_eh missing}
HBA1=/dev/iscsi_hba1

ctl() { timeout 90 "$HBA_CTL" "$@" 2>&1; }
ctl1() { timeout 90 "$HBA_CTL" -d $HBA1 "$@" 2>&1; }
sid1_of() { ctl1 list | awk -v t="$1" '$3 == t { print $1; exit }'; }

hba_load
out_a=$(ctl login "$IQN" "$P")
out_b=$(ctl login "$IQN2" "$P")
out_d=$(ctl1 login "$IQN4" "$P")
hct_b=$(hba_hct_of "$out_b")
hct_d=$(hba_hct_of "$out_d")
# shellcheck disable=SC2317 # called through wait_for
four_disks() { [ "$(scsi_disks IET | wc -l)" = 4 ]; }
wait_for 40 four_disks
b=$(hba_disk_of "$hct_b:1")
d=$(hba_disk_of "$hct_d:1")
sid_a=$(hba_sid_of "$IQN")
sid_b=$(hba_sid_of "$IQN2")
sid_c=$(sid1_of "$IQN3")
sid_d=$(sid1_of "$IQN4")
if [ -z "$b" ] || [ -z "$d" ] || [ -z "$sid_a" ] || [ -z "$sid_c" ]; then
    fail hba-rec-setup "A: $out_a; B: $out_b; D: $out_d; hba1: $(ctl1 list); disks: $(scsi_disks IET)"
    exit 1
fi
pass hba-rec-setup "B=$b ($hct_b, session $sid_b) D=$d ($hct_d); C session $sid_c"

mnt=/mnt/b
mkdir -p $mnt
if ! out=$(timeout 120 mkfs.ext4 -F -q -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "$b" 2>&1) ||
   ! out=$(timeout 60 mount -t ext4 "$b" $mnt 2>&1); then
    fail hba-rec-mount "$out"
    exit 1
fi
hba_eh_prepare "$b" "$LBA"

# A's slot (the lowest) is free from here on
out=$(ctl logout "$sid_a")
pass hba-rec-hole "$out"

fio_verify_bg b $mnt/fio 12M &
pb=$!
fio_verify_bg d "$d" 12M &
pd=$!
sleep 2
hba_eh_read "$b" "$LBA"
if eh_same && echo "$eh_msgs" | grep -q 'resetting controller' &&
   echo "$eh_msgs" | grep -q "logged in to $IQN2 again after reset"; then
    pass hba-rec-host-reset "READ of B back in ${eh_secs}s through abort, LUN, target, session and controller reset"
else
    fail hba-rec-host-reset "rc=$eh_rc after ${eh_secs}s $eh_out; dmesg: $(echo "$eh_msgs" | grep -E 'reset|abort|session|offline|logged' | tail -n 10)"
fi

wait $pb $pd
fio_verify_check b hba-rec-fio-ext4
fio_verify_check d hba-rec-fio-hba1

sid_b2=$(hba_sid_of "$IQN2")
state=$(cat "/sys/block/${b#/dev/}/device/state" 2>&1)
if [ -n "$sid_b2" ] && [ "$sid_b2" != "$sid_b" ] && [ "$(hba_disk_of "$hct_b:1")" = "$b" ] &&
   [ "$state" = running ]; then
    pass hba-rec-same-disk "B moved from session $sid_b to $sid_b2, still $b at $hct_b, $state"
else
    fail hba-rec-same-disk "B: $sid_b -> $sid_b2, $hct_b:1 is '$(hba_disk_of "$hct_b:1")' (was $b), state $state"
fi

errs=$(dmesg | grep -E 'I/O error|EXT4-fs error|Device offlined|rejecting I/O' | head -n 3)
if [ -z "$errs" ] && hba_pattern $mnt/after 2 && sync && timeout 60 umount $mnt &&
   out=$(timeout 60 e2fsck -fn "$b" 2>&1); then
    pass hba-rec-fs "no I/O or ext4 error; new writes, umount and e2fsck clean"
else
    fail hba-rec-fs "$errs $(echo "$out" | tail -n 2)"
fi

sid_c2=$(sid1_of "$IQN3")
sid_d2=$(sid1_of "$IQN4")
if [ "$sid_c2" = "$sid_c" ] && [ "$sid_d2" = "$sid_d" ] &&
   [ "$(dmesg | grep -c 'resetting controller')" = 1 ]; then
    pass hba-rec-other-hba "adapter 1 kept sessions $sid_c and $sid_d, one controller reset in all"
else
    fail hba-rec-other-hba "C: $sid_c -> $sid_c2, D: $sid_d -> $sid_d2; $(dmesg | grep 'resetting controller')"
fi
hba_unload
exit 0
