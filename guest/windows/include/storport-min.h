/*
 * The subset of the Windows Storport miniport interface that the iscsi-hba
 * miniport uses, written from Microsoft's public documentation
 * (learn.microsoft.com: storport.h, srb.h, wmistr.h reference pages).
 *
 * Why not mingw-w64's ddk/storport.h: as shipped (mingw-w64 10 and 12) it
 * does not compile (it redefines SCSI_WMI_REQUEST_BLOCK from ddk/srb.h),
 * and it predates message-signalled interrupts, DPCs and spin locks.
 *
 * The same header serves two builds:
 *  - the Windows kernel driver (x86_64-w64-mingw32-gcc, links storport.sys);
 *  - the host harness (tests/windows), whose stand-in implements these
 *    functions on top of the real QEMU device.
 * Only fixed-width types are used, so the layouts are those of x64 Windows
 * in both builds (pointers are 64-bit on both).
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR BSD-2-Clause
 */

#ifndef STORPORT_MIN_H
#define STORPORT_MIN_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define NTAPI           __stdcall
#define STORPORT_API    __declspec(dllimport)
#else
#define NTAPI
#define STORPORT_API
#define __cdecl
#endif

typedef void            VOID, *PVOID;
typedef uint8_t         UCHAR, *PUCHAR, BOOLEAN, *PBOOLEAN;
typedef char            CHAR, *PCHAR;
typedef uint16_t        USHORT, *PUSHORT, WCHAR, *PWCHAR;
typedef uint32_t        ULONG, *PULONG;
typedef int32_t         LONG, *PLONG;
typedef uint64_t        ULONG64, ULONGLONG, *PULONGLONG;
typedef int64_t         LONGLONG;
typedef uintptr_t       ULONG_PTR;
typedef int32_t         NTSTATUS;

#ifndef TRUE
#define TRUE  1
#define FALSE 0
#endif

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, PHYSICAL_ADDRESS, STOR_PHYSICAL_ADDRESS;

typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID;

/* INTERFACE_TYPE, KINTERRUPT_MODE, DMA_WIDTH, DMA_SPEED: enums (32-bit). */
typedef ULONG INTERFACE_TYPE;
#define PCIBus 5
typedef ULONG KINTERRUPT_MODE;
#define LevelSensitive 0

/* ---- SRB (srb.h) ---- */

typedef struct _SCSI_REQUEST_BLOCK {
    USHORT Length;
    UCHAR Function;
    UCHAR SrbStatus;
    UCHAR ScsiStatus;
    UCHAR PathId;
    UCHAR TargetId;
    UCHAR Lun;
    UCHAR QueueTag;
    UCHAR QueueAction;
    UCHAR CdbLength;
    UCHAR SenseInfoBufferLength;
    ULONG SrbFlags;
    ULONG DataTransferLength;
    ULONG TimeOutValue;
    PVOID DataBuffer;
    PVOID SenseInfoBuffer;
    struct _SCSI_REQUEST_BLOCK *NextSrb;
    PVOID OriginalRequest;
    PVOID SrbExtension;
    union {
        ULONG InternalStatus;
        ULONG QueueSortKey;
        ULONG LinkTimeoutValue;
    };
    ULONG Reserved;             /* _WIN64 */
    UCHAR Cdb[16];
} SCSI_REQUEST_BLOCK, *PSCSI_REQUEST_BLOCK;

typedef struct _SCSI_WMI_REQUEST_BLOCK {
    USHORT Length;
    UCHAR Function;             /* SRB_FUNCTION_WMI */
    UCHAR SrbStatus;
    UCHAR WMISubFunction;       /* IRP_MN_* */
    UCHAR PathId;
    UCHAR TargetId;
    UCHAR Lun;
    UCHAR Reserved1;
    UCHAR WMIFlags;             /* SRB_WMI_FLAGS_ADAPTER_REQUEST */
    UCHAR Reserved2[2];
    ULONG SrbFlags;
    ULONG DataTransferLength;
    ULONG TimeOutValue;
    PVOID DataBuffer;
    PVOID DataPath;
    PVOID Reserved3;
    PVOID OriginalRequest;
    PVOID SrbExtension;
    ULONG Reserved4;
    ULONG Reserved6;            /* _WIN64 */
    UCHAR Reserved5[16];
} SCSI_WMI_REQUEST_BLOCK, *PSCSI_WMI_REQUEST_BLOCK;

