// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_hba: sessions, targets and asynchronous events.
 *
 * Every session is SCSI target (channel 0, id = session slot).  Events
 * and session re-reads run on the ordered workqueue h->wq; scans run on
 * h->scan_wq, so that a scan waiting for its I/O never holds up the event
 * that would unblock it.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 */

#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "iscsi_hba.h"

/*
 * sess_mutex serialises the driver's view of the sessions; it is never
 * held across a scan or a target removal, which send I/O.
 */

static struct device *ihba_target_dev(struct ihba *h, unsigned int id)
{
	struct scsi_device *sdev;
	struct device *dev = NULL;

	shost_for_each_device(sdev, h->shost) {
		if (sdev->channel == 0 && sdev->id == id) {
			dev = get_device(&scsi_target(sdev)->dev);
			scsi_device_put(sdev);
			break;
		}
	}
	return dev;
}

static void ihba_sess_set(struct ihba *h, struct ihba_session *s, bool live,
			  bool failed)
{
	unsigned long flags;

	spin_lock_irqsave(&h->sess_lock, flags);
	s->live = live;
	s->failed = failed;
	spin_unlock_irqrestore(&h->sess_lock, flags);
}

static void ihba_sess_block(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];
	struct device *dev;

	ihba_sess_set(h, s, false, s->failed);
	/* Offline devices (failed session) cannot be blocked. */
	if (s->blocked || s->failed)
		return;
	dev = ihba_target_dev(h, id);
	if (dev) {
		scsi_target_block(dev);
		put_device(dev);
	}
	s->blocked = true;
}

static void ihba_sess_unblock(struct ihba *h, unsigned int id,
			      enum scsi_device_state state)
{
	struct ihba_session *s = &h->sess[id];
	struct device *dev;

	if (state == SDEV_RUNNING)
		ihba_sess_set(h, s, true, false);
	else
		ihba_sess_set(h, s, false, true);
	if (!s->blocked)
		return;
	dev = ihba_target_dev(h, id);
	if (dev) {
		scsi_target_unblock(dev, state);
		put_device(dev);
	}
	s->blocked = false;
}

static void ihba_sess_offline(struct ihba *h, unsigned int id)
{
	ihba_sess_block(h, id);
	ihba_sess_unblock(h, id, SDEV_TRANSPORT_OFFLINE);
}

static void ihba_queue_scan(struct ihba *h, unsigned int id)
{
	h->sess[id].scanned = true;
	set_bit(id, h->scan_map);
	queue_work(h->scan_wq, &h->scan_work);
}

void ihba_scan_work(struct work_struct *work)
{
	struct ihba *h = container_of(work, struct ihba, scan_work);
	unsigned int id;

	/*
	 * Events are handled from the first enable on, before probe has
	 * added the host, when a scan would do nothing: keep the requests
	 * until probe queues this work again.
	 */
	if (!READ_ONCE(h->scan_ready))
		return;
	for (id = 0; id < h->max_sessions; id++) {
		if (!test_and_clear_bit(id, h->scan_map))
			continue;
		if (READ_ONCE(h->sess[id].sid) && READ_ONCE(h->sess[id].live))
			scsi_scan_target(&h->shost->shost_gendev, 0, id,
					 SCAN_WILD_CARD, SCSI_SCAN_RESCAN);
	}
}

/*
 * Remove the target's SCSI devices and forget the session.  dead: the
 * session cannot carry commands any more, so fail them instead of
 * holding them.  Called with sess_mutex held; drops it meanwhile.
 */
static void ihba_sess_remove(struct ihba *h, unsigned int id, bool dead)
{
	struct ihba_session *s = &h->sess[id];
	u32 sid = s->sid;
	unsigned long flags;
	struct device *dev;

	if (dead) {
		if (s->blocked)
			ihba_sess_unblock(h, id, SDEV_TRANSPORT_OFFLINE);
		ihba_sess_set(h, s, false, true);
	}
	dev = ihba_target_dev(h, id);
	if (dev) {
		mutex_unlock(&h->sess_mutex);
		scsi_remove_target(dev);
		put_device(dev);
		mutex_lock(&h->sess_mutex);
	}
	if (s->sid != sid)
		return;
	spin_lock_irqsave(&h->sess_lock, flags);
	s->sid = 0;
	s->live = false;
	s->failed = false;
	clear_bit(id, h->check_map);
	spin_unlock_irqrestore(&h->sess_lock, flags);
	kfree_sensitive(s->params);
	s->params = NULL;
	s->blocked = false;
	s->scanned = false;
	s->host_configured = false;
	s->target[0] = 0;
	s->portal[0] = 0;
}

