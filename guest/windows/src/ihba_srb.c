/*
 * iscsi-hba miniport: SRBs.  SRB_FUNCTION_EXECUTE_SCSI becomes SCSI_CMD
 * with Storport's scatter-gather list; ABORT_COMMAND and RESET_DEVICE /
 * RESET_LOGICAL_UNIT become TASK_MGMT; HwResetBus gives every outstanding
 * SRB back with SRB_STATUS_BUS_RESET after asking each session's target
 * for a warm reset.
 *
 * Storport addressing: PathId 0; TargetId = the session's slot in
 * e->target; Lun = a single-level LUN below 256.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR BSD-2-Clause
 */

#include "ihba.h"

#define SAM_GOOD        0x00

void ihba_complete_srb(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb, UCHAR status)
{
    srb->SrbStatus = status;
    StorPortNotification(RequestComplete, e, srb);
}

/* SAM-2 single-level LUN, peripheral addressing (spec "LUN field"). */
void ihba_lun_encode(UCHAR lun, UCHAR out[8])
{
    ihba_zero(out, 8);
    out[1] = lun;
}

/*
 * A failed command as Windows class drivers understand it.  Transient
 * session trouble is BUSY (Storport retries); the rest is INTERNAL_ERROR
 * with the ISDSC value, an NTSTATUS, unchanged in SRB InternalStatus.
 */
UCHAR ihba_srb_status_of(ULONG isdsc, USHORT detail)
{
    if (detail == ISCSI_HBA_DETAIL_ABORTED) {
        return SRB_STATUS_ABORTED;
    }
    if (detail == ISCSI_HBA_DETAIL_TIMEOUT) {
        return SRB_STATUS_TIMEOUT;
    }
    /*
     * The connection broke under the command: the session reconnects, so
     * Storport's retry is the resubmission the spec asks the driver for.
     */
    if (isdsc == ISDSC_CONNECTION_FAILED &&
        detail == ISCSI_HBA_DETAIL_CONNECTION_LOST) {
        return SRB_STATUS_BUSY;
    }
    switch (isdsc) {
    case ISDSC_NO_CONNECTION_AVAILABLE:
    case ISDSC_SESSION_BUSY:
    case ISDSC_OUT_OF_RESOURCES:
        return SRB_STATUS_BUSY;
    case ISDSC_INVALID_SESSION_ID:
        return SRB_STATUS_NO_DEVICE;
    default:
        return SRB_STATUS_INTERNAL_ERROR;
    }
}

static struct ihba_target *target_of(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb)
{
    struct ihba_target *t;

    if (srb->PathId != 0 || srb->TargetId >= IHBA_MAX_TARGETS ||
        srb->Lun >= IHBA_MAX_LUNS) {
        return NULL;
    }
    t = &e->target[srb->TargetId];
    return t->state == IHBA_TGT_FREE || t->state == IHBA_TGT_LOGGING_IN ||
           !t->data ? NULL : t;
}

static int io_slot_alloc(IHBA_EXT *e, UCHAR kind, PSCSI_REQUEST_BLOCK srb)
{
    int i;

    for (i = 0; i < IHBA_IO_DEPTH; i++) {
        if (e->io_slot[i].kind == IHBA_IO_FREE) {
            e->io_slot[i].kind = kind;
            e->io_slot[i].srb = srb;
            return i;
        }
    }
    return -1;
}

/* Storport's SG list into the command: inline, or our per-slot list. */
static BOOLEAN fill_data(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb, int slot,
                         struct iscsi_hba_sqe *sqe)
{
    PSTOR_SCATTER_GATHER_LIST sg = StorPortGetScatterGatherList(e, srb);
    struct iscsi_hba_sg *dst = sqe->u.scsi.sg;
    ULONG i, n, total = 0;

