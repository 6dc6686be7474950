/*
 * QTest regression tests for the iscsi-hba review findings
 *
 * One test (or a few) per finding of the device's security and
 * correctness review (issue 8: F4-F7, F10, F12-F14), each written against
 * the behaviour the fix promises, so that it fails on the code the review
 * read:
 *
 *   f4   a host target whose portal does not resolve: re-resolve, no crash
 *   f5   more than 256 fault rules: an error, not abort()
 *   f6   secrets of host targets are read once and kept
 *   f7   guest-portals: where a guest LOGIN or DISCOVERY may connect to
 *   f10  session id generation wrap, FATAL registers, LOGOUT of a host
 *        session that is logging in, mutual CHAP secret on reconnection
 *   f12  iscsi-hba-target objects are frozen once created
 *   f13  a guest cannot make QEMU print a line per CTRL.ENABLE
 *   f14  nothing reaches guest memory while the VM is stopped
 *
 * Tests that need a target log in to a real tgtd (libqos/tgtd-fixture.h)
 * and are skipped without root or the tgt package; the others need
 * neither.  Every test starts its own QEMU; every wait is bounded.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "libqos/iscsi-hba.h"
#include "libqos/iscsi-hba-session.h"
#include "libqos/tgtd-fixture.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "scsi/constants.h"

/* Device timeouts of most tests (properties, seconds). */
#define LT                      2       /* login-timeout */
#define CT                      5       /* command-timeout */
/* A QEMU that must refuse to start gets this long to exit. */
#define SPAWN_TIMEOUT_S         10
/* Poll interval of the tests that wait for a session state. */
#define POLL_MS                 50

#define HBA_ID                  "hba0"
#define TARGET_PREFIX           "iqn.2026-11.org.qemu.test:regress-"
/* A valid rule for the fault-rules and fault-file properties. */
#define FAULT_RULE              "op=admin,opcode=1,action=status," \
                                "status=LOGIN_FAILED"
#define FAULT_MAX_RULES         256
/* Name resolutions a guest may have in flight (plan: at most 4). */
#define MAX_GUEST_RESOLVES      4

static TgtdFixture *fx;
static GError *fx_error;

static const char *fx_target_name(TgtdTargetId tgt)
{
    return fx->target[tgt].name;
}

static double elapsed_s(gint64 since)
{
    return (g_get_monotonic_time() - since) / (double)G_USEC_PER_SEC;
}

/*
 * QEMU processes of our own
 */

/*
 * Run QEMU (pc, -S, no shell) with the extra arguments @args and wait up
 * to SPAWN_TIMEOUT_S for it to exit.  Returns true if it exited by itself;
 * *code gets its exit status, or minus the signal that killed it, and
 * *err its stderr.
 */
static bool qemu_spawn(const char *const *args, int *code, char **err)
{
    static const char *const base[] = {
        "-machine", "pc", "-accel", "qtest", "-nodefaults", "-display",
        "none", "-S",
    };
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    int i;

    for (i = 0; i < G_N_ELEMENTS(base); i++) {
        g_ptr_array_add(argv, (char *)base[i]);
    }
    for (i = 0; args[i]; i++) {
        g_ptr_array_add(argv, (char *)args[i]);
    }
    g_ptr_array_add(argv, NULL);
    return qihba_spawn_qemu((const char *const *)argv->pdata,
                            SPAWN_TIMEOUT_S, code, err);
}

/*
 * QEMU refuses to start with "-device @devopts": it exits with status 1
 * (an error, not a crash or abort()) and its stderr contains every string
 * of the NULL-terminated @want.
 */
static void expect_refused_start(const char *devopts, const char *const *want)
{
    const char *args[] = { "-device", devopts, NULL };
    g_autofree char *err = NULL;
    bool exited;
    size_t len;
    int code;

    exited = qemu_spawn(args, &code, &err);
    len = strlen(err);
    g_test_message("-device %.100s%s: %s, status %d, stderr: %s%s",
                   devopts, strlen(devopts) > 100 ? "..." : "",
                   exited ? "exited" : "still running", code,
                   len > 160 ? "..." : "", len > 160 ? err + len - 160 : err);
    g_assert_true(exited);
    g_assert_cmpint(code, ==, 1);
    for (; *want; want++) {
        if (!strstr(err, *want)) {
            g_test_message("the error does not contain \"%s\"", *want);
        }
        g_assert_nonnull(strstr(err, *want));
    }
}

/*
 * QMP
 */

/* The error of a QMP response that must be one; returns its text. */
static char *qmp_error_desc(QDict *rsp, const char *what)
{
    QDict *err;
    char *desc;

    g_assert_nonnull(rsp);
    if (!qdict_haskey(rsp, "error")) {
        g_error("%s succeeded, expected an error", what);
    }
    err = qdict_get_qdict(rsp, "error");
    desc = g_strdup(qdict_get_str(err, "desc"));
    g_test_message("%s: error \"%s\"", what, desc);
    qobject_unref(rsp);
    return desc;
}

static void qmp_ok(QDict *rsp, const char *what)
{
    g_assert_nonnull(rsp);
    if (!qdict_haskey(rsp, "return")) {
        g_error("%s failed: %s", what,
                qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"));
    }
    qobject_unref(rsp);
}

/* qom-get of a string property of /objects/@id; NULL if it fails. */
static char *qom_get_str(QTestState *qts, const char *id, const char *prop)
{
    g_autofree char *path = g_strdup_printf("/objects/%s", id);
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': %s, 'property': %s}}", path, prop);
    char *val = NULL;

    if (qdict_haskey(rsp, "return")) {
        val = g_strdup(qdict_get_try_str(rsp, "return"));
    }
    qobject_unref(rsp);
    return val;
}

static void fault_add_disconnect(QIscsiHbaTest *t, uint8_t opcode)
{
    qtest_qmp_assert_success(t->qts, "{'execute': 'iscsi-hba-fault-add', "
                             "'arguments': {'device': %s, 'rule': "
                             "{'op': 'scsi', 'opcode': %d, "
                             "'action': 'disconnect'}}}", HBA_ID, opcode);
}

/*
 * Admin commands and sessions
 */

/* The one session there is (a host-configured one, in most tests). */
static uint32_t only_session(QIscsiHbaTest *t)
{
    uint32_t ids[4];

    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 1);
    return ids[0];
}

