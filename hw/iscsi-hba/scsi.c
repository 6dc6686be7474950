/*
 * iscsi-hba: SCSI commands, task management and REPORT LUNS on a session
 *
 * Guest data moves zero-copy: each SG element is mapped with
 * dma_memory_map() (pieces of it when a mapping comes back short) and the
 * iovec goes to libiscsi.  Only when memory cannot be mapped at all does
 * the command fall back to a bounce buffer copied with dma_buf_read/write.
 *
 * Every command in flight is an IscsiHbaTask that owns its mappings until
 * libiscsi calls back, even if the guest's request is gone (its queue was
 * deleted): libiscsi may still be reading or writing that memory.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include "system/dma.h"
#include "fault.h"
#include "session.h"
#include "trace.h"

typedef enum IscsiHbaTaskKind {
    TASK_SCSI,
    TASK_TMF,
    TASK_REPORT_LUNS,
} IscsiHbaTaskKind;

struct IscsiHbaTask {
    IscsiHbaTaskKind kind;
    IscsiHbaRequest *req;           /* NULL once the guest request is gone */
    IscsiHbaSession *sess;
    struct scsi_task *task;
    QTAILQ_ENTRY(IscsiHbaTask) entry;
    int lun;

    /* TASK_SCSI data buffer */
    DMADirection dir;
    struct scsi_iovec *iov;
    int niov;
    void *bounce;                   /* fallback when mapping fails */
    uint32_t len;

    /* Status for SCSI_STATUS_CANCELLED, set by whoever cancels. */
    uint32_t cancel_status;
    uint16_t cancel_detail;

    /* TASK_TMF: the command an ABORT_TASK names */
    uint16_t ref_sqid;
    uint16_t ref_cid;
    uint8_t function;
};

QEMU_BUILD_BUG_ON(ISCSI_HBA_DEVICE_CDB_LEN > SCSI_CDB_MAX_SIZE);

static AddressSpace *task_as(IscsiHbaTask *t)
{
    return pci_get_address_space(PCI_DEVICE(t->sess->s));
}

static IscsiHbaTask *task_new(IscsiHbaSession *sess, IscsiHbaRequest *req,
                              IscsiHbaTaskKind kind)
{
    IscsiHbaTask *t = g_new0(IscsiHbaTask, 1);

    t->kind = kind;
    t->req = req;
    t->sess = sess;
    /*
     * libiscsi itself cancels commands when the connection breaks, inside
     * iscsi_service(), before the device notices; explicit cancellations
     * (abort, logout) set their own status first.
     */
    t->cancel_status = ISDSC_CONNECTION_FAILED;
    t->cancel_detail = ISCSI_HBA_DETAIL_CONNECTION_LOST;
    req->task = t;
    QTAILQ_INSERT_TAIL(&sess->tasks, t, entry);
    return t;
}

static void data_unmap(IscsiHbaTask *t, uint32_t done)
{
    uint32_t left = done;
    int i;

    for (i = 0; i < t->niov; i++) {
        size_t len = t->iov[i].iov_len;
        size_t access = t->dir == DMA_DIRECTION_FROM_DEVICE ?
                        MIN(len, left) : 0;

        dma_memory_unmap(task_as(t), t->iov[i].iov_base, len, t->dir,
                         access);
        left -= access;
    }
    t->niov = 0;
}

/* Finish a task: release it, and complete its request if there is one. */
static void task_finish(IscsiHbaTask *t)
{
    IscsiHbaRequest *req = t->req;

    data_unmap(t, t->dir == DMA_DIRECTION_FROM_DEVICE ? t->len : 0);
    QTAILQ_REMOVE(&t->sess->tasks, t, entry);
    if (t->task) {
        scsi_free_scsi_task(t->task);
    }
    g_free(t->bounce);
    g_free(t->iov);
    g_free(t);
    if (req) {
        req->task = NULL;
        iscsi_hba_req_complete(req);
    }
}

static void task_fail(IscsiHbaTask *t, uint32_t status, uint16_t detail)
{
    if (t->req) {
        t->req->cqe.status = status;
        t->req->cqe.detail = detail;
    }
    task_finish(t);
}

/* ---- data buffers ---- */

/* Map the request's SG list; false if some memory cannot be mapped. */
static bool data_map(IscsiHbaTask *t, QEMUSGList *qsg)
{
    int cap = qsg->nsg;
    int i;

    t->iov = g_new(struct scsi_iovec, cap);
    for (i = 0; i < qsg->nsg; i++) {
        dma_addr_t addr = qsg->sg[i].base;
        dma_addr_t left = qsg->sg[i].len;

        while (left) {
            dma_addr_t len = left;
            void *p = dma_memory_map(task_as(t), addr, &len, t->dir,
                                     MEMTXATTRS_UNSPECIFIED);

            if (!p) {
                return false;
            }
            if (t->niov == cap) {
                cap *= 2;
                t->iov = g_renew(struct scsi_iovec, t->iov, cap);
            }
            t->iov[t->niov].iov_base = p;
            t->iov[t->niov].iov_len = len;
            t->niov++;
            addr += len;
            left -= len;
        }
    }
    return true;
}