#define SRB_FUNCTION_EXECUTE_SCSI       0x00
#define SRB_FUNCTION_ABORT_COMMAND      0x10
#define SRB_FUNCTION_RESET_BUS          0x12
#define SRB_FUNCTION_RESET_DEVICE       0x13
#define SRB_FUNCTION_SHUTDOWN           0x07
#define SRB_FUNCTION_FLUSH              0x08
#define SRB_FUNCTION_WMI                0x17
#define SRB_FUNCTION_RESET_LOGICAL_UNIT 0x20
#define SRB_FUNCTION_PNP                0x24

#define SRB_STATUS_PENDING              0x00
#define SRB_STATUS_SUCCESS              0x01
#define SRB_STATUS_ABORTED              0x02
#define SRB_STATUS_ABORT_FAILED         0x03
#define SRB_STATUS_ERROR                0x04
#define SRB_STATUS_BUSY                 0x05
#define SRB_STATUS_INVALID_REQUEST      0x06
#define SRB_STATUS_INVALID_PATH_ID      0x07
#define SRB_STATUS_NO_DEVICE            0x08
#define SRB_STATUS_TIMEOUT              0x09
#define SRB_STATUS_SELECTION_TIMEOUT    0x0A
#define SRB_STATUS_BUS_RESET            0x0E
#define SRB_STATUS_DATA_OVERRUN         0x12
#define SRB_STATUS_INVALID_LUN          0x20
#define SRB_STATUS_INVALID_TARGET_ID    0x21
#define SRB_STATUS_INTERNAL_ERROR       0x30 /* NTSTATUS in InternalStatus */
#define SRB_STATUS_AUTOSENSE_VALID      0x80
#define SRB_STATUS(s)                   ((s) & 0x3f)

#define SRB_FLAGS_DATA_IN               0x00000040
#define SRB_FLAGS_DATA_OUT              0x00000080
#define SRB_FLAGS_NO_DATA_TRANSFER      0x00000000

#define SP_UNTAGGED                     ((UCHAR)~0)

/* WMI sub-functions (IRP_MN_*), wmistr.h / wdm.h */
#define IRP_MN_QUERY_ALL_DATA           0x00
#define IRP_MN_QUERY_SINGLE_INSTANCE    0x01
#define IRP_MN_REGINFO                  0x08
#define IRP_MN_EXECUTE_METHOD           0x09
#define SRB_WMI_FLAGS_ADAPTER_REQUEST   0x01

/* ---- port configuration (storport.h) ---- */

typedef struct _ACCESS_RANGE {
    STOR_PHYSICAL_ADDRESS RangeStart;
    ULONG RangeLength;
    BOOLEAN RangeInMemory;
} ACCESS_RANGE, *PACCESS_RANGE;

typedef struct _MEMORY_REGION {
    PUCHAR VirtualBase;
    PHYSICAL_ADDRESS PhysicalBase;
    ULONG Length;
} MEMORY_REGION;

struct _PORT_CONFIGURATION_INFORMATION;

typedef BOOLEAN NTAPI HW_INITIALIZE(PVOID DeviceExtension);
typedef BOOLEAN NTAPI HW_STARTIO(PVOID DeviceExtension,
                                 PSCSI_REQUEST_BLOCK Srb);
typedef BOOLEAN NTAPI HW_INTERRUPT(PVOID DeviceExtension);
typedef BOOLEAN NTAPI HW_MESSAGE_SIGNALED_INTERRUPT_ROUTINE(
    PVOID DeviceExtension, ULONG MessageId);
typedef ULONG NTAPI HW_FIND_ADAPTER(PVOID DeviceExtension, PVOID HwContext,
    PVOID BusInformation, PCHAR ArgumentString,
    struct _PORT_CONFIGURATION_INFORMATION *ConfigInfo, PBOOLEAN Again);
typedef BOOLEAN NTAPI HW_RESET_BUS(PVOID DeviceExtension, ULONG PathId);
typedef ULONG NTAPI HW_ADAPTER_CONTROL(PVOID DeviceExtension,
                                       ULONG ControlType, PVOID Parameters);
typedef BOOLEAN NTAPI HW_BUILDIO(PVOID DeviceExtension,
                                 PSCSI_REQUEST_BLOCK Srb);

