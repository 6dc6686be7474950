/** @file
  EFI_EXT_SCSI_PASS_THRU_PROTOCOL for the iscsi-hba adapter.

  Target = index of the host-configured target (byte 0 of the target id;
  SESSION_INFO host_target), Lun = LUN number from the target's REPORT
  LUNS data.  QEMU's bootindex paths (.../disk@Target,Lun) use the same
  numbers, so OVMF's boot order finds the LUN.

  Copyright (c) 2026 The iscsi-hba authors
  SPDX-License-Identifier: BSD-2-Clause-Patent
**/

#include "IscsiHba.h"

STATIC
BOOLEAN
IscsiHbaTargetIsWildcard (
  IN CONST UINT8  *Target
  )
{
  UINTN  Index;

  for (Index = 0; Index < TARGET_MAX_BYTES; Index++) {
    if (Target[Index] != 0xFF) {
      return FALSE;
    }
  }

  return TRUE;
}

/**
  Target ids are one byte; the other bytes must be zero.

  @retval TRUE   *Index is the target index.
**/
STATIC
BOOLEAN
IscsiHbaTargetIndex (
  IN  CONST UINT8  *Target,
  OUT UINT16       *Index
  )
{
  UINTN  Byte;

  for (Byte = 1; Byte < TARGET_MAX_BYTES; Byte++) {
    if (Target[Byte] != 0) {
      return FALSE;
    }
  }

  *Index = Target[0];
  return TRUE;
}

STATIC
ISCSI_HBA_LUN *
IscsiHbaFindLun (
  IN ISCSI_HBA_DEV  *Dev,
  IN CONST UINT8    *Target,
  IN UINT64         Lun
  )
{
  UINT16  TargetIndex;
  UINTN   Index;

  if (!IscsiHbaTargetIndex (Target, &TargetIndex)) {
    return NULL;
  }

  for (Index = 0; Index < Dev->LunCount; Index++) {
    if ((Dev->Luns[Index].Target == TargetIndex) && (Dev->Luns[Index].Lun == Lun)) {
      return &Dev->Luns[Index];
    }
  }

  return NULL;
}

/**
  Check a request packet against what the adapter can do, and say how
  much data moves in which direction.
**/
STATIC
EFI_STATUS
IscsiHbaCheckPacket (
  IN     ISCSI_HBA_DEV                               *Dev,
  IN OUT EFI_EXT_SCSI_PASS_THRU_SCSI_REQUEST_PACKET  *Packet,
  OUT    UINT8                                       *Direction,
  OUT    UINT32                                      *Length,
  OUT    VOID                                        **Buffer
  )
{
  if ((Packet->CdbLength == 0) || (Packet->CdbLength > ISCSI_HBA_MAX_CDB_LEN) ||
      (Packet->Cdb == NULL))
  {
    return EFI_INVALID_PARAMETER;
  }

  switch (Packet->DataDirection) {
    case EFI_EXT_SCSI_DATA_DIRECTION_READ:
      if (Packet->OutTransferLength != 0) {
        return EFI_INVALID_PARAMETER;
      }

      *Direction = ISCSI_HBA_SCSI_DIR_READ;
      *Length    = Packet->InTransferLength;
      *Buffer    = Packet->InDataBuffer;
      break;
    case EFI_EXT_SCSI_DATA_DIRECTION_WRITE:
      if (Packet->InTransferLength != 0) {
        return EFI_INVALID_PARAMETER;
      }

      *Direction = ISCSI_HBA_SCSI_DIR_WRITE;
      *Length    = Packet->OutTransferLength;
      *Buffer    = Packet->OutDataBuffer;
      break;
    default:
      //
      // The device has one data direction per command.
      //
      return EFI_UNSUPPORTED;
  }

  if (*Length == 0) {
    *Direction = ISCSI_HBA_SCSI_DIR_NONE;
  } else if (*Buffer == NULL) {
    return EFI_INVALID_PARAMETER;
  }

  if (*Length > Dev->MaxTransfer) {
    //
    // UEFI: report what could be transferred; ScsiDiskDxe retries smaller.
    //
    if (*Direction == ISCSI_HBA_SCSI_DIR_READ) {
      Packet->InTransferLength = Dev->MaxTransfer;
    } else {
      Packet->OutTransferLength = Dev->MaxTransfer;
    }

    Packet->SenseDataLength = 0;
    return EFI_BAD_BUFFER_SIZE;
  }

  return EFI_SUCCESS;
}

