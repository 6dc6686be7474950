# The job of a guest booted from its iSCSI LUN (scripts/boot-image.sh).
# The boot loader's command line is fixed in the image, so the host says
# what to do through QEMU's fw_cfg:
#
#   -fw_cfg name=opt/org.iscsi-hba/args,string="script=<name> <k>=<v>..."
#       runs /tests/<name>.sh with GUEST_<K>=<v> exported
#   -fw_cfg name=opt/org.iscsi-hba/script,file=<host file>
#       runs that script instead (the main job, scripts/run.sh)
. /tests/lib.sh

FW=/sys/firmware/qemu_fw_cfg/by_name/opt/org.iscsi-hba

if ! modprobe qemu_fw_cfg 2>/dev/null || ! wait_for 5 test -d "$FW"; then
    fail boot-job "no fw_cfg files opt/org.iscsi-hba/* from the host"
    exit 1
fi
if [ -r "$FW/args/raw" ]; then
    for arg in $(cat "$FW/args/raw"); do
        key=$(echo "${arg%%=*}" | tr 'a-z.-' 'A-Z__')
        export "GUEST_$key=${arg#*=}"
    done
fi
if [ -r "$FW/script/raw" ]; then
    cp "$FW/script/raw" /tmp/job.sh
    sh /tmp/job.sh
elif [ -f "/tests/${GUEST_SCRIPT:-}.sh" ]; then
    sh "/tests/$GUEST_SCRIPT.sh"
else
    fail boot-job "fw_cfg names no script (have: $(ls "$FW" | tr '\n' ' '))"
    exit 1
fi
