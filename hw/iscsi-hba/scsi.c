/*
 * iscsi-hba: SCSI commands, task management and REPORT LUNS on a session
 *
 * Every command in flight is an IscsiHbaTask that owns its libiscsi
 * scsi_task and its data buffer (databuf.c) until libiscsi has provably
 * stopped using them, even if the guest's request is gone (its queue was
 * deleted) or has completed.  Callbacks here never touch guest memory:
 * they store status, sense and LUN data in the request, and the queue
 * bottom half copies them out.
 *
 * libiscsi 1.19 keeps queued Data-Out PDUs of a WRITE after the WRITE has
 * been answered, cancelled or timed out, and sends them later from the
 * task's iovec.  So a finished WRITE is "retired": its guest memory is
 * given back at once (the iovec now points at a zero page) and the guest
 * gets its completion, but the scsi_task and iovec are freed only when
 * libiscsi's out-queue is empty or the context is destroyed.
 *
 * Zeros may only reach a task the target has finished with (it answered,
 * or confirmed an abort): it discards them.  A WRITE the target may still
 * be executing -- timed out, cancelled by LOGOUT, its queue deleted --
 * must not get zeros instead of its data, so its connection is reset
 * (the target then drops the task) before libiscsi can send more.  A
 * target that never lets the out-queue drain gets its connection reset
 * too.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <poll.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include "system/dma.h"
#include "databuf.h"
#include "fault.h"
#include "session.h"
#include "trace.h"

/* Retired WRITEs' iovec entries a session may hold (memory bound). */
#define MAX_RETIRED_IOVS (1u << 20)

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
    IscsiHbaDataBuf *buf;
    uint32_t len;

    /* Status for SCSI_STATUS_CANCELLED, set by whoever cancels. */
    uint32_t cancel_status;
    uint16_t cancel_detail;
    bool cancel_requested;          /* by the device, not by libiscsi */
    bool target_aborted;            /* the target confirmed its abort */
    uint64_t seq;                   /* submission order in the session */
    bool in_submit;                 /* inside iscsi_scsi_command_async() */
    int early_status;               /* a callback that came during it */
    int niov;

    /* TASK_TMF: the command an ABORT_TASK names */
    uint16_t ref_sqid;
    uint16_t ref_cid;
    uint32_t ritt;
    uint8_t function;
};

QEMU_BUILD_BUG_ON(ISCSI_HBA_DEVICE_CDB_LEN > SCSI_CDB_MAX_SIZE);

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
    t->seq = ++sess->task_seq;
    req->task = t;
    QTAILQ_INSERT_TAIL(&sess->tasks, t, entry);
    return t;
}

static void task_free(IscsiHbaTask *t)
{
    if (t->task) {
        scsi_free_scsi_task(t->task);
    }
    iscsi_hba_databuf_free(t->buf);
    g_free(t);
}

/* Nothing queued for the socket: no Data-Out can refer to any task. */
static bool out_queue_idle(IscsiHbaSession *sess)
{
    return !sess->ctx || (iscsi_out_queue_length(sess->ctx) == 0 &&
                          !(iscsi_which_events(sess->ctx) & POLLOUT));
}

static int64_t now_ms(void)
{
    return qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
}

/* Keep a finished WRITE's task until libiscsi cannot send from it. */
static void task_retire(IscsiHbaTask *t)
{
    IscsiHbaSession *sess = t->sess;

    if (QTAILQ_EMPTY(&sess->retired)) {
        sess->retired_since = now_ms();
    }
    QTAILQ_INSERT_TAIL(&sess->retired, t, entry);
    sess->retired_count++;
    sess->retired_iovs += t->niov;
    trace_iscsi_hba_task_retired(sess->id, sess->retired_count);
}

/*
 * Free retired tasks once libiscsi's out-queue is empty, or all of them
 * when @ctx_gone.  False if the out-queue has not drained for longer than
 * command-timeout, or the retired tasks take too much memory: the caller
 * resets the connection, which destroys the context.
 */
bool iscsi_hba_scsi_reap_retired(IscsiHbaSession *sess, bool ctx_gone)
{
    IscsiHbaTask *t;

    if (QTAILQ_EMPTY(&sess->retired)) {
        return true;
    }
    if (!ctx_gone && !out_queue_idle(sess)) {
        return sess->retired_iovs <= MAX_RETIRED_IOVS &&
               now_ms() - sess->retired_since <=
               sess->s->cmd_timeout * 1000LL;
    }
    while ((t = QTAILQ_FIRST(&sess->retired))) {
        QTAILQ_REMOVE(&sess->retired, t, entry);
        task_free(t);
    }
    sess->retired_count = 0;
    sess->retired_iovs = 0;
    return true;
}

/*
 * A WRITE leaves libiscsi while it may still send Data-Out for it: were
 * the target still executing it, that data would now be zeros.
 */
