/*
 * QTest testcases for the iscsi-hba session layer against a real target
 *
 * A real tgtd (tests/qtest/libqos/tgtd-fixture.h) listens on 127.0.0.1;
 * the device logs in to it through libiscsi.  The tests drive the device
 * as a guest driver would and check what the specification
 * (docs/specs/iscsi-hba.rst: Sessions, LOGIN, DISCOVERY, "ISDSC from real
 * conditions", SCSI_CMD, TASK_MGMT, events) promises.
 *
 * One tgtd serves the whole binary.  Tests that kill or freeze it restore
 * it before they end.  Every test starts its own QEMU.  Without root or
 * the tgt package every test is skipped.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "libqtest.h"
#include "qobject/qjson.h"
#include "hw/pci/pci_regs.h"
#include "libqos/fw_cfg.h"
#include "libqos/iscsi-hba.h"
#include "libqos/iscsi-hba-session.h"
#include "libqos/tgtd-fixture.h"
#include "qobject/qdict.h"
#include "scsi/constants.h"

/* Device timeouts of most tests (properties, seconds). */
#define LT                      3       /* login-timeout */
#define CT                      5       /* command-timeout */

/* SCSI values scsi/constants.h does not name. */
#define ASC_LBA_OUT_OF_RANGE    0x21
#define ASC_POWER_ON_RESET      0x29

/* iSCSI task management responses (RFC 3720 10.6.1), TASK_MGMT result. */
#define TMF_RSP_COMPLETE        0
#define TMF_RSP_NO_TASK         1
#define TMF_RSP_NOT_SUPPORTED   5

/* SAM LUN addressing methods (byte 0 bits 7:6). */
#define LUN_ADDR_PERIPHERAL     0
#define LUN_ADDR_FLAT           1

/* A session id no device hands out first: generation 0xdead, slot 7. */
#define BOGUS_SESSION_ID        0xdead0007u

static TgtdFixture *fx;
static GError *fx_error;
/* A backing file a test created in fx->dir, to remove if it aborts */
static char *extra_backing;

/*
 * Fixture
 */

static void fixture_restore(void)
{
    g_autoptr(GError) err = NULL;

    if (!tgtd_fixture_is_running(fx)) {
        g_assert_true(tgtd_fixture_restart(fx, &err));
        g_assert_no_error(err);
    }
    tgtd_fixture_thaw(fx);
}

/* A failed assertion aborts the binary: remove extra_backing, too. */
static void fixture_abort_hook(void *data)
{
    if (extra_backing) {
        unlink(extra_backing);
    }
    qihba_fixture_abort(data);
}

static const char *fx_target_name(TgtdTargetId tgt)
{
    return fx->target[tgt].name;
}

/*
 * Admin commands
 */

static void params_chap(struct iscsi_hba_login_params *p, uint8_t auth,
                        const char *user, const char *secret)
{
    p->auth_type = auth;
    g_strlcpy(p->chap_username, user, sizeof(p->chap_username));
    p->chap_secret_len = strlen(secret);
    memcpy(p->chap_secret, secret, p->chap_secret_len);
}

/*
 * qihba_login(), checking that the result is a session id unless the
 * status is an error; returns the status, and the session id in @sid.
 */
static uint32_t login(QIscsiHbaTest *t, const struct iscsi_hba_login_params *p,
                      uint32_t *sid, struct iscsi_hba_cqe *cqe_out)
{
    struct iscsi_hba_cqe cqe;

    qihba_login(t, p, &cqe);
    if (ISCSI_HBA_STATUS_IS_ERROR(cqe.status)) {
        g_assert_cmphex(cqe.result, ==, 0);
    } else {
        g_assert_cmphex(cqe.result, !=, 0);
        g_assert_cmphex(cqe.result, <=, UINT32_MAX);
    }
    if (sid) {
        *sid = cqe.result;
    }
    if (cqe_out) {
        *cqe_out = cqe;
    }
    return cqe.status;
}

static void expect_login(QIscsiHbaTest *t, const char *what,
                         const struct iscsi_hba_login_params *p,
                         uint32_t status, uint16_t detail, uint32_t *sid)
{
    struct iscsi_hba_cqe cqe;

    login(t, p, sid, &cqe);
    qihba_check_cqe(what, &cqe, status, detail);
}

static void admin_expect(QIscsiHbaTest *t, const char *what,
                         struct iscsi_hba_sqe *sqe, uint32_t status,
                         uint16_t detail, struct iscsi_hba_cqe *cqe_out)
{
    struct iscsi_hba_cqe cqe;

    qihba_t_admin(t, sqe, &cqe);
    qihba_check_cqe(what, &cqe, status, detail);
    if (cqe_out) {
        *cqe_out = cqe;
    }
}

static uint16_t session_state(QIscsiHbaTest *t, uint32_t sid)
{
    struct iscsi_hba_session_info si;

    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    return si.state;
}

static bool list_has(const uint32_t *ids, unsigned n, uint32_t sid)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        if (ids[i] == sid) {
            return true;
        }
    }
    return false;
}

static uint32_t set_chap_secret(QIscsiHbaTest *t, const char *secret)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    size_t len = strlen(secret);

    qtest_memwrite(t->qts, t->scratch, secret, len);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_CHAP_SECRET, t->scratch, len);
    sqe.u.buf.param = ISCSI_HBA_CHAP_SECRET_INITIATOR;
    qihba_t_admin(t, &sqe, &cqe);
    return cqe.status;
}

static void set_initiator_name(QIscsiHbaTest *t, const char *name)
{
    struct iscsi_hba_sqe sqe;

    qtest_memwrite(t->qts, t->scratch, name, strlen(name));
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_INITIATOR_NAME, t->scratch,
                     strlen(name));
    admin_expect(t, "SET_INITIATOR_NAME", &sqe, 0, ISCSI_HBA_DETAIL_NONE,
                 NULL);
}

/*
 * SCSI commands
 */

static void assert_filled(const uint8_t *buf, size_t len, uint8_t val)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (buf[i] != val) {
            g_error("byte %zu is 0x%02x, expected 0x%02x", i, buf[i], val);
        }
    }
}

/* One-element READ or WRITE of @len bytes at @lba, checked GOOD. */
static void rw_simple(QIscsiHbaTest *t, uint32_t sid, uint8_t op, uint64_t lba,
                      uint64_t buf, uint32_t len)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    g_assert_cmpuint(len % t->bs, ==, 0);
    qihba_rw_init(t, &sqe, sid, 1, op, lba, len / t->bs);
    qihba_sqe_add_sg(&sqe, buf, len);
    qihba_io_exec_good(t, &sqe, &cqe);
    g_assert_cmphex(cqe.flags & ~ISCSI_HBA_CQE_PHASE, ==, 0);
    g_assert_cmpuint(cqe.info, ==, 0);
}

/*
 * Every command that names a session and needs a connection fails the
 * same way on @sid: SCSI_CMD, TASK_MGMT and REPORT_LUNS.
 */
static void expect_no_connection_io(QIscsiHbaTest *t, uint32_t sid,
                                    uint32_t status, uint16_t detail)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("SCSI_CMD", &cqe, status, detail);
    qihba_sqe_tmf(&sqe, sid, 1, ISCSI_HBA_TMF_LUN_RESET, 0, 0);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("TASK_MGMT", &cqe, status, detail);
    qihba_report_luns(t, sid, t->scratch, 4096, &cqe);
    qihba_check_cqe("REPORT_LUNS", &cqe, status, detail);
}

static double elapsed_s(gint64 since)
{
    return (g_get_monotonic_time() - since) / (double)G_USEC_PER_SEC;
}

/*
 * Login and session information
 */

static void test_login_plain(void)
{
    struct iscsi_hba_session_info si;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint32_t ids[4], sid;
    QIscsiHbaSense s;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 0);

    sid = qihba_login_ok(t, TGTD_TARGET_PLAIN);
    g_assert_cmphex(sid, !=, 0);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 1);
    g_assert_cmphex(ids[0], ==, sid);

    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_LOGGED_IN);
    g_assert_cmphex(si.flags, ==, 0);
    g_assert_cmpstr(si.target_name, ==, fx_target_name(TGTD_TARGET_PLAIN));
    g_assert_cmpstr(si.portal_host, ==, fx->host);
    g_assert_cmpuint(si.portal_port, ==, fx->port);
    g_assert_cmpuint(si.reconnects, ==, 0);
    g_assert_cmphex(si.last_status, ==, 0);
    /* libiscsi keeps the TSIH private; LUNs come from REPORT_LUNS */
    g_assert_cmpuint(si.tsih, ==, 0);
    g_assert_cmpuint(si.num_luns, ==, 0);
    /*
     * What tgtd 1.0.85 answers with its defaults to libiscsi's offer
     * (InitialR2T=No, ImmediateData=Yes, bursts 262144): InitialR2T is
     * Yes if either side says so; FirstBurstLength is tgtd's 65536.
     */
    g_assert_cmpuint(si.max_recv_data_segment_len, ==, 8192);
    g_assert_cmpuint(si.max_burst_len, ==, 262144);
    g_assert_cmpuint(si.first_burst_len, ==, 65536);
    g_assert_cmpuint(si.initial_r2t, ==, 1);
    g_assert_cmpuint(si.immediate_data, ==, 1);
    /* A random-kind ISID (RFC 7143 10.12.5) */
    g_assert_cmphex(si.isid[0], ==, 0x80);

    /* The first command sees the new I_T nexus: UNIT ATTENTION 29h/00h */
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("first TEST UNIT READY", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmphex(cqe.scsi_status, ==, CHECK_CONDITION);
    s = qihba_sense_of(t, &cqe);
    g_assert_cmphex(s.key, ==, UNIT_ATTENTION);
    g_assert_cmphex(s.asc, ==, ASC_POWER_ON_RESET);
    g_assert_cmphex(s.ascq, ==, 0);

    /* No data: GOOD, no flags, no residual */
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("TEST UNIT READY", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmphex(cqe.scsi_status, ==, GOOD);
    g_assert_cmphex(cqe.flags & ~ISCSI_HBA_CQE_PHASE, ==, 0);
    g_assert_cmpuint(cqe.sense_len, ==, 0);
    g_assert_cmpuint(cqe.info, ==, 0);
    g_assert_cmphex(cqe.result, ==, 0);

    qihba_logout_ok(t, sid);
    g_assert_cmphex(qihba_session_info(t, sid, &si), ==,
                    ISDSC_INVALID_SESSION_ID);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 0);
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("SCSI_CMD after LOGOUT", &cqe, ISDSC_INVALID_SESSION_ID,
                    ISCSI_HBA_DETAIL_NO_SESSION);
    qihba_t_quit(t);
}

