/*
 * Test fixture: a misbehaving iSCSI target on 127.0.0.1 (TEST STAND-IN)
 *
 * bad_target_start() runs tests/target/iscsi-bad-target.py, a small
 * scriptable iSCSI target written for the iscsi-hba tests, with
 * /usr/bin/python3, on a free port it picks itself.  It serves one LUN 0
 * (16 MiB in memory, 512-byte blocks, byte i of the disk is
 * bad_target_pattern(i)) to any target name, and misbehaves when a rule
 * tells it to: stall after an R2T, never answer, malformed sense data,
 * absurd REPORT LUNS lengths, close mid-PDU, Reject PDUs, answers to
 * unknown ITTs.  The rule syntax and the control commands are described
 * at the top of the script ("iscsi-bad-target.py --list" prints the
 * misbehaviours).  It is only for what a real target (tgtd) cannot do.
 *
 * The script is found at $ISCSI_HBA_BAD_TARGET, else at the path the
 * caller passes (a test compiles in its location).  A missing
 * /usr/bin/python3 is BAD_TARGET_ERROR_UNAVAILABLE (skip the test); a
 * missing script or a target that does not start is
 * BAD_TARGET_ERROR_FAILED.  $BAD_TARGET_VERBOSE=1 makes the target log
 * every decision on stderr.
 *
 * The target reads control commands on its stdin and answers each with
 * one line on stdout; it exits when its stdin closes, and dies with
 * SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG, as
 * tgtd-fixture.c does).  Start it from the test's main thread.  Every
 * wait in here is bounded.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef BAD_TARGET_H
#define BAD_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "qobject/qdict.h"

#define BAD_TARGET_PYTHON       "/usr/bin/python3"
#define BAD_TARGET_ERROR        (bad_target_error_quark())
/* What a control command may take unless the caller says otherwise. */
#define BAD_TARGET_CMD_MS       5000

typedef enum {
    BAD_TARGET_ERROR_UNAVAILABLE,   /* no /usr/bin/python3: skip */
    BAD_TARGET_ERROR_FAILED,
} BadTargetError;

/* All fields are read-only for callers. */
typedef struct BadTarget {
    const char *host;           /* "127.0.0.1" */
    int port;
    char *portal;               /* "127.0.0.1:<port>" */
    const char *target_name;    /* the name it reports; it accepts any */
    uint64_t lun_size;          /* bytes of LUN 0 */
    uint32_t block_size;
    GPid pid;                   /* 0 once stopped */

    /* private */
    int cmd_fd;                 /* its stdin */
    int reply_fd;               /* its stdout */
    GString *rx;
} BadTarget;

GQuark bad_target_error_quark(void);

/*
 * Start the target: @script is the default path of iscsi-bad-target.py,
 * @args (NULL-terminated, may be NULL) are more command-line arguments,
 * e.g. "--rule", "on=scsi,op=TUR,action=no-answer".  NULL and @errp set
 * on failure.
 */
BadTarget *bad_target_start(const char *script, const char *const *args,
                            GError **errp);

/* Ask it to quit, then SIGKILL if needed, and reap it.  Idempotent. */
void bad_target_stop(BadTarget *bt);

/* bad_target_stop(), then free @bt.  NULL is allowed. */
void bad_target_free(BadTarget *bt);

/* true while the target runs. */
bool bad_target_is_running(BadTarget *bt);

/*
 * Send one control command and wait up to @timeout_ms for its answer.
 * Returns what follows "OK" (possibly ""), or NULL with @errp set when
 * the answer is "ERR ...", or on timeout, or if the target died.
 */
char *bad_target_command(BadTarget *bt, int timeout_ms, GError **errp,
                         const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* The same, failing the test (g_error) on anything but "OK". */
char *bad_target_cmd_ok(BadTarget *bt, int timeout_ms,
                        const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Add a rule ("on=...,action=...") at run time; fails the test if bad. */
void bad_target_rule(BadTarget *bt, const char *spec);

/* Stalled connections read their sockets again. */
void bad_target_resume(BadTarget *bt);

/* Send every held answer (rules with hold=1); returns how many. */
unsigned bad_target_release(BadTarget *bt);

/*
 * Wait up to @timeout_ms for @cond: "stalled" (a connection stopped
 * reading), "held" (an answer waits for release), "logout" (a Logout
 * Request arrived), "idle:MS" (no PDU received for MS ms),
 * "backlog:MS" (a stalled connection has unread bytes in its socket, as
 * many as MS ms ago: the initiator is blocked on it).
 */
bool bad_target_wait(BadTarget *bt, const char *cond, int timeout_ms);

/*
 * Start counting the Data-Out payload bytes equal to each of the @n
 * @values (and all others, as "other") from now on.
 */
void bad_target_hist_reset(BadTarget *bt, const uint8_t *values, int n);

/*
 * The target's counters: accepted, logins, logout_requests,
 * clean_closes, abrupt_closes (the initiator closed a logged-in
 * connection without a Logout), target_closes, commands, tmf (list of
 * functions), data_out_bytes, open, stalled, held, fired (per rule),
 * hist ({"0xNN": count, ..., "other": count}).  qobject_unref() it.
 */
QDict *bad_target_stats(BadTarget *bt);

/* Histogram count of @value (or of the others if @value < 0). */
int64_t bad_target_hist(QDict *stats, int value);

/* Byte @offset of LUN 0 as the target starts (before any WRITE). */
uint8_t bad_target_pattern(uint64_t offset);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BadTarget, bad_target_free)

#endif /* BAD_TARGET_H */
