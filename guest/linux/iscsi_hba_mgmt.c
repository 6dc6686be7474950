// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_hba: the management character device /dev/iscsi_hba<N>.
 *
 * Discovery, login, logout, session queries, initiator name and CHAP
 * secret, as ioctls (iscsi_hba_ioctl.h).  Every reply carries the
 * adapter's ISDSC status; the ioctl fails only when the adapter could not
 * be asked.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 */

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "iscsi_hba.h"

static_assert(sizeof(struct iscsi_hba_login_params) == ISCSI_HBA_IOC_PARAMS_SIZE);
static_assert(sizeof(struct iscsi_hba_session_info) == ISCSI_HBA_IOC_INFO_SIZE);
static_assert(sizeof(struct iscsi_hba_ioc_discovery) == 24 + ISCSI_HBA_IOC_PARAMS_SIZE);
static_assert(sizeof(struct iscsi_hba_ioc_login) == 24 + ISCSI_HBA_IOC_PARAMS_SIZE);
static_assert(sizeof(struct iscsi_hba_ioc_logout) == 16);
static_assert(sizeof(struct iscsi_hba_ioc_list) == 16 + 4 * ISCSI_HBA_IOC_MAX_SESSIONS);
static_assert(sizeof(struct iscsi_hba_ioc_session_info) == 24 + ISCSI_HBA_IOC_INFO_SIZE);
static_assert(sizeof(struct iscsi_hba_ioc_name) == 16 + ISCSI_HBA_IOC_STRING);
static_assert(sizeof(struct iscsi_hba_ioc_chap_secret) == 16 + ISCSI_HBA_IOC_STRING);

static void ihba_reply(struct ihba_admin_req *req, __u32 *status, __u16 *detail)
{
	*status = req->ctx.status;
	*detail = req->ctx.detail;
}

static int ihba_ioc_discovery(struct ihba *h, void __user *argp)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_ioc_discovery *d;
	u32 len, n;
	int ret;

	d = memdup_user(argp, sizeof(*d));
	if (IS_ERR(d))
		return PTR_ERR(d);
	len = clamp_t(u32, d->buf_len, 16, ISCSI_HBA_IOC_DISCOVERY_MAX);
	req.in = kmemdup(d->params, sizeof(d->params), GFP_KERNEL);
	req.out = kzalloc(len, GFP_KERNEL);
	ret = -ENOMEM;
	if (!req.in || !req.out)
		goto out;
	req.in_len = sizeof(d->params);
	req.out_len = min(len, d->buf_len) ?: len;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_DISCOVERY;
	req.timeout = ihba_login_timeout * HZ;
	req.killable = true;
	ret = ihba_admin_exec(h, &req);
	if (ret)
		goto out;

	ihba_reply(&req, &d->status, &d->detail);
	n = 0;
	if (!ISCSI_HBA_STATUS_IS_ERROR(d->status)) {
		n = min_t(u64, req.ctx.result, req.out_len);
		/* Never more than the caller's buffer holds, even if that is 0. */
		if (n > d->buf_len) {
			d->status = ISDSC_BUFFER_TOO_SMALL;
		} else if (n && copy_to_user(u64_to_user_ptr(d->buf), req.out, n)) {
			ret = -EFAULT;
			goto out;
		}
	} else if (d->status == ISDSC_BUFFER_TOO_SMALL) {
		n = min_t(u64, req.ctx.result, U32_MAX);
	} else {
		dev_info(&h->pdev->dev, "discovery at %.255s failed: %s (%#x)\n",
			 ((struct iscsi_hba_login_params *)d->params)->portal_host,
			 ihba_isdsc(d->status), d->status);
	}
	d->buf_len = n;
	memzero_explicit(d->params, sizeof(d->params));
	if (copy_to_user(argp, d, sizeof(*d)))
		ret = -EFAULT;
out:
	ihba_admin_req_free(&req);
	kfree_sensitive(d);
	return ret;
}

static int ihba_ioc_login(struct ihba *h, void __user *argp)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_ioc_login *l;
	u32 target = ISCSI_HBA_IOC_NO_TARGET;
	int ret;

	l = memdup_user(argp, sizeof(*l));
	if (IS_ERR(l))
		return PTR_ERR(l);
	ret = ihba_login(h, (struct iscsi_hba_login_params *)l->params, &req,
			 &target);
	if (ret)
		goto out;
	ihba_reply(&req, &l->status, &l->detail);
	l->session_id = ISCSI_HBA_STATUS_IS_ERROR(l->status) ? 0 : req.ctx.result;
	l->host_no = h->shost->host_no;
	l->target_id = target;
	memzero_explicit(l->params, sizeof(l->params));
	if (copy_to_user(argp, l, sizeof(*l)))
		ret = -EFAULT;
out:
	ihba_admin_req_free(&req);
	kfree_sensitive(l);
	return ret;
}