static unsigned lun_number(const uint8_t *e)
{
    unsigned method = e[0] >> 6;
    unsigned i;

    for (i = 2; i < 8; i++) {
        g_assert_cmphex(e[i], ==, 0);
    }
    if (method == LUN_ADDR_PERIPHERAL) {
        g_assert_cmphex(e[0], ==, 0);
        return e[1];
    }
    g_assert_cmpuint(method, ==, LUN_ADDR_FLAT);
    return (e[0] & 0x3f) << 8 | e[1];
}

static void test_report_luns(void)
{
    const TgtdFixtureTarget *tg;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint8_t data[4096], canary[64];
    uint32_t sid, list_len, need, n, i;
    uint32_t seen = 0;
    uint64_t buf;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    tg = &fx->target[TGTD_TARGET_MULTI];
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_login_ok(t, TGTD_TARGET_MULTI);
    buf = qihba_alloc(t->h, sizeof(data), 0xa5);

    qihba_report_luns(t, sid, buf, sizeof(data), &cqe);
    qihba_check_cqe("REPORT_LUNS", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    qtest_bufread(t->qts, buf, data, sizeof(data));
    list_len = ldl_be_p(data);
    need = list_len + 8;
    n = list_len / 8;
    g_test_message("REPORT LUNS: LUN LIST LENGTH %u, %u LUNs", list_len, n);
    g_assert_cmpuint(list_len % 8, ==, 0);
    g_assert_cmpuint(cqe.result, ==, need);
    /* tgtd: LUN 0 (its controller) and the target's LUNs 1 .. nluns */
    g_assert_cmpuint(n, ==, tg->nluns + 1);
    for (i = 0; i < n; i++) {
        unsigned lun = lun_number(&data[8 + 8 * i]);

        g_assert_cmpuint(lun, <=, tg->nluns);
        g_assert_false(seen & (1u << lun));
        seen |= 1u << lun;
    }
    g_assert_cmphex(seen, ==, (1u << (tg->nluns + 1)) - 1);
    assert_filled(data + need, sizeof(data) - need, 0xa5);

    /* Too small: the size needed, nothing written */
    qtest_memset(t->qts, buf, 0xa5, sizeof(canary));
    qihba_report_luns(t, sid, buf, 8, &cqe);
    qihba_check_cqe("REPORT_LUNS 8 bytes", &cqe, ISDSC_BUFFER_TOO_SMALL,
                    ISCSI_HBA_DETAIL_BAD_LENGTH);
    g_assert_cmpuint(cqe.result, ==, need);
    qtest_bufread(t->qts, buf, canary, sizeof(canary));
    assert_filled(canary, sizeof(canary), 0xa5);
    qihba_report_luns(t, sid, buf, 0, &cqe);
    qihba_check_cqe("REPORT_LUNS 0 bytes", &cqe, ISDSC_BUFFER_TOO_SMALL,
                    ISCSI_HBA_DETAIL_BAD_LENGTH);
    g_assert_cmpuint(cqe.result, ==, need);

    /* Every reported LUN, copied unchanged, takes commands */
    for (i = 0; i < n; i++) {
        qihba_tur_init(t, &sqe, sid, 0);
        memcpy(sqe.u.scsi.lun, &data[8 + 8 * i], 8);
        qihba_io_exec_good(t, &sqe, &cqe);
    }
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Login failures and what tgtd answers
 */

static void test_login_chap(void)
{
    static const struct {
        const char *what;
        uint8_t auth;
        bool bad_user;
        bool bad_secret;
        uint32_t status;
    } rows[] = {
        { "no CHAP", ISCSI_HBA_AUTH_NONE, false, false,
          ISDSC_AUTHENTICATION_FAILURE },
        { "wrong secret", ISCSI_HBA_AUTH_CHAP, false, true,
          ISDSC_AUTHENTICATION_FAILURE },
        { "wrong user", ISCSI_HBA_AUTH_CHAP, true, false,
          ISDSC_AUTHENTICATION_FAILURE },
        { "correct", ISCSI_HBA_AUTH_CHAP, false, false, 0 },
    };
    struct iscsi_hba_login_params p;
    struct iscsi_hba_session_info si;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint32_t ids[4], sid = 0;
    size_t i;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    for (i = 0; i < G_N_ELEMENTS(rows); i++) {
        qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_CHAP));
        if (rows[i].auth != ISCSI_HBA_AUTH_NONE) {
            params_chap(&p, rows[i].auth,
                        rows[i].bad_user ? "nosuchuser" : fx->chap_user,
                        rows[i].bad_secret ? "wrongsecret12" :
                        fx->chap_secret);
        }
        expect_login(t, rows[i].what, &p, rows[i].status,
                     ISCSI_HBA_DETAIL_NONE, &sid);
        g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==,
                         rows[i].status ? 0 : 1);
    }
    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_LOGGED_IN);
    g_assert_cmphex(si.flags, ==, 0);
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec_good(t, &sqe, &cqe);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

static void test_login_acl(void)
{
    struct iscsi_hba_login_params p;
    struct iscsi_hba_session_info si;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint32_t ids[4], sid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);

    /* tgtd answers an ACL rejection with 0x0203, not 0x0202 */
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_ACL));
    expect_login(t, "default initiator name", &p, ISDSC_NOT_FOUND,
                 ISCSI_HBA_DETAIL_NONE, NULL);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 0);

    g_strlcpy(p.initiator_name, fx->acl_initiator, sizeof(p.initiator_name));
    expect_login(t, "allowed initiator name", &p, 0, ISCSI_HBA_DETAIL_NONE,
                 &sid);
    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    g_assert_cmpstr(si.target_name, ==, fx_target_name(TGTD_TARGET_ACL));
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec_good(t, &sqe, &cqe);
    qihba_logout_ok(t, sid);

    /* An empty initiator_name takes the adapter's name */
    set_initiator_name(t, fx->acl_initiator);
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_ACL));
    expect_login(t, "adapter name allowed", &p, 0, ISCSI_HBA_DETAIL_NONE,
                 &sid);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

static void test_login_mutual_chap(void)
{
    struct iscsi_hba_login_params p;
    struct iscsi_hba_session_info si;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint32_t ids[4], sid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_MUTUAL));
    params_chap(&p, ISCSI_HBA_AUTH_MUTUAL_CHAP, fx->mutual_user,
                fx->mutual_secret);
    g_strlcpy(p.target_chap_username, fx->mutual_target_user,
              sizeof(p.target_chap_username));

    expect_login(t, "mutual CHAP before SET_CHAP_SECRET", &p,
                 ISDSC_INVALID_INITIATOR_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
                 NULL);

    g_assert_cmphex(set_chap_secret(t, "wrongsecret99"), ==, 0);
    expect_login(t, "target proves another secret", &p,
                 ISDSC_INVALID_TARGET_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
                 NULL);

    g_assert_cmphex(set_chap_secret(t, fx->mutual_target_secret), ==, 0);
    g_strlcpy(p.target_chap_username, "eviltarget",
              sizeof(p.target_chap_username));
    expect_login(t, "target presents another name", &p,
                 ISDSC_INVALID_TARGET_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
                 NULL);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 0);

    g_strlcpy(p.target_chap_username, fx->mutual_target_user,
              sizeof(p.target_chap_username));
    expect_login(t, "mutual CHAP", &p, 0, ISCSI_HBA_DETAIL_NONE, &sid);
    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    g_assert_cmphex(si.flags, ==, ISCSI_HBA_SESSION_MUTUAL_CHAP);
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec_good(t, &sqe, &cqe);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * A CHAP secret below 12 bytes that the target accepts: an extra tgtd
 * target with an account whose password is short.
 */
#define SHORT_TID               "6"
#define SHORT_USER              "shortuser"
#define SHORT_SECRET            "short1"
#define SHORT_LUN_SIZE          (4 * MiB)

static void short_target_delete(void)
{
    tgtd_fixture_tgtadm(fx, NULL, NULL, "--op", "delete", "--force",
                        "--mode", "target", "--tid", SHORT_TID, NULL);
    tgtd_fixture_tgtadm(fx, NULL, NULL, "--op", "delete", "--mode",
                        "account", "--user", SHORT_USER, NULL);
    unlink(extra_backing);
    g_clear_pointer(&extra_backing, g_free);
}

