// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Linux driver for the iscsi-hba PCI iSCSI host adapter (1af4:10f5).
 *
 * The adapter runs the iSCSI sessions itself; the driver hands it SCSI
 * commands on NVMe-style queue pairs and manages sessions with admin
 * commands (docs/specs/iscsi-hba.rst).
 *
 *  - One blk-mq hardware queue per I/O queue pair; the SQE cid is the
 *    blk-mq tag, so a completion finds its command directly.
 *  - Every session is a SCSI target: channel 0, id = session slot
 *    ((session id & 0xffff) - 1), LUN = the SAM LUN of the target.
 *  - ASYNC_EVENT completions are handled on an ordered workqueue, which
 *    blocks, unblocks, offlines and rescans targets; scans run on a
 *    workqueue of their own so that events are never held up by I/O.
 *  - A controller reset (EH host reset, or a fatal device) drops every
 *    session: host-configured sessions come back by themselves, sessions
 *    the guest logged in to are logged in again with the parameters of
 *    their LOGIN, and targets whose session did not come back are removed.
 *  - /dev/iscsi_hba<N> (iscsi_hba_mgmt.c) does discovery, login, logout.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 */

#include <linux/blk-mq-pci.h>
#include <linux/version.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/ratelimit.h>
#include <linux/slab.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_eh.h>
#include <scsi/scsi_tcq.h>

#include "iscsi_hba.h"

static unsigned int io_queue_depth = 256;
module_param(io_queue_depth, uint, 0444);
MODULE_PARM_DESC(io_queue_depth, "Entries per I/O queue (power of two, default 256)");

static bool doorbell_batch = true;
module_param(doorbell_batch, bool, 0444);
MODULE_PARM_DESC(doorbell_batch,
		 "One SQ doorbell per blk-mq batch, CQ head writes only when the adapter needs room (default true; false: one per command and per completion pass, for comparison)");

static bool use_msix = true;
module_param(use_msix, bool, 0444);
MODULE_PARM_DESC(use_msix, "Use MSI-X if the adapter has it (default true; false: INTx)");

unsigned int ihba_admin_timeout = 30;
module_param_named(admin_timeout, ihba_admin_timeout, uint, 0644);
MODULE_PARM_DESC(admin_timeout, "Seconds to wait for an admin command (default 30)");

unsigned int ihba_login_timeout = 120;
module_param_named(login_timeout, ihba_login_timeout, uint, 0644);
MODULE_PARM_DESC(login_timeout,
		 "Seconds to wait for LOGIN/DISCOVERY; keep above 3 * the adapter's login-timeout (default 120)");

static unsigned int io_timeout;
module_param(io_timeout, uint, 0644);
MODULE_PARM_DESC(io_timeout,
		 "SCSI command timeout in seconds (default 0: the adapter's command timeout from IDENTIFY + 15)");

static unsigned int tmf_timeout;
module_param(tmf_timeout, uint, 0644);
MODULE_PARM_DESC(tmf_timeout,
		 "Seconds to wait for a task management function (default 0: as io_timeout's default)");

/*
 * The adapter ends a command (and a TMF) itself after its command
 * timeout (IDENTIFY command_timeout_ms); the driver waits longer, so that
 * the adapter's answer, not a driver timeout, normally ends it.
 */
#define IHBA_TIMEOUT_MARGIN	15

static unsigned int ihba_timeout_secs(struct ihba *h, unsigned int param)
{
	return param ?: h->command_timeout_s + IHBA_TIMEOUT_MARGIN;
}

unsigned int ihba_login_wait = 10;
module_param_named(login_wait, ihba_login_wait, uint, 0644);
MODULE_PARM_DESC(login_wait,
		 "Seconds to wait for host-configured sessions after enable (default 10)");

static DEFINE_IDA(ihba_ida);

/* 6.8 renamed the INTx flag; the old name went away later. */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX	PCI_IRQ_LEGACY
#endif

static inline u32 ihba_rd(struct ihba *h, u32 off)
{
	return readl(h->regs + off);
}

static inline void ihba_wr(struct ihba *h, u32 off, u32 val)
{
	writel(val, h->regs + off);
}

static bool ihba_fatal(struct ihba *h)
{
	u32 st = ihba_rd(h, ISCSI_HBA_REG_STATUS);

	if (st == ~0u || !(st & ISCSI_HBA_STATUS_FATAL))
		return st == ~0u;
	dev_err(&h->pdev->dev, "controller fatal: reason %u, last status %s (%#x)\n",
		ihba_rd(h, ISCSI_HBA_REG_FATAL_REASON),
		ihba_isdsc(ihba_rd(h, ISCSI_HBA_REG_LAST_STATUS)),
		ihba_rd(h, ISCSI_HBA_REG_LAST_STATUS));
	return true;
}

/*
 * A fatal adapter is reset from a workqueue of its own: the event work,
 * which usually notices it, must not stand in front of the reset; admin
 * commands fail at once from now until the reset (ihba_admin_exec()).
 */
static void ihba_check_fatal(struct ihba *h)
{
	if (ihba_fatal(h) && !READ_ONCE(h->removing)) {
		WRITE_ONCE(h->fatal_seen, true);
		queue_work(h->reset_wq, &h->reset_work);
	}
}

/*
 * Admin queue
 */

static void ihba_slot_unmap(struct ihba *h, struct ihba_admin_slot *s)
{
	struct device *dev = &h->pdev->dev;

	if (s->in)
		dma_unmap_single(dev, s->in_dma, s->in_len, DMA_TO_DEVICE);
	if (s->out)
		dma_unmap_single(dev, s->out_dma, s->out_len, DMA_FROM_DEVICE);
}

/* Caller holds admin_lock.  The SQ cannot be full: slots < SQ size. */
static void ihba_admin_submit(struct ihba *h, struct iscsi_hba_sqe *sqe)
{
	struct ihba_queue *q = &h->adminq;

	memcpy(&q->sq[q->sq_tail], sqe, sizeof(*sqe));
	q->sq_tail = (q->sq_tail + 1) & (q->sq_size - 1);
	writel(q->sq_tail, q->sq_db);
}

static int ihba_slot_find(struct ihba *h)
{
	int i;

	for (i = 0; i < h->nr_slots; i++)
		if (!h->slots[i].busy)
			return i;
	return -1;
}

static bool ihba_slot_available(struct ihba *h)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&h->admin_lock, flags);
	ret = !h->admin_live || ihba_slot_find(h) >= 0;
	spin_unlock_irqrestore(&h->admin_lock, flags);
	return ret;
}

/* Caller holds admin_lock. */
static void ihba_post_aers_locked(struct ihba *h)
{
	struct iscsi_hba_sqe sqe;
	int slot;

	while (h->admin_live && h->aer_outstanding < h->nr_aer &&
	       h->aer_errors < IHBA_NR_AER) {
		slot = ihba_slot_find(h);
		if (slot < 0)
			return;
		memset(&h->slots[slot], 0, sizeof(h->slots[slot]));
		h->slots[slot].busy = true;
		h->slots[slot].aer = true;
		h->slots[slot].opcode = ISCSI_HBA_ADM_ASYNC_EVENT;
		memset(&sqe, 0, sizeof(sqe));
		sqe.hdr.opcode = ISCSI_HBA_ADM_ASYNC_EVENT;
		sqe.hdr.cid = ihba_cpu16(slot);
		ihba_admin_submit(h, &sqe);
		h->aer_outstanding++;
	}
}

void ihba_post_aers(struct ihba *h)
{
	unsigned long flags;

	spin_lock_irqsave(&h->admin_lock, flags);
	ihba_post_aers_locked(h);
	spin_unlock_irqrestore(&h->admin_lock, flags);
}

/*
 * Run an admin command and wait for it.  Returns 0 when the adapter
 * answered (req->ctx holds status, detail and result), -EIO when the
 * controller is down or was reset meanwhile, -ETIMEDOUT or -EINTR when
 * the wait ended first (the buffers then stay with the command).
 */
int ihba_admin_exec(struct ihba *h, struct ihba_admin_req *req)
{
	struct device *dev = &h->pdev->dev;
	struct iscsi_hba_buffer_cmd *b = &req->sqe.u.buf;
	struct ihba_admin_slot *s;
	dma_addr_t in_dma = 0, out_dma = 0;
	unsigned long flags;
	long left;
	int slot, ret;

	init_completion(&req->ctx.done);
	req->ctx.failed = false;
	if (!req->timeout)
		req->timeout = ihba_admin_timeout * HZ;

	if (req->in) {
		in_dma = dma_map_single(dev, req->in, req->in_len, DMA_TO_DEVICE);
		if (dma_mapping_error(dev, in_dma))
			return -ENOMEM;
		b->addr = ihba_cpu64(in_dma);
		b->len = ihba_cpu32(req->in_len);
	}
	if (req->out) {
		out_dma = dma_map_single(dev, req->out, req->out_len, DMA_FROM_DEVICE);
		if (dma_mapping_error(dev, out_dma)) {
			ret = -ENOMEM;
			goto unmap;
		}
		if (req->in) {
			b->addr2 = ihba_cpu64(out_dma);
			b->len2 = ihba_cpu32(req->out_len);
		} else {
			b->addr = ihba_cpu64(out_dma);
			b->len = ihba_cpu32(req->out_len);
		}
	}

	spin_lock_irqsave(&h->admin_lock, flags);
	for (;;) {
		if (!h->admin_live || READ_ONCE(h->fatal_seen)) {
			spin_unlock_irqrestore(&h->admin_lock, flags);
			ret = -EIO;
			goto unmap;
		}
		slot = ihba_slot_find(h);
		if (slot >= 0)
			break;
		spin_unlock_irqrestore(&h->admin_lock, flags);
		if (!wait_event_timeout(h->admin_wait, ihba_slot_available(h),
					req->timeout)) {
			ret = -ETIMEDOUT;
			goto unmap;
		}
		spin_lock_irqsave(&h->admin_lock, flags);
	}
	s = &h->slots[slot];
	memset(s, 0, sizeof(*s));
	s->busy = true;
	s->opcode = req->sqe.hdr.opcode;
	s->ctx = &req->ctx;
	s->in = req->in;
	s->in_dma = in_dma;
	s->in_len = req->in_len;
	s->out = req->out;
	s->out_dma = out_dma;
	s->out_len = req->out_len;
	req->sqe.hdr.cid = ihba_cpu16(slot);
	ihba_admin_submit(h, &req->sqe);
	spin_unlock_irqrestore(&h->admin_lock, flags);

	if (req->killable)
		left = wait_for_completion_killable_timeout(&req->ctx.done,
							    req->timeout);
	else
		left = wait_for_completion_timeout(&req->ctx.done, req->timeout);
	if (left > 0)
		return req->ctx.failed ? -EIO : 0;

	spin_lock_irqsave(&h->admin_lock, flags);
	if (s->busy && s->ctx == &req->ctx) {
		/* Still at the adapter: it owns the buffers from now on. */
		s->ctx = NULL;
		s->abandoned = true;
		req->in = NULL;
		req->out = NULL;
		spin_unlock_irqrestore(&h->admin_lock, flags);
		if (left == 0) {
			dev_err(dev, "admin command %#x timed out\n", s->opcode);
			ihba_check_fatal(h);
			return -ETIMEDOUT;
		}
		return -EINTR;
	}
	spin_unlock_irqrestore(&h->admin_lock, flags);
	/* Completed while we gave up: complete() ran under admin_lock. */
	return req->ctx.failed ? -EIO : 0;

unmap:
	if (req->in)
		dma_unmap_single(dev, in_dma, req->in_len, DMA_TO_DEVICE);
	if (req->out && out_dma)
		dma_unmap_single(dev, out_dma, req->out_len, DMA_FROM_DEVICE);
	return ret;
}

