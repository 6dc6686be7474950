/*
 * iscsi-hba: iSCSI sessions on libiscsi
 *
 * Each session owns one libiscsi context that lives in QEMU's main loop:
 * its socket is watched with the events libiscsi asks for, re-read after
 * every call into libiscsi, and a 1 s timer drives libiscsi's timeouts,
 * NOP-out keepalives, login/logout deadlines and reconnection.  Nothing
 * here blocks: host names are resolved in the thread pool (resolve.c) and
 * connect, login and logout are asynchronous.
 *
 * libiscsi calls back from inside iscsi_service() and from
 * iscsi_destroy_context(); a callback must never destroy the context it
 * runs in.  Every entry into libiscsi therefore goes through
 * session_service(), and teardown requested from a callback is deferred
 * until libiscsi has returned (ctx_dead, free_pending).
 *
 * libiscsi's own silent reconnect is switched off: the device reconnects
 * itself so that the guest learns about the loss and the recovery.
 *
 * While the VM is stopped no socket is serviced: libiscsi would write READ
 * data into guest RAM.  Timers keep ticking, but a tick only re-arms.
 *
 * A session id is (generation << 16) | (slot + 1): never 0, stable across
 * reconnects, and a stale id of a reused slot does not match.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/main-loop.h"
#include <poll.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include "fault.h"
#include "session.h"
#include "fault.h"
#include "iscsi-name.h"
#include "login-status.h"
#include "trace.h"

#define TICK_MS             1000
#define NOP_INTERVAL_MS     5000
#define MAX_NOPS_IN_FLIGHT  3
#define LOGOUT_TIMEOUT_MS   5000
#define DEFAULT_TIME2WAIT   2
#define DEFAULT_TIME2RETAIN 60
/* Discovery sessions in progress at once: each holds a socket. */
#define MAX_DISCOVERIES     4

static int64_t now_ms(void)
{
    return qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
}

/*
 * Overwrite secrets.  The compiler barrier makes the stores observable,
 * so they are not dropped as dead stores to memory freed right after.
 */
static void secret_wipe(void *p, size_t n)
{
    memset(p, 0, n);
    barrier();
}

/* ---- session table ---- */

void iscsi_hba_sessions_init(IscsiHbaState *s)
{
    s->sessions = g_new0(IscsiHbaSession *, s->max_sessions);
    s->session_gen = g_new0(uint16_t, s->max_sessions);
}

IscsiHbaSession *iscsi_hba_session_lookup(IscsiHbaState *s, uint32_t id)
{
    uint32_t slot = extract32(id, 0, 16);
    IscsiHbaSession *sess;

    if (slot == 0 || slot > s->max_sessions) {
        return NULL;
    }
    sess = s->sessions[slot - 1];
    return sess && sess->id == id ? sess : NULL;
}

unsigned iscsi_hba_session_ids(IscsiHbaState *s, uint32_t *ids, unsigned max)
{
    unsigned i, n = 0;

    for (i = 0; i < s->max_sessions && n < max; i++) {
        if (s->sessions[i]) {
            ids[n++] = s->sessions[i]->id;
        }
    }
    return n;
}

unsigned iscsi_hba_session_count(IscsiHbaState *s)
{
    unsigned i, n = 0;

    for (i = 0; i < s->max_sessions; i++) {
        n += s->sessions[i] != NULL;
    }
    return n;
}

/* The session a request names; if there is none, the request fails. */
IscsiHbaSession *iscsi_hba_req_session(IscsiHbaRequest *req)
{
    IscsiHbaSession *sess;

    sess = iscsi_hba_session_lookup(req->q->s,
                                    le32_to_cpu(req->sqe.hdr.session_id));
    if (!sess) {
        iscsi_hba_req_fail(req, ISDSC_INVALID_SESSION_ID,
                           ISCSI_HBA_DETAIL_NO_SESSION);
    }
    return sess;
}

/* A session the guest may send commands on right now. */
bool iscsi_hba_session_usable(IscsiHbaSession *sess)
{
    return sess->state == SESSION_LOGGED_IN && sess->ctx;
}

uint16_t iscsi_hba_session_abi_state(IscsiHbaSession *sess)
{
    switch (sess->state) {
    case SESSION_LOGGED_IN:
    case SESSION_LOGGING_OUT:
        return ISCSI_HBA_SESSION_STATE_LOGGED_IN;
    case SESSION_RECONNECTING:
        return ISCSI_HBA_SESSION_STATE_RECONNECTING;
    case SESSION_FAILED:
        return ISCSI_HBA_SESSION_STATE_FAILED;
    default:
        return ISCSI_HBA_SESSION_STATE_LOGGING_IN;
    }
}

