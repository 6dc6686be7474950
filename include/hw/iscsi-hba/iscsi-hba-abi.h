/*
 * iscsi-hba guest ABI: registers, queue entry layouts, opcodes and the
 * ISDSC status table of the iscsi-hba PCI device.
 *
 * This header is the contract between the device model (QEMU), its tests,
 * and guest drivers (Linux, Windows, option ROMs).  It is standalone: it
 * includes no QEMU header and compiles as plain C99 or later, inside a Linux
 * kernel module (__KERNEL__), and in a Windows kernel driver.  The prose
 * specification is docs/specs/iscsi-hba.rst; where they disagree, fix both.
 *
 * All multi-byte fields are little-endian.  Every structure is naturally
 * aligned and padded explicitly, so no packing pragma is needed; the static
 * assertions at the end pin every size and offset.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR BSD-2-Clause
 */

#ifndef ISCSI_HBA_ABI_H
#define ISCSI_HBA_ABI_H

#if defined(__KERNEL__)
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

/*
 * PCI identity
 */

#define ISCSI_HBA_PCI_VENDOR_ID         0x1af4  /* Red Hat / QEMU */
#define ISCSI_HBA_PCI_DEVICE_ID         0x10f5  /* experimental range */
#define ISCSI_HBA_PCI_SUBVENDOR_ID      0x1af4
#define ISCSI_HBA_PCI_SUBDEVICE_ID      0x1100  /* QEMU emulated device */
#define ISCSI_HBA_PCI_CLASS             0x010000 /* mass storage, SCSI */
#define ISCSI_HBA_PCI_REVISION          0x01

/* BAR0: 64-bit memory BAR holding registers, doorbells and MSI-X. */
#define ISCSI_HBA_BAR_REGS              0
#define ISCSI_HBA_BAR0_SIZE             0x4000
#define ISCSI_HBA_MSIX_TABLE_OFFSET     0x2000
#define ISCSI_HBA_MSIX_PBA_OFFSET       0x3000

/*
 * Registers (BAR0).  32-bit registers; 64-bit accesses are split into two
 * 32-bit accesses, low half first.  Other access sizes are ignored.
 */

#define ISCSI_HBA_REG_MAGIC             0x000   /* RO "IHBA" */
#define ISCSI_HBA_REG_VERSION           0x004   /* RO major << 16 | minor */
#define ISCSI_HBA_REG_CAP               0x008   /* RO ISCSI_HBA_CAP_* */
#define ISCSI_HBA_REG_MAX_IO_QUEUES     0x00c   /* RO I/O queue pairs */
#define ISCSI_HBA_REG_MAX_QUEUE_ENTRIES 0x010   /* RO entries per queue */
#define ISCSI_HBA_REG_MAX_SG_ELEMENTS   0x014   /* RO data SG elements/cmd */
#define ISCSI_HBA_REG_MAX_TRANSFER      0x018   /* RO bytes per command */
#define ISCSI_HBA_REG_NUM_VECTORS       0x01c   /* RO MSI-X table size */
#define ISCSI_HBA_REG_DB_OFFSET         0x020   /* RO doorbell base in BAR0 */
#define ISCSI_HBA_REG_DB_STRIDE         0x024   /* RO bytes per queue id */
#define ISCSI_HBA_REG_MAX_SESSIONS      0x028   /* RO concurrent sessions */
#define ISCSI_HBA_REG_CTRL              0x040   /* RW ISCSI_HBA_CTRL_* */
#define ISCSI_HBA_REG_STATUS            0x044   /* RO ISCSI_HBA_STATUS_* */
#define ISCSI_HBA_REG_FATAL_REASON      0x048   /* RO ISCSI_HBA_FATAL_* */
#define ISCSI_HBA_REG_LAST_STATUS       0x04c   /* RW last non-zero ISDSC */
#define ISCSI_HBA_REG_INTX_STATUS       0x050   /* RO bit n: CQ n pending */
#define ISCSI_HBA_REG_INTX_MASK_SET     0x054   /* W1S, reads mask */
#define ISCSI_HBA_REG_INTX_MASK_CLEAR   0x058   /* W1C, reads mask */
#define ISCSI_HBA_REG_ADMIN_SQ_BASE_LO  0x060   /* RW while disabled */
#define ISCSI_HBA_REG_ADMIN_SQ_BASE_HI  0x064
#define ISCSI_HBA_REG_ADMIN_CQ_BASE_LO  0x068
#define ISCSI_HBA_REG_ADMIN_CQ_BASE_HI  0x06c
#define ISCSI_HBA_REG_ADMIN_QUEUE_SIZE  0x070   /* SQ entries 15:0, CQ 31:16 */

#define ISCSI_HBA_MAGIC                 0x41424849u /* bytes 'I' 'H' 'B' 'A' */
#define ISCSI_HBA_VERSION_MAJOR         1
#define ISCSI_HBA_VERSION_MINOR         0
#define ISCSI_HBA_VERSION \
    ((ISCSI_HBA_VERSION_MAJOR << 16) | ISCSI_HBA_VERSION_MINOR)

/* CAP: what this instance supports. */
#define ISCSI_HBA_CAP_MSIX              (1u << 0)
#define ISCSI_HBA_CAP_INTX              (1u << 1)
#define ISCSI_HBA_CAP_SG_CHAIN          (1u << 2)
#define ISCSI_HBA_CAP_SHADOW_DOORBELL   (1u << 3) /* SET_DOORBELL_BUFFER */
#define ISCSI_HBA_CAP_ISCSI             (1u << 4) /* login/discovery work */
#define ISCSI_HBA_CAP_FAULT_INJECTION   (1u << 5)

/* CTRL */
#define ISCSI_HBA_CTRL_ENABLE           (1u << 0)

/* STATUS */
#define ISCSI_HBA_STATUS_READY          (1u << 0)
#define ISCSI_HBA_STATUS_FATAL          (1u << 1)

/* FATAL_REASON: why STATUS.FATAL was set.  Cleared by CTRL.ENABLE 1 -> 0. */
#define ISCSI_HBA_FATAL_NONE            0
#define ISCSI_HBA_FATAL_BAD_ADMIN_QUEUE 1 /* enable with invalid admin queue */
#define ISCSI_HBA_FATAL_BAD_DOORBELL    2 /* unknown queue or index >= size */
#define ISCSI_HBA_FATAL_SQ_READ         3 /* DMA read of an SQ entry failed */
#define ISCSI_HBA_FATAL_CQ_WRITE        4 /* DMA write of a CQ entry failed */

