# iscsi-hba driver: the sessions as Linux's iSCSI tools see them.
#
#   tests/guest/run-hba.sh hba-iscsiadm
#
# A host-configured target (guest.iqn) and a guest login (guest.iqn2):
#   - /sys/class/iscsi_host, iscsi_session, iscsi_connection describe them
#     (initiator name, target name, portal, state LOGGED_IN, connection up);
#   - open-iscsi's iscsiadm (Debian 12's) lists both with "-m session"
#     and "-m session -P 3" (transport iscsi-hba, state LOGGED_IN, the
#     attached disk); the -P 3 output goes to the console;
#   - recovery_tmo written through sysfs is what iscsiadm shows;
#   - "udevadm test" (no udev daemon here) runs Debian's
#     60-persistent-storage.rules as udev would: each disk gets its
#     /dev/disk/by-path/...-ip-<portal>-iscsi-<iqn>-lun-1 name, and the
#     name reads the disk's data;
#   - the host-configured target is flash node 0 of the host
#     (/sys/bus/iscsi_flashnode: target name, portal); logging out of it
#     and in again through the kernel's iSCSI netlink interface (the
#     request iscsiadm -C flashnode -o logout/login sends; hba-fnode
#     stands in for iscsiadm, see below) removes and brings back disk A;
#     a second logout is ENOENT, a second login EEXIST;
#   - what needs open-iscsi's transport template list (flash nodes,
#     "-m host -C flashnode") fails with open-iscsi's own message: a
#     canary for the note that says so.
. /tests/lib.sh
. /tests/hba-lib.sh

