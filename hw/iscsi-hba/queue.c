/*
 * iscsi-hba: submission/completion queue pairs and the request life cycle
 *
 * A request is fetched from its SQ, executed, completed, posted and freed.
 * Each queue pair has a guarded bottom half that does all guest-memory
 * work of its requests: it posts finished commands while the completion
 * queue has room -- first the payload (READ data, sense, admin output),
 * then the CQE -- and then fetches and executes submissions while the
 * queue has free requests.  A driver that stops draining its CQ therefore
 * stops the device from fetching more: requests are only returned to the
 * pool once their completion entry is posted.
 *
 * One run of the bottom half does a bounded amount of work, counted in
 * commands and the SG elements they walk, then yields to the main loop.
 *
 * Whatever a DMA does -- even reset this device through another one --
 * the bottom half stays safe: a queue deleted under it keeps its request
 * pool until the bottom half returns (dead_pools), and the run stops.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "databuf.h"
#include "iscsi-hba.h"
#include "trace.h"

/* Work units per bottom-half run: one per command, one per SG element. */
#define BH_BUDGET 4096

static uint16_t ring_next(uint16_t idx, uint16_t size)
{
    return (idx + 1) & (size - 1);
}

static bool cq_full(IscsiHbaQueue *q)
{
    return ring_next(q->cq_tail, q->cq_size) == q->cq_head;
}

static bool sq_empty(IscsiHbaQueue *q)
{
    return q->sq_head == q->sq_tail;
}

static bool queue_size_ok(IscsiHbaState *s, uint16_t entries)
{
    return entries >= ISCSI_HBA_MIN_QUEUE_ENTRIES &&
           entries <= s->max_queue_entries && is_power_of_2(entries);
}

static bool queue_base_ok(IscsiHbaState *s, uint64_t base, uint64_t bytes)
{
    return base != 0 && QEMU_IS_ALIGNED(base, ISCSI_HBA_QUEUE_ALIGN) &&
           iscsi_hba_dma_range_ok(s, base, bytes);
}

/* Validate queue parameters (host order); returns an ISCSI_HBA_DETAIL_*. */
uint16_t iscsi_hba_queue_check(IscsiHbaState *s,
                               const struct iscsi_hba_create_queue *c)
{
    if (!queue_size_ok(s, c->sq_size) || !queue_size_ok(s, c->cq_size)) {
        return ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE;
    }
    if (!queue_base_ok(s, c->sq_base,
                       (uint64_t)c->sq_size * sizeof(struct iscsi_hba_sqe)) ||
        !queue_base_ok(s, c->cq_base,
                       (uint64_t)c->cq_size * sizeof(struct iscsi_hba_cqe))) {
        return ISCSI_HBA_DETAIL_BAD_ADDRESS;
    }
    if (c->vector >= iscsi_hba_num_vectors(s)) {
        return ISCSI_HBA_DETAIL_BAD_VECTOR;
    }
    return ISCSI_HBA_DETAIL_NONE;
}

/* ---- requests ---- */

/* Drop what a request holds besides its slot; writes no guest memory. */
static void req_drop_resources(IscsiHbaRequest *req)
{
    if (req->qsg.sg) {
        qemu_sglist_destroy(&req->qsg);
    }
    iscsi_hba_databuf_free(req->data);
    req->data = NULL;
    g_free(req->payload.data);
    memset(&req->payload, 0, sizeof(req->payload));
}

static void req_release(IscsiHbaRequest *req)
{
    IscsiHbaQueue *q = req->q;

    req_drop_resources(req);
    q->inflight_count--;
    QTAILQ_INSERT_TAIL(&q->free_reqs, req, entry);
}

static void req_delay_done(void *opaque)
{
    iscsi_hba_req_complete(opaque);
}

/*
 * Queue a finished request for posting; the bottom half posts it.  A
 * delay from fault injection holds it on the virtual clock first, so a
 * qtest steps through it deterministically.
 */
/* The request's queue was deleted while it executed (see the header). */
bool iscsi_hba_req_stale(IscsiHbaRequest *req)
{
    return req->epoch != req->q->epoch;
}

