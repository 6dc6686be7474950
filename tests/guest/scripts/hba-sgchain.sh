# iscsi-hba driver: long scatter-gather lists, chained over pages.
#
#   tests/guest/run-hba.sh hba-sgchain
#
# The adapter has max-sg-elements=1024 and max-transfer=4 MiB, so the
# driver allows requests of 1024 segments.  hba-sgvec writes and reads
# back O_DIRECT requests whose 512-byte blocks each lie in a page of their
# own (no merging): one data element per block.  The driver puts up to 4
# elements in the SQE, up to 256 in one SG list page, and more in pages
# chained with SG_CHAIN elements; the block counts sit on each boundary:
#   1 4 (inline)  5 255 256 (one page)  257 511 512 (two pages, the
#   second exactly full at 511)  513 767 1024 (three to five pages)
# Then fio writes and verifies 4 MiB blocks (max_sectors_kb raised).
. /tests/lib.sh
. /tests/hba-lib.sh

hba_load
if ! disk=$(hba_wait_disk 30); then
    fail hba-sgchain-disk "no IET disk within 30 s"
    exit 1
fi
q=/sys/block/${disk#/dev/}/queue
if [ "$(cat "$q"/max_segments)" = 1024 ] && [ "$(cat "$q"/max_hw_sectors_kb)" = 4096 ]; then
    pass hba-sgchain-limits "$disk: max_segments 1024, max_hw_sectors_kb 4096"
else
    fail hba-sgchain-limits "max_segments $(cat "$q"/max_segments), max_hw_sectors_kb $(cat "$q"/max_hw_sectors_kb)"
fi
echo 4096 > "$q"/max_sectors_kb

off=0
for n in 1 4 5 255 256 257 511 512 513 767 1024; do
    if out=$(timeout 60 hba-sgvec "$disk" $off $n 2 2>&1); then
        pass "hba-sgchain-$n" "$out"
    else
        fail "hba-sgchain-$n" "$out; $(dmesg | grep 'iscsi_hba\|I/O error\|command 0x' | tail -n 2)"
    fi
    off=$((off + 1048576))
done

if out=$(timeout 120 fio --name=big --filename="$disk" --direct=1 --ioengine=libaio \
            --rw=randwrite --bs=4m --iodepth=4 --size=32M --offset=16M \
            --verify=crc32c --do_verify=1 --verify_fatal=1 --minimal 2>&1) &&
   [ "$(echo "$out" | grep '^3;' | cut -d';' -f5)" = 0 ]; then
    pass hba-sgchain-fio "4 MiB blocks written and verified"
else
    fail hba-sgchain-fio "$(echo "$out" | grep -v '^3;' | tail -n 3)"
fi
hba_unload
exit 0
