/*
 * iscsi-hba Storport miniport: adapter state and the interfaces between
 * its parts.
 *
 *   ihba_hw.c       controller init, queues, submission, completion
 *   ihba_srb.c      SRBs -> SCSI_CMD / TASK_MGMT, completions -> SRBs,
 *                   abort and bus reset
 *   ihba_wmi.c      SRB_FUNCTION_WMI: WNODE dispatch, the iSCSI WMI
 *                   classes and MSiSCSI_Operations methods
 *   ihba_storport.c DriverEntry and the Storport entry points (thin)
 *
 * All of it is portable C written against include/storport-min.h and the
 * device ABI header; tests/windows builds it unchanged for the host.
 *
 * Written against docs/specs/iscsi-hba.rst only.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR BSD-2-Clause
 */

#ifndef IHBA_H
#define IHBA_H

#include "storport-min.h"
#include "iscsi-wmi.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"

#define IHBA_ADMIN_DEPTH        16      /* admin SQ and CQ entries */
#define IHBA_IO_DEPTH           128     /* the I/O SQ and CQ entries */
#define IHBA_IO_QID             1
#define IHBA_ADMIN_VECTOR       0       /* MSI-X message ids */
#define IHBA_IO_VECTOR          1
#define IHBA_MAX_SG             33      /* NumberOfPhysicalBreaks + 1 */
#define IHBA_MAX_TRANSFER       (128 * 1024)
#define IHBA_SENSE_SLOT         256
#define IHBA_ADMIN_BUF          4096    /* per admin slot */
#define IHBA_DISC_BUF           16384   /* SendTargets answers */
#define IHBA_MAX_TARGETS        16      /* sessions shown as targets */
#define IHBA_MAX_DISCOVERY      4       /* LoginToTarget(Discovery) */
#define IHBA_MAX_LUNS           8
#define IHBA_NUM_AER            4
#define IHBA_READY_TIMEOUT_US   1000000
#define IHBA_POLL_TIMEOUT_US    2000000

/* What an admin slot is waiting for. */
enum ihba_admin_kind {
    IHBA_ADM_FREE,
    IHBA_ADM_POLLED,            /* initialisation: the caller polls */
    IHBA_ADM_AER,
    IHBA_ADM_LOGIN,
    IHBA_ADM_DISCOVERY_LOGIN,
    IHBA_ADM_SEND_TARGETS,
    IHBA_ADM_LOGOUT,
    IHBA_ADM_STATUS_ONLY,       /* SetCHAPSharedSecret, SetInitiatorNodeName */
    IHBA_ADM_REPORT_LUNS,
    IHBA_ADM_SESSION_INFO,      /* refresh a target's cached info */
};

struct ihba_admin_slot {
    UCHAR kind;
    UCHAR opcode;               /* of the command in flight */
    UCHAR done;                 /* IHBA_ADM_POLLED */
    PSCSI_WMI_REQUEST_BLOCK srb;
    UCHAR *out;                 /* method output inside srb's buffer */
    ULONG out_cap;
    ULONG target;               /* IHBA_ADM_LOGIN/LOGOUT: target slot */
    UCHAR *buf;                 /* IHBA_ADMIN_BUF bytes of DMA memory */
    ULONG64 buf_pa;
    struct iscsi_hba_cqe cqe;   /* IHBA_ADM_POLLED */
};

enum ihba_io_kind {
    IHBA_IO_FREE,
    IHBA_IO_SCSI,
    IHBA_IO_TMF,
};

struct ihba_io_slot {
    UCHAR kind;
    /* NULL while the device still owns a command Storport gave up on */
    PSCSI_REQUEST_BLOCK srb;
    ULONG data_len;
    struct iscsi_hba_sg *sgl;   /* IHBA_MAX_SG elements of DMA memory */
    ULONG64 sgl_pa;
    UCHAR *sense;               /* IHBA_SENSE_SLOT bytes of DMA memory */
    ULONG64 sense_pa;
};

enum ihba_target_state {
    IHBA_TGT_FREE,
    IHBA_TGT_LOGGING_IN,
    IHBA_TGT_UP,
    IHBA_TGT_LOST,              /* reconnecting: I/O gets BUSY */
    IHBA_TGT_LOGGING_OUT,
};

/* A session of the device, shown to Storport as TargetId = its index. */
struct ihba_target {
    UCHAR state;
    BOOLEAN data;               /* LUNs are reported to Storport */
    UCHAR auth;                 /* ISCSI_HBA_AUTH_* of the login */
    ULONG session_id;
    char name[ISCSI_HBA_STRING_FIELD];
    /* SESSION_INFO as of the login or the last recovery */
    struct iscsi_hba_session_info info;
};

/* LoginToTarget(Discovery) remembers the portal for SendTargets. */
struct ihba_discovery {
    BOOLEAN used;
    struct iscsi_hba_login_params params;
};