typedef struct _PORT_CONFIGURATION_INFORMATION {
    ULONG Length;
    ULONG SystemIoBusNumber;
    INTERFACE_TYPE AdapterInterfaceType;
    ULONG BusInterruptLevel;
    ULONG BusInterruptVector;
    KINTERRUPT_MODE InterruptMode;
    ULONG MaximumTransferLength;
    ULONG NumberOfPhysicalBreaks;
    ULONG DmaChannel;
    ULONG DmaPort;
    ULONG DmaWidth;
    ULONG DmaSpeed;
    ULONG AlignmentMask;
    ULONG NumberOfAccessRanges;
    ACCESS_RANGE (*AccessRanges)[];
    PVOID MiniportDumpData;
    UCHAR NumberOfBuses;
    UCHAR InitiatorBusId[8];
    BOOLEAN ScatterGather;
    BOOLEAN Master;
    BOOLEAN CachesData;
    BOOLEAN AdapterScansDown;
    BOOLEAN AtdiskPrimaryClaimed;
    BOOLEAN AtdiskSecondaryClaimed;
    BOOLEAN Dma32BitAddresses;
    BOOLEAN DemandMode;
    UCHAR MapBuffers;
    BOOLEAN NeedPhysicalAddresses;
    BOOLEAN TaggedQueuing;
    BOOLEAN AutoRequestSense;
    BOOLEAN MultipleRequestPerLu;
    BOOLEAN ReceiveEvent;
    BOOLEAN RealModeInitialized;
    BOOLEAN BufferAccessScsiPortControlled;
    UCHAR MaximumNumberOfTargets;
    UCHAR SrbType;
    UCHAR ReservedUchar;
    ULONG SlotNumber;
    ULONG BusInterruptLevel2;
    ULONG BusInterruptVector2;
    KINTERRUPT_MODE InterruptMode2;
    ULONG DmaChannel2;
    ULONG DmaPort2;
    ULONG DmaWidth2;
    ULONG DmaSpeed2;
    ULONG DeviceExtensionSize;
    ULONG SpecificLuExtensionSize;
    ULONG SrbExtensionSize;
    UCHAR Dma64BitAddresses;
    BOOLEAN ResetTargetSupported;
    UCHAR MaximumNumberOfLogicalUnits;
    BOOLEAN WmiDataProvider;
    ULONG SynchronizationModel;         /* STOR_SYNCHRONIZATION_MODEL */
    HW_MESSAGE_SIGNALED_INTERRUPT_ROUTINE *HwMSInterruptRoutine;
    ULONG InterruptSynchronizationMode; /* INTERRUPT_SYNCHRONIZATION_MODE */
    MEMORY_REGION DumpRegion;
    ULONG RequestedDumpBufferSize;
    BOOLEAN VirtualDevice;
    UCHAR DumpMode;
    ULONG ExtendedFlags1;
    ULONG MaxNumberOfIO;
    ULONG MaxIOsPerLun;
    ULONG InitialLunQueueDepth;
    ULONG BusResetHoldTime;
    ULONG FeatureSupport;
} PORT_CONFIGURATION_INFORMATION, *PPORT_CONFIGURATION_INFORMATION;

#define STOR_MAP_NO_BUFFERS             0
#define STOR_MAP_NON_READ_WRITE_BUFFERS 2
#define StorSynchronizeHalfDuplex       0
#define InterruptSupportNone            0
#define InterruptSynchronizeAll         1
#define InterruptSynchronizePerMessage  2
#define SCSI_DMA64_MINIPORT_FULL64BIT_SUPPORTED 0x02

#define SP_RETURN_NOT_FOUND     0
#define SP_RETURN_FOUND         1
#define SP_RETURN_ERROR         2
#define SP_RETURN_BAD_CONFIG    3