/* Doorbells: DB_OFFSET + qid * DB_STRIDE; qid 0 is the admin queue pair. */
#define ISCSI_HBA_DB_OFFSET             0x1000
#define ISCSI_HBA_DB_STRIDE             8
#define ISCSI_HBA_DB_SQ_TAIL            0       /* write: new SQ tail */
#define ISCSI_HBA_DB_CQ_HEAD            4       /* write: new CQ head */
#define ISCSI_HBA_DB_SQ(qid) \
    (ISCSI_HBA_DB_OFFSET + (qid) * ISCSI_HBA_DB_STRIDE + ISCSI_HBA_DB_SQ_TAIL)
#define ISCSI_HBA_DB_CQ(qid) \
    (ISCSI_HBA_DB_OFFSET + (qid) * ISCSI_HBA_DB_STRIDE + ISCSI_HBA_DB_CQ_HEAD)

/*
 * Limits
 */

#define ISCSI_HBA_ADMIN_QID             0
#define ISCSI_HBA_MAX_IO_QUEUES_LIMIT   31      /* 32 queues fit INTX_STATUS */
#define ISCSI_HBA_MIN_QUEUE_ENTRIES     2
#define ISCSI_HBA_MAX_QUEUE_ENTRIES_LIMIT 4096
#define ISCSI_HBA_MAX_SESSIONS_LIMIT    256     /* register MAX_SESSIONS */
#define ISCSI_HBA_QUEUE_ALIGN           4096    /* queue base alignment */
#define ISCSI_HBA_MAX_CDB_LEN           32
#define ISCSI_HBA_MAX_SENSE_LEN         252
#define ISCSI_HBA_INLINE_SG             4
#define ISCSI_HBA_MAX_AER               4       /* outstanding event requests */
#define ISCSI_HBA_ISCSI_NAME_MAX        223     /* RFC 3720 3.2.6.1, bytes */
#define ISCSI_HBA_STRING_FIELD          256     /* fixed string fields */

/*
 * Submission queue entry: 128 bytes.  An 8-byte header common to every
 * command, then a command-specific body.
 */

/* Admin opcodes (admin SQ only). */
#define ISCSI_HBA_ADM_IDENTIFY          0x01
#define ISCSI_HBA_ADM_CREATE_IO_QUEUE   0x02
#define ISCSI_HBA_ADM_DELETE_IO_QUEUE   0x03
#define ISCSI_HBA_ADM_SET_INITIATOR_NAME 0x04
#define ISCSI_HBA_ADM_GET_INITIATOR_NAME 0x05
#define ISCSI_HBA_ADM_ASYNC_EVENT       0x06
#define ISCSI_HBA_ADM_SET_DOORBELL_BUFFER 0x07
#define ISCSI_HBA_ADM_DISCOVERY         0x10
#define ISCSI_HBA_ADM_LOGIN             0x11
#define ISCSI_HBA_ADM_LOGOUT            0x12
#define ISCSI_HBA_ADM_LIST_SESSIONS     0x13
#define ISCSI_HBA_ADM_SESSION_INFO      0x14
#define ISCSI_HBA_ADM_REPORT_LUNS       0x15
#define ISCSI_HBA_ADM_SET_CHAP_SECRET   0x16

/* I/O opcodes (I/O SQs only). */
#define ISCSI_HBA_IO_SCSI_CMD           0x01
#define ISCSI_HBA_IO_TASK_MGMT          0x02

/* Header flags for ISCSI_HBA_IO_SCSI_CMD. */
#define ISCSI_HBA_SCSI_DIR_MASK         0x03
#define ISCSI_HBA_SCSI_DIR_NONE         0x00
#define ISCSI_HBA_SCSI_DIR_WRITE        0x01    /* to the target */
#define ISCSI_HBA_SCSI_DIR_READ         0x02    /* from the target */
#define ISCSI_HBA_SCSI_SG_LIST          0x04    /* sg[0] points to a list */

/* Header flags for ISCSI_HBA_ADM_CREATE_IO_QUEUE. */
#define ISCSI_HBA_QUEUE_IRQ_ENABLE      0x01

struct iscsi_hba_sqe_hdr {
    uint8_t  opcode;
    uint8_t  flags;
    uint16_t cid;           /* echoed in the completion */
    uint32_t session_id;    /* where the command names a session */
};

/*
 * A scatter-gather element.  In an SG list, an element with CHAIN set is
 * the last of its segment and points to the next segment.
 */
#define ISCSI_HBA_SG_CHAIN              0x01

struct iscsi_hba_sg {
    uint64_t addr;
    uint32_t len;
    uint32_t flags;
};

/* ISCSI_HBA_IO_SCSI_CMD */
struct iscsi_hba_scsi_cmd {
    uint8_t  lun[8];        /* SAM LUN, as in REPORT LUNS data */
    uint8_t  cdb_len;       /* 1 .. ISCSI_HBA_MAX_CDB_LEN */
    uint8_t  sense_len;     /* sense buffer bytes, 0 .. MAX_SENSE_LEN */
    uint16_t sg_count;      /* data elements, inline or in the list */
    uint32_t data_len;      /* expected transfer length, bytes */
    uint64_t sense_addr;
    uint8_t  cdb[ISCSI_HBA_MAX_CDB_LEN];
    struct iscsi_hba_sg sg[ISCSI_HBA_INLINE_SG];
};

/* ISCSI_HBA_IO_TASK_MGMT functions (iSCSI TMF function codes). */
#define ISCSI_HBA_TMF_ABORT_TASK        1
#define ISCSI_HBA_TMF_LUN_RESET         5
#define ISCSI_HBA_TMF_TARGET_WARM_RESET 6

struct iscsi_hba_task_mgmt {
    uint8_t  lun[8];
    uint8_t  function;      /* ISCSI_HBA_TMF_* */
    uint8_t  rsvd0;
    uint16_t ref_sqid;      /* ABORT_TASK: queue of the command */
    uint16_t ref_cid;       /* ABORT_TASK: its cid */
    uint8_t  rsvd1[106];
};

/* ISCSI_HBA_ADM_CREATE_IO_QUEUE: an SQ/CQ pair with one queue id. */
struct iscsi_hba_create_queue {
    uint64_t sq_base;
    uint64_t cq_base;
    uint16_t qid;           /* 1 .. MAX_IO_QUEUES */
    uint16_t vector;        /* MSI-X vector, < NUM_VECTORS */
    uint16_t sq_size;       /* entries, power of two */
    uint16_t cq_size;
    uint8_t  rsvd[96];
};

