/*
 * libqos helpers for iscsi-hba tests that log in to iSCSI targets
 *
 * A QIscsiHbaTest is one test's QEMU with an enabled iscsi-hba, one I/O
 * queue pair, scratch memory, and the completions that arrived while the
 * test waited for another command, so that commands may complete in any
 * order.  On top of it: LOGIN, LOGOUT, SESSION_INFO, asynchronous events
 * and SCSI commands against the targets of a TgtdFixture.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_ISCSI_HBA_SESSION_H
#define LIBQOS_ISCSI_HBA_SESSION_H

#include "qemu/units.h"
#include "iscsi-hba.h"
#include "tgtd-fixture.h"

/* The admin queue and the one I/O queue pair qihba_t_start() sets up. */
#define QIHBA_ADMIN_ENTRIES     32
#define QIHBA_IO_QID            1
#define QIHBA_IO_ENTRIES        128
/* Bytes at QIscsiHbaTest.scratch, for the output of admin commands. */
#define QIHBA_SCRATCH_SIZE      (64 * KiB)

/* The spec lets every device limit expire up to about 2 s late. */
#define QIHBA_LATE_S            2
/* What a test allows itself on top (polling, scheduling). */
#define QIHBA_SLACK_MS          750
/* Waits for admin commands, and for a LOGOUT (done within 5 s). */
#define QIHBA_ADMIN_WAIT_MS     5000
#define QIHBA_LOGOUT_WAIT_MS    ((5 + QIHBA_LATE_S) * 1000 + QIHBA_SLACK_MS)

typedef struct QIscsiHbaTest {
    QIscsiHba *h;
    QTestState *qts;
    TgtdFixture *fx;            /* target of qihba_login_ok(); may be NULL */
    int lt;                     /* login-timeout, s */
    int ct;                     /* command-timeout, s */
    uint64_t scratch;           /* QIHBA_SCRATCH_SIZE bytes */
    uint64_t sense;             /* ISCSI_HBA_MAX_SENSE_LEN bytes */
    uint64_t seq;               /* CQEs reaped so far */
    GArray *stash[2];           /* unclaimed CQEs: admin CQ, QIHBA_IO_QID */
    uint64_t blocks;            /* capacity of the LUN set up last */
    uint32_t bs;                /* its block size */
} QIscsiHbaTest;

/* Sense key and additional sense code of a CHECK CONDITION. */
typedef struct QIscsiHbaSense {
    uint8_t key;
    uint8_t asc;
    uint8_t ascq;
} QIscsiHbaSense;

/*
 * The guest-portals property qihba_t_start*() and qihba_t_new() give the
 * device unless @extra sets guest-portals itself: the tests log in from
 * the guest to the fixture's tgtd and to closed ports on 127.0.0.1, which
 * the device's default (host-targets) refuses.
 */
#define QIHBA_GUEST_PORTALS     "127.0.0.1"

/* Setup and teardown */
/*
 * Start QEMU: -device iscsi-hba,id=hba0,login-timeout=@lt,...,@extra
 * (and guest-portals=QIHBA_GUEST_PORTALS); the controller is enabled.
 */
QIscsiHbaTest *qihba_t_start(TgtdFixture *fx, int lt, int ct,
                             const char *extra);
/* qihba_t_start() with more command line @args (e.g. -object ...). */
QIscsiHbaTest *qihba_t_start_args(TgtdFixture *fx, int lt, int ct,
                                  const char *extra, const char *args);
/* qihba_t_start_args() without the enable: the controller stays off. */
QIscsiHbaTest *qihba_t_new(TgtdFixture *fx, int lt, int ct,
                           const char *extra, const char *args);
/*
 * A QIscsiHbaTest on a QEMU the caller started with an iscsi-hba whose
 * login-timeout is @lt and command-timeout @ct; not enabled yet.
 */
QIscsiHbaTest *qihba_t_attach(QTestState *qts, TgtdFixture *fx, int lt,
                              int ct);
/* The same around @h, which the caller found and mapped itself. */
QIscsiHbaTest *qihba_t_attach_hba(QIscsiHba *h, TgtdFixture *fx, int lt,
                                  int ct);
/*
 * Enable the controller and create the I/O queue pair (again, after a
 * disable); scratch memory is allocated the first time.
 */
void qihba_t_enable(QIscsiHbaTest *t);
/* Quit QEMU and free @t. */
void qihba_t_quit(QIscsiHbaTest *t);
/* tgtd_fixture_start(); @abort_hook(fx) runs if the test binary aborts. */
TgtdFixture *qihba_fixture_start(GHookFunc abort_hook, GError **errp);
/* Kill tgtd and remove its files: the usual abort hook. */
void qihba_fixture_abort(void *fx);
/* Remove the abort hook of @fx, then tgtd_fixture_free(). */
void qihba_fixture_free(TgtdFixture *fx);
/* true if @fx runs; false, and the test skipped or failed, if not. */
bool qihba_fixture_ready(TgtdFixture *fx, const GError *fx_error);

/* Commands on the admin queue and QIHBA_IO_QID, completing in any order */
/* Wait up to @timeout_ms for @cid on @qid; @seq gets its arrival order. */
bool qihba_t_poll(QIscsiHbaTest *t, uint16_t qid, uint16_t cid,
                  int timeout_ms, struct iscsi_hba_cqe *out, uint64_t *seq);
/* qihba_t_poll(), failing the test on timeout. */
void qihba_t_wait(QIscsiHbaTest *t, uint16_t qid, uint16_t cid,
                  int timeout_ms, struct iscsi_hba_cqe *out, uint64_t *seq);