    if (!sg || sg->NumberOfElements == 0 ||
        sg->NumberOfElements > IHBA_MAX_SG ||
        sg->NumberOfElements > e->max_sg) {
        return FALSE;
    }
    n = sg->NumberOfElements;
    if (n > ISCSI_HBA_INLINE_SG) {
        dst = e->io_slot[slot].sgl;
        sqe->hdr.flags |= ISCSI_HBA_SCSI_SG_LIST;
        sqe->u.scsi.sg[0].addr = e->io_slot[slot].sgl_pa;
        sqe->u.scsi.sg[0].len = n * sizeof(struct iscsi_hba_sg);
    }
    for (i = 0; i < n; i++) {
        dst[i].addr = ihba_pa(sg->List[i].PhysicalAddress);
        dst[i].len = sg->List[i].Length;
        dst[i].flags = 0;
        total += sg->List[i].Length;
    }
    sqe->u.scsi.sg_count = (USHORT)n;
    return total == srb->DataTransferLength;
}

static UCHAR start_scsi(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb)
{
    struct ihba_target *t = target_of(e, srb);
    struct iscsi_hba_sqe sqe;
    int slot;

    if (!t) {
        return SRB_STATUS_SELECTION_TIMEOUT;
    }
    if (t->state != IHBA_TGT_UP) {
        return SRB_STATUS_BUSY;         /* reconnecting or logging out */
    }
    if (srb->CdbLength == 0 || srb->CdbLength > sizeof(srb->Cdb) ||
        srb->DataTransferLength > IHBA_MAX_TRANSFER ||
        srb->DataTransferLength > e->max_transfer) {
        return SRB_STATUS_INVALID_REQUEST;
    }
    slot = io_slot_alloc(e, IHBA_IO_SCSI, srb);
    if (slot < 0) {
        return SRB_STATUS_BUSY;
    }
    ihba_zero(&sqe, sizeof(sqe));
    sqe.hdr.opcode = ISCSI_HBA_IO_SCSI_CMD;
    sqe.hdr.cid = (USHORT)slot;
    sqe.hdr.session_id = t->session_id;
    ihba_lun_encode(srb->Lun, sqe.u.scsi.lun);
    sqe.u.scsi.cdb_len = srb->CdbLength;
    ihba_copy(sqe.u.scsi.cdb, srb->Cdb, srb->CdbLength);
    sqe.u.scsi.sense_len = ISCSI_HBA_MAX_SENSE_LEN;
    sqe.u.scsi.sense_addr = e->io_slot[slot].sense_pa;
    sqe.u.scsi.data_len = srb->DataTransferLength;
    e->io_slot[slot].data_len = srb->DataTransferLength;
    if (srb->DataTransferLength) {
        if (srb->SrbFlags & SRB_FLAGS_DATA_IN) {
            sqe.hdr.flags = ISCSI_HBA_SCSI_DIR_READ;
        } else if (srb->SrbFlags & SRB_FLAGS_DATA_OUT) {
            sqe.hdr.flags = ISCSI_HBA_SCSI_DIR_WRITE;
        } else {
            e->io_slot[slot].kind = IHBA_IO_FREE;
            return SRB_STATUS_INVALID_REQUEST;
        }
        if (!fill_data(e, srb, slot, &sqe)) {
            e->io_slot[slot].kind = IHBA_IO_FREE;
            return SRB_STATUS_INVALID_REQUEST;
        }
    }
    if (!ihba_io_submit(e, &sqe)) {
        e->io_slot[slot].kind = IHBA_IO_FREE;
        return SRB_STATUS_BUSY;
    }
    return SRB_STATUS_PENDING;
}

static BOOLEAN submit_tmf(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb, ULONG session,
                          UCHAR lun, UCHAR function, USHORT ref_cid)
{
    struct iscsi_hba_sqe sqe;
    int slot = io_slot_alloc(e, IHBA_IO_TMF, srb);

    if (slot < 0) {
        return FALSE;
    }
    ihba_zero(&sqe, sizeof(sqe));
    sqe.hdr.opcode = ISCSI_HBA_IO_TASK_MGMT;
    sqe.hdr.cid = (USHORT)slot;
    sqe.hdr.session_id = session;
    ihba_lun_encode(lun, sqe.u.tmf.lun);
    sqe.u.tmf.function = function;
    sqe.u.tmf.ref_sqid = IHBA_IO_QID;
    sqe.u.tmf.ref_cid = ref_cid;
    if (!ihba_io_submit(e, &sqe)) {
        e->io_slot[slot].kind = IHBA_IO_FREE;
        return FALSE;
    }
    return TRUE;
}