/* ISCSI_HBA_ADM_DELETE_IO_QUEUE */
struct iscsi_hba_delete_queue {
    uint16_t qid;
    uint8_t  rsvd[118];
};

/*
 * Commands that move a buffer: IDENTIFY, SET/GET_INITIATOR_NAME, LOGIN
 * (addr -> login parameters), DISCOVERY (addr -> login parameters, addr2 ->
 * output), LIST_SESSIONS, SESSION_INFO, REPORT_LUNS, SET_CHAP_SECRET,
 * SET_DOORBELL_BUFFER (addr -> shadow doorbells, addr2 -> event indexes).
 */
struct iscsi_hba_buffer_cmd {
    uint64_t addr;
    uint32_t len;
    uint32_t param;         /* command-specific */
    uint64_t addr2;
    uint32_t len2;
    uint8_t  rsvd[92];
};

/* SET_CHAP_SECRET param: which secret. */
#define ISCSI_HBA_CHAP_SECRET_INITIATOR 0 /* target proves itself (mutual) */

struct iscsi_hba_sqe {
    struct iscsi_hba_sqe_hdr hdr;
    union {
        struct iscsi_hba_scsi_cmd scsi;
        struct iscsi_hba_task_mgmt tmf;
        struct iscsi_hba_create_queue create;
        struct iscsi_hba_delete_queue del;
        struct iscsi_hba_buffer_cmd buf;
        uint8_t raw[120];
    } u;
};

/*
 * Completion queue entry: 32 bytes.  The device writes the whole entry at
 * once; the driver owns it when PHASE matches the current lap (1 on the
 * first lap after queue creation, flipping at every wrap).
 */

#define ISCSI_HBA_CQE_PHASE             (1u << 0)
#define ISCSI_HBA_CQE_RESID_UNDER       (1u << 1)
#define ISCSI_HBA_CQE_RESID_OVER        (1u << 2)
#define ISCSI_HBA_CQE_SENSE_VALID       (1u << 3)

struct iscsi_hba_cqe {
    uint32_t status;        /* ISDSC value, 0 = success */
    uint32_t info;          /* SCSI: residual bytes; AER: event ISDSC */
    uint64_t result;        /* command-specific (session id, bytes, ...) */
    uint8_t  scsi_status;   /* SAM status byte of SCSI commands */
    uint8_t  sense_len;     /* sense bytes written to sense_addr */
    uint16_t detail;        /* ISCSI_HBA_DETAIL_*: why, for non-zero status */
    uint32_t rsvd;
    uint16_t sq_head;       /* device's SQ head after this command */
    uint16_t sq_id;
    uint16_t cid;
    uint16_t flags;         /* ISCSI_HBA_CQE_* */
};

/*
 * Detail codes: the device's reason for a non-zero status, so a driver
 * author can tell which check failed.  Never needed to act on a status.
 */
#define ISCSI_HBA_DETAIL_NONE           0
#define ISCSI_HBA_DETAIL_NOT_IMPLEMENTED 1  /* specified, not built yet */
#define ISCSI_HBA_DETAIL_BAD_OPCODE     2
#define ISCSI_HBA_DETAIL_BAD_FLAGS      3   /* reserved flag bits set */
#define ISCSI_HBA_DETAIL_BAD_QID        4
#define ISCSI_HBA_DETAIL_QUEUE_EXISTS   5
#define ISCSI_HBA_DETAIL_QUEUE_NOT_FOUND 6
#define ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE 7
#define ISCSI_HBA_DETAIL_BAD_ADDRESS    8   /* misaligned, wraps, or in BAR */
#define ISCSI_HBA_DETAIL_BAD_VECTOR     9
#define ISCSI_HBA_DETAIL_DMA_ERROR      10  /* guest memory access failed */
#define ISCSI_HBA_DETAIL_BAD_LENGTH     11
#define ISCSI_HBA_DETAIL_BAD_SG_COUNT   12
#define ISCSI_HBA_DETAIL_BAD_SG_LENGTH  13
#define ISCSI_HBA_DETAIL_BAD_SG_CHAIN   14
#define ISCSI_HBA_DETAIL_BAD_CDB_LEN    15
#define ISCSI_HBA_DETAIL_BAD_DIRECTION  16
#define ISCSI_HBA_DETAIL_TOO_LARGE      17  /* data_len > MAX_TRANSFER */
#define ISCSI_HBA_DETAIL_BAD_SENSE      18
#define ISCSI_HBA_DETAIL_NO_SESSION     19
#define ISCSI_HBA_DETAIL_BAD_NAME       20
#define ISCSI_HBA_DETAIL_AER_LIMIT      21
#define ISCSI_HBA_DETAIL_ABORTED        22  /* by TMF, queue delete, reset */
#define ISCSI_HBA_DETAIL_BAD_TMF        23
#define ISCSI_HBA_DETAIL_INJECTED       24  /* fault injection */
#define ISCSI_HBA_DETAIL_TIMEOUT        25  /* no answer in time */
#define ISCSI_HBA_DETAIL_CONNECTION_LOST 26 /* session lost its connection */
#define ISCSI_HBA_DETAIL_BAD_LUN        27
#define ISCSI_HBA_DETAIL_NOT_ALLOWED    28  /* host policy (guest-portals) */

/*
 * Data structures in guest buffers
 */

/* IDENTIFY output (the driver may pass a shorter buffer; see the spec). */
#define ISCSI_HBA_IDENTIFY_SIZE         4096

struct iscsi_hba_identify {
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t subsys_vendor_id;
    uint16_t subsys_id;
    uint32_t version;
    uint32_t cap;
    uint16_t max_io_queues;
    uint16_t max_queue_entries;
    uint16_t max_sg_elements;
    uint16_t max_sessions;
    uint32_t max_transfer;
    uint16_t max_cdb_len;
    uint16_t max_sense_len;
    uint16_t sqe_size;
    uint16_t cqe_size;
    uint16_t login_params_size;
    uint16_t session_info_size;
    uint16_t num_vectors;
    uint16_t num_host_targets;  /* targets configured on the host */
    uint32_t login_timeout_ms;  /* a LOGIN completes within this + DNS */
    uint32_t command_timeout_ms; /* a SCSI command completes within this */
    uint8_t  rsvd0[12];
    char     serial[32];
    char     model[64];
    char     firmware[16];
    uint8_t  rsvd1[80];
    char     initiator_name[ISCSI_HBA_STRING_FIELD];
    uint8_t  rsvd2[3584];
};