static void session_info(QIscsiHbaTest *t, uint32_t sid,
                         struct iscsi_hba_session_info *si)
{
    g_assert_cmphex(qihba_session_info(t, sid, si), ==, 0);
}

/* Wait up to @timeout_ms for @sid to be in @state; false if it is not. */
static bool wait_state(QIscsiHbaTest *t, uint32_t sid, uint16_t state,
                       int timeout_ms, struct iscsi_hba_session_info *si)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;

    for (;;) {
        session_info(t, sid, si);
        if (si->state == state) {
            return true;
        }
        if (g_get_monotonic_time() > deadline) {
            g_test_message("session 0x%08x: state %u, last_status 0x%08x %s "
                           "after %d ms, expected state %u", sid, si->state,
                           si->last_status, qihba_isdsc(si->last_status),
                           timeout_ms, state);
            return false;
        }
        g_usleep(POLL_MS * 1000);
    }
}

static void set_chap_secret(QIscsiHbaTest *t, const char *secret)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    size_t len = strlen(secret);

    qtest_memwrite(t->qts, t->scratch, secret, len);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_CHAP_SECRET, t->scratch, len);
    sqe.u.buf.param = ISCSI_HBA_CHAP_SECRET_INITIATOR;
    qihba_t_admin(t, &sqe, &cqe);
    qihba_check_cqe("SET_CHAP_SECRET", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
}

/*
 * TCP endpoints of our own, to see whether the device connected
 */

/* A listening TCP socket on @addr ("127.0.0.1" or "::1"), or -1. */
static int listen_on(const char *addr, int *port)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    bool v6 = strchr(addr, ':');
    socklen_t len = v6 ? sizeof(*sin6) : sizeof(*sin);
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (fd < 0) {
        return -1;
    }
    if (v6) {
        sin6->sin6_family = AF_INET6;
        g_assert_cmpint(inet_pton(AF_INET6, addr, &sin6->sin6_addr), ==, 1);
    } else {
        sin->sin_family = AF_INET;
        g_assert_cmpint(inet_pton(AF_INET, addr, &sin->sin_addr), ==, 1);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&ss, &len)) {
        close(fd);
        return -1;
    }
    *port = ntohs(v6 ? sin6->sin6_port : sin->sin_port);
    return fd;
}

/* Accept (and close) what connected to @lfd so far; returns the count. */
static unsigned accept_all(int lfd)
{
    unsigned n = 0;
    int fd;

    while ((fd = accept(lfd, NULL, NULL)) >= 0) {
        close(fd);
        n++;
    }
    g_assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    return n;
}

/*
 * LOGIN (or DISCOVERY) to @host:@port, where @lfd (our socket) listens.
 * A connection that arrives is closed at once, so that an allowed login
 * fails fast.  Returns the number of connections @lfd saw.
 */
static unsigned probe(QIscsiHbaTest *t, bool discovery, const char *host,
                      int port, int lfd, struct iscsi_hba_cqe *cqe)
{
    struct iscsi_hba_login_params p;
    gint64 deadline = g_get_monotonic_time() +
                      qihba_login_wait_ms(t) * 1000LL;
    unsigned seen = 0;
    uint16_t cid;

    if (discovery) {
        cid = qihba_discovery_start(t, host, port, NULL, t->scratch, 4096);
    } else {
        qihba_login_params_at(&p, TARGET_PREFIX "probe", host, port);
        cid = qihba_login_start(t, &p);
    }
    while (!qihba_t_poll(t, ISCSI_HBA_ADMIN_QID, cid, 0, cqe, NULL)) {
        seen += lfd >= 0 ? accept_all(lfd) : 0;
        if (g_get_monotonic_time() > deadline) {
            g_error("%s to %s:%d: no completion", discovery ? "DISCOVERY" :
                    "LOGIN", host, port);
        }
        g_usleep(2 * 1000);
    }
    qihba_settle(t->h);
    seen += lfd >= 0 ? accept_all(lfd) : 0;
    g_test_message("%s to %s:%d: 0x%08x %s detail %u, %u connection(s)",
                   discovery ? "DISCOVERY" : "LOGIN", host, port, cqe->status,
                   qihba_isdsc(cqe->status), cqe->detail, seen);
    return seen;
}

