/*
 * Test fixture: a real tgtd (Linux SCSI target daemon) on 127.0.0.1
 *
 * Only libc and GLib: this file is compiled both in QEMU's qtests and in
 * the iscsi-hba project's own meson build (where a stand-in provides
 * "qemu/osdep.h").
 *
 * tgtd 1.0.85 behaviour this code relies on (measured):
 * - SIGTERM does not stop tgtd, with or without targets and sessions;
 *   "tgtadm --op delete --mode system" does, once no target is left.
 * - "--op delete --force --mode target" fails with "this logical unit is
 *   still active" while commands are in flight, and an initiator that
 *   loses its session logs straight back in (for up to 1.4 s of retries
 *   under iscsi-perf).  Setting the target's state to offline first
 *   turns new logins away; then the delete goes through at once.
 * - A control port (-C) already in use makes tgtd exit at once.
 * - A portal it cannot bind does NOT make tgtd exit: it logs the failure
 *   and listens on 0.0.0.0:3260 and [::]:3260 instead.  So readiness is
 *   "tgtadm --op show --mode portal lists exactly our portal".
 * - tgtd sets SO_REUSEADDR: it binds the same port again at once after
 *   a SIGKILL, TIME_WAIT connections notwithstanding.
 * - The control port is a short in tgtd: keep it below 32768.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef CONFIG_LINUX
#include <sys/prctl.h>
#endif
#include <glib-unix.h>

#include "tgtd-fixture.h"

#define TGTD_IPC_PATH           "/var/run/tgtd/socket"
#define TGTD_LISTEN_HOST        "127.0.0.1"

#define TGTADM_TIMEOUT_MS       5000    /* any one tgtadm command */
#define TGTADM_PROBE_MS         1000    /* tgtadm while tgtd starts */
#define READY_TIMEOUT_MS        5000    /* tgtd answering tgtadm */
#define START_ATTEMPTS          5       /* fresh port and control port */
#define RESTART_TIMEOUT_MS      5000    /* rebinding the same port */
#define SHUTDOWN_BUDGET_MS      3000    /* deleting targets and system */
#define EXIT_TIMEOUT_MS         2000    /* tgtd exiting after that */
#define TERM_TIMEOUT_MS         300     /* ... after SIGTERM */
#define KILL_TIMEOUT_MS         5000    /* ... after SIGKILL */
#define POLL_INTERVAL_US        10000

#define FX_MIB                  (1024 * 1024ULL)

static const struct {
    const char *suffix;
    int nluns;
    uint64_t lun_size;
} target_spec[TGTD_TARGET__MAX] = {
    [TGTD_TARGET_PLAIN]  = { "plain",  1, 64 * FX_MIB },
    [TGTD_TARGET_CHAP]   = { "chap",   1, 64 * FX_MIB },
    [TGTD_TARGET_MUTUAL] = { "mutual", 1, 64 * FX_MIB },
    [TGTD_TARGET_ACL]    = { "acl",    1, 64 * FX_MIB },
    [TGTD_TARGET_MULTI]  = { "multi",  3, 16 * FX_MIB },
};

static unsigned fixture_counter;

GQuark tgtd_fixture_error_quark(void)
{
    return g_quark_from_static_string("tgtd-fixture-error-quark");
}

static gint64 deadline_in(int ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

static bool past(gint64 deadline)
{
    return g_get_monotonic_time() >= deadline;
}

/*
 * Reap @pid if it exits within @timeout_ms (0: just look).  True once it
 * is gone, also when someone else reaped it (ECHILD).
 */
static bool reap_within(GPid pid, int timeout_ms, int *wstatus)
{
    gint64 deadline = deadline_in(timeout_ms);
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid) {
            if (wstatus) {
                *wstatus = st;
            }
            return true;
        }
        if (r < 0 && errno != EINTR) {
            return true;
        }
        if (past(deadline)) {
            return false;
        }
        g_usleep(POLL_INTERVAL_US / 2);
    }
}

/*
 * SIGKILL a child of ours and reap it.  No SIGCONT first: a frozen tgtd
 * must die without answering what it has queued (SIGKILL ends a stopped
 * process all the same).
 */