static bool slot_alloc(IscsiHbaSession *sess)
{
    IscsiHbaState *s = sess->s;
    unsigned i;

    for (i = 0; i < s->max_sessions; i++) {
        if (!s->sessions[i]) {
            uint16_t gen = s->session_gen[i] + 1;

            /* Generation 0 would make a valid-looking stale id. */
            s->session_gen[i] = gen ?: 1;
            sess->id = (uint32_t)s->session_gen[i] << 16 | (i + 1);
            s->sessions[i] = sess;
            return true;
        }
    }
    return false;
}

/* ---- libiscsi in the main loop ---- */

static void session_fd_read(void *opaque);
static void session_fd_write(void *opaque);
static void session_connection_error(IscsiHbaSession *sess);

static void session_unregister_fd(IscsiHbaSession *sess)
{
    if (sess->fd >= 0) {
        qemu_set_fd_handler(sess->fd, NULL, NULL, NULL);
    }
    sess->fd = -1;
    sess->events = 0;
}

/* Watch the socket for what libiscsi wants now; the fd may change. */
void iscsi_hba_session_update_events(IscsiHbaSession *sess)
{
    int fd, ev;

    if (!sess->ctx || sess->in_service) {
        return;
    }
    if (!sess->s->vm_running) {
        session_unregister_fd(sess);
        return;
    }
    fd = iscsi_get_fd(sess->ctx);
    ev = fd >= 0 ? iscsi_which_events(sess->ctx) : 0;
    if (fd == sess->fd && ev == sess->events) {
        return;
    }
    session_unregister_fd(sess);
    if (fd >= 0 && ev) {
        qemu_set_fd_handler(fd, ev & POLLIN ? session_fd_read : NULL,
                            ev & POLLOUT ? session_fd_write : NULL, sess);
    }
    sess->fd = fd;
    sess->events = ev;
}

/*
 * Destroy the context.  Commands still inside libiscsi come back through
 * their callbacks with SCSI_STATUS_CANCELLED and the status their
 * canceller chose (scsi.c).
 */
static void session_destroy_ctx(IscsiHbaSession *sess)
{
    struct iscsi_context *ctx = sess->ctx;

    if (!ctx) {
        return;
    }
    session_unregister_fd(sess);
    sess->ctx = NULL;
    sess->in_service++;
    iscsi_destroy_context(ctx);
    sess->in_service--;
    iscsi_hba_scsi_reap(sess);
}

static void session_unlink(IscsiHbaSession *sess)
{
    IscsiHbaState *s = sess->s;

    if (sess->id && iscsi_hba_session_lookup(s, sess->id) == sess) {
        s->sessions[extract32(sess->id, 0, 16) - 1] = NULL;
    }
    if (sess->login.discovery && !sess->unlinked) {
        QLIST_REMOVE(sess, link);
    }
    sess->unlinked = true;
}

/*
 * Free a session.  From inside a libiscsi callback of its own context the
 * session only leaves the adapter's tables; session_settle() frees it
 * when libiscsi has returned.
 */
static void session_free(IscsiHbaSession *sess)
{
    if (sess->in_service) {
        sess->waiter = NULL;
        sess->free_pending = true;
        session_unlink(sess);
        return;
    }
    trace_iscsi_hba_session_free(sess->id);
    if (sess->resolve) {
        iscsi_hba_resolve_cancel(sess->resolve);
    }
    session_destroy_ctx(sess);
    timer_free(sess->tick);
    session_unlink(sess);
    secret_wipe(&sess->login, sizeof(sess->login));
    g_free(sess->portal);
    g_free(sess);
}

/* Apply teardown requested from libiscsi callbacks; false if freed. */
static bool session_settle(IscsiHbaSession *sess)
{
    if (sess->in_service) {
        return true;
    }
    if (!sess->free_pending && sess->ctx &&
        (sess->reset_needed || !iscsi_hba_scsi_reap_retired(sess, false))) {
        /*
         * A WRITE left libiscsi with Data-Out queued while the target may
         * still execute it, or the target does not take the data of
         * finished ones: drop the connection (see scsi.c).
         */
        sess->in_service++;
        session_connection_error(sess);
        sess->in_service--;
    }
    sess->reset_needed = false;
    if (sess->free_pending) {
        session_free(sess);
        return false;
    }
    if (sess->ctx_dead) {
        sess->ctx_dead = false;
        session_destroy_ctx(sess);
    }
    iscsi_hba_session_update_events(sess);
    return true;
}

static void session_discard(IscsiHbaSession *sess)
{
    sess->free_pending = true;
    session_settle(sess);
}