void ihba_admin_req_free(struct ihba_admin_req *req)
{
	kfree_sensitive(req->in);
	kfree(req->out);
	req->in = NULL;
	req->out = NULL;
}

static void ihba_event_push(struct ihba *h, const struct iscsi_hba_cqe *cqe)
{
	unsigned int next;

	spin_lock(&h->ev_lock);
	next = (h->ev_tail + 1) % IHBA_EVENT_RING;
	if (next == h->ev_head) {
		h->ev_overflow = true;
	} else {
		h->ev_ring[h->ev_tail].status = ihba_le32(cqe->status);
		h->ev_ring[h->ev_tail].info = ihba_le32(cqe->info);
		h->ev_ring[h->ev_tail].result = ihba_le64(cqe->result);
		h->ev_tail = next;
	}
	spin_unlock(&h->ev_lock);
	queue_work(h->wq, &h->event_work);
}

/* Caller holds admin_lock. */
static void ihba_admin_complete(struct ihba *h, const struct iscsi_hba_cqe *cqe)
{
	u16 cid = ihba_le16(cqe->cid);
	u32 status = ihba_le32(cqe->status);
	struct ihba_admin_slot *s;
	struct ihba_admin_ctx *ctx;

	if (cid >= h->nr_slots || !h->slots[cid].busy) {
		dev_warn_ratelimited(&h->pdev->dev, "completion for unknown admin cid %u\n", cid);
		return;
	}
	s = &h->slots[cid];
	if (s->aer) {
		h->aer_outstanding--;
		/* Stop re-posting a request the adapter keeps refusing. */
		if (ISCSI_HBA_STATUS_IS_ERROR(status))
			h->aer_errors++;
		ihba_event_push(h, cqe);
	} else {
		ihba_slot_unmap(h, s);
		ctx = s->ctx;
		if (ctx) {
			ctx->status = status;
			ctx->detail = ihba_le16(cqe->detail);
			ctx->result = ihba_le64(cqe->result);
			complete(&ctx->done);
		} else {
			dev_info(&h->pdev->dev,
				 "late completion of admin command %#x: %s (%#x)\n",
				 s->opcode, ihba_isdsc(status), status);
			/* An abandoned LOGIN may have created a session. */
			if (s->opcode == ISCSI_HBA_ADM_LOGIN && ihba_status_ok(status)) {
				set_bit(IHBA_EV_RESYNC, &h->ev_flags);
				queue_work(h->wq, &h->event_work);
			}
			kfree_sensitive(s->in);
			kfree(s->out);
		}
	}
	memset(s, 0, sizeof(*s));
	wake_up(&h->admin_wait);
}

static void ihba_process_admin_cq(struct ihba *h)
{
	struct ihba_queue *q = &h->adminq;
	struct iscsi_hba_cqe *cqe;
	unsigned long flags;
	bool any = false;

	spin_lock_irqsave(&h->admin_lock, flags);
	while (q->live) {
		cqe = &q->cq[q->cq_head];
		if ((ihba_le16(READ_ONCE(cqe->flags)) & ISCSI_HBA_CQE_PHASE) != q->cq_phase)
			break;
		dma_rmb();
		q->sq_head = ihba_le16(cqe->sq_head) & (q->sq_size - 1);
		ihba_admin_complete(h, cqe);
		if (++q->cq_head == q->cq_size) {
			q->cq_head = 0;
			q->cq_phase ^= 1;
		}
		any = true;
	}
	if (any)
		writel(q->cq_head, q->cq_db);
	spin_unlock_irqrestore(&h->admin_lock, flags);
}

/*
 * SCSI commands
 */

static void ihba_cmd_release(struct ihba *h, struct scsi_cmnd *sc)
{
	struct ihba_cmd *cmd = scsi_cmd_priv(sc);
	int i;

	for (i = 0; i < cmd->nsegs; i++)
		dma_pool_free(h->sgl_pool, cmd->sgl[i], cmd->sgl_dma[i]);
	cmd->nsegs = 0;
	if (cmd->mapped)
		scsi_dma_unmap(sc);
	cmd->mapped = false;
	WRITE_ONCE(cmd->inflight, false);
}

static void ihba_sg_set(struct iscsi_hba_sg *e, u64 addr, u32 len, u32 flags)
{
	e->addr = ihba_cpu64(addr);
	e->len = ihba_cpu32(len);
	e->flags = ihba_cpu32(flags);
}

/*
 * Map the data buffer: up to INLINE_SG elements in the SQE, else an SG
 * list of page-sized segments, each but the last ending in a CHAIN
 * element.  Returns 0, -ENOMEM (retry later) or -EINVAL (fail).
 */
static int ihba_map_data(struct ihba *h, struct scsi_cmnd *sc,
			 struct iscsi_hba_sqe *sqe)
{
	struct ihba_cmd *cmd = scsi_cmd_priv(sc);
	struct iscsi_hba_scsi_cmd *c = &sqe->u.scsi;
	const unsigned int per = IHBA_SGL_ENTRIES;
	u32 left = scsi_bufflen(sc), total = 0, len;
	unsigned int n = 0, nsegs, i, seg, pos, rest;
	struct scatterlist *sg;
	u8 dir;
	int nents;

	if (sc->sc_data_direction == DMA_NONE || !left)
		return 0;
	if (sc->sc_data_direction == DMA_TO_DEVICE)
		dir = ISCSI_HBA_SCSI_DIR_WRITE;
	else if (sc->sc_data_direction == DMA_FROM_DEVICE)
		dir = ISCSI_HBA_SCSI_DIR_READ;
	else
		return -EINVAL;

	nents = scsi_dma_map(sc);
	if (nents < 0)
		return -ENOMEM;
	cmd->mapped = true;

	/* Data elements, trimmed to the transfer length. */
	scsi_for_each_sg(sc, sg, nents, i) {
		len = min(sg_dma_len(sg), left);
		if (!len)
			break;
		left -= len;
		n++;
	}
	if (!n || n > h->max_sg)
		return n ? -EINVAL : 0;

	if (n <= ISCSI_HBA_INLINE_SG) {
		left = scsi_bufflen(sc);
		scsi_for_each_sg(sc, sg, n, i) {
			len = min(sg_dma_len(sg), left);
			ihba_sg_set(&c->sg[i], sg_dma_address(sg), len, 0);
			left -= len;
			total += len;
		}
	} else {
		for (nsegs = 1, rest = n; rest > per; nsegs++)
			rest -= per - 1;
		if (nsegs > IHBA_SGL_MAX_SEGS)
			return -EINVAL;
		for (i = 0; i < nsegs; i++) {
			cmd->sgl[i] = dma_pool_alloc(h->sgl_pool, GFP_ATOMIC,
						     &cmd->sgl_dma[i]);
			if (!cmd->sgl[i])
				return -ENOMEM;
			cmd->nsegs = i + 1;
		}
		ihba_sg_set(&c->sg[0], cmd->sgl_dma[0],
			    min(n, per) * sizeof(struct iscsi_hba_sg), 0);
		left = scsi_bufflen(sc);
		seg = 0;
		pos = 0;
		rest = n;
		scsi_for_each_sg(sc, sg, n, i) {
			if (pos == per - 1 && rest > 1) {
				/* Last entry of a full segment: chain on. */
				rest = min(rest, per);
				ihba_sg_set(&cmd->sgl[seg][pos], cmd->sgl_dma[seg + 1],
					    rest * sizeof(struct iscsi_hba_sg),
					    ISCSI_HBA_SG_CHAIN);
				rest = n - i;
				seg++;
				pos = 0;
			}
			len = min(sg_dma_len(sg), left);
			ihba_sg_set(&cmd->sgl[seg][pos++], sg_dma_address(sg), len, 0);
			left -= len;
			total += len;
			rest--;
		}
		sqe->hdr.flags |= ISCSI_HBA_SCSI_SG_LIST;
	}
	sqe->hdr.flags |= dir;
	c->sg_count = ihba_cpu16(n);
	c->data_len = ihba_cpu32(total);
	return 0;
}

/*
 * SQ doorbell, sq_lock held.  Entries queued since the last write become
 * visible to the device; nothing is written if there are none.
 */
static void ihba_ring_sq(struct ihba_queue *q)
{
	if (q->sq_tail == q->sq_db_tail)
		return;
	writel(q->sq_tail, q->sq_db);
	q->sq_db_tail = q->sq_tail;
	q->sq_doorbells++;
}

/*
 * blk-mq marks the last request of a batch (SCMD_LAST) and calls
 * .commit_rqs when a batch ends early, so one doorbell write serves the
 * whole batch.  The error handler submits single commands without the
 * flag: those ring at once.
 */
static bool ihba_last_of_batch(struct scsi_cmnd *sc)
{
	return !doorbell_batch || (sc->flags & SCMD_LAST) ||
		sc->submitter != SUBMITTED_BY_BLOCK_LAYER;
}