/* SRB_FUNCTION_ABORT_COMMAND: ABORT TASK for srb->NextSrb. */
static UCHAR start_abort(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb)
{
    struct ihba_target *t = target_of(e, srb);
    int i;

    if (!t) {
        return SRB_STATUS_SELECTION_TIMEOUT;
    }
    for (i = 0; i < IHBA_IO_DEPTH; i++) {
        struct ihba_io_slot *s = &e->io_slot[i];

        if (s->kind == IHBA_IO_SCSI && s->srb && s->srb == srb->NextSrb) {
            return submit_tmf(e, srb, t->session_id, srb->Lun,
                              ISCSI_HBA_TMF_ABORT_TASK, (USHORT)i) ?
                   SRB_STATUS_PENDING : SRB_STATUS_BUSY;
        }
    }
    return SRB_STATUS_ABORT_FAILED;     /* not (or no longer) ours */
}

static UCHAR start_lun_reset(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb)
{
    struct ihba_target *t = target_of(e, srb);

    if (!t) {
        return SRB_STATUS_SELECTION_TIMEOUT;
    }
    return submit_tmf(e, srb, t->session_id, srb->Lun,
                      ISCSI_HBA_TMF_LUN_RESET, 0) ?
           SRB_STATUS_PENDING : SRB_STATUS_BUSY;
}

/* HwStartIo: TRUE always; the SRB completes now or from the DPC. */
BOOLEAN ihba_start_srb(IHBA_EXT *e, PSCSI_REQUEST_BLOCK srb)
{
    UCHAR status;

    if (!e->started) {
        ihba_complete_srb(e, srb, SRB_STATUS_NO_DEVICE);
        return TRUE;
    }
    switch (srb->Function) {
    case SRB_FUNCTION_EXECUTE_SCSI:
        status = start_scsi(e, srb);
        break;
    case SRB_FUNCTION_ABORT_COMMAND:
        status = start_abort(e, srb);
        break;
    case SRB_FUNCTION_RESET_DEVICE:
    case SRB_FUNCTION_RESET_LOGICAL_UNIT:
        status = start_lun_reset(e, srb);
        break;
    case SRB_FUNCTION_RESET_BUS:
        status = ihba_reset_bus(e, srb->PathId) ? SRB_STATUS_SUCCESS :
                                                  SRB_STATUS_ERROR;
        break;
    case SRB_FUNCTION_WMI:
        return ihba_wmi_srb(e, (PSCSI_WMI_REQUEST_BLOCK)srb);
    case SRB_FUNCTION_FLUSH:
    case SRB_FUNCTION_SHUTDOWN:
    case SRB_FUNCTION_PNP:
        /* the adapter caches nothing; PnP needs no adapter action */
        status = SRB_STATUS_SUCCESS;
        break;
    default:
        status = SRB_STATUS_INVALID_REQUEST;
        break;
    }
    if (status != SRB_STATUS_PENDING) {
        ihba_complete_srb(e, srb, status);
    }
    return TRUE;
}