static void session_drop_ctx(IscsiHbaSession *sess)
{
    sess->ctx_dead = true;
    session_settle(sess);
}

/*
 * A logged-in context whose connection broke.  With auto-reconnect off,
 * libiscsi may cancel everything and drop the socket while its
 * iscsi_service() still returns 0.
 */
static bool session_ctx_broken(IscsiHbaSession *sess)
{
    return sess->state == SESSION_LOGGED_IN &&
           (!iscsi_is_logged_in(sess->ctx) || iscsi_get_fd(sess->ctx) < 0);
}

/* ---- negotiated values ---- */

/*
 * libiscsi 1.19 keeps what a login negotiated private, but logs each key
 * of the target's Login Responses at level 6.  Its log function has no
 * context argument: the session being serviced (main loop only) is it.
 */
#define LOGIN_REPLY_LOG_LEVEL 6
static IscsiHbaSession *serviced_session;

/* @val is followed by NUL or by libiscsi's " [target name]" suffix. */
static bool key_is(const char *val, const char *word)
{
    size_t n = strlen(word);

    return !strncmp(val, word, n) && (val[n] == 0 || val[n] == ' ');
}

static uint32_t key_number(const char *val)
{
    uint64_t v = 0;

    /* A target's garbage reads as 0, "unknown" */
    if (qemu_strtou64(val, &val, 10, &v) < 0 || v > UINT32_MAX) {
        return 0;
    }
    return v;
}

/* The target's answer decides, as libiscsi takes it (login.c). */
static void session_note_key(IscsiHbaNegotiated *n, const char *kv)
{
    const char *val = strchr(kv, '=');
    g_autofree char *key = NULL;

    if (!val) {
        return;
    }
    key = g_strndup(kv, val++ - kv);
    n->answered = true;
    if (!strcmp(key, "MaxRecvDataSegmentLength")) {
        n->max_recv_data_segment_len = key_number(val);
    } else if (!strcmp(key, "MaxBurstLength")) {
        n->max_burst_len = key_number(val);
    } else if (!strcmp(key, "FirstBurstLength")) {
        n->first_burst_len = key_number(val);
    } else if (!strcmp(key, "InitialR2T")) {
        n->initial_r2t = !key_is(val, "No");
    } else if (!strcmp(key, "ImmediateData")) {
        n->immediate_data = !key_is(val, "No");
    } else if (!strcmp(key, "HeaderDigest")) {
        n->header_digest = key_is(val, "CRC32C");
    }
}

static void session_libiscsi_log(int level, const char *msg)
{
    const char *kv;

    if (serviced_session && level == LOGIN_REPLY_LOG_LEVEL &&
        strstart(msg, "TargetLoginReply: ", &kv)) {
        session_note_key(&serviced_session->negotiating, kv);
    }
}

/*
 * A new context logs in: choose its ISID (libiscsi's random kind, as it
 * would itself, but known to us) and read the target's answers.  Start
 * from what libiscsi 1.19 uses for a key the target does not answer
 * (init.c); for MaxRecvDataSegmentLength that is RFC 7143's 8192.
 */
static void session_negotiate_start(IscsiHbaSession *sess,
                                    struct iscsi_context *ctx)
{
    IscsiHbaNegotiated *n = &sess->negotiating;
    uint32_t rnd = g_random_int() & 0xffffff;

    memset(n, 0, sizeof(*n));
    n->max_recv_data_segment_len = 8192;
    n->max_burst_len = 262144;
    n->first_burst_len = 262144;
    n->initial_r2t = true;
    n->immediate_data = true;
    iscsi_set_isid_random(ctx, rnd, 0);
    n->isid[0] = 0x80;
    n->isid[1] = rnd >> 16;
    n->isid[2] = rnd >> 8;
    n->isid[3] = rnd;
    iscsi_set_log_fn(ctx, session_libiscsi_log);
    iscsi_set_log_level(ctx, LOGIN_REPLY_LOG_LEVEL);
}

/*
 * Logged in: keep the values, and no more log formatting per PDU.  A
 * libiscsi that does not log the target's keys leaves them unknown (0),
 * not at their defaults.
 */
static void session_negotiate_done(IscsiHbaSession *sess)
{
    IscsiHbaNegotiated *n = &sess->negotiated;

    if (sess->negotiating.answered) {
        *n = sess->negotiating;
    } else {
        memset(n, 0, sizeof(*n));
        memcpy(n->isid, sess->negotiating.isid, sizeof(n->isid));
    }
    iscsi_set_log_level(sess->ctx, 0);
}