static void ihba_commit_rqs(struct Scsi_Host *shost, u16 hwq)
{
	struct ihba *h = shost_priv(shost);
	struct ihba_queue *q = &h->ioq[hwq];
	unsigned long flags;

	spin_lock_irqsave(&q->sq_lock, flags);
	if (q->live)
		ihba_ring_sq(q);
	spin_unlock_irqrestore(&q->sq_lock, flags);
}

static int ihba_queue_one(struct Scsi_Host *shost, struct scsi_cmnd *sc,
			  struct ihba_queue *q)
{
	struct ihba *h = shost_priv(shost);
	struct ihba_cmd *cmd = scsi_cmd_priv(sc);
	u16 cid = blk_mq_unique_tag_to_tag(blk_mq_unique_tag(scsi_cmd_to_rq(sc)));
	struct ihba_session *s = &h->sess[sc->device->id];
	struct iscsi_hba_sqe sqe;
	unsigned long flags;
	u32 sid;
	int ret;

	sid = READ_ONCE(s->sid);
	/* Blocked, given up (replacement timeout: failfast) or logged in. */
	ret = ihba_cls_chkready(s);
	if (ret) {
		sc->result = ret;
		scsi_done(sc);
		return 0;
	}
	if (!READ_ONCE(s->used)) {
		sc->result = DID_NO_CONNECT << 16;
		scsi_done(sc);
		return 0;
	}
	if (READ_ONCE(s->failed)) {
		/* Replacement timeout passed: fail fast, as iscsi_session_chkready(). */
		sc->result = DID_TRANSPORT_FAILFAST << 16;
		scsi_done(sc);
		return 0;
	}
	if (!sid || !READ_ONCE(s->live)) {
		/* Held for a reconnection, unless the adapter goes away. */
		if (READ_ONCE(h->removing)) {
			sc->result = DID_NO_CONNECT << 16;
			scsi_done(sc);
			return 0;
		}
		return SCSI_MLQUEUE_TARGET_BUSY;
	}

	memset(&sqe, 0, sizeof(sqe));
	sqe.hdr.opcode = ISCSI_HBA_IO_SCSI_CMD;
	sqe.hdr.cid = ihba_cpu16(cid);
	sqe.hdr.session_id = ihba_cpu32(sid);
	int_to_scsilun(sc->device->lun, (struct scsi_lun *)sqe.u.scsi.lun);
	sqe.u.scsi.cdb_len = sc->cmd_len;
	memcpy(sqe.u.scsi.cdb, sc->cmnd, sc->cmd_len);
	sqe.u.scsi.sense_len = SCSI_SENSE_BUFFERSIZE;
	sqe.u.scsi.sense_addr = ihba_cpu64(q->sense_dma +
					    cid * SCSI_SENSE_BUFFERSIZE);

	cmd->nsegs = 0;
	cmd->mapped = false;
	cmd->aborting = false;
	cmd->resetting = false;
	ret = ihba_map_data(h, sc, &sqe);
	if (ret) {
		ihba_cmd_release(h, sc);
		if (ret == -ENOMEM)
			return SCSI_MLQUEUE_HOST_BUSY;
		sc->result = DID_ERROR << 16;
		scsi_done(sc);
		return 0;
	}

	spin_lock_irqsave(&q->sq_lock, flags);
	if (!q->live ||
	    ((q->sq_tail + 1) & (q->sq_size - 1)) == READ_ONCE(q->sq_head)) {
		spin_unlock_irqrestore(&q->sq_lock, flags);
		ihba_cmd_release(h, sc);
		return SCSI_MLQUEUE_HOST_BUSY;
	}
	WRITE_ONCE(cmd->inflight, true);
	memcpy(&q->sq[q->sq_tail], &sqe, sizeof(sqe));
	q->sq_tail = (q->sq_tail + 1) & (q->sq_size - 1);
	spin_unlock_irqrestore(&q->sq_lock, flags);
	return 0;
}

static int ihba_queuecommand(struct Scsi_Host *shost, struct scsi_cmnd *sc)
{
	struct ihba *h = shost_priv(shost);
	u32 utag = blk_mq_unique_tag(scsi_cmd_to_rq(sc));
	struct ihba_queue *q = &h->ioq[blk_mq_unique_tag_to_hwq(utag)];
	int ret = ihba_queue_one(shost, sc, q);

	/*
	 * Also when this command was finished at once: the batch's earlier
	 * commands may wait for the doorbell.  A busy return gets
	 * .commit_rqs from blk-mq instead.
	 */
	if (!ret && ihba_last_of_batch(sc))
		ihba_commit_rqs(shost, q->qid - 1);
	return ret;
}

/* I/O saw a session problem: hold its commands and have the state re-read. */
static void ihba_session_suspect(struct ihba *h, unsigned int id, bool hold)
{
	unsigned long flags;

	if (id >= h->max_sessions)
		return;
	spin_lock_irqsave(&h->sess_lock, flags);
	if (h->sess[id].sid) {
		if (hold)
			h->sess[id].live = false;
		set_bit(id, h->check_map);
	}
	spin_unlock_irqrestore(&h->sess_lock, flags);
	queue_work(h->wq, &h->event_work);
}

/* Failed commands are logged, but a flapping path must not flood the log. */
static DEFINE_RATELIMIT_STATE(ihba_io_rs, 5 * HZ, 20);

static void ihba_scsi_result(struct ihba *h, struct ihba_queue *q,
			     struct scsi_cmnd *sc, const struct iscsi_hba_cqe *cqe)
{
	struct ihba_cmd *cmd = scsi_cmd_priv(sc);
	u32 status = ihba_le32(cqe->status);
	u16 detail = ihba_le16(cqe->detail);
	u16 flags = ihba_le16(cqe->flags);
	u16 cid = ihba_le16(cqe->cid);
	unsigned int id = sc->device->id;
	bool quiet = false;
	u32 resid;
	u8 host;

	if (ihba_status_ok(status)) {
		sc->result = (DID_OK << 16) | cqe->scsi_status;
		if ((flags & ISCSI_HBA_CQE_SENSE_VALID) && cqe->sense_len)
			memcpy(sc->sense_buffer,
			       q->sense + cid * SCSI_SENSE_BUFFERSIZE,
			       min_t(u32, cqe->sense_len, SCSI_SENSE_BUFFERSIZE));
		if (flags & ISCSI_HBA_CQE_RESID_UNDER) {
			resid = ihba_le32(cqe->info);
			if (resid <= scsi_bufflen(sc))
				scsi_set_resid(sc, resid);
			else
				set_host_byte(sc, DID_ERROR);
		}
		return;
	}

	switch (status) {
	case ISDSC_NO_CONNECTION_AVAILABLE:
		/* Never reached the target: retry once the session is back. */
		host = DID_IMM_RETRY;
		quiet = true;
		ihba_session_suspect(h, id, true);
		break;
	case ISDSC_CONNECTION_FAILED:
		/* Outcome unknown; the midlayer retries once it is unblocked. */
		host = DID_TRANSPORT_DISRUPTED;
		ihba_session_suspect(h, id, true);
		break;
	case ISDSC_INVALID_SESSION_ID:
		host = DID_NO_CONNECT;
		ihba_session_suspect(h, id, true);
		break;
	case ISDSC_SCSI_REQUEST_FAILED:
		if (detail == ISCSI_HBA_DETAIL_TIMEOUT) {
			host = DID_TIME_OUT;
		} else if (READ_ONCE(cmd->aborting)) {
			host = DID_ABORT;
			quiet = true;
		} else if (READ_ONCE(cmd->resetting)) {
			/* A victim of our reset: retried unless EH owns it. */
			host = DID_RESET;
			quiet = true;
		} else {
			/* Ended by the connection going away, not by us. */
			host = DID_TRANSPORT_DISRUPTED;
			ihba_session_suspect(h, id, false);
		}
		break;
	case ISDSC_INVALID_PARAMETER:
		/* The adapter refuses the request itself (e.g. no such LUN): no retry. */
		host = DID_BAD_TARGET;
		break;
	default:
		host = DID_ERROR;
		break;
	}
	sc->result = host << 16;
	if (!quiet && __ratelimit(&ihba_io_rs))
		scmd_printk(KERN_WARNING, sc, "command %#x failed: %s (%#x), detail %u\n",
			    sc->cmnd[0], ihba_isdsc(status), status, detail);
}

static void ihba_tmf_complete(struct ihba *h, const struct iscsi_hba_cqe *cqe)
{
	if (!READ_ONCE(h->tmf_busy)) {
		dev_warn_ratelimited(&h->pdev->dev, "unexpected TASK_MGMT completion\n");
		return;
	}
	h->tmf_status = ihba_le32(cqe->status);
	h->tmf_detail = ihba_le16(cqe->detail);
	h->tmf_result = ihba_le64(cqe->result);
	WRITE_ONCE(h->tmf_busy, false);
	complete(&h->tmf_done);
}

static void ihba_io_complete(struct ihba_queue *q, const struct iscsi_hba_cqe *cqe)
{
	struct ihba *h = q->h;
	u16 cid = ihba_le16(cqe->cid);
	struct scsi_cmnd *sc;
	struct ihba_cmd *cmd;

	if (cid == IHBA_TMF_CID) {
		ihba_tmf_complete(h, cqe);
		return;
	}
	sc = cid < q->depth ? scsi_host_find_tag(h->shost,
			((q->qid - 1) << BLK_MQ_UNIQUE_TAG_BITS) | cid) : NULL;
	cmd = sc ? scsi_cmd_priv(sc) : NULL;
	if (!cmd || !READ_ONCE(cmd->inflight)) {
		dev_warn_ratelimited(&h->pdev->dev, "completion for idle cid %u on queue %u\n",
				     cid, q->qid);
		return;
	}
	/*
	 * Result first, then release: the error handler takes a command
	 * that is no longer in flight as finished (see ihba_sync_cq()).
	 */
	ihba_scsi_result(h, q, sc, cqe);
	ihba_cmd_release(h, sc);
	scsi_done(sc);
}

