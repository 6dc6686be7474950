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
#include <scsi/scsi_transport_iscsi.h>

#include "iscsi_hba.h"

/*
 * sess_mutex serialises the driver's view of the sessions; it is never
 * held across a scan or a target removal, which send I/O.  Nothing on
 * h->wq removes a target: the error handler waits for that work (host
 * reset), and a removal would wait for the error handler (sd's
 * SYNCHRONIZE CACHE).  Targets go away only on a logout the user asked
 * for, or when the adapter is removed.
 */

unsigned int ihba_replacement_timeout = 120;
module_param_named(replacement_timeout, ihba_replacement_timeout, uint, 0644);
MODULE_PARM_DESC(replacement_timeout,
		 "Seconds a session may be down before its I/O fails; logging in again goes on (default 120)");

unsigned int ihba_relogin_interval = 5;
module_param_named(relogin_interval, ihba_relogin_interval, uint, 0644);
MODULE_PARM_DESC(relogin_interval,
		 "Seconds between attempts to log in again to a lost session (default 5)");

static void ihba_sess_set(struct ihba *h, struct ihba_session *s, bool live,
			  bool failed)
{
	unsigned long flags;

	spin_lock_irqsave(&h->sess_lock, flags);
	s->live = live;
	s->failed = failed;
	spin_unlock_irqrestore(&h->sess_lock, flags);
}

static void ihba_set_sid(struct ihba *h, struct ihba_session *s, u32 sid)
{
	unsigned long flags;

	spin_lock_irqsave(&h->sess_lock, flags);
	s->sid = sid;
	spin_unlock_irqrestore(&h->sess_lock, flags);
}

/*
 * Hold the target's I/O until the session is back: the class session
 * blocks (and starts its replacement timeout).
 */
static void ihba_sess_block(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];

	ihba_sess_set(h, s, false, s->failed);
	/* Offline devices (given up) cannot be blocked. */
	if (s->blocked || s->failed)
		return;
	ihba_cls_block(s);
	s->blocked = true;
}

/* The session carries commands again: resume the held and failed I/O. */
static void ihba_sess_up(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];

	ihba_sess_set(h, s, true, false);
	/* From blocked and from transport-offline alike. */
	ihba_cls_unblock(s);
	s->blocked = false;
	wake_up_all(&h->sess_wait);
}

/* The I/O of a session given up fails at once (DID_TRANSPORT_FAILFAST). */
void ihba_sess_mark_failed(struct ihba *h, struct ihba_session *s)
{
	unsigned long flags;

	spin_lock_irqsave(&h->sess_lock, flags);
	s->live = false;
	s->failed = true;
	spin_unlock_irqrestore(&h->sess_lock, flags);
	dev_warn(&h->pdev->dev, "session to %s given up: failing its I/O, still logging in\n",
		 s->target);
	wake_up_all(&h->sess_wait);
}

/*
 * The adapter gave up: fail the held and new I/O at once, as open-iscsi
 * does after the replacement timeout, but keep the target and go on
 * logging in; ihba_sess_up() brings the same devices back.
 */
static void ihba_sess_give_up(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];

	if (s->failed)
		return;
	if (s->cls)
		ihba_cls_give_up(s);	/* calls ihba_sess_mark_failed() */
	else
		ihba_sess_mark_failed(h, s);
	s->blocked = false;
}

static void ihba_queue_scan(struct ihba *h, unsigned int id)
{
	h->sess[id].scanned = true;
	set_bit(id, h->scan_map);
	queue_work(h->scan_wq, &h->scan_work);
}

/*
 * The entry's class session, once the host is added, in the entry's
 * state (a new class session is neither blocked nor logged in).
 */
static void ihba_sess_attach(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];

	if (s->cls || ihba_cls_create(h, id))
		return;
	if (s->live) {
		ihba_cls_unblock(s);
		/* Its devices hang from the class session: scan now. */
		ihba_queue_scan(h, id);
	} else if (s->failed)
		ihba_cls_give_up(s);
	else
		ihba_cls_block(s);
	s->blocked = !s->live && !s->failed;
}

