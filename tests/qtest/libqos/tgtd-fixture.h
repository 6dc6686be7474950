/*
 * Test fixture: a real tgtd (Linux SCSI target daemon) on 127.0.0.1
 *
 * tgtd_fixture_start() runs "tgtd -f -C <control port> --iscsi
 * portal=127.0.0.1:<port>" on a free TCP port and a control port of its
 * own, so that several fixtures (in one process or in parallel test runs)
 * coexist, and creates the iSCSI targets the tests need, backed by sparse
 * files in /dev/shm:
 *
 *   <prefix>:plain   LUN 1, 64 MiB, any initiator, no authentication
 *   <prefix>:chap    like plain, one-way CHAP (chap_user / chap_secret)
 *   <prefix>:mutual  like plain, CHAP (mutual_user / mutual_secret) and
 *                    the target's own account for mutual CHAP
 *                    (mutual_target_user / mutual_target_secret)
 *   <prefix>:acl     like plain, but only the initiator named
 *                    acl_initiator may log in
 *   <prefix>:multi   LUNs 1, 2 and 3, 16 MiB each, any initiator
 *
 * Every name, account and size is in the TgtdFixture structure: tests
 * read them from there and never spell them out.
 *
 * What tgtd answers (tgtd 1.0.85, measured): unknown target name,
 * malformed name and ACL rejection all fail the login with status 0x0203;
 * missing or wrong CHAP credentials with 0x0201.  SendTargets discovery
 * hides the acl target from initiators that may not log in to it.
 *
 * Needs root and the tgt package; otherwise tgtd_fixture_start() fails
 * with TGTD_FIXTURE_ERROR_UNAVAILABLE so that the caller can g_test_skip().
 * Only libc and GLib are used, so the fixture builds both in QEMU's qtests
 * and in the iscsi-hba project's own meson build.
 *
 * tgtd is started in a session of its own and, on Linux, dies with
 * SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG): a
 * test that aborts does not leave it behind.  Start fixtures from the
 * test's main thread.  Every wait in here is bounded; a tgtadm command
 * that does not answer within 5 s counts as failed.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TGTD_FIXTURE_H
#define TGTD_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define TGTD_FIXTURE_ERROR (tgtd_fixture_error_quark())

typedef enum {
    /* No tgt installed, or not root: skip the test. */
    TGTD_FIXTURE_ERROR_UNAVAILABLE,
    /* tgtd or tgtadm misbehaved: fail the test. */
    TGTD_FIXTURE_ERROR_FAILED,
} TgtdFixtureError;

/* The targets, in the order of their tgtd target ids (tid = index + 1). */
typedef enum {
    TGTD_TARGET_PLAIN,
    TGTD_TARGET_CHAP,
    TGTD_TARGET_MUTUAL,
    TGTD_TARGET_ACL,
    TGTD_TARGET_MULTI,
    TGTD_TARGET__MAX,
} TgtdTargetId;

#define TGTD_FIXTURE_MAX_LUNS 3

typedef struct TgtdFixtureTarget {
    int tid;                    /* tgtd target id */
    char *name;                 /* "<prefix>:<suffix>" */
    int nluns;                  /* LUNs 1 .. nluns */
    uint64_t lun_size;          /* bytes, every LUN of the target */
    /* backing[i]: file of LUN i + 1, kept across tgtd_fixture_restart() */
    char *backing[TGTD_FIXTURE_MAX_LUNS];
} TgtdFixtureTarget;

/* All fields are read-only for callers. */
typedef struct TgtdFixture {
    const char *host;           /* "127.0.0.1" */
    int port;                   /* iSCSI TCP port */
    char *portal;               /* "127.0.0.1:<port>" */
    int control_port;           /* tgtd -C / tgtadm -C */
    const char *iqn_prefix;     /* "iqn.2026-11.org.qemu.test" */
    TgtdFixtureTarget target[TGTD_TARGET__MAX];

    const char *chap_user;      /* incoming CHAP account of :chap */
    const char *chap_secret;
    const char *mutual_user;    /* incoming CHAP account of :mutual */
    const char *mutual_secret;
    const char *mutual_target_user;   /* outgoing account of :mutual */
    const char *mutual_target_secret;
    const char *acl_initiator;  /* the only initiator :acl accepts */

    GPid pid;                   /* tgtd, 0 while not running */
    char *dir;                  /* holds the backing files and the log */
    char *log_path;             /* tgtd's stdout and stderr, all runs */

    /* private */
    char *tgtd_path;
    char *tgtadm_path;
    bool frozen;
    bool stopped;
} TgtdFixture;

GQuark tgtd_fixture_error_quark(void);

/*
 * Start tgtd and create the targets.  Returns NULL and sets @errp on
 * failure (TGTD_FIXTURE_ERROR_UNAVAILABLE: skip the test).  Takes about
 * 0.1 s.
 */
TgtdFixture *tgtd_fixture_start(GError **errp);

/*
 * Delete the targets and the system, make sure tgtd is gone (SIGTERM,
 * then SIGKILL if it does not exit in time), remove the backing files,
 * the log and tgtd's control socket.  Works on a frozen or killed tgtd
 * and when initiators are still logged in.  Safe to call more than once;
 * the structure stays valid until tgtd_fixture_free().
 */
void tgtd_fixture_stop(TgtdFixture *fx);

/* tgtd_fixture_stop(), then free @fx.  NULL is allowed. */
void tgtd_fixture_free(TgtdFixture *fx);

/*
 * SIGKILL tgtd: the target dies, sessions are cut without a logout.
 * Returns true if tgtd was running and is now gone.
 */
bool tgtd_fixture_kill(TgtdFixture *fx);

/*
 * Start tgtd again (killing it first if it still runs) on the same port
 * and control port, with the same targets, accounts and ACLs over the
 * same backing files, so data written before survives.
 */
bool tgtd_fixture_restart(TgtdFixture *fx, GError **errp);

/* SIGSTOP / SIGCONT tgtd: the target stops answering, then resumes. */
void tgtd_fixture_freeze(TgtdFixture *fx);
void tgtd_fixture_thaw(TgtdFixture *fx);

/* true while tgtd runs (frozen or not). */
bool tgtd_fixture_is_running(TgtdFixture *fx);

/* "iscsi://127.0.0.1:<port>/<target name>/<lun>", for libiscsi tools. */
char *tgtd_fixture_url(TgtdFixture *fx, TgtdTargetId t, int lun);

/*
 * Run "tgtadm -C <control port> --lld iscsi" with the NULL-terminated
 * further arguments, e.g. to take a LUN offline.  Returns true if it
 * exited with status 0.  @output (may be NULL) gets its stdout and stderr.
 */
bool tgtd_fixture_tgtadm(TgtdFixture *fx, char **output, GError **errp,
                         ...) G_GNUC_NULL_TERMINATED;

/* tgtd's log so far (all runs), for diagnostics; NULL once stopped. */
char *tgtd_fixture_log(TgtdFixture *fx);

/*
 * A GSpawnChildSetupFunc for helper processes a test starts (tgtd, the
 * bad target): @opaque is GINT_TO_POINTER(getpid()) of the test.  The
 * child gets no blocked signals and a session of its own and, on Linux,
 * SIGKILL when the test dies (it exits at once if the test is gone).
 */
void tgtd_fixture_child_setup(gpointer opaque);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TgtdFixture, tgtd_fixture_free)

#endif /* TGTD_FIXTURE_H */
