/*
 * Tests the tgtd fixture (tests/qtest/libqos/tgtd-fixture.c) against a
 * real tgtd, checked with the libiscsi-bin tools (iscsi-ls, iscsi-inq,
 * iscsi-readcapacity16, iscsi-perf).  Skips without root, tgt or
 * libiscsi-bin.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tgtd-fixture.h"

/* Every tool run is bounded by coreutils' timeout. */
#define TOOL_TIMEOUT "10"

/* timeout(1) exit status when it had to kill the command. */
#define TIMED_OUT 124

typedef struct {
    char *out;
    char *err;
    int status;                 /* exit status, -1 if it did not exit */
} Run;

static void run_free(Run *r)
{
    g_free(r->out);
    g_free(r->err);
}

/* Run "timeout <secs> <tool> <args...>". */
static Run G_GNUC_NULL_TERMINATED run_tool(const char *secs,
                                           const char *first, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *cmd = NULL;
    Run r = { NULL, NULL, -1 };
    const char *arg;
    va_list ap;
    int wait_status;

    g_ptr_array_add(argv, (gpointer)"timeout");
    g_ptr_array_add(argv, (gpointer)"-k");
    g_ptr_array_add(argv, (gpointer)"1");
    g_ptr_array_add(argv, (gpointer)secs);
    va_start(ap, first);
    for (arg = first; arg; arg = va_arg(ap, const char *)) {
        g_ptr_array_add(argv, (gpointer)arg);
    }
    va_end(ap);
    g_ptr_array_add(argv, NULL);

    g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH,
                 NULL, NULL, &r.out, &r.err, &wait_status, &err);
    g_assert_no_error(err);
    if (WIFEXITED(wait_status)) {
        r.status = WEXITSTATUS(wait_status);
    }
    cmd = g_strjoinv(" ", (char **)argv->pdata + 4);
    g_test_message("%s -> %d", cmd, r.status);
    return r;
}

static bool have_tools(void)
{
    static const char *const tools[] = {
        "timeout", "iscsi-ls", "iscsi-inq", "iscsi-readcapacity16",
        "iscsi-perf",
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(tools); i++) {
        g_autofree char *p = g_find_program_in_path(tools[i]);

        if (!p) {
            g_autofree char *msg = g_strdup_printf("%s not installed",
                                                   tools[i]);
            g_test_skip(msg);
            return false;
        }
    }
    return true;
}

/* Start a fixture, or skip the test if tgtd cannot run here. */
static TgtdFixture *start_or_skip(void)
{
    g_autoptr(GError) err = NULL;
    TgtdFixture *fx;
    gint64 t0;

    if (!have_tools()) {
        return NULL;
    }
    t0 = g_get_monotonic_time();
    fx = tgtd_fixture_start(&err);
    if (!fx && g_error_matches(err, TGTD_FIXTURE_ERROR,
                               TGTD_FIXTURE_ERROR_UNAVAILABLE)) {
        g_test_skip(err->message);
        return NULL;
    }
    g_assert_no_error(err);
    g_assert_nonnull(fx);
    g_test_message("tgtd pid %d on %s, control port %d, started in %.3f s",
                   (int)fx->pid, fx->portal, fx->control_port,
                   (g_get_monotonic_time() - t0) / 1e6);
    return fx;
}

static char *url_with(TgtdFixture *fx, TgtdTargetId t, int lun,
                      const char *user, const char *secret)
{
    return g_strdup_printf("iscsi://%s%%%s@%s/%s/%d", user, secret,
                           fx->portal, fx->target[t].name, lun);
}

/* LUN size in bytes via iscsi-readcapacity16 -s, -1 if that failed. */
static gint64 lun_size(const char *url, const char *initiator)
{
    Run r;
    gint64 size = -1;

    if (initiator) {
        r = run_tool(TOOL_TIMEOUT, "iscsi-readcapacity16", "-s",
                     "-i", initiator, url, NULL);
    } else {
        r = run_tool(TOOL_TIMEOUT, "iscsi-readcapacity16", "-s", url, NULL);
    }
    if (r.status == 0) {
        size = g_ascii_strtoll(r.out, NULL, 10);
    } else {
        g_test_message("stderr: %s", r.err);
    }
    run_free(&r);
    return size;
}

