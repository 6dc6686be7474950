/*
 * iscsi-hba: QEMU model of an iSCSI host bus adapter -- internal interfaces
 *
 * The guest-visible contract is include/hw/iscsi-hba/iscsi-hba-abi.h and
 * docs/specs/iscsi-hba.rst.  This header is shared by the device's files:
 *
 *   pci.c      PCI function, registers, doorbells, interrupts, reset
 *   queue.c    request life cycle: fetch, execute, complete, and the one
 *              place that writes completions and their payloads (sense,
 *              admin output, READ data) into guest memory
 *   admin.c    admin command set
 *   io.c       I/O command set: SCSI commands and task management
 *   databuf.c  data buffers: mapped guest RAM, bounded bounce
 *   session.c  iSCSI sessions on libiscsi
 *   scsi.c     SCSI commands, task management, REPORT LUNS on a session
 *   policy.c   which portals a guest may make the host connect to
 *   events.c   asynchronous event requests and the event queue
 *   qmp.c      query-iscsi-hba
 *
 * Layers call downwards only; the one upward call is "this request is
 * done" (iscsi_hba_req_complete), which records and schedules the queue
 * bottom half.  Below queue.c nothing writes guest memory: results are
 * stored in the request and copied out when its completion is posted.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ISCSI_HBA_INTERNAL_H
#define HW_ISCSI_HBA_INTERNAL_H

#include "hw/pci/pci_device.h"
#include "qemu/queue.h"
#include "qemu/timer.h"
#include "system/dma.h"
#include "system/runstate.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"

#define TYPE_ISCSI_HBA "iscsi-hba"
OBJECT_DECLARE_SIMPLE_TYPE(IscsiHbaState, ISCSI_HBA)

#define ISCSI_HBA_MAX_EVENTS    16  /* queued while no AER is outstanding */

/*
 * Longest CDB this device accepts.  The entry has room for 32 bytes, but
 * libiscsi's scsi_task holds 16 (no additional header segments), and a
 * longer CDB would overrun it.
 */
#define ISCSI_HBA_DEVICE_CDB_LEN 16

typedef struct IscsiHbaQueue IscsiHbaQueue;
typedef struct IscsiHbaSession IscsiHbaSession;
typedef struct IscsiHbaTask IscsiHbaTask;
typedef struct IscsiHbaFault IscsiHbaFault;
typedef struct IscsiHbaDataBuf IscsiHbaDataBuf;
typedef struct IscsiHbaPolicy IscsiHbaPolicy;
typedef struct IscsiHbaResolveLimit IscsiHbaResolveLimit;

/* Bytes of a completion that go to guest memory besides the CQE. */
typedef enum IscsiHbaPayloadKind {
    ISCSI_HBA_PAYLOAD_NONE,
    ISCSI_HBA_PAYLOAD_SENSE,        /* to the SCSI_CMD's sense buffer */
    ISCSI_HBA_PAYLOAD_BUFFER,       /* admin output buffer */
} IscsiHbaPayloadKind;

typedef struct IscsiHbaPayload {
    IscsiHbaPayloadKind kind;
    uint64_t addr;
    uint32_t len;
    uint8_t *data;
} IscsiHbaPayload;

/* What fault injection left for later on a request (fault.c). */
typedef struct IscsiHbaReqFault {
    uint8_t after;                  /* IscsiHbaFaultAction + 1; 0 none */
    bool held;                      /* dropped: never completes by itself */
    uint32_t status;
    uint8_t scsi_status;
    uint8_t key;
    uint8_t asc;
    uint8_t ascq;
    uint32_t delay_ms;              /* hold the completion this long */
} IscsiHbaReqFault;

/*
 * One command from fetch to completion.  Each queue owns a pool of
 * sq_size requests: when the pool is empty the device stops fetching,
 * which is the back-pressure for a completion queue the driver does not
 * drain.
 */
typedef struct IscsiHbaRequest {
    IscsiHbaQueue *q;
    QTAILQ_ENTRY(IscsiHbaRequest) entry;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;       /* built in host order, posted LE */
    QEMUSGList qsg;                 /* data buffer of SCSI commands */
    uint32_t epoch;                 /* of its queue when fetched */
    uint32_t work;                  /* SG elements the command walked */
    IscsiHbaTask *task;             /* in a session, if any (scsi.c) */
    IscsiHbaPayload payload;        /* copied out when posted */
    IscsiHbaDataBuf *data;          /* READ data to deliver when posted */
    uint32_t data_done;             /* bytes of it received */
    IscsiHbaReqFault fault;
    QEMUTimer *delay_timer;         /* created on first delay */
} IscsiHbaRequest;