/**
  Translate a SCSI_CMD completion into the packet's statuses, lengths and
  sense data.
**/
STATIC
EFI_STATUS
IscsiHbaCompletePacket (
  IN     ISCSI_HBA_DEV                               *Dev,
  IN OUT EFI_EXT_SCSI_PASS_THRU_SCSI_REQUEST_PACKET  *Packet,
  IN     CONST struct iscsi_hba_cqe                  *Cqe,
  IN     UINT8                                       Direction,
  IN     UINT32                                      Length
  )
{
  UINT32  Transferred;
  UINT8   SenseLength;

  if (Cqe->status != ISCSI_HBA_STATUS_SUCCESS) {
    //
    // The target did not answer: scsi_status, sense and info are void.
    //
    Packet->InTransferLength  = 0;
    Packet->OutTransferLength = 0;
    Packet->SenseDataLength   = 0;
    Packet->TargetStatus      = EFI_EXT_SCSI_STATUS_TARGET_GOOD;
    DEBUG ((
      DEBUG_ERROR,
      "IscsiHba: SCSI 0x%x: %a detail %u\n",
      ((UINT8 *)Packet->Cdb)[0],
      iscsi_hba_isdsc_name (Cqe->status),
      Cqe->detail
      ));
    switch (Cqe->detail) {
      case ISCSI_HBA_DETAIL_TIMEOUT:
        Packet->HostAdapterStatus = EFI_EXT_SCSI_STATUS_HOST_ADAPTER_TIMEOUT_COMMAND;
        return EFI_TIMEOUT;
      case ISCSI_HBA_DETAIL_CONNECTION_LOST:
      case ISCSI_HBA_DETAIL_ABORTED:
        //
        // The session is reconnecting; ScsiDiskDxe retries NOT_READY.
        //
        Packet->HostAdapterStatus = EFI_EXT_SCSI_STATUS_HOST_ADAPTER_BUS_RESET;
        return EFI_DEVICE_ERROR;
      default:
        Packet->HostAdapterStatus = EFI_EXT_SCSI_STATUS_HOST_ADAPTER_OTHER;
        return EFI_DEVICE_ERROR;
    }
  }

  Transferred = Length;
  if ((Cqe->flags & ISCSI_HBA_CQE_RESID_UNDER) != 0) {
    Transferred = Length - MIN (Cqe->info, Length);
  }

  if (Direction == ISCSI_HBA_SCSI_DIR_READ) {
    Packet->InTransferLength = Transferred;
  } else if (Direction == ISCSI_HBA_SCSI_DIR_WRITE) {
    Packet->OutTransferLength = Transferred;
  }

  SenseLength = 0;
  if ((Cqe->flags & ISCSI_HBA_CQE_SENSE_VALID) != 0) {
    SenseLength = (UINT8)MIN (Cqe->sense_len, Packet->SenseDataLength);
    CopyMem (Packet->SenseData, IscsiHbaDmaHost (Dev, IscsiHbaPageSense), SenseLength);
  }

  Packet->SenseDataLength   = SenseLength;
  Packet->HostAdapterStatus = EFI_EXT_SCSI_STATUS_HOST_ADAPTER_OK;
  Packet->TargetStatus      = Cqe->scsi_status;
  return EFI_SUCCESS;
}