static void ihba_process_io_cq(struct ihba_queue *q)
{
	struct iscsi_hba_cqe *cqe, c;
	unsigned long flags;

	spin_lock_irqsave(&q->cq_lock, flags);
	while (q->live) {
		cqe = &q->cq[q->cq_head];
		if ((ihba_le16(READ_ONCE(cqe->flags)) & ISCSI_HBA_CQE_PHASE) != q->cq_phase)
			break;
		dma_rmb();
		c = *cqe;
		WRITE_ONCE(q->sq_head, ihba_le16(c.sq_head) & (q->sq_size - 1));
		if (++q->cq_head == q->cq_size) {
			q->cq_head = 0;
			q->cq_phase ^= 1;
		}
		q->completions++;
		ihba_io_complete(q, &c);
	}
	if (((q->cq_head - q->cq_db_head) & (q->cq_size - 1)) >= q->cq_db_batch) {
		writel(q->cq_head, q->cq_db);
		q->cq_db_head = q->cq_head;
		q->cq_doorbells++;
	}
	spin_unlock_irqrestore(&q->cq_lock, flags);
}

/*
 * How many consumed CQ entries one head write may report.  INTx is level
 * triggered: the device drops the line on the head write, so every batch
 * writes.  MSI-X messages need no write, and the device only needs the
 * head to find free entries: it may lag as long as the entries it does
 * not know are free plus the commands that can be outstanding (tags and
 * the TMF) still leave the CQ short of full, so no completion ever waits
 * for a head write.
 */
static u16 ihba_cq_db_batch(struct ihba *h, struct ihba_queue *q)
{
	int room = q->cq_size - (q->depth + 1) - 1;

	if (!doorbell_batch || !h->msix || room < 2)
		return 1;
	return min_t(int, room, q->cq_size / 2);
}

static void ihba_process_all_io(struct ihba *h)
{
	unsigned int i;

	for (i = 0; i < h->nr_io_queues; i++)
		ihba_process_io_cq(&h->ioq[i]);
}

/*
 * Wait for a completion handler that may still be finishing a command it
 * has already marked idle (it holds cq_lock until after scsi_done()).
 */
static void ihba_sync_cq(struct ihba_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->cq_lock, flags);
	spin_unlock_irqrestore(&q->cq_lock, flags);
}

static irqreturn_t ihba_admin_irq(int irq, void *data)
{
	struct ihba *h = data;

	ihba_process_admin_cq(h);
	if (h->single_vector)
		ihba_process_all_io(h);
	return IRQ_HANDLED;
}

static irqreturn_t ihba_io_irq(int irq, void *data)
{
	ihba_process_io_cq(data);
	return IRQ_HANDLED;
}

static irqreturn_t ihba_intx_irq(int irq, void *data)
{
	struct ihba *h = data;
	u32 pending = ihba_rd(h, ISCSI_HBA_REG_INTX_STATUS);
	unsigned int i;

	if (!pending || pending == ~0u)
		return IRQ_NONE;
	if (pending & 1)
		ihba_process_admin_cq(h);
	for (i = 0; i < h->nr_io_queues; i++)
		if (pending & BIT(i + 1))
			ihba_process_io_cq(&h->ioq[i]);
	return IRQ_HANDLED;
}

/*
 * Error handling
 */

/*
 * Wait for the TMF's completion, also looking at its CQ now and then: if
 * the queue's managed interrupt is shut down (its CPUs went offline),
 * the completion raises no interrupt.
 */
static bool ihba_tmf_wait(struct ihba *h, struct ihba_queue *q,
			  unsigned int secs)
{
	unsigned long deadline = jiffies + secs * HZ;

	for (;;) {
		if (wait_for_completion_timeout(&h->tmf_done, HZ / 10))
			return true;
		ihba_process_io_cq(q);
		if (try_wait_for_completion(&h->tmf_done))
			return true;
		if (time_after(jiffies, deadline))
			return false;
	}
}

static int ihba_tmf(struct ihba *h, struct scsi_cmnd *sc, u8 function,
		    u16 ref_sqid, u16 ref_cid, u64 *response)
{
	struct ihba_queue *q = &h->ioq[ref_sqid ? ref_sqid - 1 : 0];
	u32 sid = READ_ONCE(h->sess[sc->device->id].sid);
	struct iscsi_hba_sqe sqe;
	unsigned long flags;
	u32 status;
	int ret = 0;

	if (!sid)
		return -ENODEV;
	mutex_lock(&h->tmf_mutex);
	if (READ_ONCE(h->tmf_busy)) {
		ret = -EBUSY;
		goto out;
	}
	memset(&sqe, 0, sizeof(sqe));
	sqe.hdr.opcode = ISCSI_HBA_IO_TASK_MGMT;
	sqe.hdr.cid = ihba_cpu16(IHBA_TMF_CID);
	sqe.hdr.session_id = ihba_cpu32(sid);
	int_to_scsilun(sc->device->lun, (struct scsi_lun *)sqe.u.tmf.lun);
	sqe.u.tmf.function = function;
	sqe.u.tmf.ref_sqid = ihba_cpu16(ref_sqid);
	sqe.u.tmf.ref_cid = ihba_cpu16(ref_cid);

	reinit_completion(&h->tmf_done);
	spin_lock_irqsave(&q->sq_lock, flags);
	if (!q->live ||
	    ((q->sq_tail + 1) & (q->sq_size - 1)) == READ_ONCE(q->sq_head)) {
		spin_unlock_irqrestore(&q->sq_lock, flags);
		ret = -EIO;
		goto out;
	}
	WRITE_ONCE(h->tmf_busy, true);
	memcpy(&q->sq[q->sq_tail], &sqe, sizeof(sqe));
	q->sq_tail = (q->sq_tail + 1) & (q->sq_size - 1);
	ihba_ring_sq(q);
	spin_unlock_irqrestore(&q->sq_lock, flags);

	if (!ihba_tmf_wait(h, q, ihba_timeout_secs(h, tmf_timeout))) {
		scmd_printk(KERN_ERR, sc, "task management function %u timed out\n",
			    function);
		ihba_check_fatal(h);
		ret = -ETIMEDOUT;
		goto out;
	}
	status = h->tmf_status;
	if (ISCSI_HBA_STATUS_IS_ERROR(status)) {
		scmd_printk(KERN_WARNING, sc,
			    "task management function %u failed: %s (%#x), detail %u\n",
			    function, ihba_isdsc(status), status, h->tmf_detail);
		/* The session is reconnecting: a session matter, not the adapter's. */
		ret = status == ISDSC_NO_CONNECTION_AVAILABLE ? -ENOTCONN : -EIO;
		goto out;
	}
	*response = h->tmf_result;
out:
	mutex_unlock(&h->tmf_mutex);
	return ret;
}

struct ihba_busy_match {
	struct scsi_device *sdev;	/* or NULL: any LUN of target id */
	unsigned int id;
	unsigned int count;
};

static bool ihba_busy_iter(struct scsi_cmnd *sc, void *data)
{
	struct ihba_busy_match *m = data;
	struct ihba_cmd *cmd = scsi_cmd_priv(sc);

	if (READ_ONCE(cmd->inflight) && sc->device->id == m->id &&
	    (!m->sdev || sc->device == m->sdev))
		m->count++;
	return true;
}

static bool ihba_mark_reset_iter(struct scsi_cmnd *sc, void *data)
{
	struct ihba_busy_match *m = data;
	struct ihba_cmd *cmd = scsi_cmd_priv(sc);

	if (READ_ONCE(cmd->inflight) && sc->device->id == m->id &&
	    (!m->sdev || sc->device == m->sdev))
		WRITE_ONCE(cmd->resetting, true);
	return true;
}

/*
 * Wait (bounded) until the adapter has returned every matching command:
 * a tag it still holds must not be reused.
 */
static bool ihba_wait_idle(struct ihba *h, struct scsi_device *sdev,
			   unsigned int id, unsigned int secs)
{
	unsigned long deadline = jiffies + secs * HZ;
	struct ihba_busy_match m = { .sdev = sdev, .id = id };
	unsigned int i;

	for (;;) {
		ihba_process_all_io(h);
		m.count = 0;
		scsi_host_busy_iter(h->shost, ihba_busy_iter, &m);
		if (!m.count) {
			for (i = 0; i < h->nr_io_queues; i++)
				ihba_sync_cq(&h->ioq[i]);
			return true;
		}
		if (time_after(jiffies, deadline))
			return false;
		msleep(20);
	}
}

static int ihba_eh_abort(struct scsi_cmnd *sc)
{
	struct ihba *h = shost_priv(sc->device->host);
	struct ihba_cmd *cmd = scsi_cmd_priv(sc);
	u32 utag = blk_mq_unique_tag(scsi_cmd_to_rq(sc));
	u16 hwq = blk_mq_unique_tag_to_hwq(utag);
	u16 tag = blk_mq_unique_tag_to_tag(utag);
	unsigned long deadline = jiffies + 5 * HZ;
	u64 resp;

	if (ihba_fatal(h))
		return FAILED;
	ihba_process_io_cq(&h->ioq[hwq]);
	if (!READ_ONCE(cmd->inflight)) {
		ihba_sync_cq(&h->ioq[hwq]);
		return SUCCESS;
	}
	scmd_printk(KERN_INFO, sc, "aborting command %#x (queue %u, cid %u)\n",
		    sc->cmnd[0], hwq + 1, tag);
	WRITE_ONCE(cmd->aborting, true);
	if (ihba_tmf(h, sc, ISCSI_HBA_TMF_ABORT_TASK, hwq + 1, tag, &resp))
		return FAILED;
	if (resp != 0 && resp != 1) {
		scmd_printk(KERN_WARNING, sc, "ABORT TASK response %llu\n", resp);
		return FAILED;
	}
	/* The victim completes before the TMF on the same queue. */
	while (READ_ONCE(cmd->inflight)) {
		if (time_after(jiffies, deadline)) {
			scmd_printk(KERN_WARNING, sc,
				    "ABORT TASK done, but the command did not complete\n");
			return FAILED;
		}
		ihba_process_io_cq(&h->ioq[hwq]);
		msleep(20);
	}
	ihba_sync_cq(&h->ioq[hwq]);
	scmd_printk(KERN_INFO, sc, "command %#x aborted (ABORT TASK response %llu)\n",
		    sc->cmnd[0], resp);
	return SUCCESS;
}

