/*
 * Test fixture: a misbehaving iSCSI target on 127.0.0.1 (TEST STAND-IN)
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <glib-unix.h>

#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qapi/error.h"
#include "bad-target.h"
#include "tgtd-fixture.h"

#define START_TIMEOUT_MS        10000   /* until it prints "PORT n" */
#define QUIT_TIMEOUT_MS         2000    /* until it exits after "quit" */
#define KILL_TIMEOUT_MS         5000
#define POLL_INTERVAL_US        5000

GQuark bad_target_error_quark(void)
{
    return g_quark_from_static_string("bad-target-error-quark");
}

static gint64 deadline_in(int ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

/* Reap @pid if it exits within @timeout_ms; true once it is gone. */
static bool reap_within(GPid pid, int timeout_ms)
{
    gint64 deadline = deadline_in(timeout_ms);

    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);

        if (r == pid || (r < 0 && errno != EINTR)) {
            return true;
        }
        if (g_get_monotonic_time() >= deadline) {
            return false;
        }
        g_usleep(POLL_INTERVAL_US);
    }
}

/*
 * One line from the target's stdout (without the newline), waiting up
 * to @deadline.  NULL on timeout or EOF.
 */
static char *read_line(BadTarget *bt, gint64 deadline)
{
    for (;;) {
        char *nl = memchr(bt->rx->str, '\n', bt->rx->len);
        struct pollfd p = { .fd = bt->reply_fd, .events = POLLIN };
        gint64 left;
        char buf[4096];
        ssize_t n;

        if (nl) {
            char *line = g_strndup(bt->rx->str, nl - bt->rx->str);

            g_string_erase(bt->rx, 0, nl - bt->rx->str + 1);
            return line;
        }
        left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) {
            return NULL;
        }
        if (poll(&p, 1, MIN(left, 100)) < 0 && errno != EINTR) {
            return NULL;
        }
        n = read(bt->reply_fd, buf, sizeof(buf));
        if (n > 0) {
            g_string_append_len(bt->rx, buf, n);
        } else if (n == 0) {
            return NULL;
        } else if (errno != EAGAIN && errno != EINTR) {
            return NULL;
        }
    }
}

static const char *script_path(const char *script)
{
    const char *env = g_getenv("ISCSI_HBA_BAD_TARGET");

    return env && *env ? env : script;
}

BadTarget *bad_target_start(const char *script, const char *const *args,
                            GError **errp)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *line = NULL;
    const char *path = script_path(script);
    BadTarget *bt;
    int in_fd, out_fd;
    GPid pid;

    if (!g_file_test(BAD_TARGET_PYTHON, G_FILE_TEST_IS_EXECUTABLE)) {
        g_set_error(errp, BAD_TARGET_ERROR, BAD_TARGET_ERROR_UNAVAILABLE,
                    "%s not found: no bad target", BAD_TARGET_PYTHON);
        return NULL;
    }
    if (!path || !g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(errp, BAD_TARGET_ERROR, BAD_TARGET_ERROR_FAILED,
                    "bad target script %s not found (set "
                    "ISCSI_HBA_BAD_TARGET)", path ? path : "(none)");
        return NULL;
    }
    g_ptr_array_add(argv, (char *)BAD_TARGET_PYTHON);
    g_ptr_array_add(argv, (char *)path);
    g_ptr_array_add(argv, (char *)"--control");
    if (g_strcmp0(g_getenv("BAD_TARGET_VERBOSE"), "1") == 0) {
        g_ptr_array_add(argv, (char *)"-v");
    }
    for (; args && *args; args++) {
        g_ptr_array_add(argv, (char *)*args);
    }
    g_ptr_array_add(argv, NULL);

    /* Writing to a target that died must fail, not kill the test */
    signal(SIGPIPE, SIG_IGN);
    if (!g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD,
                                  tgtd_fixture_child_setup,
                                  GINT_TO_POINTER(getpid()), &pid,
                                  &in_fd, &out_fd, NULL, errp)) {
        return NULL;
    }
    bt = g_new0(BadTarget, 1);
    bt->host = "127.0.0.1";
    bt->target_name = "iqn.2026-11.org.qemu.test:bad-target";
    bt->lun_size = 16 * 1024 * 1024;
    bt->block_size = 512;
    bt->pid = pid;
    bt->cmd_fd = in_fd;
    bt->reply_fd = out_fd;
    bt->rx = g_string_new(NULL);
    fcntl(in_fd, F_SETFD, FD_CLOEXEC);
    fcntl(out_fd, F_SETFD, FD_CLOEXEC);
    g_unix_set_fd_nonblocking(out_fd, TRUE, NULL);

    line = read_line(bt, deadline_in(START_TIMEOUT_MS));
    if (!line || sscanf(line, "PORT %d", &bt->port) != 1 || bt->port <= 0) {
        g_set_error(errp, BAD_TARGET_ERROR, BAD_TARGET_ERROR_FAILED,
                    "%s did not start (first line: %s)", path,
                    line ? line : "none");
        bad_target_free(bt);
        return NULL;
    }
    bt->portal = g_strdup_printf("%s:%d", bt->host, bt->port);
    return bt;
}

bool bad_target_is_running(BadTarget *bt)
{
    if (bt->pid && reap_within(bt->pid, 0)) {
        g_spawn_close_pid(bt->pid);
        bt->pid = 0;
    }
    return bt->pid != 0;
}