/* The host policy refused it: no connection, the status of the plan. */
static void expect_not_allowed(QIscsiHbaTest *t, bool discovery,
                               const char *host, int port, int lfd)
{
    g_autofree char *what = g_strdup_printf("%s to %s:%d",
                                            discovery ? "DISCOVERY" : "LOGIN",
                                            host, port);
    struct iscsi_hba_cqe cqe;

    g_assert_cmpuint(probe(t, discovery, host, port, lfd, &cqe), ==, 0);
    qihba_check_cqe(what, &cqe, ISDSC_RESTRICTED_BY_GROUP_POLICY,
                    ISCSI_HBA_DETAIL_NOT_ALLOWED);
    g_assert_cmphex(cqe.result, ==, 0);
    g_assert_cmphex(qihba_readl(t->h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_RESTRICTED_BY_GROUP_POLICY);
}

/*
 * The policy let it through: the device connected to @lfd, which closed
 * the connection at once.  With @lfd -1 nothing listens at @host:@port:
 * the attempt fails, but not by policy.
 */
static void expect_allowed(QIscsiHbaTest *t, bool discovery,
                           const char *host, int port, int lfd)
{
    struct iscsi_hba_cqe cqe;

    g_assert_cmpuint(probe(t, discovery, host, port, lfd, &cqe), ==,
                     lfd >= 0);
    g_assert_cmphex(cqe.status, !=, ISDSC_RESTRICTED_BY_GROUP_POLICY);
    g_assert_true(ISCSI_HBA_STATUS_IS_ERROR(cqe.status));
    if (lfd < 0) {
        g_assert_cmphex(cqe.status, ==, ISDSC_CONNECTION_FAILED);
    }
}

/* LOGIN to target @tgt of the fixture at @host, checked successful. */
static void login_logout_ok(QIscsiHbaTest *t, const char *host,
                            TgtdTargetId tgt)
{
    struct iscsi_hba_login_params p;

    qihba_login_params_at(&p, fx_target_name(tgt), host, fx->port);
    qihba_logout_ok(t, qihba_login_ok_params(t, &p));
}

static void discovery_ok(QIscsiHbaTest *t)
{
    struct iscsi_hba_cqe cqe;

    qihba_discovery(t, fx->host, fx->port, NULL, t->scratch, 16 * KiB, &cqe);
    qihba_check_cqe("DISCOVERY", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, >, 0);
}

/*
 * F4: a host-configured target whose portal does not resolve
 */

#define F4_HOST                 "no-such-host.invalid"

/* Does @host fail to resolve at once here (no DNS stall)? */
static bool fails_to_resolve_fast(const char *host)
{
    struct addrinfo *res = NULL;
    gint64 t0 = g_get_monotonic_time();
    int r = getaddrinfo(host, "3260", NULL, &res);

    if (!r) {
        freeaddrinfo(res);
    }
    return r == EAI_NONAME && elapsed_s(t0) < 1.0;
}

/*
 * The review: the first resolution fails, the session waits time2wait
 * (2 s), then connects with portal NULL: SIGSEGV 3 s after the enable.
 * Fixed, every attempt resolves again and fails the same way.
 */
static void test_f4_unresolved_portal(void)
{
    g_autofree char *args = g_strdup_printf(
        "-object iscsi-hba-target,id=t0,hba=" HBA_ID ",portal=" F4_HOST
        ":3260,target=" TARGET_PREFIX "f4");
    bool strict = fails_to_resolve_fast(F4_HOST);
    struct iscsi_hba_session_info si;
    QIscsiHbaTest *t = qihba_t_start_args(NULL, LT, CT, NULL, args);
    gint64 t0 = g_get_monotonic_time();
    uint32_t sid = only_session(t);

    /* Two retries (time2wait 2 s) and a half */
    while (elapsed_s(t0) < 5.0) {
        g_assert_true(qihba_alive(t->h));
        g_usleep(250 * 1000);
    }
    session_info(t, sid, &si);
    g_test_message("after %.1f s: state %u, last_status 0x%08x %s, "
                   "reconnects %u", elapsed_s(t0), si.state, si.last_status,
                   qihba_isdsc(si.last_status), si.reconnects);
    g_assert_true(si.flags & ISCSI_HBA_SESSION_HOST_CONFIGURED);
    g_assert_true(si.state == ISCSI_HBA_SESSION_STATE_RECONNECTING ||
                  si.state == ISCSI_HBA_SESSION_STATE_LOGGING_IN);
    g_assert_cmpuint(si.reconnects, ==, 0);
    if (strict) {
        g_assert_cmphex(si.last_status, ==, ISDSC_DNS_NAME_UNRESOLVED);
    } else {
        /* The resolver here stalls: the login deadline cancels it */
        g_test_message(F4_HOST " does not fail to resolve at once here");
        g_assert_true(si.last_status == ISDSC_DNS_NAME_UNRESOLVED ||
                      si.last_status == ISDSC_CONNECTION_FAILED);
    }
    qihba_t_quit(t);
}

/*
 * F5: more than 256 fault rules
 */

static char *rules_file(unsigned n)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) text = g_string_new("# too many\n");
    char *path = NULL;
    unsigned i;
    int fd;

    for (i = 0; i < n; i++) {
        g_string_append(text, FAULT_RULE "\n");
    }
    fd = g_file_open_tmp("iscsi-hba-regress-XXXXXX", &path, &err);
    g_assert_no_error(err);
    close(fd);
    g_assert_true(g_file_set_contents(path, text->str, -1, &err));
    g_assert_no_error(err);
    return path;
}

static void test_f5_fault_file(void)
{
    static const char *const want[] = { "too many fault rules", NULL };
    g_autofree char *path = rules_file(FAULT_MAX_RULES + 1);
    g_autofree char *devopts = g_strdup_printf(
        "iscsi-hba,id=" HBA_ID ",fault-file=%s", path);

    expect_refused_start(devopts, want);
    unlink(path);
}

static void test_f5_inline_and_file(void)
{
    static const char *const want[] = { "too many fault rules", NULL };
    g_autofree char *path = rules_file(100);
    g_autoptr(GString) devopts = g_string_new("iscsi-hba,id=" HBA_ID
                                              ",fault-rules=");
    g_autofree char *rule = NULL;
    g_auto(GStrv) parts = g_strsplit(FAULT_RULE, ",", -1);
    unsigned i;

    /* A comma inside a property value is written ",," */
    rule = g_strjoinv(",,", parts);
    for (i = 0; i < 200; i++) {
        g_string_append_printf(devopts, "%s%s", i ? ";" : "", rule);
    }
    g_string_append_printf(devopts, ",fault-file=%s", path);
    expect_refused_start(devopts->str, want);
    unlink(path);
}

/* device_add on a running VM: an error, and the VM goes on. */
static void test_f5_device_add(void)
{
    g_autofree char *path = rules_file(FAULT_MAX_RULES + 1);
    g_autofree char *path_max = rules_file(FAULT_MAX_RULES);
    g_autofree char *desc = NULL;
    QTestState *qts = qtest_init("-machine pc -nodefaults");
    QDict *rsp;
    QList *rules;

    rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                    "{'driver': 'iscsi-hba', 'id': 'hba1', "
                    "'fault-file': %s}}", path);
    desc = qmp_error_desc(rsp, "device_add with 257 fault rules");
    g_assert_nonnull(strstr(desc, "too many fault rules"));
    qobject_unref(qtest_qmp_assert_success_ref(qts,
                                               "{'execute': 'query-status'}"));

    /* 256 are fine */
    qtest_qmp_assert_success(qts, "{'execute': 'device_add', 'arguments': "
                             "{'driver': 'iscsi-hba', 'id': 'hba1', "
                             "'fault-file': %s}}", path_max);
    rsp = qtest_qmp(qts, "{'execute': 'query-iscsi-hba-faults', "
                    "'arguments': {'device': 'hba1'}}");
    rules = qdict_get_qlist(rsp, "return");
    g_assert_cmpuint(qlist_size(rules), ==, FAULT_MAX_RULES);
    qobject_unref(rsp);
    qtest_quit(qts);
    unlink(path);
    unlink(path_max);
}