void iscsi_hba_req_complete(IscsiHbaRequest *req)
{
    IscsiHbaQueue *q = req->q;

    if (iscsi_hba_req_stale(req)) {
        return;
    }
    if (req->fault.delay_ms) {
        int64_t due = qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
                      req->fault.delay_ms;

        req->fault.delay_ms = 0;
        if (!req->delay_timer) {
            req->delay_timer = timer_new_ms(QEMU_CLOCK_VIRTUAL,
                                            req_delay_done, req);
        }
        timer_mod(req->delay_timer, due);
        return;
    }

    QTAILQ_REMOVE(&q->inflight, req, entry);
    QTAILQ_INSERT_TAIL(&q->done, req, entry);
    qemu_bh_schedule(q->bh);
}

void iscsi_hba_req_fail(IscsiHbaRequest *req, uint32_t status,
                        uint16_t detail)
{
    req->cqe.status = status;
    req->cqe.detail = detail;
    iscsi_hba_req_complete(req);
}

/* A delay fault rule holds the finished request's completion. */
bool iscsi_hba_req_delayed(IscsiHbaRequest *req)
{
    return req->delay_timer && timer_pending(req->delay_timer);
}

/*
 * End a request a fault rule holds (dropped, or its completion delayed)
 * as aborted, at once: ABORT TASK, LOGOUT.  Whatever result it was
 * holding -- READ data, sense, residuals -- is dropped, and its delay
 * timer can no longer post it a second time.
 */
void iscsi_hba_req_abort_held(IscsiHbaRequest *req)
{
    uint16_t cid = req->cqe.cid;

    if (req->delay_timer) {
        timer_del(req->delay_timer);
    }
    req->fault.held = false;
    req->fault.delay_ms = 0;
    iscsi_hba_databuf_free(req->data);
    req->data = NULL;
    g_free(req->payload.data);
    memset(&req->payload, 0, sizeof(req->payload));
    memset(&req->cqe, 0, sizeof(req->cqe));
    req->cqe.cid = cid;
    iscsi_hba_req_fail(req, ISDSC_SCSI_REQUEST_FAILED,
                       ISCSI_HBA_DETAIL_ABORTED);
}

/*
 * Record bytes for guest memory at @addr; the bottom half writes them
 * when it posts the completion.  Callable from any context.
 */
void iscsi_hba_req_set_payload(IscsiHbaRequest *req, IscsiHbaPayloadKind kind,
                               uint64_t addr, const void *data, uint32_t len)
{
    g_free(req->payload.data);
    req->payload.kind = kind;
    req->payload.addr = addr;
    req->payload.len = len;
    req->payload.data = g_memdup2(data, len);
}

/* ---- completion side ---- */

static void req_payload_failed(IscsiHbaRequest *req, uint16_t detail)
{
    req->cqe.status = ISDSC_INVALID_PARAMETER;
    req->cqe.detail = detail;
    req->cqe.result = 0;
    req->cqe.flags &= ~ISCSI_HBA_CQE_SENSE_VALID;
    req->cqe.sense_len = 0;
}

static void req_write_payload(IscsiHbaRequest *req, IscsiHbaPayload *p)
{
    IscsiHbaState *s = req->q->s;

    if (p->kind == ISCSI_HBA_PAYLOAD_NONE || !p->len) {
        return;
    }
    if (!iscsi_hba_dma_range_ok(s, p->addr, p->len)) {
        req_payload_failed(req, p->kind == ISCSI_HBA_PAYLOAD_SENSE ?
                           ISCSI_HBA_DETAIL_BAD_SENSE :
                           ISCSI_HBA_DETAIL_BAD_ADDRESS);
        return;
    }
    if (pci_dma_write(PCI_DEVICE(s), p->addr, p->data, p->len) != MEMTX_OK) {
        req_payload_failed(req, ISCSI_HBA_DETAIL_DMA_ERROR);
        return;
    }
    if (p->kind == ISCSI_HBA_PAYLOAD_SENSE) {
        req->cqe.sense_len = p->len;
        req->cqe.flags |= ISCSI_HBA_CQE_SENSE_VALID;
    }
}

/*
 * Write what the completion carries besides its CQE, once: the outcome is
 * folded into the CQE, which may have to wait for CQ space.  Addresses
 * are checked again: the BAR may have moved since the command was
 * accepted.  The buffers are taken out of the request first: a DMA may
 * reset the adapter, which drops whatever the request still holds.
 */