static bool kill_and_reap(GPid pid)
{
    kill(pid, SIGKILL);
    return reap_within(pid, KILL_TIMEOUT_MS, NULL);
}

static char *find_tool(const char *name)
{
    static const char *const dirs[] = {
        "/usr/sbin", "/sbin", "/usr/local/sbin",
    };
    char *path = g_find_program_in_path(name);
    size_t i;

    for (i = 0; !path && i < G_N_ELEMENTS(dirs); i++) {
        path = g_build_filename(dirs[i], name, NULL);
        if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE)) {
            g_free(path);
            path = NULL;
        }
    }
    return path;
}

/*
 * Run @argv with stdin from /dev/null and stdout plus stderr captured in
 * *@output (if not NULL), for at most @timeout_ms, after which the child
 * is killed.  Returns true if it exited with status 0.
 */
static bool run_bounded(char **argv, int timeout_ms, char **output,
                        GError **errp)
{
    g_autoptr(GString) out = g_string_new("");
    gint64 deadline = deadline_in(timeout_ms);
    GPid pid;
    int pfd[2];
    int devnull;
    int wstatus = 0;
    bool exited = false;
    bool ok;

    if (output) {
        *output = NULL;
    }
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "/dev/null: %s", g_strerror(errno));
        return false;
    }
    if (!g_unix_open_pipe(pfd, FD_CLOEXEC, errp)) {
        close(devnull);
        return false;
    }
    ok = g_spawn_async_with_fds(NULL, argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &pid, devnull, pfd[1], pfd[1], errp);
    close(devnull);
    close(pfd[1]);
    if (!ok) {
        close(pfd[0]);
        return false;
    }
    g_unix_set_fd_nonblocking(pfd[0], TRUE, NULL);

    /* Collect output until EOF, then the exit status. */
    while (!past(deadline)) {
        struct pollfd p = { .fd = pfd[0], .events = POLLIN };
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        char buf[4096];
        ssize_t n;

        if (poll(&p, 1, MAX(MIN(left, 100), 1)) < 0 && errno != EINTR) {
            break;
        }
        n = read(pfd[0], buf, sizeof(buf));
        if (n > 0) {
            g_string_append_len(out, buf, n);
        } else if (n == 0) {
            break;
        } else if (errno != EAGAIN && errno != EINTR) {
            break;
        }
    }
    close(pfd[0]);
    if (!past(deadline)) {
        exited = reap_within(pid, (deadline - g_get_monotonic_time()) / 1000,
                             &wstatus);
    }
    if (!exited) {
        kill_and_reap(pid);
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "%s did not finish within %d ms", argv[0], timeout_ms);
        return false;
    }
    if (output) {
        *output = g_strdup(out->str);
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        g_autofree char *cmd = g_strjoinv(" ", argv);

        g_strchomp(out->str);
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "'%s' failed (wait status 0x%x): %s", cmd, wstatus,
                    out->str);
        return false;
    }
    return true;
}

/* tgtadm -C <ctl> --lld iscsi <args...> */
static bool tgtadm_argv(TgtdFixture *fx, int timeout_ms, char **output,
                        GError **errp, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    size_t i;

    g_ptr_array_add(argv, g_strdup(fx->tgtadm_path));
    g_ptr_array_add(argv, g_strdup("-C"));
    g_ptr_array_add(argv, g_strdup_printf("%d", fx->control_port));
    g_ptr_array_add(argv, g_strdup("--lld"));
    g_ptr_array_add(argv, g_strdup("iscsi"));
    for (i = 0; args[i]; i++) {
        g_ptr_array_add(argv, g_strdup(args[i]));
    }
    g_ptr_array_add(argv, NULL);
    return run_bounded((char **)argv->pdata, timeout_ms, output, errp);
}

static bool tgtadm_valist(TgtdFixture *fx, char **output, GError **errp,
                          va_list ap)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    const char *a;

    while ((a = va_arg(ap, const char *))) {
        g_ptr_array_add(args, (gpointer)a);
    }
    g_ptr_array_add(args, NULL);
    return tgtadm_argv(fx, TGTADM_TIMEOUT_MS, output, errp,
                       (const char *const *)args->pdata);
}

