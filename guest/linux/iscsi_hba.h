/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux driver for the iscsi-hba PCI iSCSI host adapter: internal header.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 */

#ifndef _ISCSI_HBA_H
#define _ISCSI_HBA_H

#include <linux/completion.h>
#include <linux/dmapool.h>
#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <scsi/scsi_host.h>

struct iscsi_cls_session;
struct iscsi_cls_conn;
struct iscsi_bus_flash_session;

#include "hw/iscsi-hba/iscsi-hba-abi.h"
#include "iscsi_hba_ioctl.h"

#define IHBA_NAME		"iscsi_hba"
/*
 * The iSCSI transport's name, and the SCSI host's proc_name: open-iscsi
 * takes the transport name from proc_name and drops an "iscsi_" prefix
 * (iscsi_tcp -> tcp), so the two must match without that prefix.
 */
#define IHBA_TRANSPORT		"iscsi-hba"

#define IHBA_ADMIN_SQ_SIZE	32
#define IHBA_ADMIN_CQ_SIZE	32
#define IHBA_ADMIN_SLOTS	16
#define IHBA_NR_AER		ISCSI_HBA_MAX_AER
#define IHBA_TMF_CID		0xffff	/* above every blk-mq tag */
#define IHBA_SGL_ENTRIES	(PAGE_SIZE / sizeof(struct iscsi_hba_sg))
#define IHBA_SGL_MAX_SEGS	8
#define IHBA_EVENT_RING		32

/* ev_flags */
#define IHBA_EV_RESYNC		0	/* re-read all sessions */
#define IHBA_EV_RESET_RESYNC	1	/* ... after a controller reset */

struct ihba;

/* A queue pair: qid 0 is the admin pair, 1..n the I/O pairs. */
struct ihba_queue {
	struct ihba *h;
	u16 qid;
	u16 sq_size;
	u16 cq_size;
	u16 sq_tail;
	u16 sq_head;		/* last sq_head the device reported */
	u16 cq_head;
	u8 cq_phase;
	bool live;
	struct iscsi_hba_sqe *sq;
	struct iscsi_hba_cqe *cq;
	dma_addr_t sq_dma;
	dma_addr_t cq_dma;
	void __iomem *sq_db;
	void __iomem *cq_db;
	spinlock_t sq_lock;	/* sq_tail, SQ entries, SQ doorbell */
	spinlock_t cq_lock;	/* CQ head and phase, CQ doorbell */
	u8 *sense;		/* I/O: SCSI_SENSE_BUFFERSIZE per tag */
	dma_addr_t sense_dma;
	u16 vector;
	u16 depth;		/* I/O: blk-mq tags */
	u16 sq_db_tail;		/* I/O: tail last written to the SQ doorbell */
	u16 cq_db_head;		/* I/O: head last written to the CQ doorbell */
	u16 cq_db_batch;	/* I/O: consumed entries per CQ head write */
	char irqname[32];
	/* I/O work counters (sysfs), each under the lock of its doorbell. */
	u64 sq_doorbells;
	u64 cq_doorbells;
	u64 completions;
};

/* Per SCSI command (scsi_cmd_priv). */
struct ihba_cmd {
	struct iscsi_hba_sg *sgl[IHBA_SGL_MAX_SEGS];
	dma_addr_t sgl_dma[IHBA_SGL_MAX_SEGS];
	u8 nsegs;
	bool inflight;
	bool aborting;		/* ABORT TASK sent for it */
	bool resetting;		/* LUN or target reset sent for its LUN */
	bool mapped;
};

/* Result of a synchronous admin command. */
struct ihba_admin_ctx {
	struct completion done;
	u32 status;
	u16 detail;
	u64 result;
	bool failed;		/* controller reset: no completion */
};

/*
 * An admin request.  in/out are kmalloc'ed buffers that the request
 * owns while it is at the device: after ihba_admin_exec() returns
 * -ETIMEDOUT or -EINTR they belong to the driver (in/out set to NULL).
 */
