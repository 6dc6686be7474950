# iscsi-hba driver: fio writes and verifies the raw disk.
#
#   tests/guest/run-hba.sh hba-fio-verify
#
# Two fio jobs, each writing then reading back with crc32c verification
# (--do_verify=1, --verify_fatal=1), libaio, O_DIRECT:
#   4k       random 4 KiB writes, iodepth 16, 32 MiB       (inline SG)
#   mixed    random 4 KiB..512 KiB writes, iodepth 8, 32 MiB at 32 MiB
#            (SG lists of up to 128 elements, several blk-mq tags)
# Any fio error, verify failure or 0 IOPS fails.
. /tests/lib.sh
. /tests/hba-lib.sh

hba_load
if ! disk=$(hba_wait_disk 30); then
    fail hba-fio-disk "no IET disk within 30 s"
    exit 1
fi

run_fio() {
    _name=$1
    shift
    # terse v3: field 5 error, 6 read KiB (the verify pass), 47 write
    # KiB, 49 write IOPS
    if _out=$(timeout 200 fio --name="$_name" --filename="$disk" --direct=1 \
                --ioengine=libaio --verify=crc32c --do_verify=1 --verify_fatal=1 \
                --minimal "$@" 2>&1); then
        _line=$(echo "$_out" | grep '^3;' | tail -n 1)
        _err=$(echo "$_line" | cut -d';' -f5)
        _wr=$(echo "$_line" | cut -d';' -f47)
        _rd=$(echo "$_line" | cut -d';' -f6)
        _wiops=$(echo "$_line" | cut -d';' -f49)
        if [ "$_err" = 0 ] && [ "${_wr:-0}" -gt 0 ] && [ "${_rd:-0}" -gt 0 ]; then
            pass "hba-fio-$_name" "wrote ${_wr} KiB (${_wiops} IOPS), verified ${_rd} KiB, err=0"
        else
            fail "hba-fio-$_name" "err=$_err written=$_wr KiB verified=$_rd KiB: $(echo "$_out" | grep -v '^3;' | tail -n 3)"
        fi
    else
        fail "hba-fio-$_name" "rc=$? $(echo "$_out" | grep -v '^3;' | tail -n 4)"
    fi
}

run_fio 4k --rw=randwrite --bs=4k --iodepth=16 --size=32M --offset=0
run_fio mixed --rw=randwrite --bsrange=4k-512k --iodepth=8 --size=32M --offset=32M

# nothing may have failed below fio either
bad='I/O error\|iscsi_hba [0-9a-f:.]*: .*\(failed\|lost\|timed out\)\|command 0x[0-9a-f]* failed\|abort'
if dmesg | grep -q "$bad"; then
    fail hba-fio-dmesg "$(dmesg | grep "$bad" | head -n 3)"
else
    pass hba-fio-dmesg "no I/O errors logged"
fi
hba_unload
exit 0
