/*
 * iscsi-hba: I/O command set (SCSI commands, task management)
 *
 * A SCSI command is fully validated -- flags, CDB, sense buffer, transfer
 * length and every scatter-gather element -- before its session is looked
 * up, so a bad entry gets the same answer with or without a target.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "fault.h"
#include "fault-logic.h"
#include "session.h"
#include "trace.h"

#define SG_SIZE sizeof(struct iscsi_hba_sg)

static void invalid(IscsiHbaRequest *req, uint16_t detail)
{
    iscsi_hba_req_fail(req, ISDSC_INVALID_PARAMETER, detail);
}

/*
 * The 8-byte SAM LUN of the entry as libiscsi's LUN number: single level,
 * peripheral (bus 0) or flat addressing, as in REPORT LUNS data.  libiscsi
 * puts lun >> 8 and lun & 0xff in the first two LUN bytes, so the number
 * is those two bytes, address method bits included.
 */
static bool lun_decode(const uint8_t *l, int *lun)
{
    unsigned i;

    for (i = 2; i < 8; i++) {
        if (l[i]) {
            return false;
        }
    }
    *lun = l[0] << 8 | l[1];
    switch (l[0] >> 6) {
    case 0:                         /* peripheral device addressing */
        return (l[0] & 0x3f) == 0;  /* bus 0 only */
    case 1:                         /* flat space addressing */
        return true;
    default:
        return false;
    }
}

/* The session a command names, ready to carry it; NULL if completed. */
static IscsiHbaSession *io_session(IscsiHbaRequest *req)
{
    IscsiHbaSession *sess = iscsi_hba_req_session(req);

    if (!sess) {
        return NULL;
    }
    if (!iscsi_hba_session_usable(sess)) {
        iscsi_hba_req_fail(req, ISDSC_NO_CONNECTION_AVAILABLE,
                           ISCSI_HBA_DETAIL_CONNECTION_LOST);
        return NULL;
    }
    return sess;
}

/* Add one data element to req->qsg; returns a detail code. */
static uint16_t sg_add(IscsiHbaRequest *req, const struct iscsi_hba_sg *le,
                       uint64_t *total)
{
    IscsiHbaState *s = req->q->s;
    uint64_t addr = le64_to_cpu(le->addr);
    uint32_t len = le32_to_cpu(le->len);

    if (le32_to_cpu(le->flags) != 0) {
        return ISCSI_HBA_DETAIL_BAD_SG_CHAIN;
    }
    if (len == 0) {
        return ISCSI_HBA_DETAIL_BAD_SG_LENGTH;
    }
    if (!iscsi_hba_dma_range_ok(s, addr, len)) {
        return ISCSI_HBA_DETAIL_BAD_ADDRESS;
    }
    *total += len;
    qemu_sglist_add(&req->qsg, addr, len);
    return ISCSI_HBA_DETAIL_NONE;
}

/*
 * Walk an SG list: segments of elements, each segment ending either when
 * the data elements run out or with a CHAIN element pointing to the next
 * segment.  Every segment must hold a data element, so the walk visits at
 * most sg_count segments whatever the guest wrote.
 */
static uint16_t sg_walk_list(IscsiHbaRequest *req, uint16_t count,
                             uint64_t *total)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_sg *desc = &req->sqe.u.scsi.sg[0];
    uint64_t seg_addr = le64_to_cpu(desc->addr);
    uint32_t seg_len = le32_to_cpu(desc->len);
    g_autofree struct iscsi_hba_sg *seg = NULL;
    unsigned n, i, seen = 0;
    uint16_t detail;

    if (le32_to_cpu(desc->flags) != 0) {
        return ISCSI_HBA_DETAIL_BAD_SG_CHAIN;
    }
    seg = g_new(struct iscsi_hba_sg, (size_t)count + 1);
    for (;;) {
        unsigned entries = seg_len / SG_SIZE;
        uint32_t flags = 0;

        if (seg_len == 0 || seg_len % SG_SIZE) {
            return ISCSI_HBA_DETAIL_BAD_SG_CHAIN;
        }
        /* Read no more than the data elements still due, plus a chain. */
        n = MIN(entries, count - seen + 1u);
        if (!iscsi_hba_dma_range_ok(s, seg_addr, n * SG_SIZE)) {
            return ISCSI_HBA_DETAIL_BAD_ADDRESS;
        }
        if (pci_dma_read(PCI_DEVICE(s), seg_addr, seg, n * SG_SIZE) !=
            MEMTX_OK) {
            return ISCSI_HBA_DETAIL_DMA_ERROR;
        }
        req->work += n;
        for (i = 0; i < n; i++) {
            flags = le32_to_cpu(seg[i].flags);
            if (flags & ISCSI_HBA_SG_CHAIN) {
                break;
            }
            detail = sg_add(req, &seg[i], total);
            if (detail != ISCSI_HBA_DETAIL_NONE) {
                return detail;
            }
            if (++seen == count) {
                return ISCSI_HBA_DETAIL_NONE;
            }
        }
        if (i == n) {
            /* The list ended before sg_count data elements. */
            return ISCSI_HBA_DETAIL_BAD_SG_COUNT;
        }
        if (i == 0 || i != entries - 1 || flags != ISCSI_HBA_SG_CHAIN) {
            return ISCSI_HBA_DETAIL_BAD_SG_CHAIN;
        }
        seg_addr = le64_to_cpu(seg[i].addr);
        seg_len = le32_to_cpu(seg[i].len);
    }
}