static bool data_prepare(IscsiHbaTask *t, QEMUSGList *qsg)
{
    if (data_map(t, qsg)) {
        return true;
    }
    data_unmap(t, 0);
    trace_iscsi_hba_bounce(t->len);
    t->bounce = g_malloc(t->len);
    if (t->dir == DMA_DIRECTION_TO_DEVICE &&
        dma_buf_read(t->bounce, t->len, NULL, qsg,
                     MEMTXATTRS_UNSPECIFIED) != MEMTX_OK) {
        return false;
    }
    t->iov = g_renew(struct scsi_iovec, t->iov, 1);
    t->iov[0].iov_base = t->bounce;
    t->iov[0].iov_len = t->len;
    return true;
}

/* ---- SCSI commands ---- */

static void scsi_fill_sense(IscsiHbaTask *t)
{
    IscsiHbaRequest *req = t->req;
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    struct scsi_task *task = t->task;
    uint32_t len;

    if (task->datain.size <= 2 || !c->sense_len) {
        return;
    }
    len = MIN(task->datain.size - 2, c->sense_len);
    if (pci_dma_write(PCI_DEVICE(t->sess->s), le64_to_cpu(c->sense_addr),
                      task->datain.data + 2, len) != MEMTX_OK) {
        req->cqe.status = ISDSC_INVALID_PARAMETER;
        req->cqe.detail = ISCSI_HBA_DETAIL_DMA_ERROR;
        return;
    }
    req->cqe.sense_len = len;
    req->cqe.flags |= ISCSI_HBA_CQE_SENSE_VALID;
}

static void scsi_fill_result(IscsiHbaTask *t, int status)
{
    IscsiHbaRequest *req = t->req;
    struct scsi_task *task = t->task;
    uint32_t done = t->len;

    req->cqe.scsi_status = status;
    if (task->residual_status == SCSI_RESIDUAL_UNDERFLOW) {
        req->cqe.flags |= ISCSI_HBA_CQE_RESID_UNDER;
        req->cqe.info = task->residual;
        done = t->len - MIN(task->residual, t->len);
    } else if (task->residual_status == SCSI_RESIDUAL_OVERFLOW) {
        req->cqe.flags |= ISCSI_HBA_CQE_RESID_OVER;
        req->cqe.info = task->residual;
    }
    if (status == SCSI_STATUS_CHECK_CONDITION) {
        scsi_fill_sense(t);
    }
    if (t->bounce && t->dir == DMA_DIRECTION_FROM_DEVICE && done &&
        dma_buf_write(t->bounce, done, NULL, &req->qsg,
                      MEMTXATTRS_UNSPECIFIED) != MEMTX_OK) {
        req->cqe.status = ISDSC_INVALID_PARAMETER;
        req->cqe.detail = ISCSI_HBA_DETAIL_DMA_ERROR;
    }
}