/* A reference to the device the target hangs from, or NULL. */
static struct device *ihba_sess_parent(struct ihba *h, unsigned int id)
{
	struct device *dev;

	mutex_lock(&h->sess_mutex);
	dev = ihba_cls_target_parent(h, id);
	if (dev && (!h->sess[id].sid || !h->sess[id].live))
		dev = NULL;
	dev = get_device(dev);
	mutex_unlock(&h->sess_mutex);
	return dev;
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
		struct device *parent;

		if (!test_and_clear_bit(id, h->scan_map))
			continue;
		parent = ihba_sess_parent(h, id);
		if (parent) {
			scsi_scan_target(parent, 0, id, SCAN_WILD_CARD,
					 SCSI_SCAN_RESCAN);
			put_device(parent);
		}
	}
}

/* Forget the entry; its devices are gone already. */
static void ihba_sess_forget(struct ihba *h, struct ihba_session *s,
			     unsigned int id)
{
	unsigned long flags;

	spin_lock_irqsave(&h->sess_lock, flags);
	s->used = false;
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

/*
 * Remove the target's SCSI devices and forget the session: the user
 * logged out.  The commands it holds fail.  Called with sess_mutex
 * held; drops it meanwhile.
 */
static void ihba_sess_remove(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];
	struct device *dev;

	/* A live session stays usable for sd's SYNCHRONIZE CACHE on the way. */
	if (!s->live)
		ihba_sess_give_up(h, id);
	dev = get_device(ihba_cls_target_parent(h, id));
	if (dev) {
		mutex_unlock(&h->sess_mutex);
		scsi_remove_target(dev);
		put_device(dev);
		mutex_lock(&h->sess_mutex);
	}
	if (s->used) {
		ihba_cls_destroy(s);
		ihba_sess_forget(h, s, id);
	}
}

/* The adapter session behind the entry is gone (reset, LOGOUT, ...). */
static void ihba_sess_lost(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];

	ihba_set_sid(h, s, 0);
	ihba_sess_block(h, id);
	queue_delayed_work(h->wq, &h->relogin_dwork, 0);
}

static void ihba_logout_sid(struct ihba *h, u32 sid);

/*
 * The adapter gave up the session (time2retain passed): fail its I/O,
 * LOGOUT to free the slot, and keep logging in again (spec: Session
 * events), so that the disks come back by themselves with the target.
 */
static void ihba_sess_failed(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];

	ihba_sess_give_up(h, id);
	if (s->sid) {
		ihba_logout_sid(h, s->sid);
		ihba_set_sid(h, s, 0);
	}
	queue_delayed_work(h->wq, &h->relogin_dwork,
			   max(ihba_relogin_interval, 1u) * HZ);
}

