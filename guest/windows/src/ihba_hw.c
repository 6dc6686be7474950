/*
 * iscsi-hba miniport: the controller (docs/specs/iscsi-hba.rst,
 * "Programming sequences"): registers, admin and I/O queues, command
 * submission, completion processing and interrupts.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR BSD-2-Clause
 */

#include "ihba.h"

#define PAGE    4096u
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((ULONG)(a) - 1))

/* The uncached extension, in this order; queues 4096-aligned (spec). */
#define ADMIN_SQ_BYTES  (IHBA_ADMIN_DEPTH * sizeof(struct iscsi_hba_sqe))
#define ADMIN_CQ_BYTES  (IHBA_ADMIN_DEPTH * sizeof(struct iscsi_hba_cqe))
#define IO_SQ_BYTES     (IHBA_IO_DEPTH * sizeof(struct iscsi_hba_sqe))
#define IO_CQ_BYTES     (IHBA_IO_DEPTH * sizeof(struct iscsi_hba_cqe))
#define SGL_BYTES       (IHBA_MAX_SG * sizeof(struct iscsi_hba_sg))

ULONG ihba_dma_size(void)
{
    /* one spare page: Storport's extension need not be page-aligned */
    return PAGE +
           ALIGN_UP(ADMIN_SQ_BYTES, PAGE) + ALIGN_UP(ADMIN_CQ_BYTES, PAGE) +
           ALIGN_UP(IO_SQ_BYTES, PAGE) + ALIGN_UP(IO_CQ_BYTES, PAGE) +
           IHBA_ADMIN_DEPTH * IHBA_ADMIN_BUF + IHBA_DISC_BUF +
           IHBA_IO_DEPTH * (IHBA_SENSE_SLOT + ALIGN_UP(SGL_BYTES, 16));
}

/* Hand out @len bytes of the extension. */
static UCHAR *carve(IHBA_EXT *e, ULONG *off, ULONG len, ULONG align,
                    ULONG64 *pa)
{
    ULONG64 at = ALIGN_UP(e->dma_pa + *off, align);
    ULONG start = (ULONG)(at - e->dma_pa);

    *off = start + len;
    *pa = at;
    return e->dma_va + start;
}

void ihba_dma_assign(IHBA_EXT *e, UCHAR *va, ULONG64 pa)
{
    ULONG off = 0, i;
    ULONG64 p;

    e->dma_va = va;
    e->dma_pa = pa;
    e->dma_len = ihba_dma_size();
    e->admin.sq = carve(e, &off, ADMIN_SQ_BYTES, PAGE, &e->admin.sq_pa);
    e->admin.cq = (void *)carve(e, &off, ADMIN_CQ_BYTES, PAGE,
                                &e->admin.cq_pa);
    e->io.sq = carve(e, &off, IO_SQ_BYTES, PAGE, &e->io.sq_pa);
    e->io.cq = (void *)carve(e, &off, IO_CQ_BYTES, PAGE, &e->io.cq_pa);
    for (i = 0; i < IHBA_ADMIN_DEPTH; i++) {
        e->admin_slot[i].buf = carve(e, &off, IHBA_ADMIN_BUF, 16, &p);
        e->admin_slot[i].buf_pa = p;
    }
    e->disc_buf = carve(e, &off, IHBA_DISC_BUF, 16, &e->disc_pa);
    for (i = 0; i < IHBA_IO_DEPTH; i++) {
        e->io_slot[i].sense = carve(e, &off, IHBA_SENSE_SLOT, 16, &p);
        e->io_slot[i].sense_pa = p;
        e->io_slot[i].sgl = (void *)carve(e, &off, SGL_BYTES, 16, &p);
        e->io_slot[i].sgl_pa = p;
    }
}

ULONG ihba_reg_read(IHBA_EXT *e, ULONG off)
{
    return StorPortReadRegisterUlong(e, (PULONG)(e->regs + off));
}