/* Is there a line "Target:<name> Portal:<portal>,1" in @out? */
static bool lists_target(TgtdFixture *fx, const char *out, TgtdTargetId t)
{
    g_autofree char *line = g_strdup_printf("Target:%s Portal:%s,1\n",
                                            fx->target[t].name, fx->portal);

    return strstr(out, line) != NULL;
}

static bool pid_alive(GPid pid)
{
    return kill(pid, 0) == 0;
}

static bool port_refuses(int port)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    int s = socket(AF_INET, SOCK_STREAM, 0);
    bool refused;

    g_assert_cmpint(s, >=, 0);
    refused = connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
              errno == ECONNREFUSED;
    close(s);
    return refused;
}

static void perf_child_setup(gpointer opaque)
{
    (void)opaque;
    /* Dies with the test, even if the test aborts. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/*
 * iscsi-perf keeping a session busy (8 reads in flight) on @url, and
 * logging in again when it loses it (up to 1000 times; without -x it
 * gives up).  It ignores SIGTERM while reconnecting: end it with
 * stop_perf().
 */
static GPid start_perf(const char *url)
{
    const char *argv[] = {
        "iscsi-perf", "-m", "8", "-x", "1000", url, NULL,
    };
    g_autoptr(GError) err = NULL;
    GPid pid;

    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
                                G_SPAWN_SEARCH_PATH |
                                G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL |
                                G_SPAWN_STDERR_TO_DEV_NULL,
                                perf_child_setup, NULL, &pid, &err));
    g_assert_no_error(err);
    return pid;
}

static void stop_perf(GPid pid)
{
    int status;

    kill(pid, SIGKILL);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
}

/*
 * Wait up to 5 s for tgtd to show a session (I_T nexus) on target @t.
 * "--op show --mode target" lists them per target; with --tid it would
 * show the target's parameters instead.
 */
static bool wait_for_session(TgtdFixture *fx, TgtdTargetId t)
{
    g_autofree char *header = g_strdup_printf("Target %d: %s\n",
                                              fx->target[t].tid,
                                              fx->target[t].name);
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    do {
        g_autofree char *out = NULL;
        g_autoptr(GError) err = NULL;
        const char *sect, *next;

        if (!tgtd_fixture_tgtadm(fx, &out, &err, "--op", "show",
                                 "--mode", "target", NULL)) {
            g_test_message("tgtadm: %s", err->message);
            return false;
        }
        sect = strstr(out, header);
        g_assert_nonnull(sect);
        next = strstr(sect + 1, "\nTarget ");
        if (!next) {
            next = sect + strlen(sect);
        }
        if (g_strstr_len(sect, next - sect, "I_T nexus: ")) {
            return true;
        }
        g_usleep(50 * 1000);
    } while (g_get_monotonic_time() < deadline);
    return false;
}

/* Names, accounts and files the fixture hands out. */
static void test_layout(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *portal = NULL;
    g_autofree char *url = NULL;
    g_autofree char *want = NULL;
    int t, lun;

    if (!fx) {
        return;
    }
    portal = g_strdup_printf("127.0.0.1:%d", fx->port);
    g_assert_cmpstr(fx->portal, ==, portal);
    g_assert_cmpint(fx->port, >, 0);
    g_assert_cmpint(fx->control_port, >, 0);
    g_assert_cmpint(fx->control_port, <, 32768);
    g_assert_true(pid_alive(fx->pid));
    g_assert_true(tgtd_fixture_is_running(fx));
    g_assert_cmpuint(strlen(fx->chap_secret), ==, 12);

    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        TgtdFixtureTarget *tg = &fx->target[t];

        g_assert_cmpint(tg->tid, ==, t + 1);
        g_assert_true(g_str_has_prefix(tg->name, fx->iqn_prefix));
        g_assert_cmpint(tg->nluns, ==, t == TGTD_TARGET_MULTI ? 3 : 1);
        g_assert_cmpuint(tg->lun_size, ==,
                         (t == TGTD_TARGET_MULTI ? 16 : 64) << 20);
        for (lun = 0; lun < TGTD_FIXTURE_MAX_LUNS; lun++) {
            struct stat st;

            if (lun >= tg->nluns) {
                g_assert_null(tg->backing[lun]);
                continue;
            }
            g_assert_true(g_str_has_prefix(tg->backing[lun], fx->dir));
            g_assert_cmpint(stat(tg->backing[lun], &st), ==, 0);
            g_assert_cmpuint(st.st_size, ==, tg->lun_size);
        }
    }
    url = tgtd_fixture_url(fx, TGTD_TARGET_MULTI, 2);
    want = g_strdup_printf("iscsi://%s/%s:multi/2", fx->portal,
                           fx->iqn_prefix);
    g_assert_cmpstr(url, ==, want);
    tgtd_fixture_free(fx);
}