/* Make the driver's view of session id follow the adapter's state. */
static void ihba_sess_apply(struct ihba *h, unsigned int id, u16 state)
{
	struct ihba_session *s = &h->sess[id];

	switch (state) {
	case ISCSI_HBA_SESSION_STATE_LOGGED_IN:
		if (!s->live || s->blocked) {
			bool rescan = s->blocked || s->failed || !s->scanned;

			ihba_sess_up(h, id);
			if (rescan)
				ihba_queue_scan(h, id);
		}
		break;
	case ISCSI_HBA_SESSION_STATE_FAILED:
		/* As EVENT_SESSION_FAILED, which may have been lost. */
		ihba_sess_failed(h, id);
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

/* The entry of a session id, or -1. */
static int ihba_sid_id(struct ihba *h, u32 sid)
{
	unsigned int id;

	if (!sid)
		return -1;
	for (id = 0; id < h->max_sessions; id++)
		if (h->sess[id].used && READ_ONCE(h->sess[id].sid) == sid)
			return id;
	return -1;
}

/* The entry of the session with this identity, or -1. */
static int ihba_identity_id(struct ihba *h, const char *target,
			    const char *portal, u16 port)
{
	struct ihba_session *s;
	unsigned int id;

	for (id = 0; id < h->max_sessions; id++) {
		s = &h->sess[id];
		if (s->used && s->port == port && !strcmp(s->target, target) &&
		    !strcmp(s->portal, portal))
			return id;
	}
	return -1;
}

/* A free target id (lowest), marked used, or -1. */
static int ihba_alloc_id(struct ihba *h, const char *target,
			 const char *portal, u16 port)
{
	struct ihba_session *s;
	unsigned int id;

	for (id = 0; id < h->max_sessions; id++) {
		s = &h->sess[id];
		if (s->used)
			continue;
		s->used = true;
		s->live = false;
		s->failed = false;
		s->blocked = false;
		s->scanned = false;
		strscpy(s->target, target, sizeof(s->target));
		strscpy(s->portal, portal, sizeof(s->portal));
		s->port = port;
		return id;
	}
	return -1;
}

/*
 * Login parameters for a session the driver did not log in to (host-
 * configured): enough to log in again after the adapter gave up on it.
 * The host's CHAP secrets are not known to the guest.
 */
static struct iscsi_hba_login_params *
ihba_params_of(const struct iscsi_hba_session_info *info)
{
	struct iscsi_hba_login_params *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return NULL;
	strscpy(p->target_name, info->target_name, sizeof(p->target_name));
	strscpy(p->portal_host, info->portal_host, sizeof(p->portal_host));
	p->portal_port = info->portal_port;
	return p;
}

/*
 * LOGIN with the entry's parameters.  0: logged in (new sid set) or the
 * adapter already has the session (a resync adopts it); -errno else.
 */
static int ihba_relogin(struct ihba *h, unsigned int id, const char *why)
{
	struct ihba_session *s = &h->sess[id];
	struct ihba_admin_req req = { };
	u32 status;
	int ret;

	if (!s->params)
		return -ENOENT;
	req.in = kmemdup(s->params, sizeof(*s->params), GFP_KERNEL);
	if (!req.in)
		return -ENOMEM;
	req.in_len = sizeof(*s->params);
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_LOGIN;
	req.timeout = ihba_login_timeout * HZ;
	ret = ihba_admin_exec(h, &req);
	if (ret) {
		dev_warn(&h->pdev->dev, "login to %s %s: admin command failed: %d\n",
			 s->target, why, ret);
		goto out;
	}
	status = req.ctx.status;
	if (status == ISDSC_TARGET_ALREADY_LOGGED_IN) {
		set_bit(IHBA_EV_RESYNC, &h->ev_flags);
		queue_work(h->wq, &h->event_work);
	} else if (ISCSI_HBA_STATUS_IS_ERROR(status)) {
		dev_warn_ratelimited(&h->pdev->dev, "login to %s %s failed: %s (%#x)\n",
				     s->target, why, ihba_isdsc(status), status);
		ret = -EIO;
	} else {
		dev_info(&h->pdev->dev, "logged in to %s again %s: session %#llx, target %u\n",
			 s->target, why, req.ctx.result, id);
		ihba_set_sid(h, s, req.ctx.result);
		s->host_configured = false;
		ihba_sess_up(h, id);
		ihba_queue_scan(h, id);
	}
out:
	ihba_admin_req_free(&req);
	return ret;
}

/* LOGOUT of an adapter session the driver gives up (failed, reset). */
static void ihba_logout_sid(struct ihba *h, u32 sid)
{
	struct ihba_admin_req req = { };

	req.sqe.hdr.opcode = ISCSI_HBA_ADM_LOGOUT;
	req.sqe.hdr.session_id = ihba_cpu32(sid);
	req.timeout = 10 * HZ;
	if (!ihba_admin_exec(h, &req) && ISCSI_HBA_STATUS_IS_ERROR(req.ctx.status) &&
	    req.ctx.status != ISDSC_INVALID_SESSION_ID)
		dev_warn(&h->pdev->dev, "logout of session %#x failed: %s (%#x)\n",
			 sid, ihba_isdsc(req.ctx.status), req.ctx.status);
}

/* Every session is carrying commands, or has been given up. */
bool ihba_sessions_settled(struct ihba *h)
{
	unsigned int id;

	for (id = 0; id < h->max_sessions; id++)
		if (READ_ONCE(h->sess[id].used) && !READ_ONCE(h->sess[id].live) &&
		    !READ_ONCE(h->sess[id].failed))
			return false;
	return true;
}

/*
 * Sessions without an adapter session: log in again, every
 * relogin_interval, for as long as the entry exists (open-iscsi's
 * behaviour after the replacement timeout).
 */
void ihba_relogin_dwork(struct work_struct *work)
{
	struct ihba *h = container_of(to_delayed_work(work), struct ihba,
				      relogin_dwork);
	bool again = false;
	unsigned int id;

	if (READ_ONCE(h->removing))
		return;
	mutex_lock(&h->sess_mutex);
	for (id = 0; id < h->max_sessions; id++) {
		struct ihba_session *s = &h->sess[id];

		if (!s->used || s->live)
			continue;
		if (!s->sid && s->params && ihba_relogin(h, id, "after a loss"))
			again = true;
		else if (!s->live && !s->failed)
			again = true;	/* reconnecting: keep counting */
	}
	mutex_unlock(&h->sess_mutex);
	if (again && !READ_ONCE(h->removing))
		queue_delayed_work(h->wq, &h->relogin_dwork,
				   max(ihba_relogin_interval, 1u) * HZ);
}

/* Put a listed session into the entry that stands for its identity. */
static void ihba_reconcile_one(struct ihba *h,
			       const struct iscsi_hba_session_info *info,
			       bool *seen)
{
	u32 sid = ihba_le32(info->session_id);
	u16 port = ihba_le16(info->portal_port);
	struct ihba_session *s;
	int id;

	id = ihba_sid_id(h, sid);
	if (id < 0)
		id = ihba_identity_id(h, info->target_name, info->portal_host, port);
	if (id >= 0 && seen[id])
		return;		/* a second session to the same target */
	if (id < 0) {
		id = ihba_alloc_id(h, info->target_name, info->portal_host, port);
		if (id < 0)
			return;
		s = &h->sess[id];
		s->host_configured = !!(ihba_le16(info->flags) &
					ISCSI_HBA_SESSION_HOST_CONFIGURED);
		s->params = ihba_params_of(info);
		dev_info(&h->pdev->dev, "session %#x to %s at %s:%u is target %u\n",
			 sid, s->target, s->portal, s->port, id);
	}
	if (ihba_le16(info->flags) & ISCSI_HBA_SESSION_HOST_CONFIGURED)
		ihba_cls_add_flashnode(h, info->target_name, info->portal_host, port);
	s = &h->sess[id];
	seen[id] = true;
	if (s->sid != sid)
		ihba_set_sid(h, s, sid);
	ihba_sess_attach(h, id);
	ihba_sess_apply(h, id, ihba_le16(info->state));
}

/*
 * Re-read every session from the adapter and reconcile the targets by
 * identity (target name, portal, port), never by adapter slot.
 * after_reset: the old session ids are invalid; log in again to the
 * targets the guest logged in to, and wait for the host-configured ones.
 * A driver error on the way (timeout, no memory, a reset) ends the pass
 * and retries it later: it says nothing about the sessions.
 */
void ihba_resync(struct ihba *h, bool after_reset, bool wait)
{
	struct iscsi_hba_session_info *infos;
	unsigned long deadline = jiffies + (wait ? ihba_login_wait * HZ : 0);
	unsigned int id, n_host, n_ok;
	struct ihba_session *s;
	bool settled, *seen;
	u32 *ids, status;
	int i, n, ret;

	ids = kcalloc(h->max_sessions, sizeof(*ids), GFP_KERNEL);
	infos = kvcalloc(h->max_sessions, sizeof(*infos), GFP_KERNEL);
	seen = kcalloc(h->max_sessions, sizeof(*seen), GFP_KERNEL);
	if (!ids || !infos || !seen)
		goto retry_later;

	mutex_lock(&h->sess_mutex);
	if (after_reset) {
		/* Hold the targets' I/O until their sessions are back. */
		for (id = 0; id < h->max_sessions; id++) {
			if (!h->sess[id].used)
				continue;
			ihba_set_sid(h, &h->sess[id], 0);
			ihba_sess_block(h, id);
		}
		for (id = 0; id < h->max_sessions; id++)
			if (h->sess[id].used && !h->sess[id].host_configured)
				ihba_relogin(h, id, "after reset");
	}
	for (;;) {
		n = ihba_list_sessions(h, ids);
		if (n < 0)
			goto unlock_retry;
		settled = true;
		n_host = 0;
		n_ok = 0;
		for (i = 0; i < n; i++) {
			ret = ihba_session_info(h, ids[i], &infos[n_ok], &status);
			if (ret)
				goto unlock_retry;
			/* Gone since the list: not ours to judge now. */
			if (ISCSI_HBA_STATUS_IS_ERROR(status))
				continue;
			infos[n_ok].session_id = ihba_cpu32(ids[i]);
			if (ihba_le16(infos[n_ok].flags) & ISCSI_HBA_SESSION_HOST_CONFIGURED)
				n_host++;
			if (ihba_le16(infos[n_ok].state) == ISCSI_HBA_SESSION_STATE_LOGGING_IN ||
			    (ihba_le16(infos[n_ok].state) == ISCSI_HBA_SESSION_STATE_RECONNECTING &&
			     !ihba_le32(infos[n_ok].reconnects)))
				settled = false;
			n_ok++;
		}
		if (n_host < h->num_host_targets)
			settled = false;
		if (settled || time_after(jiffies, deadline))
			break;
		msleep(250);
	}

	for (id = 0; id < h->max_sessions; id++)
		if (h->sess[id].used)
			ihba_sess_attach(h, id);
	for (i = 0; i < n_ok; i++)
		ihba_reconcile_one(h, &infos[i], seen);
	for (id = 0; id < h->max_sessions; id++) {
		s = &h->sess[id];
		if (s->used && !seen[id] && s->sid) {
			dev_info(&h->pdev->dev, "session %#x to %s is gone; logging in again\n",
				 s->sid, s->target);
			ihba_sess_lost(h, id);
		}
	}
	if (!ihba_sessions_settled(h))
		queue_delayed_work(h->wq, &h->relogin_dwork,
				   max(ihba_relogin_interval, 1u) * HZ);
	/*
	 * EVENT_LUNS_CHANGED announces a host-configured session's first
	 * login; still look again while some session is on its way, in
	 * case the event was lost (EVENT_OVERFLOW, a reset meanwhile).
	 */
	if (settled || ++h->resync_tries > 24)
		h->resync_tries = 0;
	else if (!READ_ONCE(h->removing))
		queue_delayed_work(h->wq, &h->resync_dwork, 5 * HZ);
	mutex_unlock(&h->sess_mutex);
	goto out;

unlock_retry:
	mutex_unlock(&h->sess_mutex);
retry_later:
	dev_warn(&h->pdev->dev, "could not re-read the sessions; trying again\n");
	if (!READ_ONCE(h->removing))
		queue_delayed_work(h->wq, &h->resync_dwork, 2 * HZ);
out:
	kfree(seen);
	kvfree(infos);
	kfree(ids);
}

/* An I/O completion hinted at a session problem: ask the adapter. */
static void ihba_sess_check(struct ihba *h, unsigned int id)
{
	struct iscsi_hba_session_info *info;
	struct ihba_session *s = &h->sess[id];
	u32 status, sid = s->sid;
	int ret;

	if (!s->used || !sid)
		return;
	info = kmalloc(sizeof(*info), GFP_KERNEL);
	ret = info ? ihba_session_info(h, sid, info, &status) : -ENOMEM;
	if (ret) {
		/* Says nothing about the session: look again later. */
		queue_delayed_work(h->wq, &h->resync_dwork, 2 * HZ);
		goto out;
	}
	if (s->sid != sid)
		goto out;
	if (status == ISDSC_INVALID_SESSION_ID) {
		dev_info(&h->pdev->dev, "session %#x to %s is gone; logging in again\n",
			 sid, s->target);
		ihba_sess_lost(h, id);
	} else if (!ISCSI_HBA_STATUS_IS_ERROR(status)) {
		if (ihba_le16(info->state) == ISCSI_HBA_SESSION_STATE_FAILED)
			ihba_sess_failed(h, id);
		else
			ihba_sess_apply(h, id, ihba_le16(info->state));
	}
out:
	kfree(info);
}
static void ihba_handle_event(struct ihba *h, const struct ihba_event *ev)
{
	u8 type = ISCSI_HBA_EVENT_TYPE(ev->result);
	u32 sid = ISCSI_HBA_EVENT_SESSION(ev->result);
	struct device *dev = &h->pdev->dev;
	struct ihba_session *s = NULL;
	int id;

	if (ISCSI_HBA_STATUS_IS_ERROR(ev->status)) {
		dev_err(dev, "ASYNC_EVENT failed: %s (%#x)\n",
			ihba_isdsc(ev->status), ev->status);
		return;
	}
	id = ihba_sid_id(h, sid);
	if (id >= 0)
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
			ihba_sess_up(h, id);
			ihba_queue_scan(h, id);
		} else {
			set_bit(IHBA_EV_RESYNC, &h->ev_flags);
		}
		break;
	case ISCSI_HBA_EVENT_SESSION_FAILED:
		dev_err(dev, "session %#x to %s failed: %s (%#x); logging in again every %us\n",
			sid, s ? s->target : "?", ihba_isdsc(ev->info), ev->info,
			max(ihba_relogin_interval, 1u));
		if (s)
			ihba_sess_failed(h, id);
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
	int id = ihba_sid_id(h, sid);

	return id < 0 ? ISCSI_HBA_IOC_NO_TARGET : id;
}

void ihba_kick_resync(struct ihba *h)
{
	set_bit(IHBA_EV_RESYNC, &h->ev_flags);
	queue_work(h->wq, &h->event_work);
}

/*
 * Session reset, the step of the error handler between a target reset
 * and a controller reset (spec: escalation): LOGOUT of this one session
 * (the adapter ends its commands first), then LOGIN with the same
 * parameters.  The target, its id and its devices stay.  0: the session
 * is back.
 */
int ihba_session_reset(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];
	int ret;

	mutex_lock(&h->sess_mutex);
	if (!s->used) {
		mutex_unlock(&h->sess_mutex);
		return -ENODEV;
	}
	dev_warn(&h->pdev->dev, "session reset: logging out of %s (session %#x) and in again\n",
		 s->target, s->sid);
	ihba_sess_set(h, s, false, s->failed);
	if (s->sid) {
		ihba_logout_sid(h, s->sid);
		ihba_set_sid(h, s, 0);
	}
	ret = ihba_relogin(h, id, "after a session reset");
	if (!ret && !s->sid)
		ret = -EAGAIN;	/* already logged in: the resync adopts it */
	if (ret)
		queue_delayed_work(h->wq, &h->relogin_dwork,
				   max(ihba_relogin_interval, 1u) * HZ);
	mutex_unlock(&h->sess_mutex);
	return ret;
}

