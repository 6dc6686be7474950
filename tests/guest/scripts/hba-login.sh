# iscsi-hba driver: sessions the guest manages with iscsi-hba-ctl.
#
#   tests/guest/run-hba.sh hba-login
#
# No host-configured target.  tgtd serves guest.iqn (open, LUN of
# guest.size_mb MiB) and guest.chap_iqn (CHAP user guest.chap_user with
# secret guest.chap_secret, LUN of guest.chap_size_mb MiB), both on
# guest.portal.
#   discover  lists both targets with the portal
#   login     prints the session id; the LUN appears as an IET disk
#   list/info show the session logged in, with its SCSI address
#   logout    the disk disappears, the session id is no longer valid
#   CHAP      a wrong secret fails with ISDSC_AUTHENTICATION_FAILURE
#             (0xefff0009), exit status 1, named in dmesg, no disk; the
#             right secret logs in and gives the 32 MiB disk
. /tests/lib.sh
. /tests/hba-lib.sh

P=${GUEST_PORTAL:?guest.portal missing}
IQN=${GUEST_IQN:?guest.iqn missing}
CIQN=${GUEST_CHAP_IQN:?guest.chap_iqn missing}
SIZE_MB=${GUEST_SIZE_MB:?}
CHAP_SIZE_MB=${GUEST_CHAP_SIZE_MB:?}

ctl() { timeout 90 "$HBA_CTL" "$@" 2>&1; }

hba_load
if hba_no_disk && [ -z "$(ctl list)" ]; then
    pass hba-login-none "no session and no disk before login"
else
    fail hba-login-none "sessions: $(ctl list) disks: $(scsi_disks IET)"
fi

# discover
out=$(ctl discover "$P")
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -qx "TargetName=$IQN" &&
   echo "$out" | grep -qx "TargetName=$CIQN" &&
   echo "$out" | grep -q "TargetAddress=$P,"; then
    pass hba-login-discover "$(echo "$out" | tr '\n' ' ')"
else
    fail hba-login-discover "rc=$rc: $out"
fi

# login to the open target
out=$(ctl login "$IQN" "$P")
rc=$?
sid=$(echo "$out" | sed -n 's/^session \(0x[0-9a-f]*\) scsi [0-9]*:0:[0-9]*:\*$/\1/p')
if [ $rc = 0 ] && [ -n "$sid" ]; then
    pass hba-login-login "$out"
else
    fail hba-login-login "rc=$rc: $out"
fi
if disk=$(hba_wait_disk 20); then
    bytes=$(( $(cat "/sys/block/${disk#/dev/}/size") * 512 ))
    if [ "$bytes" = $((SIZE_MB * 1048576)) ]; then
        pass hba-login-disk "$disk, $SIZE_MB MiB"
    else
        fail hba-login-disk "$disk has $bytes bytes, want $SIZE_MB MiB"
    fi
    hba_pattern /tmp/pat 1
    if hba_write /tmp/pat "$disk" 0 > /dev/null && hba_same "$disk" 0 /tmp/pat; then
        pass hba-login-io "1 MiB written and read back"
    else
        fail hba-login-io "data differs"
    fi
else
    fail hba-login-disk "no IET disk within 20 s after login"
fi

# list and info
out=$(ctl list)
case $out in
    "$sid logged-in "*" $IQN $P scsi "*) pass hba-login-list "$out" ;;
    *) fail hba-login-list "want $sid logged-in $IQN $P: $out" ;;
esac
out=$(ctl info "$sid")
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "^state: *logged-in (2)$" &&
   echo "$out" | grep -q "^target: *$IQN$" && echo "$out" | grep -q "^portal: *$P$" &&
   echo "$out" | grep -q "^scsi: *[0-9]*:0:[0-9]*:\*$"; then
    pass hba-login-info "$(echo "$out" | grep -E '^(state|scsi|reconnects):' | tr -s ' ' | tr '\n' ' ')"