struct ihba_queue {
    UCHAR *sq;
    ULONG64 sq_pa;
    struct iscsi_hba_cqe *cq;
    ULONG64 cq_pa;
    USHORT qid;
    USHORT size;
    USHORT sq_tail;
    USHORT sq_head;             /* as last reported by the device */
    USHORT cq_head;
    UCHAR phase;
};

typedef struct ihba_ext {
    UCHAR *regs;                /* BAR0 as mapped by Storport */
    ULONG cap;
    ULONG max_entries;
    ULONG max_sg;
    ULONG max_transfer;
    ULONG db_offset;
    ULONG db_stride;
    ULONG num_vectors;
    USHORT io_vector;           /* MSI-X message of the I/O CQ */
    ULONG intx_masked;          /* INTX_STATUS bits the ISR masked */
    ULONG last_status;          /* last non-zero ISDSC seen */
    ULONG bus_changes;          /* BusChangeDetected notifications */
    BOOLEAN started;

    UCHAR *dma_va;              /* the uncached extension */
    ULONG64 dma_pa;
    ULONG dma_len;

    struct ihba_queue admin;
    struct ihba_queue io;
    struct ihba_admin_slot admin_slot[IHBA_ADMIN_DEPTH];
    struct ihba_io_slot io_slot[IHBA_IO_DEPTH];
    struct ihba_target target[IHBA_MAX_TARGETS];
    struct ihba_discovery discovery[IHBA_MAX_DISCOVERY];
    UCHAR *disc_buf;
    ULONG64 disc_pa;
    BOOLEAN disc_busy;

    char serial[33];
    char model[65];
    char firmware[17];
    char initiator_name[ISCSI_HBA_STRING_FIELD];

    STOR_DPC dpc;
} IHBA_EXT;

/* ihba_hw.c */
ULONG ihba_dma_size(void);
void ihba_dma_assign(IHBA_EXT *e, UCHAR *va, ULONG64 pa);
ULONG ihba_reg_read(IHBA_EXT *e, ULONG off);
void ihba_reg_write(IHBA_EXT *e, ULONG off, ULONG val);
BOOLEAN ihba_identify_registers(IHBA_EXT *e);
BOOLEAN ihba_start_controller(IHBA_EXT *e);
void ihba_disable_controller(IHBA_EXT *e);
int ihba_admin_alloc(IHBA_EXT *e, UCHAR kind);
void ihba_admin_free(IHBA_EXT *e, int slot);
BOOLEAN ihba_admin_submit(IHBA_EXT *e, int slot, UCHAR opcode,
                          ULONG session_id, const struct iscsi_hba_sqe *body);
BOOLEAN ihba_io_submit(IHBA_EXT *e, const struct iscsi_hba_sqe *sqe);
void ihba_process_completions(IHBA_EXT *e);
BOOLEAN ihba_isr_intx(IHBA_EXT *e);
void ihba_dpc_body(IHBA_EXT *e);
void ihba_note_status(IHBA_EXT *e, ULONG status);
void ihba_bus_changed(IHBA_EXT *e);

/* ihba_srb.c */
BOOLEAN ihba_start_srb(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb);
void ihba_complete_io(IHBA_EXT *e, const struct iscsi_hba_cqe *cqe);
BOOLEAN ihba_reset_bus(IHBA_EXT *e, ULONG path_id);
UCHAR ihba_srb_status_of(ULONG isdsc, USHORT detail);
void ihba_lun_encode(UCHAR lun, UCHAR out[8]);
void ihba_complete_srb(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb, UCHAR status);

/* ihba_wmi.c */
BOOLEAN ihba_wmi_srb(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb);
void ihba_wmi_admin_done(IHBA_EXT *e, int slot,
                         const struct iscsi_hba_cqe *cqe);
void ihba_async_event(IHBA_EXT *e, const struct iscsi_hba_cqe *cqe);
BOOLEAN ihba_fetch_session_info(IHBA_EXT *e, int slot, ULONG target);

/* ihba_storport.c */
extern HW_DPC_ROUTINE ihba_dpc;

/* Freestanding helpers (the kernel has no libc). */
static inline void ihba_zero(void *p, ULONG n)
{
    volatile UCHAR *b = p;

    while (n--) {
        *b++ = 0;
    }
}

static inline void ihba_copy(void *d, const void *s, ULONG n)
{
    UCHAR *dd = d;
    const UCHAR *ss = s;

    while (n--) {
        *dd++ = *ss++;
    }
}

static inline ULONG ihba_strnlen(const char *s, ULONG max)
{
    ULONG n = 0;

    while (n < max && s[n]) {
        n++;
    }
    return n;
}

static inline ULONG64 ihba_pa(STOR_PHYSICAL_ADDRESS pa)
{
    return (ULONG64)pa.QuadPart;
}

#endif /* IHBA_H */