/* LOGIN; on success the session becomes a target and is scanned. */
int ihba_login(struct ihba *h, struct iscsi_hba_login_params *p,
	       struct ihba_admin_req *req, u32 *target_id)
{
	struct device *dev = &h->pdev->dev;
	struct device *parent;
	struct ihba_session *s;
	u32 status, sid;
	u16 port;
	int ret, id;

	/* Strings from user space: the device checks them, printk must not run off. */
	p->target_name[ISCSI_HBA_STRING_FIELD - 1] = 0;
	p->portal_host[ISCSI_HBA_STRING_FIELD - 1] = 0;
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
	if (status)
		dev_warn(dev, "login to %s: %s (%#x): %s\n", p->target_name,
			 ihba_isdsc(status), status,
			 iscsi_hba_isdsc_meaning(status) ?: "warning");

	mutex_lock(&h->sess_mutex);
	/* A session the driver still stands for (e.g. logging in again): reuse it. */
	id = ihba_identity_id(h, p->target_name, p->portal_host, port);
	if (id >= 0 && h->sess[id].sid && h->sess[id].sid != sid) {
		ihba_logout_sid(h, h->sess[id].sid);
		ihba_set_sid(h, &h->sess[id], 0);
	}
	if (id < 0)
		id = ihba_alloc_id(h, p->target_name, p->portal_host, port);
	if (id < 0) {
		mutex_unlock(&h->sess_mutex);
		dev_err(dev, "no target id left for session %#x\n", sid);
		return 0;
	}
	s = &h->sess[id];
	kfree_sensitive(s->params);
	s->params = kmemdup(p, sizeof(*p), GFP_KERNEL);
	s->host_configured = false;
	ihba_set_sid(h, s, sid);
	ihba_sess_attach(h, id);
	ihba_sess_up(h, id);
	s->scanned = true;
	parent = get_device(ihba_cls_target_parent(h, id));
	mutex_unlock(&h->sess_mutex);

