/* SPDX-License-Identifier: GPL-2.0-or-later WITH Linux-syscall-note */
/*
 * iscsi_hba: management ioctls of /dev/iscsi_hba<N>
 *
 * One character device per adapter.  Every ioctl needs CAP_SYS_ADMIN and
 * takes a fixed-size structure (no embedded pointers except the DISCOVERY
 * output buffer).  Every structure starts with the device's answer:
 *
 *   status  the ISDSC value of the adapter's completion (0 = success;
 *           classify by severity: bits 31:30 == 3 is an error, 2 a
 *           warning such as ISDSC_SHORT_CHAP_SECRET, 0xAFFF0048)
 *   detail  the adapter's detail code (diagnostic only)
 *
 * The ioctl itself returns 0 when the adapter answered (whatever status
 * it gave) and -1/errno when the driver could not ask it: EPERM (no
 * CAP_SYS_ADMIN), EFAULT, EINVAL (bad structure), ENODEV (adapter
 * removed), EIO (controller down or reset), ETIMEDOUT (no answer in time),
 * EINTR (interrupted by a signal), ENOMEM.
 *
 * The 1536-byte login parameter block and the 1024-byte session
 * information are the adapter's struct iscsi_hba_login_params and struct
 * iscsi_hba_session_info (include/hw/iscsi-hba/iscsi-hba-abi.h), passed
 * through unchanged and little-endian.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 */

#ifndef _UAPI_ISCSI_HBA_IOCTL_H
#define _UAPI_ISCSI_HBA_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define ISCSI_HBA_IOC_MAGIC		0xbd	/* free in ioctl-number.rst */

#define ISCSI_HBA_IOC_PARAMS_SIZE	1536	/* struct iscsi_hba_login_params */
#define ISCSI_HBA_IOC_INFO_SIZE		1024	/* struct iscsi_hba_session_info */
#define ISCSI_HBA_IOC_STRING		256
#define ISCSI_HBA_IOC_MAX_SESSIONS	256
#define ISCSI_HBA_IOC_DISCOVERY_MAX	65536	/* largest DISCOVERY answer */
#define ISCSI_HBA_IOC_NO_TARGET		0xffffffff

/*
 * DISCOVERY: SendTargets=All through the portal named in params
 * (session_type 1).  in: params, buf, buf_len (at most
 * ISCSI_HBA_IOC_DISCOVERY_MAX is used).  out: status; buf_len = bytes
 * written, or with ISDSC_BUFFER_TOO_SMALL the bytes needed.  The answer
 * is a sequence of NUL-terminated "TargetName=" / "TargetAddress="
 * strings.
 */
struct iscsi_hba_ioc_discovery {
	__u32 status;
	__u16 detail;
	__u16 rsvd0;
	__u32 buf_len;
	__u32 rsvd1;
	__u64 buf;			/* user pointer */
	__u8  params[ISCSI_HBA_IOC_PARAMS_SIZE];
};

/*
 * LOGIN: in: params (session_type 0).  out: status; on success (or a
 * warning) session_id, and the SCSI address of the target's LUNs
 * (host_no:0:target_id:*), which the driver has scanned.
 */
struct iscsi_hba_ioc_login {
	__u32 status;
	__u16 detail;
	__u16 rsvd0;
	__u32 session_id;
	__u32 host_no;
	__u32 target_id;
	__u32 rsvd1;
	__u8  params[ISCSI_HBA_IOC_PARAMS_SIZE];
};

/* LOGOUT: in: session_id.  The driver removes the target's SCSI devices first. */
struct iscsi_hba_ioc_logout {
	__u32 status;
	__u16 detail;
	__u16 rsvd0;
	__u32 session_id;
	__u32 rsvd1;
};

/* LIST_SESSIONS: out: status, count and the first count ids. */
struct iscsi_hba_ioc_list {
	__u32 status;
	__u16 detail;
	__u16 rsvd0;
	__u32 count;
	__u32 rsvd1;
	__u32 ids[ISCSI_HBA_IOC_MAX_SESSIONS];
};

/*
 * SESSION_INFO: in: session_id.  out: status, info, and the SCSI address
 * the driver gave the session (target_id ISCSI_HBA_IOC_NO_TARGET if none).
 */
struct iscsi_hba_ioc_session_info {
	__u32 status;
	__u16 detail;
	__u16 rsvd0;
	__u32 session_id;
	__u32 host_no;
	__u32 target_id;
	__u32 rsvd1;
	__u8  info[ISCSI_HBA_IOC_INFO_SIZE];
};

/*
 * SET_INITIATOR_NAME: in: name, len (1 .. 223, no NUL needed).
 * GET_INITIATOR_NAME: out: name (NUL-terminated), len (without the NUL).
 */
struct iscsi_hba_ioc_name {
	__u32 status;
	__u16 detail;
	__u16 rsvd0;
	__u32 len;
	__u32 rsvd1;
	char  name[ISCSI_HBA_IOC_STRING];
};

/*
 * SET_CHAP_SECRET: in: secret (len bytes, 1 .. 255, no NUL byte), which
 * (0: the initiator secret a target proves itself with in mutual CHAP).
 */
struct iscsi_hba_ioc_chap_secret {
	__u32 status;
	__u16 detail;
	__u16 rsvd0;
	__u32 len;
	__u32 which;
	__u8  secret[ISCSI_HBA_IOC_STRING];
};

#define ISCSI_HBA_IOC_DISCOVERY \
	_IOWR(ISCSI_HBA_IOC_MAGIC, 1, struct iscsi_hba_ioc_discovery)
#define ISCSI_HBA_IOC_LOGIN \
	_IOWR(ISCSI_HBA_IOC_MAGIC, 2, struct iscsi_hba_ioc_login)
#define ISCSI_HBA_IOC_LOGOUT \
	_IOWR(ISCSI_HBA_IOC_MAGIC, 3, struct iscsi_hba_ioc_logout)
#define ISCSI_HBA_IOC_LIST_SESSIONS \
	_IOWR(ISCSI_HBA_IOC_MAGIC, 4, struct iscsi_hba_ioc_list)
#define ISCSI_HBA_IOC_SESSION_INFO \
	_IOWR(ISCSI_HBA_IOC_MAGIC, 5, struct iscsi_hba_ioc_session_info)
#define ISCSI_HBA_IOC_SET_INITIATOR_NAME \
	_IOWR(ISCSI_HBA_IOC_MAGIC, 6, struct iscsi_hba_ioc_name)
#define ISCSI_HBA_IOC_GET_INITIATOR_NAME \
	_IOWR(ISCSI_HBA_IOC_MAGIC, 7, struct iscsi_hba_ioc_name)
#define ISCSI_HBA_IOC_SET_CHAP_SECRET \
	_IOWR(ISCSI_HBA_IOC_MAGIC, 8, struct iscsi_hba_ioc_chap_secret)

#endif /* _UAPI_ISCSI_HBA_IOCTL_H */