void ihba_reg_write(IHBA_EXT *e, ULONG off, ULONG val)
{
    StorPortWriteRegisterUlong(e, (PULONG)(e->regs + off), val);
}

/* Step 2 of "Initialisation": is this the interface we speak? */
BOOLEAN ihba_identify_registers(IHBA_EXT *e)
{
    if (ihba_reg_read(e, ISCSI_HBA_REG_MAGIC) != ISCSI_HBA_MAGIC ||
        (ihba_reg_read(e, ISCSI_HBA_REG_VERSION) >> 16) !=
            ISCSI_HBA_VERSION_MAJOR) {
        return FALSE;
    }
    e->cap = ihba_reg_read(e, ISCSI_HBA_REG_CAP);
    e->max_entries = ihba_reg_read(e, ISCSI_HBA_REG_MAX_QUEUE_ENTRIES);
    e->max_sg = ihba_reg_read(e, ISCSI_HBA_REG_MAX_SG_ELEMENTS);
    e->max_transfer = ihba_reg_read(e, ISCSI_HBA_REG_MAX_TRANSFER);
    e->num_vectors = ihba_reg_read(e, ISCSI_HBA_REG_NUM_VECTORS);
    e->db_offset = ihba_reg_read(e, ISCSI_HBA_REG_DB_OFFSET);
    e->db_stride = ihba_reg_read(e, ISCSI_HBA_REG_DB_STRIDE);
    /* Our queue sizes must be allowed; the limits are powers of two. */
    return e->max_entries >= IHBA_IO_DEPTH &&
           ihba_reg_read(e, ISCSI_HBA_REG_MAX_IO_QUEUES) >= 1 &&
           e->db_stride >= 8;
}

static BOOLEAN wait_status(IHBA_EXT *e, ULONG mask, ULONG want)
{
    ULONG waited;

    for (waited = 0; waited < IHBA_READY_TIMEOUT_US; waited += 100) {
        ULONG st = ihba_reg_read(e, ISCSI_HBA_REG_STATUS);

        if ((st & mask) == want) {
            return TRUE;
        }
        if (st & ISCSI_HBA_STATUS_FATAL) {
            return FALSE;
        }
        StorPortStallExecution(100);
    }
    return FALSE;
}

/* "Disable and reset": everything outstanding is dropped by the device. */
void ihba_disable_controller(IHBA_EXT *e)
{
    ihba_reg_write(e, ISCSI_HBA_REG_CTRL, 0);
    wait_status(e, ~0u, 0);
    e->started = FALSE;
}

static void queue_reset(struct ihba_queue *q, USHORT qid, USHORT size)
{
    q->qid = qid;
    q->size = size;
    q->sq_tail = 0;
    q->sq_head = 0;
    q->cq_head = 0;
    q->phase = 1;
    ihba_zero(q->cq, size * sizeof(struct iscsi_hba_cqe));
}

static ULONG doorbell(IHBA_EXT *e, USHORT qid, ULONG which)
{
    return e->db_offset + qid * e->db_stride + which;
}

static BOOLEAN queue_push(IHBA_EXT *e, struct ihba_queue *q,
                          const struct iscsi_hba_sqe *sqe)
{
    USHORT next = (USHORT)((q->sq_tail + 1) % q->size);

    if (next == q->sq_head) {
        return FALSE;           /* full */
    }
    ihba_copy(q->sq + q->sq_tail * sizeof(*sqe), sqe, sizeof(*sqe));
    q->sq_tail = next;
    StorPortMemoryBarrier();    /* the SQE before the doorbell */
    ihba_reg_write(e, doorbell(e, q->qid, ISCSI_HBA_DB_SQ_TAIL), q->sq_tail);
    return TRUE;
}

int ihba_admin_alloc(IHBA_EXT *e, UCHAR kind)
{
    int i;

    for (i = 0; i < IHBA_ADMIN_DEPTH; i++) {
        struct ihba_admin_slot *s = &e->admin_slot[i];

        if (s->kind == IHBA_ADM_FREE) {
            s->kind = kind;
            s->done = 0;
            s->srb = NULL;
            s->out = NULL;
            s->out_cap = 0;
            return i;
        }
    }
    return -1;
}

