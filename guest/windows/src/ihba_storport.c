/*
 * iscsi-hba miniport: DriverEntry and the Storport entry points.  Thin on
 * purpose: each one takes the lock Storport expects and calls the
 * hardware-facing code.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR BSD-2-Clause
 */

#include "ihba.h"

static HW_FIND_ADAPTER ihba_find_adapter;
static HW_INITIALIZE ihba_initialize;
static HW_STARTIO ihba_start_io;
static HW_INTERRUPT ihba_interrupt;
static HW_MESSAGE_SIGNALED_INTERRUPT_ROUTINE ihba_message_interrupt;
static HW_RESET_BUS ihba_reset_bus_entry;
static HW_ADAPTER_CONTROL ihba_adapter_control;

NTSTATUS NTAPI DriverEntry(PVOID DriverObject, PVOID RegistryPath);

static ULONG NTAPI ihba_find_adapter(PVOID ext, PVOID ctx, PVOID bus,
                                     PCHAR args,
                                     PPORT_CONFIGURATION_INFORMATION ci,
                                     PBOOLEAN again)
{
    IHBA_EXT *e = ext;
    ACCESS_RANGE *bar = &(*ci->AccessRanges)[0];
    STOR_PHYSICAL_ADDRESS pa;
    ULONG len = 0;
    UCHAR *dma;

    (void)ctx;
    (void)bus;
    (void)args;
    *again = FALSE;
    ihba_zero(e, sizeof(*e));
    if (ci->NumberOfAccessRanges < 1 || !bar->RangeInMemory ||
        bar->RangeLength < ISCSI_HBA_BAR0_SIZE) {
        return SP_RETURN_BAD_CONFIG;
    }
    e->regs = StorPortGetDeviceBase(e, ci->AdapterInterfaceType,
                                    ci->SystemIoBusNumber, bar->RangeStart,
                                    bar->RangeLength, FALSE);
    if (!e->regs || !ihba_identify_registers(e)) {
        return SP_RETURN_NOT_FOUND;
    }
    ci->MaximumTransferLength = IHBA_MAX_TRANSFER < e->max_transfer ?
                                IHBA_MAX_TRANSFER : e->max_transfer;
    ci->NumberOfPhysicalBreaks = (e->max_sg < IHBA_MAX_SG ?
                                  e->max_sg : IHBA_MAX_SG) - 1;
    ci->NumberOfBuses = 1;
    ci->MaximumNumberOfTargets = IHBA_MAX_TARGETS;
    ci->MaximumNumberOfLogicalUnits = IHBA_MAX_LUNS;
    ci->ScatterGather = TRUE;
    ci->Master = TRUE;
    ci->CachesData = FALSE;
    ci->TaggedQueuing = TRUE;
    ci->MultipleRequestPerLu = TRUE;
    ci->AutoRequestSense = TRUE;
    ci->Dma64BitAddresses = SCSI_DMA64_MINIPORT_FULL64BIT_SUPPORTED;
    ci->WmiDataProvider = TRUE;
    ci->SynchronizationModel = StorSynchronizeHalfDuplex;
    ci->HwMSInterruptRoutine = ihba_message_interrupt;
    ci->InterruptSynchronizationMode = InterruptSynchronizeAll;
    ci->MapBuffers = STOR_MAP_NON_READ_WRITE_BUFFERS;
    ci->MaxNumberOfIO = IHBA_IO_DEPTH;
    dma = StorPortGetUncachedExtension(e, ci, ihba_dma_size());
    if (!dma) {
        return SP_RETURN_ERROR;
    }
    pa = StorPortGetPhysicalAddress(e, NULL, dma, &len);
    if (len < ihba_dma_size()) {
        return SP_RETURN_ERROR;     /* we need it physically contiguous */
    }
    ihba_dma_assign(e, dma, ihba_pa(pa));
    return SP_RETURN_FOUND;
}

static BOOLEAN NTAPI ihba_initialize(PVOID ext)
{
    IHBA_EXT *e = ext;
    MESSAGE_INTERRUPT_INFORMATION msi;

    StorPortInitializeDpc(e, &e->dpc, ihba_dpc);
    /*
     * The I/O CQ gets message 1 if Windows granted it; with one message,
     * or only the line interrupt, both CQs share message 0 / the line.
     */
    e->io_vector = StorPortGetMSIInfo(e, IHBA_IO_VECTOR, &msi) ==
                   STOR_STATUS_SUCCESS ? IHBA_IO_VECTOR : IHBA_ADMIN_VECTOR;
    return ihba_start_controller(e);
}