/* SendTargets: all five for the allowed initiator, acl hidden otherwise */
static void test_discovery(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *portal_url = NULL;
    g_auto(GStrv) lines = NULL;
    Run r;
    int t;

    if (!fx) {
        return;
    }
    portal_url = g_strdup_printf("iscsi://%s", fx->portal);

    r = run_tool(TOOL_TIMEOUT, "iscsi-ls", "-i", fx->acl_initiator,
                 portal_url, NULL);
    g_assert_cmpint(r.status, ==, 0);
    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        g_assert_true(lists_target(fx, r.out, t));
    }
    lines = g_strsplit(r.out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, TGTD_TARGET__MAX + 1);
    run_free(&r);

    r = run_tool(TOOL_TIMEOUT, "iscsi-ls", portal_url, NULL);
    g_assert_cmpint(r.status, ==, 0);
    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        g_assert_true(lists_target(fx, r.out, t) == (t != TGTD_TARGET_ACL));
    }
    run_free(&r);
    tgtd_fixture_free(fx);
}

static void test_plain(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *url = NULL;
    g_autofree char *bad = NULL;
    Run r;

    if (!fx) {
        return;
    }
    url = tgtd_fixture_url(fx, TGTD_TARGET_PLAIN, 1);
    g_assert_cmpint(lun_size(url, NULL), ==, 64 << 20);

    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", url, NULL);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "Peripheral Device Type:DIRECT_ACCESS"));
    run_free(&r);

    /* Unknown target name: login status 0x0203 (515). */
    bad = g_strdup_printf("iscsi://%s/%s:nosuch/1", fx->portal,
                          fx->iqn_prefix);
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", bad, NULL);
    g_assert_cmpint(r.status, !=, 0);
    g_assert_nonnull(strstr(r.err, "(515)"));
    run_free(&r);
    tgtd_fixture_free(fx);
}

static void test_chap(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *none = NULL;
    g_autofree char *good = NULL;
    g_autofree char *wrong = NULL;
    g_autofree char *wrong_user = NULL;
    Run r;

    if (!fx) {
        return;
    }
    none = tgtd_fixture_url(fx, TGTD_TARGET_CHAP, 1);
    good = url_with(fx, TGTD_TARGET_CHAP, 1, fx->chap_user,
                    fx->chap_secret);
    wrong = url_with(fx, TGTD_TARGET_CHAP, 1, fx->chap_user,
                     "wrongsecret1");
    wrong_user = url_with(fx, TGTD_TARGET_CHAP, 1, fx->mutual_user,
                          fx->mutual_secret);

    g_assert_cmpint(lun_size(good, NULL), ==, 64 << 20);

    /* No credentials, wrong secret, other account: 0x0201 (513). */
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", none, NULL);
    g_assert_cmpint(r.status, !=, 0);
    g_assert_nonnull(strstr(r.err, "Authentication failure(513)"));
    run_free(&r);
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", wrong, NULL);
    g_assert_cmpint(r.status, !=, 0);
    g_assert_nonnull(strstr(r.err, "Authentication failure(513)"));
    run_free(&r);
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", wrong_user, NULL);
    g_assert_cmpint(r.status, !=, 0);
    g_assert_nonnull(strstr(r.err, "Authentication failure(513)"));
    run_free(&r);

    /* The plain target asks for no CHAP. */
    g_free(none);
    none = tgtd_fixture_url(fx, TGTD_TARGET_PLAIN, 1);
    g_assert_cmpint(lun_size(none, NULL), ==, 64 << 20);
    tgtd_fixture_free(fx);
}

