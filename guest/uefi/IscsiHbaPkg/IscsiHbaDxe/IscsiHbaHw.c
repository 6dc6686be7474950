/** @file
  The iscsi-hba adapter: registers, DMA area, polled queues, sessions and
  LUNs.  Follows the "Programming sequences" of docs/specs/iscsi-hba.rst.

  Copyright (c) 2026 The iscsi-hba authors
  SPDX-License-Identifier: BSD-2-Clause-Patent
**/

#include "IscsiHba.h"

//
// Polling granularity, and how long an enable or a disable may take.
//
#define ISCSI_HBA_POLL_US         10
#define ISCSI_HBA_STATE_CHANGE_MS 1000

//
// The device bounds every command itself (spec "Error handling"); the
// driver's own limit is longer, so it only fires if the device is broken.
//
#define ISCSI_HBA_ADMIN_TIMEOUT_MS  5000
#define ISCSI_HBA_DEVICE_SLACK_MS   5000

#define ISCSI_HBA_REPORT_LUNS_TRIES 3

STATIC
UINT32
IscsiHbaRead32 (
  IN ISCSI_HBA_DEV  *Dev,
  IN UINT32         Offset
  )
{
  UINT32  Value;

  if (EFI_ERROR (
        Dev->PciIo->Mem.Read (
                          Dev->PciIo,
                          EfiPciIoWidthUint32,
                          ISCSI_HBA_BAR_REGS,
                          Offset,
                          1,
                          &Value
                          )
        ))
  {
    //
    // All ones is what a read of a vanished device returns, and is a
    // value no register check accepts.
    //
    return MAX_UINT32;
  }

  return Value;
}

STATIC
VOID
IscsiHbaWrite32 (
  IN ISCSI_HBA_DEV  *Dev,
  IN UINT32         Offset,
  IN UINT32         Value
  )
{
  Dev->PciIo->Mem.Write (
                    Dev->PciIo,
                    EfiPciIoWidthUint32,
                    ISCSI_HBA_BAR_REGS,
                    Offset,
                    1,
                    &Value
                    );
}

/**
  Print an ISDSC status by name on the console, so that a failed login
  is visible on the boot screen (and the serial log).
**/
VOID
IscsiHbaReportStatus (
  IN CONST CHAR8  *What,
  IN UINT32       Status
  )
{
  CONST CHAR8  *Name;
  CONST CHAR8  *Meaning;

  Name    = iscsi_hba_isdsc_name (Status);
  Meaning = iscsi_hba_isdsc_meaning (Status);
  if (Name == NULL) {
    Name    = "unknown status";
    Meaning = "";
  }

  DEBUG ((DEBUG_ERROR, "IscsiHba: %a: 0x%08X %a %a\n", What, Status, Name, Meaning));
  if (gST->ConOut != NULL) {
    Print (L"iscsi-hba: %a: 0x%08X %a %a\n", What, Status, Name, Meaning);
  }
}

VOID *
IscsiHbaDmaHost (
  IN ISCSI_HBA_DEV       *Dev,
  IN ISCSI_HBA_DMA_PAGE  Page
  )
{
  return (UINT8 *)Dev->DmaHost + EFI_PAGES_TO_SIZE ((UINTN)Page);
}

UINT64
IscsiHbaDmaDevice (
  IN ISCSI_HBA_DEV       *Dev,
  IN ISCSI_HBA_DMA_PAGE  Page
  )
{
  return Dev->DmaDevice + EFI_PAGES_TO_SIZE ((UINTN)Page);
}

/**
  Wait until (STATUS & Mask) == Expected, for at most TimeoutMs.
**/
STATIC
EFI_STATUS
IscsiHbaWaitStatus (
  IN ISCSI_HBA_DEV  *Dev,
  IN UINT32         Mask,
  IN UINT32         Expected,
  IN UINT32         TimeoutMs
  )
{
  UINT64  WaitedUs;

  for (WaitedUs = 0; WaitedUs <= MultU64x32 (TimeoutMs, 1000); WaitedUs += ISCSI_HBA_POLL_US) {
    if ((IscsiHbaRead32 (Dev, ISCSI_HBA_REG_STATUS) & Mask) == Expected) {
      return EFI_SUCCESS;
    }

    gBS->Stall (ISCSI_HBA_POLL_US);
  }

  return EFI_TIMEOUT;
}

