/*
 * libqos helpers for iscsi-hba tests that log in to iSCSI targets
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "iscsi-hba-session.h"
#include "scsi/constants.h"

/* Retries of a command that gets UNIT ATTENTION (new nexus, reset). */
#define QIHBA_UA_RETRIES        4

/* SCSI sense response codes (SPC-4 4.5). */
#define SENSE_FIXED             0x70
#define SENSE_FIXED_DEFERRED    0x71
#define SENSE_DESC              0x72
#define SENSE_DESC_DEFERRED     0x73

/* A CQE the test has not asked for yet. */
typedef struct QIscsiHbaStashed {
    struct iscsi_hba_cqe cqe;
    uint64_t seq;               /* order of arrival on its CQ */
} QIscsiHbaStashed;

QIscsiHbaTest *qihba_t_start(TgtdFixture *fx, int lt, int ct,
                             const char *extra)
{
    return qihba_t_start_args(fx, lt, ct, extra, NULL);
}

QIscsiHbaTest *qihba_t_start_args(TgtdFixture *fx, int lt, int ct,
                                  const char *extra, const char *args)
{
    QIscsiHbaTest *t = qihba_t_new(fx, lt, ct, extra, args);

    qihba_t_enable(t);
    return t;
}

QIscsiHbaTest *qihba_t_new(TgtdFixture *fx, int lt, int ct,
                           const char *extra, const char *args)
{
    bool portals = extra && strstr(extra, "guest-portals=");
    QTestState *qts;

    /* Single-quoted for the shell, so that @extra may hold ';' */
    g_assert_null(extra ? strchr(extra, '\'') : NULL);
    qts = qtest_initf("-machine pc -nodefaults %s -device "
                      "'iscsi-hba,id=hba0,login-timeout=%d,"
                      "command-timeout=%d%s%s%s'", args ? args : "", lt, ct,
                      portals ? "" : ",guest-portals=" QIHBA_GUEST_PORTALS,
                      extra ? "," : "", extra ? extra : "");
    return qihba_t_attach(qts, fx, lt, ct);
}

QIscsiHbaTest *qihba_t_attach(QTestState *qts, TgtdFixture *fx, int lt,
                              int ct)
{
    return qihba_t_attach_hba(qihba_init(qts), fx, lt, ct);
}

QIscsiHbaTest *qihba_t_attach_hba(QIscsiHba *h, TgtdFixture *fx, int lt,
                                  int ct)
{
    QIscsiHbaTest *t = g_new0(QIscsiHbaTest, 1);

    t->h = h;
    t->qts = h->qts;
    t->fx = fx;
    t->lt = lt;
    t->ct = ct;
    t->stash[0] = g_array_new(false, false, sizeof(QIscsiHbaStashed));
    t->stash[1] = g_array_new(false, false, sizeof(QIscsiHbaStashed));
    return t;
}

void qihba_t_enable(QIscsiHbaTest *t)
{
    /* Completions of an earlier enable are gone with its queues */
    g_array_set_size(t->stash[0], 0);
    g_array_set_size(t->stash[1], 0);
    qihba_enable(t->h, QIHBA_ADMIN_ENTRIES);
    g_assert_cmphex(qihba_create_io_queue(t->h, QIHBA_IO_QID,
                                          QIHBA_IO_ENTRIES, QIHBA_IO_ENTRIES,
                                          0, false), ==, 0);
    if (!t->scratch) {
        t->scratch = qihba_alloc(t->h, QIHBA_SCRATCH_SIZE, 0);
        t->sense = qihba_alloc(t->h, ISCSI_HBA_MAX_SENSE_LEN, 0);
    }
}

void qihba_t_quit(QIscsiHbaTest *t)
{
    g_array_free(t->stash[0], true);
    g_array_free(t->stash[1], true);
    qihba_quit(t->h);
    g_free(t);
}

TgtdFixture *qihba_fixture_start(GHookFunc abort_hook, GError **errp)
{
    TgtdFixture *fx = tgtd_fixture_start(errp);

    if (fx) {
        qtest_add_abrt_handler(abort_hook, fx);
    }
    return fx;
}