/* Submit @sqe on @qid and wait up to @timeout_ms for its completion. */
void qihba_t_cmd(QIscsiHbaTest *t, uint16_t qid, struct iscsi_hba_sqe *sqe,
                 int timeout_ms, struct iscsi_hba_cqe *cqe);
/* qihba_t_cmd() on the admin queue, QIHBA_ADMIN_WAIT_MS. */
void qihba_t_admin(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                   struct iscsi_hba_cqe *cqe);
/* How long a LOGIN may take: two login timeouts and the slack. */
int qihba_login_wait_ms(QIscsiHbaTest *t);
/* How long a SCSI command may take: the command timeout and the slack. */
int qihba_scsi_wait_ms(QIscsiHbaTest *t);

/* Sessions */
/* Parameters of a normal session to @target at @host:@port, no CHAP. */
void qihba_login_params_at(struct iscsi_hba_login_params *p,
                           const char *target, const char *host, int port);
/* qihba_login_params_at() with the portal of @fx. */
void qihba_login_params(struct iscsi_hba_login_params *p, TgtdFixture *fx,
                        const char *target);
/* Submit a LOGIN with @p; returns its cid. */
uint16_t qihba_login_start(QIscsiHbaTest *t,
                           const struct iscsi_hba_login_params *p);
/* LOGIN with @p; @cqe gets the completion, unchecked. */
void qihba_login(QIscsiHbaTest *t, const struct iscsi_hba_login_params *p,
                 struct iscsi_hba_cqe *cqe);
/* LOGIN with @p, checked successful; returns the session id. */
uint32_t qihba_login_ok_params(QIscsiHbaTest *t,
                               const struct iscsi_hba_login_params *p);
/* qihba_login_ok_params() to target @tgt of the fixture. */
uint32_t qihba_login_ok(QIscsiHbaTest *t, TgtdTargetId tgt);
/* LOGOUT of @sid; @cqe gets the completion, unchecked. */
void qihba_logout(QIscsiHbaTest *t, uint32_t sid, struct iscsi_hba_cqe *cqe);
/* LOGOUT of @sid, checked successful. */
void qihba_logout_ok(QIscsiHbaTest *t, uint32_t sid);
/* LIST_SESSIONS (checked successful) into @ids; returns the count. */
unsigned qihba_list_sessions(QIscsiHbaTest *t, uint32_t *ids, unsigned max);
/* REPORT_LUNS of @sid into @buf, up to qihba_scsi_wait_ms(); @cqe unchecked. */
void qihba_report_luns(QIscsiHbaTest *t, uint32_t sid, uint64_t buf,
                       uint32_t len, struct iscsi_hba_cqe *cqe);
/* SESSION_INFO of @sid into @si; returns the status. */
uint32_t qihba_session_info(QIscsiHbaTest *t, uint32_t sid,
                            struct iscsi_hba_session_info *si);
/* Submit a DISCOVERY to @host:@port as @initiator (NULL: the adapter). */
uint16_t qihba_discovery_start(QIscsiHbaTest *t, const char *host, int port,
                               const char *initiator, uint64_t out,
                               uint32_t out_len);
/* DISCOVERY, waiting up to three login timeouts; @cqe unchecked. */
void qihba_discovery(QIscsiHbaTest *t, const char *host, int port,
                     const char *initiator, uint64_t out, uint32_t out_len,
                     struct iscsi_hba_cqe *cqe);
/* Submit an ASYNC_EVENT; returns its cid. */
uint16_t qihba_post_aer(QIscsiHbaTest *t);
/* Wait for ASYNC_EVENT @cid and check the event it reports. */
void qihba_expect_event(QIscsiHbaTest *t, uint16_t cid, int timeout_ms,
                        uint8_t type, uint32_t sid, uint32_t info);
/* A TCP port on 127.0.0.1 that nothing listens on (right now). */
int qihba_closed_port(void);

/* SCSI and task management on QIHBA_IO_QID */
/* SCSI_CMD without data elements, sense to QIscsiHbaTest.sense. */
void qihba_scsi_init(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                     uint32_t sid, unsigned lun, uint8_t dir,
                     const uint8_t *cdb, uint8_t cdb_len, uint32_t data_len);
/* READ or WRITE (10 or 16) of @blocks at @lba; no data elements yet. */
void qihba_rw_init(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe, uint32_t sid,
                   unsigned lun, uint8_t op, uint64_t lba, uint32_t blocks);
/* TEST UNIT READY. */
void qihba_tur_init(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                    uint32_t sid, unsigned lun);
/* Run a command on QIHBA_IO_QID; @cqe gets the completion, unchecked. */
void qihba_io_exec(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                   struct iscsi_hba_cqe *cqe);
/* Run a SCSI command past UNIT ATTENTION; check that it succeeded. */
void qihba_io_exec_good(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                        struct iscsi_hba_cqe *cqe);
/* The sense data of a completion (fixed or descriptor format). */
QIscsiHbaSense qihba_sense_of(QIscsiHbaTest *t,
                              const struct iscsi_hba_cqe *cqe);
/* Is the completion a CHECK CONDITION with UNIT ATTENTION? */
bool qihba_is_unit_attention(QIscsiHbaTest *t,
                             const struct iscsi_hba_cqe *cqe);
/* Clear the UNIT ATTENTION of a new nexus; read the capacity into @t. */
void qihba_lun_setup(QIscsiHbaTest *t, uint32_t sid, unsigned lun);
/* Log in to the fixture's plain target, LUN 1 ready; returns the sid. */
uint32_t qihba_open_plain(QIscsiHbaTest *t);
/* Fill @buf with the test pattern of @seed. */
void qihba_fill_pattern(uint8_t *buf, size_t len, uint32_t seed);

#endif