/* LOGIN / DISCOVERY parameters. */
#define ISCSI_HBA_AUTH_NONE             0
#define ISCSI_HBA_AUTH_CHAP             1
#define ISCSI_HBA_AUTH_MUTUAL_CHAP      2

#define ISCSI_HBA_DIGEST_HEADER_CRC32C  (1u << 0) /* preferred, not required */
#define ISCSI_HBA_DIGEST_DATA_CRC32C    (1u << 1)

#define ISCSI_HBA_SESSION_NORMAL        0
#define ISCSI_HBA_SESSION_DISCOVERY     1

#define ISCSI_HBA_DEFAULT_PORT          3260

struct iscsi_hba_login_params {
    char     target_name[ISCSI_HBA_STRING_FIELD];    /* NUL-terminated */
    char     initiator_name[ISCSI_HBA_STRING_FIELD]; /* "" = HBA's name */
    char     portal_host[ISCSI_HBA_STRING_FIELD];    /* address or DNS */
    char     chap_username[ISCSI_HBA_STRING_FIELD];
    uint8_t  chap_secret[ISCSI_HBA_STRING_FIELD];    /* not NUL-terminated */
    uint16_t portal_port;       /* 0 = 3260 */
    uint16_t chap_secret_len;
    uint8_t  auth_type;         /* ISCSI_HBA_AUTH_* */
    uint8_t  digest;            /* ISCSI_HBA_DIGEST_* */
    uint8_t  session_type;      /* ISCSI_HBA_SESSION_* */
    uint8_t  login_flags;       /* reserved, 0 */
    uint16_t time2wait;         /* seconds between reconnects, 0 = 2 */
    uint16_t time2retain;       /* seconds before giving up, 0 = 60 */
    char     target_chap_username[224]; /* mutual CHAP: target's name */
    uint8_t  rsvd[20];
};

/* SESSION_INFO output. */
#define ISCSI_HBA_SESSION_STATE_LOGGING_IN   1
#define ISCSI_HBA_SESSION_STATE_LOGGED_IN    2
#define ISCSI_HBA_SESSION_STATE_RECONNECTING 3
#define ISCSI_HBA_SESSION_STATE_FAILED       4

#define ISCSI_HBA_SESSION_HOST_CONFIGURED    (1u << 0)
#define ISCSI_HBA_SESSION_HEADER_DIGEST      (1u << 1)
#define ISCSI_HBA_SESSION_DATA_DIGEST        (1u << 2)
#define ISCSI_HBA_SESSION_MUTUAL_CHAP        (1u << 3)

struct iscsi_hba_session_info {
    uint32_t session_id;
    uint16_t state;             /* ISCSI_HBA_SESSION_STATE_* */
    uint16_t flags;             /* ISCSI_HBA_SESSION_* */
    uint8_t  isid[6];
    uint16_t tsih;
    uint32_t max_recv_data_segment_len;
    uint32_t max_burst_len;
    uint32_t first_burst_len;
    uint8_t  initial_r2t;
    uint8_t  immediate_data;
    uint16_t portal_port;
    uint32_t reconnects;
    uint32_t last_status;       /* ISDSC of the last failure, 0 if none */
    uint32_t num_luns;
    uint16_t host_target;       /* HOST_CONFIGURED: the target's index */
    uint8_t  rsvd0[18];
    char     target_name[ISCSI_HBA_STRING_FIELD];
    char     portal_host[ISCSI_HBA_STRING_FIELD];
    uint8_t  rsvd1[448];
};

/*
 * Asynchronous events: ASYNC_EVENT completions carry the event type in
 * result bits 7:0, the session id in bits 63:32 and the event's ISDSC in
 * info.
 */
#define ISCSI_HBA_EVENT_SESSION_LOST      1
#define ISCSI_HBA_EVENT_SESSION_RECOVERED 2
#define ISCSI_HBA_EVENT_SESSION_FAILED    3 /* gave up reconnecting */
#define ISCSI_HBA_EVENT_LUNS_CHANGED      4
#define ISCSI_HBA_EVENT_OVERFLOW          5 /* events were dropped */
#define ISCSI_HBA_EVENT_TYPE(result)      ((uint8_t)((result) & 0xff))
#define ISCSI_HBA_EVENT_SESSION(result)   ((uint32_t)((result) >> 32))

/*
 * NTSTATUS layout (ISDSC values are NTSTATUS values):
 *
 *   31 30 | 29 | 28 | 27 ........ 16 | 15 ............ 0
 *   Sev   | C  | N  | Facility       | Code
 *
 * Sev: 0 success, 1 informational, 2 warning, 3 error.  C: set for
 * customer-defined values (all ISDSC values).  N: reserved, 0.
 * ISDSC values use facility 0xFFF.
 */

#define ISCSI_HBA_NT_SEVERITY(s)        (((uint32_t)(s) >> 30) & 0x3u)
#define ISCSI_HBA_NT_CUSTOMER(s)        (((uint32_t)(s) >> 29) & 0x1u)
#define ISCSI_HBA_NT_RESERVED(s)        (((uint32_t)(s) >> 28) & 0x1u)
#define ISCSI_HBA_NT_FACILITY(s)        (((uint32_t)(s) >> 16) & 0xfffu)
#define ISCSI_HBA_NT_CODE(s)            ((uint32_t)(s) & 0xffffu)

#define ISCSI_HBA_NT_SEV_SUCCESS        0
#define ISCSI_HBA_NT_SEV_INFORMATIONAL  1
#define ISCSI_HBA_NT_SEV_WARNING        2
#define ISCSI_HBA_NT_SEV_ERROR          3

#define ISCSI_HBA_ISDSC_FACILITY        0xfff

/*
 * A status the driver must treat as failure (error severity).  Warnings
 * (e.g. ISDSC_SHORT_CHAP_SECRET) report success with a caveat.
 */
#define ISCSI_HBA_STATUS_IS_ERROR(s) \
    (ISCSI_HBA_NT_SEVERITY(s) == ISCSI_HBA_NT_SEV_ERROR)

#define ISCSI_HBA_STATUS_SUCCESS        0u

/*
 * ISDSC values, as in Windows' iscsierr.h.  Windows drivers that include
 * iscsierr.h get the same names and values from there.
 */