/* Half duplex: Storport calls this holding the interrupt lock. */
static BOOLEAN NTAPI ihba_start_io(PVOID ext, PSCSI_REQUEST_BLOCK srb)
{
    return ihba_start_srb(ext, srb);
}

static BOOLEAN NTAPI ihba_interrupt(PVOID ext)
{
    IHBA_EXT *e = ext;

    if (!ihba_isr_intx(e)) {
        return FALSE;
    }
    StorPortIssueDpc(e, &e->dpc, NULL, NULL);
    return TRUE;
}

/* MSI-X: message 0 is the admin CQ, 1 the I/O CQ; the DPC does both. */
static BOOLEAN NTAPI ihba_message_interrupt(PVOID ext, ULONG message_id)
{
    IHBA_EXT *e = ext;

    (void)message_id;
    StorPortIssueDpc(e, &e->dpc, NULL, NULL);
    return TRUE;
}

VOID ihba_dpc(PSTOR_DPC dpc, PVOID ext, PVOID arg1, PVOID arg2)
{
    IHBA_EXT *e = ext;
    STOR_LOCK_HANDLE lock;

    (void)dpc;
    (void)arg1;
    (void)arg2;
    /* the same lock StartIo runs under: queues and slots are shared */
    StorPortAcquireSpinLock(e, InterruptLock, NULL, &lock);
    ihba_dpc_body(e);
    StorPortReleaseSpinLock(e, &lock);
}

static BOOLEAN NTAPI ihba_reset_bus_entry(PVOID ext, ULONG path_id)
{
    return ihba_reset_bus(ext, path_id);
}

static ULONG NTAPI ihba_adapter_control(PVOID ext, ULONG type, PVOID params)
{
    IHBA_EXT *e = ext;

    switch (type) {
    case ScsiQuerySupportedControlTypes: {
        SCSI_SUPPORTED_CONTROL_TYPE_LIST *l = params;

        if (l->MaxControlType > ScsiStopAdapter) {
            l->SupportedTypeList[ScsiQuerySupportedControlTypes] = TRUE;
            l->SupportedTypeList[ScsiStopAdapter] = TRUE;
        }
        if (l->MaxControlType > ScsiRestartAdapter) {
            l->SupportedTypeList[ScsiRestartAdapter] = TRUE;
        }
        return ScsiAdapterControlSuccess;
    }
    case ScsiStopAdapter:
        ihba_disable_controller(e);
        return ScsiAdapterControlSuccess;
    case ScsiRestartAdapter:
        if (!ihba_start_controller(e)) {
            return ScsiAdapterControlUnsuccessful;
        }
        /* the disable dropped every session: Storport must rescan */
        ihba_bus_changed(e);
        return ScsiAdapterControlSuccess;
    default:
        return ScsiAdapterControlUnsuccessful;
    }
}

NTSTATUS NTAPI DriverEntry(PVOID DriverObject, PVOID RegistryPath)
{
    static USHORT vendor[] = { '1', 'a', 'f', '4' };
    static USHORT device[] = { '1', '0', 'f', '5' };
    HW_INITIALIZATION_DATA init;

    ihba_zero(&init, sizeof(init));
    init.HwInitializationDataSize = sizeof(init);
    init.AdapterInterfaceType = PCIBus;
    init.HwFindAdapter = ihba_find_adapter;
    init.HwInitialize = ihba_initialize;
    init.HwStartIo = ihba_start_io;
    init.HwInterrupt = ihba_interrupt;
    init.HwResetBus = ihba_reset_bus_entry;
    init.HwAdapterControl = ihba_adapter_control;
    init.DeviceExtensionSize = sizeof(IHBA_EXT);
    init.NumberOfAccessRanges = 1;
    init.MapBuffers = STOR_MAP_NON_READ_WRITE_BUFFERS;
    init.TaggedQueuing = TRUE;
    init.AutoRequestSense = TRUE;
    init.MultipleRequestPerLu = TRUE;
    init.NeedPhysicalAddresses = TRUE;
    init.VendorId = vendor;
    init.VendorIdLength = sizeof(vendor) / sizeof(vendor[0]);
    init.DeviceId = device;
    init.DeviceIdLength = sizeof(device) / sizeof(device[0]);
    init.SrbTypeFlags = SRB_TYPE_FLAG_SCSI_REQUEST_BLOCK;
    return (NTSTATUS)StorPortInitialize(DriverObject, RegistryPath, &init,
                                        NULL);
}