/* Make the driver's view of session id follow the adapter's state. */
static void ihba_sess_apply(struct ihba *h, unsigned int id, u16 state)
{
	struct ihba_session *s = &h->sess[id];

	switch (state) {
	case ISCSI_HBA_SESSION_STATE_LOGGED_IN:
		if (!s->live || s->blocked) {
			bool rescan = s->blocked || !s->scanned;

			ihba_sess_unblock(h, id, SDEV_RUNNING);
			if (rescan)
				ihba_queue_scan(h, id);
		}
		break;
	case ISCSI_HBA_SESSION_STATE_FAILED:
		if (!s->failed)
			ihba_sess_offline(h, id);
		break;
	default:	/* logging in, reconnecting */
		ihba_sess_block(h, id);
		break;
	}
}

static int ihba_session_info(struct ihba *h, u32 sid,
			     struct iscsi_hba_session_info *info, u32 *status)
{
	struct ihba_admin_req req = { };
	int ret;

	req.out = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!req.out)
		return -ENOMEM;
	req.out_len = sizeof(*info);
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_SESSION_INFO;
	req.sqe.hdr.session_id = ihba_cpu32(sid);
	ret = ihba_admin_exec(h, &req);
	if (!ret) {
		*status = req.ctx.status;
		memcpy(info, req.out, sizeof(*info));
		info->target_name[ISCSI_HBA_STRING_FIELD - 1] = 0;
		info->portal_host[ISCSI_HBA_STRING_FIELD - 1] = 0;
	}
	ihba_admin_req_free(&req);
	return ret;
}

/* LIST_SESSIONS into ids[max_sessions]; returns the count or -errno. */
static int ihba_list_sessions(struct ihba *h, u32 *ids)
{
	struct ihba_admin_req req = { };
	int ret, i, n;

	req.out_len = h->max_sessions * sizeof(u32);
	req.out = kzalloc(req.out_len, GFP_KERNEL);
	if (!req.out)
		return -ENOMEM;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_LIST_SESSIONS;
	ret = ihba_admin_exec(h, &req);
	if (ret)
		goto out;
	if (ISCSI_HBA_STATUS_IS_ERROR(req.ctx.status)) {
		dev_warn(&h->pdev->dev, "LIST_SESSIONS failed: %s (%#x)\n",
			 ihba_isdsc(req.ctx.status), req.ctx.status);
		ret = -EIO;
		goto out;
	}
	n = min_t(u64, req.ctx.result, h->max_sessions);
	for (i = 0; i < n; i++)
		ids[i] = le32_to_cpu(((__le32 *)req.out)[i]);
	ret = n;
out:
	ihba_admin_req_free(&req);
	return ret;
}

static bool ihba_same_target(const struct ihba_session *s,
			     const struct iscsi_hba_session_info *i)
{
	return ihba_le16(i->portal_port) == s->port &&
	       !strcmp(i->target_name, s->target) &&
	       !strcmp(i->portal_host, s->portal);
}

static void ihba_relogin(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];
	struct ihba_admin_req req = { };
	u32 status;

	req.in = kmemdup(s->params, sizeof(*s->params), GFP_KERNEL);
	if (!req.in)
		return;
	req.in_len = sizeof(*s->params);
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_LOGIN;
	req.timeout = ihba_login_timeout * HZ;
	if (!ihba_admin_exec(h, &req)) {
		status = req.ctx.status;
		if (ISCSI_HBA_STATUS_IS_ERROR(status))
			dev_warn(&h->pdev->dev, "login to %s failed after reset: %s (%#x)\n",
				 s->target, ihba_isdsc(status), status);
		else
			dev_info(&h->pdev->dev, "logged in to %s again after reset: session %#llx\n",
				 s->target, req.ctx.result);
	}
	ihba_admin_req_free(&req);
}

/*
 * Re-read every session from the adapter and reconcile the targets.
 * after_reset: the old session ids are invalid; log in again to the
 * targets the guest logged in to, and wait for the host-configured ones.
 */