/* Let libiscsi work; false if the session is gone afterwards. */
static bool session_service(IscsiHbaSession *sess, int revents)
{
    IscsiHbaSession *outer = serviced_session;
    int ret;

    sess->in_service++;
    serviced_session = sess;
    ret = iscsi_service(sess->ctx, revents);
    serviced_session = outer;
    if (sess->ctx && !sess->ctx_dead && !sess->free_pending &&
        (ret < 0 || session_ctx_broken(sess))) {
        trace_iscsi_hba_session_error(sess->id, iscsi_get_error(sess->ctx));
        /* Still "in service": teardown it decides waits for the settle. */
        session_connection_error(sess);
    }
    sess->in_service--;
    return session_settle(sess);
}

static void session_fd_read(void *opaque)
{
    IscsiHbaSession *sess = opaque;

    if (sess->s->vm_running) {
        session_service(sess, POLLIN);
    }
}

static void session_fd_write(void *opaque)
{
    IscsiHbaSession *sess = opaque;

    if (sess->s->vm_running) {
        session_service(sess, POLLOUT);
    }
}

/* ---- the waiting admin command ---- */

static void session_finish_waiter(IscsiHbaSession *sess, uint32_t status,
                                  uint16_t detail, uint64_t result)
{
    IscsiHbaRequest *req = sess->waiter;

    if (!req) {
        return;
    }
    sess->waiter = NULL;
    req->cqe.result = result;
    iscsi_hba_req_fail(req, status, detail);
}

/* ---- login ---- */

static void session_start_connect(IscsiHbaSession *sess);

static uint16_t time2wait(IscsiHbaSession *sess)
{
    return sess->login.time2wait ?: DEFAULT_TIME2WAIT;
}

static uint16_t time2retain(IscsiHbaSession *sess)
{
    return sess->login.time2retain ?: DEFAULT_TIME2RETAIN;
}

static void session_login_failed(IscsiHbaSession *sess, uint32_t status,
                                  uint16_t detail)
{
    trace_iscsi_hba_login_failed(sess->id, status, detail);
    sess->last_status = status;
    sess->deadline = 0;
    session_drop_ctx(sess);
    if (!sess->waiter && sess->id) {
        /* A reconnect attempt (nobody waits): try again after time2wait. */
        if (sess->state != SESSION_RECONNECTING) {
            sess->state = SESSION_RECONNECTING;
            sess->lost_at = now_ms();
        }
        sess->next_retry = now_ms() + time2wait(sess) * 1000;
        return;
    }
    session_finish_waiter(sess, status, detail, 0);
    session_discard(sess);
}

static void session_discovery_cb(struct iscsi_context *ctx, int status,
                                 void *data, void *opaque);

static void session_logged_in(IscsiHbaSession *sess)
{
    bool relogin = sess->established;

    sess->deadline = 0;
    sess->last_nop = now_ms();
    sess->state = SESSION_LOGGED_IN;
    session_negotiate_done(sess);
    trace_iscsi_hba_logged_in(sess->id, sess->reconnects);
    if (sess->login.discovery) {
        sess->deadline = now_ms() + sess->s->login_timeout * 1000;
        if (iscsi_discovery_async(sess->ctx, session_discovery_cb,
                                  sess) < 0) {
            session_login_failed(sess, ISDSC_SEND_FAILED,
                                 ISCSI_HBA_DETAIL_NONE);
        }
        return;
    }
    sess->established = true;
    if (sess->login.host_configured && !relogin) {
        /* Nobody waits for this login: tell the driver to look. */
        iscsi_hba_event_post(sess->s, ISCSI_HBA_EVENT_LUNS_CHANGED,
                             sess->id, ISCSI_HBA_STATUS_SUCCESS);
        return;
    }
    if (relogin) {
        sess->reconnects++;
        iscsi_hba_event_post(sess->s, ISCSI_HBA_EVENT_SESSION_RECOVERED,
                             sess->id, ISCSI_HBA_STATUS_SUCCESS);
        return;
    }
    session_finish_waiter(sess, sess->warn_status, ISCSI_HBA_DETAIL_NONE,
                          sess->id);
}

static bool session_cb_stale(IscsiHbaSession *sess,
                             struct iscsi_context *ctx)
{
    return sess->ctx != ctx || sess->ctx_dead || sess->free_pending;
}