/**
  Disable the adapter (the controller reset): the device drops every queue,
  command and session, and no longer touches the driver's memory.
**/
VOID
IscsiHbaDisable (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  IscsiHbaWrite32 (Dev, ISCSI_HBA_REG_CTRL, 0);
  if (EFI_ERROR (IscsiHbaWaitStatus (Dev, MAX_UINT32, 0, ISCSI_HBA_STATE_CHANGE_MS))) {
    DEBUG ((DEBUG_ERROR, "IscsiHba: adapter did not disable\n"));
  }
}

STATIC
EFI_STATUS
IscsiHbaAllocateDma (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  EFI_STATUS  Status;
  UINTN       Bytes;

  Status = Dev->PciIo->AllocateBuffer (
                         Dev->PciIo,
                         AllocateAnyPages,
                         EfiBootServicesData,
                         IscsiHbaPageCount,
                         &Dev->DmaHost,
                         0
                         );
  if (EFI_ERROR (Status)) {
    return Status;
  }

  Bytes  = EFI_PAGES_TO_SIZE (IscsiHbaPageCount);
  Status = Dev->PciIo->Map (
                         Dev->PciIo,
                         EfiPciIoOperationBusMasterCommonBuffer,
                         Dev->DmaHost,
                         &Bytes,
                         &Dev->DmaDevice,
                         &Dev->DmaMapping
                         );
  if (!EFI_ERROR (Status) && (Bytes != EFI_PAGES_TO_SIZE (IscsiHbaPageCount))) {
    Dev->PciIo->Unmap (Dev->PciIo, Dev->DmaMapping);
    Status = EFI_OUT_OF_RESOURCES;
  }

  if (EFI_ERROR (Status)) {
    Dev->PciIo->FreeBuffer (Dev->PciIo, IscsiHbaPageCount, Dev->DmaHost);
    return Status;
  }

  ZeroMem (Dev->DmaHost, EFI_PAGES_TO_SIZE (IscsiHbaPageCount));
  return EFI_SUCCESS;
}

STATIC
VOID
IscsiHbaFreeDma (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  Dev->PciIo->Unmap (Dev->PciIo, Dev->DmaMapping);
  Dev->PciIo->FreeBuffer (Dev->PciIo, IscsiHbaPageCount, Dev->DmaHost);
}

STATIC
VOID
IscsiHbaInitQueue (
  IN OUT ISCSI_HBA_DEV    *Dev,
  OUT    ISCSI_HBA_QUEUE  *Queue,
  IN     UINT16           Qid,
  IN     UINT16           Entries,
  IN     ISCSI_HBA_DMA_PAGE  SqPage,
  IN     ISCSI_HBA_DMA_PAGE  CqPage
  )
{
  Queue->Qid     = Qid;
  Queue->Entries = Entries;
  Queue->Tail    = 0;
  Queue->Head    = 0;
  Queue->Phase   = ISCSI_HBA_CQE_PHASE;
  Queue->Sq      = IscsiHbaDmaHost (Dev, SqPage);
  Queue->Cq      = IscsiHbaDmaHost (Dev, CqPage);
  //
  // A zeroed CQ has no entry with PHASE = 1, the phase of the first lap.
  //
  ZeroMem ((VOID *)Queue->Cq, EFI_PAGE_SIZE);
}