void ihba_admin_free(IHBA_EXT *e, int slot)
{
    /* login parameters hold CHAP secrets: none stays behind */
    ihba_zero(e->admin_slot[slot].buf, IHBA_ADMIN_BUF);
    e->admin_slot[slot].kind = IHBA_ADM_FREE;
    e->admin_slot[slot].srb = NULL;
}

BOOLEAN ihba_admin_submit(IHBA_EXT *e, int slot, UCHAR opcode,
                          ULONG session_id, const struct iscsi_hba_sqe *body)
{
    struct iscsi_hba_sqe sqe;

    if (body) {
        sqe = *body;
    } else {
        ihba_zero(&sqe, sizeof(sqe));
    }
    sqe.hdr.opcode = opcode;
    e->admin_slot[slot].opcode = opcode;
    sqe.hdr.cid = (USHORT)slot;
    sqe.hdr.session_id = session_id;
    return queue_push(e, &e->admin, &sqe);
}

BOOLEAN ihba_io_submit(IHBA_EXT *e, const struct iscsi_hba_sqe *sqe)
{
    return queue_push(e, &e->io, sqe);
}

void ihba_note_status(IHBA_EXT *e, ULONG status)
{
    if (status) {
        e->last_status = status;
    }
}

void ihba_bus_changed(IHBA_EXT *e)
{
    e->bus_changes++;
    StorPortNotification(BusChangeDetected, e, 0);
}

static void admin_completed(IHBA_EXT *e, const struct iscsi_hba_cqe *cqe)
{
    struct ihba_admin_slot *s;

    if (cqe->cid >= IHBA_ADMIN_DEPTH) {
        return;                 /* not ours: the device is confused */
    }
    s = &e->admin_slot[cqe->cid];
    ihba_note_status(e, cqe->status);
    switch (s->kind) {
    case IHBA_ADM_POLLED:
        s->cqe = *cqe;
        s->done = 1;
        break;
    case IHBA_ADM_AER:
        ihba_async_event(e, cqe);
        break;
    case IHBA_ADM_FREE:
        break;
    default:
        ihba_wmi_admin_done(e, cqe->cid, cqe);
        break;
    }
}

/* "Completion handling" for one queue; returns entries consumed. */
static ULONG drain_cq(IHBA_EXT *e, struct ihba_queue *q)
{
    ULONG n = 0;

    for (;;) {
        volatile struct iscsi_hba_cqe *slot = &q->cq[q->cq_head];
        struct iscsi_hba_cqe cqe;

        if ((slot->flags & ISCSI_HBA_CQE_PHASE) != q->phase) {
            break;
        }
        StorPortMemoryBarrier();    /* flags before the rest */
        ihba_copy(&cqe, (const void *)slot, sizeof(cqe));
        if (cqe.sq_head < q->size) {
            q->sq_head = cqe.sq_head;
        }
        q->cq_head = (USHORT)((q->cq_head + 1) % q->size);
        if (q->cq_head == 0) {
            q->phase ^= 1;
        }
        n++;
        if (q == &e->admin) {
            admin_completed(e, &cqe);
        } else {
            ihba_complete_io(e, &cqe);
        }
    }
    if (n) {
        ihba_reg_write(e, doorbell(e, q->qid, ISCSI_HBA_DB_CQ_HEAD),
                       q->cq_head);
    }
    return n;
}

void ihba_process_completions(IHBA_EXT *e)
{
    if (!e->started) {
        return;
    }
    drain_cq(e, &e->admin);
    drain_cq(e, &e->io);
}

/*
 * Line interrupt: ours if a CQ is pending.  Mask what is pending until the
 * DPC has drained it, or the level-triggered line would fire again at once.
 */