/**
  Send one SCSI command and wait for it (blocking; the adapter bounds
  every command by its command-timeout, so Packet->Timeout is not needed
  to end a command that the target never answers).
**/
STATIC
EFI_STATUS
EFIAPI
IscsiHbaPassThru (
  IN     EFI_EXT_SCSI_PASS_THRU_PROTOCOL             *This,
  IN     UINT8                                       *Target,
  IN     UINT64                                      Lun,
  IN OUT EFI_EXT_SCSI_PASS_THRU_SCSI_REQUEST_PACKET  *Packet,
  IN     EFI_EVENT                                   Event    OPTIONAL
  )
{
  ISCSI_HBA_DEV                  *Dev;
  ISCSI_HBA_LUN                  *Entry;
  struct iscsi_hba_sqe           Sqe;
  struct iscsi_hba_cqe           Cqe;
  EFI_STATUS                     Status;
  UINT8                          Direction;
  UINT32                         Length;
  VOID                           *Buffer;
  EFI_PHYSICAL_ADDRESS           DataAddress;
  VOID                           *Mapping;
  UINTN                          Mapped;
  EFI_PCI_IO_PROTOCOL_OPERATION  Operation;

  Dev   = ISCSI_HBA_FROM_PASS_THRU (This);
  Entry = IscsiHbaFindLun (Dev, Target, Lun);
  if (Entry == NULL) {
    return EFI_INVALID_PARAMETER;
  }

  Status = IscsiHbaCheckPacket (Dev, Packet, &Direction, &Length, &Buffer);
  if (EFI_ERROR (Status)) {
    return Status;
  }

  ZeroMem (&Sqe, sizeof (Sqe));
  Sqe.hdr.opcode       = ISCSI_HBA_IO_SCSI_CMD;
  Sqe.hdr.flags        = Direction;
  Sqe.hdr.session_id   = Entry->SessionId;
  Sqe.u.scsi.cdb_len   = Packet->CdbLength;
  if (Packet->SenseData == NULL) {
    Packet->SenseDataLength = 0;
  }

  Sqe.u.scsi.sense_len = (UINT8)MIN (Packet->SenseDataLength, ISCSI_HBA_MAX_SENSE_LEN);
  Sqe.u.scsi.sense_addr = IscsiHbaDmaDevice (Dev, IscsiHbaPageSense);
  Sqe.u.scsi.data_len  = Length;
  CopyMem (Sqe.u.scsi.lun, Entry->SamLun, sizeof (Sqe.u.scsi.lun));
  CopyMem (Sqe.u.scsi.cdb, Packet->Cdb, Packet->CdbLength);

  Mapping = NULL;
  if (Length != 0) {
    Operation = (Direction == ISCSI_HBA_SCSI_DIR_READ) ?
                EfiPciIoOperationBusMasterWrite : EfiPciIoOperationBusMasterRead;
    Mapped = Length;
    Status = Dev->PciIo->Map (Dev->PciIo, Operation, Buffer, &Mapped, &DataAddress, &Mapping);
    if (EFI_ERROR (Status)) {
      return Status;
    }

    if (Mapped < Length) {
      Dev->PciIo->Unmap (Dev->PciIo, Mapping);
      return EFI_OUT_OF_RESOURCES;
    }

    Sqe.u.scsi.sg_count  = 1;
    Sqe.u.scsi.sg[0].addr = DataAddress;
    Sqe.u.scsi.sg[0].len  = Length;
  }

  Status = IscsiHbaExecute (
             Dev,
             &Dev->Io,
             &Sqe,
             Dev->CommandTimeoutMs + 5000,
             &Cqe
             );
  if (Mapping != NULL) {
    Dev->PciIo->Unmap (Dev->PciIo, Mapping);
  }

  if (EFI_ERROR (Status)) {
    Packet->HostAdapterStatus = EFI_EXT_SCSI_STATUS_HOST_ADAPTER_OTHER;
    Packet->InTransferLength  = 0;
    Packet->OutTransferLength = 0;
    Packet->SenseDataLength   = 0;
    return Status;
  }

  return IscsiHbaCompletePacket (Dev, Packet, &Cqe, Direction, Length);
}

/**
  Position of (Target, Lun) in the LUN table; LunCount for the wildcard
  start, or -1 if it is not there.
**/
STATIC
INTN
IscsiHbaLunPosition (
  IN ISCSI_HBA_DEV  *Dev,
  IN CONST UINT8    *Target,
  IN UINT64         Lun
  )
{
  ISCSI_HBA_LUN  *Entry;

  if (IscsiHbaTargetIsWildcard (Target)) {
    return (INTN)Dev->LunCount;
  }

  Entry = IscsiHbaFindLun (Dev, Target, Lun);
  if (Entry == NULL) {
    return -1;
  }

  return Entry - Dev->Luns;
}

STATIC
VOID
IscsiHbaSetTarget (
  OUT UINT8   *Target,
  IN  UINT16  Index
  )
{
  SetMem (Target, TARGET_MAX_BYTES, 0);
  Target[0] = (UINT8)Index;
}