typedef struct _HW_INITIALIZATION_DATA {
    ULONG HwInitializationDataSize;
    INTERFACE_TYPE AdapterInterfaceType;
    HW_INITIALIZE *HwInitialize;
    HW_STARTIO *HwStartIo;
    HW_INTERRUPT *HwInterrupt;
    HW_FIND_ADAPTER *HwFindAdapter;
    HW_RESET_BUS *HwResetBus;
    PVOID HwDmaStarted;
    PVOID HwAdapterState;
    ULONG DeviceExtensionSize;
    ULONG SpecificLuExtensionSize;
    ULONG SrbExtensionSize;
    ULONG NumberOfAccessRanges;
    PVOID Reserved;
    UCHAR MapBuffers;
    BOOLEAN NeedPhysicalAddresses;
    BOOLEAN TaggedQueuing;
    BOOLEAN AutoRequestSense;
    BOOLEAN MultipleRequestPerLu;
    BOOLEAN ReceiveEvent;
    USHORT VendorIdLength;
    PVOID VendorId;
    union {
        USHORT ReservedUshort;
        USHORT PortVersionFlags;
    };
    USHORT DeviceIdLength;
    PVOID DeviceId;
    HW_ADAPTER_CONTROL *HwAdapterControl;
    HW_BUILDIO *HwBuildIo;
    PVOID HwFreeAdapterResources;
    PVOID HwProcessServiceRequest;
    PVOID HwCompleteServiceIrp;
    PVOID HwInitializeTracing;
    PVOID HwCleanupTracing;
    PVOID HwTracingEnabled;
    ULONG FeatureSupport;
    ULONG SrbTypeFlags;
    ULONG AddressTypeFlags;
    ULONG Reserved1;
    PVOID HwUnitControl;
} HW_INITIALIZATION_DATA, *PHW_INITIALIZATION_DATA;

#define SRB_TYPE_FLAG_SCSI_REQUEST_BLOCK 0x1

/* HwAdapterControl */
#define ScsiQuerySupportedControlTypes  0
#define ScsiStopAdapter                 1
#define ScsiRestartAdapter              2
#define ScsiAdapterControlMax           5
#define ScsiAdapterControlSuccess       0
#define ScsiAdapterControlUnsuccessful  1

typedef struct _SCSI_SUPPORTED_CONTROL_TYPE_LIST {
    ULONG MaxControlType;
    BOOLEAN SupportedTypeList[];
} SCSI_SUPPORTED_CONTROL_TYPE_LIST;

/* ---- notifications, DPCs, locks ---- */

typedef enum _SCSI_NOTIFICATION_TYPE {
    RequestComplete,
    NextRequest,
    NextLuRequest,
    ResetDetected,
    _obsolete1,
    _obsolete2,
    RequestTimerCall,
    BusChangeDetected,
    WMIEvent,
    WMIReregister,
    LinkUp,
    LinkDown,
    QueryTickCount,
    BufferOverrunDetected,
    TraceNotification,
    GetExtendedFunctionTable,
    EnablePassiveInitialization = 0x1000,
    InitializeDpc,
    IssueDpc,
    AcquireSpinLock,
    ReleaseSpinLock
} SCSI_NOTIFICATION_TYPE;

typedef enum _STOR_SPINLOCK {
    DpcLock = 1,
    StartIoLock,
    InterruptLock
} STOR_SPINLOCK;

/* Opaque to the miniport: sizes as in the WDK (KDPC + lock). */
typedef struct _STOR_DPC {
    UCHAR Opaque[64];
    ULONG_PTR Lock;
} STOR_DPC, *PSTOR_DPC;

typedef struct _STOR_LOCK_HANDLE {
    STOR_SPINLOCK Lock;
    struct {
        PVOID Next;
        PVOID Lock;
        UCHAR OldIrql;
    } Context;
} STOR_LOCK_HANDLE, *PSTOR_LOCK_HANDLE;

typedef VOID HW_DPC_ROUTINE(PSTOR_DPC Dpc, PVOID HwDeviceExtension,
                            PVOID SystemArgument1, PVOID SystemArgument2);

typedef struct _STOR_SCATTER_GATHER_ELEMENT {
    STOR_PHYSICAL_ADDRESS PhysicalAddress;
    ULONG Length;
    ULONG_PTR Reserved;
} STOR_SCATTER_GATHER_ELEMENT;

typedef struct _STOR_SCATTER_GATHER_LIST {
    ULONG NumberOfElements;
    ULONG_PTR Reserved;
    STOR_SCATTER_GATHER_ELEMENT List[];
} STOR_SCATTER_GATHER_LIST, *PSTOR_SCATTER_GATHER_LIST;

/* ---- storport.sys exports used (listed in storport.def) ---- */

STORPORT_API ULONG NTAPI StorPortInitialize(PVOID Argument1, PVOID Argument2,
    PHW_INITIALIZATION_DATA HwInitializationData, PVOID HwContext);
STORPORT_API VOID __cdecl StorPortNotification(
    SCSI_NOTIFICATION_TYPE NotificationType, PVOID HwDeviceExtension, ...);