/**
  Submit one command and poll its queue until it completes.

  The firmware never has more than one command outstanding on a queue, so
  the next completion is this command's.

  @retval EFI_SUCCESS       Cqe holds the completion (check its status).
  @retval EFI_TIMEOUT       No completion in time; the adapter is disabled.
  @retval EFI_DEVICE_ERROR  The adapter is broken (fatal, or disabled by an
                            earlier timeout).
**/
EFI_STATUS
IscsiHbaExecute (
  IN OUT ISCSI_HBA_DEV         *Dev,
  IN OUT ISCSI_HBA_QUEUE       *Queue,
  IN     struct iscsi_hba_sqe  *Sqe,
  IN     UINT32                TimeoutMs,
  OUT    struct iscsi_hba_cqe  *Cqe
  )
{
  volatile struct iscsi_hba_cqe  *Entry;
  UINT64                         WaitedUs;
  UINT16                         Cid;

  if (Dev->Broken) {
    return EFI_DEVICE_ERROR;
  }

  Cid           = Queue->NextCid++;
  Sqe->hdr.cid  = Cid;
  CopyMem (&Queue->Sq[Queue->Tail], Sqe, sizeof (*Sqe));
  Queue->Tail = (UINT16)((Queue->Tail + 1) % Queue->Entries);
  //
  // The SQE must be in memory before the device hears of it.
  //
  MemoryFence ();
  IscsiHbaWrite32 (Dev, ISCSI_HBA_DB_SQ (Queue->Qid), Queue->Tail);

  Entry = &Queue->Cq[Queue->Head];
  for (WaitedUs = 0; (Entry->flags & ISCSI_HBA_CQE_PHASE) != Queue->Phase; WaitedUs += ISCSI_HBA_POLL_US) {
    if (WaitedUs > MultU64x32 (TimeoutMs, 1000)) {
      DEBUG ((DEBUG_ERROR, "IscsiHba: opcode 0x%x timed out\n", Sqe->hdr.opcode));
      Dev->Broken = TRUE;
      IscsiHbaDisable (Dev);
      return EFI_TIMEOUT;
    }

    //
    // A fatal device posts nothing; notice it instead of waiting it out.
    //
    if (((WaitedUs % 1000) == 0) &&
        ((IscsiHbaRead32 (Dev, ISCSI_HBA_REG_STATUS) & ISCSI_HBA_STATUS_FATAL) != 0))
    {
      DEBUG ((
        DEBUG_ERROR,
        "IscsiHba: adapter fatal, reason %u\n",
        IscsiHbaRead32 (Dev, ISCSI_HBA_REG_FATAL_REASON)
        ));
      Dev->Broken = TRUE;
      IscsiHbaDisable (Dev);
      return EFI_DEVICE_ERROR;
    }

    gBS->Stall (ISCSI_HBA_POLL_US);
  }

  //
  // Read the rest of the entry only after its phase matched.
  //
  MemoryFence ();
  CopyMem (Cqe, (VOID *)Entry, sizeof (*Cqe));
  Queue->Head = (UINT16)((Queue->Head + 1) % Queue->Entries);
  if (Queue->Head == 0) {
    Queue->Phase ^= ISCSI_HBA_CQE_PHASE;
  }

  IscsiHbaWrite32 (Dev, ISCSI_HBA_DB_CQ (Queue->Qid), Queue->Head);

  if ((Cqe->cid != Cid) || (Cqe->sq_id != Queue->Qid)) {
    DEBUG ((DEBUG_ERROR, "IscsiHba: completion for cid %u, expected %u\n", Cqe->cid, Cid));
    Dev->Broken = TRUE;
    IscsiHbaDisable (Dev);
    return EFI_DEVICE_ERROR;
  }

  return EFI_SUCCESS;
}

/**
  Run an admin command whose output goes to the driver's buffer page.

  @return  The ISDSC status of the command, or ISDSC_DRIVER_BUG when it
           did not complete.
**/
STATIC
UINT32
IscsiHbaAdminBuffer (
  IN OUT ISCSI_HBA_DEV         *Dev,
  IN     UINT8                 Opcode,
  IN     UINT32                SessionId,
  IN     UINT32                Length,
  IN     UINT32                TimeoutMs,
  OUT    struct iscsi_hba_cqe  *Cqe
  )
{
  struct iscsi_hba_sqe  Sqe;

  ZeroMem (&Sqe, sizeof (Sqe));
  Sqe.hdr.opcode     = Opcode;
  Sqe.hdr.session_id = SessionId;
  Sqe.u.buf.addr     = IscsiHbaDmaDevice (Dev, IscsiHbaPageBuffer);
  Sqe.u.buf.len      = Length;
  if (EFI_ERROR (IscsiHbaExecute (Dev, &Dev->Admin, &Sqe, TimeoutMs, Cqe))) {
    return ISDSC_DRIVER_BUG;
  }

  return Cqe->status;
}