struct ihba_admin_req {
	struct iscsi_hba_sqe sqe;
	void *in;
	u32 in_len;
	void *out;
	u32 out_len;
	unsigned long timeout;	/* jiffies */
	bool killable;
	struct ihba_admin_ctx ctx;
};

struct ihba_admin_slot {
	bool busy;
	bool aer;
	bool abandoned;
	u8 opcode;
	struct ihba_admin_ctx *ctx;
	void *in;
	void *out;
	dma_addr_t in_dma;
	dma_addr_t out_dma;
	u32 in_len;
	u32 out_len;
};

struct ihba_event {
	u32 status;
	u32 info;
	u64 result;
};

/*
 * A session as the driver sees it, indexed by SCSI target id.  The entry
 * stands for the session's identity (target name, portal, port), not for
 * an adapter slot: it survives a controller reset, a re-login that lands
 * in another slot and an outage of any length, so the disks on it stay
 * the same devices.  It ends only with a logout the user asked for.
 */
struct ihba_session {
	bool used;		/* this target id stands for a session */
	u32 sid;		/* adapter session id; 0: none right now */
	bool live;		/* commands may be sent */
	bool blocked;		/* scsi_target_block() done */
	bool failed;		/* given up (replacement timeout): fail I/O */
	bool host_configured;
	bool scanned;
	u16 port;
	struct iscsi_cls_session *cls;	/* scsi_transport_iscsi */
	struct iscsi_cls_conn *conn;
	char target[ISCSI_HBA_STRING_FIELD];
	char portal[ISCSI_HBA_STRING_FIELD];
	struct iscsi_hba_login_params *params;	/* for logging in again */
};

struct ihba {
	struct pci_dev *pdev;
	struct Scsi_Host *shost;
	void __iomem *regs;
	u32 cap;
	u32 max_io_queues;
	u32 max_queue_entries;
	u32 max_sg;
	u32 max_transfer;
	u32 num_vectors;
	u32 db_offset;
	u32 db_stride;
	u32 max_sessions;
	u16 max_cdb_len;
	u16 num_host_targets;
	u32 command_timeout_s;	/* IDENTIFY command_timeout_ms, rounded up */

	int nr_vecs;
	bool msix;
	bool single_vector;	/* vector 0 serves the I/O queues too */
	unsigned int nr_io_queues;
	struct ihba_queue adminq;
	struct ihba_queue *ioq;
	struct dma_pool *sgl_pool;

	/* admin path */
	spinlock_t admin_lock;
	bool admin_live;
	wait_queue_head_t admin_wait;
	struct ihba_admin_slot slots[IHBA_ADMIN_SLOTS];
	unsigned int nr_slots;		/* < admin SQ size */
	unsigned int nr_aer;
	unsigned int aer_outstanding;
	unsigned int aer_errors;

	/* events */
	spinlock_t ev_lock;
	struct ihba_event ev_ring[IHBA_EVENT_RING];
	unsigned int ev_head, ev_tail;
	bool ev_overflow;
	unsigned long ev_flags;		/* IHBA_EV_* */
	unsigned long *check_map;	/* sessions to re-read, by slot */
	unsigned long *scan_map;	/* targets to scan, by slot */
	bool scan_ready;		/* the Scsi_Host is added */
	unsigned int resync_tries;
	struct workqueue_struct *wq;	/* ordered: events, resync, relogin */
	struct workqueue_struct *reset_wq;	/* fatal resets: never behind events */
	struct workqueue_struct *scan_wq;
	struct work_struct event_work;
	struct work_struct reset_work;
	struct work_struct scan_work;
	struct delayed_work resync_dwork;
	struct delayed_work relogin_dwork;
	wait_queue_head_t sess_wait;	/* a session came back or was given up */
	bool fatal_seen;		/* admin commands fail fast */

	/* sessions */
	struct mutex sess_mutex;
	spinlock_t sess_lock;	/* sid/live for queuecommand and IRQs */
	struct ihba_session *sess;

	/* task management: one at a time */
	struct mutex tmf_mutex;
	struct completion tmf_done;
	bool tmf_busy;
	u32 tmf_status;
	u16 tmf_detail;
	u64 tmf_result;