static bool G_GNUC_NULL_TERMINATED tgtadm(TgtdFixture *fx, GError **errp,
                                          ...)
{
    va_list ap;
    bool ok;

    va_start(ap, errp);
    ok = tgtadm_valist(fx, NULL, errp, ap);
    va_end(ap);
    return ok;
}

bool tgtd_fixture_tgtadm(TgtdFixture *fx, char **output, GError **errp,
                         ...)
{
    va_list ap;
    bool ok;

    va_start(ap, errp);
    ok = tgtadm_valist(fx, output, errp, ap);
    va_end(ap);
    return ok;
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static int pick_port(GError **errp)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = 0,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    socklen_t len = sizeof(sa);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    if (s < 0) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "socket: %s", g_strerror(errno));
        return -1;
    }
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(s, (struct sockaddr *)&sa, &len) < 0) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "binding 127.0.0.1:0: %s", g_strerror(errno));
    } else {
        port = ntohs(sa.sin_port);
    }
    close(s);
    return port;
}

/*
 * A control port derived from our pid and a counter, in 10000..31999,
 * that no live tgtd answers on.  A tgtd that grabs it in the meantime
 * makes ours exit at start, and start_tgtd() notices.
 */
static int pick_control_port(TgtdFixture *fx, GError **errp)
{
    static const char *const show[] = {
        "--op", "show", "--mode", "system", NULL,
    };
    int tries;

    for (tries = 0; tries < 50; tries++) {
        unsigned n = fixture_counter++;

        fx->control_port = 10000 + (getpid() % 2200) * 10 + n % 10;
        if (tries >= 10) {
            /* Our ten are all taken: wander off. */
            fx->control_port = 10000 + g_random_int_range(0, 22000);
        }
        if (!tgtadm_argv(fx, TGTADM_PROBE_MS, NULL, NULL, show)) {
            return fx->control_port;
        }
    }
    g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                "no free tgtd control port found");
    return -1;
}

void tgtd_fixture_child_setup(gpointer opaque)
{
    pid_t parent = GPOINTER_TO_INT(opaque);
    sigset_t none;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
#ifdef CONFIG_LINUX
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(127);
    }
#else
    (void)parent;
#endif
}

