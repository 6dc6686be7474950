// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_hba: the adapter as an offload iSCSI HBA of scsi_transport_iscsi.
 *
 * Every session the driver stands for (struct ihba_session) is an
 * iscsi_cls_session with one iscsi_cls_conn, whose target id is the
 * session's SCSI target id.  So /sys/class/iscsi_{host,session,connection}
 * describe them, the disks sit under .../hostN/sessionM/targetN:0:T/ (which
 * is what udev's path_id needs for /dev/disk/by-path/ip-...-iscsi-...),
 * iscsiadm -m session lists them, and the class runs the replacement
 * timeout (recovery_tmo, the replacement_timeout parameter by default).
 *
 * Logins are the adapter's (CAP_LOGIN_OFFLOAD): through the management
 * device or host configuration; iscsid's login callbacks are not offered.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 */

#include <linux/slab.h>
#include <linux/string.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_transport_iscsi.h>

#include "iscsi_hba.h"

struct ihba_cls_priv {
	struct ihba *h;
	unsigned int id;
};

/* A host-configured target as a flash node (qla4xxx's DDB entries). */
struct ihba_fnode_priv {
	struct ihba *h;
	u16 port;
	char target[ISCSI_HBA_STRING_FIELD];
	char portal[ISCSI_HBA_STRING_FIELD];
};

static struct scsi_transport_template *ihba_stt;

static struct ihba_session *ihba_cls_entry(struct iscsi_cls_session *cls,
					   struct ihba **hp)
{
	struct ihba_cls_priv *p = cls->dd_data;

	*hp = p->h;
	return &p->h->sess[p->id];
}

static umode_t ihba_attr_is_visible(int param_type, int param)
{
	switch (param_type) {
	case ISCSI_HOST_PARAM:
		switch (param) {
		case ISCSI_HOST_PARAM_INITIATOR_NAME:
			return 0444;
		default:
			return 0;
		}
	case ISCSI_FLASHNODE_PARAM:
		switch (param) {
		case ISCSI_FLASHNODE_NAME:
		case ISCSI_FLASHNODE_IPADDR:
		case ISCSI_FLASHNODE_PORT:
			return 0444;
		default:
			return 0;
		}
	case ISCSI_PARAM:
		switch (param) {
		case ISCSI_PARAM_TARGET_NAME:
		case ISCSI_PARAM_INITIATOR_NAME:
		case ISCSI_PARAM_IFACE_NAME:
		case ISCSI_PARAM_PERSISTENT_ADDRESS:
		case ISCSI_PARAM_PERSISTENT_PORT:
		case ISCSI_PARAM_CONN_ADDRESS:
		case ISCSI_PARAM_CONN_PORT:
			return 0444;
		default:
			return 0;
		}
	default:
		return 0;
	}
}

/*
 * No negotiated values (digests, burst lengths, R2T, immediate data):
 * SESSION_INFO reports them as unknown (0) in this version of the
 * adapter, and an attribute must not make one up.  No user name: 6.1's
 * class shows the password attribute when USERNAME is visible.
 */
static int ihba_get_session_param(struct iscsi_cls_session *cls,
				  enum iscsi_param param, char *buf)
{
	struct ihba *h;
	struct ihba_session *s = ihba_cls_entry(cls, &h);
	const struct iscsi_hba_login_params *p = s->params;

	switch (param) {
	case ISCSI_PARAM_TARGET_NAME:
		return sysfs_emit(buf, "%s\n", s->target);
	case ISCSI_PARAM_INITIATOR_NAME:
		return sysfs_emit(buf, "%.*s\n", ISCSI_HBA_STRING_FIELD - 1,
				  p && p->initiator_name[0] ? p->initiator_name :
				  h->initiator);
	case ISCSI_PARAM_IFACE_NAME:
		/* open-iscsi's offload iface naming: <transport>.<identity> */
		return sysfs_emit(buf, "%s.%s\n", IHBA_TRANSPORT, h->serial);
	default:
		return -ENOSYS;
	}
}

static int ihba_get_conn_param(struct iscsi_cls_conn *conn,
			       enum iscsi_param param, char *buf)
{
	struct iscsi_cls_session *cls = iscsi_conn_to_session(conn);
	struct ihba *h;
	struct ihba_session *s = ihba_cls_entry(cls, &h);

	switch (param) {
	case ISCSI_PARAM_PERSISTENT_ADDRESS:
	case ISCSI_PARAM_CONN_ADDRESS:
		return sysfs_emit(buf, "%s\n", s->portal);
	case ISCSI_PARAM_PERSISTENT_PORT:
	case ISCSI_PARAM_CONN_PORT:
		return sysfs_emit(buf, "%u\n", s->port);
	default:
		return -ENOSYS;
	}
}

static int ihba_get_host_param(struct Scsi_Host *shost,
			       enum iscsi_host_param param, char *buf)
{
	struct ihba *h = shost_priv(shost);

	switch (param) {
	case ISCSI_HOST_PARAM_INITIATOR_NAME:
		return sysfs_emit(buf, "%s\n", h->initiator);
	default:
		return -ENOSYS;
	}
}

static int ihba_get_flashnode_param(struct iscsi_bus_flash_session *fs,
				    int param, char *buf)
{
	struct ihba_fnode_priv *f = fs->dd_data;

	switch (param) {
	case ISCSI_FLASHNODE_NAME:
		return sysfs_emit(buf, "%s\n", f->target);
	case ISCSI_FLASHNODE_IPADDR:
		return sysfs_emit(buf, "%s\n", f->portal);
	case ISCSI_FLASHNODE_PORT:
		return sysfs_emit(buf, "%u\n", f->port);
	default:
		return -ENOSYS;
	}
}

/*
 * Log in to a host-configured target from the guest: a LOGIN like the
 * management device's, without CHAP (the host's secrets stay on the
 * host).  The adapter logs in to these targets by itself at every
 * enable; this is for after a logout.
 */
static int ihba_login_flashnode(struct iscsi_bus_flash_session *fs,
				struct iscsi_bus_flash_conn *fc)
{
	struct ihba_fnode_priv *f = fs->dd_data;
	struct iscsi_hba_login_params *p;
	struct ihba_admin_req req = { };
	u32 target_id;
	int ret;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	strscpy(p->target_name, f->target, sizeof(p->target_name));
	strscpy(p->portal_host, f->portal, sizeof(p->portal_host));
	p->portal_port = ihba_cpu16(f->port);
	ret = ihba_login(f->h, p, &req, &target_id);
	if (!ret && req.ctx.status == ISDSC_TARGET_ALREADY_LOGGED_IN)
		ret = -EEXIST;
	else if (!ret && ISCSI_HBA_STATUS_IS_ERROR(req.ctx.status))
		ret = -EIO;
	ihba_admin_req_free(&req);
	kfree(p);
	return ret;
}

static int ihba_logout_flashnode(struct iscsi_bus_flash_session *fs,
				 struct iscsi_bus_flash_conn *fc)
{
	struct ihba_fnode_priv *f = fs->dd_data;

	return ihba_logout_identity(f->h, f->target, f->portal, f->port);
}

/* The class's replacement timeout ran out: fail the session's I/O. */
static void ihba_recovery_timedout(struct iscsi_cls_session *cls)
{
	struct ihba *h;
	struct ihba_session *s = ihba_cls_entry(cls, &h);

	ihba_sess_mark_failed(h, s);
}

/* iscsiadm -m session -u of a session the adapter made: LOGOUT. */
static int ihba_logout_sid_cb(struct iscsi_cls_session *cls)
{
	struct ihba_cls_priv *p = cls->dd_data;

	return ihba_logout_id(p->h, p->id);
}

static struct iscsi_transport ihba_iscsi_transport = {
	.owner			= THIS_MODULE,
	.name			= IHBA_TRANSPORT,
	.caps			= CAP_DATA_PATH_OFFLOAD | CAP_LOGIN_OFFLOAD |
				  CAP_HDRDGST | CAP_DATADGST,
	.attr_is_visible	= ihba_attr_is_visible,
	.get_session_param	= ihba_get_session_param,
	.get_conn_param		= ihba_get_conn_param,
	.get_host_param		= ihba_get_host_param,
	.session_recovery_timedout = ihba_recovery_timedout,
	.get_flashnode_param	= ihba_get_flashnode_param,
	.login_flashnode	= ihba_login_flashnode,
	.logout_flashnode	= ihba_logout_flashnode,
	.logout_flashnode_sid	= ihba_logout_sid_cb,
};

void ihba_cls_set_transport(struct Scsi_Host *shost)
{
	shost->transportt = ihba_stt;
}

/*
 * Give the entry its class session and connection, once the host is
 * added (events are handled before).  Called with sess_mutex held.
 */
int ihba_cls_create(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];
	struct iscsi_cls_session *cls;
	struct iscsi_cls_conn *conn;
	struct ihba_cls_priv *p;
	int ret;

	if (s->cls || !READ_ONCE(h->scan_ready))
		return 0;
	cls = iscsi_alloc_session(h->shost, &ihba_iscsi_transport, sizeof(*p));
	if (!cls)
		return -ENOMEM;
	p = cls->dd_data;
	p->h = h;
	p->id = id;
	cls->recovery_tmo = ihba_replacement_timeout;
	cls->creator = -1;	/* the kernel's: iscsid must not recover it */
	ret = iscsi_add_session(cls, id);
	if (ret)
		goto free_sess;
	conn = iscsi_alloc_conn(cls, 0, 0);
	if (!conn) {
		ret = -ENOMEM;
		goto remove_sess;
	}
	ret = iscsi_add_conn(conn);
	if (ret) {
		iscsi_put_conn(conn);
		goto remove_sess;
	}
	conn->state = ISCSI_CONN_DOWN;
	s->cls = cls;
	s->conn = conn;
	return 0;

remove_sess:
	iscsi_remove_session(cls);
free_sess:
	iscsi_free_session(cls);
	dev_warn(&h->pdev->dev, "no iSCSI class session for target %u: %d\n",
		 id, ret);
	return ret;
}