/*
 * F6 and F12: iscsi-hba-target objects and their secrets
 */

/* Secrets s0..s2 and targets t0 (CHAP) and t1 (mutual CHAP) for hba0. */
static char *host_chap_targets(void)
{
    return g_strdup_printf(
        "-object secret,id=s0,data=%s "
        "-object secret,id=s1,data=%s "
        "-object secret,id=s2,data=%s "
        "-object iscsi-hba-target,id=t0,hba=" HBA_ID ",portal=%s,target=%s,"
        "user=%s,password-secret=s0 "
        "-object iscsi-hba-target,id=t1,hba=" HBA_ID ",portal=%s,target=%s,"
        "initiator-name=" TARGET_PREFIX "init,user=%s,password-secret=s1,"
        "target-user=%s,target-password-secret=s2",
        fx->chap_secret, fx->mutual_secret, fx->mutual_target_secret,
        fx->portal, fx_target_name(TGTD_TARGET_CHAP), fx->chap_user,
        fx->portal, fx_target_name(TGTD_TARGET_MUTUAL), fx->mutual_user,
        fx->mutual_target_user);
}

/* Target t0 (the fixture's plain target, no CHAP) for hba0. */
static char *host_plain_target(void)
{
    return g_strdup_printf("-object iscsi-hba-target,id=t0,hba=" HBA_ID
                           ",portal=%s,target=%s", fx->portal,
                           fx_target_name(TGTD_TARGET_PLAIN));
}

/* The only session, a host one, logs in; @si gets its SESSION_INFO. */
static void wait_host_logged_in(QIscsiHbaTest *t,
                                struct iscsi_hba_session_info *si)
{
    g_assert_true(wait_state(t, only_session(t),
                             ISCSI_HBA_SESSION_STATE_LOGGED_IN,
                             qihba_login_wait_ms(t), si));
}

/* Both host sessions log in (with the secrets they were created with). */
static void expect_host_chap_logins(QIscsiHbaTest *t)
{
    struct iscsi_hba_session_info si;
    uint32_t ids[4];
    unsigned i;

    g_assert_cmpuint(qihba_list_sessions(t, ids, 4), ==, 2);
    for (i = 0; i < 2; i++) {
        g_assert_true(wait_state(t, ids[i], ISCSI_HBA_SESSION_STATE_LOGGED_IN,
                                 qihba_login_wait_ms(t), &si));
        g_assert_true(si.flags & ISCSI_HBA_SESSION_HOST_CONFIGURED);
        g_test_message("%s: logged in", si.target_name);
    }
}

/*
 * The review: the secret was looked up at every enable; a secret object
 * replaced by one of 300 bytes made the lookup fail without an error,
 * and error_report_err(NULL) crashed.  Fixed, the secrets were read when
 * the targets were created, and the logins use those.
 */
static void test_f6_secret_replaced(void)
{
    g_autofree char *args = NULL;
    g_autofree char *big = g_strnfill(300, 'x');
    static const char *const ids[] = { "s0", "s1", "s2" };
    QIscsiHbaTest *t;
    unsigned i;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    args = host_chap_targets();
    t = qihba_t_new(fx, LT, CT, NULL, args);
    for (i = 0; i < G_N_ELEMENTS(ids); i++) {
        QDict *rsp = qtest_qmp(t->qts, "{'execute': 'object-del', "
                               "'arguments': {'id': %s}}", ids[i]);

        if (qdict_haskey(rsp, "error")) {
            /* Refusing to delete a secret in use is a fix as well */
            g_test_message("object-del %s: %s", ids[i],
                           qdict_get_str(qdict_get_qdict(rsp, "error"),
                                         "desc"));
            qobject_unref(rsp);
            continue;
        }
        qobject_unref(rsp);
        qmp_ok(qtest_qmp(t->qts, "{'execute': 'object-add', 'arguments': "
                         "{'qom-type': 'secret', 'id': %s, 'data': %s}}",
                         ids[i], big), "object-add secret");
    }
    qihba_t_enable(t);
    expect_host_chap_logins(t);
    qihba_t_quit(t);
}

/*
 * The review: qom-set changed any property of a created target without
 * validation; a target created after the adapter was silently ignored.
 */
static void test_f12_target_frozen(void)
{
    static const struct {
        const char *prop;
        const char *value;
    } props[] = {
        { "hba", "hba9" },
        { "portal", "192.0.2.1:3260" },
        { "target", "NOT A VALID NAME" },
        { "initiator-name", "iqn.2026-11.org.qemu.test:other" },
        { "user", "mallory" },
        { "password-secret", "s2" },
        { "target-user", "eve" },
        { "target-password-secret", "s0" },
    };
    g_autofree char *args = NULL;
    g_autofree char *desc = NULL;
    g_autofree char *still = NULL;
    QIscsiHbaTest *t;
    QDict *rsp;
    unsigned i;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    args = host_chap_targets();
    t = qihba_t_new(fx, LT, CT, NULL, args);

    for (i = 0; i < G_N_ELEMENTS(props); i++) {
        g_autofree char *before = qom_get_str(t->qts, "t1", props[i].prop);
        g_autofree char *after = NULL;
        g_autofree char *what = g_strdup_printf("qom-set t1 %s",
                                                props[i].prop);
        g_autofree char *err = NULL;

        g_assert_nonnull(before);
        rsp = qtest_qmp(t->qts, "{'execute': 'qom-set', 'arguments': "
                        "{'path': '/objects/t1', 'property': %s, "
                        "'value': %s}}", props[i].prop, props[i].value);
        err = qmp_error_desc(rsp, what);
        g_assert_nonnull(strstr(err, "cannot be changed"));
        after = qom_get_str(t->qts, "t1", props[i].prop);
        g_assert_cmpstr(after, ==, before);
    }

    /* Created after the adapter: refused, not ignored */
    rsp = qtest_qmp(t->qts, "{'execute': 'object-add', 'arguments': "
                    "{'qom-type': 'iscsi-hba-target', 'id': 'late', "
                    "'hba': %s, 'portal': %s, 'target': %s}}", HBA_ID,
                    fx->portal, fx_target_name(TGTD_TARGET_PLAIN));
    desc = qmp_error_desc(rsp, "object-add of a target for a realized HBA");
    g_assert_nonnull(strstr(desc, "iscsi-hba-target 'late'"));
    g_assert_nonnull(strstr(desc, "adapter '" HBA_ID "' is already "
                            "realized"));
    g_assert_null(qom_get_str(t->qts, "late", "target"));
    g_clear_pointer(&desc, g_free);

    /* A target the adapter uses cannot be deleted */
    rsp = qtest_qmp(t->qts, "{'execute': 'object-del', 'arguments': "
                    "{'id': 't0'}}");
    desc = qmp_error_desc(rsp, "object-del of a target in use");
    still = qom_get_str(t->qts, "t0", "target");
    g_assert_nonnull(still);

    /* And the targets log in as they were created */
    qihba_t_enable(t);
    expect_host_chap_logins(t);
    qihba_t_quit(t);
}