static void task_check_data_out(IscsiHbaTask *t, bool target_done)
{
    if (t->buf && t->dir == DMA_DIRECTION_TO_DEVICE && !target_done &&
        t->sess->ctx && !out_queue_idle(t->sess)) {
        trace_iscsi_hba_task_reset(t->sess->id);
        t->sess->reset_needed = true;
    }
}

/*
 * Finish a task: complete its request if there is one, and release the
 * task.  @done is the number of READ bytes the target delivered, which
 * the request takes to the guest when it is posted; otherwise the guest
 * memory is given back without a byte written.  @target_done: the target
 * is finished with the command (answered it, or confirmed its abort).
 */
static void task_finish(IscsiHbaTask *t, uint32_t done, bool target_done)
{
    IscsiHbaRequest *req = t->req;
    bool writes = t->buf && t->dir == DMA_DIRECTION_TO_DEVICE;
    /* Aborted victims complete before their TMF or LOGOUT: no delay. */
    bool undelayed = t->cancel_requested;

    task_check_data_out(t, target_done);
    QTAILQ_REMOVE(&t->sess->tasks, t, entry);
    if (req && t->buf && t->dir == DMA_DIRECTION_FROM_DEVICE && done) {
        if (iscsi_hba_databuf_released(t->buf)) {
            /* Bus mastering went off: the data went nowhere. */
            req->cqe.status = ISDSC_INVALID_PARAMETER;
            req->cqe.detail = ISCSI_HBA_DETAIL_DMA_ERROR;
        } else {
            req->data = t->buf;
            req->data_done = done;
            t->buf = NULL;
        }
    }
    iscsi_hba_databuf_release(t->buf);
    if (writes && t->sess->ctx && !out_queue_idle(t->sess)) {
        task_retire(t);
    } else {
        task_free(t);
    }
    if (req) {
        req->task = NULL;
        if (undelayed) {
            req->fault.delay_ms = 0;
        }
        iscsi_hba_req_complete(req);
    }
}

static void task_fail(IscsiHbaTask *t, uint32_t status, uint16_t detail)
{
    if (t->req) {
        t->req->cqe.status = status;
        t->req->cqe.detail = detail;
    }
    task_finish(t, 0, t->target_aborted);
}

/* ---- SCSI commands ---- */

/*
 * Sense data of a CHECK CONDITION: the data segment holds SenseLength
 * (2 bytes) and the sense bytes, possibly padded or followed by response
 * data.  Take no more than SenseLength says, than arrived, and than the
 * guest's buffer holds.
 */
static void scsi_fill_sense(IscsiHbaTask *t)
{
    IscsiHbaRequest *req = t->req;
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    struct scsi_task *task = t->task;
    uint32_t len;

    if (task->datain.size <= 2 || !c->sense_len) {
        return;
    }
    len = MIN(lduw_be_p(task->datain.data), task->datain.size - 2);
    len = MIN(len, c->sense_len);
    if (len) {
        iscsi_hba_req_set_payload(req, ISCSI_HBA_PAYLOAD_SENSE,
                                  le64_to_cpu(c->sense_addr),
                                  task->datain.data + 2, len);
    }
}

/* The target answered; returns the READ bytes it delivered. */
static uint32_t scsi_fill_result(IscsiHbaTask *t, int status)
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
    return t->dir == DMA_DIRECTION_FROM_DEVICE ? done : 0;
}

static void scsi_cb(struct iscsi_context *ctx, int status, void *data,
                    void *opaque)
{
    IscsiHbaTask *t = opaque;
    uint32_t done = 0;

    if (t->in_submit) {
        /* libiscsi failed the command inside the submission call. */
        t->early_status = status;
        return;
    }
    trace_iscsi_hba_scsi_done(t->sess->id, t->req ? t->req->cqe.cid : 0,
                              status);
    switch (status) {
    case SCSI_STATUS_CANCELLED:
        if (!t->cancel_requested && t->sess->ctx) {
            /*
             * libiscsi gave up on the connection (a protocol error) but
             * keeps the socket: for the guest that is a lost connection.
             */
            t->sess->reset_needed = true;
        }
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
        done = scsi_fill_result(t, status);
        iscsi_hba_fault_after_target(t->req);
    }
    task_finish(t, done, true);
}