static void test_mutual_chap(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *base = NULL;
    g_autofree char *good = NULL;
    g_autofree char *bad_target = NULL;
    Run r;

    if (!fx) {
        return;
    }
    base = url_with(fx, TGTD_TARGET_MUTUAL, 1, fx->mutual_user,
                    fx->mutual_secret);
    good = g_strdup_printf("%s?target_user=%s&target_password=%s", base,
                           fx->mutual_target_user,
                           fx->mutual_target_secret);
    bad_target = g_strdup_printf("%s?target_user=%s&target_password=%s",
                                 base, fx->mutual_target_user,
                                 "wrongsecret11");

    g_assert_cmpint(lun_size(good, NULL), ==, 64 << 20);

    /* The target proves the wrong secret: the initiator gives up. */
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", bad_target, NULL);
    g_assert_cmpint(r.status, !=, 0);
    g_assert_nonnull(strstr(r.err, "Invalid CHAP_R response"));
    run_free(&r);

    /* Without the initiator's own credentials: 0x0201. */
    g_free(base);
    base = tgtd_fixture_url(fx, TGTD_TARGET_MUTUAL, 1);
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", base, NULL);
    g_assert_cmpint(r.status, !=, 0);
    g_assert_nonnull(strstr(r.err, "Authentication failure(513)"));
    run_free(&r);
    tgtd_fixture_free(fx);
}

static void test_acl(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *url = NULL;
    Run r;

    if (!fx) {
        return;
    }
    url = tgtd_fixture_url(fx, TGTD_TARGET_ACL, 1);

    /* libiscsi's default initiator name is not on the list: 0x0203. */
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", url, NULL);
    g_assert_cmpint(r.status, !=, 0);
    g_assert_nonnull(strstr(r.err, "Target not found(515)"));
    run_free(&r);
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", "-i",
                 "iqn.2026-11.org.qemu.test:other", url, NULL);
    g_assert_cmpint(r.status, !=, 0);
    g_assert_nonnull(strstr(r.err, "Target not found(515)"));
    run_free(&r);

    g_assert_cmpint(lun_size(url, fx->acl_initiator), ==, 64 << 20);
    tgtd_fixture_free(fx);
}

static void test_multi_lun(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *portal_url = NULL;
    g_autofree char *header = NULL;
    const char *sect, *end;
    Run r;
    int lun;

    if (!fx) {
        return;
    }
    for (lun = 1; lun <= 3; lun++) {
        g_autofree char *url = tgtd_fixture_url(fx, TGTD_TARGET_MULTI, lun);

        g_assert_cmpint(lun_size(url, NULL), ==, 16 << 20);
    }
    {
        g_autofree char *url = tgtd_fixture_url(fx, TGTD_TARGET_MULTI, 4);

        g_assert_cmpint(lun_size(url, NULL), ==, -1);
    }

    /*
     * iscsi-ls -s logs in to every target it discovers and stops at the
     * first that refuses it (chap, mutual); tgtd reports the newest
     * target first, so multi's LUN list comes out before that.
     */
    portal_url = g_strdup_printf("iscsi://%s", fx->portal);
    r = run_tool(TOOL_TIMEOUT, "iscsi-ls", "-s", portal_url, NULL);
    header = g_strdup_printf("Target:%s ",
                             fx->target[TGTD_TARGET_MULTI].name);
    sect = strstr(r.out, header);
    g_assert_nonnull(sect);
    end = strstr(sect + 1, "Target:");
    if (!end) {
        end = sect + strlen(sect);
    }
    for (lun = 0; lun <= 4; lun++) {
        g_autofree char *want = g_strdup_printf("\nLun:%d ", lun);
        const char *hit = g_strstr_len(sect, end - sect, want);

        g_assert_true((hit != NULL) == (lun <= 3));
        if (hit && lun) {
            g_assert_true(g_str_has_prefix(hit + strlen(want),
                                           "   Type:DIRECT_ACCESS"));
        }
    }
    run_free(&r);
    tgtd_fixture_free(fx);
}