/* The SCSI target and its devices are gone already. */
void ihba_cls_destroy(struct ihba_session *s)
{
	if (!s->cls)
		return;
	iscsi_remove_conn(s->conn);
	iscsi_put_conn(s->conn);
	iscsi_remove_session(s->cls);
	iscsi_free_session(s->cls);
	s->cls = NULL;
	s->conn = NULL;
}

void ihba_cls_block(struct ihba_session *s)
{
	if (!s->cls)
		return;
	s->conn->state = ISCSI_CONN_FAILED;
	iscsi_block_session(s->cls);
}

void ihba_cls_unblock(struct ihba_session *s)
{
	if (!s->cls)
		return;
	iscsi_unblock_session(s->cls);
	s->conn->state = ISCSI_CONN_UP;
}

/*
 * Give up now (the adapter did, EVENT_SESSION_FAILED): what the class
 * does when the replacement timeout runs out, without waiting for it.
 */
void ihba_cls_give_up(struct ihba_session *s)
{
	if (!s->cls)
		return;
	iscsi_block_session(s->cls);
	flush_work(&s->cls->block_work);
	mod_delayed_work(s->cls->workq, &s->cls->recovery_work, 0);
	flush_delayed_work(&s->cls->recovery_work);
}

/*
 * A flash node for a host-configured target, the first time the driver
 * sees one of its sessions.  Flash node indexes are 0.. in that order.
 */