/* tgtd would die with the test anyway (see tgtd-fixture.h). */
void qihba_fixture_abort(void *fx)
{
    tgtd_fixture_kill(fx);
    tgtd_fixture_stop(fx);
}

void qihba_fixture_free(TgtdFixture *fx)
{
    if (fx) {
        qtest_remove_abrt_handler(fx);
    }
    tgtd_fixture_free(fx);
}

bool qihba_fixture_ready(TgtdFixture *fx, const GError *fx_error)
{
    if (fx) {
        g_assert_true(tgtd_fixture_is_running(fx));
        return true;
    }
    if (g_error_matches(fx_error, TGTD_FIXTURE_ERROR,
                        TGTD_FIXTURE_ERROR_UNAVAILABLE)) {
        g_test_skip(fx_error->message);
        return false;
    }
    g_assert_no_error(fx_error);
    return false;
}

/*
 * CQEs of other commands that arrive meanwhile are kept for later waits,
 * so that commands may complete in any order (ASYNC_EVENT, LOGIN, ...).
 */
bool qihba_t_poll(QIscsiHbaTest *t, uint16_t qid, uint16_t cid,
                  int timeout_ms, struct iscsi_hba_cqe *out, uint64_t *seq)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    GArray *stash;

    g_assert(qid == ISCSI_HBA_ADMIN_QID || qid == QIHBA_IO_QID);
    stash = t->stash[qid];
    for (;;) {
        struct iscsi_hba_cqe cqe;
        guint i;

        for (i = 0; i < stash->len; i++) {
            QIscsiHbaStashed *s = &g_array_index(stash, QIscsiHbaStashed, i);

            if (s->cqe.cid == cid) {
                *out = s->cqe;
                if (seq) {
                    *seq = s->seq;
                }
                g_array_remove_index(stash, i);
                return true;
            }
        }
        if (qihba_peek_cqe(t->h, qid, 0, &cqe)) {
            QIscsiHbaStashed s = { .cqe = cqe, .seq = t->seq++ };

            qihba_consume(t->h, qid, 1);
            g_assert_cmpuint(cqe.sq_id, ==, qid);
            g_array_append_val(stash, s);
            continue;
        }
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(200);
    }
}

void qihba_t_wait(QIscsiHbaTest *t, uint16_t qid, uint16_t cid,
                  int timeout_ms, struct iscsi_hba_cqe *out, uint64_t *seq)
{
    if (!qihba_t_poll(t, qid, cid, timeout_ms, out, seq)) {
        g_error("no completion of cid %u on queue %u within %d ms",
                cid, qid, timeout_ms);
    }
}

void qihba_t_cmd(QIscsiHbaTest *t, uint16_t qid, struct iscsi_hba_sqe *sqe,
                 int timeout_ms, struct iscsi_hba_cqe *cqe)
{
    uint16_t cid = qihba_submit(t->h, qid, sqe);

    qihba_t_wait(t, qid, cid, timeout_ms, cqe, NULL);
}

void qihba_t_admin(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                   struct iscsi_hba_cqe *cqe)
{
    qihba_t_cmd(t, ISCSI_HBA_ADMIN_QID, sqe, QIHBA_ADMIN_WAIT_MS, cqe);
}

int qihba_login_wait_ms(QIscsiHbaTest *t)
{
    return (2 * t->lt + QIHBA_LATE_S) * 1000 + QIHBA_SLACK_MS;
}

int qihba_scsi_wait_ms(QIscsiHbaTest *t)
{
    return (t->ct + QIHBA_LATE_S) * 1000 + QIHBA_SLACK_MS;
}

/*
 * Sessions
 */

void qihba_login_params_at(struct iscsi_hba_login_params *p,
                           const char *target, const char *host, int port)
{
    memset(p, 0, sizeof(*p));
    g_strlcpy(p->target_name, target, sizeof(p->target_name));
    g_strlcpy(p->portal_host, host, sizeof(p->portal_host));
    p->portal_port = port;
    p->session_type = ISCSI_HBA_SESSION_NORMAL;
    p->auth_type = ISCSI_HBA_AUTH_NONE;
}