void bad_target_stop(BadTarget *bt)
{
    if (!bt) {
        return;
    }
    if (bt->cmd_fd >= 0 && bad_target_is_running(bt)) {
        /* "quit", or EOF on its stdin, ends it */
        if (write(bt->cmd_fd, "quit\n", 5) != 5) {
            /* it is gone already, or will see EOF below */
        }
    }
    if (bt->cmd_fd >= 0) {
        close(bt->cmd_fd);
    }
    bt->cmd_fd = -1;
    if (bt->pid && !reap_within(bt->pid, QUIT_TIMEOUT_MS)) {
        kill(bt->pid, SIGKILL);
        if (!reap_within(bt->pid, KILL_TIMEOUT_MS)) {
            g_printerr("bad-target: pid %d does not die\n", (int)bt->pid);
        }
    }
    if (bt->pid) {
        g_spawn_close_pid(bt->pid);
    }
    bt->pid = 0;
    if (bt->reply_fd >= 0) {
        close(bt->reply_fd);
    }
    bt->reply_fd = -1;
}

void bad_target_free(BadTarget *bt)
{
    if (!bt) {
        return;
    }
    bad_target_stop(bt);
    g_string_free(bt->rx, true);
    g_free(bt->portal);
    g_free(bt);
}

static char *command_v(BadTarget *bt, int timeout_ms, GError **errp,
                       const char *fmt, va_list ap) G_GNUC_PRINTF(4, 0);

static char *command_v(BadTarget *bt, int timeout_ms, GError **errp,
                       const char *fmt, va_list ap)
{
    g_autofree char *cmd = g_strdup_vprintf(fmt, ap);
    g_autofree char *line = NULL;
    g_autofree char *out = g_strdup_printf("%s\n", cmd);
    size_t len = strlen(out), done = 0;

    g_assert_null(strchr(cmd, '\n'));
    while (done < len) {
        ssize_t n = bt->cmd_fd < 0 ? -1 :
                    write(bt->cmd_fd, out + done, len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_set_error(errp, BAD_TARGET_ERROR, BAD_TARGET_ERROR_FAILED,
                        "bad target: cannot send '%s': %s", cmd,
                        g_strerror(errno));
            return NULL;
        }
        done += n;
    }
    line = read_line(bt, deadline_in(timeout_ms));
    if (!line) {
        g_set_error(errp, BAD_TARGET_ERROR, BAD_TARGET_ERROR_FAILED,
                    "bad target: no answer to '%s' within %d ms%s", cmd,
                    timeout_ms, bad_target_is_running(bt) ? "" :
                    " (it died)");
        return NULL;
    }
    if (g_str_has_prefix(line, "OK")) {
        return g_strdup(g_strchug(line + 2));
    }
    g_set_error(errp, BAD_TARGET_ERROR, BAD_TARGET_ERROR_FAILED,
                "bad target: '%s': %s", cmd, line);
    return NULL;
}

char *bad_target_command(BadTarget *bt, int timeout_ms, GError **errp,
                         const char *fmt, ...)
{
    va_list ap;
    char *r;

    va_start(ap, fmt);
    r = command_v(bt, timeout_ms, errp, fmt, ap);
    va_end(ap);
    return r;
}

char *bad_target_cmd_ok(BadTarget *bt, int timeout_ms, const char *fmt, ...)
{
    g_autoptr(GError) err = NULL;
    va_list ap;
    char *r;

    va_start(ap, fmt);
    r = command_v(bt, timeout_ms, &err, fmt, ap);
    va_end(ap);
    if (!r) {
        g_error("%s", err->message);
    }
    return r;
}

void bad_target_rule(BadTarget *bt, const char *spec)
{
    g_free(bad_target_cmd_ok(bt, BAD_TARGET_CMD_MS, "rule %s", spec));
}

void bad_target_resume(BadTarget *bt)
{
    g_free(bad_target_cmd_ok(bt, BAD_TARGET_CMD_MS, "resume"));
}

unsigned bad_target_release(BadTarget *bt)
{
    g_autofree char *r = bad_target_cmd_ok(bt, BAD_TARGET_CMD_MS, "release");

    return atoi(r);
}

bool bad_target_wait(BadTarget *bt, const char *cond, int timeout_ms)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *r = NULL;

    /* The target answers ERR itself at the deadline; allow for latency */
    r = bad_target_command(bt, timeout_ms + BAD_TARGET_CMD_MS, &err,
                           "wait %s %.3f", cond, timeout_ms / 1000.0);
    if (!r && !strstr(err->message, "timeout waiting")) {
        g_error("%s", err->message);
    }
    return r != NULL;
}

void bad_target_hist_reset(BadTarget *bt, const uint8_t *values, int n)
{
    g_autoptr(GString) cmd = g_string_new("hist-reset");
    int i;

    for (i = 0; i < n; i++) {
        g_string_append_printf(cmd, " 0x%02x", values[i]);
    }
    g_free(bad_target_cmd_ok(bt, BAD_TARGET_CMD_MS, "%s", cmd->str));
}

QDict *bad_target_stats(BadTarget *bt)
{
    g_autofree char *r = bad_target_cmd_ok(bt, BAD_TARGET_CMD_MS, "stats");
    QDict *d = qobject_to(QDict, qobject_from_json(r, &error_abort));

    g_assert_nonnull(d);
    return d;
}

int64_t bad_target_hist(QDict *stats, int value)
{
    QDict *hist = qdict_get_qdict(stats, "hist");
    g_autofree char *key = value < 0 ? g_strdup("other") :
                           g_strdup_printf("0x%02x", value);

    g_assert_nonnull(hist);
    g_assert_true(qdict_haskey(hist, key));
    return qdict_get_int(hist, key);
}

uint8_t bad_target_pattern(uint64_t offset)
{
    return ((offset >> 9) + (offset & 511)) & 0xff;
}