	dev_info(dev, "logged in to %s at %s:%u: session %#x, target %u:0:%u\n",
		 s->target, s->portal, port, sid, h->shost->host_no, id);
	if (parent) {
		scsi_scan_target(parent, 0, id, SCAN_WILD_CARD, SCSI_SCAN_INITIAL);
		put_device(parent);
	}
	*target_id = id;
	return 0;
}

/* LOGOUT, after removing the target's devices. */
int ihba_logout(struct ihba *h, u32 sid, struct ihba_admin_req *req)
{
	int ret, id;

	mutex_lock(&h->sess_mutex);
	id = ihba_sid_id(h, sid);
	if (id >= 0)
		ihba_sess_remove(h, id);
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

/* Logout by target id (iscsiadm -m session -u): as ihba_logout(). */
int ihba_logout_id(struct ihba *h, unsigned int id)
{
	struct ihba_admin_req req = { };
	u32 sid;
	int ret;

	mutex_lock(&h->sess_mutex);
	sid = h->sess[id].used ? h->sess[id].sid : 0;
	if (!sid && h->sess[id].used)
		ihba_sess_remove(h, id);	/* no adapter session to end */
	mutex_unlock(&h->sess_mutex);
	if (!sid)
		return 0;
	ret = ihba_logout(h, sid, &req);
	ihba_admin_req_free(&req);
	if (!ret && ISCSI_HBA_STATUS_IS_ERROR(req.ctx.status))
		ret = -EIO;
	return ret;
}

/*
 * Adapter removal: the targets and class sessions go; the entries stay
 * for the LOGOUTs that follow.
 */
void ihba_sess_detach_all(struct ihba *h)
{
	struct ihba_session *s;
	struct device *dev;
	unsigned int id;

	for (id = 0; id < h->max_sessions; id++) {
		s = &h->sess[id];
		dev = get_device(ihba_cls_target_parent(h, id));
		if (!dev)
			continue;
		scsi_remove_target(dev);
		put_device(dev);
		mutex_lock(&h->sess_mutex);
		ihba_cls_destroy(s);
		mutex_unlock(&h->sess_mutex);
	}
}

/* Logout by identity (a flash node); -ENOENT if not logged in. */
int ihba_logout_identity(struct ihba *h, const char *target,
			 const char *portal, u16 port)
{
	int id;

	mutex_lock(&h->sess_mutex);
	id = ihba_identity_id(h, target, portal, port);
	mutex_unlock(&h->sess_mutex);
	return id < 0 ? -ENOENT : ihba_logout_id(h, id);
}