static void log_note(TgtdFixture *fx, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void log_note(TgtdFixture *fx, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    FILE *f;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    f = fopen(fx->log_path, "a");
    if (f) {
        fprintf(f, "=== tgtd-fixture: %s ===\n", msg);
        fclose(f);
    }
}

/* true if every portal tgtadm lists is ours (and there is one). */
static bool portals_are_ours(TgtdFixture *fx, const char *show)
{
    g_autofree char *want = g_strdup_printf("Portal: %s,", fx->portal);
    g_auto(GStrv) lines = g_strsplit(show, "\n", -1);
    bool found = false;
    size_t i;

    for (i = 0; lines[i]; i++) {
        g_strstrip(lines[i]);
        if (!g_str_has_prefix(lines[i], "Portal:")) {
            continue;
        }
        if (!g_str_has_prefix(lines[i], want)) {
            return false;
        }
        found = true;
    }
    return found;
}

typedef enum {
    SPAWN_OK,
    SPAWN_RETRY,        /* port or control port taken: try others */
    SPAWN_FATAL,
} SpawnResult;

/* Run tgtd on fx->port and fx->control_port, wait until it answers. */
static SpawnResult spawn_tgtd(TgtdFixture *fx, GError **errp)
{
    static const char *const show[] = {
        "--op", "show", "--mode", "portal", NULL,
    };
    g_autofree char *ctl = g_strdup_printf("%d", fx->control_port);
    g_autofree char *portal = g_strdup_printf("portal=%s", fx->portal);
    char *argv[] = {
        fx->tgtd_path, (char *)"-f", (char *)"-C", ctl,
        (char *)"--iscsi", portal, NULL,
    };
    gint64 deadline;
    int logfd, devnull;
    GPid pid;
    bool ok;

    log_note(fx, "starting on %s, control port %d", fx->portal,
             fx->control_port);
    logfd = open(fx->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                 0644);
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || devnull < 0) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "opening %s: %s", fx->log_path, g_strerror(errno));
        if (logfd >= 0) {
            close(logfd);
        }
        if (devnull >= 0) {
            close(devnull);
        }
        return SPAWN_FATAL;
    }
    ok = g_spawn_async_with_fds(NULL, argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD,
                                tgtd_fixture_child_setup,
                                GINT_TO_POINTER(getpid()),
                                &pid, devnull, logfd, logfd, errp);
    close(logfd);
    close(devnull);
    if (!ok) {
        return SPAWN_FATAL;
    }

    deadline = deadline_in(READY_TIMEOUT_MS);
    for (;;) {
        g_autofree char *out = NULL;

        if (reap_within(pid, 0, NULL)) {
            log_note(fx, "tgtd exited during start");
            return SPAWN_RETRY;
        }
        if (tgtadm_argv(fx, TGTADM_PROBE_MS, &out, NULL, show)) {
            if (portals_are_ours(fx, out)) {
                fx->pid = pid;
                fx->frozen = false;
                return SPAWN_OK;
            }
            /*
             * Either our tgtd could not bind the portal (it then listens
             * on *:3260!) or another tgtd answered on this control port.
             */
            log_note(fx, "portal %s not bound", fx->portal);
            kill_and_reap(pid);
            return SPAWN_RETRY;
        }
        if (past(deadline)) {
            kill_and_reap(pid);
            g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                        "tgtd did not answer tgtadm within %d ms",
                        READY_TIMEOUT_MS);
            return SPAWN_FATAL;
        }
        g_usleep(POLL_INTERVAL_US);
    }
}

static bool setup_targets(TgtdFixture *fx, GError **errp)
{
    int t, lun;

    if (!tgtadm(fx, errp, "--op", "new", "--mode", "account",
                "--user", fx->chap_user, "--password", fx->chap_secret,
                NULL) ||
        !tgtadm(fx, errp, "--op", "new", "--mode", "account",
                "--user", fx->mutual_user, "--password", fx->mutual_secret,
                NULL) ||
        !tgtadm(fx, errp, "--op", "new", "--mode", "account",
                "--user", fx->mutual_target_user,
                "--password", fx->mutual_target_secret, NULL)) {
        return false;
    }

    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        TgtdFixtureTarget *tg = &fx->target[t];
        g_autofree char *tid = g_strdup_printf("%d", tg->tid);

        if (!tgtadm(fx, errp, "--op", "new", "--mode", "target",
                    "--tid", tid, "--targetname", tg->name, NULL)) {
            return false;
        }
        for (lun = 1; lun <= tg->nluns; lun++) {
            g_autofree char *l = g_strdup_printf("%d", lun);

            if (!tgtadm(fx, errp, "--op", "new", "--mode", "logicalunit",
                        "--tid", tid, "--lun", l,
                        "--backing-store", tg->backing[lun - 1],
                        "--bstype", "rdwr", NULL)) {
                return false;
            }
        }
        if (t == TGTD_TARGET_ACL) {
            if (!tgtadm(fx, errp, "--op", "bind", "--mode", "target",
                        "--tid", tid, "--initiator-name",
                        fx->acl_initiator, NULL)) {
                return false;
            }
        } else if (!tgtadm(fx, errp, "--op", "bind", "--mode", "target",
                           "--tid", tid, "--initiator-address", "ALL",
                           NULL)) {
            return false;
        }
        if (t == TGTD_TARGET_CHAP &&
            !tgtadm(fx, errp, "--op", "bind", "--mode", "account",
                    "--tid", tid, "--user", fx->chap_user, NULL)) {
            return false;
        }
        if (t == TGTD_TARGET_MUTUAL &&
            (!tgtadm(fx, errp, "--op", "bind", "--mode", "account",
                     "--tid", tid, "--user", fx->mutual_user, NULL) ||
             !tgtadm(fx, errp, "--op", "bind", "--mode", "account",
                     "--tid", tid, "--user", fx->mutual_target_user,
                     "--outgoing", NULL))) {
            return false;
        }
    }
    return true;
}

