# Benchmark jobs for scripts/bench.sh: a measurement, not a test.  Runs
# fio jobs on one disk and prints each job's JSON result on one line:
#
#   BENCH-DISK <side> <disk> <sectors> <vendor> <model>
#   BENCH-JSON <job> {...fio --output-format=json, newlines removed...}
#   BENCH-WORK <job> <before> <after>  work counters around the job, each
#                                      "sq,cq,irqs,ios" (see work_counters)
#   BENCH-ERR <job> <last lines of fio's errors>
#   BENCH-NA <reason>                  the side cannot be measured at all
#
# guest.side=hba       load iscsi_hba, use its disk (tgtd LUN: vendor IET)
# guest.side=virtio    use the virtio-scsi disk (scsi-hd: vendor QEMU)
# guest.runtime=<s>    seconds per job after a 1 s ramp (default 5)
# guest.hba_args=...   module parameters for iscsi_hba (e.g.
#                      doorbell_batch=0)
# guest.jobs=a,b,...   default: all of randread-4k-qd1 randread-4k-qd32
#                      randread-4k-qd32-b16 read-128k-qd8 write-128k-qd8
#                      (b16: fio reaps 16 completions, then submits 16 I/Os
#                      in one io_submit, so blk-mq sees batches; the
#                      others submit one at a time)
#
# All jobs: libaio, O_DIRECT, time based, over the whole disk.  The write
# job overwrites the disk's contents.
. /tests/lib.sh

RUNTIME=${GUEST_RUNTIME:-5}
JOBS=${GUEST_JOBS:-randread-4k-qd1,randread-4k-qd32,randread-4k-qd32-b16,read-128k-qd8,write-128k-qd8}

not_available() {
    echo "BENCH-NA $*"
    exit 1
}

job_args() {
    case $1 in
        randread-4k-qd1)  echo "--rw=randread --bs=4k --iodepth=1" ;;
        randread-4k-qd32) echo "--rw=randread --bs=4k --iodepth=32" ;;
        randread-4k-qd32-b16)
            echo "--rw=randread --bs=4k --iodepth=32 --iodepth_batch_submit=16 --iodepth_batch_complete_min=16" ;;
        read-128k-qd8)    echo "--rw=read --bs=128k --iodepth=8" ;;
        write-128k-qd8)   echo "--rw=write --bs=128k --iodepth=8" ;;
        *) return 1 ;;
    esac
}

driver_messages() {
    dmesg | grep -E 'iscsi_hba|scsi' | tail -n 2 | tr '\n' ' '
}

case ${GUEST_SIDE:-} in
    hba)
        # shellcheck disable=SC2086 # a list of parameters
        out=$(modprobe iscsi_hba ${GUEST_HBA_ARGS:-} 2>&1) ||
            not_available "modprobe iscsi_hba failed: $out"
        ls -d /sys/bus/pci/drivers/iscsi_hba/0000:* > /dev/null 2>&1 ||
            not_available "iscsi_hba bound to no device: $(driver_messages)"
        vendor=IET ;;
    virtio)
        vendor=QEMU ;;
    *)
        not_available "guest.side must be hba or virtio, not '${GUEST_SIDE:-}'" ;;
esac

# The LUN shows up asynchronously (login, then the SCSI scan).
wait_for 30 sh -c ". /tests/lib.sh; [ -n \"\$(scsi_disks $vendor)\" ]" ||
    not_available "no $vendor disk after 30 s: $(driver_messages)"
disk=$(scsi_disks "$vendor" | head -n 1)
dev=${disk#/dev/}
echo "BENCH-DISK $GUEST_SIDE $disk $(cat "/sys/block/$dev/size") $vendor $(sed 's/ *$//' "/sys/block/$dev/device/model")"

# Interrupts the disk's I/O queues took, from /proc/interrupts (the
# kernel's count): iscsi_hba's "<name>-q<n>" vectors (the admin vector
# too when it serves I/O), virtio-scsi's "-request" ones.
io_interrupts() {
    local pattern='virtio[0-9]*-request'
    [ "$GUEST_SIDE" = virtio ] || pattern='iscsi_hba[0-9]*-(q[0-9]+|admin)'
    awk -v p="$pattern" '$NF ~ p {
            for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
        } END { print n + 0 }' /proc/interrupts
}

# "sq,cq,irqs,ios": the driver's doorbell writes (iscsi_hba's sysfs
# counters; "-" for virtio, whose notifications the guest cannot count),
# interrupts, and I/Os the block layer completed on the disk.
work_counters() {
    local sq=- cq=- host ios
    if [ "$GUEST_SIDE" = hba ]; then
        host=$(ls -d /sys/bus/pci/drivers/iscsi_hba/0000:*/host* | head -n 1)
        host=/sys/class/scsi_host/${host##*/}
        sq=$(cat "$host/sq_doorbells")
        cq=$(cat "$host/cq_doorbells")
    fi
    ios=$(awk '{ print $1 + $5 }' "/sys/block/$dev/stat")
    echo "$sq,$cq,$(io_interrupts),$ios"
}

for job in $(echo "$JOBS" | tr ',' ' '); do
    if ! args=$(job_args "$job"); then
        echo "BENCH-ERR $job unknown job"
        continue
    fi
    before=$(work_counters)
    # shellcheck disable=SC2086 # $args is a list of options
    if fio --name="$job" --filename="$disk" --ioengine=libaio --direct=1 \
           --time_based --runtime="$RUNTIME" --ramp_time=1 \
           --percentile_list=50:99:99.9 $args \
           --output-format=json --output="/tmp/$job.json" > "/tmp/$job.err" 2>&1; then
        echo "BENCH-WORK $job $before $(work_counters)"
        echo "BENCH-JSON $job $(tr -d '\n' < "/tmp/$job.json")"
    else
        echo "BENCH-ERR $job $(tail -n 2 "/tmp/$job.err" | tr '\n' ' ')"
    fi
done
exit 0