BOOLEAN ihba_isr_intx(IHBA_EXT *e)
{
    ULONG pending = ihba_reg_read(e, ISCSI_HBA_REG_INTX_STATUS);

    if (!pending) {
        return FALSE;
    }
    ihba_reg_write(e, ISCSI_HBA_REG_INTX_MASK_SET, pending);
    e->intx_masked |= pending;
    return TRUE;
}

void ihba_dpc_body(IHBA_EXT *e)
{
    ihba_process_completions(e);
    if (e->intx_masked) {
        ULONG m = e->intx_masked;

        e->intx_masked = 0;
        ihba_reg_write(e, ISCSI_HBA_REG_INTX_MASK_CLEAR, m);
    }
}

/* Run one admin command to completion by polling (initialisation only). */
static BOOLEAN admin_polled(IHBA_EXT *e, UCHAR opcode,
                            struct iscsi_hba_sqe *body, int slot,
                            struct iscsi_hba_cqe *out)
{
    ULONG waited;

    if (!ihba_admin_submit(e, slot, opcode, 0, body)) {
        return FALSE;
    }
    for (waited = 0; waited < IHBA_POLL_TIMEOUT_US; waited += 50) {
        drain_cq(e, &e->admin);
        if (e->admin_slot[slot].done) {
            *out = e->admin_slot[slot].cqe;
            return TRUE;
        }
        StorPortStallExecution(50);
    }
    return FALSE;
}

static void copy_id_string(char *dst, const char *src, ULONG n)
{
    ULONG len = ihba_strnlen(src, n);

    ihba_copy(dst, src, len);
    dst[len] = 0;
}

static BOOLEAN identify(IHBA_EXT *e)
{
    int slot = ihba_admin_alloc(e, IHBA_ADM_POLLED);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    const struct iscsi_hba_identify *id;
    BOOLEAN ok;

    ihba_zero(&sqe, sizeof(sqe));
    sqe.u.buf.addr = e->admin_slot[slot].buf_pa;
    sqe.u.buf.len = IHBA_ADMIN_BUF;
    ok = admin_polled(e, ISCSI_HBA_ADM_IDENTIFY, &sqe, slot, &cqe) &&
         cqe.status == 0;
    if (ok) {
        id = (const void *)e->admin_slot[slot].buf;
        copy_id_string(e->serial, id->serial, sizeof(id->serial));
        copy_id_string(e->model, id->model, sizeof(id->model));
        copy_id_string(e->firmware, id->firmware, sizeof(id->firmware));
        copy_id_string(e->initiator_name, id->initiator_name,
                       sizeof(id->initiator_name) - 1);
    }
    ihba_admin_free(e, slot);
    return ok;
}

static BOOLEAN create_io_queue(IHBA_EXT *e)
{
    int slot = ihba_admin_alloc(e, IHBA_ADM_POLLED);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    BOOLEAN ok;

    queue_reset(&e->io, IHBA_IO_QID, IHBA_IO_DEPTH);
    ihba_zero(&sqe, sizeof(sqe));
    sqe.hdr.flags = ISCSI_HBA_QUEUE_IRQ_ENABLE;
    sqe.u.create.sq_base = e->io.sq_pa;
    sqe.u.create.cq_base = e->io.cq_pa;
    sqe.u.create.qid = IHBA_IO_QID;
    sqe.u.create.vector = e->io_vector < e->num_vectors ? e->io_vector : 0;
    sqe.u.create.sq_size = IHBA_IO_DEPTH;
    sqe.u.create.cq_size = IHBA_IO_DEPTH;
    ok = admin_polled(e, ISCSI_HBA_ADM_CREATE_IO_QUEUE, &sqe, slot, &cqe) &&
         cqe.status == 0;
    ihba_admin_free(e, slot);
    return ok;
}

