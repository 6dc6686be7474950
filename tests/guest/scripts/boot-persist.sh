# Booted from the LUN by firmware (no -kernel): root is on the iscsi_hba
# disk; a file written on the first boot is there after a reboot.
#   GUEST_TOKEN       a value unique to this run (so an old image cannot pass)
#   GUEST_EXPECT_MB   if set, root's disk must have this size (which target)
#   GUEST_REBOOT      0: one boot only (default 1)
. /tests/lib.sh
. /tests/boot-lib.sh

MARK=/root/boot-mark

echo "boot-persist: firmware ${GUEST_FIRMWARE:-?}, kernel up $(cut -d' ' -f1 /proc/uptime) s"
check_root_on_hba || exit 1
if [ -n "${GUEST_EXPECT_MB:-}" ]; then
    if [ "$ROOT_MB" = "$GUEST_EXPECT_MB" ]; then
        pass boot-target "root disk is the $GUEST_EXPECT_MB MiB LUN the bootindex names"
    else
        fail boot-target "root disk has $ROOT_MB MiB, the bootindex names the $GUEST_EXPECT_MB MiB LUN"
    fi
fi
if [ "${GUEST_REBOOT:-1}" = 0 ]; then
    exit 0
fi
if [ -f "$MARK" ] && [ "$(cat "$MARK")" = "${GUEST_TOKEN:?}" ]; then
    pass persist "$MARK from the first boot read back after the reboot: $(cat "$MARK")"
    exit 0
fi
if [ -f "$MARK.rebooted" ]; then
    fail persist "rebooted, but $MARK holds '$(cat "$MARK" 2>/dev/null)', not $GUEST_TOKEN"
    exit 1
fi
echo "$GUEST_TOKEN" > "$MARK"
echo "$GUEST_TOKEN" > "$MARK.rebooted"
sync
echo "boot-persist: wrote $MARK, rebooting"
echo "BOOT-REBOOTING"
reboot -f
sleep 30