static void test_login_short_chap_secret(void)
{
    g_autofree char *name = NULL;
    g_autoptr(GError) err = NULL;
    struct iscsi_hba_login_params p;
    struct iscsi_hba_cqe cqe;
    uint8_t wr[4096], rd[4096];
    uint64_t buf;
    uint32_t sid;
    int fd;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    g_assert_cmpuint(strlen(SHORT_SECRET), <, 12);
    g_assert_cmpint(atoi(SHORT_TID), >, TGTD_TARGET__MAX);
    name = g_strdup_printf("%s:short", fx->iqn_prefix);
    extra_backing = g_build_filename(fx->dir, "short-lun1.img", NULL);
    fd = open(extra_backing, O_RDWR | O_CREAT | O_TRUNC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, SHORT_LUN_SIZE), ==, 0);
    close(fd);
    g_assert_true(tgtd_fixture_tgtadm(fx, NULL, &err, "--op", "new",
                                      "--mode", "account", "--user",
                                      SHORT_USER, "--password",
                                      SHORT_SECRET, NULL) &&
                  tgtd_fixture_tgtadm(fx, NULL, &err, "--op", "new",
                                      "--mode", "target", "--tid",
                                      SHORT_TID, "--targetname", name,
                                      NULL) &&
                  tgtd_fixture_tgtadm(fx, NULL, &err, "--op", "new",
                                      "--mode", "logicalunit", "--tid",
                                      SHORT_TID, "--lun", "1",
                                      "--backing-store", extra_backing,
                                      "--bstype", "rdwr", NULL) &&
                  tgtd_fixture_tgtadm(fx, NULL, &err, "--op", "bind",
                                      "--mode", "target", "--tid",
                                      SHORT_TID, "--initiator-address",
                                      "ALL", NULL) &&
                  tgtd_fixture_tgtadm(fx, NULL, &err, "--op", "bind",
                                      "--mode", "account", "--tid",
                                      SHORT_TID, "--user", SHORT_USER,
                                      NULL));
    g_assert_no_error(err);

    t = qihba_t_start(fx, LT, CT, NULL);
    qihba_login_params(&p, fx, name);
    params_chap(&p, ISCSI_HBA_AUTH_CHAP, SHORT_USER, SHORT_SECRET);
    login(t, &p, &sid, &cqe);
    qihba_check_cqe("LOGIN with a short secret", &cqe, ISDSC_SHORT_CHAP_SECRET,
                    ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(ISCSI_HBA_NT_SEVERITY(cqe.status), ==,
                     ISCSI_HBA_NT_SEV_WARNING);
    g_assert_cmphex(sid, !=, 0);
    g_assert_cmpuint(session_state(t, sid), ==,
                     ISCSI_HBA_SESSION_STATE_LOGGED_IN);

    /* The session works like any other */
    qihba_lun_setup(t, sid, 1);
    g_assert_cmpuint(t->blocks * t->bs, ==, SHORT_LUN_SIZE);
    qihba_fill_pattern(wr, sizeof(wr), g_test_rand_int());
    buf = qihba_alloc(t->h, sizeof(wr), 0);
    qtest_bufwrite(t->qts, buf, wr, sizeof(wr));
    rw_simple(t, sid, WRITE_10, 8, buf, sizeof(wr));
    qtest_memset(t->qts, buf, 0, sizeof(wr));
    rw_simple(t, sid, READ_10, 8, buf, sizeof(rd));
    qtest_bufread(t->qts, buf, rd, sizeof(rd));
    g_assert_true(memcmp(wr, rd, sizeof(wr)) == 0);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
    short_target_delete();
}

static void test_login_errors(void)
{
    struct iscsi_hba_login_params p;
    uint32_t ids[4];
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    /* Names are resolved only with guest-portals=any */
    t = qihba_t_start(fx, LT, CT, "guest-portals=any");

    /* tgtd: unknown target name, 0x0203 */
    {
        g_autofree char *name = g_strdup_printf("%s:nosuchtarget",
                                                fx->iqn_prefix);

        qihba_login_params(&p, fx, name);
        expect_login(t, "unknown target", &p, ISDSC_NOT_FOUND,
                     ISCSI_HBA_DETAIL_NONE, NULL);
    }

    /* Nothing listens: connection refused */
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_PLAIN));
    p.portal_port = qihba_closed_port();
    expect_login(t, "closed port", &p, ISDSC_CONNECTION_FAILED,
                 ISCSI_HBA_DETAIL_NONE, NULL);

    /* A name that does not resolve */
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_PLAIN));
    g_strlcpy(p.portal_host, "no-such-host.invalid", sizeof(p.portal_host));
    expect_login(t, "unresolvable host", &p, ISDSC_DNS_NAME_UNRESOLVED,
                 ISCSI_HBA_DETAIL_NONE, NULL);

    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 0);
    qihba_t_quit(t);
}

static void test_login_bad_names(void)
{
    static const char *const bad_targets[] = {
        "", "iqn.bad", "target", "iqn.2026-11.org.qemu.test:has space",
        "eui.0123", "naa.xyz",
    };
    struct iscsi_hba_login_params p;
    uint32_t ids[4];
    size_t i;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    for (i = 0; i < G_N_ELEMENTS(bad_targets); i++) {
        qihba_login_params(&p, fx, bad_targets[i]);
        expect_login(t, bad_targets[i], &p, ISDSC_INVALID_ISCSI_NAME,
                     ISCSI_HBA_DETAIL_BAD_NAME, NULL);
    }
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_PLAIN));
    g_strlcpy(p.initiator_name, "not an iscsi name",
              sizeof(p.initiator_name));
    expect_login(t, "bad initiator name", &p, ISDSC_INVALID_ISCSI_NAME,
                 ISCSI_HBA_DETAIL_BAD_NAME, NULL);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 0);
    qihba_t_quit(t);
}

static void test_login_twice(void)
{
    struct iscsi_hba_login_params p;
    uint32_t ids[4], sid, sid2;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_login_ok(t, TGTD_TARGET_PLAIN);
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_PLAIN));
    expect_login(t, "second LOGIN", &p, ISDSC_TARGET_ALREADY_LOGGED_IN,
                 ISCSI_HBA_DETAIL_NONE, NULL);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 1);
    g_assert_cmphex(ids[0], ==, sid);

    /* After the LOGOUT the target is free again, under a new id */
    qihba_logout_ok(t, sid);
    sid2 = qihba_login_ok(t, TGTD_TARGET_PLAIN);
    g_assert_cmphex(sid2, !=, sid);
    qihba_logout_ok(t, sid2);
    qihba_t_quit(t);
}

static void test_login_too_many(void)
{
    struct iscsi_hba_login_params p;
    uint32_t ids[4], s1, s2, s3;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, "max-sessions=2");
    g_assert_cmpuint(qihba_readl(t->h, ISCSI_HBA_REG_MAX_SESSIONS), ==, 2);
    s1 = qihba_login_ok(t, TGTD_TARGET_PLAIN);
    s2 = qihba_login_ok(t, TGTD_TARGET_MULTI);
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_CHAP));
    params_chap(&p, ISCSI_HBA_AUTH_CHAP, fx->chap_user, fx->chap_secret);
    expect_login(t, "third LOGIN", &p, ISDSC_TOO_MANY_SESSIONS,
                 ISCSI_HBA_DETAIL_NONE, NULL);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 2);
    g_assert_true(list_has(ids, 2, s1) && list_has(ids, 2, s2));

    qihba_logout_ok(t, s1);
    expect_login(t, "LOGIN after a LOGOUT", &p, 0, ISCSI_HBA_DETAIL_NONE,
                 &s3);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 2);
    g_assert_true(list_has(ids, 2, s2) && list_has(ids, 2, s3));
    qihba_logout_ok(t, s2);
    qihba_logout_ok(t, s3);
    qihba_t_quit(t);
}

static void expect_invalid_session(QIscsiHbaTest *t, uint32_t sid)
{
    struct iscsi_hba_session_info si;
    struct iscsi_hba_sqe sqe;

    g_test_message("session id 0x%08x", sid);
    expect_no_connection_io(t, sid, ISDSC_INVALID_SESSION_ID,
                            ISCSI_HBA_DETAIL_NO_SESSION);
    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_LOGOUT);
    sqe.hdr.session_id = sid;
    admin_expect(t, "LOGOUT", &sqe, ISDSC_INVALID_SESSION_ID,
                 ISCSI_HBA_DETAIL_NO_SESSION, NULL);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SESSION_INFO, t->scratch,
                     sizeof(si));
    sqe.hdr.session_id = sid;
    admin_expect(t, "SESSION_INFO", &sqe, ISDSC_INVALID_SESSION_ID,
                 ISCSI_HBA_DETAIL_NO_SESSION, NULL);
}

static void test_session_invalid_id(void)
{
    uint32_t old, sid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    expect_invalid_session(t, BOGUS_SESSION_ID);

    /* An id that ended stays invalid while a new session has its slot */
    old = qihba_login_ok(t, TGTD_TARGET_PLAIN);
    qihba_logout_ok(t, old);
    sid = qihba_login_ok(t, TGTD_TARGET_PLAIN);
    g_assert_cmphex(sid, !=, old);
    expect_invalid_session(t, old);
    g_assert_cmpuint(session_state(t, sid), ==,
                     ISCSI_HBA_SESSION_STATE_LOGGED_IN);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * A target that does not answer
 */

static void test_login_frozen(void)
{
    struct iscsi_hba_login_params p;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint32_t ids[4], sid;
    uint16_t cid;
    gint64 t0, q0;
    double qmp_s, login_s;
    QDict *rsp;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    /* login-timeout below command-timeout, as the spec recommends */
    t = qihba_t_start(fx, LT, 2 * LT, NULL);
    tgtd_fixture_freeze(fx);
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_PLAIN));
    cid = qihba_login_start(t, &p);
    t0 = g_get_monotonic_time();

    /* The main loop is not blocked by the pending login */
    q0 = g_get_monotonic_time();
    rsp = qtest_qmp(t->qts, "{'execute': 'query-status'}");
    qmp_s = elapsed_s(q0);
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_test_message("query-status during the login: %.3f s", qmp_s);
    g_assert_cmpfloat(qmp_s, <, 1.0);

    /* The session exists, logging in, and takes no commands yet */
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 1);
    sid = ids[0];
    g_assert_cmpuint(session_state(t, sid), ==,
                     ISCSI_HBA_SESSION_STATE_LOGGING_IN);
    expect_no_connection_io(t, sid, ISDSC_NO_CONNECTION_AVAILABLE,
                            ISCSI_HBA_DETAIL_CONNECTION_LOST);
    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_LOGOUT);
    sqe.hdr.session_id = sid;
    admin_expect(t, "LOGOUT while logging in", &sqe, ISDSC_SESSION_BUSY,
                 ISCSI_HBA_DETAIL_NONE, NULL);
    expect_login(t, "second LOGIN while logging in", &p,
                 ISDSC_TARGET_ALREADY_LOGGED_IN, ISCSI_HBA_DETAIL_NONE, NULL);

    qihba_t_wait(t, ISCSI_HBA_ADMIN_QID, cid,
                 (t->lt + QIHBA_LATE_S + 3) * 1000, &cqe, NULL);
    login_s = elapsed_s(t0);
    g_test_message("LOGIN to a frozen target failed after %.2f s "
                   "(login-timeout %d s)", login_s, t->lt);
    qihba_check_cqe("LOGIN to a frozen target", &cqe, ISDSC_CONNECTION_FAILED,
                    ISCSI_HBA_DETAIL_TIMEOUT);
    g_assert_cmphex(cqe.result, ==, 0);
    g_assert_cmpfloat(login_s, >=, t->lt - 1);
    g_assert_cmpfloat(login_s, <=,
                      t->lt + QIHBA_LATE_S + QIHBA_SLACK_MS / 1000.0);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 0);
    tgtd_fixture_thaw(fx);

    /* The target answers again: a new login works */
    sid = qihba_login_ok(t, TGTD_TARGET_PLAIN);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

