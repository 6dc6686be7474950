# Smoke test: the guest image works and sees the iscsi-hba PCI function.
#
#   tests/guest/run.sh smoke -device iscsi-hba
#   tests/guest/run.sh -k iscsi_hba.ko -a guest.module=iscsi_hba smoke -device iscsi-hba
#
# guest.module=<name>      also modprobe <name>, report whether it bound
#                          to the adapter, then remove it again
# guest.keep_module=1      leave it loaded
# guest.expect_hba=0       the adapter is not expected (no -device iscsi-hba)
. /tests/lib.sh

# The adapter's PCI ids (include/hw/iscsi-hba/iscsi-hba-abi.h)
HBA_VENDOR=0x1af4
HBA_DEVICE=0x10f5

hba_function() {
    for f in /sys/bus/pci/devices/*; do
        if [ "$(cat "$f/vendor")" = $HBA_VENDOR ] && [ "$(cat "$f/device")" = $HBA_DEVICE ]; then
            echo "${f##*/}"
            return 0
        fi
    done
    return 1
}

if [ "${GUEST_EXPECT_HBA:-1}" = 1 ]; then
    if bdf=$(hba_function); then
        f=/sys/bus/pci/devices/$bdf
        pass iscsi-hba-pci "$bdf class=$(cat "$f/class") subsys=$(cat "$f/subsystem_vendor"):$(cat "$f/subsystem_device") irq=$(cat "$f/irq")"
    else
        fail iscsi-hba-pci "no $HBA_VENDOR:$HBA_DEVICE in /sys/bus/pci/devices: $(cat /sys/bus/pci/devices/*/device | tr '\n' ' ')"
    fi
fi

# The image's tools start (dynamic ones find their libraries).
check tool-fio fio --version
check tool-sg3 sg_inq --version
check tool-mkfs mkfs.ext4 -V
check base-modules test -d /sys/module/sd_mod -a -d /sys/module/sg -a -d /sys/module/virtio_scsi

if [ -n "${GUEST_MODULE:-}" ]; then
    m=$GUEST_MODULE
    if out=$(modprobe "$m" 2>&1); then
        pass "modprobe-$m" "$(grep "^${m} " /proc/modules | cut -d' ' -f1-2)"
        if bdf=$(hba_function) && [ -e "/sys/bus/pci/devices/$bdf/driver" ]; then
            drv=$(readlink "/sys/bus/pci/devices/$bdf/driver")
            pass "bind-$m" "$bdf bound to ${drv##*/}"
        fi
        # rmmod, not modprobe -r: busybox's also tries to remove the
        # dependencies (scsi_mod, in use) and then reports failure
        if [ "${GUEST_KEEP_MODULE:-0}" != 1 ]; then
            if ! out=$(rmmod "$m" 2>&1); then
                fail "rmmod-$m" "$out"
            elif [ -d "/sys/module/$m" ]; then
                fail "rmmod-$m" "/sys/module/$m still there"
            else
                pass "rmmod-$m"
            fi
        fi
    else
        fail "modprobe-$m" "$out"
    fi
fi