static void test_kill_restart(void)
{
    TgtdFixture *fx = start_or_skip();
    static const char marker[] = "tgtd-fixture data marker";
    g_autoptr(GError) err = NULL;
    g_autofree char *url = NULL;
    g_autofree char *chap = NULL;
    g_autofree char *backing = NULL;
    g_autofree char *data = NULL;
    g_autofree char *log = NULL;
    struct stat before, after;
    GPid old_pid, perf;
    int old_port, old_ctl, fd;
    gsize len;
    gint64 t0;
    Run r;

    if (!fx) {
        return;
    }
    url = tgtd_fixture_url(fx, TGTD_TARGET_PLAIN, 1);
    chap = url_with(fx, TGTD_TARGET_CHAP, 1, fx->chap_user,
                    fx->chap_secret);
    backing = g_strdup(fx->target[TGTD_TARGET_PLAIN].backing[0]);
    old_pid = fx->pid;
    old_port = fx->port;
    old_ctl = fx->control_port;

    /*
     * The marker goes straight into the file: this checks that restart
     * reuses the file rather than making a new one, not tgtd's I/O.
     */
    fd = open(backing, O_WRONLY);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, marker, sizeof(marker), 0), ==,
                    sizeof(marker));
    close(fd);
    g_assert_cmpint(stat(backing, &before), ==, 0);

    /* A busy session is up while tgtd dies. */
    perf = start_perf(url);
    g_assert_true(wait_for_session(fx, TGTD_TARGET_PLAIN));

    g_assert_true(tgtd_fixture_kill(fx));
    g_assert_cmpint(fx->pid, ==, 0);
    g_assert_false(tgtd_fixture_is_running(fx));
    g_assert_false(pid_alive(old_pid));
    g_assert_true(port_refuses(fx->port));
    g_assert_false(tgtd_fixture_kill(fx));
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", url, NULL);
    /* libiscsi hides the "Connection refused" behind a later error. */
    g_assert_cmpint(r.status, !=, 0);
    g_assert_cmpstr(r.out, ==, "");
    run_free(&r);

    t0 = g_get_monotonic_time();
    g_assert_true(tgtd_fixture_restart(fx, &err));
    g_assert_no_error(err);
    g_test_message("restart took %.3f s",
                   (g_get_monotonic_time() - t0) / 1e6);
    g_assert_cmpint(fx->pid, !=, 0);
    g_assert_cmpint(fx->pid, !=, old_pid);
    /* The initiator that lost its session logs in again. */
    g_assert_true(wait_for_session(fx, TGTD_TARGET_PLAIN));
    stop_perf(perf);
    g_assert_cmpint(fx->port, ==, old_port);
    g_assert_cmpint(fx->control_port, ==, old_ctl);
    g_assert_cmpstr(fx->target[TGTD_TARGET_PLAIN].backing[0], ==, backing);

    g_assert_cmpint(stat(backing, &after), ==, 0);
    g_assert_cmpuint(after.st_ino, ==, before.st_ino);
    g_assert_cmpuint(after.st_size, ==, 64 << 20);
    g_assert_true(g_file_get_contents(backing, &data, &len, NULL));
    g_assert_cmpuint(len, ==, 64 << 20);
    g_assert_cmpstr(data, ==, marker);

    /* Targets, accounts and ACLs are back. */
    g_assert_cmpint(lun_size(url, NULL), ==, 64 << 20);
    g_assert_cmpint(lun_size(chap, NULL), ==, 64 << 20);
    g_free(url);
    url = tgtd_fixture_url(fx, TGTD_TARGET_ACL, 1);
    g_assert_cmpint(lun_size(url, NULL), ==, -1);
    g_assert_cmpint(lun_size(url, fx->acl_initiator), ==, 64 << 20);

    /* Restart of a running tgtd kills it first. */
    old_pid = fx->pid;
    g_assert_true(tgtd_fixture_restart(fx, &err));
    g_assert_no_error(err);
    g_assert_false(pid_alive(old_pid));
    g_assert_cmpint(lun_size(url, fx->acl_initiator), ==, 64 << 20);

    log = tgtd_fixture_log(fx);
    g_assert_nonnull(strstr(log, "killed with SIGKILL"));
    tgtd_fixture_free(fx);
}

