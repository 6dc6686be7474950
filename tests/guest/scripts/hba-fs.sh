# iscsi-hba driver: ext4 on the adapter's disk.
#
#   tests/guest/run-hba.sh hba-fs
#
# mkfs.ext4, mount, write files (12 MiB in a few large files plus a tree
# of small ones), sync, unmount, e2fsck -fn must be clean, mount again
# with the page cache dropped: every checksum must match.
. /tests/lib.sh
. /tests/hba-lib.sh

hba_load
if ! disk=$(hba_wait_disk 30); then
    fail hba-fs-disk "no IET disk within 30 s"
    exit 1
fi
pass hba-fs-disk "$disk"
mnt=/mnt/hba

step() {
    _n=$1
    shift
    if _o=$(timeout 120 "$@" 2>&1); then
        return 0
    fi
    fail "hba-fs-$_n" "rc=$? $* : $(echo "$_o" | tail -n 3)"
    return 1
}

fs_write() {
    step mkfs mkfs.ext4 -F -q -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "$disk" || return 1
    mkdir -p $mnt
    step mount mount -t ext4 "$disk" $mnt || return 1
    for i in 1 2 3; do
        hba_pattern "$mnt/big$i" 4
    done
    mkdir -p $mnt/tree
    i=0
    while [ $i -lt 200 ]; do
        mkdir -p "$mnt/tree/d$((i % 10))"
        dd if=/dev/urandom of="$mnt/tree/d$((i % 10))/f$i" bs=$((512 + i * 37)) count=1 2>/dev/null
        i=$((i + 1))
    done
    (cd $mnt && find . -type f | sort | xargs md5sum) > /tmp/manifest
    step sync sync || return 1
    step umount umount $mnt || return 1
    pass hba-fs-write "$(wc -l < /tmp/manifest) files written, synced, unmounted"
}

if fs_write; then
    if out=$(timeout 120 e2fsck -fn "$disk" 2>&1); then
        pass hba-fs-fsck "$(echo "$out" | tail -n 1)"
    else
        fail hba-fs-fsck "$(echo "$out" | tail -n 4)"
    fi
    echo 3 > /proc/sys/vm/drop_caches
    if step remount mount -t ext4 "$disk" $mnt; then
        if out=$(cd $mnt && md5sum -c /tmp/manifest 2>&1); then
            pass hba-fs-verify "$(echo "$out" | grep -c ': OK$') of $(wc -l < /tmp/manifest) files match after remount"
        else
            fail hba-fs-verify "$(echo "$out" | grep -v ': OK$' | head -n 3)"
        fi
        step umount2 umount $mnt
    fi
fi
hba_unload
exit 0
