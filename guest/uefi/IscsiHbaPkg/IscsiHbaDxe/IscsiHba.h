/** @file
  Internal definitions of the iscsi-hba UEFI driver.

  The adapter speaks iSCSI itself; the firmware only sees SCSI.  The driver
  enables the adapter with polled queues (no interrupts), lets it log in to
  the targets the host configured for it, and maps each such session to a
  pass-thru target and each LUN of its target to a pass-thru LUN.

  Copyright (c) 2026 The iscsi-hba authors
  SPDX-License-Identifier: BSD-2-Clause-Patent
**/

#ifndef ISCSI_HBA_DXE_H_
#define ISCSI_HBA_DXE_H_

#include <Uefi.h>
#include <IndustryStandard/Pci.h>
#include <Library/BaseLib.h>
#include <Library/BaseMemoryLib.h>
#include <Library/DebugLib.h>
#include <Library/DevicePathLib.h>
#include <Library/MemoryAllocationLib.h>
#include <Library/UefiBootServicesTableLib.h>
#include <Library/UefiLib.h>
#include <Protocol/PciIo.h>
#include <Protocol/ScsiPassThruExt.h>

//
// The project's guest ABI header, shared with QEMU and the other drivers.
//
#include <hw/iscsi-hba/iscsi-hba-abi.h>

#define ISCSI_HBA_DEV_SIGNATURE  SIGNATURE_32 ('I','H','B','A')

//
// Queue sizes: the firmware runs one command at a time, so the I/O queue
// pair needs the minimum; the admin SQ follows the spec's recommendation.
//
#define ISCSI_HBA_FW_ADMIN_ENTRIES  8
#define ISCSI_HBA_FW_IO_ENTRIES     2
#define ISCSI_HBA_FW_IO_QID         1

//
// Targets and LUNs the driver tracks.  A pass-thru target is the index of
// a host-configured target (SESSION_INFO host_target); more targets or
// LUNs than these are reported and ignored.
//
#define ISCSI_HBA_FW_MAX_TARGETS   16
#define ISCSI_HBA_FW_MAX_LUNS      64
#define ISCSI_HBA_FW_MAX_SESSIONS  64

//
// The driver's DMA area: one page per queue and per buffer, so every
// queue base is 4096-aligned as the device requires.
//
typedef enum {
  IscsiHbaPageAdminSq,
  IscsiHbaPageAdminCq,
  IscsiHbaPageIoSq,
  IscsiHbaPageIoCq,
  IscsiHbaPageBuffer,   // admin command output (IDENTIFY, REPORT_LUNS, ...)
  IscsiHbaPageSense,
  IscsiHbaPageCount
} ISCSI_HBA_DMA_PAGE;

typedef struct {
  UINT16                    Qid;
  UINT16                    Entries;
  UINT16                    Tail;
  UINT16                    Head;
  UINT16                    Phase;
  UINT16                    NextCid;
  struct iscsi_hba_sqe      *Sq;
  volatile struct iscsi_hba_cqe  *Cq;
} ISCSI_HBA_QUEUE;

typedef struct {
  UINT16    Target;       // pass-thru target: host target index
  UINT16    Lun;          // pass-thru LUN: the LUN number
  UINT32    SessionId;
  UINT8     SamLun[8];    // REPORT LUNS entry, sent unchanged
} ISCSI_HBA_LUN;

typedef struct {
  UINT32                             Signature;
  EFI_PCI_IO_PROTOCOL                *PciIo;
  UINT64                             OriginalPciAttributes;
  EFI_EVENT                          ExitBoot;

  VOID                               *DmaHost;
  EFI_PHYSICAL_ADDRESS               DmaDevice;
  VOID                               *DmaMapping;

  ISCSI_HBA_QUEUE                    Admin;
  ISCSI_HBA_QUEUE                    Io;
  UINT32                             MaxTransfer;
  UINT32                             CommandTimeoutMs;
  UINT32                             LoginTimeoutMs;
  UINT16                             NumHostTargets;
  BOOLEAN                            Broken;  // a poll timed out: disabled

  UINT32                             TargetSession[ISCSI_HBA_FW_MAX_TARGETS];
  BOOLEAN                            TargetLoggedIn[ISCSI_HBA_FW_MAX_TARGETS];
  UINTN                              TargetCount;
  ISCSI_HBA_LUN                      Luns[ISCSI_HBA_FW_MAX_LUNS];
  UINTN                              LunCount;

  EFI_EXT_SCSI_PASS_THRU_PROTOCOL    PassThru;
  EFI_EXT_SCSI_PASS_THRU_MODE        PassThruMode;
} ISCSI_HBA_DEV;

#define ISCSI_HBA_FROM_PASS_THRU(PassThruPointer) \
  CR (PassThruPointer, ISCSI_HBA_DEV, PassThru, ISCSI_HBA_DEV_SIGNATURE)

//
// IscsiHbaHw.c: the adapter
//

EFI_STATUS
IscsiHbaInit (
  IN OUT ISCSI_HBA_DEV  *Dev
  );

VOID
IscsiHbaUninit (
  IN OUT ISCSI_HBA_DEV  *Dev
  );

VOID
IscsiHbaDisable (
  IN OUT ISCSI_HBA_DEV  *Dev
  );

VOID *
IscsiHbaDmaHost (
  IN ISCSI_HBA_DEV       *Dev,
  IN ISCSI_HBA_DMA_PAGE  Page
  );

UINT64
IscsiHbaDmaDevice (
  IN ISCSI_HBA_DEV       *Dev,
  IN ISCSI_HBA_DMA_PAGE  Page
  );

EFI_STATUS
IscsiHbaExecute (
  IN OUT ISCSI_HBA_DEV         *Dev,
  IN OUT ISCSI_HBA_QUEUE       *Queue,
  IN     struct iscsi_hba_sqe  *Sqe,
  IN     UINT32                TimeoutMs,
  OUT    struct iscsi_hba_cqe  *Cqe
  );

VOID
IscsiHbaReportStatus (
  IN CONST CHAR8  *What,
  IN UINT32       Status
  );

//
// IscsiHbaPassThru.c: EFI_EXT_SCSI_PASS_THRU_PROTOCOL
//

VOID
IscsiHbaInitPassThru (
  IN OUT ISCSI_HBA_DEV  *Dev
  );

#endif // ISCSI_HBA_DXE_H_