static bool create_backing_files(TgtdFixture *fx, GError **errp)
{
    int t, lun;

    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        TgtdFixtureTarget *tg = &fx->target[t];

        for (lun = 1; lun <= tg->nluns; lun++) {
            g_autofree char *base = g_strdup_printf("%s-lun%d.img",
                                                    target_spec[t].suffix,
                                                    lun);
            char *path = g_build_filename(fx->dir, base, NULL);
            int fd;

            tg->backing[lun - 1] = path;
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0 || ftruncate(fd, tg->lun_size) < 0) {
                g_set_error(errp, TGTD_FIXTURE_ERROR,
                            TGTD_FIXTURE_ERROR_FAILED, "creating %s: %s",
                            path, g_strerror(errno));
                if (fd >= 0) {
                    close(fd);
                }
                return false;
            }
            close(fd);
        }
    }
    return true;
}

static void remove_files(TgtdFixture *fx)
{
    int t, lun;

    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        for (lun = 0; lun < TGTD_FIXTURE_MAX_LUNS; lun++) {
            if (fx->target[t].backing[lun]) {
                unlink(fx->target[t].backing[lun]);
            }
        }
    }
    if (fx->log_path) {
        unlink(fx->log_path);
    }
    if (fx->dir) {
        rmdir(fx->dir);
    }
}

/*
 * Remove tgtd's control socket and lock file, unless some tgtd holds the
 * lock (tgtd takes it with lockf()).
 */
static void remove_control_socket(TgtdFixture *fx)
{
    g_autofree char *sock = g_strdup_printf("%s.%d", TGTD_IPC_PATH,
                                            fx->control_port);
    g_autofree char *lock = g_strdup_printf("%s.lock", sock);
    int fd = open(lock, O_WRONLY | O_CLOEXEC);

    if (fd < 0) {
        return;
    }
    if (lockf(fd, F_TLOCK, 1) == 0) {
        unlink(sock);
        unlink(lock);
    }
    close(fd);
}

static void fixture_free_fields(TgtdFixture *fx)
{
    int t, lun;

    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        g_free(fx->target[t].name);
        for (lun = 0; lun < TGTD_FIXTURE_MAX_LUNS; lun++) {
            g_free(fx->target[t].backing[lun]);
        }
    }
    g_free(fx->portal);
    g_free(fx->dir);
    g_free(fx->log_path);
    g_free(fx->tgtd_path);
    g_free(fx->tgtadm_path);
    g_free(fx);
}