void ihba_resync(struct ihba *h, bool after_reset, bool wait)
{
	struct iscsi_hba_session_info *info, *infos;
	unsigned long deadline = jiffies + (wait ? ihba_login_wait * HZ : 0);
	unsigned int id, n_host;
	struct ihba_session *s;
	bool settled;
	u32 *ids, status;
	int i, n;

	ids = kcalloc(h->max_sessions, sizeof(*ids), GFP_KERNEL);
	infos = kvcalloc(h->max_sessions, sizeof(*infos), GFP_KERNEL);
	if (!ids || !infos)
		goto out;

	mutex_lock(&h->sess_mutex);
	if (after_reset) {
		/* Hold the old targets' I/O until their sessions are back. */
		for (id = 0; id < h->max_sessions; id++)
			if (h->sess[id].sid)
				ihba_sess_block(h, id);
		for (id = 0; id < h->max_sessions; id++)
			if (h->sess[id].sid && h->sess[id].params)
				ihba_relogin(h, id);
	}
	for (;;) {
		memset(infos, 0, h->max_sessions * sizeof(*infos));
		n = ihba_list_sessions(h, ids);
		if (n < 0)
			goto unlock;
		settled = true;
		n_host = 0;
		for (i = 0; i < n; i++) {
			id = ihba_sid_slot(ids[i]);
			if (id >= h->max_sessions ||
			    ihba_session_info(h, ids[i], &infos[id], &status))
				continue;
			info = &infos[id];
			if (ISCSI_HBA_STATUS_IS_ERROR(status)) {
				memset(info, 0, sizeof(*info));
				continue;
			}
			info->session_id = ihba_cpu32(ids[i]);
			if (ihba_le16(info->flags) & ISCSI_HBA_SESSION_HOST_CONFIGURED)
				n_host++;
			if (ihba_le16(info->state) == ISCSI_HBA_SESSION_STATE_LOGGING_IN ||
			    (ihba_le16(info->state) == ISCSI_HBA_SESSION_STATE_RECONNECTING &&
			     !ihba_le32(info->reconnects)))
				settled = false;
		}
		if (n_host < h->num_host_targets)
			settled = false;
		if (settled || time_after(jiffies, deadline))
			break;
		msleep(250);
	}

	for (id = 0; id < h->max_sessions; id++) {
		s = &h->sess[id];
		info = &infos[id];
		if (s->sid && (!info->session_id || !ihba_same_target(s, info))) {
			dev_info(&h->pdev->dev, "session %#x to %s is gone\n",
				 s->sid, s->target);
			ihba_sess_remove(h, id, true);
		}
		if (!info->session_id)
			continue;
		if (!s->sid) {
			/* A session the driver did not know: adopt it. */
			strscpy(s->target, info->target_name, sizeof(s->target));
			strscpy(s->portal, info->portal_host, sizeof(s->portal));
			s->port = ihba_le16(info->portal_port);
			s->host_configured = !!(ihba_le16(info->flags) &
						ISCSI_HBA_SESSION_HOST_CONFIGURED);
			s->blocked = false;
			dev_info(&h->pdev->dev, "session %#x to %s at %s:%u is target %u\n",
				 ihba_le32(info->session_id), s->target,
				 s->portal, s->port, id);
		}
		spin_lock_irq(&h->sess_lock);
		s->sid = ihba_le32(info->session_id);
		spin_unlock_irq(&h->sess_lock);
		ihba_sess_apply(h, id, ihba_le16(info->state));
	}
	/*
	 * EVENT_LUNS_CHANGED announces a host-configured session's first
	 * login; still look again while some session is on its way, in
	 * case the event was lost (EVENT_OVERFLOW, a reset meanwhile).
	 */
	if (settled || ++h->resync_tries > 24)
		h->resync_tries = 0;
	else if (!READ_ONCE(h->removing))
		queue_delayed_work(h->wq, &h->resync_dwork, 5 * HZ);
unlock:
	mutex_unlock(&h->sess_mutex);
out:
	kvfree(infos);
	kfree(ids);
}

/* An I/O completion hinted at a session problem: ask the adapter. */
static void ihba_sess_check(struct ihba *h, unsigned int id)
{
	struct iscsi_hba_session_info *info;
	struct ihba_session *s = &h->sess[id];
	u32 status, sid = s->sid;

	info = kmalloc(sizeof(*info), GFP_KERNEL);
	if (!sid || !info || ihba_session_info(h, sid, info, &status) ||
	    s->sid != sid)
		goto out;
	if (status == ISDSC_INVALID_SESSION_ID) {
		dev_info(&h->pdev->dev, "session %#x to %s is gone\n", sid, s->target);
		ihba_sess_remove(h, id, true);
	} else if (!ISCSI_HBA_STATUS_IS_ERROR(status)) {
		ihba_sess_apply(h, id, ihba_le16(info->state));
	}
out:
	kfree(info);
}