else
    fail hba-login-info "rc=$rc: $out"
fi

# logout
out=$(ctl logout "$sid")
rc=$?
if [ $rc = 0 ] && wait_for 10 hba_no_disk; then
    pass hba-login-logout "session $sid ended, disk gone"
else
    fail hba-login-logout "rc=$rc $out; disks: $(scsi_disks IET)"
fi
out=$(ctl info "$sid")
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q ISDSC_INVALID_SESSION_ID && [ -z "$(ctl list)" ]; then
    pass hba-login-gone "info $sid: ISDSC_INVALID_SESSION_ID; list empty"
else
    fail hba-login-gone "rc=$rc: $out; list: $(ctl list)"
fi

# a secret on the command line is refused (every user could read it in
# /proc/PID/cmdline), before anything reaches the adapter
out=$(ctl login "$CIQN" "$P" --chap "$GUEST_CHAP_USER" "$GUEST_CHAP_SECRET" 2>&1)
rc=$?
if [ $rc = 2 ] && echo "$out" | grep -q 'readable by every user'; then
    pass hba-login-secret-argv "exit 2: $(echo "$out" | head -n 1)"
else
    fail hba-login-secret-argv "rc=$rc: $out"
fi

# CHAP target, wrong secret
hba_mark
echo wrong-secret-123 > /tmp/wrong-secret
out=$(ctl login "$CIQN" "$P" --chap "$GUEST_CHAP_USER" @/tmp/wrong-secret)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q 'ISDSC_AUTHENTICATION_FAILURE (0xefff0009)'; then
    pass hba-login-chap-bad "exit 1: $out"
else
    fail hba-login-chap-bad "rc=$rc: $out"
fi
if hba_dmesg_since | grep -q "login to $CIQN at .* failed: ISDSC_AUTHENTICATION_FAILURE (0xefff0009)"; then
    pass hba-login-chap-dmesg "$(hba_dmesg_since | grep -o 'login to .*' | head -n 1)"
else
    fail hba-login-chap-dmesg "dmesg: $(hba_dmesg_since | tail -n 3)"
fi
if hba_no_disk && [ -z "$(ctl list)" ]; then
    pass hba-login-chap-nothing "no session, no disk after the failed login"
else
    fail hba-login-chap-nothing "sessions: $(ctl list) disks: $(scsi_disks IET)"
fi

# CHAP target, no credentials at all: the target refuses too
out=$(ctl login "$CIQN" "$P")
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q 'ISDSC_'; then
    pass hba-login-chap-none "exit 1: $(echo "$out" | head -n 1)"
else
    fail hba-login-chap-none "rc=$rc: $out"
fi

# CHAP target, right secret (read from standard input)
out=$(echo "$GUEST_CHAP_SECRET" | ctl login "$CIQN" "$P" --chap "$GUEST_CHAP_USER" -)
rc=$?
csid=$(echo "$out" | sed -n 's/^session \(0x[0-9a-f]*\) .*/\1/p')
if [ $rc = 0 ] && [ -n "$csid" ] && disk=$(hba_wait_disk 20) &&
   [ "$(( $(cat "/sys/block/${disk#/dev/}/size") * 512 ))" = $((CHAP_SIZE_MB * 1048576)) ]; then
    pass hba-login-chap-good "$out; $disk $CHAP_SIZE_MB MiB"
else
    fail hba-login-chap-good "rc=$rc: $out; disks: $(scsi_disks IET)"
fi
# a second login to the same target and portal is refused
out=$(echo "$GUEST_CHAP_SECRET" | ctl login "$CIQN" "$P" --chap "$GUEST_CHAP_USER" -)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q ISDSC_TARGET_ALREADY_LOGGED_IN; then
    pass hba-login-twice "exit 1: ISDSC_TARGET_ALREADY_LOGGED_IN"
else
    fail hba-login-twice "rc=$rc: $out"
fi
# leave the session logged in: rmmod must log it out and clean up
hba_unload
exit 0