P=${GUEST_PORTAL:?guest.portal missing}
IQN=${GUEST_IQN:?guest.iqn missing}
IQN2=${GUEST_IQN2:?guest.iqn2 missing}
HOSTADDR=${P%:*}
PORT=${P##*:}

ctl() { timeout 90 "$HBA_CTL" "$@" 2>&1; }
# iscsiadm keeps its lock and node database here
mkdir -p /run/lock/iscsi /etc/iscsi/ifaces /etc/iscsi/nodes /etc/iscsi/send_targets

hba_load
a=$(hba_wait_disk 30)
out=$(ctl login "$IQN2" "$P")
hct_b=$(hba_hct_of "$out")
# shellcheck disable=SC2317 # called through wait_for
b_ready() { hba_disk_of "$hct_b:1"; }
wait_for 20 b_ready
b=$(hba_disk_of "$hct_b:1")
host=${hct_b%%:*}
if [ -z "$a" ] || [ -z "$b" ]; then
    fail hba-iscsiadm-setup "A=$a; login: $out; disks: $(scsi_disks IET)"
    exit 1
fi
pass hba-iscsiadm-setup "A=$a (host-configured) B=$b ($hct_b)"

# sysfs of the transport class
sess_of() { basename "$(readlink -f "/sys/block/${1#/dev/}/device/../..")"; }
sa=$(sess_of "$a")
sb=$(sess_of "$b")
iname=$(ctl get-initiator-name | tail -n 1)
cls=/sys/class/iscsi_session
cb=/sys/class/iscsi_connection/connection${sb#session}:0
if [ "$(cat /sys/class/iscsi_host/host"$host"/initiatorname)" = "$iname" ] &&
   [ "$(cat $cls/"$sa"/targetname)" = "$IQN" ] && [ "$(cat $cls/"$sb"/targetname)" = "$IQN2" ] &&
   [ "$(cat $cls/"$sb"/state)" = LOGGED_IN ] && [ "$(cat $cls/"$sb"/initiatorname)" = "$iname" ] &&
   [ "$(cat "$cb"/persistent_address)" = "$HOSTADDR" ] && [ "$(cat "$cb"/persistent_port)" = "$PORT" ] &&
   [ "$(cat "$cb"/state)" = up ]; then
    pass hba-iscsiadm-sysfs "$sa ($IQN) and $sb ($IQN2): target, initiator $iname, portal $P, LOGGED_IN, connection up"
else
    fail hba-iscsiadm-sysfs "$sa/$sb ($iname): $(grep -s . $cls/"$sb"/* "$cb"/* | tr '\n' ' ')"
fi

out=$(timeout 30 iscsiadm -m session 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "\] $P,.* $IQN (flash)$" &&
   echo "$out" | grep -q "\] $P,.* $IQN2 (flash)$"; then
    pass hba-iscsiadm-session "$(echo "$out" | grep "$IQN")"
else
    fail hba-iscsiadm-session "rc=$rc $out"
fi

echo 30 > $cls/"$sb"/recovery_tmo
out=$(timeout 30 iscsiadm -m session -P 3 2>&1)
rc=$?
echo "=== iscsiadm -m session -P 3"
echo "$out"
echo "=== end"
# the block of B's session: from its Target: line to the next
blk=$(echo "$out" | awk -v t="Target: $IQN2 (flash)" '$0 == t { on = 1; print; next } /^Target: / { on = 0 } on')
if [ $rc = 0 ] && echo "$blk" | grep -q "Iface Transport: iscsi-hba" &&
   echo "$blk" | grep -q "iSCSI Session State: LOGGED_IN" &&
   echo "$blk" | grep -q "Recovery Timeout: 30" &&
   echo "$blk" | grep -q "Persistent Portal: $P," &&
   echo "$blk" | grep -q "Attached scsi disk ${b#/dev/}[[:space:]]*State: running"; then
    pass hba-iscsiadm-p3 "B: transport iscsi-hba, LOGGED_IN, recovery timeout 30, disk ${b#/dev/} running"
else
    fail hba-iscsiadm-p3 "rc=$rc; B's block: $(echo "$blk" | head -n 30)"
fi

# udev's persistent-storage rules, run by udevadm as the daemon would
hba_pattern /tmp/bp 1
hba_write /tmp/bp "$b" 0 > /dev/null
for d in "$a" "$b"; do
    timeout 30 udevadm test --action=add "/sys/block/${d#/dev/}" > /tmp/udev.out 2>&1
done
la=$(ls /dev/disk/by-path/ 2>/dev/null | grep -- "-ip-$P-iscsi-$IQN-lun-1$")
lb=$(ls /dev/disk/by-path/ 2>/dev/null | grep -- "-ip-$P-iscsi-$IQN2-lun-1$")
if [ -n "$la" ] && [ -n "$lb" ] && [ "$(readlink -f "/dev/disk/by-path/$lb")" = "$b" ] &&
   hba_same "/dev/disk/by-path/$lb" 0 /tmp/bp; then
    pass hba-iscsiadm-by-path "$la -> $(readlink -f "/dev/disk/by-path/$la"); $lb -> $b, reads B's data"
else
    fail hba-iscsiadm-by-path "by-path: $(ls /dev/disk/by-path/ 2>&1); udevadm: $(grep -i -E 'path|error' /tmp/udev.out | tail -n 4)"
fi

# flash nodes: the host-configured target
fs=/sys/bus/iscsi_flashnode/devices/flashnode_sess-$host:0
fc=/sys/bus/iscsi_flashnode/devices/flashnode_conn-$host:0:0
if [ "$(cat "$fs"/targetname 2>&1)" = "$IQN" ] && [ "$(cat "$fc"/ipaddress 2>&1)" = "$HOSTADDR" ] &&
   [ "$(cat "$fc"/port 2>&1)" = "$PORT" ] && [ ! -e /sys/bus/iscsi_flashnode/devices/flashnode_sess-$host:1 ]; then
    pass hba-iscsiadm-fnode-list "flash node $host:0 = $IQN at $P, the only one"
else
    fail hba-iscsiadm-fnode-list "$(ls /sys/bus/iscsi_flashnode/devices/ 2>&1) $(grep -s . "$fs"/* "$fc"/* | tr '\n' ' ')"
fi
# shellcheck disable=SC2317 # called through wait_for
a_gone() { ! ctl list | grep -q " $IQN " && [ -z "$(hba_disk_of "$host:0:0:1")" ]; }
out=$(timeout 60 hba-fnode logout "$host" 0 2>&1)
rc=$?
out2=$(timeout 60 hba-fnode logout "$host" 0 2>&1)
rc2=$?
if [ $rc = 0 ] && wait_for 20 a_gone && [ $rc2 = 1 ] && echo "$out2" | grep -q 'iferror -2 '; then
    pass hba-iscsiadm-fnode-logout "$out; disk A gone; again: $out2"
else
    fail hba-iscsiadm-fnode-logout "rc=$rc $out; again rc=$rc2 $out2; list: $(ctl list)"
fi
out=$(timeout 60 hba-fnode login "$host" 0 2>&1)
rc=$?
# shellcheck disable=SC2317 # called through wait_for
a_back() { hba_disk_of "$(hba_hct_of "$(ctl list | grep " $IQN ")"):1"; }
wait_for 20 a_back
a2=$(a_back)
out2=$(timeout 60 hba-fnode login "$host" 0 2>&1)
rc2=$?
if [ $rc = 0 ] && [ -n "$a2" ] && timeout 30 iscsiadm -m session 2>&1 | grep -q " $IQN (flash)$" &&
   [ $rc2 = 1 ] && echo "$out2" | grep -q 'iferror -17 '; then
    pass hba-iscsiadm-fnode-login "$out; disk A back as $a2, iscsiadm lists it; again: $out2"
else
    fail hba-iscsiadm-fnode-login "rc=$rc $out; again rc=$rc2 $out2; list: $(ctl list); disks: $(scsi_disks IET)"
fi

# open-iscsi 2.1.8 drops every transport missing from its compiled-in
# template list; flash node operations need the transport
out=$(timeout 30 iscsiadm -m host -H "$host" -C flashnode 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q 'Could not find template for iscsi-hba' &&
   echo "$out" | grep -q "Could not match hostno $host to transport"; then
    pass hba-iscsiadm-no-template "as the note says: $(echo "$out" | tail -n 1)"
else
    fail hba-iscsiadm-no-template "rc=$rc $out (the note on open-iscsi is out of date?)"
fi
hba_unload
exit 0