static void req_deliver_payload(IscsiHbaRequest *req)
{
    IscsiHbaQueue *q = req->q;
    IscsiHbaDataBuf *data = req->data;
    IscsiHbaPayload p = req->payload;
    uint32_t epoch = q->epoch;
    bool ok = true;

    req->data = NULL;
    memset(&req->payload, 0, sizeof(req->payload));
    if (data) {
        ok = iscsi_hba_databuf_complete(data, req->data_done, q, epoch);
        if (!ok && q->epoch == epoch) {
            req_payload_failed(req, ISCSI_HBA_DETAIL_DMA_ERROR);
        }
        iscsi_hba_databuf_free(data);
    }
    if (ok && q->epoch == epoch) {
        req_write_payload(req, &p);
    }
    g_free(p.data);
}

static bool post_cqe(IscsiHbaQueue *q, IscsiHbaRequest *req)
{
    IscsiHbaState *s = q->s;
    const struct iscsi_hba_cqe *c = &req->cqe;
    struct iscsi_hba_cqe le = {
        .status = cpu_to_le32(c->status),
        .info = cpu_to_le32(c->info),
        .result = cpu_to_le64(c->result),
        .scsi_status = c->scsi_status,
        .sense_len = c->sense_len,
        .detail = cpu_to_le16(c->detail),
        .sq_head = cpu_to_le16(q->sq_head),
        .sq_id = cpu_to_le16(q->qid),
        .cid = cpu_to_le16(c->cid),
        .flags = cpu_to_le16((c->flags & ~ISCSI_HBA_CQE_PHASE) |
                             (q->phase ? ISCSI_HBA_CQE_PHASE : 0)),
    };
    uint64_t addr = q->cq_base + (uint64_t)q->cq_tail * sizeof(le);

    trace_iscsi_hba_cqe(q->qid, c->cid, c->status, c->detail, q->cq_tail,
                        q->phase);
    if (pci_dma_write(PCI_DEVICE(s), addr, &le, sizeof(le)) != MEMTX_OK) {
        iscsi_hba_set_fatal(s, ISCSI_HBA_FATAL_CQ_WRITE);
        return false;
    }
    if (c->status != ISCSI_HBA_STATUS_SUCCESS) {
        s->last_status = c->status;
    }
    q->cq_tail = ring_next(q->cq_tail, q->cq_size);
    if (q->cq_tail == 0) {
        q->phase = !q->phase;
    }
    q->completions++;
    return true;
}

static unsigned post_completions(IscsiHbaQueue *q)
{
    unsigned posted = 0;
    IscsiHbaRequest *req;

    while ((req = QTAILQ_FIRST(&q->done)) && !cq_full(q)) {
        uint32_t epoch = q->epoch;

        req_deliver_payload(req);
        if (q->epoch != epoch || !iscsi_hba_can_touch_guest(q->s)) {
            break;                  /* that DMA reset or stopped us */
        }
        if (!post_cqe(q, req) || q->epoch != epoch) {
            break;
        }
        QTAILQ_REMOVE(&q->done, req, entry);
        req_release(req);
        posted++;
    }
    return posted;
}

/* ---- submission side ---- */

static IscsiHbaRequest *fetch_sqe(IscsiHbaQueue *q)
{
    IscsiHbaState *s = q->s;
    IscsiHbaRequest *req = QTAILQ_FIRST(&q->free_reqs);
    uint64_t addr = q->sq_base + (uint64_t)q->sq_head * sizeof(req->sqe);

    if (pci_dma_read(PCI_DEVICE(s), addr, &req->sqe, sizeof(req->sqe)) !=
        MEMTX_OK) {
        iscsi_hba_set_fatal(s, ISCSI_HBA_FATAL_SQ_READ);
        return NULL;
    }
    QTAILQ_REMOVE(&q->free_reqs, req, entry);
    QTAILQ_INSERT_TAIL(&q->inflight, req, entry);
    q->inflight_count++;
    q->sq_head = ring_next(q->sq_head, q->sq_size);

    memset(&req->cqe, 0, sizeof(req->cqe));
    memset(&req->fault, 0, sizeof(req->fault));
    req->work = 0;
    req->data_done = 0;
    req->epoch = q->epoch;
    req->cqe.cid = le16_to_cpu(req->sqe.hdr.cid);
    trace_iscsi_hba_sqe(q->qid, req->cqe.cid, req->sqe.hdr.opcode,
                        req->sqe.hdr.flags);
    return req;
}