STATIC
EFI_STATUS
IscsiHbaCheckInterface (
  IN ISCSI_HBA_DEV  *Dev
  )
{
  UINT32  Version;

  if (IscsiHbaRead32 (Dev, ISCSI_HBA_REG_MAGIC) != ISCSI_HBA_MAGIC) {
    return EFI_UNSUPPORTED;
  }

  Version = IscsiHbaRead32 (Dev, ISCSI_HBA_REG_VERSION);
  if ((Version >> 16) != ISCSI_HBA_VERSION_MAJOR) {
    DEBUG ((DEBUG_ERROR, "IscsiHba: interface version 0x%x unsupported\n", Version));
    return EFI_UNSUPPORTED;
  }

  return EFI_SUCCESS;
}

/**
  Program the admin queue and enable the adapter (spec "Initialisation",
  steps 3 to 8).  Enabling also starts the logins to the host-configured
  targets.
**/
STATIC
EFI_STATUS
IscsiHbaEnable (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  UINT64  SqBase;
  UINT64  CqBase;

  if ((IscsiHbaRead32 (Dev, ISCSI_HBA_REG_CTRL) & ISCSI_HBA_CTRL_ENABLE) != 0) {
    IscsiHbaDisable (Dev);
  }

  //
  // Polled operation: keep INTx quiet; MSI-X stays disabled.
  //
  IscsiHbaWrite32 (Dev, ISCSI_HBA_REG_INTX_MASK_SET, MAX_UINT32);

  IscsiHbaInitQueue (
    Dev,
    &Dev->Admin,
    ISCSI_HBA_ADMIN_QID,
    ISCSI_HBA_FW_ADMIN_ENTRIES,
    IscsiHbaPageAdminSq,
    IscsiHbaPageAdminCq
    );
  SqBase = IscsiHbaDmaDevice (Dev, IscsiHbaPageAdminSq);
  CqBase = IscsiHbaDmaDevice (Dev, IscsiHbaPageAdminCq);
  IscsiHbaWrite32 (Dev, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO, (UINT32)SqBase);
  IscsiHbaWrite32 (Dev, ISCSI_HBA_REG_ADMIN_SQ_BASE_HI, (UINT32)RShiftU64 (SqBase, 32));
  IscsiHbaWrite32 (Dev, ISCSI_HBA_REG_ADMIN_CQ_BASE_LO, (UINT32)CqBase);
  IscsiHbaWrite32 (Dev, ISCSI_HBA_REG_ADMIN_CQ_BASE_HI, (UINT32)RShiftU64 (CqBase, 32));
  IscsiHbaWrite32 (
    Dev,
    ISCSI_HBA_REG_ADMIN_QUEUE_SIZE,
    ((UINT32)ISCSI_HBA_FW_ADMIN_ENTRIES << 16) | ISCSI_HBA_FW_ADMIN_ENTRIES
    );

  IscsiHbaWrite32 (Dev, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
  if (EFI_ERROR (
        IscsiHbaWaitStatus (
          Dev,
          ISCSI_HBA_STATUS_READY | ISCSI_HBA_STATUS_FATAL,
          ISCSI_HBA_STATUS_READY,
          ISCSI_HBA_STATE_CHANGE_MS
          )
        ))
  {
    DEBUG ((
      DEBUG_ERROR,
      "IscsiHba: enable failed, status 0x%x reason %u\n",
      IscsiHbaRead32 (Dev, ISCSI_HBA_REG_STATUS),
      IscsiHbaRead32 (Dev, ISCSI_HBA_REG_FATAL_REASON)
      ));
    IscsiHbaDisable (Dev);
    return EFI_DEVICE_ERROR;
  }

  return EFI_SUCCESS;
}

STATIC
EFI_STATUS
IscsiHbaIdentify (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  struct iscsi_hba_cqe       Cqe;
  struct iscsi_hba_identify  *Id;
  UINT32                     Status;

  Status = IscsiHbaAdminBuffer (
             Dev,
             ISCSI_HBA_ADM_IDENTIFY,
             0,
             ISCSI_HBA_IDENTIFY_SIZE,
             ISCSI_HBA_ADMIN_TIMEOUT_MS,
             &Cqe
             );
  if (Status != ISCSI_HBA_STATUS_SUCCESS) {
    IscsiHbaReportStatus ("IDENTIFY", Status);
    return EFI_DEVICE_ERROR;
  }

  Id                    = IscsiHbaDmaHost (Dev, IscsiHbaPageBuffer);
  Dev->MaxTransfer      = Id->max_transfer;
  Dev->CommandTimeoutMs = Id->command_timeout_ms;
  Dev->LoginTimeoutMs   = Id->login_timeout_ms;
  Dev->NumHostTargets   = Id->num_host_targets;
  //
  // A transfer limit below one block would make every read fail.
  //
  if (Dev->MaxTransfer < 4096) {
    DEBUG ((DEBUG_ERROR, "IscsiHba: max_transfer %u too small\n", Dev->MaxTransfer));
    return EFI_DEVICE_ERROR;
  }

  return EFI_SUCCESS;
}

STATIC
EFI_STATUS
IscsiHbaCreateIoQueue (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  struct iscsi_hba_sqe  Sqe;
  struct iscsi_hba_cqe  Cqe;

  IscsiHbaInitQueue (
    Dev,
    &Dev->Io,
    ISCSI_HBA_FW_IO_QID,
    ISCSI_HBA_FW_IO_ENTRIES,
    IscsiHbaPageIoSq,
    IscsiHbaPageIoCq
    );

  //
  // flags 0: no interrupt, the driver polls the CQ.
  //
  ZeroMem (&Sqe, sizeof (Sqe));
  Sqe.hdr.opcode       = ISCSI_HBA_ADM_CREATE_IO_QUEUE;
  Sqe.u.create.sq_base = IscsiHbaDmaDevice (Dev, IscsiHbaPageIoSq);
  Sqe.u.create.cq_base = IscsiHbaDmaDevice (Dev, IscsiHbaPageIoCq);
  Sqe.u.create.qid     = ISCSI_HBA_FW_IO_QID;
  Sqe.u.create.sq_size = ISCSI_HBA_FW_IO_ENTRIES;
  Sqe.u.create.cq_size = ISCSI_HBA_FW_IO_ENTRIES;
  if (EFI_ERROR (IscsiHbaExecute (Dev, &Dev->Admin, &Sqe, ISCSI_HBA_ADMIN_TIMEOUT_MS, &Cqe))) {
    return EFI_DEVICE_ERROR;
  }

  if (Cqe.status != ISCSI_HBA_STATUS_SUCCESS) {
    IscsiHbaReportStatus ("CREATE_IO_QUEUE", Cqe.status);
    return EFI_DEVICE_ERROR;
  }

  return EFI_SUCCESS;
}

/**
  Read the session list.

  @return  The number of ids stored in Ids (at most MaxIds).
**/
STATIC
UINTN
IscsiHbaListSessions (
  IN OUT ISCSI_HBA_DEV  *Dev,
  OUT    UINT32         *Ids,
  IN     UINTN          MaxIds
  )
{
  struct iscsi_hba_cqe  Cqe;
  UINT32                Status;
  UINTN                 Count;

  //
  // A page holds 1024 ids, more than any adapter's MAX_SESSIONS.
  //
  Status = IscsiHbaAdminBuffer (
             Dev,
             ISCSI_HBA_ADM_LIST_SESSIONS,
             0,
             EFI_PAGE_SIZE,
             ISCSI_HBA_ADMIN_TIMEOUT_MS,
             &Cqe
             );
  if (Status != ISCSI_HBA_STATUS_SUCCESS) {
    IscsiHbaReportStatus ("LIST_SESSIONS", Status);
    return 0;
  }

  Count = (UINTN)MIN (Cqe.result, MaxIds);
  CopyMem (Ids, IscsiHbaDmaHost (Dev, IscsiHbaPageBuffer), Count * sizeof (UINT32));
  return Count;
}

/**
  Note where a host-configured session stands.  Its host target index (the
  order of the iscsi-hba-target ids, as in the device's bootindex paths)
  becomes the pass-thru target.  A failed login is reported once per
  status.
**/
STATIC
VOID
IscsiHbaUpdateSession (
  IN OUT ISCSI_HBA_DEV  *Dev,
  IN     UINT32         SessionId,
  IN OUT UINT32         *Reported
  )
{
  struct iscsi_hba_cqe           Cqe;
  struct iscsi_hba_session_info  *Info;
  UINT16                         Target;

  if (IscsiHbaAdminBuffer (
        Dev,
        ISCSI_HBA_ADM_SESSION_INFO,
        SessionId,
        sizeof (*Info),
        ISCSI_HBA_ADMIN_TIMEOUT_MS,
        &Cqe
        ) != ISCSI_HBA_STATUS_SUCCESS)
  {
    return;
  }

  Info   = IscsiHbaDmaHost (Dev, IscsiHbaPageBuffer);
  Target = Info->host_target;
  if (((Info->flags & ISCSI_HBA_SESSION_HOST_CONFIGURED) == 0) ||
      (Target >= Dev->TargetCount))
  {
    return;
  }

  Dev->TargetSession[Target]  = SessionId;
  Dev->TargetLoggedIn[Target] = (BOOLEAN)(Info->state == ISCSI_HBA_SESSION_STATE_LOGGED_IN);
  if (!Dev->TargetLoggedIn[Target] && (Info->last_status != 0) &&
      (Info->last_status != Reported[Target]))
  {
    Reported[Target] = Info->last_status;
    Info->target_name[ISCSI_HBA_STRING_FIELD - 1] = '\0';
    IscsiHbaReportStatus (Info->target_name, Info->last_status);
  }
}

/**
  Wait for the logins the enable started: until every host-configured
  target is logged in, or for as long as a login and one retry may take.
**/
STATIC
VOID
IscsiHbaWaitForSessions (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  UINT32  Ids[ISCSI_HBA_FW_MAX_SESSIONS];
  UINT32  Reported[ISCSI_HBA_FW_MAX_TARGETS];
  UINT64  DeadlineMs;
  UINT64  WaitedMs;
  UINTN   Count;
  UINTN   Index;
  UINTN   LoggedIn;

  if (Dev->NumHostTargets > ISCSI_HBA_FW_MAX_TARGETS) {
    DEBUG ((DEBUG_WARN, "IscsiHba: only %u of the targets\n", ISCSI_HBA_FW_MAX_TARGETS));
  }

  Dev->TargetCount = MIN (Dev->NumHostTargets, ISCSI_HBA_FW_MAX_TARGETS);
  ZeroMem (Reported, sizeof (Reported));
  //
  // The spec's firmware sequence ("Booting"): poll every 100 ms for at
  // most login-timeout + 5 s, which covers a failed first login and its
  // retry 2 s later.
  //
  DeadlineMs = (UINT64)Dev->LoginTimeoutMs + 5000;
  for (WaitedMs = 0; WaitedMs <= DeadlineMs; WaitedMs += 100) {
    ZeroMem (Dev->TargetLoggedIn, sizeof (Dev->TargetLoggedIn));
    Count = IscsiHbaListSessions (Dev, Ids, ARRAY_SIZE (Ids));
    for (Index = 0; Index < Count; Index++) {
      IscsiHbaUpdateSession (Dev, Ids[Index], Reported);
    }

    LoggedIn = 0;
    for (Index = 0; Index < Dev->TargetCount; Index++) {
      if (Dev->TargetLoggedIn[Index]) {
        LoggedIn++;
      }
    }

    if (LoggedIn == Dev->TargetCount) {
      return;
    }

    gBS->Stall (100 * 1000);
  }

  DEBUG ((DEBUG_WARN, "IscsiHba: not every target logged in\n"));
}

/**
  Decode a single-level SAM LUN (peripheral or flat addressing).

  @retval TRUE   *Lun holds the LUN number.
  @retval FALSE  Another format, which the device would refuse.
**/
STATIC
BOOLEAN
IscsiHbaDecodeLun (
  IN  CONST UINT8  *SamLun,
  OUT UINT16       *Lun
  )
{
  UINTN  Index;

  for (Index = 2; Index < 8; Index++) {
    if (SamLun[Index] != 0) {
      return FALSE;
    }
  }

  switch (SamLun[0] >> 6) {
    case 0:
      if (SamLun[0] != 0) {
        return FALSE;
      }

      *Lun = SamLun[1];
      return TRUE;
    case 1:
      *Lun = (UINT16)(((SamLun[0] & 0x3f) << 8) | SamLun[1]);
      return TRUE;
    default:
      return FALSE;
  }
}

STATIC
VOID
IscsiHbaAddLuns (
  IN OUT ISCSI_HBA_DEV  *Dev,
  IN     UINT16         Target,
  IN     CONST UINT8    *Data,
  IN     UINT32         Length
  )
{
  UINT32         ListBytes;
  UINT32         Offset;
  ISCSI_HBA_LUN  *Entry;

  if (Length < 8) {
    return;
  }

  ListBytes = SwapBytes32 (ReadUnaligned32 ((CONST UINT32 *)Data));
  for (Offset = 8; Offset + 8 <= MIN (Length, ListBytes + 8); Offset += 8) {
    if (Dev->LunCount == ISCSI_HBA_FW_MAX_LUNS) {
      DEBUG ((DEBUG_WARN, "IscsiHba: more than %u LUNs\n", ISCSI_HBA_FW_MAX_LUNS));
      return;
    }

    Entry = &Dev->Luns[Dev->LunCount];
    if (!IscsiHbaDecodeLun (Data + Offset, &Entry->Lun)) {
      continue;
    }

    Entry->Target    = Target;
    Entry->SessionId = Dev->TargetSession[Target];
    CopyMem (Entry->SamLun, Data + Offset, sizeof (Entry->SamLun));
    Dev->LunCount++;
  }
}

STATIC
VOID
IscsiHbaScanTarget (
  IN OUT ISCSI_HBA_DEV  *Dev,
  IN     UINT16         Target
  )
{
  struct iscsi_hba_cqe  Cqe;
  UINT32                Status;
  UINTN                 Try;

  for (Try = 0; Try < ISCSI_HBA_REPORT_LUNS_TRIES; Try++) {
    Status = IscsiHbaAdminBuffer (
               Dev,
               ISCSI_HBA_ADM_REPORT_LUNS,
               Dev->TargetSession[Target],
               EFI_PAGE_SIZE,
               Dev->CommandTimeoutMs + ISCSI_HBA_DEVICE_SLACK_MS,
               &Cqe
               );
    if (Status != ISDSC_SCSI_REQUEST_FAILED) {
      break;
    }
  }

  //
  // A page holds 510 LUNs, far more than the driver keeps, so
  // ISDSC_BUFFER_TOO_SMALL does not happen.
  //
  if (Status != ISCSI_HBA_STATUS_SUCCESS) {
    IscsiHbaReportStatus ("REPORT_LUNS", Status);
    return;
  }

  IscsiHbaAddLuns (
    Dev,
    Target,
    IscsiHbaDmaHost (Dev, IscsiHbaPageBuffer),
    (UINT32)MIN (Cqe.result, EFI_PAGE_SIZE)
    );
}

/**
  Bring the adapter up and find the LUNs of its sessions.
**/
EFI_STATUS
IscsiHbaInit (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  EFI_STATUS  Status;
  UINT16      Target;

  Status = IscsiHbaCheckInterface (Dev);
  if (EFI_ERROR (Status)) {
    return Status;
  }

  Status = IscsiHbaAllocateDma (Dev);
  if (EFI_ERROR (Status)) {
    return Status;
  }

  Status = IscsiHbaEnable (Dev);
  if (EFI_ERROR (Status)) {
    goto FreeDma;
  }

  Status = IscsiHbaIdentify (Dev);
  if (!EFI_ERROR (Status)) {
    Status = IscsiHbaCreateIoQueue (Dev);
  }

  if (EFI_ERROR (Status)) {
    goto Disable;
  }

  IscsiHbaWaitForSessions (Dev);
  for (Target = 0; Target < Dev->TargetCount; Target++) {
    if (Dev->TargetLoggedIn[Target]) {
      IscsiHbaScanTarget (Dev, Target);
    }
  }

  DEBUG ((DEBUG_INFO, "IscsiHba: %u sessions, %u LUNs\n", Dev->TargetCount, Dev->LunCount));
  return EFI_SUCCESS;

Disable:
  IscsiHbaDisable (Dev);
FreeDma:
  IscsiHbaFreeDma (Dev);
  return Status;
}

VOID
IscsiHbaUninit (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  IscsiHbaDisable (Dev);
  IscsiHbaFreeDma (Dev);
}