static void test_freeze_thaw(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *url = NULL;
    Run r;

    if (!fx) {
        return;
    }
    url = tgtd_fixture_url(fx, TGTD_TARGET_PLAIN, 1);

    tgtd_fixture_freeze(fx);
    g_assert_true(tgtd_fixture_is_running(fx));
    /* The kernel still accepts the connection; the login is unanswered */
    r = run_tool("3", "iscsi-inq", url, NULL);
    g_assert_cmpint(r.status, ==, TIMED_OUT);
    g_assert_cmpstr(r.out, ==, "");
    run_free(&r);

    tgtd_fixture_thaw(fx);
    r = run_tool(TOOL_TIMEOUT, "iscsi-inq", url, NULL);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "DIRECT_ACCESS"));
    run_free(&r);

    /* Stopping a frozen tgtd works as well. */
    tgtd_fixture_freeze(fx);
    tgtd_fixture_free(fx);
}

/* Two fixtures at once: own ports, own targets. */
static void test_two_instances(void)
{
    TgtdFixture *a = start_or_skip();
    TgtdFixture *b;
    g_autoptr(GError) err = NULL;
    g_autofree char *url_a = NULL;
    g_autofree char *url_b = NULL;
    int port_a;

    if (!a) {
        return;
    }
    b = tgtd_fixture_start(&err);
    g_assert_no_error(err);
    g_assert_cmpint(a->port, !=, b->port);
    g_assert_cmpint(a->control_port, !=, b->control_port);
    g_assert_cmpstr(a->dir, !=, b->dir);
    url_a = tgtd_fixture_url(a, TGTD_TARGET_MULTI, 3);
    url_b = tgtd_fixture_url(b, TGTD_TARGET_MULTI, 3);
    g_assert_cmpint(lun_size(url_a, NULL), ==, 16 << 20);
    g_assert_cmpint(lun_size(url_b, NULL), ==, 16 << 20);

    port_a = a->port;
    tgtd_fixture_free(a);
    g_assert_true(port_refuses(port_a));
    g_assert_false(port_refuses(b->port));
    g_assert_cmpint(lun_size(url_b, NULL), ==, 16 << 20);
    tgtd_fixture_free(b);
}