static void session_login_cb(struct iscsi_context *ctx, int status,
                             void *data, void *opaque)
{
    IscsiHbaSession *sess = opaque;
    unsigned class_detail;
    uint32_t isdsc;

    if (session_cb_stale(sess, ctx)) {
        return;
    }
    if (status == SCSI_STATUS_TIMEOUT) {
        session_login_failed(sess, ISDSC_CONNECTION_FAILED,
                             ISCSI_HBA_DETAIL_TIMEOUT);
        return;
    }
    if (status != SCSI_STATUS_GOOD) {
        isdsc = iscsi_login_error_to_isdsc(iscsi_get_error(ctx),
                                           &class_detail);
        trace_iscsi_hba_login_status(sess->id, class_detail);
        session_login_failed(sess, isdsc, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    session_logged_in(sess);
}

static void session_connect_cb(struct iscsi_context *ctx, int status,
                               void *data, void *opaque)
{
    IscsiHbaSession *sess = opaque;

    if (session_cb_stale(sess, ctx)) {
        return;
    }
    if (status != SCSI_STATUS_GOOD) {
        session_login_failed(sess, ISDSC_CONNECTION_FAILED,
                             status == SCSI_STATUS_TIMEOUT ?
                             ISCSI_HBA_DETAIL_TIMEOUT : ISCSI_HBA_DETAIL_NONE);
        return;
    }
    if (sess->state != SESSION_RECONNECTING) {
        sess->state = SESSION_LOGGING_IN;
    }
    if (iscsi_login_async(ctx, session_login_cb, sess) < 0) {
        session_login_failed(sess, ISDSC_LOGIN_FAILED, ISCSI_HBA_DETAIL_NONE);
    }
}

static struct iscsi_context *session_new_ctx(IscsiHbaSession *sess)
{
    IscsiHbaState *s = sess->s;
    const IscsiHbaLogin *l = &sess->login;
    g_autofree char *secret = NULL;
    struct iscsi_context *ctx;

    ctx = iscsi_create_context(l->initiator);
    if (!ctx) {
        return NULL;
    }
    iscsi_set_session_type(ctx, l->discovery ? ISCSI_SESSION_DISCOVERY :
                                               ISCSI_SESSION_NORMAL);
    if (!l->discovery) {
        iscsi_set_targetname(ctx, l->target);
    }
    iscsi_set_header_digest(ctx, l->digest & ISCSI_HBA_DIGEST_HEADER_CRC32C ?
                            ISCSI_HEADER_DIGEST_CRC32C_NONE :
                            ISCSI_HEADER_DIGEST_NONE);
    if (l->auth != ISCSI_HBA_AUTH_NONE) {
        secret = g_strndup((const char *)l->secret, l->secret_len);
        iscsi_set_initiator_username_pwd(ctx, l->user, secret);
        secret_wipe(secret, l->secret_len);
    }
    if (l->auth == ISCSI_HBA_AUTH_MUTUAL_CHAP) {
        /*
         * A guest session's target proves itself with the secret of
         * SET_CHAP_SECRET as it is now; a host target's was read when its
         * object was created.
         */
        iscsi_set_target_username_pwd(ctx, l->target_user,
                                      l->host_configured ? l->target_secret :
                                      s->chap_initiator_secret);
    }
    iscsi_set_noautoreconnect(ctx, 1);
    iscsi_set_timeout(ctx, s->cmd_timeout);
    session_negotiate_start(sess, ctx);
    return ctx;
}

static void session_resolved(void *opaque, const char *portal, int err);

static void session_start_connect(IscsiHbaSession *sess)
{
    assert(sess->portal);
    sess->ctx = session_new_ctx(sess);
    if (!sess->ctx) {
        session_login_failed(sess, ISDSC_OUT_OF_RESOURCES,
                             ISCSI_HBA_DETAIL_NONE);
        return;
    }
    if (sess->state != SESSION_RECONNECTING) {
        sess->state = SESSION_CONNECTING;
    }
    sess->deadline = now_ms() + sess->s->login_timeout * 1000;
    trace_iscsi_hba_connect(sess->id, sess->portal);
    if (iscsi_connect_async(sess->ctx, sess->portal, session_connect_cb,
                            sess) < 0) {
        session_login_failed(sess, ISDSC_CONNECTION_FAILED,
                             ISCSI_HBA_DETAIL_NONE);
        return;
    }
    iscsi_hba_session_update_events(sess);
}

/* An attempt starts with a name lookup until one has succeeded. */
static void session_start_attempt(IscsiHbaSession *sess)
{
    if (sess->portal) {
        session_start_connect(sess);
        return;
    }
    sess->deadline = now_ms() + sess->s->login_timeout * 1000;
    sess->resolve = iscsi_hba_resolve(sess->s, sess->login.host,
                                      sess->login.port, session_resolved,
                                      sess);
}

static void session_resolved(void *opaque, const char *portal, int err)
{
    IscsiHbaSession *sess = opaque;

    sess->resolve = NULL;
    if (!portal) {
        session_login_failed(sess, ISDSC_DNS_NAME_UNRESOLVED,
                             ISCSI_HBA_DETAIL_NONE);
        return;
    }
    sess->portal = g_strdup(portal);
    session_start_connect(sess);
}

/* ---- connection loss and reconnection ---- */

static void session_connection_lost(IscsiHbaSession *sess, uint32_t status)
{
    trace_iscsi_hba_connection_lost(sess->id, status);
    sess->state = SESSION_RECONNECTING;
    sess->last_status = status;
    sess->lost_at = now_ms();
    sess->next_retry = sess->lost_at + time2wait(sess) * 1000;
    session_drop_ctx(sess);
    iscsi_hba_event_post(sess->s, ISCSI_HBA_EVENT_SESSION_LOST, sess->id,
                         status);
}

static void session_connection_error(IscsiHbaSession *sess)
{
    switch (sess->state) {
    case SESSION_LOGGED_IN:
        if (sess->login.discovery) {
            session_finish_waiter(sess, ISDSC_CONNECTION_FAILED,
                                  ISCSI_HBA_DETAIL_CONNECTION_LOST, 0);
            session_discard(sess);
        } else {
            session_connection_lost(sess, ISDSC_CONNECTION_FAILED);
        }
        break;
    case SESSION_LOGGING_OUT:
        session_finish_waiter(sess, ISCSI_HBA_STATUS_SUCCESS,
                              ISCSI_HBA_DETAIL_NONE, 0);
        session_discard(sess);
        break;
    default:
        session_login_failed(sess, ISDSC_CONNECTION_FAILED,
                             ISCSI_HBA_DETAIL_NONE);
        break;
    }
}

static void session_deadline_passed(IscsiHbaSession *sess)
{
    sess->deadline = 0;
    if (sess->state == SESSION_LOGGING_OUT) {
        session_finish_waiter(sess, ISCSI_HBA_STATUS_SUCCESS,
                              ISCSI_HBA_DETAIL_NONE, 0);
        session_discard(sess);
    } else if (sess->state == SESSION_LOGGED_IN && sess->login.discovery) {
        session_finish_waiter(sess, ISDSC_CONNECTION_FAILED,
                              ISCSI_HBA_DETAIL_TIMEOUT, 0);
        session_discard(sess);
    } else if (sess->state != SESSION_LOGGED_IN) {
        if (sess->resolve) {
            iscsi_hba_resolve_cancel(sess->resolve);
            sess->resolve = NULL;
        }
        session_login_failed(sess, ISDSC_CONNECTION_FAILED,
                             ISCSI_HBA_DETAIL_TIMEOUT);
    }
}

static void session_keepalive(IscsiHbaSession *sess)
{
    int64_t now = now_ms();

    if (iscsi_get_nops_in_flight(sess->ctx) >= MAX_NOPS_IN_FLIGHT) {
        session_connection_lost(sess, ISDSC_CONNECTION_FAILED);
        return;
    }
    if (now - sess->last_nop >= NOP_INTERVAL_MS) {
        sess->last_nop = now;
        iscsi_nop_out_async(sess->ctx, NULL, NULL, 0, NULL);
        iscsi_hba_session_update_events(sess);
    }
}

static void session_reconnect_tick(IscsiHbaSession *sess)
{
    int64_t now = now_ms();

    if (sess->ctx || sess->resolve) {
        return;                     /* an attempt is under way */
    }
    if (now - sess->lost_at >= time2retain(sess) * 1000) {
        trace_iscsi_hba_session_failed(sess->id, sess->last_status);
        sess->state = SESSION_FAILED;
        iscsi_hba_event_post(sess->s, ISCSI_HBA_EVENT_SESSION_FAILED,
                             sess->id, sess->last_status);
        return;
    }
    if (now >= sess->next_retry && !sess->resolve) {
        sess->next_retry = now + time2wait(sess) * 1000;
        session_start_attempt(sess);
    }
}

static void session_tick(void *opaque)
{
    IscsiHbaSession *sess = opaque;

    timer_mod(sess->tick, now_ms() + TICK_MS);
    if (!sess->s->vm_running) {
        return;
    }
    if (sess->ctx && !session_service(sess, 0)) {
        return;
    }
    /* Teardown decided below waits for the session_settle() at the end. */
    sess->in_service++;
    if (sess->deadline && now_ms() >= sess->deadline) {
        session_deadline_passed(sess);
    } else if (sess->state == SESSION_LOGGED_IN && !sess->login.discovery &&
               sess->ctx) {
        session_keepalive(sess);
    } else if (sess->state == SESSION_RECONNECTING) {
        session_reconnect_tick(sess);
    }
    sess->in_service--;
    session_settle(sess);
}

/* ---- public entry points ---- */

static bool same_target(IscsiHbaSession *a, const IscsiHbaLogin *l)
{
    return !a->login.discovery && a->state != SESSION_FAILED &&
           !strcmp(a->login.target, l->target) &&
           !strcmp(a->login.host, l->host) && a->login.port == l->port;
}

/*
 * Start a login (or a discovery session, which gets no id).  Returns 0
 * when the request will be completed later, or the ISDSC status to
 * complete it with now.
 */
uint32_t iscsi_hba_session_login(IscsiHbaState *s, IscsiHbaRequest *req,
                                 const IscsiHbaLogin *login)
{
    IscsiHbaSession *sess;
    unsigned i = 0;
    uint32_t injected;

    if (login->discovery) {
        QLIST_FOREACH(sess, &s->discoveries, link) {
            i++;
        }
        if (i >= MAX_DISCOVERIES) {
            return ISDSC_SESSION_BUSY;
        }
    } else {
        for (i = 0; i < s->max_sessions; i++) {
            if (s->sessions[i] && same_target(s->sessions[i], login)) {
                return ISDSC_TARGET_ALREADY_LOGGED_IN;
            }
        }
    }
    if (req && iscsi_hba_resolve_busy(s, login->host)) {
        return ISDSC_SESSION_BUSY;
    }
    sess = g_new0(IscsiHbaSession, 1);
    sess->s = s;
    sess->login = *login;
    sess->fd = -1;
    QTAILQ_INIT(&sess->tasks);
    QTAILQ_INIT(&sess->retired);
    if (login->discovery) {
        QLIST_INSERT_HEAD(&s->discoveries, sess, link);
    } else if (!slot_alloc(sess)) {
        g_free(sess);
        return ISDSC_TOO_MANY_SESSIONS;
    }
    if (login->auth != ISCSI_HBA_AUTH_NONE &&
        iscsi_chap_secret_is_short(login->secret_len)) {
        sess->warn_status = ISDSC_SHORT_CHAP_SECRET;
    }
    sess->waiter = req;
    sess->state = SESSION_RESOLVING;
    sess->tick = timer_new_ms(QEMU_CLOCK_REALTIME, session_tick, sess);
    sess->deadline = now_ms() + s->login_timeout * 1000;
    timer_mod(sess->tick, now_ms() + TICK_MS);
    trace_iscsi_hba_login(sess->id, login->host, login->port);
    injected = login->host_configured ?
               iscsi_hba_fault_host_login(s, login->target) : 0;
    if (injected) {
        /* as if the target refused it: retried after time2wait */
        session_login_failed(sess, injected, ISCSI_HBA_DETAIL_INJECTED);
        return 0;
    }
    sess->resolve = iscsi_hba_resolve(s, login->host, login->port,
                                      session_resolved, sess);
    return 0;
}

static void session_logout_cb(struct iscsi_context *ctx, int status,
                              void *data, void *opaque)
{
    IscsiHbaSession *sess = opaque;

    if (session_cb_stale(sess, ctx)) {
        return;
    }
    session_finish_waiter(sess, ISCSI_HBA_STATUS_SUCCESS,
                          ISCSI_HBA_DETAIL_NONE, 0);
    session_discard(sess);
}

/*
 * End a session.  Commands still in flight complete first, with
 * ISDSC_SCSI_REQUEST_FAILED (ABORTED); the LOGOUT itself succeeds once the
 * target answers, or after LOGOUT_TIMEOUT_MS, or at once when the session
 * has no connection.
 */
void iscsi_hba_session_logout(IscsiHbaSession *sess, IscsiHbaRequest *req)
{
    trace_iscsi_hba_logout(sess->id);
    if (sess->waiter || iscsi_hba_session_abi_state(sess) ==
                        ISCSI_HBA_SESSION_STATE_LOGGING_IN) {
        iscsi_hba_req_fail(req, ISDSC_SESSION_BUSY, ISCSI_HBA_DETAIL_NONE);
        return;
    }
    sess->waiter = req;
    iscsi_hba_scsi_cancel_all(sess, ISDSC_SCSI_REQUEST_FAILED,
                              ISCSI_HBA_DETAIL_ABORTED);
    iscsi_hba_fault_logout(sess->s, sess->id);
    /* A cancelled WRITE's Data-Out may be queued: no logout, just close. */
    if (!iscsi_hba_session_usable(sess) || sess->reset_needed) {
        session_finish_waiter(sess, ISCSI_HBA_STATUS_SUCCESS,
                              ISCSI_HBA_DETAIL_NONE, 0);
        session_discard(sess);
        return;
    }
    sess->state = SESSION_LOGGING_OUT;
    sess->deadline = now_ms() + LOGOUT_TIMEOUT_MS;
    if (iscsi_logout_async(sess->ctx, session_logout_cb, sess) < 0) {
        session_finish_waiter(sess, ISCSI_HBA_STATUS_SUCCESS,
                              ISCSI_HBA_DETAIL_NONE, 0);
        session_discard(sess);
        return;
    }
    iscsi_hba_session_update_events(sess);
}

/* Controller reset or unplug: sessions go without completing anything. */
void iscsi_hba_sessions_drop_all(IscsiHbaState *s)
{
    unsigned i;

    for (i = 0; i < s->max_sessions; i++) {
        if (s->sessions[i]) {
            s->sessions[i]->waiter = NULL;
            session_free(s->sessions[i]);
        }
    }
    while (!QLIST_EMPTY(&s->discoveries)) {
        QLIST_FIRST(&s->discoveries)->waiter = NULL;
        session_free(QLIST_FIRST(&s->discoveries));
    }
}

/* Apply what task detaching decided (a WRITE may need a reset). */
void iscsi_hba_sessions_settle(IscsiHbaState *s)
{
    unsigned i;

    for (i = 0; i < s->max_sessions; i++) {
        if (s->sessions[i] && s->sessions[i]->reset_needed) {
            session_settle(s->sessions[i]);
        }
    }
}

/* The VM stopped or runs again: stop or start watching the sockets. */
void iscsi_hba_sessions_vm_state(IscsiHbaState *s)
{
    IscsiHbaSession *sess;
    unsigned i;

    for (i = 0; i < s->max_sessions; i++) {
        if (s->sessions[i]) {
            iscsi_hba_session_update_events(s->sessions[i]);
        }
    }
    QLIST_FOREACH(sess, &s->discoveries, link) {
        iscsi_hba_session_update_events(sess);
    }
}

void iscsi_hba_sessions_cleanup(IscsiHbaState *s)
{
    iscsi_hba_sessions_drop_all(s);
    g_free(s->sessions);
    g_free(s->session_gen);
    s->sessions = NULL;
    s->session_gen = NULL;
}

/* ---- discovery ---- */

/* SendTargets text: "TargetName=...\0TargetAddress=...\0..." */
static GString *discovery_text(struct iscsi_discovery_address *addr)
{
    GString *text = g_string_new(NULL);
    struct iscsi_target_portal *p;

    for (; addr; addr = addr->next) {
        g_string_append_printf(text, "TargetName=%s", addr->target_name);
        g_string_append_c(text, '\0');
        for (p = addr->portals; p; p = p->next) {
            g_string_append_printf(text, "TargetAddress=%s", p->portal);
            g_string_append_c(text, '\0');
        }
    }
    return text;
}

static void session_discovery_cb(struct iscsi_context *ctx, int status,
                                 void *data, void *opaque)
{
    IscsiHbaSession *sess = opaque;
    IscsiHbaRequest *req = sess->waiter;
    g_autoptr(GString) text = NULL;
    uint32_t len2;

    if (session_cb_stale(sess, ctx) || !req) {
        return;
    }
    if (status != SCSI_STATUS_GOOD) {
        if (status == SCSI_STATUS_TIMEOUT) {
            session_finish_waiter(sess, ISDSC_CONNECTION_FAILED,
                                  ISCSI_HBA_DETAIL_TIMEOUT, 0);
        } else if (status == SCSI_STATUS_CANCELLED) {
            session_finish_waiter(sess, ISDSC_CONNECTION_FAILED,
                                  ISCSI_HBA_DETAIL_CONNECTION_LOST, 0);
        } else {
            session_finish_waiter(sess, ISDSC_INVALID_SENDTARGETS_TEXT,
                                  ISCSI_HBA_DETAIL_NONE, 0);
        }
        session_discard(sess);
        return;
    }
    text = discovery_text(data);
    len2 = le32_to_cpu(req->sqe.u.buf.len2);
    sess->waiter = NULL;
    if (len2 < text->len) {
        req->cqe.result = text->len;
        iscsi_hba_req_fail(req, ISDSC_BUFFER_TOO_SMALL,
                           ISCSI_HBA_DETAIL_BAD_LENGTH);
    } else {
        iscsi_hba_req_set_payload(req, ISCSI_HBA_PAYLOAD_BUFFER,
                                  le64_to_cpu(req->sqe.u.buf.addr2),
                                  text->str, text->len);
        req->cqe.result = text->len;
        iscsi_hba_req_complete(req);
    }
    session_discard(sess);
}