static int ihba_eh_reset(struct scsi_cmnd *sc, u8 function, const char *what)
{
	struct ihba *h = shost_priv(sc->device->host);
	bool lun = function == ISCSI_HBA_TMF_LUN_RESET;
	struct ihba_busy_match m = {
		.sdev = lun ? sc->device : NULL,
		.id = sc->device->id,
	};
	u64 resp;

	if (ihba_fatal(h))
		return FAILED;
	scmd_printk(KERN_INFO, sc, "%s\n", what);
	/* Its victims complete as ABORTED: tell them from lost ones. */
	scsi_host_busy_iter(h->shost, ihba_mark_reset_iter, &m);
	if (ihba_tmf(h, sc, function, 0, 0, &resp))
		return FAILED;
	if (resp != 0) {
		scmd_printk(KERN_WARNING, sc, "%s: response %llu\n", what, resp);
		return FAILED;
	}
	return ihba_wait_idle(h, m.sdev, m.id, 5) ? SUCCESS : FAILED;
}

static int ihba_eh_device_reset(struct scsi_cmnd *sc)
{
	return ihba_eh_reset(sc, ISCSI_HBA_TMF_LUN_RESET, "LUN reset");
}

/*
 * Target reset: TARGET WARM RESET, and where the target refuses it (tgtd
 * always does) or the session is reconnecting, a session reset (LOGOUT
 * and LOGIN of this session only).  A controller reset, which drops every
 * session on the adapter, is left for when this fails too.
 */
static int ihba_eh_target_reset(struct scsi_cmnd *sc)
{
	struct ihba *h = shost_priv(sc->device->host);
	unsigned int id = sc->device->id;
	struct ihba_busy_match m = { .id = id };

	if (ihba_eh_reset(sc, ISCSI_HBA_TMF_TARGET_WARM_RESET,
			  "target warm reset") == SUCCESS)
		return SUCCESS;
	if (ihba_fatal(h))
		return FAILED;
	/* The LOGOUT ends its commands as ABORTED: tell them from lost ones. */
	scsi_host_busy_iter(h->shost, ihba_mark_reset_iter, &m);
	if (ihba_session_reset(h, id))
		return FAILED;
	/*
	 * The LOGOUT ended the session's commands at the target; one whose
	 * answer the adapter still holds (fault delay) comes back by itself.
	 */
	if (!ihba_wait_idle(h, NULL, id, 10))
		return FAILED;
	scmd_printk(KERN_INFO, sc, "session reset done\n");
	return SUCCESS;
}

/*
 * The midlayer gives a command more time while its session is down: the
 * adapter holds it, and the session's recovery (not the error handler)
 * decides its fate.  Other sessions on the host go on (qla4xxx does the
 * same).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define IHBA_EH_RESET_TIMER	SCSI_EH_RESET_TIMER
#define IHBA_EH_NOT_HANDLED	SCSI_EH_NOT_HANDLED
static enum scsi_timeout_action ihba_eh_timed_out(struct scsi_cmnd *sc)
#else
#define IHBA_EH_RESET_TIMER	BLK_EH_RESET_TIMER
#define IHBA_EH_NOT_HANDLED	BLK_EH_DONE
static enum blk_eh_timer_return ihba_eh_timed_out(struct scsi_cmnd *sc)
#endif
{
	struct ihba *h = shost_priv(sc->device->host);
	struct ihba_session *s = &h->sess[sc->device->id];

	if (READ_ONCE(s->used) && !READ_ONCE(s->live) && !READ_ONCE(s->failed) &&
	    !READ_ONCE(h->removing))
		return IHBA_EH_RESET_TIMER;
	return IHBA_EH_NOT_HANDLED;
}

/*
 * Controller bring-up and reset
 */

/*
 * CTRL.ENABLE = 0, then STATUS must read 0 before the queues' memory may
 * be reused.  A device that reads all ones is gone (surprise removal): it
 * does no DMA any more, so -ENODEV at once instead of waiting.
 */
static int ihba_disable(struct ihba *h)
{
	unsigned long deadline = jiffies + 10 * HZ;
	u32 st;

	ihba_wr(h, ISCSI_HBA_REG_CTRL, 0);
	while ((st = ihba_rd(h, ISCSI_HBA_REG_STATUS))) {
		if (st == ~0u) {
			dev_err(&h->pdev->dev, "controller is gone\n");
			return -ENODEV;
		}
		if (time_after(jiffies, deadline)) {
			dev_err(&h->pdev->dev, "controller does not disable\n");
			return -ETIMEDOUT;
		}
		usleep_range(500, 1000);
	}
	return 0;
}

static int ihba_enable(struct ihba *h)
{
	struct ihba_queue *q = &h->adminq;
	unsigned long deadline, flags;
	u32 st;

	memset(q->cq, 0, q->cq_size * sizeof(*q->cq));
	q->sq_tail = 0;
	q->sq_head = 0;
	q->cq_head = 0;
	q->cq_phase = 1;
	ihba_wr(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO, lower_32_bits(q->sq_dma));
	ihba_wr(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_HI, upper_32_bits(q->sq_dma));
	ihba_wr(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_LO, lower_32_bits(q->cq_dma));
	ihba_wr(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_HI, upper_32_bits(q->cq_dma));
	ihba_wr(h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE, (q->cq_size << 16) | q->sq_size);
	ihba_wr(h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);

	deadline = jiffies + 5 * HZ;
	for (;;) {
		st = ihba_rd(h, ISCSI_HBA_REG_STATUS);
		if (st & ISCSI_HBA_STATUS_FATAL) {
			dev_err(&h->pdev->dev, "enable failed: fatal reason %u\n",
				ihba_rd(h, ISCSI_HBA_REG_FATAL_REASON));
			return -EIO;
		}
		if (st & ISCSI_HBA_STATUS_READY)
			break;
		if (time_after(jiffies, deadline)) {
			dev_err(&h->pdev->dev, "controller not ready\n");
			return -ETIMEDOUT;
		}
		usleep_range(500, 1000);
	}
	spin_lock_irqsave(&h->admin_lock, flags);
	q->live = true;
	h->admin_live = true;
	spin_unlock_irqrestore(&h->admin_lock, flags);
	return 0;
}

static int ihba_identify(struct ihba *h)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_identify *id;
	int ret;

	req.out = kzalloc(ISCSI_HBA_IDENTIFY_SIZE, GFP_KERNEL);
	if (!req.out)
		return -ENOMEM;
	req.out_len = ISCSI_HBA_IDENTIFY_SIZE;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_IDENTIFY;
	ret = ihba_admin_exec(h, &req);
	if (ret)
		goto out;
	if (ISCSI_HBA_STATUS_IS_ERROR(req.ctx.status)) {
		dev_err(&h->pdev->dev, "IDENTIFY failed: %s (%#x)\n",
			ihba_isdsc(req.ctx.status), req.ctx.status);
		ret = -EIO;
		goto out;
	}
	id = req.out;
	/* As many CDB bytes as both the adapter and the SQE take (up to 32). */
	h->max_cdb_len = min_t(u16, ihba_le16(id->max_cdb_len),
			       sizeof(((struct iscsi_hba_sqe *)NULL)->u.scsi.cdb));
	h->num_host_targets = ihba_le16(id->num_host_targets);
	/* 0 would be no limit at all: take the spec's default, 30 s */
	h->command_timeout_s = DIV_ROUND_UP(ihba_le32(id->command_timeout_ms), 1000) ?: 30;
	memcpy(h->serial, id->serial, sizeof(id->serial));
	memcpy(h->model, id->model, sizeof(id->model));
	memcpy(h->firmware, id->firmware, sizeof(id->firmware));
	h->serial[sizeof(id->serial)] = 0;
	h->model[sizeof(id->model)] = 0;
	h->firmware[sizeof(id->firmware)] = 0;
	id->initiator_name[ISCSI_HBA_STRING_FIELD - 1] = 0;
	strscpy(h->initiator, id->initiator_name, sizeof(h->initiator));
	dev_info(&h->pdev->dev, "%s serial %s firmware %s, initiator %s\n",
		 h->model, h->serial, h->firmware, id->initiator_name);
out:
	ihba_admin_req_free(&req);
	return ret;
}

static int ihba_create_ioq(struct ihba *h, struct ihba_queue *q)
{
	struct ihba_admin_req req = { };
	unsigned long flags;
	int ret;

	memset(q->cq, 0, q->cq_size * sizeof(*q->cq));
	q->sq_tail = 0;
	q->sq_db_tail = 0;
	q->sq_head = 0;
	q->cq_head = 0;
	q->cq_db_head = 0;
	q->cq_db_batch = ihba_cq_db_batch(h, q);
	q->cq_phase = 1;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_CREATE_IO_QUEUE;
	req.sqe.hdr.flags = ISCSI_HBA_QUEUE_IRQ_ENABLE;
	req.sqe.u.create.sq_base = ihba_cpu64(q->sq_dma);
	req.sqe.u.create.cq_base = ihba_cpu64(q->cq_dma);
	req.sqe.u.create.qid = ihba_cpu16(q->qid);
	req.sqe.u.create.vector = ihba_cpu16(q->vector);
	req.sqe.u.create.sq_size = ihba_cpu16(q->sq_size);
	req.sqe.u.create.cq_size = ihba_cpu16(q->cq_size);
	ret = ihba_admin_exec(h, &req);
	if (ret)
		return ret;
	if (ISCSI_HBA_STATUS_IS_ERROR(req.ctx.status)) {
		dev_err(&h->pdev->dev, "CREATE_IO_QUEUE %u failed: %s (%#x), detail %u\n",
			q->qid, ihba_isdsc(req.ctx.status), req.ctx.status,
			req.ctx.detail);
		return -EIO;
	}
	spin_lock_irqsave(&q->sq_lock, flags);
	spin_lock(&q->cq_lock);
	q->live = true;
	spin_unlock(&q->cq_lock);
	spin_unlock_irqrestore(&q->sq_lock, flags);
	return 0;
}

/* Enable, (identify,) create the I/O queues, post the event requests. */
static int ihba_start(struct ihba *h, bool identify)
{
	unsigned int i;
	int ret;

	ret = ihba_enable(h);
	if (ret)
		return ret;
	if (identify) {
		ret = ihba_identify(h);
		if (ret)
			return ret;
	}
	for (i = 0; i < h->nr_io_queues; i++) {
		ret = ihba_create_ioq(h, &h->ioq[i]);
		if (ret)
			return ret;
	}
	ihba_post_aers(h);
	return 0;
}

static void ihba_sync_irqs(struct ihba *h)
{
	int i;

	for (i = 0; i < h->nr_vecs; i++)
		synchronize_irq(pci_irq_vector(h->pdev, i));
}