#ifndef ISDSC_NON_SPECIFIC_ERROR
#define ISDSC_NON_SPECIFIC_ERROR                     0xEFFF0001u
#define ISDSC_LOGIN_FAILED                           0xEFFF0002u
#define ISDSC_CONNECTION_FAILED                      0xEFFF0003u
#define ISDSC_INITIATOR_NODE_ALREADY_EXISTS          0xEFFF0004u
#define ISDSC_INITIATOR_NODE_NOT_FOUND               0xEFFF0005u
#define ISDSC_TARGET_MOVED_TEMPORARILY               0xEFFF0006u
#define ISDSC_TARGET_MOVED_PERMANENTLY               0xEFFF0007u
#define ISDSC_INITIATOR_ERROR                        0xEFFF0008u
#define ISDSC_AUTHENTICATION_FAILURE                 0xEFFF0009u
#define ISDSC_AUTHORIZATION_FAILURE                  0xEFFF000Au
#define ISDSC_NOT_FOUND                              0xEFFF000Bu
#define ISDSC_TARGET_REMOVED                         0xEFFF000Cu
#define ISDSC_UNSUPPORTED_VERSION                    0xEFFF000Du
#define ISDSC_TOO_MANY_CONNECTIONS                   0xEFFF000Eu
#define ISDSC_MISSING_PARAMETER                      0xEFFF000Fu
#define ISDSC_CANT_INCLUDE_IN_SESSION                0xEFFF0010u
#define ISDSC_SESSION_TYPE_NOT_SUPPORTED             0xEFFF0011u
#define ISDSC_TARGET_ERROR                           0xEFFF0012u
#define ISDSC_SERVICE_UNAVAILABLE                    0xEFFF0013u
#define ISDSC_OUT_OF_RESOURCES                       0xEFFF0014u
#define ISDSC_CONNECTION_ALREADY_EXISTS              0xEFFF0015u
#define ISDSC_SESSION_ALREADY_EXISTS                 0xEFFF0016u
#define ISDSC_INITIATOR_INSTANCE_NOT_FOUND           0xEFFF0017u
#define ISDSC_TARGET_ALREADY_EXISTS                  0xEFFF0018u
#define ISDSC_DRIVER_BUG                             0xEFFF0019u
#define ISDSC_INVALID_TEXT_KEY                       0xEFFF001Au
#define ISDSC_INVALID_SENDTARGETS_TEXT               0xEFFF001Bu
#define ISDSC_INVALID_SESSION_ID                     0xEFFF001Cu
#define ISDSC_SCSI_REQUEST_FAILED                    0xEFFF001Du
#define ISDSC_TOO_MANY_SESSIONS                      0xEFFF001Eu
#define ISDSC_SESSION_BUSY                           0xEFFF001Fu
#define ISDSC_TARGET_MAPPING_UNAVAILABLE             0xEFFF0020u
#define ISDSC_ADDRESS_TYPE_NOT_SUPPORTED             0xEFFF0021u
#define ISDSC_LOGON_FAILED                           0xEFFF0022u
#define ISDSC_SEND_FAILED                            0xEFFF0023u
#define ISDSC_TRANSPORT_ERROR                        0xEFFF0024u
#define ISDSC_VERSION_MISMATCH                       0xEFFF0025u
#define ISDSC_TARGET_MAPPING_OUT_OF_RANGE            0xEFFF0026u
#define ISDSC_TARGET_PRESHAREDKEY_UNAVAILABLE        0xEFFF0027u
#define ISDSC_TARGET_AUTHINFO_UNAVAILABLE            0xEFFF0028u
#define ISDSC_TARGET_NOT_FOUND                       0xEFFF0029u
#define ISDSC_LOGIN_USER_INFO_BAD                    0xEFFF002Au
#define ISDSC_TARGET_MAPPING_EXISTS                  0xEFFF002Bu
#define ISDSC_HBA_SECURITY_CACHE_FULL                0xEFFF002Cu
#define ISDSC_INVALID_PORT_NUMBER                    0xEFFF002Du
#define ISDSC_OPERATION_NOT_ALL_SUCCESS              0xAFFF002Eu
#define ISDSC_HBA_SECURITY_CACHE_NOT_SUPPORTED       0xEFFF002Fu
#define ISDSC_IKE_ID_PAYLOAD_TYPE_NOT_SUPPORTED      0xEFFF0030u
#define ISDSC_IKE_ID_PAYLOAD_INCORRECT_SIZE          0xEFFF0031u
#define ISDSC_TARGET_PORTAL_ALREADY_EXISTS           0xEFFF0032u
#define ISDSC_TARGET_ADDRESS_ALREADY_EXISTS          0xEFFF0033u
#define ISDSC_NO_AUTH_INFO_AVAILABLE                 0xEFFF0034u
#define ISDSC_NO_TUNNEL_OUTER_MODE_ADDRESS           0xEFFF0035u
#define ISDSC_CACHE_CORRUPTED                        0xEFFF0036u
#define ISDSC_REQUEST_NOT_SUPPORTED                  0xEFFF0037u
#define ISDSC_TARGET_OUT_OF_RESORCES                 0xEFFF0038u
#define ISDSC_SERVICE_DID_NOT_RESPOND                0xEFFF0039u
#define ISDSC_ISNS_SERVER_NOT_FOUND                  0xEFFF003Au
#define ISDSC_OPERATION_REQUIRES_REBOOT              0xAFFF003Bu
#define ISDSC_NO_PORTAL_SPECIFIED                    0xEFFF003Cu
#define ISDSC_CANT_REMOVE_LAST_CONNECTION            0xEFFF003Du
#define ISDSC_SERVICE_NOT_RUNNING                    0xEFFF003Eu
#define ISDSC_TARGET_ALREADY_LOGGED_IN               0xEFFF003Fu
#define ISDSC_DEVICE_BUSY_ON_SESSION                 0xEFFF0040u
#define ISDSC_COULD_NOT_SAVE_PERSISTENT_LOGIN_DATA   0xEFFF0041u
#define ISDSC_COULD_NOT_REMOVE_PERSISTENT_LOGIN_DATA 0xEFFF0042u
#define ISDSC_PORTAL_NOT_FOUND                       0xEFFF0043u
#define ISDSC_INITIATOR_NOT_FOUND                    0xEFFF0044u
#define ISDSC_DISCOVERY_MECHANISM_NOT_FOUND          0xEFFF0045u
#define ISDSC_IPSEC_NOT_SUPPORTED_ON_OS              0xEFFF0046u
#define ISDSC_PERSISTENT_LOGIN_TIMEOUT               0xEFFF0047u
#define ISDSC_SHORT_CHAP_SECRET                      0xAFFF0048u
#define ISDSC_EVALUATION_PEROID_EXPIRED              0xEFFF0049u
#define ISDSC_INVALID_CHAP_SECRET                    0xEFFF004Au
#define ISDSC_INVALID_TARGET_CHAP_SECRET             0xEFFF004Bu
#define ISDSC_INVALID_INITIATOR_CHAP_SECRET          0xEFFF004Cu
#define ISDSC_INVALID_CHAP_USER_NAME                 0xEFFF004Du
#define ISDSC_INVALID_LOGON_AUTH_TYPE                0xEFFF004Eu
#define ISDSC_INVALID_TARGET_MAPPING                 0xEFFF004Fu
#define ISDSC_INVALID_TARGET_ID                      0xEFFF0050u
#define ISDSC_INVALID_ISCSI_NAME                     0xEFFF0051u
#define ISDSC_INCOMPATIBLE_ISNS_VERSION              0xEFFF0052u
#define ISDSC_FAILED_TO_CONFIGURE_IPSEC              0xEFFF0053u
#define ISDSC_BUFFER_TOO_SMALL                       0xEFFF0054u
#define ISDSC_INVALID_LOAD_BALANCE_POLICY            0xEFFF0055u
#define ISDSC_INVALID_PARAMETER                      0xEFFF0056u
#define ISDSC_DUPLICATE_PATH_SPECIFIED               0xEFFF0057u
#define ISDSC_PATH_COUNT_MISMATCH                    0xEFFF0058u
#define ISDSC_INVALID_PATH_ID                        0xEFFF0059u
#define ISDSC_MULTIPLE_PRIMARY_PATHS_SPECIFIED       0xEFFF005Au
#define ISDSC_NO_PRIMARY_PATH_SPECIFIED              0xEFFF005Bu
#define ISDSC_DEVICE_ALREADY_PERSISTENTLY_BOUND      0xEFFF005Cu
#define ISDSC_DEVICE_NOT_FOUND                       0xEFFF005Du
#define ISDSC_DEVICE_NOT_ISCSI_OR_PERSISTENT         0xEFFF005Eu
#define ISDSC_DNS_NAME_UNRESOLVED                    0xEFFF005Fu
#define ISDSC_NO_CONNECTION_AVAILABLE                0xEFFF0060u
#define ISDSC_LB_POLICY_NOT_SUPPORTED                0xEFFF0061u
#define ISDSC_REMOVE_CONNECTION_IN_PROGRESS          0xEFFF0062u
#define ISDSC_INVALID_CONNECTION_ID                  0xEFFF0063u
#define ISDSC_CANNOT_REMOVE_LEADING_CONNECTION       0xEFFF0064u
#define ISDSC_RESTRICTED_BY_GROUP_POLICY             0xEFFF0065u
#define ISDSC_ISNS_FIREWALL_BLOCKED                  0xEFFF0066u
#define ISDSC_FAILURE_TO_PERSIST_LB_POLICY           0xEFFF0067u
#define ISDSC_INVALID_HOST                           0xEFFF0068u
#endif /* ISDSC_NON_SPECIFIC_ERROR */