static int ihba_ioc_logout(struct ihba *h, void __user *argp)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_ioc_logout l;
	int ret;

	if (copy_from_user(&l, argp, sizeof(l)))
		return -EFAULT;
	ret = ihba_logout(h, l.session_id, &req);
	if (ret)
		return ret;
	ihba_reply(&req, &l.status, &l.detail);
	return copy_to_user(argp, &l, sizeof(l)) ? -EFAULT : 0;
}

static int ihba_ioc_list(struct ihba *h, void __user *argp)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_ioc_list *l;
	bool unknown = false;
	u32 i, n;
	int ret;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	req.out_len = h->max_sessions * sizeof(u32);
	req.out = kzalloc(req.out_len, GFP_KERNEL);
	ret = -ENOMEM;
	if (!l || !req.out)
		goto out;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_LIST_SESSIONS;
	ret = ihba_admin_exec(h, &req);
	if (ret)
		goto out;
	ihba_reply(&req, &l->status, &l->detail);
	if (!ISCSI_HBA_STATUS_IS_ERROR(l->status)) {
		n = min_t(u64, req.ctx.result, h->max_sessions);
		n = min_t(u32, n, ARRAY_SIZE(l->ids));
		for (i = 0; i < n; i++) {
			l->ids[i] = le32_to_cpu(((__le32 *)req.out)[i]);
			if (ihba_sid_target(h, l->ids[i]) == ISCSI_HBA_IOC_NO_TARGET)
				unknown = true;
		}
		l->count = n;
	}
	/* A session the driver has not seen yet (host-configured): adopt it. */
	if (unknown)
		ihba_kick_resync(h);
	if (copy_to_user(argp, l, sizeof(*l)))
		ret = -EFAULT;
out:
	ihba_admin_req_free(&req);
	kfree(l);
	return ret;
}

static int ihba_ioc_session_info(struct ihba *h, void __user *argp)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_ioc_session_info *si;
	int ret;

	si = memdup_user(argp, sizeof(*si));
	if (IS_ERR(si))
		return PTR_ERR(si);
	req.out_len = sizeof(si->info);
	req.out = kzalloc(req.out_len, GFP_KERNEL);
	ret = -ENOMEM;
	if (!req.out)
		goto out;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_SESSION_INFO;
	req.sqe.hdr.session_id = ihba_cpu32(si->session_id);
	ret = ihba_admin_exec(h, &req);
	if (ret)
		goto out;
	ihba_reply(&req, &si->status, &si->detail);
	memset(si->info, 0, sizeof(si->info));
	if (!ISCSI_HBA_STATUS_IS_ERROR(si->status))
		memcpy(si->info, req.out, sizeof(si->info));
	si->host_no = h->shost->host_no;
	si->target_id = ihba_sid_target(h, si->session_id);
	if (copy_to_user(argp, si, sizeof(*si)))
		ret = -EFAULT;
out:
	ihba_admin_req_free(&req);
	kfree(si);
	return ret;
}

static int ihba_ioc_set_name(struct ihba *h, void __user *argp)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_ioc_name *nm;
	int ret;

	nm = memdup_user(argp, sizeof(*nm));
	if (IS_ERR(nm))
		return PTR_ERR(nm);
	ret = -EINVAL;
	if (!nm->len || nm->len >= sizeof(nm->name))
		goto out;
	ret = -ENOMEM;
	req.in = kmemdup(nm->name, nm->len, GFP_KERNEL);
	if (!req.in)
		goto out;
	req.in_len = nm->len;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_SET_INITIATOR_NAME;
	ret = ihba_admin_exec(h, &req);
	if (ret)
		goto out;
	ihba_reply(&req, &nm->status, &nm->detail);
	if (ISCSI_HBA_STATUS_IS_ERROR(nm->status))
		dev_info(&h->pdev->dev, "initiator name %.*s refused: %s (%#x)\n",
			 (int)nm->len, nm->name, ihba_isdsc(nm->status), nm->status);
	else
		dev_info(&h->pdev->dev, "initiator name is now %.*s\n",
			 (int)nm->len, nm->name);
	if (copy_to_user(argp, nm, sizeof(*nm)))
		ret = -EFAULT;
out:
	ihba_admin_req_free(&req);
	kfree(nm);
	return ret;
}

static int ihba_ioc_get_name(struct ihba *h, void __user *argp)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_ioc_name *nm;
	int ret = -ENOMEM;

	nm = kzalloc(sizeof(*nm), GFP_KERNEL);
	req.out_len = sizeof(nm->name);
	req.out = kzalloc(req.out_len, GFP_KERNEL);
	if (!nm || !req.out)
		goto out;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_GET_INITIATOR_NAME;
	ret = ihba_admin_exec(h, &req);
	if (ret)
		goto out;
	ihba_reply(&req, &nm->status, &nm->detail);
	if (!ISCSI_HBA_STATUS_IS_ERROR(nm->status)) {
		memcpy(nm->name, req.out, sizeof(nm->name) - 1);
		nm->len = strnlen(nm->name, sizeof(nm->name));
	}
	if (copy_to_user(argp, nm, sizeof(*nm)))
		ret = -EFAULT;