	struct mutex reset_mutex;	/* one controller reset at a time */
	bool removing;

	/* management device */
	int instance;
	char mgmt_name[24];
	struct miscdevice mdev;
	struct rw_semaphore mgmt_rwsem;
	bool mgmt_registered;
	char serial[33];
	char model[65];
	char firmware[17];
	char initiator[ISCSI_HBA_STRING_FIELD];
	/* host-configured targets as flash nodes (num_host_targets) */
	struct iscsi_bus_flash_session **fnodes;
	unsigned int nr_fnodes;
};

/*
 * The ABI header declares its little-endian fields as plain uintN_t (it is
 * shared with other systems): convert them with these, which tell sparse.
 */
#define ihba_le16(x)	le16_to_cpu((__force __le16)(x))
#define ihba_le32(x)	le32_to_cpu((__force __le32)(x))
#define ihba_le64(x)	le64_to_cpu((__force __le64)(x))
#define ihba_cpu16(x)	((__force u16)cpu_to_le16(x))
#define ihba_cpu32(x)	((__force u32)cpu_to_le32(x))
#define ihba_cpu64(x)	((__force u64)cpu_to_le64(x))

static inline bool ihba_status_ok(u32 status)
{
	return !ISCSI_HBA_STATUS_IS_ERROR(status);
}

static inline const char *ihba_isdsc(u32 status)
{
	const char *name = iscsi_hba_isdsc_name(status);

	return name ? name : "ISDSC_UNKNOWN";
}


/* iscsi_hba_main.c */
int ihba_admin_exec(struct ihba *h, struct ihba_admin_req *req);
void ihba_post_aers(struct ihba *h);
void ihba_admin_req_free(struct ihba_admin_req *req);
int ihba_login(struct ihba *h, struct iscsi_hba_login_params *p,
	       struct ihba_admin_req *req, u32 *target_id);
int ihba_logout(struct ihba *h, u32 sid, struct ihba_admin_req *req);

/* iscsi_hba_sess.c */
void ihba_event_work(struct work_struct *work);
void ihba_scan_work(struct work_struct *work);
void ihba_resync_dwork(struct work_struct *work);
void ihba_resync(struct ihba *h, bool after_reset, bool wait);
u32 ihba_sid_target(struct ihba *h, u32 sid);
void ihba_kick_resync(struct ihba *h);
void ihba_relogin_dwork(struct work_struct *work);
int ihba_session_reset(struct ihba *h, unsigned int id);
bool ihba_sessions_settled(struct ihba *h);
void ihba_sess_mark_failed(struct ihba *h, struct ihba_session *s);
int ihba_logout_id(struct ihba *h, unsigned int id);
int ihba_logout_identity(struct ihba *h, const char *target,
			 const char *portal, u16 port);
void ihba_sess_detach_all(struct ihba *h);

/* iscsi_hba_cls.c */
int ihba_cls_init(void);
void ihba_cls_exit(void);
void ihba_cls_set_transport(struct Scsi_Host *shost);
int ihba_cls_create(struct ihba *h, unsigned int id);
void ihba_cls_destroy(struct ihba_session *s);
void ihba_cls_block(struct ihba_session *s);
void ihba_cls_unblock(struct ihba_session *s);
void ihba_cls_give_up(struct ihba_session *s);
struct device *ihba_cls_target_parent(struct ihba *h, unsigned int id);
int ihba_cls_chkready(struct ihba_session *s);
void ihba_cls_add_flashnode(struct ihba *h, const char *target,
			    const char *portal, u16 port);
void ihba_cls_remove_flashnodes(struct ihba *h);

/* iscsi_hba_mgmt.c */
int ihba_mgmt_register(struct ihba *h);
void ihba_mgmt_unregister(struct ihba *h);

extern unsigned int ihba_admin_timeout;
extern unsigned int ihba_login_timeout;
extern unsigned int ihba_login_wait;
extern unsigned int ihba_replacement_timeout;
extern unsigned int ihba_relogin_interval;

#endif /* _ISCSI_HBA_H */