TgtdFixture *tgtd_fixture_start(GError **errp)
{
    TgtdFixture *fx;
    g_autofree char *tmpl = NULL;
    const char *shm = "/dev/shm";
    int t, attempt;

    if (geteuid() != 0) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_UNAVAILABLE,
                    "tgtd fixture needs root");
        return NULL;
    }

    fx = g_new0(TgtdFixture, 1);
    fx->host = TGTD_LISTEN_HOST;
    fx->iqn_prefix = "iqn.2026-11.org.qemu.test";
    fx->chap_user = "chapuser";
    fx->chap_secret = "chapsecret12";
    fx->mutual_user = "mutualuser";
    fx->mutual_secret = "mutualsecret1";
    fx->mutual_target_user = "targetuser";
    fx->mutual_target_secret = "targetsecret1";
    fx->acl_initiator = "iqn.2026-11.org.qemu.test:allowed";
    fx->stopped = true;         /* nothing to clean up yet */
    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        fx->target[t].tid = t + 1;
        fx->target[t].name = g_strdup_printf("%s:%s", fx->iqn_prefix,
                                             target_spec[t].suffix);
        fx->target[t].nluns = target_spec[t].nluns;
        fx->target[t].lun_size = target_spec[t].lun_size;
    }

    fx->tgtd_path = find_tool("tgtd");
    fx->tgtadm_path = find_tool("tgtadm");
    if (!fx->tgtd_path || !fx->tgtadm_path) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_UNAVAILABLE,
                    "tgtd or tgtadm not found (install the tgt package)");
        goto fail;
    }

    if (!g_file_test(shm, G_FILE_TEST_IS_DIR)) {
        shm = g_get_tmp_dir();
    }
    tmpl = g_strdup_printf("%s/tgtd-fixture-%d-XXXXXX", shm, (int)getpid());
    if (!g_mkdtemp_full(tmpl, 0700)) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "creating a directory in %s: %s", shm,
                    g_strerror(errno));
        goto fail;
    }
    fx->dir = g_strdup(tmpl);
    fx->stopped = false;
    fx->log_path = g_build_filename(fx->dir, "tgtd.log", NULL);
    if (!create_backing_files(fx, errp)) {
        goto fail;
    }

    for (attempt = 0; ; attempt++) {
        SpawnResult r;

        fx->port = pick_port(errp);
        if (fx->port < 0 || pick_control_port(fx, errp) < 0) {
            goto fail;
        }
        g_free(fx->portal);
        fx->portal = g_strdup_printf("%s:%d", fx->host, fx->port);
        r = spawn_tgtd(fx, errp);
        if (r == SPAWN_OK) {
            break;
        }
        if (r == SPAWN_FATAL) {
            goto fail;
        }
        if (attempt + 1 >= START_ATTEMPTS) {
            g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                        "tgtd did not start in %d attempts (log: %s)",
                        START_ATTEMPTS, fx->log_path);
            goto fail;
        }
    }

    if (!setup_targets(fx, errp)) {
        goto fail;
    }
    return fx;

fail:
    tgtd_fixture_free(fx);
    return NULL;
}

bool tgtd_fixture_is_running(TgtdFixture *fx)
{
    if (fx->pid && reap_within(fx->pid, 0, NULL)) {
        fx->pid = 0;
        fx->frozen = false;
    }
    return fx->pid != 0;
}

bool tgtd_fixture_kill(TgtdFixture *fx)
{
    if (!tgtd_fixture_is_running(fx)) {
        return false;
    }
    if (!kill_and_reap(fx->pid)) {
        return false;
    }
    log_note(fx, "killed with SIGKILL");
    fx->pid = 0;
    fx->frozen = false;
    return true;
}

bool tgtd_fixture_restart(TgtdFixture *fx, GError **errp)
{
    gint64 deadline = deadline_in(RESTART_TIMEOUT_MS);

    if (fx->stopped) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "tgtd fixture already stopped");
        return false;
    }
    if (tgtd_fixture_is_running(fx) && !tgtd_fixture_kill(fx)) {
        g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                    "tgtd (pid %d) does not die", (int)fx->pid);
        return false;
    }
    for (;;) {
        SpawnResult r = spawn_tgtd(fx, errp);

        if (r == SPAWN_OK) {
            break;
        }
        if (r == SPAWN_FATAL) {
            return false;
        }
        if (past(deadline)) {
            g_set_error(errp, TGTD_FIXTURE_ERROR, TGTD_FIXTURE_ERROR_FAILED,
                        "tgtd could not take %s and control port %d again"
                        " within %d ms", fx->portal, fx->control_port,
                        RESTART_TIMEOUT_MS);
            return false;
        }
        g_usleep(100 * 1000);
    }
    if (!setup_targets(fx, errp)) {
        tgtd_fixture_kill(fx);
        return false;
    }
    return true;
}

void tgtd_fixture_freeze(TgtdFixture *fx)
{
    if (tgtd_fixture_is_running(fx)) {
        kill(fx->pid, SIGSTOP);
        fx->frozen = true;
    }
}

void tgtd_fixture_thaw(TgtdFixture *fx)
{
    if (tgtd_fixture_is_running(fx)) {
        kill(fx->pid, SIGCONT);
        fx->frozen = false;
    }
}

/* Did tgtadm fail to get through to tgtd (or not finish)? */
static bool unreachable(const char *tgtadm_output)
{
    return !tgtadm_output || strstr(tgtadm_output, "to tgt daemon");
}