static void ihba_handle_event(struct ihba *h, const struct ihba_event *ev)
{
	u8 type = ISCSI_HBA_EVENT_TYPE(ev->result);
	u32 sid = ISCSI_HBA_EVENT_SESSION(ev->result);
	unsigned int id = ihba_sid_slot(sid);
	struct device *dev = &h->pdev->dev;
	struct ihba_session *s = NULL;

	if (ISCSI_HBA_STATUS_IS_ERROR(ev->status)) {
		dev_err(dev, "ASYNC_EVENT failed: %s (%#x)\n",
			ihba_isdsc(ev->status), ev->status);
		return;
	}
	if (id < h->max_sessions && h->sess[id].sid == sid)
		s = &h->sess[id];

	switch (type) {
	case ISCSI_HBA_EVENT_SESSION_LOST:
		dev_warn(dev, "session %#x to %s lost: %s (%#x), reconnecting\n",
			 sid, s ? s->target : "?", ihba_isdsc(ev->info), ev->info);
		if (s)
			ihba_sess_block(h, id);
		break;
	case ISCSI_HBA_EVENT_SESSION_RECOVERED:
		dev_info(dev, "session %#x to %s recovered\n", sid, s ? s->target : "?");
		if (s) {
			ihba_sess_unblock(h, id, SDEV_RUNNING);
			ihba_queue_scan(h, id);
		} else {
			set_bit(IHBA_EV_RESYNC, &h->ev_flags);
		}
		break;
	case ISCSI_HBA_EVENT_SESSION_FAILED:
		dev_err(dev, "session %#x to %s failed: %s (%#x); log it out to free its slot\n",
			sid, s ? s->target : "?", ihba_isdsc(ev->info), ev->info);
		if (s)
			ihba_sess_offline(h, id);
		break;
	case ISCSI_HBA_EVENT_LUNS_CHANGED:
		/* Also a host-configured session's first login: adopt it. */
		if (s && s->live)
			ihba_queue_scan(h, id);
		else
			set_bit(IHBA_EV_RESYNC, &h->ev_flags);
		break;
	case ISCSI_HBA_EVENT_OVERFLOW:
		dev_warn(dev, "events were lost; re-reading the sessions\n");
		set_bit(IHBA_EV_RESYNC, &h->ev_flags);
		break;
	default:
		dev_warn(dev, "unknown event %u for session %#x\n", type, sid);
		break;
	}
}

void ihba_resync_dwork(struct work_struct *work)
{
	struct ihba *h = container_of(to_delayed_work(work), struct ihba,
				      resync_dwork);

	if (!READ_ONCE(h->removing))
		ihba_resync(h, false, false);
}

void ihba_event_work(struct work_struct *work)
{
	struct ihba *h = container_of(work, struct ihba, event_work);
	struct ihba_event ev;
	unsigned int id;
	bool got;

	if (READ_ONCE(h->removing))
		return;
	ihba_post_aers(h);

	for (;;) {
		spin_lock_irq(&h->ev_lock);
		got = h->ev_head != h->ev_tail;
		if (got) {
			ev = h->ev_ring[h->ev_head];
			h->ev_head = (h->ev_head + 1) % IHBA_EVENT_RING;
		}
		if (h->ev_overflow) {
			h->ev_overflow = false;
			set_bit(IHBA_EV_RESYNC, &h->ev_flags);
		}
		spin_unlock_irq(&h->ev_lock);
		if (!got)
			break;
		mutex_lock(&h->sess_mutex);
		ihba_handle_event(h, &ev);
		mutex_unlock(&h->sess_mutex);
	}

	if (test_and_clear_bit(IHBA_EV_RESET_RESYNC, &h->ev_flags)) {
		clear_bit(IHBA_EV_RESYNC, &h->ev_flags);
		ihba_resync(h, true, true);
	}
	if (test_and_clear_bit(IHBA_EV_RESYNC, &h->ev_flags))
		ihba_resync(h, false, false);

	for (id = 0; id < h->max_sessions; id++) {
		if (!test_and_clear_bit(id, h->check_map))
			continue;
		mutex_lock(&h->sess_mutex);
		ihba_sess_check(h, id);
		mutex_unlock(&h->sess_mutex);
	}
}