/*
 * F10.6: session id generations skip 0 when they wrap
 *
 * Every CTRL.ENABLE logs in to the host-configured targets, which takes
 * a session slot (and a generation); the disable frees it.  The target is
 * a closed port, so nothing ever completes: 65536 enables wrap the
 * generation of slot 1 cheaply.
 */
static uint16_t generation_of(QIscsiHbaTest *t)
{
    uint32_t sid = only_session(t);

    g_assert_cmphex(sid & 0xffff, ==, 1);
    return sid >> 16;
}

static void reenable(QIscsiHbaTest *t)
{
    qihba_disable(t->h);
    qihba_t_enable(t);
}

static void test_f10_generation_wrap(void)
{
    g_autofree char *args = g_strdup_printf(
        "-object iscsi-hba-target,id=t0,hba=" HBA_ID ",portal=127.0.0.1:%d,"
        "target=" TARGET_PREFIX "gen", qihba_closed_port());
    QIscsiHbaTest *t = qihba_t_start_args(NULL, LT, CT, NULL, args);
    gint64 t0;
    unsigned i;

    g_assert_cmpuint(generation_of(t), ==, 1);
    t0 = g_get_monotonic_time();
    for (i = 2; i < UINT16_MAX; i++) {
        qihba_writel(t->h, ISCSI_HBA_REG_CTRL, 0);
        qihba_writel(t->h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    }
    g_test_message("%u enables in %.1f s", i - 2, elapsed_s(t0));
    g_assert_cmphex(qihba_readl(t->h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY);
    reenable(t);
    g_assert_cmpuint(generation_of(t), ==, UINT16_MAX);
    /* 65535 + 1: the generation skips 0 */
    reenable(t);
    g_assert_cmpuint(generation_of(t), ==, 1);
    qihba_t_quit(t);
}

/*
 * F10.7: while STATUS.FATAL, only CTRL writes take effect
 */
static void test_f10_fatal_registers(void)
{
    QIscsiHba *h = qihba_start(NULL);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_identify id;

    qihba_enable(h, 32);
    /* A LAST_STATUS and an INTx mask to keep */
    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_LOGOUT);
    sqe.hdr.session_id = 0xdead0007u;
    qihba_admin(h, &sqe, &cqe);
    qihba_check_cqe("LOGOUT", &cqe, ISDSC_INVALID_SESSION_ID,
                    ISCSI_HBA_DETAIL_NO_SESSION);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_INVALID_SESSION_ID);
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_SET, 0x1);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0x1);

    /* The SQ doorbell of a queue that does not exist */
    qihba_writel(h, ISCSI_HBA_DB_SQ(3), 1);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY | ISCSI_HBA_STATUS_FATAL);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==,
                     ISCSI_HBA_FATAL_BAD_DOORBELL);

    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_SET, 0x6);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0x1);
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_CLEAR, 0x1);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_CLEAR), ==, 0x1);
    qihba_writel(h, ISCSI_HBA_REG_LAST_STATUS, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_INVALID_SESSION_ID);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY | ISCSI_HBA_STATUS_FATAL);

    /* The disable does */
    qihba_disable(h);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0);
    qihba_enable(h, 32);
    g_assert_cmphex(qihba_identify(h, &id), ==, 0);
    qihba_quit(h);
}

/*
 * F10.8: LOGOUT of a host-configured session that is still logging in
 */