struct IscsiHbaQueue {
    IscsiHbaState *s;
    uint16_t qid;
    bool created;

    uint64_t sq_base;
    uint64_t cq_base;
    uint16_t sq_size;
    uint16_t cq_size;
    uint16_t sq_head;
    uint16_t sq_tail;               /* last SQ doorbell value */
    uint16_t cq_head;               /* last CQ doorbell value */
    uint16_t cq_tail;
    bool phase;
    uint16_t vector;
    bool irq_enabled;

    QEMUBH *bh;
    uint32_t epoch;                 /* bumped when the queue is deleted */
    IscsiHbaRequest *pool;
    QTAILQ_HEAD(, IscsiHbaRequest) free_reqs;
    QTAILQ_HEAD(, IscsiHbaRequest) inflight;    /* executing */
    QTAILQ_HEAD(, IscsiHbaRequest) done;        /* waiting for CQ space */
    uint32_t inflight_count;                    /* inflight + done */

    /* Work counters since the queue was created (query-iscsi-hba). */
    uint64_t sq_doorbells;
    uint64_t cq_doorbells;
    uint64_t completions;
    uint64_t interrupts;
};

typedef struct IscsiHbaEvent {
    uint8_t type;
    uint32_t session_id;
    uint32_t status;
} IscsiHbaEvent;

struct IscsiHbaState {
    PCIDevice parent_obj;

    MemoryRegion bar0;
    MemoryRegion regs;
    MemoryRegion doorbells;

    /* Properties */
    uint16_t num_queues;
    uint16_t max_queue_entries;
    uint16_t max_sg_elements;
    uint32_t max_transfer;
    uint16_t max_sessions;
    bool msix;
    bool bar64;                     /* BAR0 64-bit (else 32-bit) */
    int32_t bootindex;              /* firmware boot order, -1: none */
    char *boot_target;              /* iscsi-hba-target id */
    uint32_t boot_lun;
    char *serial;
    char *initiator_name_prop;
    uint32_t login_timeout;         /* seconds */
    uint32_t cmd_timeout;           /* seconds */
    char *fault_rules_prop;         /* "rule;rule;..." */
    char *fault_file_prop;          /* one rule per line */
    char *guest_portals_prop;       /* see policy.c */

    /* Registers */
    uint32_t ctrl;
    uint32_t status;
    uint32_t fatal_reason;
    uint32_t last_status;
    uint32_t intx_mask;
    uint64_t admin_sq_base;
    uint64_t admin_cq_base;
    uint32_t admin_queue_size;

    /* Queue pairs, indexed by qid; 0 is the admin queue. */
    IscsiHbaQueue queues[ISCSI_HBA_MAX_IO_QUEUES_LIMIT + 1];
    unsigned bh_depth;              /* a queue bottom half is running */
    GSList *dead_pools;             /* freed when it returns */

    /* Guest memory is not touched while the VM is stopped. */
    bool vm_running;
    VMChangeStateEntry *vmstate_entry;

    /* Data buffers (databuf.c) */
    uint32_t bounce_used;           /* bytes, at most max_transfer */
    void *zero_sink;                /* abandoned outgoing iovecs */
    void *scratch_sink;             /* abandoned incoming iovecs */

    IscsiHbaPolicy *policy;         /* guest-portals */
    IscsiHbaResolveLimit *resolve_limit;

    char initiator_name[ISCSI_HBA_ISCSI_NAME_MAX + 1];

    /* Asynchronous events */
    IscsiHbaRequest *aer[ISCSI_HBA_MAX_AER];
    unsigned aer_count;
    IscsiHbaEvent events[ISCSI_HBA_MAX_EVENTS];
    unsigned event_count;
    bool event_overflow;

    /* Sessions, indexed by slot; see session.c for id encoding. */
    IscsiHbaSession **sessions;
    uint16_t *session_gen;
    QLIST_HEAD(, IscsiHbaSession) discoveries;
    GPtrArray *host_targets;        /* iscsi-hba-target objects (target.c) */

    /* SET_CHAP_SECRET: the secret a target proves itself with (mutual). */
    char chap_initiator_secret[ISCSI_HBA_STRING_FIELD];