void iscsi_hba_scsi_submit(IscsiHbaSession *sess, IscsiHbaRequest *req,
                           int lun)
{
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    uint8_t dir = req->sqe.hdr.flags & ISCSI_HBA_SCSI_DIR_MASK;
    IscsiHbaTask *t;
    IscsiHbaDataBuf *buf = NULL;
    struct scsi_iovec *iov = NULL;
    uint32_t len = le32_to_cpu(c->data_len), status;
    uint16_t detail;
    int xfer = SCSI_XFER_NONE, niov = 0, ret;
    DMADirection dma_dir = DMA_DIRECTION_TO_DEVICE;

    if (dir == ISCSI_HBA_SCSI_DIR_WRITE) {
        xfer = SCSI_XFER_WRITE;
    } else if (dir == ISCSI_HBA_SCSI_DIR_READ) {
        xfer = SCSI_XFER_READ;
        dma_dir = DMA_DIRECTION_FROM_DEVICE;
    }
    if (len && !iscsi_hba_databuf_prepare(sess->s, &req->qsg, dma_dir, &buf,
                                          &status, &detail)) {
        iscsi_hba_req_fail(req, status, detail);
        return;
    }
    if (iscsi_hba_req_stale(req) || !iscsi_hba_session_usable(sess)) {
        /* Copying WRITE data in reset the adapter or broke the session. */
        iscsi_hba_databuf_free(buf);
        iscsi_hba_req_fail(req, ISDSC_NO_CONNECTION_AVAILABLE,
                           ISCSI_HBA_DETAIL_CONNECTION_LOST);
        return;
    }
    t = task_new(sess, req, TASK_SCSI);
    t->lun = lun;
    t->len = len;
    t->dir = dma_dir;
    t->buf = buf;
    t->task = scsi_create_task(c->cdb_len, (unsigned char *)c->cdb, xfer,
                               t->len);
    if (!t->task) {
        task_fail(t, ISDSC_OUT_OF_RESOURCES, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    if (buf) {
        iov = iscsi_hba_databuf_iov(buf, &niov);
    }
    t->niov = niov;
    if (xfer == SCSI_XFER_WRITE) {
        scsi_task_set_iov_out(t->task, iov, niov);
    }
    trace_iscsi_hba_scsi_submit(sess->id, req->cqe.cid, lun, c->cdb[0],
                                t->len, niov);
    t->in_submit = true;
    ret = iscsi_scsi_command_async(sess->ctx, lun, t->task, scsi_cb, NULL, t);
    t->in_submit = false;
    if (ret < 0 || t->early_status) {
        /* Queued Data-Out may remain after an early failure: no zeros. */
        task_fail(t, ISDSC_SEND_FAILED, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    if (xfer == SCSI_XFER_READ) {
        scsi_task_set_iov_in(t->task, iov, niov);
    }
    iscsi_hba_session_update_events(sess);
}

/*
 * The guest memory of a command at the target is no longer ours to use
 * (bus mastering went off): give it back now; the command goes on.
 */
void iscsi_hba_task_release(IscsiHbaRequest *req)
{
    IscsiHbaTask *t = req->task;

    if (t && t->buf) {
        task_check_data_out(t, false);
        iscsi_hba_databuf_release(t->buf);
    }
}

/*
 * The guest request goes away (its queue is deleted): its guest memory is
 * given back now, and the task stays until libiscsi is done with it.
 */
void iscsi_hba_task_detach(IscsiHbaRequest *req)
{
    IscsiHbaTask *t = req->task;

    if (t) {
        iscsi_hba_task_release(req);
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
        t->cancel_requested = true;
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
    iscsi_hba_scsi_reap_retired(sess, true);
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
        /*
         * The command the TMF named (by its ITT: the guest may have
         * reused the cid since), or those a reset found at the target,
         * i.e. sent before the TMF.
         */
        switch (tmf->function) {
        case ISCSI_HBA_TMF_ABORT_TASK:
            victim = t->task->itt == tmf->ritt;
            break;
        case ISCSI_HBA_TMF_LUN_RESET:
            victim = t->lun == tmf->lun && t->seq < tmf->seq;
            break;
        default:
            victim = t->seq < tmf->seq;
            break;
        }
        if (victim) {
            t->cancel_status = ISDSC_SCSI_REQUEST_FAILED;
            t->cancel_detail = ISCSI_HBA_DETAIL_ABORTED;
            t->cancel_requested = true;
            t->target_aborted = true;
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
    task_finish(t, 0, true);
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
            task_finish(t, 0, true);
            return;
        }
        ritt = victim->task->itt;
        rcmdsn = victim->task->cmdsn;
        t->lun = victim->lun;
        t->ritt = ritt;
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
    uint64_t need;

    if (!req) {
        task_finish(t, 0, true);
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
    /* LUN LIST LENGTH comes from the target: no 32-bit wrap. */
    need = (uint64_t)(uint32_t)ldl_be_p(task->datain.data) + 8;
    req->cqe.result = need;
    if (le32_to_cpu(req->sqe.u.buf.len) < need) {
        task_fail(t, ISDSC_BUFFER_TOO_SMALL, ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    iscsi_hba_req_set_payload(req, ISCSI_HBA_PAYLOAD_BUFFER,
                              le64_to_cpu(req->sqe.u.buf.addr),
                              task->datain.data,
                              MIN(need, task->datain.size));
    task_finish(t, 0, true);
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