static void test_f10_logout_logging_in(void)
{
    g_autofree char *args = NULL;
    struct iscsi_hba_session_info si;
    struct iscsi_hba_cqe cqe;
    QIscsiHbaTest *t;
    uint32_t sid;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    args = host_plain_target();
    /* The TCP connection is made; the login is never answered */
    tgtd_fixture_freeze(fx);
    t = qihba_t_start_args(fx, 3, CT, NULL, args);
    sid = only_session(t);
    qihba_settle(t->h);
    session_info(t, sid, &si);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_LOGGING_IN);

    qihba_logout(t, sid, &cqe);
    qihba_check_cqe("LOGOUT of a host session logging in", &cqe,
                    ISDSC_SESSION_BUSY, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmphex(only_session(t), ==, sid);

    /* The login goes on; once logged in, LOGOUT works */
    tgtd_fixture_thaw(fx);
    g_assert_true(wait_state(t, sid, ISCSI_HBA_SESSION_STATE_LOGGED_IN,
                             qihba_login_wait_ms(t), &si));
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * F10.1: mutual CHAP reads the SET_CHAP_SECRET secret again at every
 * reconnection attempt
 */
static void test_f10_mutual_chap_reconnect(void)
{
    struct iscsi_hba_login_params p;
    struct iscsi_hba_session_info si;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    gint64 deadline;
    uint32_t sid;
    uint16_t aer;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    set_chap_secret(t, fx->mutual_target_secret);
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_MUTUAL));
    p.auth_type = ISCSI_HBA_AUTH_MUTUAL_CHAP;
    g_strlcpy(p.chap_username, fx->mutual_user, sizeof(p.chap_username));
    p.chap_secret_len = strlen(fx->mutual_secret);
    memcpy(p.chap_secret, fx->mutual_secret, p.chap_secret_len);
    g_strlcpy(p.target_chap_username, fx->mutual_target_user,
              sizeof(p.target_chap_username));
    p.time2wait = 1;
    p.time2retain = 60;
    sid = qihba_login_ok_params(t, &p);
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec_good(t, &sqe, &cqe);

    /* The target's proof no longer matches; then the connection breaks */
    set_chap_secret(t, "wrongsecret99");
    aer = qihba_post_aer(t);
    fault_add_disconnect(t, TEST_UNIT_READY);
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("TUR that disconnects", &cqe, ISDSC_CONNECTION_FAILED,
                    ISCSI_HBA_DETAIL_CONNECTION_LOST);
    qihba_expect_event(t, aer, 3000, ISCSI_HBA_EVENT_SESSION_LOST, sid,
                       ISDSC_CONNECTION_FAILED);
    aer = qihba_post_aer(t);

    /* Every attempt (after time2wait 1 s) uses the wrong secret */
    deadline = g_get_monotonic_time() +
               (1 + t->lt + QIHBA_LATE_S) * G_USEC_PER_SEC;
    do {
        g_usleep(POLL_MS * 1000);
        session_info(t, sid, &si);
    } while (si.last_status != ISDSC_INVALID_TARGET_CHAP_SECRET &&
             si.state != ISCSI_HBA_SESSION_STATE_LOGGED_IN &&
             g_get_monotonic_time() < deadline);
    g_test_message("state %u, last_status 0x%08x %s, reconnects %u",
                   si.state, si.last_status, qihba_isdsc(si.last_status),
                   si.reconnects);
    g_assert_cmpuint(si.state, ==, ISCSI_HBA_SESSION_STATE_RECONNECTING);
    g_assert_cmphex(si.last_status, ==, ISDSC_INVALID_TARGET_CHAP_SECRET);
    g_assert_cmpuint(si.reconnects, ==, 0);

    /* The right secret again: the next attempt succeeds */
    set_chap_secret(t, fx->mutual_target_secret);
    qihba_expect_event(t, aer,
                       (2 * (1 + t->lt) + QIHBA_LATE_S) * 1000 +
                       QIHBA_SLACK_MS,
                       ISCSI_HBA_EVENT_SESSION_RECOVERED, sid, 0);
    session_info(t, sid, &si);
    g_assert_cmpuint(si.reconnects, ==, 1);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * F13: CTRL.ENABLE toggled by the guest prints nothing per toggle
 *
 * Two host targets and max-sessions=1: the second login cannot start at
 * any enable (TOO_MANY_SESSIONS), which the code the review read warned
 * about every time.  QEMU's stderr goes to a file.
 */
static void test_f13_enable_toggle(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;
    g_autofree char *args = NULL;
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    int port = qihba_closed_port();
    unsigned i, n = 0;
    QIscsiHbaTest *t;
    int fd;

    fd = g_file_open_tmp("iscsi-hba-regress-XXXXXX", &path, &err);
    g_assert_no_error(err);
    close(fd);
    args = g_strdup_printf(
        "-object iscsi-hba-target,id=t0,hba=" HBA_ID ",portal=127.0.0.1:%d,"
        "target=" TARGET_PREFIX "f13a "
        "-object iscsi-hba-target,id=t1,hba=" HBA_ID ",portal=127.0.0.1:%d,"
        "target=" TARGET_PREFIX "f13b 2>%s", port, port, path);
    t = qihba_t_start_args(NULL, LT, CT, "max-sessions=1", args);
    for (i = 0; i < 100; i++) {
        qihba_writel(t->h, ISCSI_HBA_REG_CTRL, 0);
        qihba_writel(t->h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    }
    g_assert_true(qihba_alive(t->h));
    qihba_t_quit(t);

    g_assert_true(g_file_get_contents(path, &text, NULL, &err));
    g_assert_no_error(err);
    unlink(path);
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i]; i++) {
        /* qtest_quit()'s SIGTERM is announced */
        if (*lines[i] && !strstr(lines[i], "terminating on signal")) {
            g_test_message("stderr: %s", lines[i]);
            n++;
        }
    }
    g_test_message("%u line(s) on stderr after 101 enables", n);
    g_assert_cmpuint(n, <=, 1);
}

/*
 * F14: while the VM is stopped, the device writes no guest memory
 */
static void test_f14_stopped_vm(void)
{
    const uint32_t len = 64 * KiB;
    const uint64_t lba = 4096;
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);
    g_autofree uint8_t *canary = g_malloc(len);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t buf;
    uint32_t sid;
    uint16_t cid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = qihba_t_start(fx, LT, CT, NULL);
    sid = qihba_open_plain(t);
    buf = qihba_alloc(t->h, len, 0);
    qihba_fill_pattern(want, len, g_test_rand_int());
    qtest_bufwrite(t->qts, buf, want, len);
    qihba_rw_init(t, &sqe, sid, 1, WRITE_10, lba, len / t->bs);
    qihba_sqe_add_sg(&sqe, buf, len);
    qihba_io_exec_good(t, &sqe, &cqe);
    memset(canary, 0xa5, len);
    qtest_bufwrite(t->qts, buf, canary, len);

    /* The READ is at the frozen target when the VM stops */
    tgtd_fixture_freeze(fx);
    qihba_rw_init(t, &sqe, sid, 1, READ_10, lba, len / t->bs);
    qihba_sqe_add_sg(&sqe, buf, len);
    cid = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    qihba_settle(t->h);
    qtest_qmp_assert_success(t->qts, "{'execute': 'stop'}");
    tgtd_fixture_thaw(fx);

    /* tgtd answers; nothing of it reaches the guest yet */
    g_usleep(G_USEC_PER_SEC);
    g_assert_false(qihba_t_poll(t, QIHBA_IO_QID, cid, 0, &cqe, NULL));
    qtest_bufread(t->qts, buf, got, len);
    g_assert_true(memcmp(got, canary, len) == 0);

    /* After cont, the READ completes with the data */
    qtest_qmp_assert_success(t->qts, "{'execute': 'cont'}");
    qihba_t_wait(t, QIHBA_IO_QID, cid, qihba_scsi_wait_ms(t), &cqe, NULL);
    qihba_check_good("READ after cont", &cqe);
    qtest_bufread(t->qts, buf, got, len);
    g_assert_true(memcmp(got, want, len) == 0);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * F7: guest-portals, the host's say over guest-chosen portals
 */