out:
	ihba_admin_req_free(&req);
	kfree(nm);
	return ret;
}

static int ihba_ioc_chap_secret(struct ihba *h, void __user *argp)
{
	struct ihba_admin_req req = { };
	struct iscsi_hba_ioc_chap_secret *cs;
	int ret;

	cs = memdup_user(argp, sizeof(*cs));
	if (IS_ERR(cs))
		return PTR_ERR(cs);
	ret = -EINVAL;
	if (!cs->len || cs->len >= sizeof(cs->secret))
		goto out;
	ret = -ENOMEM;
	req.in = kmemdup(cs->secret, cs->len, GFP_KERNEL);
	if (!req.in)
		goto out;
	req.in_len = cs->len;
	req.sqe.hdr.opcode = ISCSI_HBA_ADM_SET_CHAP_SECRET;
	req.sqe.u.buf.param = ihba_cpu32(cs->which);
	ret = ihba_admin_exec(h, &req);
	if (ret)
		goto out;
	ihba_reply(&req, &cs->status, &cs->detail);
	if (cs->status)
		dev_info(&h->pdev->dev, "SET_CHAP_SECRET: %s (%#x)\n",
			 ihba_isdsc(cs->status), cs->status);
	memzero_explicit(cs->secret, sizeof(cs->secret));
	if (copy_to_user(argp, cs, sizeof(*cs)))
		ret = -EFAULT;
out:
	ihba_admin_req_free(&req);
	kfree_sensitive(cs);
	return ret;
}

static struct ihba *ihba_from_file(struct file *file)
{
	return container_of(file->private_data, struct ihba, mdev);
}

static long ihba_mgmt_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct ihba *h = ihba_from_file(file);
	void __user *argp = (void __user *)arg;
	long ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	down_read(&h->mgmt_rwsem);
	if (!h->mgmt_registered) {
		ret = -ENODEV;
		goto out;
	}
	switch (cmd) {
	case ISCSI_HBA_IOC_DISCOVERY:
		ret = ihba_ioc_discovery(h, argp);
		break;
	case ISCSI_HBA_IOC_LOGIN:
		ret = ihba_ioc_login(h, argp);
		break;
	case ISCSI_HBA_IOC_LOGOUT:
		ret = ihba_ioc_logout(h, argp);
		break;
	case ISCSI_HBA_IOC_LIST_SESSIONS:
		ret = ihba_ioc_list(h, argp);
		break;
	case ISCSI_HBA_IOC_SESSION_INFO:
		ret = ihba_ioc_session_info(h, argp);
		break;
	case ISCSI_HBA_IOC_SET_INITIATOR_NAME:
		ret = ihba_ioc_set_name(h, argp);
		break;
	case ISCSI_HBA_IOC_GET_INITIATOR_NAME:
		ret = ihba_ioc_get_name(h, argp);
		break;
	case ISCSI_HBA_IOC_SET_CHAP_SECRET:
		ret = ihba_ioc_chap_secret(h, argp);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
out:
	up_read(&h->mgmt_rwsem);
	return ret;
}

static int ihba_mgmt_open(struct inode *inode, struct file *file)
{
	struct ihba *h = ihba_from_file(file);

	/* Keeps h (the Scsi_Host's private data) alive until release. */
	if (!scsi_host_get(h->shost))
		return -ENODEV;
	return nonseekable_open(inode, file);
}

static int ihba_mgmt_release(struct inode *inode, struct file *file)
{
	scsi_host_put(ihba_from_file(file)->shost);
	return 0;
}

static const struct file_operations ihba_mgmt_fops = {
	.owner		= THIS_MODULE,
	.open		= ihba_mgmt_open,
	.release	= ihba_mgmt_release,
	.unlocked_ioctl	= ihba_mgmt_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

int ihba_mgmt_register(struct ihba *h)
{
	int ret;

	h->mdev.minor = MISC_DYNAMIC_MINOR;
	h->mdev.name = h->mgmt_name;
	h->mdev.fops = &ihba_mgmt_fops;
	h->mdev.parent = &h->pdev->dev;
	h->mdev.mode = 0600;
	ret = misc_register(&h->mdev);
	if (!ret)
		h->mgmt_registered = true;
	return ret;
}

void ihba_mgmt_unregister(struct ihba *h)
{
	if (!h->mgmt_registered)
		return;
	misc_deregister(&h->mdev);
	down_write(&h->mgmt_rwsem);
	h->mgmt_registered = false;
	up_write(&h->mgmt_rwsem);
}
