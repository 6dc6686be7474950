# Control test: fio and a file system on a virtio-scsi disk, no iscsi-hba
# driver involved.  Proves the harness end to end and gives the TCG
# baseline the adapter is compared with.  The disk is any SCSI disk whose
# vendor is "QEMU" (scsi-hd), e.g. QEMU's own libiscsi block driver:
#
#   tests/guest/run.sh virtio-fio -device virtio-scsi-pci \
#       -drive file=iscsi://127.0.0.1:3260/<iqn>/1,if=none,id=d0,format=raw \
#       -device scsi-hd,drive=d0
#
# guest.disk=sdX        use this disk instead (its contents are destroyed)
# guest.runtime=<secs>  fio run time per job (default 5)
# guest.fs=0            skip the file-system test
. /tests/lib.sh

RUNTIME=${GUEST_RUNTIME:-5}

if [ -n "${GUEST_DISK:-}" ]; then
    disk=/dev/${GUEST_DISK#/dev/}
    wait_for 10 test -b "$disk"
else
    # sd probing is asynchronous: give it a moment
    wait_for 10 sh -c '. /tests/lib.sh; [ -n "$(scsi_disks QEMU)" ]'
    disk=$(scsi_disks QEMU | head -n 1)
fi
if [ -z "$disk" ] || [ ! -b "$disk" ]; then
    fail virtio-disk "no QEMU SCSI disk; have: $(ls /sys/block | tr '\n' ' ')"
    exit 1
fi
dev=${disk#/dev/}
pass virtio-disk "$disk $(cat "/sys/block/$dev/size") sectors, $(tr -s ' ' < "/sys/block/$dev/device/model")"

# One fio job; prints "iops=<n> lat_us=<mean>" from fio's terse output
# (v3: field 8 read IOPS, field 40 mean total latency in us).
fio_randread() {
    _name=$1
    shift
    _out=$(fio --name="$_name" --filename="$disk" --rw=randread --bs=4k --direct=1 \
               --runtime="$RUNTIME" --time_based --minimal "$@" 2>&1) || {
        echo "fio failed: $(echo "$_out" | tail -n 2)"
        return 1
    }
    echo "$_out" | awk -F';' '$1 == 3 { printf "iops=%d lat_us=%.0f", $8, $40 }'
}

for job in "qd32-libaio --ioengine=libaio --iodepth=32" "qd1-psync --ioengine=psync --iodepth=1"; do
    name=virtio-fio-${job%% *}
    # shellcheck disable=SC2086 # $job is a name and options: split it
    if res=$(fio_randread $job) && [ -n "$res" ] && [ "${res#iops=0 }" = "$res" ]; then
        pass "$name" "$res"
    else
        fail "$name" "$res"
    fi
done

[ "${GUEST_FS:-1}" = 1 ] || exit 0

# ext4: make, write, unmount, fsck, read back from the device.
fs_test() {
    mkfs.ext4 -F -q -E nodiscard "$disk" || { echo "mkfs.ext4 failed"; return 1; }
    mkdir -p /mnt/t
    mount -t ext4 "$disk" /mnt/t || { echo "mount failed"; return 1; }
    dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
    want=$(md5sum < /tmp/pattern)
    cp /tmp/pattern /mnt/t/pattern && sync
    umount /mnt/t || { echo "umount failed"; return 1; }
    e2fsck -fn "$disk" > /tmp/fsck.out 2>&1 || { echo "e2fsck: $(tail -n 2 /tmp/fsck.out)"; return 1; }
    # unmounting dropped the file's pages: this read goes to the disk
    echo 3 > /proc/sys/vm/drop_caches
    mount -t ext4 -o ro "$disk" /mnt/t || { echo "second mount failed"; return 1; }
    got=$(md5sum < /mnt/t/pattern)
    umount /mnt/t
    [ "$want" = "$got" ] || { echo "read back differs"; return 1; }
    echo "8 MiB written, fsck clean, read back identical"
}
if res=$(fs_test 2>&1); then
    pass virtio-ext4 "$res"
else
    fail virtio-ext4 "$res"
fi