/* The property left at its default (host-targets), @args added. */
static QIscsiHbaTest *start_default_policy(const char *args)
{
    QTestState *qts = qtest_initf("-machine pc -nodefaults %s -device "
                                  "iscsi-hba,id=" HBA_ID ",login-timeout=%d,"
                                  "command-timeout=%d", args ? args : "",
                                  LT, CT);
    QIscsiHbaTest *t = qihba_t_attach(qts, fx, LT, CT);

    qihba_t_enable(t);
    return t;
}

/* Default, no host targets: no guest LOGIN or DISCOVERY goes anywhere. */
static void test_f7_default(void)
{
    int port, lfd = listen_on("127.0.0.1", &port);
    QIscsiHbaTest *t = start_default_policy(NULL);

    g_assert_cmpint(lfd, >=, 0);
    expect_not_allowed(t, false, "127.0.0.1", port, lfd);
    expect_not_allowed(t, true, "127.0.0.1", port, lfd);
    expect_not_allowed(t, false, "localhost", port, lfd);
    expect_not_allowed(t, false, "no-such-host.invalid", port, lfd);
    qihba_t_quit(t);
    close(lfd);
}

/* Default with a host target: its portal, exactly as configured. */
static void test_f7_host_targets(void)
{
    g_autofree char *args = NULL;
    struct iscsi_hba_session_info si;
    QIscsiHbaTest *t;
    int port, lfd;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    lfd = listen_on("127.0.0.1", &port);
    g_assert_cmpint(lfd, >=, 0);
    args = host_plain_target();
    t = start_default_policy(args);
    wait_host_logged_in(t, &si);

    /* Another target behind the same portal */
    login_logout_ok(t, fx->host, TGTD_TARGET_MULTI);
    discovery_ok(t);
    /* The same port under another name, another port */
    expect_not_allowed(t, false, "localhost", fx->port, lfd);
    expect_not_allowed(t, true, "localhost", fx->port, lfd);
    expect_not_allowed(t, false, "127.0.0.1", port, lfd);
    expect_not_allowed(t, true, "127.0.0.1", port, lfd);
    qihba_t_quit(t);
    close(lfd);
}

/* none: not even the portal of a host target; the host session works. */
static void test_f7_none(void)
{
    g_autofree char *args = NULL;
    struct iscsi_hba_session_info si;
    struct iscsi_hba_login_params p;
    struct iscsi_hba_cqe cqe;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    args = host_plain_target();
    t = qihba_t_start_args(fx, LT, CT, "guest-portals=none", args);
    wait_host_logged_in(t, &si);
    qihba_login_params(&p, fx, fx_target_name(TGTD_TARGET_MULTI));
    qihba_login(t, &p, &cqe);
    qihba_check_cqe("LOGIN with guest-portals=none", &cqe,
                    ISDSC_RESTRICTED_BY_GROUP_POLICY,
                    ISCSI_HBA_DETAIL_NOT_ALLOWED);
    qihba_discovery(t, fx->host, fx->port, NULL, t->scratch, 4096, &cqe);
    qihba_check_cqe("DISCOVERY with guest-portals=none", &cqe,
                    ISDSC_RESTRICTED_BY_GROUP_POLICY,
                    ISCSI_HBA_DETAIL_NOT_ALLOWED);
    g_assert_cmpuint(only_session(t), !=, 0);
    qihba_t_quit(t);
}

/* A list of one address and port allows exactly that. */
static void test_f7_list(void)
{
    g_autofree char *extra = NULL;
    QIscsiHbaTest *t;
    int port, lfd;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    lfd = listen_on("127.0.0.1", &port);
    g_assert_cmpint(lfd, >=, 0);
    extra = g_strdup_printf("guest-portals=127.0.0.1:%d", fx->port);
    t = qihba_t_start(fx, LT, CT, extra);
    login_logout_ok(t, "127.0.0.1", TGTD_TARGET_PLAIN);
    discovery_ok(t);
    expect_not_allowed(t, false, "127.0.0.1", port, lfd);
    expect_not_allowed(t, true, "127.0.0.1", port, lfd);
    /* A list takes numeric addresses only: names are never looked up */
    expect_not_allowed(t, false, "localhost", fx->port, lfd);
    qihba_t_quit(t);
    close(lfd);
}

/* Prefixes, port ranges, IPv6 and host-targets in one list. */
static void test_f7_list_forms(void)
{
    g_autofree char *extra = NULL;
    QIscsiHbaTest *t;
    int port, port2, port6 = 0, lfd, lfd2, lfd6;

    lfd = listen_on("127.0.0.1", &port);
    lfd2 = listen_on("127.0.0.1", &port2);
    g_assert_cmpint(lfd, >=, 0);
    g_assert_cmpint(lfd2, >=, 0);
    lfd6 = listen_on("::1", &port6);
    extra = g_strdup_printf("guest-portals=10.0.0.0/8;host-targets; "
                            "127.0.0.0/8:%d-%d;[::1]", port, port);
    t = qihba_t_start(NULL, LT, CT, extra);
    expect_allowed(t, false, "127.0.0.1", port, lfd);
    expect_allowed(t, true, "127.0.0.1", port, lfd);
    /* Inside the /8, where nothing listens */
    expect_allowed(t, false, "127.2.3.4", port, -1);
    expect_not_allowed(t, false, "127.0.0.1", port2, lfd2);
    expect_not_allowed(t, false, "localhost", port, lfd);
    if (lfd6 >= 0) {
        expect_allowed(t, false, "::1", port6, lfd6);
        expect_not_allowed(t, false, "::2", port6, lfd6);
        close(lfd6);
    } else {
        g_test_message("no IPv6 loopback here: [::1] only parsed");
    }
    qihba_t_quit(t);
    close(lfd);
    close(lfd2);
}

/*
 * A portal that accepts the connection and closes it at once (a port
 * scanner's everyday answer): the LOGIN or DISCOVERY fails, QEMU stays.
 * The code the review read freed the session twice (SIGSEGV in
 * session_free() from session_settle()).
 */