void qihba_login_params(struct iscsi_hba_login_params *p, TgtdFixture *fx,
                        const char *target)
{
    qihba_login_params_at(p, target, fx->host, fx->port);
}

uint16_t qihba_login_start(QIscsiHbaTest *t,
                           const struct iscsi_hba_login_params *p)
{
    uint64_t buf = qihba_alloc(t->h, sizeof(*p), 0);
    struct iscsi_hba_sqe sqe;

    qtest_bufwrite(t->qts, buf, p, sizeof(*p));
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_LOGIN, buf, sizeof(*p));
    return qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
}

void qihba_login(QIscsiHbaTest *t, const struct iscsi_hba_login_params *p,
                 struct iscsi_hba_cqe *cqe)
{
    uint16_t cid = qihba_login_start(t, p);

    qihba_t_wait(t, ISCSI_HBA_ADMIN_QID, cid, qihba_login_wait_ms(t), cqe,
                 NULL);
}

uint32_t qihba_login_ok_params(QIscsiHbaTest *t,
                               const struct iscsi_hba_login_params *p)
{
    g_autofree char *what = g_strdup_printf("LOGIN to %s", p->target_name);
    struct iscsi_hba_cqe cqe;

    qihba_login(t, p, &cqe);
    qihba_check_cqe(what, &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmphex(cqe.result, !=, 0);
    g_assert_cmphex(cqe.result, <=, UINT32_MAX);
    return cqe.result;
}

uint32_t qihba_login_ok(QIscsiHbaTest *t, TgtdTargetId tgt)
{
    struct iscsi_hba_login_params p;

    g_assert_nonnull(t->fx);
    qihba_login_params(&p, t->fx, t->fx->target[tgt].name);
    return qihba_login_ok_params(t, &p);
}

void qihba_logout(QIscsiHbaTest *t, uint32_t sid, struct iscsi_hba_cqe *cqe)
{
    struct iscsi_hba_sqe sqe;

    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_LOGOUT);
    sqe.hdr.session_id = sid;
    qihba_t_cmd(t, ISCSI_HBA_ADMIN_QID, &sqe, QIHBA_LOGOUT_WAIT_MS, cqe);
}

void qihba_logout_ok(QIscsiHbaTest *t, uint32_t sid)
{
    struct iscsi_hba_cqe cqe;

    qihba_logout(t, sid, &cqe);
    qihba_check_cqe("LOGOUT", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmphex(cqe.result, ==, 0);
}

/* Reads the structure only on success, then checks that it is @sid's. */
unsigned qihba_list_sessions(QIscsiHbaTest *t, uint32_t *ids, unsigned max)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_LIST_SESSIONS, t->scratch,
                     max * sizeof(uint32_t));
    qihba_t_admin(t, &sqe, &cqe);
    qihba_check_cqe("LIST_SESSIONS", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, <=, max);
    if (cqe.result) {
        qtest_bufread(t->qts, t->scratch, ids, cqe.result * sizeof(*ids));
    }
    return cqe.result;
}

void qihba_report_luns(QIscsiHbaTest *t, uint32_t sid, uint64_t buf,
                       uint32_t len, struct iscsi_hba_cqe *cqe)
{
    struct iscsi_hba_sqe sqe;

    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_REPORT_LUNS, buf, len);
    sqe.hdr.session_id = sid;
    qihba_t_cmd(t, ISCSI_HBA_ADMIN_QID, &sqe, qihba_scsi_wait_ms(t), cqe);
}

uint32_t qihba_session_info(QIscsiHbaTest *t, uint32_t sid,
                            struct iscsi_hba_session_info *si)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qtest_memset(t->qts, t->scratch, 0, sizeof(*si));
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SESSION_INFO, t->scratch,
                     sizeof(*si));
    sqe.hdr.session_id = sid;
    qihba_t_admin(t, &sqe, &cqe);
    if (cqe.status == 0) {
        g_assert_cmpuint(cqe.result, ==, sizeof(*si));
        qtest_bufread(t->qts, t->scratch, si, sizeof(*si));
        g_assert_cmphex(si->session_id, ==, sid);
    }
    return cqe.status;
}

