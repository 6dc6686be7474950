# Trimmed x86_64 device set for iscsi-hba development and tests
# (configure --without-default-devices --with-devices-x86_64=iscsi-hba).
# Boards: pc for qtests, q35 for Linux guests.
CONFIG_I440FX=y
CONFIG_Q35=y
CONFIG_ISCSI_HBA=y
# Side-by-side benchmarks: virtio-scsi on QEMU's own libiscsi block driver.
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_SCSI=y
CONFIG_PCIE_PORT=y