/*
 * The table: X(name, one-line meaning), in value order.  Expand it with
 * your own X to build lookups; see iscsi_hba_isdsc_name() below.
 */
#define ISCSI_HBA_ISDSC_TABLE(X) \
    X(ISDSC_NON_SPECIFIC_ERROR, "A non-specific error occurred.") \
    X(ISDSC_LOGIN_FAILED, "Login failed.") \
    X(ISDSC_CONNECTION_FAILED, "Connection failed.") \
    X(ISDSC_INITIATOR_NODE_ALREADY_EXISTS, \
      "Initiator node already exists.") \
    X(ISDSC_INITIATOR_NODE_NOT_FOUND, "Initiator node does not exist.") \
    X(ISDSC_TARGET_MOVED_TEMPORARILY, "Target moved temporarily.") \
    X(ISDSC_TARGET_MOVED_PERMANENTLY, "Target moved permanently.") \
    X(ISDSC_INITIATOR_ERROR, "Initiator error.") \
    X(ISDSC_AUTHENTICATION_FAILURE, "Authentication failure.") \
    X(ISDSC_AUTHORIZATION_FAILURE, "Authorization failure.") \
    X(ISDSC_NOT_FOUND, "Target not found.") \
    X(ISDSC_TARGET_REMOVED, "Target removed.") \
    X(ISDSC_UNSUPPORTED_VERSION, "Unsupported version.") \
    X(ISDSC_TOO_MANY_CONNECTIONS, "Too many connections.") \
    X(ISDSC_MISSING_PARAMETER, "Missing parameter.") \
    X(ISDSC_CANT_INCLUDE_IN_SESSION, \
      "Cannot include the connection in the session.") \
    X(ISDSC_SESSION_TYPE_NOT_SUPPORTED, "Session type not supported.") \
    X(ISDSC_TARGET_ERROR, "Target error.") \
    X(ISDSC_SERVICE_UNAVAILABLE, "Target service unavailable.") \
    X(ISDSC_OUT_OF_RESOURCES, "Target out of resources.") \
    X(ISDSC_CONNECTION_ALREADY_EXISTS, \
      "Connection already exists on the initiator node.") \
    X(ISDSC_SESSION_ALREADY_EXISTS, "Session already exists.") \
    X(ISDSC_INITIATOR_INSTANCE_NOT_FOUND, \
      "Initiator instance does not exist.") \
    X(ISDSC_TARGET_ALREADY_EXISTS, "Target already exists.") \
    X(ISDSC_DRIVER_BUG, \
      "The iSCSI driver implementation did not complete an operation " \
      "correctly.") \
    X(ISDSC_INVALID_TEXT_KEY, "An invalid key text was encountered.") \
    X(ISDSC_INVALID_SENDTARGETS_TEXT, \
      "Invalid SendTargets response text was encountered.") \
    X(ISDSC_INVALID_SESSION_ID, "Invalid session ID.") \
    X(ISDSC_SCSI_REQUEST_FAILED, "The SCSI request failed.") \
    X(ISDSC_TOO_MANY_SESSIONS, \
      "Exceeded the maximum number of sessions for this initiator.") \
    X(ISDSC_SESSION_BUSY, \
      "The session is busy; a request is already in progress.") \
    X(ISDSC_TARGET_MAPPING_UNAVAILABLE, "Target mapping unavailable.") \
    X(ISDSC_ADDRESS_TYPE_NOT_SUPPORTED, \
      "The target address type is not supported.") \
    X(ISDSC_LOGON_FAILED, "Logon failed.") \
    X(ISDSC_SEND_FAILED, "TCP send failed.") \
    X(ISDSC_TRANSPORT_ERROR, "TCP transport error.") \
    X(ISDSC_VERSION_MISMATCH, "iSCSI version mismatch.") \
    X(ISDSC_TARGET_MAPPING_OUT_OF_RANGE, \
      "The target mapping address is outside the range configured for " \
      "the adapter.") \
    X(ISDSC_TARGET_PRESHAREDKEY_UNAVAILABLE, \
      "The preshared key for the target or IKE identification payload is " \
      "not available.") \
    X(ISDSC_TARGET_AUTHINFO_UNAVAILABLE, \
      "Authentication information for the target is not available.") \
    X(ISDSC_TARGET_NOT_FOUND, \
      "The target name was not found or is marked as hidden.") \
    X(ISDSC_LOGIN_USER_INFO_BAD, \
      "One or more login parameters are invalid.") \
    X(ISDSC_TARGET_MAPPING_EXISTS, "The target mapping already exists.") \
    X(ISDSC_HBA_SECURITY_CACHE_FULL, \
      "The HBA security information cache is full.") \
    X(ISDSC_INVALID_PORT_NUMBER, \
      "The port number is not valid for the initiator.") \
    X(ISDSC_OPERATION_NOT_ALL_SUCCESS, \
      "The operation did not succeed on all initiators.") \
    X(ISDSC_HBA_SECURITY_CACHE_NOT_SUPPORTED, \
      "The adapter has no security information cache.") \
    X(ISDSC_IKE_ID_PAYLOAD_TYPE_NOT_SUPPORTED, \
      "The IKE ID payload type is not supported.") \
    X(ISDSC_IKE_ID_PAYLOAD_INCORRECT_SIZE, \
      "The IKE ID payload size is incorrect.") \
    X(ISDSC_TARGET_PORTAL_ALREADY_EXISTS, \
      "The target portal already exists.") \
    X(ISDSC_TARGET_ADDRESS_ALREADY_EXISTS, \
      "The target address already exists.") \
    X(ISDSC_NO_AUTH_INFO_AVAILABLE, \
      "No IKE authentication information is available.") \
    X(ISDSC_NO_TUNNEL_OUTER_MODE_ADDRESS, \
      "No tunnel mode outer address was specified.") \
    X(ISDSC_CACHE_CORRUPTED, \
      "The authentication or tunnel address cache is corrupted.") \
    X(ISDSC_REQUEST_NOT_SUPPORTED, \
      "The request or operation is not supported.") \
    X(ISDSC_TARGET_OUT_OF_RESORCES, \
      "The target does not have enough resources to process the " \
      "request.") \
    X(ISDSC_SERVICE_DID_NOT_RESPOND, \
      "The initiator service did not respond to the driver's request.") \
    X(ISDSC_ISNS_SERVER_NOT_FOUND, \
      "The iSNS server was not found or is unavailable.") \
    X(ISDSC_OPERATION_REQUIRES_REBOOT, \
      "The operation succeeded but needs a driver reload or reboot to " \
      "take effect.") \
    X(ISDSC_NO_PORTAL_SPECIFIED, \
      "No target portal is available to complete the login.") \
    X(ISDSC_CANT_REMOVE_LAST_CONNECTION, \
      "Cannot remove the last connection of a session.") \
    X(ISDSC_SERVICE_NOT_RUNNING, \
      "The iSCSI initiator service has not been started.") \
    X(ISDSC_TARGET_ALREADY_LOGGED_IN, \
      "The target is already logged in through an iSCSI session.") \
    X(ISDSC_DEVICE_BUSY_ON_SESSION, \
      "The session cannot be logged out: a device on it is in use.") \
    X(ISDSC_COULD_NOT_SAVE_PERSISTENT_LOGIN_DATA, \
      "Failed to save persistent login information.") \
    X(ISDSC_COULD_NOT_REMOVE_PERSISTENT_LOGIN_DATA, \
      "Failed to remove persistent login information.") \
    X(ISDSC_PORTAL_NOT_FOUND, "The specified portal was not found.") \
    X(ISDSC_INITIATOR_NOT_FOUND, \
      "The specified initiator name was not found.") \
    X(ISDSC_DISCOVERY_MECHANISM_NOT_FOUND, \
      "The specified discovery mechanism was not found.") \
    X(ISDSC_IPSEC_NOT_SUPPORTED_ON_OS, \
      "iSCSI does not support IPsec for this operating system version.") \
    X(ISDSC_PERSISTENT_LOGIN_TIMEOUT, \
      "Timed out waiting for all persistent logins to complete.") \
    X(ISDSC_SHORT_CHAP_SECRET, \
      "The CHAP secret is shorter than 96 bits; it cannot be used for " \
      "authentication over a non-IPsec connection.") \
    X(ISDSC_EVALUATION_PEROID_EXPIRED, \
      "The evaluation period of the iSCSI discovery service has expired.") \
    X(ISDSC_INVALID_CHAP_SECRET, \
      "The CHAP secret does not meet the CHAP specification.") \
    X(ISDSC_INVALID_TARGET_CHAP_SECRET, "The target CHAP secret is invalid.") \
    X(ISDSC_INVALID_INITIATOR_CHAP_SECRET, \
      "The initiator CHAP secret is invalid.") \
    X(ISDSC_INVALID_CHAP_USER_NAME, "The CHAP user name is invalid.") \
    X(ISDSC_INVALID_LOGON_AUTH_TYPE, "The logon authentication type is " \
      "invalid.") \
    X(ISDSC_INVALID_TARGET_MAPPING, "The target mapping is invalid.") \
    X(ISDSC_INVALID_TARGET_ID, \
      "The 64-bit iSCSI target id in the target mapping is invalid.") \
    X(ISDSC_INVALID_ISCSI_NAME, \
      "The iSCSI name contains invalid characters or is too long.") \
    X(ISDSC_INCOMPATIBLE_ISNS_VERSION, \
      "The iSNS server's version is incompatible with this client.") \
    X(ISDSC_FAILED_TO_CONFIGURE_IPSEC, \
      "The initiator failed to configure IPsec for the connection.") \
    X(ISDSC_BUFFER_TOO_SMALL, "The buffer given for processing is too " \
      "small.") \
    X(ISDSC_INVALID_LOAD_BALANCE_POLICY, \
      "The load balance policy is invalid.") \
    X(ISDSC_INVALID_PARAMETER, "One or more parameters are invalid.") \
    X(ISDSC_DUPLICATE_PATH_SPECIFIED, \
      "A duplicate path id was given in the load balance policy.") \
    X(ISDSC_PATH_COUNT_MISMATCH, \
      "The number of paths differs from the paths available to the " \
      "target.") \
    X(ISDSC_INVALID_PATH_ID, \
      "An invalid path id was given in the load balance policy.") \
    X(ISDSC_MULTIPLE_PRIMARY_PATHS_SPECIFIED, \
      "Multiple primary paths were given where only one is allowed.") \
    X(ISDSC_NO_PRIMARY_PATH_SPECIFIED, \
      "No primary path was given where at least one is required.") \
    X(ISDSC_DEVICE_ALREADY_PERSISTENTLY_BOUND, \
      "The device is already persistently bound.") \
    X(ISDSC_DEVICE_NOT_FOUND, "The device was not found.") \
    X(ISDSC_DEVICE_NOT_ISCSI_OR_PERSISTENT, \
      "The device does not come from an iSCSI disk or persistent login.") \
    X(ISDSC_DNS_NAME_UNRESOLVED, "The DNS name could not be resolved.") \
    X(ISDSC_NO_CONNECTION_AVAILABLE, \
      "No connection of the session can process the request.") \
    X(ISDSC_LB_POLICY_NOT_SUPPORTED, \
      "The load balance policy is not supported.") \
    X(ISDSC_REMOVE_CONNECTION_IN_PROGRESS, \
      "A remove-connection request is already in progress for the " \
      "session.") \
    X(ISDSC_INVALID_CONNECTION_ID, \
      "The connection was not found in the session.") \
    X(ISDSC_CANNOT_REMOVE_LEADING_CONNECTION, \
      "The leading connection of a session cannot be removed.") \
    X(ISDSC_RESTRICTED_BY_GROUP_POLICY, \
      "The operation is not allowed by the group policy of this " \
      "computer.") \
    X(ISDSC_ISNS_FIREWALL_BLOCKED, \
      "The iSNS firewall exception is not enabled.") \
    X(ISDSC_FAILURE_TO_PERSIST_LB_POLICY, \
      "Failed to persist the load balance policy.") \
    X(ISDSC_INVALID_HOST, "The host name or address is invalid.")