uint16_t qihba_discovery_start(QIscsiHbaTest *t, const char *host, int port,
                               const char *initiator, uint64_t out,
                               uint32_t out_len)
{
    struct iscsi_hba_login_params p;
    struct iscsi_hba_sqe sqe;
    uint64_t buf = qihba_alloc(t->h, sizeof(p), 0);

    qihba_login_params_at(&p, "", host, port);
    p.session_type = ISCSI_HBA_SESSION_DISCOVERY;
    if (initiator) {
        g_strlcpy(p.initiator_name, initiator, sizeof(p.initiator_name));
    }
    qtest_bufwrite(t->qts, buf, &p, sizeof(p));
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_DISCOVERY, buf, sizeof(p));
    sqe.u.buf.addr2 = out;
    sqe.u.buf.len2 = out_len;
    return qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
}

void qihba_discovery(QIscsiHbaTest *t, const char *host, int port,
                     const char *initiator, uint64_t out, uint32_t out_len,
                     struct iscsi_hba_cqe *cqe)
{
    uint16_t cid = qihba_discovery_start(t, host, port, initiator, out,
                                         out_len);

    qihba_t_wait(t, ISCSI_HBA_ADMIN_QID, cid,
                 (3 * t->lt + QIHBA_LATE_S) * 1000 + QIHBA_SLACK_MS, cqe,
                 NULL);
}

uint16_t qihba_post_aer(QIscsiHbaTest *t)
{
    struct iscsi_hba_sqe sqe;

    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_ASYNC_EVENT);
    return qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
}