/* Stop with an initiator busy on it: bounded, nothing left behind. */
static void test_stop(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autoptr(GError) err = NULL;
    g_autofree char *url = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *sock = NULL;
    g_autofree char *log = NULL;
    char *backing[TGTD_TARGET__MAX * TGTD_FIXTURE_MAX_LUNS] = { NULL };
    size_t nb = 0, i;
    GPid pid, perf;
    int port, t, lun;
    gint64 t0;
    double secs;

    if (!fx) {
        return;
    }
    pid = fx->pid;
    port = fx->port;
    dir = g_strdup(fx->dir);
    sock = g_strdup_printf("/var/run/tgtd/socket.%d", fx->control_port);
    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        for (lun = 0; lun < fx->target[t].nluns; lun++) {
            backing[nb++] = g_strdup(fx->target[t].backing[lun]);
        }
    }
    g_assert_cmpuint(nb, ==, 7);
    g_assert_true(g_file_test(sock, G_FILE_TEST_EXISTS));
    log = tgtd_fixture_log(fx);
    g_assert_nonnull(log);
    g_assert_nonnull(strstr(log, "starting on"));

    url = tgtd_fixture_url(fx, TGTD_TARGET_PLAIN, 1);
    perf = start_perf(url);
    g_assert_true(wait_for_session(fx, TGTD_TARGET_PLAIN));
    g_usleep(300 * 1000);

    t0 = g_get_monotonic_time();
    tgtd_fixture_stop(fx);
    secs = (g_get_monotonic_time() - t0) / 1e6;
    g_test_message("stop with a busy session took %.3f s", secs);
    g_assert_cmpfloat(secs, <, 10);

    g_assert_cmpint(fx->pid, ==, 0);
    g_assert_false(pid_alive(pid));
    g_assert_false(tgtd_fixture_is_running(fx));
    g_assert_true(port_refuses(port));
    for (i = 0; i < nb; i++) {
        g_assert_false(g_file_test(backing[i], G_FILE_TEST_EXISTS));
        g_free(backing[i]);
    }
    g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
    g_assert_null(tgtd_fixture_log(fx));

    /* Twice is harmless; so are kill, freeze and restart afterwards. */
    tgtd_fixture_stop(fx);
    g_assert_false(tgtd_fixture_kill(fx));
    tgtd_fixture_freeze(fx);
    tgtd_fixture_thaw(fx);
    g_assert_false(tgtd_fixture_restart(fx, &err));
    g_assert_error(err, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED);
    tgtd_fixture_free(fx);

    stop_perf(perf);
}

/* Stop of an idle fixture, timed. */
static void test_stop_idle(void)
{
    TgtdFixture *fx = start_or_skip();
    GPid pid;
    gint64 t0;
    double secs;

    if (!fx) {
        return;
    }
    pid = fx->pid;
    t0 = g_get_monotonic_time();
    tgtd_fixture_stop(fx);
    secs = (g_get_monotonic_time() - t0) / 1e6;
    g_test_message("idle stop took %.3f s", secs);
    g_assert_false(pid_alive(pid));
    g_assert_cmpfloat(secs, <, 2);
    tgtd_fixture_free(fx);
}

/* tgtd no longer reachable through tgtadm: stop kills it. */
static void test_stop_unreachable(void)
{
    TgtdFixture *fx = start_or_skip();
    g_autofree char *sock = NULL;
    GPid pid;
    gint64 t0;
    double secs;

    if (!fx) {
        return;
    }
    pid = fx->pid;
    sock = g_strdup_printf("/var/run/tgtd/socket.%d", fx->control_port);
    g_assert_cmpint(unlink(sock), ==, 0);
    g_assert_false(tgtd_fixture_tgtadm(fx, NULL, NULL, "--op", "show",
                                       "--mode", "system", NULL));

    t0 = g_get_monotonic_time();
    tgtd_fixture_stop(fx);
    secs = (g_get_monotonic_time() - t0) / 1e6;
    g_test_message("stop of an unreachable tgtd took %.3f s", secs);
    g_assert_false(pid_alive(pid));
    g_assert_cmpfloat(secs, <, 2);
    tgtd_fixture_free(fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tgtd-fixture/layout", test_layout);
    g_test_add_func("/tgtd-fixture/discovery", test_discovery);
    g_test_add_func("/tgtd-fixture/plain", test_plain);
    g_test_add_func("/tgtd-fixture/chap", test_chap);
    g_test_add_func("/tgtd-fixture/mutual-chap", test_mutual_chap);
    g_test_add_func("/tgtd-fixture/acl", test_acl);
    g_test_add_func("/tgtd-fixture/multi-lun", test_multi_lun);
    g_test_add_func("/tgtd-fixture/kill-restart", test_kill_restart);
    g_test_add_func("/tgtd-fixture/freeze-thaw", test_freeze_thaw);
    g_test_add_func("/tgtd-fixture/two-instances", test_two_instances);
    g_test_add_func("/tgtd-fixture/stop-busy", test_stop);
    g_test_add_func("/tgtd-fixture/stop-idle", test_stop_idle);
    g_test_add_func("/tgtd-fixture/stop-unreachable",
                    test_stop_unreachable);
    return g_test_run();
}
