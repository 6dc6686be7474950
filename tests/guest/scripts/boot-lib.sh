# Helpers for guests booted from an iscsi-hba LUN: where is root?

# The block device mounted on / (e.g. /dev/sda2).
root_device() {
    awk '$2 == "/" && $1 ~ /^\/dev\// { print $1 }' /proc/mounts | tail -n 1
}

# The whole disk of a partition: /dev/sda2 -> sda
disk_of() {
    basename "$(dirname "$(readlink -f "/sys/class/block/${1#/dev/}")")"
}

# The PCI driver of the SCSI host behind a disk (iscsi_hba for the
# adapter).  Not the host's proc_name: that is the iSCSI transport's name.
host_driver_of() {
    _h=$(readlink -f "/sys/block/$1/device" | grep -o '^.*/host[0-9]*' | head -n 1)
    [ -n "$_h" ] && basename "$(readlink -f "$_h/../driver")"
}

# "root /dev/sda2 on sda (iscsi_hba, IET VIRTUAL-DISK, 128 MiB)"; fails
# unless root is on a disk behind the iscsi_hba driver.
check_root_on_hba() {
    _root=$(root_device)
    [ -n "$_root" ] || { fail root "nothing mounted on / from /dev"; return 1; }
    _disk=$(disk_of "$_root")
    _drv=$(host_driver_of "$_disk")
    _size=$(( $(cat "/sys/block/$_disk/size") / 2048 ))
    _what="root $_root on $_disk ($_drv, $(sed 's/ *$//' "/sys/block/$_disk/device/vendor") $(sed 's/ *$//' "/sys/block/$_disk/device/model"), $_size MiB)"
    if [ "$_drv" != iscsi_hba ]; then
        fail root "$_what: not behind iscsi_hba"
        return 1
    fi
    pass root "$_what"
    ROOT_DISK=$_disk
    ROOT_MB=$_size
}