void qihba_expect_event(QIscsiHbaTest *t, uint16_t cid, int timeout_ms,
                        uint8_t type, uint32_t sid, uint32_t info)
{
    struct iscsi_hba_cqe cqe;

    qihba_t_wait(t, ISCSI_HBA_ADMIN_QID, cid, timeout_ms, &cqe, NULL);
    qihba_check_cqe("ASYNC_EVENT", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_test_message("event type %u session 0x%08x info 0x%08x %s",
                   ISCSI_HBA_EVENT_TYPE(cqe.result),
                   ISCSI_HBA_EVENT_SESSION(cqe.result), cqe.info,
                   qihba_isdsc(cqe.info));
    g_assert_cmpuint(ISCSI_HBA_EVENT_TYPE(cqe.result), ==, type);
    g_assert_cmphex(ISCSI_HBA_EVENT_SESSION(cqe.result), ==, sid);
    g_assert_cmphex(cqe.result & 0xffffff00u, ==, 0);
    g_assert_cmphex(cqe.info, ==, info);
}

int qihba_closed_port(void)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/*
 * SCSI commands
 */

void qihba_scsi_init(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                     uint32_t sid, unsigned lun, uint8_t dir,
                     const uint8_t *cdb, uint8_t cdb_len, uint32_t data_len)
{
    qihba_sqe_scsi(sqe, sid, lun, dir, cdb, cdb_len, data_len);
    sqe->u.scsi.sense_addr = t->sense;
    sqe->u.scsi.sense_len = ISCSI_HBA_MAX_SENSE_LEN;
}

void qihba_rw_init(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe, uint32_t sid,
                   unsigned lun, uint8_t op, uint64_t lba, uint32_t blocks)
{
    uint8_t cdb[16], cdb_len;
    bool write = op == WRITE_10 || op == WRITE_16;

    qihba_cdb_rw(cdb, &cdb_len, op, lba, blocks);
    qihba_scsi_init(t, sqe, sid, lun, write ? ISCSI_HBA_SCSI_DIR_WRITE :
                    ISCSI_HBA_SCSI_DIR_READ, cdb, cdb_len, blocks * t->bs);
}

void qihba_tur_init(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                    uint32_t sid, unsigned lun)
{
    static const uint8_t cdb[6] = { TEST_UNIT_READY };

    qihba_scsi_init(t, sqe, sid, lun, ISCSI_HBA_SCSI_DIR_NONE, cdb,
                    sizeof(cdb), 0);
}

void qihba_io_exec(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                   struct iscsi_hba_cqe *cqe)
{
    qihba_t_cmd(t, QIHBA_IO_QID, sqe, qihba_scsi_wait_ms(t), cqe);
}

/* UNIT ATTENTION is expected after a login, a reconnection or a reset. */
void qihba_io_exec_good(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                        struct iscsi_hba_cqe *cqe)
{
    int i;

    for (i = 0; i < QIHBA_UA_RETRIES; i++) {
        qihba_io_exec(t, sqe, cqe);
        if (!qihba_is_unit_attention(t, cqe)) {
            break;
        }
    }
    qihba_check_good("SCSI_CMD", cqe);
    g_assert_cmphex(cqe->result, ==, 0);
}

static QIscsiHbaSense qihba_sense_decode(const uint8_t *s, unsigned len)
{
    QIscsiHbaSense r = { 0 };

    g_assert_cmpuint(len, >=, 4);
    switch (s[0] & 0x7f) {
    case SENSE_FIXED:
    case SENSE_FIXED_DEFERRED:
        g_assert_cmpuint(len, >=, 14);
        r.key = s[2] & 0xf;
        r.asc = s[12];
        r.ascq = s[13];
        break;
    case SENSE_DESC:
    case SENSE_DESC_DEFERRED:
        r.key = s[1] & 0xf;
        r.asc = s[2];
        r.ascq = s[3];
        break;
    default:
        g_error("unknown sense response code 0x%02x", s[0]);
    }
    return r;
}

QIscsiHbaSense qihba_sense_of(QIscsiHbaTest *t,
                              const struct iscsi_hba_cqe *cqe)
{
    uint8_t s[ISCSI_HBA_MAX_SENSE_LEN];

    g_assert_true(cqe->flags & ISCSI_HBA_CQE_SENSE_VALID);
    g_assert_cmpuint(cqe->sense_len, >, 0);
    g_assert_cmpuint(cqe->sense_len, <=, ISCSI_HBA_MAX_SENSE_LEN);
    qtest_bufread(t->qts, t->sense, s, cqe->sense_len);
    return qihba_sense_decode(s, cqe->sense_len);
}

bool qihba_is_unit_attention(QIscsiHbaTest *t,
                             const struct iscsi_hba_cqe *cqe)
{
    return cqe->status == 0 && cqe->scsi_status == CHECK_CONDITION &&
           (cqe->flags & ISCSI_HBA_CQE_SENSE_VALID) &&
           qihba_sense_of(t, cqe).key == UNIT_ATTENTION;
}

void qihba_lun_setup(QIscsiHbaTest *t, uint32_t sid, unsigned lun)
{
    static const uint8_t cdb[10] = { READ_CAPACITY_10 };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint8_t cap[8];
    uint64_t buf = qihba_alloc(t->h, sizeof(cap), 0);

    qihba_tur_init(t, &sqe, sid, lun);
    qihba_io_exec_good(t, &sqe, &cqe);
    qihba_scsi_init(t, &sqe, sid, lun, ISCSI_HBA_SCSI_DIR_READ, cdb,
                    sizeof(cdb), sizeof(cap));
    qihba_sqe_add_sg(&sqe, buf, sizeof(cap));
    qihba_io_exec_good(t, &sqe, &cqe);
    g_assert_false(cqe.flags & (ISCSI_HBA_CQE_RESID_UNDER |
                                ISCSI_HBA_CQE_RESID_OVER));
    qtest_bufread(t->qts, buf, cap, sizeof(cap));
    t->blocks = (uint64_t)ldl_be_p(&cap[0]) + 1;
    t->bs = ldl_be_p(&cap[4]);
    g_assert_cmpuint(t->bs, >=, 512);
    guest_free(&t->h->alloc, buf);
}

uint32_t qihba_open_plain(QIscsiHbaTest *t)
{
    uint32_t sid = qihba_login_ok(t, TGTD_TARGET_PLAIN);

    qihba_lun_setup(t, sid, 1);
    g_assert_cmpuint(t->blocks * t->bs, ==,
                     t->fx->target[TGTD_TARGET_PLAIN].lun_size);
    return sid;
}

void qihba_fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = ((seed ^ (uint32_t)i) * 0x9e3779b1u) >> 24;
    }
}