STORPORT_API PVOID NTAPI StorPortGetDeviceBase(PVOID HwDeviceExtension,
    INTERFACE_TYPE BusType, ULONG SystemIoBusNumber,
    STOR_PHYSICAL_ADDRESS IoAddress, ULONG NumberOfBytes, BOOLEAN InIoSpace);
STORPORT_API PVOID NTAPI StorPortGetUncachedExtension(PVOID HwDeviceExtension,
    PPORT_CONFIGURATION_INFORMATION ConfigInfo, ULONG NumberOfBytes);
STORPORT_API STOR_PHYSICAL_ADDRESS NTAPI StorPortGetPhysicalAddress(
    PVOID HwDeviceExtension, PSCSI_REQUEST_BLOCK Srb, PVOID VirtualAddress,
    PULONG Length);
STORPORT_API PSTOR_SCATTER_GATHER_LIST NTAPI StorPortGetScatterGatherList(
    PVOID DeviceExtension, PSCSI_REQUEST_BLOCK Srb);
STORPORT_API ULONG NTAPI StorPortReadRegisterUlong(PVOID HwDeviceExtension,
    PULONG Register);
STORPORT_API VOID NTAPI StorPortWriteRegisterUlong(PVOID HwDeviceExtension,
    PULONG Register, ULONG Value);
STORPORT_API VOID NTAPI StorPortStallExecution(ULONG Delay);
STORPORT_API VOID NTAPI StorPortCompleteRequest(PVOID HwDeviceExtension,
    UCHAR PathId, UCHAR TargetId, UCHAR Lun, UCHAR SrbStatus);
STORPORT_API ULONG NTAPI StorPortGetBusData(PVOID DeviceExtension,
    ULONG BusDataType, ULONG SystemIoBusNumber, ULONG SlotNumber,
    PVOID Buffer, ULONG Length);

#define PCIConfiguration 4

/* StorPortExtendedFunction: only what the miniport calls. */
typedef enum _STORPORT_FUNCTION_CODE {
    ExtFunctionGetMessageInterruptInformation = 13,
} STORPORT_FUNCTION_CODE;

#define STOR_STATUS_SUCCESS     0x00000000u

typedef struct _MESSAGE_INTERRUPT_INFORMATION {
    ULONG MessageId;
    ULONG MessageData;
    STOR_PHYSICAL_ADDRESS MessageAddress;
    ULONG InterruptVector;
    ULONG InterruptLevel;
    KINTERRUPT_MODE InterruptMode;
} MESSAGE_INTERRUPT_INFORMATION, *PMESSAGE_INTERRUPT_INFORMATION;

STORPORT_API ULONG __cdecl StorPortExtendedFunction(
    STORPORT_FUNCTION_CODE FunctionCode, PVOID HwDeviceExtension, ...);

/* Was message @id granted?  (Fails with only the line interrupt.) */
static inline ULONG StorPortGetMSIInfo(PVOID Ext, ULONG MessageId,
                                       PMESSAGE_INTERRUPT_INFORMATION Info)
{
    return StorPortExtendedFunction(ExtFunctionGetMessageInterruptInformation,
                                    Ext, MessageId, Info);
}

static inline BOOLEAN StorPortIssueDpc(PVOID Ext, PSTOR_DPC Dpc, PVOID Arg1,
                                       PVOID Arg2)
{
    LONG ok = FALSE;

    StorPortNotification(IssueDpc, Ext, Dpc, Arg1, Arg2, &ok);
    return (BOOLEAN)ok;
}

static inline VOID StorPortInitializeDpc(PVOID Ext, PSTOR_DPC Dpc,
                                         HW_DPC_ROUTINE *Routine)
{
    StorPortNotification(InitializeDpc, Ext, Dpc, Routine);
}

static inline VOID StorPortAcquireSpinLock(PVOID Ext, STOR_SPINLOCK Lock,
                                           PVOID LockContext,
                                           PSTOR_LOCK_HANDLE Handle)
{
    StorPortNotification(AcquireSpinLock, Ext, Lock, LockContext, Handle);
}

static inline VOID StorPortReleaseSpinLock(PVOID Ext, PSTOR_LOCK_HANDLE Handle)
{
    StorPortNotification(ReleaseSpinLock, Ext, Handle);
}

/* A full memory barrier (KeMemoryBarrier / MemoryBarrier). */
#define StorPortMemoryBarrier() __sync_synchronize()

#endif /* STORPORT_MIN_H */