#define ISCSI_HBA_ISDSC_COUNT 104

/* Case labels for lookups by value. */
#define ISCSI_HBA_ISDSC_NAME_CASE(name, meaning) \
    case name:                                 \
        return #name;
#define ISCSI_HBA_ISDSC_MEANING_CASE(name, meaning) \
    case name:                                    \
        return meaning;

/*
 * Symbolic name of an ISDSC value ("ISDSC_LOGIN_FAILED"), "SUCCESS" for
 * 0, or NULL for a value outside the table.
 */
static inline const char *iscsi_hba_isdsc_name(uint32_t status)
{
    const char *unknown = (const char *)0;

    switch (status) {
    case ISCSI_HBA_STATUS_SUCCESS:
        return "SUCCESS";
    ISCSI_HBA_ISDSC_TABLE(ISCSI_HBA_ISDSC_NAME_CASE)
    }
    return unknown;
}

/* One-line English meaning of an ISDSC value, or NULL if unknown. */
static inline const char *iscsi_hba_isdsc_meaning(uint32_t status)
{
    const char *unknown = (const char *)0;

    switch (status) {
    case ISCSI_HBA_STATUS_SUCCESS:
        return "The operation succeeded.";
    ISCSI_HBA_ISDSC_TABLE(ISCSI_HBA_ISDSC_MEANING_CASE)
    }
    return unknown;
}

