# shellcheck shell=bash
# Host side of booting a guest from its iSCSI LUN (source this file).
# Used by tests/guest/run-boot.sh and scripts/run.sh.
#
#   boot_firmware_args <fw> <dir>   QEMU arguments for firmware <fw>:
#                                   bios (SeaBIOS with the iscsi-hba driver,
#                                   scripts/build-seabios.sh) or uefi
#                                   (Debian's OVMF, unmodified; the driver is
#                                   the adapter's option ROM,
#                                   scripts/build-uefi-driver.sh); <dir>
#                                   holds files they need.  Prints one per
#                                   line.
#   lun_from_image <file> <MiB>     copy $BOOT_IMAGE (scripts/boot-image.sh)
#                                   into a LUN backing file of <MiB>, in
#                                   place, with its own MBR disk id
#
# Needs TOP (the checkout) and CACHE set.

BOOT_FIRMWARES=(bios uefi)

boot_firmware_args() {
    case $1 in
        bios)
            [ -n "${SEABIOS_BIN:-}" ] || eval "$(bash "$TOP/scripts/build-seabios.sh")"
            # SeaBIOS mirrors its console to the serial port fw_cfg names
            printf '\xf8\x03' > "$2/sercon-port"
            printf '%s\n' -bios "$SEABIOS_BIN" -fw_cfg "name=etc/sercon-port,file=$2/sercon-port"
            ;;
        uefi)
            dpkg -s ovmf > /dev/null 2>&1 || apt-get install -y -qq ovmf > /dev/null
            # The adapter's default romfile, linked into QEMU's data directory.
            bash "$TOP/scripts/build-uefi-driver.sh" > /dev/null
            # A fresh variable store: no boot entries from an earlier boot.
            cp /usr/share/OVMF/OVMF_VARS_4M.fd "$2/ovmf-vars.fd"
            printf '%s\n' \
                -drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" \
                -drive "if=pflash,format=raw,unit=1,file=$2/ovmf-vars.fd"
            ;;
        *)
            echo "boot-host: unknown firmware '$1' (have: ${BOOT_FIRMWARES[*]})" >&2
            return 1
            ;;
    esac
}

# Written in place: tgtd may already have the file open.
lun_from_image() {
    truncate -s "${2}M" "$1"
    dd if="$BOOT_IMAGE" of="$1" bs=1M conv=notrunc,sparse status=none
    sfdisk -q --disk-id "$1" "0x$(od -An -tx4 -N4 /dev/urandom | tr -d ' ')" > /dev/null
}
