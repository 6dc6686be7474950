/*
 * iscsi-hba: iSCSI sessions on libiscsi -- internal interface
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ISCSI_HBA_SESSION_H
#define HW_ISCSI_HBA_SESSION_H

#include "qemu/timer.h"
#include "iscsi-hba.h"

struct iscsi_context;
typedef struct IscsiHbaResolve IscsiHbaResolve;

typedef enum IscsiHbaSessionState {
    SESSION_RESOLVING,
    SESSION_CONNECTING,
    SESSION_LOGGING_IN,
    SESSION_LOGGED_IN,
    SESSION_RECONNECTING,
    SESSION_LOGGING_OUT,
    SESSION_FAILED,
} IscsiHbaSessionState;

/*
 * What a login negotiated, from the target's Login Response keys (libiscsi
 * has no getters; session.c reads them from its log).  All 0 before the
 * first login.
 */
typedef struct IscsiHbaNegotiated {
    uint8_t isid[6];
    uint32_t max_recv_data_segment_len;     /* the target's */
    uint32_t max_burst_len;
    uint32_t first_burst_len;
    bool initial_r2t;
    bool immediate_data;
    bool header_digest;
    bool answered;                  /* a Login Response key was read */
} IscsiHbaNegotiated;

/* Validated login parameters, host order, strings NUL-terminated. */
typedef struct IscsiHbaLogin {
    char target[ISCSI_HBA_STRING_FIELD];
    char initiator[ISCSI_HBA_STRING_FIELD];
    char host[ISCSI_HBA_STRING_FIELD];
    char user[ISCSI_HBA_STRING_FIELD];
    char target_user[ISCSI_HBA_STRING_FIELD];
    uint8_t secret[ISCSI_HBA_STRING_FIELD];
    uint16_t secret_len;
    uint16_t port;
    uint8_t auth;
    uint8_t digest;
    bool discovery;
    bool host_configured;           /* iscsi-hba-target object */
    uint16_t host_target;           /* its index (target.c) */
    uint16_t time2wait;
    uint16_t time2retain;
    char target_secret[ISCSI_HBA_STRING_FIELD];  /* mutual CHAP */
} IscsiHbaLogin;

struct IscsiHbaSession {
    IscsiHbaState *s;
    uint32_t id;                    /* 0 for a discovery session */
    IscsiHbaSessionState state;
    IscsiHbaLogin login;
    char *portal;                   /* numeric "addr:port" */

    struct iscsi_context *ctx;
    int fd;                         /* registered with the main loop */
    int events;
    unsigned in_service;            /* nesting of libiscsi calls */
    bool free_pending;              /* free once out of libiscsi */
    bool ctx_dead;                  /* drop ctx once out of libiscsi */
    bool unlinked;                  /* out of the adapter's tables */

    QEMUTimer *tick;                /* 1 s housekeeping */
    int64_t deadline;               /* login/logout, ms; 0 = none */
    int64_t next_retry;             /* reconnect attempt, ms */
    int64_t lost_at;                /* when the connection was lost, ms */
    int64_t last_nop;

    IscsiHbaRequest *waiter;        /* LOGIN, LOGOUT or DISCOVERY */
    uint32_t warn_status;           /* success-with-warning for LOGIN */
    IscsiHbaResolve *resolve;
    QLIST_ENTRY(IscsiHbaSession) link;  /* discovery sessions */

    IscsiHbaNegotiated negotiating; /* the login in progress */
    IscsiHbaNegotiated negotiated;  /* the last successful login */
    bool established;               /* logged in at least once */
    uint32_t reconnects;
    uint32_t last_status;
    QTAILQ_HEAD(, IscsiHbaTask) tasks;      /* SCSI commands and TMFs */
    QTAILQ_HEAD(, IscsiHbaTask) retired;    /* finished WRITEs (scsi.c) */
    unsigned retired_count;
    unsigned retired_iovs;
    int64_t retired_since;          /* ms; out-queue not drained since */
    uint64_t task_seq;              /* submission order of tasks */
    bool reset_needed;              /* a WRITE may get zeros: reset */
};

/* session.c */
uint32_t iscsi_hba_session_login(IscsiHbaState *s, IscsiHbaRequest *req,
                                 const IscsiHbaLogin *login);
void iscsi_hba_session_logout(IscsiHbaSession *sess, IscsiHbaRequest *req);
void iscsi_hba_session_update_events(IscsiHbaSession *sess);
void iscsi_hba_sessions_settle(IscsiHbaState *s);
uint16_t iscsi_hba_session_abi_state(IscsiHbaSession *sess);
bool iscsi_hba_session_usable(IscsiHbaSession *sess);
IscsiHbaSession *iscsi_hba_req_session(IscsiHbaRequest *req);

/* resolve.c: getaddrinfo in the thread pool */
typedef void IscsiHbaResolveCb(void *opaque, const char *portal, int err);
IscsiHbaResolve *iscsi_hba_resolve(IscsiHbaState *s, const char *host,
                                   uint16_t port, IscsiHbaResolveCb *cb,
                                   void *opaque);
void iscsi_hba_resolve_cancel(IscsiHbaResolve *r);
bool iscsi_hba_resolve_busy(IscsiHbaState *s, const char *host);
void iscsi_hba_resolve_init(IscsiHbaState *s);
void iscsi_hba_resolve_cleanup(IscsiHbaState *s);
bool iscsi_hba_host_is_numeric(const char *host);

/* scsi.c */
void iscsi_hba_scsi_submit(IscsiHbaSession *sess, IscsiHbaRequest *req,
                           int lun);
void iscsi_hba_tmf_submit(IscsiHbaSession *sess, IscsiHbaRequest *req,
                          int lun);
void iscsi_hba_report_luns_submit(IscsiHbaSession *sess,
                                  IscsiHbaRequest *req);
void iscsi_hba_task_detach(IscsiHbaRequest *req);
void iscsi_hba_task_release(IscsiHbaRequest *req);
void iscsi_hba_scsi_cancel_all(IscsiHbaSession *sess, uint32_t status,
                               uint16_t detail);
void iscsi_hba_scsi_reap(IscsiHbaSession *sess);
bool iscsi_hba_scsi_reap_retired(IscsiHbaSession *sess, bool ctx_gone);

#endif
