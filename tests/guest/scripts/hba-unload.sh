# iscsi-hba driver: unload with a session down, load again.
#
#   tests/guest/run-hba.sh hba-unload
#
# Disk A comes from the host-configured target.  The guest logs in to a
# second target (guest.iqn2) with time2wait 60 s; the first TEST UNIT
# READY to it -- sent by sd while it probes the new disk B -- makes the
# adapter drop the connection (fault rule op=scsi,target=<iqn2>,opcode=0):
# B's devices are blocked for the reconnection, and sd's probe waits
# inside the kernel for its held TUR.  rmmod must not wait for that (the
# module is going away, so the SCSI device iterators skip every device):
# it must finish within seconds, leave no disk and no module behind.  A
# second modprobe must bring disk A back (the adapter logs in to
# host-configured targets at every enable) and not B (guest logins do not
# outlive the driver); a second rmmod is clean.
. /tests/lib.sh
. /tests/hba-lib.sh

P=${GUEST_PORTAL:?guest.portal missing}
IQN=${GUEST_IQN:?guest.iqn missing}
IQN2=${GUEST_IQN2:?guest.iqn2 missing}

ctl() { timeout 90 "$HBA_CTL" "$@" 2>&1; }
# shellcheck disable=SC2317 # called through wait_for
b_reconnecting() { ctl list | grep -q "reconnecting *$IQN2 "; }

hba_load
a=$(hba_wait_disk 30)
out=$(ctl login "$IQN2" "$P" --time2wait 60)
if [ -n "$a" ] && wait_for 20 b_reconnecting; then
    pass hba-unload-setup "A=$a (host-configured); B: $out, reconnecting after the dropped TUR"
else
    fail hba-unload-setup "A=$a; login: $out; list: $(ctl list); disks: $(scsi_disks IET)"
    exit 1
fi

hba_mark
t0=$(hba_now)
out=$(timeout 100 rmmod "$HBA_MODULE" 2>&1)
rc=$?
t=$(($(hba_now) - t0))
if [ $rc = 0 ] && [ $t -le 20 ] && [ ! -d "/sys/module/$HBA_MODULE" ] && hba_no_disk; then
    pass hba-unload-down "rmmod in ${t}s with B down and its probe waiting, no disk left"
else
    fail hba-unload-down "rc=$rc after ${t}s: $out; disks: $(scsi_disks IET); dmesg: $(hba_dmesg_since | tail -n 3)"
fi

if ! out=$(timeout 60 modprobe "$HBA_MODULE" 2>&1); then
    fail hba-unload-reload "modprobe: $out"
    exit 1
fi
if a2=$(hba_wait_disk 30) && [ "$(scsi_disks IET | wc -l)" = 1 ] &&
   [ "$(ctl list | grep -c .)" = 1 ] && ctl list | grep -q "logged-in *$IQN .*host-configured"; then
    pass hba-unload-reload "host-configured disk back as $a2, no guest session"
else
    fail hba-unload-reload "disks: $(scsi_disks IET); list: $(ctl list)"
fi
hba_unload
exit 0