static void test_f7_peer_closes(void)
{
    int port, lfd = listen_on("127.0.0.1", &port);
    QIscsiHbaTest *t;
    unsigned i;

    g_assert_cmpint(lfd, >=, 0);
    t = qihba_t_start(NULL, LT, CT, NULL);
    for (i = 0; i < 3; i++) {
        expect_allowed(t, false, "127.0.0.1", port, lfd);
        expect_allowed(t, true, "127.0.0.1", port, lfd);
    }
    g_assert_true(qihba_alive(t->h));
    qihba_t_quit(t);
    close(lfd);
}

/* A bad value stops QEMU with an error that names the bad entry. */
static void test_f7_bad_values(void)
{
    static const char *const bad[] = {
        "300.1.1.1", "10.0.0.0/33", "1.2.3.4:0", "1.2.3.4:5-3", "[::1",
        "bogus", "1.2.3.4:70000", "[::1]/129",
    };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        g_autofree char *devopts = g_strdup_printf(
            "iscsi-hba,id=" HBA_ID ",guest-portals=127.0.0.1;%s;[::1]:3260",
            bad[i]);
        const char *const want[] = { "guest-portals", quoted, NULL };

        expect_refused_start(devopts, want);
    }
}

/*
 * At most MAX_GUEST_RESOLVES guest name resolutions in flight.  The LOGINs
 * go in with one doorbell, so the device starts all of them in one run of
 * its queue bottom half, before any resolution can come back: the one
 * after the limit is refused however fast the names fail.
 */
static void test_f7_resolve_limit(void)
{
    struct iscsi_hba_login_params p;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint16_t cid[MAX_GUEST_RESOLVES + 1];
    QIscsiHbaTest *t = qihba_t_start(NULL, LT, CT, "guest-portals=any");
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(cid); i++) {
        g_autofree char *host = g_strdup_printf("n%u.no-such-host.invalid",
                                                i);
        uint64_t buf = qihba_alloc(t->h, sizeof(p), 0);

        qihba_login_params_at(&p, TARGET_PREFIX "limit", host, 3260);
        qtest_bufwrite(t->qts, buf, &p, sizeof(p));
        qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_LOGIN, buf, sizeof(p));
        qihba_sq_put(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
        cid[i] = sqe.hdr.cid;
    }
    qihba_sq_ring(t->h, ISCSI_HBA_ADMIN_QID);
    for (i = 0; i < G_N_ELEMENTS(cid); i++) {
        qihba_t_wait(t, ISCSI_HBA_ADMIN_QID, cid[i], qihba_login_wait_ms(t),
                     &cqe, NULL);
        g_test_message("LOGIN %u: 0x%08x %s detail %u", i, cqe.status,
                       qihba_isdsc(cqe.status), cqe.detail);
        if (i < MAX_GUEST_RESOLVES) {
            g_assert_cmphex(cqe.status, !=, ISDSC_SESSION_BUSY);
            g_assert_true(ISCSI_HBA_STATUS_IS_ERROR(cqe.status));
        } else {
            qihba_check_cqe("LOGIN over the resolution limit", &cqe,
                            ISDSC_SESSION_BUSY, ISCSI_HBA_DETAIL_NONE);
        }
    }
    /* Resolutions done, the next name is looked up again */
    qihba_login_params_at(&p, TARGET_PREFIX "limit", "n9.no-such-host.invalid",
                          3260);
    qihba_login(t, &p, &cqe);
    g_test_message("LOGIN after: 0x%08x %s", cqe.status,
                   qihba_isdsc(cqe.status));
    g_assert_cmphex(cqe.status, !=, ISDSC_SESSION_BUSY);
    g_assert_true(ISCSI_HBA_STATUS_IS_ERROR(cqe.status));
    qihba_t_quit(t);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    fx = qihba_fixture_start(qihba_fixture_abort, &fx_error);

    qtest_add_func("/iscsi-hba/regress/f4/unresolved-portal",
                   test_f4_unresolved_portal);
    qtest_add_func("/iscsi-hba/regress/f5/fault-file", test_f5_fault_file);
    qtest_add_func("/iscsi-hba/regress/f5/inline-and-file",
                   test_f5_inline_and_file);
    qtest_add_func("/iscsi-hba/regress/f5/device-add", test_f5_device_add);
    qtest_add_func("/iscsi-hba/regress/f6/secret-replaced",
                   test_f6_secret_replaced);
    qtest_add_func("/iscsi-hba/regress/f7/default", test_f7_default);
    qtest_add_func("/iscsi-hba/regress/f7/host-targets",
                   test_f7_host_targets);
    qtest_add_func("/iscsi-hba/regress/f7/none", test_f7_none);
    qtest_add_func("/iscsi-hba/regress/f7/list", test_f7_list);
    qtest_add_func("/iscsi-hba/regress/f7/list-forms", test_f7_list_forms);
    qtest_add_func("/iscsi-hba/regress/f7/peer-closes", test_f7_peer_closes);
    qtest_add_func("/iscsi-hba/regress/f7/bad-values", test_f7_bad_values);
    qtest_add_func("/iscsi-hba/regress/f7/resolve-limit",
                   test_f7_resolve_limit);
    qtest_add_func("/iscsi-hba/regress/f10/generation-wrap",
                   test_f10_generation_wrap);
    qtest_add_func("/iscsi-hba/regress/f10/fatal-registers",
                   test_f10_fatal_registers);
    qtest_add_func("/iscsi-hba/regress/f10/logout-logging-in",
                   test_f10_logout_logging_in);
    qtest_add_func("/iscsi-hba/regress/f10/mutual-chap-reconnect",
                   test_f10_mutual_chap_reconnect);
    qtest_add_func("/iscsi-hba/regress/f12/target-frozen",
                   test_f12_target_frozen);
    qtest_add_func("/iscsi-hba/regress/f13/enable-toggle",
                   test_f13_enable_toggle);
    qtest_add_func("/iscsi-hba/regress/f14/stopped-vm", test_f14_stopped_vm);

    ret = g_test_run();
    qihba_fixture_free(fx);
    g_clear_error(&fx_error);
    return ret;
}