static inline const char *iscsi_hba_nt_severity_name(uint32_t status)
{
    static const char *const names[4] = {
        "success", "informational", "warning", "error"
    };

    return names[ISCSI_HBA_NT_SEVERITY(status)];
}

/*
 * Layout checks
 */

#if defined(__cplusplus) && __cplusplus >= 201103L
#define ISCSI_HBA_ABI_ASSERT(expr) static_assert(expr, #expr)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define ISCSI_HBA_ABI_ASSERT(expr) _Static_assert(expr, #expr)
#else
#define ISCSI_HBA_ABI_ASSERT_CAT_(a, b) a##b
#define ISCSI_HBA_ABI_ASSERT_CAT(a, b) ISCSI_HBA_ABI_ASSERT_CAT_(a, b)
#define ISCSI_HBA_ABI_ASSERT(expr) \
    typedef char ISCSI_HBA_ABI_ASSERT_CAT(iscsi_hba_abi_check_, \
                                          __LINE__)[(expr) ? 1 : -1]
#endif

#define ISCSI_HBA_ABI_CHECK_OFFSET(type, field, off) \
    ISCSI_HBA_ABI_ASSERT(offsetof(type, field) == (off))

ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_sqe_hdr) == 8);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_sg) == 16);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_scsi_cmd) == 120);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_task_mgmt) == 120);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_create_queue) == 120);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_delete_queue) == 120);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_buffer_cmd) == 120);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_sqe) == 128);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_cqe) == 32);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_identify) ==
                     ISCSI_HBA_IDENTIFY_SIZE);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_login_params) == 1536);
ISCSI_HBA_ABI_ASSERT(sizeof(struct iscsi_hba_session_info) == 1024);

ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u, 8);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.scsi.cdb_len, 16);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.scsi.data_len, 20);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.scsi.sense_addr, 24);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.scsi.cdb, 32);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.scsi.sg, 64);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.tmf.function, 16);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.tmf.ref_sqid, 18);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.tmf.ref_cid, 20);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.create.sq_base, 8);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.create.cq_base, 16);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.create.qid, 24);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.create.vector, 26);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.create.sq_size, 28);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.create.cq_size, 30);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.buf.addr, 8);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.buf.len, 16);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.buf.param, 20);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.buf.addr2, 24);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_sqe, u.buf.len2, 32);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_cqe, info, 4);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_cqe, result, 8);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_cqe, scsi_status, 16);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_cqe, detail, 18);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_cqe, sq_head, 24);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_cqe, cid, 28);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_cqe, flags, 30);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_identify, max_transfer, 24);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_identify, login_timeout_ms, 44);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_identify, command_timeout_ms, 48);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_identify, serial, 64);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_identify, model, 96);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_identify, firmware, 160);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_identify, initiator_name, 256);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_login_params, portal_host, 512);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_login_params, chap_secret, 1024);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_login_params, portal_port, 1280);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_login_params, auth_type, 1284);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_login_params, time2wait, 1288);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_login_params,
                           target_chap_username, 1292);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_session_info, isid, 8);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_session_info, reconnects, 32);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_session_info, host_target, 44);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_session_info, target_name, 64);
ISCSI_HBA_ABI_CHECK_OFFSET(struct iscsi_hba_session_info, portal_host, 320);

#endif /* ISCSI_HBA_ABI_H */