    /* Fault injection rules (fault.c); they survive resets. */
    QTAILQ_HEAD(, IscsiHbaFault) faults;
    uint32_t fault_next_id;
    int64_t fault_ev_window;
    unsigned fault_ev_count;
    uint64_t fault_ev_suppressed;
};

/* pci.c */
bool iscsi_hba_can_touch_guest(IscsiHbaState *s);
void iscsi_hba_set_fatal(IscsiHbaState *s, uint32_t reason);
bool iscsi_hba_running(IscsiHbaState *s);
bool iscsi_hba_dma_range_ok(IscsiHbaState *s, uint64_t addr, uint64_t len);
void iscsi_hba_irq_update(IscsiHbaState *s);
void iscsi_hba_irq_notify(IscsiHbaQueue *q);
uint16_t iscsi_hba_num_vectors(IscsiHbaState *s);
uint32_t iscsi_hba_cap(IscsiHbaState *s);

/* queue.c */
uint16_t iscsi_hba_queue_check(IscsiHbaState *s,
                               const struct iscsi_hba_create_queue *c);
void iscsi_hba_queue_create(IscsiHbaState *s, uint16_t qid,
                            const struct iscsi_hba_create_queue *c,
                            bool irq_enabled);
void iscsi_hba_queue_delete(IscsiHbaQueue *q);
void iscsi_hba_queue_sq_doorbell(IscsiHbaQueue *q, uint32_t val);
void iscsi_hba_queue_cq_doorbell(IscsiHbaQueue *q, uint32_t val);
void iscsi_hba_queues_kick(IscsiHbaState *s);
bool iscsi_hba_req_stale(IscsiHbaRequest *req);
void iscsi_hba_req_complete(IscsiHbaRequest *req);
bool iscsi_hba_req_delayed(IscsiHbaRequest *req);
void iscsi_hba_req_abort_held(IscsiHbaRequest *req);
void iscsi_hba_req_fail(IscsiHbaRequest *req, uint32_t status,
                        uint16_t detail);
void iscsi_hba_req_set_payload(IscsiHbaRequest *req, IscsiHbaPayloadKind kind,
                               uint64_t addr, const void *data, uint32_t len);

/* admin.c */
void iscsi_hba_admin_exec(IscsiHbaRequest *req);
void iscsi_hba_identify_fill(IscsiHbaState *s, struct iscsi_hba_identify *id);

/* io.c */
void iscsi_hba_io_exec(IscsiHbaRequest *req);
void iscsi_hba_io_cancel(IscsiHbaRequest *req);
void iscsi_hba_io_cancel_done(IscsiHbaState *s);
void iscsi_hba_io_release_all(IscsiHbaState *s);

/* events.c */
void iscsi_hba_event_request(IscsiHbaRequest *req);
void iscsi_hba_event_post(IscsiHbaState *s, uint8_t type,
                          uint32_t session_id, uint32_t status);
void iscsi_hba_events_reset(IscsiHbaState *s);

/* session.c */
void iscsi_hba_sessions_init(IscsiHbaState *s);
void iscsi_hba_sessions_cleanup(IscsiHbaState *s);
void iscsi_hba_sessions_drop_all(IscsiHbaState *s);
void iscsi_hba_sessions_vm_state(IscsiHbaState *s);

/* policy.c */
bool iscsi_hba_policy_init(IscsiHbaState *s, Error **errp);
void iscsi_hba_policy_cleanup(IscsiHbaState *s);
bool iscsi_hba_policy_allows(IscsiHbaState *s, const char *host,
                             uint16_t port);

/* target.c */
bool iscsi_hba_host_targets_has_portal(IscsiHbaState *s, const char *host,
                                       uint16_t port);
bool iscsi_hba_host_targets_check(IscsiHbaState *s, Error **errp);
void iscsi_hba_host_targets_init(IscsiHbaState *s);
void iscsi_hba_host_targets_cleanup(IscsiHbaState *s);
void iscsi_hba_host_targets_login(IscsiHbaState *s);
unsigned iscsi_hba_host_targets_count(IscsiHbaState *s);
IscsiHbaSession *iscsi_hba_session_lookup(IscsiHbaState *s, uint32_t id);
unsigned iscsi_hba_session_count(IscsiHbaState *s);
unsigned iscsi_hba_session_ids(IscsiHbaState *s, uint32_t *ids, unsigned max);

#endif