static void test_scsi_timeout(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t buf;
    uint32_t sid;
    uint16_t cid;
    gint64 t0;
    double s;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, 2, 3, NULL);
    sid = qihba_open_plain(t);
    buf = qihba_alloc(t->h, t->bs, 0);

    tgtd_fixture_freeze(fx);
    qihba_rw_init(t, &sqe, sid, 1, READ_10, 0, 1);
    qihba_sqe_add_sg(&sqe, buf, t->bs);
    cid = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    t0 = g_get_monotonic_time();
    qihba_t_wait(t, QIHBA_IO_QID, cid, (t->ct + QIHBA_LATE_S + 3) * 1000,
                 &cqe, NULL);
    s = elapsed_s(t0);
    g_test_message("READ on a frozen target failed after %.2f s "
                   "(command-timeout %d s)", s, t->ct);
    qihba_check_cqe("READ on a frozen target", &cqe, ISDSC_SCSI_REQUEST_FAILED,
                    ISCSI_HBA_DETAIL_TIMEOUT);
    g_assert_cmpfloat(s, >=, t->ct - 1);
    g_assert_cmpfloat(s, <=, t->ct + QIHBA_LATE_S +
                      QIHBA_SLACK_MS / 1000.0);
    /* The session stays logged in and the device forgot the command */
    g_assert_cmpuint(session_state(t, sid), ==,
                     ISCSI_HBA_SESSION_STATE_LOGGED_IN);
    qihba_sqe_tmf(&sqe, sid, 1, ISCSI_HBA_TMF_ABORT_TASK, QIHBA_IO_QID, cid);
    qihba_t_cmd(t, QIHBA_IO_QID, &sqe, QIHBA_ADMIN_WAIT_MS, &cqe);
    qihba_check_cqe("ABORT_TASK of a timed-out command", &cqe, 0,
                    ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, TMF_RSP_NO_TASK);
    tgtd_fixture_thaw(fx);

    rw_simple(t, sid, READ_10, 0, buf, t->bs);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Connection loss and reconnection
 */

static void login_retaining(QIscsiHbaTest *t, uint16_t time2retain,
                            uint32_t *sid)
{
    struct iscsi_hba_login_params p;

    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_PLAIN));
    p.time2wait = 1;
    p.time2retain = time2retain;
    expect_login(t, "LOGIN", &p, 0, ISCSI_HBA_DETAIL_NONE, sid);
}

static void test_session_recovered(void)
{
    g_autoptr(GError) err = NULL;
    struct iscsi_hba_session_info si;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint8_t wr[4096], rd[4096];
    uint64_t buf, lba = 12288;
    uint32_t sid;
    uint16_t aer;
    gint64 t0;
    QIscsiHbaSense s;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, 2, CT, NULL);
    aer = qihba_post_aer(t);
    login_retaining(t, 60, &sid);
    qihba_lun_setup(t, sid, 1);
    buf = qihba_alloc(t->h, sizeof(wr), 0);
    qihba_fill_pattern(wr, sizeof(wr), g_test_rand_int());
    qtest_bufwrite(t->qts, buf, wr, sizeof(wr));
    rw_simple(t, sid, WRITE_10, lba, buf, sizeof(wr));

    g_assert_true(tgtd_fixture_kill(fx));
    t0 = g_get_monotonic_time();
    qihba_expect_event(t, aer, 3000, ISCSI_HBA_EVENT_SESSION_LOST, sid,
                       ISDSC_CONNECTION_FAILED);
    g_test_message("EVENT_SESSION_LOST after %.2f s", elapsed_s(t0));
    aer = qihba_post_aer(t);
    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_RECONNECTING);
    g_assert_cmphex(si.last_status, ==, ISDSC_CONNECTION_FAILED);
    g_assert_cmpuint(si.reconnects, ==, 0);
    expect_no_connection_io(t, sid, ISDSC_NO_CONNECTION_AVAILABLE,
                            ISCSI_HBA_DETAIL_CONNECTION_LOST);

    /* Let a reconnection attempt or two fail, then bring tgtd back */
    g_usleep(1500 * 1000);
    g_assert_cmpuint(session_state(t, sid), ==,
                     ISCSI_HBA_SESSION_STATE_RECONNECTING);
    g_assert_true(tgtd_fixture_restart(fx, &err));
    g_assert_no_error(err);
    t0 = g_get_monotonic_time();
    qihba_expect_event(t, aer,
                       (1 + t->lt + QIHBA_LATE_S) * 1000 + QIHBA_SLACK_MS,
                       ISCSI_HBA_EVENT_SESSION_RECOVERED, sid, 0);
    g_test_message("EVENT_SESSION_RECOVERED %.2f s after the restart",
                   elapsed_s(t0));
    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_LOGGED_IN);
    g_assert_cmpuint(si.reconnects, ==, 1);
    g_assert_cmphex(si.last_status, ==, ISDSC_CONNECTION_FAILED);

    /* A new nexus: UNIT ATTENTION first, then the data is still there */
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("first command after the reconnection", &cqe, 0,
                    ISCSI_HBA_DETAIL_NONE);
    g_assert_cmphex(cqe.scsi_status, ==, CHECK_CONDITION);
    s = qihba_sense_of(t, &cqe);
    g_assert_cmphex(s.key, ==, UNIT_ATTENTION);
    g_assert_cmphex(s.asc, ==, ASC_POWER_ON_RESET);
    qtest_memset(t->qts, buf, 0, sizeof(rd));
    rw_simple(t, sid, READ_10, lba, buf, sizeof(rd));
    qtest_bufread(t->qts, buf, rd, sizeof(rd));
    g_assert_true(memcmp(wr, rd, sizeof(wr)) == 0);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * A READ is at the target when the target process dies: the connection
 * breaks under it, so it completes ISDSC_CONNECTION_FAILED /
 * CONNECTION_LOST ("Commands in flight" in the spec), and the session
 * reconnects (time2retain 60 s) while tgtd is gone.
 */
static void test_session_in_flight_lost(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t buf;
    uint32_t sid;
    uint16_t cid;
    gint64 t0;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, 2, CT, NULL);
    login_retaining(t, 60, &sid);
    qihba_lun_setup(t, sid, 1);
    buf = qihba_alloc(t->h, 64 * KiB, 0);

    tgtd_fixture_freeze(fx);
    qihba_rw_init(t, &sqe, sid, 1, READ_10, 0, 64 * KiB / t->bs);
    qihba_sqe_add_sg(&sqe, buf, 64 * KiB);
    cid = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    qihba_settle(t->h);
    /*
     * SIGKILL without the SIGCONT of tgtd_fixture_kill(), so that tgtd
     * never gets to answer the READ; then let the fixture reap it.
     */
    g_assert_cmpint(kill(fx->pid, SIGKILL), ==, 0);
    tgtd_fixture_kill(fx);
    g_assert_false(tgtd_fixture_is_running(fx));
    t0 = g_get_monotonic_time();
    qihba_t_wait(t, QIHBA_IO_QID, cid, qihba_scsi_wait_ms(t), &cqe, NULL);
    g_test_message("READ in flight when the target died: 0x%08x %s "
                   "detail %u after %.2f s", cqe.status,
                   qihba_isdsc(cqe.status), cqe.detail, elapsed_s(t0));
    /* The session survives the loss; nothing listens, so it retries */
    g_assert_cmpuint(session_state(t, sid), ==,
                     ISCSI_HBA_SESSION_STATE_RECONNECTING);
    fixture_restore();
    qihba_t_quit(t);

    qihba_check_cqe("READ in flight", &cqe, ISDSC_CONNECTION_FAILED,
                    ISCSI_HBA_DETAIL_CONNECTION_LOST);
}

/* A host-configured target's initiator the ACL target lets in late. */
#define LATE_INITIATOR "iqn.2026-11.org.qemu.test:late"

static void acl_bind(const char *op)
{
    g_autofree char *tid = g_strdup_printf("%d",
                                           fx->target[TGTD_TARGET_ACL].tid);
    g_autoptr(GError) err = NULL;

    g_assert_true(tgtd_fixture_tgtadm(fx, NULL, &err, "--op", op, "--mode",
                                      "target", "--tid", tid,
                                      "--initiator-name", LATE_INITIATOR,
                                      NULL));
}

/*
 * Host-configured targets: iscsi-hba-target objects with the CHAP secret
 * in a secret object.  The adapter logs in when the guest enables it;
 * the guest only finds the session.
 */