static bool queue_active(IscsiHbaQueue *q, uint32_t epoch)
{
    return q->epoch == epoch && iscsi_hba_can_touch_guest(q->s);
}

static void queue_bh_run(IscsiHbaQueue *q)
{
    uint32_t epoch = q->epoch;
    unsigned posted, budget = BH_BUDGET;
    IscsiHbaRequest *req;

    posted = post_completions(q);
    while (budget && queue_active(q, epoch) && !sq_empty(q) &&
           !QTAILQ_EMPTY(&q->free_reqs)) {
        req = fetch_sqe(q);
        if (!req || !queue_active(q, epoch)) {
            break;
        }
        if (q->qid == ISCSI_HBA_ADMIN_QID) {
            iscsi_hba_admin_exec(req);
        } else {
            iscsi_hba_io_exec(req);
        }
        budget -= MIN(budget, 1 + req->work);
        if (!queue_active(q, epoch)) {
            return;                 /* the command reset or stopped us */
        }
        posted += post_completions(q);
    }
    if (!queue_active(q, epoch)) {
        return;
    }
    if (posted) {
        iscsi_hba_irq_notify(q);    /* an MSI-X write may reset us too */
        if (!queue_active(q, epoch)) {
            return;
        }
    }
    /* Budget used up with work left: yield to the vCPU, continue later. */
    if (!budget && !sq_empty(q) && !QTAILQ_EMPTY(&q->free_reqs)) {
        qemu_bh_schedule(q->bh);
    }
}

typedef struct DeadPool {
    IscsiHbaRequest *reqs;
    unsigned n;
} DeadPool;

static void dead_pool_free(gpointer opaque)
{
    DeadPool *d = opaque;
    unsigned i;

    /* A command that was executing may have gathered more since. */
    for (i = 0; i < d->n; i++) {
        req_drop_resources(&d->reqs[i]);
    }
    g_free(d->reqs);
    g_free(d);
}

static void unref_state(void *opaque)
{
    object_unref(OBJECT(opaque));
}

static void iscsi_hba_queue_bh(void *opaque)
{
    IscsiHbaQueue *q = opaque;
    IscsiHbaState *s = q->s;

    if (!iscsi_hba_can_touch_guest(s)) {
        return;                     /* resumed by enable or VM start */
    }
    /* A DMA may unplug us: keep the state alive until we return. */
    object_ref(OBJECT(s));
    s->bh_depth++;
    queue_bh_run(q);
    if (!--s->bh_depth) {
        g_slist_free_full(s->dead_pools, dead_pool_free);
        s->dead_pools = NULL;
    }
    if (DEVICE(s)->realized) {
        object_unref(OBJECT(s));
    } else {
        /*
         * Unplugged from inside the run: ours may be the last reference,
         * and the caller still clears the re-entrancy guard in the state.
         */
        aio_bh_schedule_oneshot(qemu_get_aio_context(), unref_state, s);
    }
}

/* VM start, controller enable: let every queue look for work. */
void iscsi_hba_queues_kick(IscsiHbaState *s)
{
    unsigned qid;

    for (qid = 0; qid <= s->num_queues; qid++) {
        if (s->queues[qid].created) {
            qemu_bh_schedule(s->queues[qid].bh);
        }
    }
}

/* ---- doorbells ---- */

void iscsi_hba_queue_sq_doorbell(IscsiHbaQueue *q, uint32_t val)
{
    if (val >= q->sq_size) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: SQ %u tail %u beyond size %u\n",
                      q->qid, val, q->sq_size);
        iscsi_hba_set_fatal(q->s, ISCSI_HBA_FATAL_BAD_DOORBELL);
        return;
    }
    q->sq_tail = val;
    q->sq_doorbells++;
    qemu_bh_schedule(q->bh);
}

/*
 * The new CQ head may only consume entries the device has posted: it must
 * lie between the old head and the device's tail, going round the ring.
 */