static bool ihba_reset_cmd_iter(struct scsi_cmnd *sc, void *data)
{
	struct ihba *h = data;
	struct ihba_cmd *cmd = scsi_cmd_priv(sc);

	if (!READ_ONCE(cmd->inflight))
		return true;
	ihba_cmd_release(h, sc);
	sc->result = DID_RESET << 16;
	scsi_done(sc);
	return true;
}

/*
 * Stop the controller: nothing completes after a disable, so every
 * outstanding command is ended here (admin waiters get -EIO, SCSI
 * commands DID_RESET) and all sessions are held.
 */
static int ihba_quiesce(struct ihba *h, bool fail_cmds)
{
	struct ihba_admin_slot *s;
	unsigned long flags;
	unsigned int i;
	int ret;

	spin_lock_irqsave(&h->admin_lock, flags);
	h->admin_live = false;
	h->adminq.live = false;
	spin_unlock_irqrestore(&h->admin_lock, flags);
	for (i = 0; i < h->nr_io_queues; i++) {
		spin_lock_irqsave(&h->ioq[i].sq_lock, flags);
		spin_lock(&h->ioq[i].cq_lock);
		h->ioq[i].live = false;
		spin_unlock(&h->ioq[i].cq_lock);
		spin_unlock_irqrestore(&h->ioq[i].sq_lock, flags);
	}

	ret = ihba_disable(h);
	ihba_sync_irqs(h);
	/* Gone: nothing completes any more, and nothing touches memory. */
	if (ret && ret != -ENODEV)
		return ret;

	/* The adapter no longer touches any buffer: release them. */
	spin_lock_irqsave(&h->admin_lock, flags);
	for (i = 0; i < IHBA_ADMIN_SLOTS; i++) {
		s = &h->slots[i];
		if (!s->busy)
			continue;
		ihba_slot_unmap(h, s);
		if (s->ctx) {
			s->ctx->failed = true;
			complete(&s->ctx->done);
		} else if (s->abandoned) {
			kfree_sensitive(s->in);
			kfree(s->out);
		}
		memset(s, 0, sizeof(*s));
	}
	h->aer_outstanding = 0;
	h->aer_errors = 0;
	spin_unlock_irqrestore(&h->admin_lock, flags);
	wake_up_all(&h->admin_wait);

	if (READ_ONCE(h->tmf_busy)) {
		h->tmf_status = ISDSC_NON_SPECIFIC_ERROR;
		WRITE_ONCE(h->tmf_busy, false);
		complete(&h->tmf_done);
	}
	if (fail_cmds)
		scsi_host_busy_iter(h->shost, ihba_reset_cmd_iter, h);

	spin_lock_irqsave(&h->sess_lock, flags);
	for (i = 0; i < h->max_sessions; i++)
		h->sess[i].live = false;
	spin_unlock_irqrestore(&h->sess_lock, flags);
	return 0;
}

static int ihba_reset_controller(struct ihba *h)
{
	int ret;

	mutex_lock(&h->reset_mutex);
	dev_warn(&h->pdev->dev, "resetting controller\n");
	ihba_fatal(h);
	ret = ihba_quiesce(h, true);
	WRITE_ONCE(h->fatal_seen, false);
	if (!ret)
		ret = ihba_start(h, false);
	if (ret)
		dev_err(&h->pdev->dev, "controller reset failed: %d\n", ret);
	mutex_unlock(&h->reset_mutex);

	/* Sessions are gone: log in again and reconcile the targets. */
	set_bit(IHBA_EV_RESET_RESYNC, &h->ev_flags);
	queue_work(h->wq, &h->event_work);
	return ret;
}

/*
 * Return only once every session is back or given up: the midlayer
 * tests the devices right after this (TEST UNIT READY, for at most
 * eh_timeout), and offlines for good those that do not answer.
 */
static int ihba_eh_host_reset(struct scsi_cmnd *sc)
{
	struct ihba *h = shost_priv(sc->device->host);
	unsigned long deadline;

	if (ihba_reset_controller(h))
		return FAILED;
	flush_work(&h->event_work);
	deadline = jiffies + (ihba_replacement_timeout + 1) * HZ;
	while (!ihba_sessions_settled(h) && time_before(jiffies, deadline))
		wait_event_timeout(h->sess_wait, ihba_sessions_settled(h), HZ);
	return SUCCESS;
}

static void ihba_reset_work(struct work_struct *work)
{
	struct ihba *h = container_of(work, struct ihba, reset_work);

	if (!READ_ONCE(h->removing))
		ihba_reset_controller(h);
}

/*
 * SCSI host
 */

static int ihba_slave_alloc(struct scsi_device *sdev)
{
	struct ihba *h = shost_priv(sdev->host);

	if (sdev->channel || sdev->id >= h->max_sessions ||
	    !READ_ONCE(h->sess[sdev->id].used))
		return -ENXIO;
	return 0;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
static int ihba_slave_configure(struct scsi_device *sdev,
				struct queue_limits *lim)
#else
static int ihba_slave_configure(struct scsi_device *sdev)
#endif
{
	struct ihba *h = shost_priv(sdev->host);

	blk_queue_rq_timeout(sdev->request_queue,
			     ihba_timeout_secs(h, io_timeout) * HZ);
	return 0;
}

static void ihba_map_queues(struct Scsi_Host *shost)
{
	struct ihba *h = shost_priv(shost);
	struct blk_mq_queue_map *map = &shost->tag_set.map[HCTX_TYPE_DEFAULT];

	if (h->msix && !h->single_vector)
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
		blk_mq_map_hw_queues(map, &h->pdev->dev, 1);
#else
		blk_mq_pci_map_queues(map, h->pdev, 1);
#endif
	else
		blk_mq_map_queues(map);
}

/*
 * Work counters of the I/O queues, summed, for measuring (scripts/bench.sh
 * divides them by the I/Os done): doorbell writes (MMIO) and completions.
 */
#define IHBA_IOQ_COUNTER_ATTR(name)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct ihba *h = shost_priv(class_to_shost(dev));		\
	unsigned int i;							\
	u64 sum = 0;							\
									\
	for (i = 0; i < h->nr_io_queues; i++)				\
		sum += READ_ONCE(h->ioq[i].name);			\
	return sysfs_emit(buf, "%llu\n", sum);				\
}									\
static DEVICE_ATTR_RO(name)

IHBA_IOQ_COUNTER_ATTR(sq_doorbells);
IHBA_IOQ_COUNTER_ATTR(cq_doorbells);
IHBA_IOQ_COUNTER_ATTR(completions);

static struct attribute *ihba_host_attrs[] = {
	&dev_attr_sq_doorbells.attr,
	&dev_attr_cq_doorbells.attr,
	&dev_attr_completions.attr,
	NULL,
};
ATTRIBUTE_GROUPS(ihba_host);

static struct scsi_host_template ihba_sht = {
	.module			= THIS_MODULE,
	.name			= "iscsi-hba",
	.proc_name		= IHBA_TRANSPORT,
	.queuecommand		= ihba_queuecommand,
	.commit_rqs		= ihba_commit_rqs,
	.eh_abort_handler	= ihba_eh_abort,
	.eh_device_reset_handler = ihba_eh_device_reset,
	.eh_target_reset_handler = ihba_eh_target_reset,
	.eh_host_reset_handler	= ihba_eh_host_reset,
	.eh_timed_out		= ihba_eh_timed_out,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
	/* 6.14 renamed them; sdev_configure also gets the queue limits */
	.sdev_init		= ihba_slave_alloc,
	.sdev_configure		= ihba_slave_configure,
#else
	.slave_alloc		= ihba_slave_alloc,
	.slave_configure	= ihba_slave_configure,
#endif
	.map_queues		= ihba_map_queues,
	.change_queue_depth	= scsi_change_queue_depth,
	.this_id		= -1,
	.cmd_size		= sizeof(struct ihba_cmd),
	.shost_groups		= ihba_host_groups,
	/*
	 * No bus to settle after a host reset: the targets stay blocked
	 * until their sessions are back (ihba_resync()).
	 */
	.skip_settle_delay	= 1,
};

/*
 * PCI
 */

static void *ihba_dma_alloc(struct ihba *h, size_t size, dma_addr_t *dma)
{
	/* Coherent allocations are page aligned: QUEUE_ALIGN is 4096. */
	return dma_alloc_coherent(&h->pdev->dev, PAGE_ALIGN(size), dma, GFP_KERNEL);
}

static void ihba_dma_free(struct ihba *h, size_t size, void *p, dma_addr_t dma)
{
	if (p)
		dma_free_coherent(&h->pdev->dev, PAGE_ALIGN(size), p, dma);
}

static void ihba_init_queue(struct ihba *h, struct ihba_queue *q, u16 qid,
			    u16 sq_size, u16 cq_size)
{
	q->h = h;
	q->qid = qid;
	q->sq_size = sq_size;
	q->cq_size = cq_size;
	q->sq_db = h->regs + h->db_offset + qid * h->db_stride + ISCSI_HBA_DB_SQ_TAIL;
	q->cq_db = h->regs + h->db_offset + qid * h->db_stride + ISCSI_HBA_DB_CQ_HEAD;
	spin_lock_init(&q->sq_lock);
	spin_lock_init(&q->cq_lock);
}

static int ihba_alloc_queue(struct ihba *h, struct ihba_queue *q)
{
	q->sq = ihba_dma_alloc(h, q->sq_size * sizeof(*q->sq), &q->sq_dma);
	q->cq = ihba_dma_alloc(h, q->cq_size * sizeof(*q->cq), &q->cq_dma);
	if (!q->sq || !q->cq)
		return -ENOMEM;
	if (q->qid) {
		q->sense = ihba_dma_alloc(h, q->depth * SCSI_SENSE_BUFFERSIZE,
					  &q->sense_dma);
		if (!q->sense)
			return -ENOMEM;
	}
	return 0;
}

static void ihba_free_queue(struct ihba *h, struct ihba_queue *q)
{
	ihba_dma_free(h, q->sq_size * sizeof(*q->sq), q->sq, q->sq_dma);
	ihba_dma_free(h, q->cq_size * sizeof(*q->cq), q->cq, q->cq_dma);
	ihba_dma_free(h, q->depth * SCSI_SENSE_BUFFERSIZE, q->sense, q->sense_dma);
	q->sq = NULL;
	q->cq = NULL;
	q->sense = NULL;
}

