/*
 * STAND-IN for Windows' storport.sys and PnP manager, for the host harness
 * of the iscsi-hba miniport (guest/windows).  NOT Windows: no Windows
 * kernel can run on the project's machines, so this plays Storport's part
 * just far enough to call the miniport's entry points the way Storport
 * does (DriverEntry, HwFindAdapter, HwInitialize, HwStartIo, the interrupt
 * routines and the DPC, HwResetBus) against the REAL QEMU device.
 *
 * The device is reached through QEMU's qtest protocol (a small client of
 * our own, independent of the QEMU tree): register reads and writes, PCI
 * configuration through ports 0xcf8/0xcfc.  Guest RAM is a file shared
 * with QEMU (memory-backend-file,share=on), so the miniport reads and
 * writes its queues and data buffers directly, as it would in a guest,
 * and MSI-X messages land in RAM where this stand-in watches them.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef STORPORT_STANDIN_H
#define STORPORT_STANDIN_H

#include <stdbool.h>
#include "ihba.h"

typedef struct SpAdapter {
    HW_INITIALIZATION_DATA hw;  /* what DriverEntry registered */
    IHBA_EXT *ext;              /* the miniport's device extension */
    HW_MESSAGE_SIGNALED_INTERRUPT_ROUTINE *msi_routine;
    HW_DPC_ROUTINE *dpc_routine;
    bool dpc_pending;
    unsigned messages;          /* MSI-X messages granted, 0 = INTx */
    ULONG find_result;
    BOOLEAN init_result;
    unsigned bus_changes;       /* BusChangeDetected notifications */
    unsigned bad_completions;   /* completions of SRBs not outstanding */
    unsigned lock_depth;
} SpAdapter;

/* Over all adapters stopped so far. */
typedef struct SpTotals {
    unsigned never_completed;   /* SRBs still outstanding at the end */
    unsigned bad_completions;   /* SRBs completed twice or unknown */
} SpTotals;

const SpTotals *sp_totals(void);

/*
 * Start QEMU (q35, the device at 00:04.0 with @device_props appended to
 * "iscsi-hba,id=hba0") with shared RAM.  Returns false with a message.
 */
bool sp_qemu_start(const char *device_props, char **err);
void sp_qemu_stop(void);

/* Guest RAM: @size bytes, @align-aligned, zeroed; and its address. */
void *sp_alloc(size_t size, size_t align);
uint64_t sp_gpa(const void *p);

/*
 * Load the miniport (DriverEntry), find the device on PCI bus 0, assign
 * BAR0, grant @messages MSI-X messages (0: INTx only, as when Windows
 * grants no MSI), and call HwFindAdapter and HwInitialize.  The results
 * are in the SpAdapter.
 */
SpAdapter *sp_adapter_start(unsigned messages);

/* HwStartIo, as Storport calls it (interrupt lock held, half duplex). */
void sp_start_io(SpAdapter *a, PSCSI_REQUEST_BLOCK srb);

/* Deliver interrupts and run the DPC once; true if anything happened. */
bool sp_service(SpAdapter *a);

/* Service until @srb completed or @timeout_ms passed. */
bool sp_wait(SpAdapter *a, PSCSI_REQUEST_BLOCK srb, unsigned timeout_ms);

/* Service for @ms milliseconds. */
void sp_run_for(SpAdapter *a, unsigned ms);

bool sp_completed(PSCSI_REQUEST_BLOCK srb);

/* HwAdapterControl after the supported-types query, as for power-down. */
ULONG sp_adapter_control(SpAdapter *a, ULONG type);

/* HwResetBus, as Storport calls it after a timeout. */
BOOLEAN sp_reset_bus(SpAdapter *a);

#endif /* STORPORT_STANDIN_H */