static void finish_scsi(IHBA_EXT *e, struct ihba_io_slot *s,
                        const struct iscsi_hba_cqe *cqe)
{
    PSCSI_REQUEST_BLOCK srb = s->srb;
    UCHAR status;

    if (cqe->status && !ISCSI_HBA_STATUS_IS_ERROR(cqe->status)) {
        /* a warning: the command itself went through */
    } else if (cqe->status) {
        status = ihba_srb_status_of(cqe->status, cqe->detail);
        srb->InternalStatus = cqe->status;
        srb->DataTransferLength = 0;
        ihba_complete_srb(e, srb, status);
        return;
    }
    srb->ScsiStatus = cqe->scsi_status;
    status = SRB_STATUS_SUCCESS;
    if (cqe->flags & (ISCSI_HBA_CQE_RESID_UNDER | ISCSI_HBA_CQE_RESID_OVER)) {
        /* Storport's convention: under- and overrun are DATA_OVERRUN */
        if ((cqe->flags & ISCSI_HBA_CQE_RESID_UNDER) &&
            cqe->info <= s->data_len) {
            srb->DataTransferLength = s->data_len - cqe->info;
        }
        status = SRB_STATUS_DATA_OVERRUN;
    }
    if (cqe->scsi_status != SAM_GOOD) {
        status = SRB_STATUS_ERROR;
        if ((cqe->flags & ISCSI_HBA_CQE_SENSE_VALID) && cqe->sense_len &&
            srb->SenseInfoBuffer && srb->SenseInfoBufferLength) {
            ULONG n = cqe->sense_len;

            if (n > srb->SenseInfoBufferLength) {
                n = srb->SenseInfoBufferLength;
            }
            if (n > IHBA_SENSE_SLOT) {
                n = IHBA_SENSE_SLOT;
            }
            ihba_copy(srb->SenseInfoBuffer, s->sense, n);
            srb->SenseInfoBufferLength = (UCHAR)n;
            status |= SRB_STATUS_AUTOSENSE_VALID;
        }
    }
    ihba_complete_srb(e, srb, status);
}

/* TASK_MGMT result 0: function complete; 1: no such task (spec). */
static void finish_tmf(IHBA_EXT *e, struct ihba_io_slot *s,
                       const struct iscsi_hba_cqe *cqe)
{
    PSCSI_REQUEST_BLOCK srb = s->srb;
    BOOLEAN ok = cqe->status == 0 && cqe->result == 0;

    if (srb->Function == SRB_FUNCTION_ABORT_COMMAND) {
        ihba_complete_srb(e, srb, ok ? SRB_STATUS_SUCCESS :
                                       SRB_STATUS_ABORT_FAILED);
    } else {
        srb->InternalStatus = cqe->status;
        ihba_complete_srb(e, srb, ok ? SRB_STATUS_SUCCESS :
                                       SRB_STATUS_ERROR);
    }
}

void ihba_complete_io(IHBA_EXT *e, const struct iscsi_hba_cqe *cqe)
{
    struct ihba_io_slot *s;

    if (cqe->cid >= IHBA_IO_DEPTH) {
        return;
    }
    s = &e->io_slot[cqe->cid];
    ihba_note_status(e, cqe->status);
    if (s->kind != IHBA_IO_FREE && s->srb) {
        if (s->kind == IHBA_IO_SCSI) {
            finish_scsi(e, s, cqe);
        } else {
            finish_tmf(e, s, cqe);
        }
    }
    /* The device is done with the cid: only now may it be reused. */
    s->kind = IHBA_IO_FREE;
    s->srb = NULL;
}

/*
 * HwResetBus: a warm reset of every target (the device then ends their
 * commands with ABORTED), and every outstanding SRB back to Storport now.
 * The cids stay taken until the device completes them.
 */
BOOLEAN ihba_reset_bus(IHBA_EXT *e, ULONG path_id)
{
    ULONG i;

    if (path_id != 0) {
        return FALSE;
    }
    for (i = 0; i < IHBA_IO_DEPTH; i++) {
        struct ihba_io_slot *s = &e->io_slot[i];

        if (s->kind != IHBA_IO_FREE && s->srb) {
            PSCSI_REQUEST_BLOCK srb = s->srb;

            s->srb = NULL;
            srb->DataTransferLength = 0;
            ihba_complete_srb(e, srb, SRB_STATUS_BUS_RESET);
        }
    }
    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        if (e->target[i].state == IHBA_TGT_UP && e->target[i].data) {
            /* no SRB: the completion only frees the cid */
            submit_tmf(e, NULL, e->target[i].session_id, 0,
                       ISCSI_HBA_TMF_TARGET_WARM_RESET, 0);
        }
    }
    StorPortNotification(NextRequest, e);
    return TRUE;
}