static void scsi_cb(struct iscsi_context *ctx, int status, void *data,
                    void *opaque)
{
    IscsiHbaTask *t = opaque;

    trace_iscsi_hba_scsi_done(t->sess->id, t->req ? t->req->cqe.cid : 0,
                              status);
    switch (status) {
    case SCSI_STATUS_CANCELLED:
        task_fail(t, t->cancel_status, t->cancel_detail);
        return;
    case SCSI_STATUS_TIMEOUT:
        task_fail(t, ISDSC_SCSI_REQUEST_FAILED, ISCSI_HBA_DETAIL_TIMEOUT);
        return;
    case SCSI_STATUS_ERROR:
        task_fail(t, ISDSC_TRANSPORT_ERROR, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    /* The target answered: the SCSI status tells the rest. */
    if (t->req) {
        scsi_fill_result(t, status);
        iscsi_hba_fault_after_target(t->req);
    }
    task_finish(t);
}

void iscsi_hba_scsi_submit(IscsiHbaSession *sess, IscsiHbaRequest *req,
                           int lun)
{
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    uint8_t dir = req->sqe.hdr.flags & ISCSI_HBA_SCSI_DIR_MASK;
    IscsiHbaTask *t = task_new(sess, req, TASK_SCSI);
    int xfer;

    t->lun = lun;
    t->len = le32_to_cpu(c->data_len);
    if (dir == ISCSI_HBA_SCSI_DIR_WRITE) {
        xfer = SCSI_XFER_WRITE;
        t->dir = DMA_DIRECTION_TO_DEVICE;
    } else if (dir == ISCSI_HBA_SCSI_DIR_READ) {
        xfer = SCSI_XFER_READ;
        t->dir = DMA_DIRECTION_FROM_DEVICE;
    } else {
        xfer = SCSI_XFER_NONE;
    }
    t->task = scsi_create_task(c->cdb_len, (unsigned char *)c->cdb, xfer,
                               t->len);
    if (!t->task) {
        task_fail(t, ISDSC_OUT_OF_RESOURCES, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    if (t->len && !data_prepare(t, &req->qsg)) {
        task_fail(t, ISDSC_INVALID_PARAMETER, ISCSI_HBA_DETAIL_DMA_ERROR);
        return;
    }
    if (xfer == SCSI_XFER_WRITE) {
        scsi_task_set_iov_out(t->task, t->iov, t->bounce ? 1 : t->niov);
    }
    if (iscsi_scsi_command_async(sess->ctx, lun, t->task, scsi_cb, NULL,
                                 t) < 0) {
        task_fail(t, ISDSC_SEND_FAILED, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    if (xfer == SCSI_XFER_READ) {
        scsi_task_set_iov_in(t->task, t->iov, t->bounce ? 1 : t->niov);
    }
    trace_iscsi_hba_scsi_submit(sess->id, req->cqe.cid, lun, c->cdb[0],
                                t->len, t->niov);
    iscsi_hba_session_update_events(sess);
}

/*
 * The guest request goes away (its queue is deleted): the task stays
 * until libiscsi is done with the memory it maps, then frees itself.
 */
void iscsi_hba_task_detach(IscsiHbaRequest *req)
{
    IscsiHbaTask *t = req->task;

    if (t) {
        t->req = NULL;
        req->task = NULL;
    }
}

/*
 * Logout: the target will not answer what is still outstanding, and
 * libiscsi runs no callbacks for a context that logged out cleanly, so
 * cancel the SCSI commands here.  Their completions carry status/detail.
 */
void iscsi_hba_scsi_cancel_all(IscsiHbaSession *sess, uint32_t status,
                               uint16_t detail)
{
    IscsiHbaTask *t, *next;

    QTAILQ_FOREACH_SAFE(t, &sess->tasks, entry, next) {
        t->cancel_status = status;
        t->cancel_detail = detail;
        if (t->task && sess->ctx) {
            iscsi_scsi_cancel_task(sess->ctx, t->task);
        }
    }
}

/*
 * After the context is destroyed, nothing of libiscsi refers to the tasks
 * any more: finish whatever it did not call back.
 */
void iscsi_hba_scsi_reap(IscsiHbaSession *sess)
{
    IscsiHbaTask *t;

    while ((t = QTAILQ_FIRST(&sess->tasks))) {
        task_fail(t, t->cancel_status, t->cancel_detail);
    }
}

/* ---- task management ---- */

static IscsiHbaTask *find_command(IscsiHbaSession *sess, uint16_t sqid,
                                  uint16_t cid)
{
    IscsiHbaTask *t;

    QTAILQ_FOREACH(t, &sess->tasks, entry) {
        if (t->kind == TASK_SCSI && t->req && t->req->q->qid == sqid &&
            t->req->cqe.cid == cid) {
            return t;
        }
    }
    return NULL;
}

/* After the target completed a TMF, its victims get no response. */
static void tmf_cancel_victims(IscsiHbaTask *tmf)
{
    IscsiHbaSession *sess = tmf->sess;
    IscsiHbaTask *t, *next;

    QTAILQ_FOREACH_SAFE(t, &sess->tasks, entry, next) {
        bool victim;

        if (t->kind != TASK_SCSI || !sess->ctx) {
            continue;
        }
        switch (tmf->function) {
        case ISCSI_HBA_TMF_ABORT_TASK:
            victim = t->req && t->req->q->qid == tmf->ref_sqid &&
                     t->req->cqe.cid == tmf->ref_cid;
            break;
        case ISCSI_HBA_TMF_LUN_RESET:
            victim = t->lun == tmf->lun;
            break;
        default:
            victim = true;
            break;
        }
        if (victim) {
            t->cancel_status = ISDSC_SCSI_REQUEST_FAILED;
            t->cancel_detail = ISCSI_HBA_DETAIL_ABORTED;
            iscsi_scsi_cancel_task(sess->ctx, t->task);
        }
    }
}

static void tmf_cb(struct iscsi_context *ctx, int status, void *data,
                   void *opaque)
{
    IscsiHbaTask *t = opaque;
    uint32_t response = data ? *(uint32_t *)data : ISCSI_TMR_FUNC_REJECTED;

    if (status == SCSI_STATUS_CANCELLED) {
        task_fail(t, t->cancel_status, t->cancel_detail);
        return;
    }
    if (status != SCSI_STATUS_GOOD) {
        task_fail(t, ISDSC_SCSI_REQUEST_FAILED,
                  status == SCSI_STATUS_TIMEOUT ? ISCSI_HBA_DETAIL_TIMEOUT :
                  ISCSI_HBA_DETAIL_NONE);
        return;
    }
    trace_iscsi_hba_tmf_done(t->sess->id, t->function, response);
    if (response == ISCSI_TMR_FUNC_COMPLETE) {
        tmf_cancel_victims(t);
    }
    if (t->req) {
        t->req->cqe.result = response;
    }
    task_finish(t);
}

/*
 * Plain iscsi_task_mgmt_async(), not the helpers: those cancel every
 * local task before sending, which loses commands and can leave a CmdSN
 * gap the target waits on forever.
 */
void iscsi_hba_tmf_submit(IscsiHbaSession *sess, IscsiHbaRequest *req,
                          int lun)
{
    const struct iscsi_hba_task_mgmt *m = &req->sqe.u.tmf;
    IscsiHbaTask *t = task_new(sess, req, TASK_TMF);
    IscsiHbaTask *victim = NULL;
    uint32_t ritt = 0xffffffff, rcmdsn = 0;

    t->lun = lun;
    t->function = m->function;
    t->ref_sqid = le16_to_cpu(m->ref_sqid);
    t->ref_cid = le16_to_cpu(m->ref_cid);
    if (t->function == ISCSI_HBA_TMF_ABORT_TASK) {
        victim = find_command(sess, t->ref_sqid, t->ref_cid);
        if (!victim) {
            /* Already completed (or never sent): nothing to abort. */
            req->cqe.result = ISCSI_TMR_TASK_DOES_NOT_EXIST;
            task_finish(t);
            return;
        }
        ritt = victim->task->itt;
        rcmdsn = victim->task->cmdsn;
        t->lun = victim->lun;
    }
    if (iscsi_task_mgmt_async(sess->ctx, t->lun, t->function, ritt, rcmdsn,
                              tmf_cb, t) < 0) {
        task_fail(t, ISDSC_SEND_FAILED, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    trace_iscsi_hba_tmf_submit(sess->id, t->function, t->lun, ritt);
    iscsi_hba_session_update_events(sess);
}

/* ---- REPORT LUNS (admin) ---- */

static void report_luns_cb(struct iscsi_context *ctx, int status,
                           void *data, void *opaque)
{
    IscsiHbaTask *t = opaque;
    IscsiHbaRequest *req = t->req;
    struct scsi_task *task = t->task;
    uint32_t need, len;

    if (!req) {
        task_finish(t);
        return;
    }
    if (status == SCSI_STATUS_CANCELLED) {
        task_fail(t, t->cancel_status, t->cancel_detail);
        return;
    }
    if (status != SCSI_STATUS_GOOD || task->datain.size < 8) {
        task_fail(t, ISDSC_SCSI_REQUEST_FAILED,
                  status == SCSI_STATUS_TIMEOUT ? ISCSI_HBA_DETAIL_TIMEOUT :
                  ISCSI_HBA_DETAIL_NONE);
        return;
    }
    need = ldl_be_p(task->datain.data) + 8;
    len = le32_to_cpu(req->sqe.u.buf.len);
    req->cqe.result = need;
    if (len < need) {
        task_fail(t, ISDSC_BUFFER_TOO_SMALL, ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    /* Copy out like any admin buffer; the request completes here. */
    t->req = NULL;
    req->task = NULL;
    if (iscsi_hba_admin_write(req, le64_to_cpu(req->sqe.u.buf.addr),
                              task->datain.data,
                              MIN(need, task->datain.size))) {
        iscsi_hba_req_complete(req);
    }
    task_finish(t);
}

/* REPORT LUNS allocation length: at least 16 (SPC), at most 64 KiB. */
void iscsi_hba_report_luns_submit(IscsiHbaSession *sess, IscsiHbaRequest *req)
{
    uint32_t alloc = MAX(16, MIN(le32_to_cpu(req->sqe.u.buf.len), 65536));
    IscsiHbaTask *t = task_new(sess, req, TASK_REPORT_LUNS);

    t->task = iscsi_reportluns_task(sess->ctx, 0, alloc, report_luns_cb, t);
    if (!t->task) {
        task_fail(t, ISDSC_SEND_FAILED, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    iscsi_hba_session_update_events(sess);
}
