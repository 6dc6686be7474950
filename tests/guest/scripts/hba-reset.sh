# iscsi-hba driver: SCSI error-handler resets under I/O.
#
#   tests/guest/run-hba.sh hba-reset
#
# Two sessions: the host-configured target (guest.iqn, disk A) and one the
# guest logs in to (guest.iqn2, disk B).  While fio writes and verifies
# both disks (crc32c, QD16), sg_reset asks for
#   a LUN reset on A       -> TASK_MGMT LUN_RESET, answered "complete"
#   a host reset           -> controller disable/enable: every session is
#                             dropped; the host-configured one comes back
#                             by itself, the driver logs in to B's target
#                             again; I/O in flight is retried
# fio must finish without an error and verify every block; both disks
# must still be the same sd devices; both sessions logged in (new ids).
. /tests/lib.sh
. /tests/hba-lib.sh

P=${GUEST_PORTAL:?guest.portal missing}
IQN2=${GUEST_IQN2:?guest.iqn2 missing}

ctl() { timeout 90 "$HBA_CTL" "$@" 2>&1; }

hba_load
if ! a=$(hba_wait_disk 30); then
    fail hba-reset-setup "no disk of the host-configured target"
    exit 1
fi
out=$(ctl login "$IQN2" "$P")
# shellcheck disable=SC2317 # called through wait_for
two_disks() { [ "$(scsi_disks IET | wc -l)" = 2 ]; }
wait_for 20 two_disks
b=$(scsi_disks IET | grep -v "^$a\$" | head -n 1)
if [ -z "$b" ]; then
    fail hba-reset-setup "login: $out; disks: $(scsi_disks IET)"
    exit 1
fi
hctl_a=$(basename "$(readlink -f "/sys/block/${a#/dev/}/device")")
hctl_b=$(basename "$(readlink -f "/sys/block/${b#/dev/}/device")")
pass hba-reset-setup "A=$a ($hctl_a, host-configured) B=$b ($hctl_b, guest login)"
before=$(ctl list)

fio_verify_bg a "$a" 24M &
pa=$!
fio_verify_bg b "$b" 24M &
pb=$!

sleep 2
hba_mark
out=$(timeout 90 sg_reset -d "$a" 2>&1)
rc=$?
msgs=$(hba_dmesg_since)
if [ $rc = 0 ] && echo "$msgs" | grep -q "${hctl_a}: LUN reset" &&
   ! echo "$msgs" | grep -q 'resetting controller'; then
    pass hba-reset-lun "LUN reset of $hctl_a done without escalation"
else
    fail hba-reset-lun "rc=$rc $out; dmesg: $(echo "$msgs" | tail -n 3)"
fi

sleep 1
hba_mark
t0=$(hba_now)
out=$(timeout 90 sg_reset -H "$a" 2>&1)
rc=$?
# the sessions come back asynchronously (the driver's event work)
# shellcheck disable=SC2317 # called through wait_for
relogged() { hba_dmesg_since | grep -q "logged in to $IQN2 again after reset"; }
wait_for 30 relogged
t=$(($(hba_now) - t0))
msgs=$(hba_dmesg_since)
if [ $rc = 0 ] && [ $t -le 30 ] && echo "$msgs" | grep -q 'resetting controller' &&
   echo "$msgs" | grep -q "logged in to $IQN2 again after reset"; then
    pass hba-reset-host "controller reset in ${t}s, $IQN2 logged in again"
else
    fail hba-reset-host "rc=$rc after ${t}s $out; dmesg: $(echo "$msgs" | tail -n 4)"
fi

wait $pa $pb
fio_verify_check a hba-reset-fio-a
fio_verify_check b hba-reset-fio-b

after=$(ctl list)
if [ "$(echo "$after" | grep -c ' logged-in ')" = 2 ] && [ "$after" != "$before" ] &&
   [ "$(basename "$(readlink -f "/sys/block/${a#/dev/}/device")")" = "$hctl_a" ] &&
   [ "$(basename "$(readlink -f "/sys/block/${b#/dev/}/device")")" = "$hctl_b" ]; then
    pass hba-reset-sessions "same disks, new sessions: $(echo "$after" | awk '{ print $1 }' | tr '\n' ' ')"
else
    fail hba-reset-sessions "before: $before; after: $after; disks: $(scsi_disks IET)"
fi
hba_unload
exit 0