/*
 * Ask tgtd to go away: take the targets offline, so that initiators
 * which lose their session cannot log in again, force-delete them
 * (retrying while commands are in flight), then delete the system.
 * Bounded by SHUTDOWN_BUDGET_MS.  Returns true if tgtd accepted the
 * last step or is gone already.
 */
static bool shutdown_tgtd(TgtdFixture *fx)
{
    static const char *const del_system[] = {
        "--op", "delete", "--mode", "system", NULL,
    };
    gint64 deadline = deadline_in(SHUTDOWN_BUDGET_MS);
    int t;

    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        g_autofree char *tid = g_strdup_printf("%d", fx->target[t].tid);
        const char *offline[] = {
            "--op", "update", "--mode", "target", "--tid", tid,
            "--name", "state", "--value", "offline", NULL,
        };

        tgtadm_argv(fx, TGTADM_PROBE_MS, NULL, NULL, offline);
    }
    for (t = 0; t < TGTD_TARGET__MAX; t++) {
        g_autofree char *tid = g_strdup_printf("%d", fx->target[t].tid);
        const char *del[] = {
            "--op", "delete", "--force", "--mode", "target",
            "--tid", tid, NULL,
        };

        for (;;) {
            g_autofree char *out = NULL;

            if (!tgtd_fixture_is_running(fx)) {
                return true;
            }
            if (tgtadm_argv(fx, TGTADM_PROBE_MS, &out, NULL, del) ||
                (out && strstr(out, "can't find the target"))) {
                break;
            }
            /* Else "this logical unit is still active": retry. */
            if (unreachable(out) || past(deadline)) {
                return false;
            }
            g_usleep(POLL_INTERVAL_US * 5);
        }
    }
    for (;;) {
        g_autofree char *out = NULL;

        if (!tgtd_fixture_is_running(fx) ||
            tgtadm_argv(fx, TGTADM_PROBE_MS, &out, NULL, del_system)) {
            return true;
        }
        if (unreachable(out) || past(deadline)) {
            return false;
        }
        g_usleep(POLL_INTERVAL_US * 5);
    }
}

void tgtd_fixture_stop(TgtdFixture *fx)
{
    if (!fx || fx->stopped) {
        return;
    }
    if (tgtd_fixture_is_running(fx)) {
        bool asked;

        if (fx->frozen) {
            tgtd_fixture_thaw(fx);
        }
        asked = shutdown_tgtd(fx);
        /* shutdown_tgtd() clears fx->pid if it saw tgtd exit. */
        if (fx->pid && !(asked && reap_within(fx->pid, EXIT_TIMEOUT_MS,
                                              NULL))) {
            /* tgtd 1.0.85 ignores SIGTERM, but give it the chance. */
            log_note(fx, "tgtd ignored tgtadm, sending SIGTERM");
            kill(fx->pid, SIGTERM);
            if (!reap_within(fx->pid, TERM_TIMEOUT_MS, NULL) &&
                !kill_and_reap(fx->pid)) {
                g_printerr("tgtd-fixture: tgtd pid %d does not die\n",
                           (int)fx->pid);
            }
        }
        fx->pid = 0;
        fx->frozen = false;
    }
    remove_control_socket(fx);
    remove_files(fx);
    fx->stopped = true;
}

void tgtd_fixture_free(TgtdFixture *fx)
{
    if (!fx) {
        return;
    }
    tgtd_fixture_stop(fx);
    fixture_free_fields(fx);
}

char *tgtd_fixture_url(TgtdFixture *fx, TgtdTargetId t, int lun)
{
    g_assert(t >= 0 && t < TGTD_TARGET__MAX);
    return g_strdup_printf("iscsi://%s/%s/%d", fx->portal,
                           fx->target[t].name, lun);
}

char *tgtd_fixture_log(TgtdFixture *fx)
{
    char *text = NULL;

    if (fx->stopped || !fx->log_path ||
        !g_file_get_contents(fx->log_path, &text, NULL, NULL)) {
        return NULL;
    }
    return text;
}