static void ihba_free_irqs(struct ihba *h)
{
	unsigned int i;

	if (!h->nr_vecs)
		return;
	free_irq(pci_irq_vector(h->pdev, 0), h);
	if (h->msix && !h->single_vector)
		for (i = 0; i < h->nr_io_queues; i++)
			free_irq(pci_irq_vector(h->pdev, i + 1), &h->ioq[i]);
	pci_free_irq_vectors(h->pdev);
	h->nr_vecs = 0;
}

static int ihba_setup_irqs(struct ihba *h)
{
	struct irq_affinity desc = { .pre_vectors = 1 };
	struct pci_dev *pdev = h->pdev;
	unsigned int flags = PCI_IRQ_INTX, want, i;
	int nvec, ret;

	want = min(h->nr_io_queues + 1, h->num_vectors);
	if (use_msix && (h->cap & ISCSI_HBA_CAP_MSIX))
		flags |= PCI_IRQ_MSIX | PCI_IRQ_AFFINITY;
	nvec = pci_alloc_irq_vectors_affinity(pdev, 1, want, flags,
					      flags & PCI_IRQ_AFFINITY ? &desc : NULL);
	if (nvec < 0)
		return nvec;
	h->nr_vecs = nvec;
	h->msix = pdev->msix_enabled;
	h->single_vector = !h->msix || nvec < 2;
	h->nr_io_queues = h->single_vector ? 1 : nvec - 1;

	snprintf(h->adminq.irqname, sizeof(h->adminq.irqname), "%s-admin",
		 h->mgmt_name);
	ret = request_irq(pci_irq_vector(pdev, 0),
			  h->msix ? ihba_admin_irq : ihba_intx_irq,
			  h->msix ? 0 : IRQF_SHARED, h->adminq.irqname, h);
	if (ret)
		goto free_vecs;
	for (i = 0; i < h->nr_io_queues; i++) {
		h->ioq[i].vector = h->single_vector ? 0 : i + 1;
		if (h->single_vector)
			continue;
		snprintf(h->ioq[i].irqname, sizeof(h->ioq[i].irqname), "%s-q%u",
			 h->mgmt_name, i + 1);
		ret = request_irq(pci_irq_vector(pdev, i + 1), ihba_io_irq, 0,
				  h->ioq[i].irqname, &h->ioq[i]);
		if (ret) {
			while (i--)
				free_irq(pci_irq_vector(pdev, i + 1), &h->ioq[i]);
			free_irq(pci_irq_vector(pdev, 0), h);
			goto free_vecs;
		}
	}
	dev_info(&pdev->dev, "%s, %u I/O queue%s\n",
		 h->msix ? "MSI-X" : "INTx", h->nr_io_queues,
		 h->nr_io_queues == 1 ? "" : "s");
	return 0;

free_vecs:
	pci_free_irq_vectors(pdev);
	h->nr_vecs = 0;
	return ret;
}

static int ihba_read_regs(struct ihba *h)
{
	struct device *dev = &h->pdev->dev;
	u32 magic = ihba_rd(h, ISCSI_HBA_REG_MAGIC);
	u32 version = ihba_rd(h, ISCSI_HBA_REG_VERSION);

	if (magic != ISCSI_HBA_MAGIC) {
		dev_err(dev, "bad magic %#x\n", magic);
		return -ENODEV;
	}
	if (version >> 16 != ISCSI_HBA_VERSION_MAJOR) {
		dev_err(dev, "unsupported interface version %u.%u\n",
			version >> 16, version & 0xffff);
		return -ENODEV;
	}
	h->cap = ihba_rd(h, ISCSI_HBA_REG_CAP);
	h->max_io_queues = ihba_rd(h, ISCSI_HBA_REG_MAX_IO_QUEUES);
	h->max_queue_entries = ihba_rd(h, ISCSI_HBA_REG_MAX_QUEUE_ENTRIES);
	h->max_sg = ihba_rd(h, ISCSI_HBA_REG_MAX_SG_ELEMENTS);
	h->max_transfer = ihba_rd(h, ISCSI_HBA_REG_MAX_TRANSFER);
	h->num_vectors = ihba_rd(h, ISCSI_HBA_REG_NUM_VECTORS);
	h->db_offset = ihba_rd(h, ISCSI_HBA_REG_DB_OFFSET);
	h->db_stride = ihba_rd(h, ISCSI_HBA_REG_DB_STRIDE);
	h->max_sessions = ihba_rd(h, ISCSI_HBA_REG_MAX_SESSIONS);

	if (!h->max_io_queues || h->max_io_queues > ISCSI_HBA_MAX_IO_QUEUES_LIMIT ||
	    h->max_queue_entries < 4 || !is_power_of_2(h->max_queue_entries) ||
	    h->max_queue_entries > ISCSI_HBA_MAX_QUEUE_ENTRIES_LIMIT ||
	    !h->max_sg || h->max_transfer < 4096 || !h->num_vectors ||
	    h->db_stride < 8 || h->db_offset + (h->max_io_queues + 1) * h->db_stride >
	    ISCSI_HBA_BAR0_SIZE || !h->max_sessions ||
	    h->max_sessions > ISCSI_HBA_IOC_MAX_SESSIONS ||
	    !(h->cap & ISCSI_HBA_CAP_SG_CHAIN)) {
		dev_err(dev, "unusable limits\n");
		return -ENODEV;
	}
	if (!(h->cap & ISCSI_HBA_CAP_ISCSI))
		dev_warn(dev, "adapter has no iSCSI session layer\n");
	return 0;
}

static int ihba_probe(struct pci_dev *pdev, const struct pci_device_id *ent)
{
	struct Scsi_Host *shost;
	struct ihba *h;
	unsigned int i, depth, cq_size;
	int ret;

	shost = scsi_host_alloc(&ihba_sht, sizeof(*h));
	if (!shost)
		return -ENOMEM;
	h = shost_priv(shost);
	h->pdev = pdev;
	h->shost = shost;
	spin_lock_init(&h->admin_lock);
	spin_lock_init(&h->ev_lock);
	spin_lock_init(&h->sess_lock);
	init_waitqueue_head(&h->admin_wait);
	mutex_init(&h->sess_mutex);
	mutex_init(&h->tmf_mutex);
	mutex_init(&h->reset_mutex);
	init_completion(&h->tmf_done);
	init_rwsem(&h->mgmt_rwsem);
	INIT_WORK(&h->event_work, ihba_event_work);
	INIT_WORK(&h->reset_work, ihba_reset_work);
	INIT_WORK(&h->scan_work, ihba_scan_work);
	INIT_DELAYED_WORK(&h->resync_dwork, ihba_resync_dwork);
	INIT_DELAYED_WORK(&h->relogin_dwork, ihba_relogin_dwork);
	init_waitqueue_head(&h->sess_wait);
	pci_set_drvdata(pdev, h);

	h->instance = ida_alloc(&ihba_ida, GFP_KERNEL);
	if (h->instance < 0) {
		ret = h->instance;
		goto put_host;
	}
	snprintf(h->mgmt_name, sizeof(h->mgmt_name), IHBA_NAME "%d", h->instance);

	ret = pci_enable_device_mem(pdev);
	if (ret)
		goto free_ida;
	pci_set_master(pdev);
	ret = pci_request_mem_regions(pdev, IHBA_NAME);
	if (ret)
		goto disable_pci;
	h->regs = pci_iomap(pdev, ISCSI_HBA_BAR_REGS, ISCSI_HBA_BAR0_SIZE);
	if (!h->regs) {
		ret = -ENOMEM;
		goto release_regions;
	}
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
	if (ret)
		goto unmap;
	ret = ihba_read_regs(h);
	if (ret)
		goto unmap;
	if (ihba_rd(h, ISCSI_HBA_REG_CTRL) & ISCSI_HBA_CTRL_ENABLE) {
		ret = ihba_disable(h);
		if (ret)
			goto unmap;
	}

	ret = -ENOMEM;
	h->sess = kcalloc(h->max_sessions, sizeof(*h->sess), GFP_KERNEL);
	h->check_map = bitmap_zalloc(h->max_sessions, GFP_KERNEL);
	h->scan_map = bitmap_zalloc(h->max_sessions, GFP_KERNEL);
	h->nr_io_queues = min(h->max_io_queues, num_online_cpus());
	h->ioq = kcalloc(h->nr_io_queues, sizeof(*h->ioq), GFP_KERNEL);
	if (!h->sess || !h->check_map || !h->scan_map || !h->ioq)
		goto free_mem;
	h->wq = alloc_ordered_workqueue("%s_ev", WQ_MEM_RECLAIM, h->mgmt_name);
	h->scan_wq = alloc_ordered_workqueue("%s_scan", 0, h->mgmt_name);
	h->reset_wq = alloc_ordered_workqueue("%s_reset", WQ_MEM_RECLAIM, h->mgmt_name);
	if (!h->wq || !h->scan_wq || !h->reset_wq)
		goto free_mem;
	h->sgl_pool = dma_pool_create(IHBA_NAME, &pdev->dev, PAGE_SIZE,
				      sizeof(struct iscsi_hba_sg), 0);
	if (!h->sgl_pool)
		goto free_mem;

	/* Admin queue pair. */
	ihba_init_queue(h, &h->adminq, 0,
			min_t(u32, IHBA_ADMIN_SQ_SIZE, h->max_queue_entries),
			min_t(u32, IHBA_ADMIN_CQ_SIZE, h->max_queue_entries));
	ret = ihba_alloc_queue(h, &h->adminq);
	if (ret)
		goto free_queues;
	/* Never more commands than SQ slots - 1: the SQ cannot overflow. */
	h->nr_slots = min_t(u32, IHBA_ADMIN_SLOTS, h->adminq.sq_size - 1);
	h->nr_aer = min_t(u32, IHBA_NR_AER, h->nr_slots / 2);

	ret = ihba_setup_irqs(h);
	if (ret)
		goto free_queues;

	/*
	 * I/O queue pairs: depth = SQ size - 2 (one TMF, one for "full").
	 * The CQ is twice the SQ where the adapter allows, so CQ head
	 * writes can be batched (ihba_cq_db_batch()).
	 */
	i = max(io_queue_depth, 8u);
	i = min_t(u32, roundup_pow_of_two(i), h->max_queue_entries);
	depth = i - 2;
	cq_size = min_t(u32, 2 * i, h->max_queue_entries);
	for (i = 0; i < h->nr_io_queues; i++) {
		ihba_init_queue(h, &h->ioq[i], i + 1, depth + 2, cq_size);
		h->ioq[i].depth = depth;
		ret = ihba_alloc_queue(h, &h->ioq[i]);
		if (ret)
			goto free_irqs;
	}

	ret = ihba_start(h, true);
	if (ret)
		goto stop;
	h->fnodes = kcalloc(h->num_host_targets, sizeof(*h->fnodes), GFP_KERNEL);
	if (h->num_host_targets && !h->fnodes) {
		ret = -ENOMEM;
		goto stop;
	}

	shost->max_id = h->max_sessions;
	shost->max_channel = 0;
	/*
	 * Linux keeps the address method in the LUN: flat space LUN n is
	 * 0x4000 | n, up to 0x7fff (scsilun_to_int()).
	 */
	shost->max_lun = 0x8000;
	shost->max_cmd_len = h->max_cdb_len ?: 16;
	shost->can_queue = depth;
	shost->cmd_per_lun = min(depth, 64u);
	shost->sg_tablesize = min_t(u32, h->max_sg,
				    (IHBA_SGL_MAX_SEGS - 1) * (IHBA_SGL_ENTRIES - 1) +
				    IHBA_SGL_ENTRIES);
	shost->max_sectors = h->max_transfer >> SECTOR_SHIFT;
	shost->nr_hw_queues = h->nr_io_queues;
	shost->unique_id = h->instance;
	ihba_cls_set_transport(shost);
	ret = scsi_add_host(shost, &pdev->dev);
	if (ret)
		goto stop;
	WRITE_ONCE(h->scan_ready, true);
	queue_work(h->scan_wq, &h->scan_work);

	ret = ihba_mgmt_register(h);
	if (ret)
		dev_warn(&pdev->dev, "no management device: %d\n", ret);

	/* Host-configured targets log in by themselves after enable. */
	ihba_resync(h, false, true);
	flush_workqueue(h->scan_wq);
	return 0;

stop:
	/* Fail what the event work waits for, then wait for the work. */
	WRITE_ONCE(h->removing, true);
	ihba_quiesce(h, false);
	cancel_work_sync(&h->event_work);
	cancel_work_sync(&h->reset_work);
	cancel_delayed_work_sync(&h->resync_dwork);
	cancel_delayed_work_sync(&h->relogin_dwork);
	cancel_work_sync(&h->scan_work);
free_irqs:
	ihba_free_irqs(h);
free_queues:
	for (i = 0; i < h->nr_io_queues; i++)
		ihba_free_queue(h, &h->ioq[i]);
	ihba_free_queue(h, &h->adminq);
free_mem:
	dma_pool_destroy(h->sgl_pool);
	if (h->reset_wq)
		destroy_workqueue(h->reset_wq);
	if (h->scan_wq)
		destroy_workqueue(h->scan_wq);
	if (h->wq)
		destroy_workqueue(h->wq);
	kfree(h->fnodes);
	kfree(h->ioq);
	bitmap_free(h->scan_map);
	bitmap_free(h->check_map);
	kfree(h->sess);
unmap:
	pci_iounmap(pdev, h->regs);
release_regions:
	pci_release_mem_regions(pdev);
disable_pci:
	pci_disable_device(pdev);
free_ida:
	if (h->instance >= 0)
		ida_free(&ihba_ida, h->instance);
put_host:
	scsi_host_put(shost);
	return ret;
}