/* Host-configured targets log in on enable: show their sessions. */
static void adopt_host_sessions(IHBA_EXT *e)
{
    int slot = ihba_admin_alloc(e, IHBA_ADM_POLLED);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    const ULONG *ids = (const void *)e->admin_slot[slot].buf;
    ULONG i, n;

    ihba_zero(&sqe, sizeof(sqe));
    sqe.u.buf.addr = e->admin_slot[slot].buf_pa;
    sqe.u.buf.len = IHBA_ADMIN_BUF;
    if (admin_polled(e, ISCSI_HBA_ADM_LIST_SESSIONS, &sqe, slot, &cqe) &&
        cqe.status == 0) {
        n = (ULONG)cqe.result;
        for (i = 0; i < n && i < IHBA_MAX_TARGETS; i++) {
            e->target[i].state = IHBA_TGT_UP;
            e->target[i].data = TRUE;
            e->target[i].session_id = ids[i];
        }
        n = i;
    } else {
        n = 0;
    }
    ihba_admin_free(e, slot);
    /* names and parameters arrive with the first interrupts */
    for (i = 0; i < n; i++) {
        slot = ihba_admin_alloc(e, IHBA_ADM_SESSION_INFO);
        if (slot >= 0 && !ihba_fetch_session_info(e, slot, i)) {
            ihba_admin_free(e, slot);
        }
    }
}

static BOOLEAN post_async_events(IHBA_EXT *e)
{
    int i;

    for (i = 0; i < IHBA_NUM_AER; i++) {
        int slot = ihba_admin_alloc(e, IHBA_ADM_AER);

        if (slot < 0 ||
            !ihba_admin_submit(e, slot, ISCSI_HBA_ADM_ASYNC_EVENT, 0, NULL)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* Steps 3 and 5-12 of "Initialisation" (the PCI part is Storport's). */
BOOLEAN ihba_start_controller(IHBA_EXT *e)
{
    ULONG i;

    if (ihba_reg_read(e, ISCSI_HBA_REG_CTRL) & ISCSI_HBA_CTRL_ENABLE) {
        ihba_disable_controller(e);
    }
    for (i = 0; i < IHBA_ADMIN_DEPTH; i++) {
        ihba_admin_free(e, (int)i);
    }
    for (i = 0; i < IHBA_IO_DEPTH; i++) {
        e->io_slot[i].kind = IHBA_IO_FREE;
        e->io_slot[i].srb = NULL;
    }
    ihba_zero(e->target, sizeof(e->target));
    ihba_zero(e->discovery, sizeof(e->discovery));
    e->disc_busy = FALSE;
    e->intx_masked = 0;
    queue_reset(&e->admin, ISCSI_HBA_ADMIN_QID, IHBA_ADMIN_DEPTH);
    ihba_reg_write(e, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO, (ULONG)e->admin.sq_pa);
    ihba_reg_write(e, ISCSI_HBA_REG_ADMIN_SQ_BASE_HI,
                   (ULONG)(e->admin.sq_pa >> 32));
    ihba_reg_write(e, ISCSI_HBA_REG_ADMIN_CQ_BASE_LO, (ULONG)e->admin.cq_pa);
    ihba_reg_write(e, ISCSI_HBA_REG_ADMIN_CQ_BASE_HI,
                   (ULONG)(e->admin.cq_pa >> 32));
    ihba_reg_write(e, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE,
                   (IHBA_ADMIN_DEPTH << 16) | IHBA_ADMIN_DEPTH);
    ihba_reg_write(e, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    if (!wait_status(e, ISCSI_HBA_STATUS_READY, ISCSI_HBA_STATUS_READY)) {
        ihba_note_status(e, ihba_reg_read(e, ISCSI_HBA_REG_LAST_STATUS));
        return FALSE;
    }
    e->started = TRUE;
    if (!identify(e) || !create_io_queue(e)) {
        ihba_disable_controller(e);
        return FALSE;
    }
    adopt_host_sessions(e);
    if (!post_async_events(e)) {
        ihba_disable_controller(e);
        return FALSE;
    }
    return TRUE;
}