void ihba_cls_add_flashnode(struct ihba *h, const char *target,
			    const char *portal, u16 port)
{
	struct iscsi_bus_flash_session *fs;
	struct ihba_fnode_priv *f;
	unsigned int i;

	if (!READ_ONCE(h->scan_ready))
		return;
	for (i = 0; i < h->nr_fnodes; i++) {
		f = h->fnodes[i]->dd_data;
		if (f->port == port && !strcmp(f->target, target) &&
		    !strcmp(f->portal, portal))
			return;
	}
	if (h->nr_fnodes >= h->num_host_targets)
		return;
	fs = iscsi_create_flashnode_sess(h->shost, h->nr_fnodes,
					 &ihba_iscsi_transport, sizeof(*f));
	if (!fs)
		return;
	f = fs->dd_data;
	f->h = h;
	f->port = port;
	strscpy(f->target, target, sizeof(f->target));
	strscpy(f->portal, portal, sizeof(f->portal));
	if (!iscsi_create_flashnode_conn(h->shost, fs, &ihba_iscsi_transport, 0)) {
		iscsi_destroy_flashnode_sess(fs);
		return;
	}
	h->fnodes[h->nr_fnodes++] = fs;
}

void ihba_cls_remove_flashnodes(struct ihba *h)
{
	iscsi_destroy_all_flashnode(h->shost);
	h->nr_fnodes = 0;
}

struct device *ihba_cls_target_parent(struct ihba *h, unsigned int id)
{
	struct ihba_session *s = &h->sess[id];

	return s->cls ? &s->cls->dev : NULL;
}

int ihba_cls_chkready(struct ihba_session *s)
{
	return s->cls ? iscsi_session_chkready(s->cls) : 0;
}

int ihba_cls_init(void)
{
	ihba_stt = iscsi_register_transport(&ihba_iscsi_transport);
	return ihba_stt ? 0 : -ENODEV;
}

void ihba_cls_exit(void)
{
	iscsi_unregister_transport(&ihba_iscsi_transport);
}