STATIC
EFI_STATUS
EFIAPI
IscsiHbaGetNextTargetLun (
  IN     EFI_EXT_SCSI_PASS_THRU_PROTOCOL  *This,
  IN OUT UINT8                            **Target,
  IN OUT UINT64                           *Lun
  )
{
  ISCSI_HBA_DEV  *Dev;
  INTN           Position;
  UINTN          Next;

  Dev      = ISCSI_HBA_FROM_PASS_THRU (This);
  Position = IscsiHbaLunPosition (Dev, *Target, *Lun);
  if (Position < 0) {
    return EFI_INVALID_PARAMETER;
  }

  //
  // The wildcard starts at the first entry.
  //
  Next = ((UINTN)Position == Dev->LunCount) ? 0 : (UINTN)Position + 1;
  if (Next >= Dev->LunCount) {
    return EFI_NOT_FOUND;
  }

  IscsiHbaSetTarget (*Target, Dev->Luns[Next].Target);
  *Lun = Dev->Luns[Next].Lun;
  return EFI_SUCCESS;
}

STATIC
EFI_STATUS
EFIAPI
IscsiHbaBuildDevicePath (
  IN     EFI_EXT_SCSI_PASS_THRU_PROTOCOL  *This,
  IN     UINT8                            *Target,
  IN     UINT64                           Lun,
  IN OUT EFI_DEVICE_PATH_PROTOCOL         **DevicePath
  )
{
  ISCSI_HBA_DEV       *Dev;
  ISCSI_HBA_LUN       *Entry;
  SCSI_DEVICE_PATH    *ScsiPath;

  if (DevicePath == NULL) {
    return EFI_INVALID_PARAMETER;
  }

  Dev   = ISCSI_HBA_FROM_PASS_THRU (This);
  Entry = IscsiHbaFindLun (Dev, Target, Lun);
  if (Entry == NULL) {
    return EFI_NOT_FOUND;
  }

  ScsiPath = (SCSI_DEVICE_PATH *)CreateDeviceNode (
                                   MESSAGING_DEVICE_PATH,
                                   MSG_SCSI_DP,
                                   sizeof (*ScsiPath)
                                   );
  if (ScsiPath == NULL) {
    return EFI_OUT_OF_RESOURCES;
  }

  ScsiPath->Pun = Entry->Target;
  ScsiPath->Lun = Entry->Lun;
  *DevicePath   = &ScsiPath->Header;
  return EFI_SUCCESS;
}

STATIC
EFI_STATUS
EFIAPI
IscsiHbaGetTargetLun (
  IN  EFI_EXT_SCSI_PASS_THRU_PROTOCOL  *This,
  IN  EFI_DEVICE_PATH_PROTOCOL         *DevicePath,
  OUT UINT8                            **Target,
  OUT UINT64                           *Lun
  )
{
  ISCSI_HBA_DEV     *Dev;
  SCSI_DEVICE_PATH  *ScsiPath;

  if ((DevicePath == NULL) || (Target == NULL) || (*Target == NULL) || (Lun == NULL)) {
    return EFI_INVALID_PARAMETER;
  }

  if ((DevicePathType (DevicePath) != MESSAGING_DEVICE_PATH) ||
      (DevicePathSubType (DevicePath) != MSG_SCSI_DP) ||
      (DevicePathNodeLength (DevicePath) != sizeof (*ScsiPath)))
  {
    return EFI_UNSUPPORTED;
  }

  Dev      = ISCSI_HBA_FROM_PASS_THRU (This);
  ScsiPath = (SCSI_DEVICE_PATH *)DevicePath;
  if (ScsiPath->Pun > MAX_UINT8) {
    return EFI_NOT_FOUND;
  }

  IscsiHbaSetTarget (*Target, ScsiPath->Pun);
  if (IscsiHbaFindLun (Dev, *Target, ScsiPath->Lun) == NULL) {
    return EFI_NOT_FOUND;
  }

  *Lun = ScsiPath->Lun;
  return EFI_SUCCESS;
}

/**
  A channel reset would drop every session (the adapter's only reset is
  a disable); the firmware has no use for it.
**/
STATIC
EFI_STATUS
EFIAPI
IscsiHbaResetChannel (
  IN EFI_EXT_SCSI_PASS_THRU_PROTOCOL  *This
  )
{
  return EFI_UNSUPPORTED;
}