/* Log out of every session so that targets see a clean end. */
static void ihba_logout_all(struct ihba *h)
{
	struct ihba_admin_req req;
	unsigned int id;
	u32 sid;

	for (id = 0; id < h->max_sessions; id++) {
		sid = h->sess[id].sid;
		if (!sid)
			continue;
		memset(&req, 0, sizeof(req));
		req.sqe.hdr.opcode = ISCSI_HBA_ADM_LOGOUT;
		req.sqe.hdr.session_id = ihba_cpu32(sid);
		req.timeout = 10 * HZ;
		ihba_admin_exec(h, &req);
	}
}

static void ihba_delete_ioqs(struct ihba *h)
{
	struct ihba_admin_req req;
	unsigned long flags;
	unsigned int i;

	for (i = 0; i < h->nr_io_queues; i++) {
		spin_lock_irqsave(&h->ioq[i].sq_lock, flags);
		spin_lock(&h->ioq[i].cq_lock);
		h->ioq[i].live = false;
		spin_unlock(&h->ioq[i].cq_lock);
		spin_unlock_irqrestore(&h->ioq[i].sq_lock, flags);
		memset(&req, 0, sizeof(req));
		req.sqe.hdr.opcode = ISCSI_HBA_ADM_DELETE_IO_QUEUE;
		req.sqe.u.del.qid = ihba_cpu16(i + 1);
		req.timeout = 5 * HZ;
		ihba_admin_exec(h, &req);
	}
}

/*
 * Before the host is removed: give up the sessions that are down, and
 * end the block of their devices (transport-offline), so that what they
 * hold fails at once.  By hand: while the module is being unloaded
 * scsi_device_get() fails, so shost_for_each_device() and with it
 * scsi_target_unblock() see no device at all.
 */
static void ihba_release_blocked(struct ihba *h)
{
	struct Scsi_Host *shost = h->shost;
	struct scsi_device *sdev, **list;
	unsigned int i, n = 0, k = 0;
	unsigned long flags;

	spin_lock_irqsave(&h->sess_lock, flags);
	for (i = 0; i < h->max_sessions; i++)
		if (h->sess[i].used && !h->sess[i].live)
			h->sess[i].failed = true;
	spin_unlock_irqrestore(&h->sess_lock, flags);

	spin_lock_irqsave(shost->host_lock, flags);
	__shost_for_each_device(sdev, shost)
		n++;
	spin_unlock_irqrestore(shost->host_lock, flags);
	if (!n)
		return;
	list = kcalloc(n, sizeof(*list), GFP_KERNEL);
	if (!list)
		return;
	spin_lock_irqsave(shost->host_lock, flags);
	__shost_for_each_device(sdev, shost) {
		if (k < n && (sdev->sdev_state == SDEV_BLOCK ||
			      sdev->sdev_state == SDEV_CREATED_BLOCK) &&
		    get_device(&sdev->sdev_gendev))
			list[k++] = sdev;
	}
	spin_unlock_irqrestore(shost->host_lock, flags);

	for (i = 0; i < k; i++) {
		sdev = list[i];
		mutex_lock(&sdev->state_mutex);
		if (sdev->sdev_state == SDEV_BLOCK ||
		    sdev->sdev_state == SDEV_CREATED_BLOCK)
			scsi_internal_device_unblock_nowait(sdev, SDEV_TRANSPORT_OFFLINE);
		mutex_unlock(&sdev->state_mutex);
		put_device(&sdev->sdev_gendev);
	}
	kfree(list);
}

static void ihba_remove(struct pci_dev *pdev)
{
	struct ihba *h = pci_get_drvdata(pdev);
	struct Scsi_Host *shost = h->shost;
	unsigned int i;

	ihba_mgmt_unregister(h);
	/*
	 * No more events, scans or resets of ours from here on: sessions
	 * that are down (or go down) now fail their commands, so that the
	 * removal of their devices cannot wait for a reconnection.
	 */
	WRITE_ONCE(h->removing, true);
	WRITE_ONCE(h->scan_ready, false);
	cancel_work_sync(&h->reset_work);
	cancel_delayed_work_sync(&h->resync_dwork);
	cancel_delayed_work_sync(&h->relogin_dwork);
	flush_workqueue(h->wq);
	cancel_delayed_work_sync(&h->resync_dwork);
	cancel_delayed_work_sync(&h->relogin_dwork);
	wake_up_all(&h->sess_wait);
	flush_workqueue(h->scan_wq);
	ihba_release_blocked(h);
	ihba_cls_remove_flashnodes(h);
	ihba_sess_detach_all(h);
	scsi_remove_host(shost);

	if (!ihba_fatal(h)) {
		ihba_logout_all(h);
		ihba_delete_ioqs(h);
	}
	/* scsi_remove_host() drained every command. */
	ihba_quiesce(h, false);
	ihba_free_irqs(h);
	for (i = 0; i < h->nr_io_queues; i++)
		ihba_free_queue(h, &h->ioq[i]);
	ihba_free_queue(h, &h->adminq);
	for (i = 0; i < h->max_sessions; i++)
		kfree_sensitive(h->sess[i].params);
	dma_pool_destroy(h->sgl_pool);
	destroy_workqueue(h->reset_wq);
	destroy_workqueue(h->scan_wq);
	destroy_workqueue(h->wq);
	kfree(h->fnodes);
	kfree(h->ioq);
	bitmap_free(h->scan_map);
	bitmap_free(h->check_map);
	kfree(h->sess);
	pci_iounmap(pdev, h->regs);
	pci_release_mem_regions(pdev);
	pci_disable_device(pdev);
	ida_free(&ihba_ida, h->instance);
	scsi_host_put(shost);
}

static void ihba_shutdown(struct pci_dev *pdev)
{
	struct ihba *h = pci_get_drvdata(pdev);

	/*
	 * Stop all DMA and wait for STATUS 0 (spec: Shutdown), so that a
	 * kexec'ed kernel finds no adapter writing into its memory; the
	 * sessions end with the controller.
	 */
	ihba_disable(h);
}

static const struct pci_device_id ihba_pci_ids[] = {
	{ PCI_DEVICE(ISCSI_HBA_PCI_VENDOR_ID, ISCSI_HBA_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, ihba_pci_ids);

static struct pci_driver ihba_pci_driver = {
	.name		= IHBA_NAME,
	.id_table	= ihba_pci_ids,
	.probe		= ihba_probe,
	.remove		= ihba_remove,
	.shutdown	= ihba_shutdown,
};
static int __init ihba_init(void)
{
	int ret = ihba_cls_init();

	if (ret)
		return ret;
	ret = pci_register_driver(&ihba_pci_driver);
	if (ret)
		ihba_cls_exit();
	return ret;
}

static void __exit ihba_exit(void)
{
	pci_unregister_driver(&ihba_pci_driver);
	ihba_cls_exit();
}

module_init(ihba_init);
module_exit(ihba_exit);

MODULE_DESCRIPTION("iscsi-hba PCI iSCSI host adapter");
MODULE_AUTHOR("The iscsi-hba authors");
MODULE_LICENSE("GPL");