static uint16_t sg_map(IscsiHbaRequest *req, uint16_t count,
                       uint32_t data_len)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    bool list = req->sqe.hdr.flags & ISCSI_HBA_SCSI_SG_LIST;
    uint64_t total = 0;
    uint16_t detail = ISCSI_HBA_DETAIL_NONE;
    unsigned i;

    if (count == 0 || count > s->max_sg_elements ||
        (!list && count > ISCSI_HBA_INLINE_SG)) {
        return ISCSI_HBA_DETAIL_BAD_SG_COUNT;
    }
    qemu_sglist_init(&req->qsg, DEVICE(s), count,
                     pci_get_address_space(PCI_DEVICE(s)));
    if (list) {
        detail = sg_walk_list(req, count, &total);
    } else {
        for (i = 0; i < count && detail == ISCSI_HBA_DETAIL_NONE; i++) {
            detail = sg_add(req, &c->sg[i], &total);
        }
        req->work += i;
    }
    if (detail == ISCSI_HBA_DETAIL_NONE && total != data_len) {
        detail = ISCSI_HBA_DETAIL_BAD_SG_LENGTH;
    }
    if (detail != ISCSI_HBA_DETAIL_NONE) {
        qemu_sglist_destroy(&req->qsg);
    }
    return detail;
}

/* Checks that need no guest memory; returns a detail code. */
static uint16_t scsi_cmd_check(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    uint8_t flags = req->sqe.hdr.flags;
    uint8_t dir = flags & ISCSI_HBA_SCSI_DIR_MASK;
    uint32_t data_len = le32_to_cpu(c->data_len);
    uint16_t sg_count = le16_to_cpu(c->sg_count);

    if (flags & ~(ISCSI_HBA_SCSI_DIR_MASK | ISCSI_HBA_SCSI_SG_LIST)) {
        return ISCSI_HBA_DETAIL_BAD_FLAGS;
    }
    if (dir == ISCSI_HBA_SCSI_DIR_MASK) {
        return ISCSI_HBA_DETAIL_BAD_DIRECTION;
    }
    if (c->cdb_len == 0 || c->cdb_len > ISCSI_HBA_DEVICE_CDB_LEN) {
        return ISCSI_HBA_DETAIL_BAD_CDB_LEN;
    }
    if (c->sense_len > ISCSI_HBA_MAX_SENSE_LEN ||
        (c->sense_len &&
         !iscsi_hba_dma_range_ok(s, le64_to_cpu(c->sense_addr),
                                 c->sense_len))) {
        return ISCSI_HBA_DETAIL_BAD_SENSE;
    }
    if (data_len > s->max_transfer) {
        return ISCSI_HBA_DETAIL_TOO_LARGE;
    }
    if (dir == ISCSI_HBA_SCSI_DIR_NONE && (data_len || sg_count)) {
        return ISCSI_HBA_DETAIL_BAD_DIRECTION;
    }
    if (dir != ISCSI_HBA_SCSI_DIR_NONE && data_len == 0) {
        return ISCSI_HBA_DETAIL_BAD_LENGTH;
    }
    return ISCSI_HBA_DETAIL_NONE;
}

/* Describe the command to fault injection; true if a rule consumed it. */
static bool io_fault(IscsiHbaRequest *req, IscsiHbaSession *sess, int lun)
{
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    bool scsi = req->sqe.hdr.opcode == ISCSI_HBA_IO_SCSI_CMD;
    static const int dirs[] = {
        [ISCSI_HBA_SCSI_DIR_NONE] = ISCSI_HBA_FAULT_DIRECTION_NONE,
        [ISCSI_HBA_SCSI_DIR_WRITE] = ISCSI_HBA_FAULT_DIRECTION_WRITE,
        [ISCSI_HBA_SCSI_DIR_READ] = ISCSI_HBA_FAULT_DIRECTION_READ,
    };
    IscsiHbaFaultCtx ctx = {
        .op = scsi ? ISCSI_HBA_FAULT_OP_SCSI : ISCSI_HBA_FAULT_OP_TMF,
        .target = sess->login.target,
        .session = sess->id,
        .lun = lun & 0x3fff,
        .opcode = scsi ? c->cdb[0] : req->sqe.u.tmf.function,
        .dir = scsi ? dirs[req->sqe.hdr.flags & ISCSI_HBA_SCSI_DIR_MASK] : -1,
    };

    if (QTAILQ_EMPTY(&req->q->s->faults)) {
        return false;
    }
    if (scsi) {
        ctx.has_lba = iscsi_hba_cdb_lba(c->cdb, c->cdb_len, &ctx.lba,
                                        &ctx.blocks);
    }
    return iscsi_hba_fault_before(req, &ctx, sess);
}