static void test_host_target(void)
{
    g_autofree char *args = NULL;
    struct iscsi_hba_identify id;
    struct iscsi_hba_session_info si;
    struct iscsi_hba_login_params p;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint32_t ids[4], sid = 0, acl_sid = 0;
    g_autoptr(GString) dump = NULL;
    unsigned i, n;
    QIscsiHbaTest *t;
    QDict *rsp;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    args = g_strdup_printf(
        "-object secret,id=sec0,data=%s "
        "-object iscsi-hba-target,id=ht0,hba=hba0,portal=%s,target=%s,"
        "user=%s,password-secret=sec0 "
        "-object iscsi-hba-target,id=ht1,hba=hba0,portal=%s,target=%s,"
        "initiator-name=%s",
        fx->chap_secret, fx->portal, fx_target_name(TGTD_TARGET_CHAP),
        fx->chap_user, fx->portal, fx_target_name(TGTD_TARGET_ACL),
        LATE_INITIATOR);
    t = qihba_t_start_args(fx, LT, CT, NULL, args);

    g_assert_cmphex(qihba_identify(t->h, &id), ==, 0);
    g_assert_cmpuint(id.num_host_targets, ==, 2);

    /* Both sessions exist from enable on, whatever their logins do */
    n = qihba_list_sessions(t, ids, 4);
    g_assert_cmpuint(n, ==, 2);
    for (i = 0; i < n; i++) {
        g_assert_cmphex(qihba_session_info(t, ids[i], &si), ==, 0);
        g_assert_true(si.flags & ISCSI_HBA_SESSION_HOST_CONFIGURED);
        /* host_target: the index of the target object, ids in order */
        if (!strcmp(si.target_name, fx_target_name(TGTD_TARGET_CHAP))) {
            g_assert_cmpuint(si.host_target, ==, 0);
            sid = ids[i];
        } else {
            g_assert_cmpstr(si.target_name, ==,
                            fx_target_name(TGTD_TARGET_ACL));
            g_assert_cmpuint(si.host_target, ==, 1);
            acl_sid = ids[i];
        }
    }
    g_assert_cmphex(sid, !=, 0);
    g_assert_cmphex(acl_sid, !=, 0);

    /* The CHAP login announces itself: EVENT_LUNS_CHANGED */
    qihba_expect_event(t, qihba_post_aer(t), qihba_login_wait_ms(t),
                       ISCSI_HBA_EVENT_LUNS_CHANGED, sid, 0);
    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_LOGGED_IN);
    qihba_lun_setup(t, sid, 1);
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec_good(t, &sqe, &cqe);

    /*
     * The ACL target refuses this initiator: retried like a lost
     * connection (every time2wait, until time2retain), with the status
     */
    g_assert_cmphex(qihba_session_info(t, acl_sid, &si), ==, 0);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_RECONNECTING);
    g_assert_cmphex(si.last_status, ==, ISDSC_NOT_FOUND);
    g_assert_cmpuint(si.reconnects, ==, 0);

    /*
     * Once the target lets it in, the session is announced like a first
     * login (EVENT_LUNS_CHANGED, not RECOVERED; no EVENT_SESSION_LOST
     * before it) and reconnects stays 0.
     */
    acl_bind("bind");
    qihba_expect_event(t, qihba_post_aer(t),
                       (2 + t->lt + QIHBA_LATE_S) * 1000 + QIHBA_SLACK_MS,
                       ISCSI_HBA_EVENT_LUNS_CHANGED, acl_sid, 0);
    acl_bind("unbind");
    g_assert_cmphex(qihba_session_info(t, acl_sid, &si), ==, 0);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_LOGGED_IN);
    g_assert_cmpuint(si.reconnects, ==, 0);

    /* The secret is never readable back: the object holds its id only */
    rsp = qtest_qmp(t->qts, "{'execute': 'qom-get', 'arguments': "
                    "{'path': '/objects/ht0', 'property': 'password-secret'}}");
    g_assert_cmpstr(qdict_get_str(rsp, "return"), ==, "sec0");
    qobject_unref(rsp);
    rsp = qtest_qmp(t->qts, "{'execute': 'query-iscsi-hba'}");
    dump = qobject_to_json(QOBJECT(rsp));
    g_assert_null(strstr(dump->str, fx->chap_secret));
    qobject_unref(rsp);

    /* The guest cannot log in to it a second time */
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_CHAP));
    params_chap(&p, ISCSI_HBA_AUTH_CHAP, fx->chap_user, fx->chap_secret);
    qihba_login(t, &p, &cqe);
    g_assert_cmphex(cqe.status, ==, ISDSC_TARGET_ALREADY_LOGGED_IN);
    qihba_t_quit(t);
}

/* Bad iscsi-hba-target properties stop QEMU with an error naming them. */
static void test_host_target_errors(void)
{
    static const struct {
        const char *object;
        const char *error;
    } cases[] = {
        { "iscsi-hba-target,id=t,hba=hba0,portal=127.0.0.1,target=iqn.x",
          "target 'iqn.x' is not a valid iSCSI name" },
        { "iscsi-hba-target,id=t,hba=hba0,portal=h:0,"
          "target=iqn.2026-11.org.qemu.test:t", "port must be 1 to 65535" },
        { "iscsi-hba-target,id=t,hba=hba0,portal=fe80::1,"
          "target=iqn.2026-11.org.qemu.test:t", "[address]:port" },
        { "iscsi-hba-target,id=t,hba=hba0,portal=h,"
          "target=iqn.2026-11.org.qemu.test:t,user=u",
          "user and password-secret go together" },
        { "iscsi-hba-target,id=t,hba=hba0,portal=h,"
          "target=iqn.2026-11.org.qemu.test:t,user=u,password-secret=none",
          "password-secret: No secret with id 'none'" },
        { "iscsi-hba-target,id=t,hba=hba0,target=iqn.2026-11.org.qemu.test:t",
          "'portal' is missing" },
    };
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *err = NULL;
        const char *argv[] = {
            qemu, "-machine", "pc", "-accel", "qtest", "-nodefaults",
            "-display", "none", "-S", "-object", cases[i].object,
            "-device", "iscsi-hba,id=hba0", NULL,
        };
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                                   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                   NULL, &err, &status, NULL));
        g_test_message("%s -> %s", cases[i].object, err);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        g_assert_nonnull(strstr(err, cases[i].error));
    }
}

#define BOOT_TARGET(id, iqn) \
    "-object iscsi-hba-target,id=" id ",hba=hba0,portal=127.0.0.1:9," \
    "target=iqn.2026-11.org.qemu.test:" iqn " "

/* The type bits of BAR0 of the device in slot 4, through port 0xcf8. */
static uint32_t slot4_bar0(QTestState *qts)
{
    qtest_outl(qts, 0xcf8, 0x80000000u | (4 << 11) | 0x10);
    return qtest_inl(qts, 0xcfc) & 0xf;
}

/* QEMU with these arguments must fail, saying @error. */
static void expect_start_error(const char *args, const char *error)
{
    g_autofree char *cmd = g_strdup_printf(
        "%s -machine pc -accel qtest -nodefaults -display none -S %s",
        g_getenv("QTEST_QEMU_BINARY"), args);
    g_autofree char *err = NULL;
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
    g_test_message("%s -> %s", args, err);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    g_assert_nonnull(strstr(err, error));
}

/*
 * Booting: bootindex and boot-target put the boot LUN of one of the
 * adapter's targets into the firmware's boot order as
 * <adapter>/channel@0/disk@<target number>,<lun>, the number being the one
 * SESSION_INFO reports (ids in order: a0 is 0, b1 is 1).  Bad values stop
 * QEMU with an error naming them.  bar64=off gives firmware a 32-bit
 * BAR0.  No target is contacted (nothing enables the adapter).
 */
static void test_host_target_boot(void)
{
    QTestState *qts;
    QFWCFG *fw;
    char order[256] = "";

    qts = qtest_init(BOOT_TARGET("b1", "b") BOOT_TARGET("a0", "a")
                     "-device iscsi-hba,id=hba0,addr=4,bootindex=0,"
                     "boot-target=b1,boot-lun=1");
    fw = pc_fw_cfg_init(qts);
    qfw_cfg_get_file(fw, "bootorder", order, sizeof(order) - 1);
    g_test_message("bootorder: %s", order);
    g_assert_cmpstr(order, ==, "/pci@i0cf8/scsi@4/channel@0/disk@1,1");
    g_assert_cmphex(slot4_bar0(qts), ==, PCI_BASE_ADDRESS_MEM_TYPE_64);
    pc_fw_cfg_uninit(fw);
    qtest_quit(qts);

    qts = qtest_init("-device iscsi-hba,id=hba0,addr=4,bar64=off");
    g_assert_cmphex(slot4_bar0(qts), ==, PCI_BASE_ADDRESS_MEM_TYPE_32);
    qtest_quit(qts);

    expect_start_error(BOOT_TARGET("a0", "a")
                       "-device iscsi-hba,id=hba0,bootindex=1",
                       "bootindex needs boot-target");
    expect_start_error(BOOT_TARGET("a0", "a")
                       "-device iscsi-hba,id=hba0,bootindex=1,boot-target=x",
                       "boot-target 'x' is not an iscsi-hba-target of this "
                       "adapter");
    expect_start_error(BOOT_TARGET("a0", "a")
                       "-device iscsi-hba,id=hba0,bootindex=1,"
                       "boot-target=a0,boot-lun=16384",
                       "boot-lun must be 0 to 16383");
    expect_start_error(BOOT_TARGET("a0", "a")
                       "-device ide-cd,bus=ide.0,bootindex=1 "
                       "-device iscsi-hba,id=hba0,bootindex=1,boot-target=a0",
                       "The bootindex 1 has already been used");
}

static void test_session_failed(void)
{
    struct iscsi_hba_session_info si;
    struct iscsi_hba_cqe cqe;
    uint32_t ids[4], sid, sid2;
    uint16_t aer;
    gint64 t0;
    double s;
    const uint16_t time2retain = 3;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, 2, CT, NULL);
    aer = qihba_post_aer(t);
    login_retaining(t, time2retain, &sid);

    g_assert_true(tgtd_fixture_kill(fx));
    t0 = g_get_monotonic_time();
    qihba_expect_event(t, aer, 3000, ISCSI_HBA_EVENT_SESSION_LOST, sid,
                       ISDSC_CONNECTION_FAILED);
    aer = qihba_post_aer(t);
    /* Nothing listens any more: every attempt is refused */
    qihba_expect_event(t, aer, (time2retain + t->lt + QIHBA_LATE_S) * 1000 +
                       QIHBA_SLACK_MS, ISCSI_HBA_EVENT_SESSION_FAILED, sid,
                       ISDSC_CONNECTION_FAILED);
    s = elapsed_s(t0);
    g_test_message("EVENT_SESSION_FAILED %.2f s after the loss "
                   "(time2retain %u s)", s, time2retain);
    g_assert_cmpfloat(s, >=, time2retain - 1);
    g_assert_cmphex(qihba_session_info(t, sid, &si), ==, 0);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_FAILED);
    g_assert_cmphex(si.last_status, ==, ISDSC_CONNECTION_FAILED);
    g_assert_cmpuint(si.reconnects, ==, 0);
    expect_no_connection_io(t, sid, ISDSC_NO_CONNECTION_AVAILABLE,
                            ISCSI_HBA_DETAIL_CONNECTION_LOST);

    /*
     * The target is back, but a failed session makes no more attempts;
     * it does not block a new LOGIN to the same target.
     */
    aer = qihba_post_aer(t);
    fixture_restore();
    sid2 = qihba_login_ok(t, TGTD_TARGET_PLAIN);
    g_assert_cmphex(sid2, !=, sid);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 2);
    g_assert_false(qihba_t_poll(t, ISCSI_HBA_ADMIN_QID, aer, 2500, &cqe, NULL));
    g_assert_cmpuint(session_state(t, sid), ==,
                     ISCSI_HBA_SESSION_STATE_FAILED);

    /* LOGOUT ends a failed session at once */
    qihba_logout_ok(t, sid);
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 1);
    g_assert_cmphex(ids[0], ==, sid2);
    qihba_logout_ok(t, sid2);
    qihba_t_quit(t);
}