u32 ihba_sid_target(struct ihba *h, u32 sid)
{
	unsigned int id = ihba_sid_slot(sid);

	if (id < h->max_sessions && READ_ONCE(h->sess[id].sid) == sid)
		return id;
	return ISCSI_HBA_IOC_NO_TARGET;
}

void ihba_kick_resync(struct ihba *h)
{
	set_bit(IHBA_EV_RESYNC, &h->ev_flags);
	queue_work(h->wq, &h->event_work);
}

/* LOGIN; on success the session becomes a target and is scanned. */
int ihba_login(struct ihba *h, struct iscsi_hba_login_params *p,
	       struct ihba_admin_req *req, u32 *target_id)
{
	struct device *dev = &h->pdev->dev;
	struct ihba_session *s;
	unsigned int id;
	u32 status, sid;
	u16 port;
	int ret;

	req->in = kmemdup(p, sizeof(*p), GFP_KERNEL);
	if (!req->in)
		return -ENOMEM;
	req->in_len = sizeof(*p);
	req->sqe.hdr.opcode = ISCSI_HBA_ADM_LOGIN;
	req->timeout = ihba_login_timeout * HZ;
	req->killable = true;
	ret = ihba_admin_exec(h, req);
	if (ret)
		return ret;

	status = req->ctx.status;
	port = ihba_le16(p->portal_port) ?: ISCSI_HBA_DEFAULT_PORT;
	if (ISCSI_HBA_STATUS_IS_ERROR(status)) {
		dev_warn(dev, "login to %s at %s:%u failed: %s (%#x)\n",
			 p->target_name, p->portal_host, port,
			 ihba_isdsc(status), status);
		return 0;
	}
	sid = req->ctx.result;
	id = ihba_sid_slot(sid);
	if (status)
		dev_warn(dev, "login to %s: %s (%#x): %s\n", p->target_name,
			 ihba_isdsc(status), status,
			 iscsi_hba_isdsc_meaning(status) ?: "warning");
	if (id >= h->max_sessions) {
		dev_err(dev, "LOGIN returned session id %#x out of range\n", sid);
		return 0;
	}

	mutex_lock(&h->sess_mutex);
	s = &h->sess[id];
	if (s->sid && s->sid != sid)
		ihba_sess_remove(h, id, true);
	kfree_sensitive(s->params);
	s->params = kmemdup(p, sizeof(*p), GFP_KERNEL);
	strscpy(s->target, p->target_name, sizeof(s->target));
	strscpy(s->portal, p->portal_host, sizeof(s->portal));
	s->port = port;
	s->host_configured = false;
	s->blocked = false;
	s->scanned = true;
	spin_lock_irq(&h->sess_lock);
	s->sid = sid;
	s->live = true;
	s->failed = false;
	spin_unlock_irq(&h->sess_lock);
	mutex_unlock(&h->sess_mutex);

	dev_info(dev, "logged in to %s at %s:%u: session %#x, target %u:0:%u\n",
		 s->target, s->portal, port, sid, h->shost->host_no, id);
	scsi_scan_target(&h->shost->shost_gendev, 0, id, SCAN_WILD_CARD,
			 SCSI_SCAN_INITIAL);
	*target_id = id;
	return 0;
}

/* LOGOUT, after removing the target's devices. */
int ihba_logout(struct ihba *h, u32 sid, struct ihba_admin_req *req)
{
	unsigned int id = ihba_sid_slot(sid);
	int ret;

	mutex_lock(&h->sess_mutex);
	if (id < h->max_sessions && h->sess[id].sid == sid)
		ihba_sess_remove(h, id, !h->sess[id].live);
	mutex_unlock(&h->sess_mutex);

	req->sqe.hdr.opcode = ISCSI_HBA_ADM_LOGOUT;
	req->sqe.hdr.session_id = ihba_cpu32(sid);
	ret = ihba_admin_exec(h, req);
	if (!ret && ISCSI_HBA_STATUS_IS_ERROR(req->ctx.status))
		dev_warn(&h->pdev->dev, "logout of session %#x failed: %s (%#x)\n",
			 sid, ihba_isdsc(req->ctx.status), req->ctx.status);
	else if (!ret)
		dev_info(&h->pdev->dev, "logged out of session %#x\n", sid);
	return ret;
}