static void io_scsi_cmd(IscsiHbaRequest *req)
{
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    uint32_t data_len = le32_to_cpu(c->data_len);
    IscsiHbaSession *sess;
    uint16_t detail;
    int lun;

    detail = scsi_cmd_check(req);
    if (detail == ISCSI_HBA_DETAIL_NONE && !lun_decode(c->lun, &lun)) {
        detail = ISCSI_HBA_DETAIL_BAD_LUN;
    }
    if (detail == ISCSI_HBA_DETAIL_NONE && data_len) {
        detail = sg_map(req, le16_to_cpu(c->sg_count), data_len);
    }
    if (detail != ISCSI_HBA_DETAIL_NONE) {
        trace_iscsi_hba_scsi_invalid(req->q->qid, req->cqe.cid, detail);
        invalid(req, detail);
        return;
    }
    if (iscsi_hba_req_stale(req)) {
        return;                     /* reading the SG list reset us */
    }
    sess = io_session(req);
    if (sess && !io_fault(req, sess, lun)) {
        iscsi_hba_scsi_submit(sess, req, lun);
    }
}

static void io_task_mgmt(IscsiHbaRequest *req)
{
    const struct iscsi_hba_task_mgmt *t = &req->sqe.u.tmf;
    IscsiHbaSession *sess;
    int lun;

    if (req->sqe.hdr.flags) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_FLAGS);
        return;
    }
    switch (t->function) {
    case ISCSI_HBA_TMF_ABORT_TASK:
    case ISCSI_HBA_TMF_LUN_RESET:
    case ISCSI_HBA_TMF_TARGET_WARM_RESET:
        break;
    default:
        invalid(req, ISCSI_HBA_DETAIL_BAD_TMF);
        return;
    }
    if (!lun_decode(t->lun, &lun)) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_LUN);
        return;
    }
    sess = io_session(req);
    /* tmf rules first: a test can make even an ABORT_TASK of a held one fail */
    if (!sess || io_fault(req, sess, lun) || iscsi_hba_fault_tmf_held(req)) {
        return;
    }
    iscsi_hba_tmf_submit(sess, req, lun);
}

void iscsi_hba_io_exec(IscsiHbaRequest *req)
{
    trace_iscsi_hba_io(req->q->qid, req->cqe.cid, req->sqe.hdr.opcode);
    switch (req->sqe.hdr.opcode) {
    case ISCSI_HBA_IO_SCSI_CMD:
        io_scsi_cmd(req);
        break;
    case ISCSI_HBA_IO_TASK_MGMT:
        io_task_mgmt(req);
        break;
    default:
        iscsi_hba_req_fail(req, ISDSC_REQUEST_NOT_SUPPORTED,
                           ISCSI_HBA_DETAIL_BAD_OPCODE);
        break;
    }
}

/*
 * Forget a command whose queue is being deleted.  It may still be at the
 * target: its task keeps the guest memory mapped until libiscsi is done.
 */
void iscsi_hba_io_cancel(IscsiHbaRequest *req)
{
    trace_iscsi_hba_io_cancel(req->q->qid, req->cqe.cid);
    iscsi_hba_task_detach(req);
}

/*
 * Bus mastering is off: every command at a target gives its guest memory
 * back now; it still completes (and its completion fails to post).
 */
void iscsi_hba_io_release_all(IscsiHbaState *s)
{
    IscsiHbaRequest *req;
    unsigned qid;

    for (qid = 1; qid <= s->num_queues; qid++) {
        IscsiHbaQueue *q = &s->queues[qid];

        if (!q->created) {
            continue;
        }
        QTAILQ_FOREACH(req, &q->inflight, entry) {
            iscsi_hba_task_release(req);
        }
    }
    iscsi_hba_io_cancel_done(s);
}

/* After a batch of iscsi_hba_io_cancel(): reset what must be reset. */
void iscsi_hba_io_cancel_done(IscsiHbaState *s)
{
    iscsi_hba_sessions_settle(s);
}