/*
 * Data path
 */

static void test_data_write_read(void)
{
    static const struct {
        uint8_t wr, rd;
        uint64_t lba;
        uint32_t len;
    } rows[] = {
        { WRITE_10, READ_10, 2048, 512 },
        { WRITE_10, READ_10, 2100, 64 * KiB },
        { WRITE_16, READ_16, 2300, 4 * KiB },
        { WRITE_16, READ_16, 2400, 128 * KiB },
    };
    uint32_t seed = g_test_rand_int();
    uint32_t sid;
    size_t i;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    for (i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_autofree uint8_t *wr = g_malloc(rows[i].len);
        g_autofree uint8_t *rd = g_malloc(rows[i].len);
        uint64_t buf = qihba_alloc(t->h, rows[i].len, 0);

        qihba_fill_pattern(wr, rows[i].len, seed + i);
        qtest_bufwrite(t->qts, buf, wr, rows[i].len);
        rw_simple(t, sid, rows[i].wr, rows[i].lba, buf, rows[i].len);
        qtest_memset(t->qts, buf, 0, rows[i].len);
        rw_simple(t, sid, rows[i].rd, rows[i].lba, buf, rows[i].len);
        qtest_bufread(t->qts, buf, rd, rows[i].len);
        g_assert_true(memcmp(wr, rd, rows[i].len) == 0);
        guest_free(&t->h->alloc, buf);
    }
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Data elements carved out of one guest area with gaps between them,
 * at odd offsets; the gaps are checked to stay untouched.
 */
#define SG_GAP          37
#define SG_CANARY       0x5a

typedef struct SgLayout {
    uint64_t area;
    size_t area_len;
    unsigned n;
    uint64_t addr[16];
    uint32_t len[16];
    uint32_t total;
} SgLayout;

static void sg_layout(QIscsiHbaTest *t, SgLayout *l, const uint32_t *lens,
                      unsigned n)
{
    uint64_t off = 3;
    unsigned i;

    memset(l, 0, sizeof(*l));
    g_assert_cmpuint(n, <=, G_N_ELEMENTS(l->addr));
    for (i = 0; i < n; i++) {
        l->area_len += lens[i] + SG_GAP;
    }
    l->area_len += 3;
    l->area = qihba_alloc(t->h, l->area_len, SG_CANARY);
    l->n = n;
    for (i = 0; i < n; i++) {
        l->addr[i] = l->area + off;
        l->len[i] = lens[i];
        l->total += lens[i];
        off += lens[i] + SG_GAP;
    }
}

static void sg_write(QIscsiHbaTest *t, SgLayout *l, const uint8_t *data)
{
    unsigned i;

    for (i = 0; i < l->n; i++) {
        qtest_bufwrite(t->qts, l->addr[i], data, l->len[i]);
        data += l->len[i];
    }
}

/* Read the elements back to @data; check that the gaps kept the canary. */
static void sg_read(QIscsiHbaTest *t, SgLayout *l, uint8_t *data)
{
    g_autofree uint8_t *area = g_malloc(l->area_len);
    size_t pos = 0;
    unsigned i;

    qtest_bufread(t->qts, l->area, area, l->area_len);
    for (i = 0; i < l->n; i++) {
        size_t off = l->addr[i] - l->area;

        assert_filled(area + pos, off - pos, SG_CANARY);
        memcpy(data, area + off, l->len[i]);
        data += l->len[i];
        pos = off + l->len[i];
    }
    assert_filled(area + pos, l->area_len - pos, SG_CANARY);
}

static void sg_reset(QIscsiHbaTest *t, SgLayout *l)
{
    qtest_memset(t->qts, l->area, SG_CANARY, l->area_len);
}

static void test_data_inline_sg(void)
{
    static const uint32_t lens[ISCSI_HBA_INLINE_SG] = {
        1000, 2000, 5000, 192,
    };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint8_t wr[8192], rd[8192];
    const uint64_t lba = 4096;
    uint64_t flat;
    uint32_t sid;
    SgLayout l;
    unsigned i;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    sg_layout(t, &l, lens, ISCSI_HBA_INLINE_SG);
    g_assert_cmpuint(l.total, ==, sizeof(wr));
    qihba_fill_pattern(wr, sizeof(wr), g_test_rand_int());

    /* Write through 4 inline elements, read back through one */
    sg_write(t, &l, wr);
    qihba_rw_init(t, &sqe, sid, 1, WRITE_10, lba, l.total / t->bs);
    for (i = 0; i < l.n; i++) {
        qihba_sqe_add_sg(&sqe, l.addr[i], l.len[i]);
    }
    qihba_io_exec_good(t, &sqe, &cqe);
    flat = qihba_alloc(t->h, sizeof(rd), 0);
    rw_simple(t, sid, READ_10, lba, flat, sizeof(rd));
    qtest_bufread(t->qts, flat, rd, sizeof(rd));
    g_assert_true(memcmp(wr, rd, sizeof(wr)) == 0);

    /* Read through 4 inline elements */
    sg_reset(t, &l);
    qihba_rw_init(t, &sqe, sid, 1, READ_10, lba, l.total / t->bs);
    for (i = 0; i < l.n; i++) {
        qihba_sqe_add_sg(&sqe, l.addr[i], l.len[i]);
    }
    qihba_io_exec_good(t, &sqe, &cqe);
    g_assert_false(cqe.flags & ISCSI_HBA_CQE_RESID_UNDER);
    sg_read(t, &l, rd);
    g_assert_true(memcmp(wr, rd, sizeof(wr)) == 0);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * An SG list of @segs segments; segment k holds seg_elems[k] data
 * elements of @l and, but for the last, a CHAIN element to the next.
 */
static void sg_list_build(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                          SgLayout *l, const unsigned *seg_elems,
                          unsigned segs)
{
    uint64_t seg_addr[8];
    uint32_t seg_len[8];
    unsigned k, j, e = 0;

    g_assert_cmpuint(segs, <=, G_N_ELEMENTS(seg_addr));
    for (k = 0; k < segs; k++) {
        seg_len[k] = (seg_elems[k] + (k + 1 < segs)) *
                     sizeof(struct iscsi_hba_sg);
        seg_addr[k] = qihba_alloc(t->h, seg_len[k], 0xff);
    }
    for (k = 0; k < segs; k++) {
        uint64_t at = seg_addr[k];

        for (j = 0; j < seg_elems[k]; j++, e++) {
            qihba_put_sg(t->h, at, l->addr[e], l->len[e], 0);
            at += sizeof(struct iscsi_hba_sg);
        }
        if (k + 1 < segs) {
            qihba_put_sg(t->h, at, seg_addr[k + 1], seg_len[k + 1],
                         ISCSI_HBA_SG_CHAIN);
        }
    }
    g_assert_cmpuint(e, ==, l->n);
    sqe->hdr.flags |= ISCSI_HBA_SCSI_SG_LIST;
    sqe->u.scsi.sg_count = l->n;
    sqe->u.scsi.sg[0].addr = seg_addr[0];
    sqe->u.scsi.sg[0].len = seg_len[0];
}

static void test_data_chained_sg(void)
{
    static const uint32_t lens[] = {
        700, 1300, 2048, 333, 3000, 1811, 3096,
    };
    static const unsigned segs[] = { 2, 3, 2 };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint8_t wr[12288], rd[12288];
    const uint64_t lba = 6144;
    uint64_t flat;
    uint32_t sid;
    SgLayout l;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    sg_layout(t, &l, lens, G_N_ELEMENTS(lens));
    g_assert_cmpuint(l.total, ==, sizeof(wr));
    qihba_fill_pattern(wr, sizeof(wr), g_test_rand_int());

    sg_write(t, &l, wr);
    qihba_rw_init(t, &sqe, sid, 1, WRITE_16, lba, l.total / t->bs);
    sg_list_build(t, &sqe, &l, segs, G_N_ELEMENTS(segs));
    qihba_io_exec_good(t, &sqe, &cqe);
    flat = qihba_alloc(t->h, sizeof(rd), 0);
    rw_simple(t, sid, READ_16, lba, flat, sizeof(rd));
    qtest_bufread(t->qts, flat, rd, sizeof(rd));
    g_assert_true(memcmp(wr, rd, sizeof(wr)) == 0);

    sg_reset(t, &l);
    qihba_rw_init(t, &sqe, sid, 1, READ_16, lba, l.total / t->bs);
    sg_list_build(t, &sqe, &l, segs, G_N_ELEMENTS(segs));
    qihba_io_exec_good(t, &sqe, &cqe);
    sg_read(t, &l, rd);
    g_assert_true(memcmp(wr, rd, sizeof(wr)) == 0);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

static void test_data_max_transfer(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    g_autofree uint8_t *wr = NULL;
    g_autofree uint8_t *rd = NULL;
    const uint64_t lba = 8192;
    uint32_t max, sid;
    uint64_t buf, half;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    max = qihba_readl(t->h, ISCSI_HBA_REG_MAX_TRANSFER);
    g_assert_cmpuint(max, ==, 1 * MiB);
    sid = qihba_open_plain(t);
    wr = g_malloc(max);
    rd = g_malloc(max);
    qihba_fill_pattern(wr, max, g_test_rand_int());
    buf = qihba_alloc(t->h, max, 0);
    qtest_bufwrite(t->qts, buf, wr, max);
    rw_simple(t, sid, WRITE_10, lba, buf, max);

    /* Back into two elements that split the data at an odd offset */
    half = max / 2 + 1;
    qtest_memset(t->qts, buf, 0, max);
    qihba_rw_init(t, &sqe, sid, 1, READ_10, lba, max / t->bs);
    qihba_sqe_add_sg(&sqe, buf, half);
    qihba_sqe_add_sg(&sqe, buf + half, max - half);
    qihba_io_exec_good(t, &sqe, &cqe);
    g_assert_false(cqe.flags & ISCSI_HBA_CQE_RESID_UNDER);
    qtest_bufread(t->qts, buf, rd, max);
    g_assert_true(memcmp(wr, rd, max) == 0);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

static void test_scsi_check_condition(void)
{
    static const uint8_t sense_lens[] = { ISCSI_HBA_MAX_SENSE_LEN, 8, 0 };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint8_t sense[ISCSI_HBA_MAX_SENSE_LEN];
    uint8_t full[ISCSI_HBA_MAX_SENSE_LEN];
    uint8_t full_len = 0;
    uint64_t buf;
    uint32_t sid;
    size_t i;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    buf = qihba_alloc(t->h, 4 * t->bs, 0);

    for (i = 0; i < G_N_ELEMENTS(sense_lens); i++) {
        uint8_t n = sense_lens[i];

        qtest_memset(t->qts, t->sense, 0xcc, ISCSI_HBA_MAX_SENSE_LEN);
        qihba_rw_init(t, &sqe, sid, 1, READ_16, t->blocks + 16, 4);
        qihba_sqe_add_sg(&sqe, buf, 4 * t->bs);
        sqe.u.scsi.sense_len = n;
        qihba_io_exec(t, &sqe, &cqe);
        g_test_message("READ beyond the end, sense_len %u: status 0x%x "
                       "scsi_status 0x%x flags 0x%x sense_len %u info %u",
                       n, cqe.status, cqe.scsi_status, cqe.flags,
                       cqe.sense_len, cqe.info);
        qihba_check_cqe("READ beyond the end", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
        g_assert_cmphex(cqe.scsi_status, ==, CHECK_CONDITION);
        g_assert_cmphex(cqe.result, ==, 0);
        /* Nothing was transferred */
        g_assert_true(cqe.flags & ISCSI_HBA_CQE_RESID_UNDER);
        g_assert_false(cqe.flags & ISCSI_HBA_CQE_RESID_OVER);
        g_assert_cmpuint(cqe.info, ==, 4 * t->bs);

        qtest_bufread(t->qts, t->sense, sense, sizeof(sense));
        if (n == 0) {
            g_assert_false(cqe.flags & ISCSI_HBA_CQE_SENSE_VALID);
            g_assert_cmpuint(cqe.sense_len, ==, 0);
            assert_filled(sense, sizeof(sense), 0xcc);
            continue;
        }
        g_assert_true(cqe.flags & ISCSI_HBA_CQE_SENSE_VALID);
        if (n == ISCSI_HBA_MAX_SENSE_LEN) {
            QIscsiHbaSense s = qihba_sense_of(t, &cqe);

            g_assert_cmphex(s.key, ==, ILLEGAL_REQUEST);
            g_assert_cmphex(s.asc, ==, ASC_LBA_OUT_OF_RANGE);
            full_len = cqe.sense_len;
            g_assert_cmpuint(full_len, >, 8);
            memcpy(full, sense, full_len);
        } else {
            /* A smaller buffer gets the first bytes of the same sense */
            g_assert_cmpuint(full_len, >, n);
            g_assert_cmpuint(cqe.sense_len, ==, n);
            g_assert_true(memcmp(sense, full, n) == 0);
        }
        assert_filled(sense + cqe.sense_len,
                      sizeof(sense) - cqe.sense_len, 0xcc);
    }
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

static void test_scsi_inquiry_residual(void)
{
    static const uint8_t cdb[6] = { INQUIRY, 0, 0, 0, 255, 0 };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint8_t data[255];
    uint32_t sid, got;
    uint64_t buf;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    buf = qihba_alloc(t->h, sizeof(data), 0xee);
    qihba_scsi_init(t, &sqe, sid, 1, ISCSI_HBA_SCSI_DIR_READ, cdb, sizeof(cdb),
                    sizeof(data));
    qihba_sqe_add_sg(&sqe, buf, sizeof(data));
    qihba_io_exec_good(t, &sqe, &cqe);
    qtest_bufread(t->qts, buf, data, sizeof(data));
    got = data[4] + 5;
    g_test_message("INQUIRY: %u of %zu bytes, flags 0x%x info %u", got,
                   sizeof(data), cqe.flags, cqe.info);
    g_assert_cmpuint(got, <, sizeof(data));
    g_assert_true(cqe.flags & ISCSI_HBA_CQE_RESID_UNDER);
    g_assert_false(cqe.flags & ISCSI_HBA_CQE_RESID_OVER);
    g_assert_cmpuint(cqe.info, ==, sizeof(data) - got);
    /* Bytes beyond the transferred ones are left as they were */
    assert_filled(data + got, sizeof(data) - got, 0xee);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Task management
 */

static void test_tmf_abort_idle(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t buf;
    uint32_t sid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    buf = qihba_alloc(t->h, t->bs, 0);

    /* Never submitted */
    qihba_sqe_tmf(&sqe, sid, 1, ISCSI_HBA_TMF_ABORT_TASK, QIHBA_IO_QID, 0xfff0);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("ABORT_TASK of an unknown cid", &cqe, 0,
                    ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, TMF_RSP_NO_TASK);

    /* Completed already */
    qihba_rw_init(t, &sqe, sid, 1, READ_10, 0, 1);
    qihba_sqe_add_sg(&sqe, buf, t->bs);
    qihba_io_exec_good(t, &sqe, &cqe);
    qihba_sqe_tmf(&sqe, sid, 1, ISCSI_HBA_TMF_ABORT_TASK, QIHBA_IO_QID,
                  cqe.cid);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("ABORT_TASK of a completed command", &cqe, 0,
                    ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, TMF_RSP_NO_TASK);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * ABORT TASK for a READ that is at the target.  tgtd is frozen before the
 * READ goes out, so neither the READ nor the ABORT TASK can be answered
 * before both are at the target: the device must send the TMF to tgtd
 * (it answers an ABORT TASK for a command it does not know by itself).
 *
 * What tgtd 1.0.85 then does is fixed: it executes the READ (its backing
 * store threads run it at once), answers it, and answers the ABORT TASK
 * "task does not exist" once the READ is done, also when the TMF found
 * it executing (target_cmd_done(): -EEXIST for ABORT_TASK).  It never
 * answers FUNCTION COMPLETE for a command that is executing, and aborting
 * one that waits in its queue (behind an ORDERED task) sends status 0x20
 * with garbage data and then crashes tgtd.  A victim that completes
 * ABORTED needs a target that aborts for real: the scriptable target of
 * the badtarget tests.
 */
static void test_tmf_abort_in_flight(void)
{
    const uint32_t len = 64 * KiB;
    const uint64_t lba = 8192;
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe rd, tmf;
    uint64_t buf, rd_seq, tmf_seq;
    uint32_t sid;
    uint16_t rd_cid, tmf_cid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    buf = qihba_alloc(t->h, len, 0);
    qihba_fill_pattern(want, len, g_test_rand_int());
    qtest_bufwrite(t->qts, buf, want, len);
    rw_simple(t, sid, WRITE_10, lba, buf, len);
    qtest_memset(t->qts, buf, 0, len);

    tgtd_fixture_freeze(fx);
    qihba_rw_init(t, &sqe, sid, 1, READ_10, lba, len / t->bs);
    qihba_sqe_add_sg(&sqe, buf, len);
    rd_cid = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    qihba_sqe_tmf(&sqe, sid, 1, ISCSI_HBA_TMF_ABORT_TASK, QIHBA_IO_QID, rd_cid);
    tmf_cid = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    /* Both wait for the target: nothing completes while it is frozen */
    g_assert_false(qihba_t_poll(t, QIHBA_IO_QID, tmf_cid, 300, &tmf, NULL));
    g_assert_false(qihba_t_poll(t, QIHBA_IO_QID, rd_cid, 0, &rd, NULL));
    tgtd_fixture_thaw(fx);

    qihba_t_wait(t, QIHBA_IO_QID, tmf_cid, qihba_scsi_wait_ms(t), &tmf,
                 &tmf_seq);
    qihba_t_wait(t, QIHBA_IO_QID, rd_cid, qihba_scsi_wait_ms(t), &rd, &rd_seq);
    g_test_message("ABORT_TASK: status 0x%x result %" PRIu64 "; READ: "
                   "status 0x%x detail %u scsi_status 0x%x",
                   tmf.status, tmf.result, rd.status, rd.detail,
                   rd.scsi_status);
    /* tgtd answered the READ, then the ABORT TASK: no such task */
    qihba_check_good("READ", &rd);
    g_assert_cmphex(rd.flags & ~ISCSI_HBA_CQE_PHASE, ==, 0);
    qtest_bufread(t->qts, buf, got, len);
    g_assert_true(memcmp(want, got, len) == 0);
    qihba_check_cqe("ABORT_TASK", &tmf, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(tmf.result, ==, TMF_RSP_NO_TASK);
    g_assert_cmpuint(rd_seq, <, tmf_seq);

    /* The session goes on */
    rw_simple(t, sid, READ_10, 0, buf, t->bs);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Resets on an idle session.  The device passes the target's response
 * on as result: tgtd 1.0.85 performs LUN RESET but answers every target
 * reset "function not supported" (iscsi_tm_execute() in tgt's
 * usr/iscsi/iscsid.c).
 */
static void test_tmf_resets(void)
{
    static const struct {
        const char *what;
        uint8_t function;
        unsigned lun;
        uint64_t result;
    } rows[] = {
        { "LUN_RESET", ISCSI_HBA_TMF_LUN_RESET, 1, TMF_RSP_COMPLETE },
        { "TARGET_WARM_RESET", ISCSI_HBA_TMF_TARGET_WARM_RESET, 0,
          TMF_RSP_NOT_SUPPORTED },
    };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t buf;
    uint32_t sid;
    size_t i;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    buf = qihba_alloc(t->h, t->bs, 0);
    for (i = 0; i < G_N_ELEMENTS(rows); i++) {
        qihba_sqe_tmf(&sqe, sid, rows[i].lun, rows[i].function, 0, 0);
        qihba_io_exec(t, &sqe, &cqe);
        g_test_message("%s: status 0x%x result %" PRIu64, rows[i].what,
                       cqe.status, cqe.result);
        qihba_check_cqe(rows[i].what, &cqe, 0, ISCSI_HBA_DETAIL_NONE);
        g_assert_cmpuint(cqe.result, ==, rows[i].result);
        /* I/O goes on, after the UNIT ATTENTION of the reset */
        rw_simple(t, sid, READ_10, 0, buf, t->bs);
    }
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * DISCOVERY
 */

/* Is @name listed, followed by at least one TargetAddress=@addr? */
static bool sendtargets_has(char **strs, const char *name, const char *addr)
{
    g_autofree char *tn = g_strdup_printf("TargetName=%s", name);
    g_autofree char *ta = g_strdup_printf("TargetAddress=%s", addr);
    unsigned i, j;

    for (i = 0; strs[i]; i++) {
        if (strcmp(strs[i], tn)) {
            continue;
        }
        for (j = i + 1; strs[j] && g_str_has_prefix(strs[j],
                                                    "TargetAddress=");
             j++) {
            if (!strcmp(strs[j], ta)) {
                return true;
            }
        }
    }
    return false;
}

static char **sendtargets_split(const char *text, size_t len)
{
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    size_t pos = 0;

    /* NUL-terminated strings, no empty terminating string */
    g_assert_cmpuint(len, >, 0);
    g_assert_cmpint(text[len - 1], ==, 0);
    while (pos < len) {
        const char *s = text + pos;

        g_assert_cmpuint(strlen(s), >, 0);
        g_assert_true(g_str_has_prefix(s, "TargetName=") ||
                      g_str_has_prefix(s, "TargetAddress="));
        g_ptr_array_add(a, g_strdup(s));
        pos += strlen(s) + 1;
    }
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&a), false);
}

static void test_discovery(void)
{
    static const TgtdTargetId listed[] = {
        TGTD_TARGET_PLAIN, TGTD_TARGET_CHAP, TGTD_TARGET_MUTUAL,
        TGTD_TARGET_MULTI,
    };
    g_autofree char *addr = NULL;
    g_autofree char *text = g_malloc(8192);
    g_auto(GStrv) strs = NULL;
    g_auto(GStrv) strs_acl = NULL;
    struct iscsi_hba_cqe cqe;
    uint32_t ids[4], n;
    uint8_t canary[64];
    uint64_t out;
    size_t i;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    addr = g_strdup_printf("%s:%d,1", fx->host, fx->port);
    t = qihba_t_start(fx, LT, CT, NULL);
    out = qihba_alloc(t->h, 8192, 0xa5);

    qihba_discovery(t, fx->host, fx->port, NULL, out, 8192, &cqe);
    qihba_check_cqe("DISCOVERY", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    n = cqe.result;
    g_assert_cmpuint(n, >, 0);
    g_assert_cmpuint(n, <=, 8192);
    qtest_bufread(t->qts, out, text, 8192);
    assert_filled((uint8_t *)text + n, 8192 - n, 0xa5);
    strs = sendtargets_split(text, n);
    for (i = 0; strs[i]; i++) {
        g_test_message("%s", strs[i]);
    }
    for (i = 0; i < G_N_ELEMENTS(listed); i++) {
        g_assert_true(sendtargets_has(strs, fx_target_name(listed[i]), addr));
    }
    /* tgtd hides the acl target from initiators it does not admit */
    g_assert_false(sendtargets_has(strs, fx_target_name(TGTD_TARGET_ACL),
                                   addr));
    /* Discovery sessions are not sessions */
    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 0);

    /* Too small: the size needed, nothing written */
    qtest_memset(t->qts, out, 0xa5, sizeof(canary));
    qihba_discovery(t, fx->host, fx->port, NULL, out, 16, &cqe);
    qihba_check_cqe("DISCOVERY, 16-byte buffer", &cqe, ISDSC_BUFFER_TOO_SMALL,
                    ISCSI_HBA_DETAIL_BAD_LENGTH);
    g_assert_cmpuint(cqe.result, ==, n);
    qtest_bufread(t->qts, out, canary, sizeof(canary));
    assert_filled(canary, sizeof(canary), 0xa5);
    qihba_discovery(t, fx->host, fx->port, NULL, out, n - 1, &cqe);
    qihba_check_cqe("DISCOVERY, one byte short", &cqe, ISDSC_BUFFER_TOO_SMALL,
                    ISCSI_HBA_DETAIL_BAD_LENGTH);
    g_assert_cmpuint(cqe.result, ==, n);

    /* The login parameters' initiator name is the one tgtd sees */
    qtest_memset(t->qts, out, 0, 8192);
    qihba_discovery(t, fx->host, fx->port, fx->acl_initiator, out, 8192, &cqe);
    qihba_check_cqe("DISCOVERY as the ACL's initiator", &cqe, 0,
                    ISCSI_HBA_DETAIL_NONE);
    qtest_bufread(t->qts, out, text, 8192);
    strs_acl = sendtargets_split(text, cqe.result);
    g_assert_true(sendtargets_has(strs_acl, fx_target_name(TGTD_TARGET_ACL),
                                  addr));
    qihba_t_quit(t);
}

/*
 * Throughput, for information only
 */

#define PERF_IOS        64
#define PERF_IO_SIZE    (128 * KiB)
#define PERF_LBA        65536

/* PERF_IOS commands at sequential LBAs, @depth at a time; MB/s. */
static double perf_run(QIscsiHbaTest *t, uint32_t sid, uint8_t op,
                       uint64_t bufs, unsigned depth)
{
    uint32_t blocks = PERF_IO_SIZE / t->bs;
    uint16_t cids[PERF_IOS];
    gint64 t0 = g_get_monotonic_time();
    unsigned sent = 0, done = 0;

    while (done < PERF_IOS) {
        while (sent < PERF_IOS && sent - done < depth) {
            struct iscsi_hba_sqe sqe;

            qihba_rw_init(t, &sqe, sid, 1, op, PERF_LBA + sent * blocks,
                          blocks);
            qihba_sqe_add_sg(&sqe, bufs + (uint64_t)sent * PERF_IO_SIZE,
                             PERF_IO_SIZE);
            qihba_sq_put(t->h, QIHBA_IO_QID, &sqe);
            cids[sent++] = sqe.hdr.cid;
        }
        qihba_sq_ring(t->h, QIHBA_IO_QID);
        {
            struct iscsi_hba_cqe cqe;

            qihba_t_wait(t, QIHBA_IO_QID, cids[done++],
                         qihba_scsi_wait_ms(t), &cqe, NULL);
            qihba_check_cqe("perf I/O", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
            g_assert_cmphex(cqe.scsi_status, ==, GOOD);
        }
    }
    return (double)PERF_IOS * PERF_IO_SIZE / 1e6 / elapsed_s(t0);
}

static void test_perf(void)
{
    static const unsigned depths[] = { 1, 8, PERF_IOS };
    uint64_t bufs;
    uint32_t sid;
    size_t i;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    bufs = qihba_alloc(t->h, PERF_IOS * PERF_IO_SIZE, 0x3c);
    for (i = 0; i < G_N_ELEMENTS(depths); i++) {
        double w = perf_run(t, sid, WRITE_10, bufs, depths[i]);
        double r = perf_run(t, sid, READ_10, bufs, depths[i]);

        g_test_message("throughput, %d x %d KiB sequential, queue depth %u:"
                       " WRITE %.1f MB/s, READ %.1f MB/s", PERF_IOS,
                       (int)(PERF_IO_SIZE / KiB), depths[i], w, r);
    }
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    fx = qihba_fixture_start(fixture_abort_hook, &fx_error);

    qtest_add_func("/iscsi-hba/iscsi/login/plain", test_login_plain);
    qtest_add_func("/iscsi-hba/iscsi/login/report-luns", test_report_luns);
    qtest_add_func("/iscsi-hba/iscsi/login/chap", test_login_chap);
    qtest_add_func("/iscsi-hba/iscsi/login/acl", test_login_acl);
    qtest_add_func("/iscsi-hba/iscsi/login/mutual-chap",
                   test_login_mutual_chap);
    qtest_add_func("/iscsi-hba/iscsi/login/short-chap-secret",
                   test_login_short_chap_secret);
    qtest_add_func("/iscsi-hba/iscsi/login/errors", test_login_errors);
    qtest_add_func("/iscsi-hba/iscsi/login/bad-names", test_login_bad_names);
    qtest_add_func("/iscsi-hba/iscsi/login/twice", test_login_twice);
    qtest_add_func("/iscsi-hba/iscsi/host-target/login", test_host_target);
    qtest_add_func("/iscsi-hba/iscsi/host-target/errors",
                   test_host_target_errors);
    qtest_add_func("/iscsi-hba/iscsi/host-target/boot",
                   test_host_target_boot);
    qtest_add_func("/iscsi-hba/iscsi/login/too-many", test_login_too_many);
    qtest_add_func("/iscsi-hba/iscsi/session/invalid-id",
                   test_session_invalid_id);
    qtest_add_func("/iscsi-hba/iscsi/session/recovered",
                   test_session_recovered);
    qtest_add_func("/iscsi-hba/iscsi/session/in-flight-lost",
                   test_session_in_flight_lost);
    qtest_add_func("/iscsi-hba/iscsi/session/failed", test_session_failed);
    qtest_add_func("/iscsi-hba/iscsi/scsi/check-condition",
                   test_scsi_check_condition);
    qtest_add_func("/iscsi-hba/iscsi/scsi/inquiry-residual",
                   test_scsi_inquiry_residual);
    qtest_add_func("/iscsi-hba/iscsi/data/write-read", test_data_write_read);
    qtest_add_func("/iscsi-hba/iscsi/data/inline-sg", test_data_inline_sg);
    qtest_add_func("/iscsi-hba/iscsi/data/chained-sg", test_data_chained_sg);
    qtest_add_func("/iscsi-hba/iscsi/data/max-transfer",
                   test_data_max_transfer);
    qtest_add_func("/iscsi-hba/iscsi/tmf/abort-idle", test_tmf_abort_idle);
    qtest_add_func("/iscsi-hba/iscsi/tmf/abort-in-flight",
                   test_tmf_abort_in_flight);
    qtest_add_func("/iscsi-hba/iscsi/tmf/resets", test_tmf_resets);
    qtest_add_func("/iscsi-hba/iscsi/discovery/sendtargets", test_discovery);
    qtest_add_func("/iscsi-hba/iscsi/perf/throughput", test_perf);
    /* A target that stops answering; last, as they take the longest */
    qtest_add_func("/iscsi-hba/iscsi/frozen/scsi-timeout", test_scsi_timeout);
    qtest_add_func("/iscsi-hba/iscsi/frozen/login", test_login_frozen);

    ret = g_test_run();
    qihba_fixture_free(fx);
    g_clear_error(&fx_error);
    return ret;
}