void iscsi_hba_queue_cq_doorbell(IscsiHbaQueue *q, uint32_t val)
{
    uint16_t mask = q->cq_size - 1;
    uint16_t consumed = (val - q->cq_head) & mask;
    uint16_t posted = (q->cq_tail - q->cq_head) & mask;

    if (val >= q->cq_size || consumed > posted) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: CQ %u head %u outside posted entries "
                      "(head %u tail %u)\n", q->qid, val, q->cq_head,
                      q->cq_tail);
        iscsi_hba_set_fatal(q->s, ISCSI_HBA_FATAL_BAD_DOORBELL);
        return;
    }
    q->cq_head = val;
    q->cq_doorbells++;
    iscsi_hba_irq_update(q->s);
    if (!QTAILQ_EMPTY(&q->done)) {
        qemu_bh_schedule(q->bh);
    }
}

/* ---- life cycle ---- */

void iscsi_hba_queue_create(IscsiHbaState *s, uint16_t qid,
                            const struct iscsi_hba_create_queue *c,
                            bool irq_enabled)
{
    IscsiHbaQueue *q = &s->queues[qid];
    unsigned i;

    assert(!q->created);
    q->sq_base = c->sq_base;
    q->cq_base = c->cq_base;
    q->sq_size = c->sq_size;
    q->cq_size = c->cq_size;
    q->sq_head = q->sq_tail = 0;
    q->cq_head = q->cq_tail = 0;
    q->phase = true;
    q->vector = c->vector;
    q->irq_enabled = irq_enabled;
    q->inflight_count = 0;
    q->sq_doorbells = q->cq_doorbells = 0;
    q->completions = q->interrupts = 0;

    QTAILQ_INIT(&q->free_reqs);
    QTAILQ_INIT(&q->inflight);
    QTAILQ_INIT(&q->done);
    q->pool = g_new0(IscsiHbaRequest, q->sq_size);
    for (i = 0; i < q->sq_size; i++) {
        q->pool[i].q = q;
        QTAILQ_INSERT_TAIL(&q->free_reqs, &q->pool[i], entry);
    }
    q->bh = qemu_bh_new_guarded(iscsi_hba_queue_bh, q,
                                &DEVICE(s)->mem_reentrancy_guard);
    q->created = true;
    trace_iscsi_hba_queue_create(qid, c->sq_size, c->cq_size, c->vector,
                                 irq_enabled);
}

/*
 * Delete a queue pair.  Commands still executing are cancelled without a
 * completion: their completion queue is gone.
 */
void iscsi_hba_queue_delete(IscsiHbaQueue *q)
{
    IscsiHbaRequest *req, *next;
    unsigned i;

    trace_iscsi_hba_queue_delete(q->qid, q->inflight_count);
    QTAILQ_FOREACH_SAFE(req, &q->inflight, entry, next) {
        if (q->qid != ISCSI_HBA_ADMIN_QID) {
            iscsi_hba_io_cancel(req);
        }
    }
    if (q->qid != ISCSI_HBA_ADMIN_QID) {
        iscsi_hba_io_cancel_done(q->s);
    }
    for (i = 0; i < q->sq_size; i++) {
        req_drop_resources(&q->pool[i]);
        if (q->pool[i].delay_timer) {
            timer_free(q->pool[i].delay_timer);
            q->pool[i].delay_timer = NULL;
        }
    }
    q->epoch++;
    /* Safe inside the bottom half itself: it is freed after it returns. */
    qemu_bh_delete(q->bh);
    q->bh = NULL;
    if (q->s->bh_depth) {
        DeadPool *d = g_new(DeadPool, 1);

        d->reqs = q->pool;
        d->n = q->sq_size;
        q->s->dead_pools = g_slist_prepend(q->s->dead_pools, d);
    } else {
        g_free(q->pool);
    }
    q->pool = NULL;
    QTAILQ_INIT(&q->free_reqs);
    QTAILQ_INIT(&q->inflight);
    QTAILQ_INIT(&q->done);
    q->sq_head = q->sq_tail = q->cq_head = q->cq_tail = 0;
    q->created = false;
    q->inflight_count = 0;
    iscsi_hba_irq_update(q->s);
}