/**
  LOGICAL UNIT RESET through the adapter's TASK_MGMT command.
**/
STATIC
EFI_STATUS
EFIAPI
IscsiHbaResetTargetLun (
  IN EFI_EXT_SCSI_PASS_THRU_PROTOCOL  *This,
  IN UINT8                            *Target,
  IN UINT64                           Lun
  )
{
  ISCSI_HBA_DEV         *Dev;
  ISCSI_HBA_LUN         *Entry;
  struct iscsi_hba_sqe  Sqe;
  struct iscsi_hba_cqe  Cqe;
  EFI_STATUS            Status;

  Dev   = ISCSI_HBA_FROM_PASS_THRU (This);
  Entry = IscsiHbaFindLun (Dev, Target, Lun);
  if (Entry == NULL) {
    return EFI_INVALID_PARAMETER;
  }

  ZeroMem (&Sqe, sizeof (Sqe));
  Sqe.hdr.opcode       = ISCSI_HBA_IO_TASK_MGMT;
  Sqe.hdr.session_id   = Entry->SessionId;
  Sqe.u.tmf.function   = ISCSI_HBA_TMF_LUN_RESET;
  CopyMem (Sqe.u.tmf.lun, Entry->SamLun, sizeof (Sqe.u.tmf.lun));
  Status = IscsiHbaExecute (Dev, &Dev->Io, &Sqe, Dev->CommandTimeoutMs + 5000, &Cqe);
  if (EFI_ERROR (Status)) {
    return Status;
  }

  //
  // result is the iSCSI TMF response; 0 is "function complete".
  //
  if (Cqe.status != ISCSI_HBA_STATUS_SUCCESS) {
    IscsiHbaReportStatus ("LUN RESET", Cqe.status);
    return EFI_DEVICE_ERROR;
  }

  if (Cqe.result != 0) {
    DEBUG ((DEBUG_ERROR, "IscsiHba: LUN RESET response %Lu\n", Cqe.result));
    return EFI_DEVICE_ERROR;
  }

  return EFI_SUCCESS;
}

STATIC
EFI_STATUS
EFIAPI
IscsiHbaGetNextTarget (
  IN     EFI_EXT_SCSI_PASS_THRU_PROTOCOL  *This,
  IN OUT UINT8                            **Target
  )
{
  ISCSI_HBA_DEV  *Dev;
  UINT16         Index;

  Dev = ISCSI_HBA_FROM_PASS_THRU (This);
  if (IscsiHbaTargetIsWildcard (*Target)) {
    Index = 0;
  } else if (!IscsiHbaTargetIndex (*Target, &Index) || (Index >= Dev->TargetCount)) {
    return EFI_INVALID_PARAMETER;
  } else {
    Index++;
  }

  if (Index >= Dev->TargetCount) {
    return EFI_NOT_FOUND;
  }

  IscsiHbaSetTarget (*Target, Index);
  return EFI_SUCCESS;
}

VOID
IscsiHbaInitPassThru (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  //
  // The adapter itself is no target on the SCSI "bus": give it an id
  // above every session index.
  //
  Dev->PassThruMode.AdapterId  = MAX_UINT32;
  Dev->PassThruMode.Attributes = EFI_EXT_SCSI_PASS_THRU_ATTRIBUTES_PHYSICAL |
                                 EFI_EXT_SCSI_PASS_THRU_ATTRIBUTES_LOGICAL;
  //
  // Data ranges have no alignment requirement (spec "Data buffers").
  //
  Dev->PassThruMode.IoAlign = 0;

  Dev->PassThru.Mode             = &Dev->PassThruMode;
  Dev->PassThru.PassThru         = &IscsiHbaPassThru;
  Dev->PassThru.GetNextTargetLun = &IscsiHbaGetNextTargetLun;
  Dev->PassThru.BuildDevicePath  = &IscsiHbaBuildDevicePath;
  Dev->PassThru.GetTargetLun     = &IscsiHbaGetTargetLun;
  Dev->PassThru.ResetChannel     = &IscsiHbaResetChannel;
  Dev->PassThru.ResetTargetLun   = &IscsiHbaResetTargetLun;
  Dev->PassThru.GetNextTarget    = &IscsiHbaGetNextTarget;
}
