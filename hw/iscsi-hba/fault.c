/*
 * iscsi-hba: fault injection
 *
 * Rules (QAPI IscsiHbaFaultRule) come from QMP, HMP, or the device's
 * fault-rules / fault-file properties.  Each command about to execute is
 * described by an IscsiHbaFaultCtx; the first rule that matches it and
 * whose timing says "now" (nth match, count, seeded probability) fires.
 * An injected status travels the same way as a real one: completion
 * entry, LAST_STATUS, asynchronous events.  Rules are host configuration:
 * they survive controller and PCI resets.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/clone-visitor.h"
#include "qapi/qapi-commands-iscsi-hba.h"
#include "qapi/qapi-events-iscsi-hba.h"
#include "qapi/qapi-visit-iscsi-hba.h"
#include <sys/socket.h>
#include <iscsi/iscsi.h>
#include "fault.h"
#include "fault-logic.h"
#include "session.h"
#include "trace.h"

#define FAULT_EVENTS_PER_SECOND 50
#define FAULT_MAX_RULES         256
#define FAULT_MAX_DELAY_MS      600000

struct IscsiHbaFault {
    uint32_t id;
    IscsiHbaFaultRule *rule;
    uint32_t status;                /* parsed rule->status */
    uint64_t matches;
    uint64_t hits;
    uint64_t rng;
    QTAILQ_ENTRY(IscsiHbaFault) entry;
};

/* ---- rules ---- */

static bool op_has_session(IscsiHbaFaultOp op)
{
    return op == ISCSI_HBA_FAULT_OP_SCSI || op == ISCSI_HBA_FAULT_OP_TMF;
}

/* Check a rule; every error names the member that is wrong. */
static bool fault_rule_check(const IscsiHbaFaultRule *r, uint32_t *status,
                             Error **errp)
{
    bool scsi = r->op == ISCSI_HBA_FAULT_OP_SCSI;
    const char *why;

    *status = 0;
    if (r->has_session && (r->op == ISCSI_HBA_FAULT_OP_LOGIN ||
                           r->op == ISCSI_HBA_FAULT_OP_DISCOVERY)) {
        error_setg(errp, "session: not for op 'login' or 'discovery'");
        return false;
    }
    if (r->has_lun && !op_has_session(r->op)) {
        error_setg(errp, "lun: only for op 'scsi' or 'tmf'");
        return false;
    }
    if ((r->has_lba_start || r->has_lba_end || r->has_direction) && !scsi) {
        error_setg(errp, "%s: only for op 'scsi'",
                   r->has_direction ? "direction" : "lba-start");
        return false;
    }
    if (r->has_lba_end && !r->has_lba_start) {
        error_setg(errp, "lba-end: needs lba-start");
        return false;
    }
    if (r->has_lba_end && r->lba_end < r->lba_start) {
        error_setg(errp, "lba-end: must not be below lba-start");
        return false;
    }
    if (r->has_nth && r->nth == 0) {
        error_setg(errp, "nth: counts from 1");
        return false;
    }
    if (r->has_probability && !(r->probability > 0 && r->probability <= 1)) {
        error_setg(errp, "probability: must be above 0 and at most 1");
        return false;
    }
    if (r->has_after_target && r->after_target &&
        (!scsi || (r->action != ISCSI_HBA_FAULT_ACTION_STATUS &&
                   r->action != ISCSI_HBA_FAULT_ACTION_SCSI_STATUS))) {
        error_setg(errp, "after-target: only for op 'scsi' with action "
                   "'status' or 'scsi-status'");
        return false;
    }
    if (r->status && r->action != ISCSI_HBA_FAULT_ACTION_STATUS) {
        error_setg(errp, "status: only for action 'status'");
        return false;
    }
    if (r->has_delay_ms && r->action != ISCSI_HBA_FAULT_ACTION_DELAY) {
        error_setg(errp, "delay-ms: only for action 'delay'");
        return false;
    }
    if ((r->has_scsi_status || r->has_sense_key || r->has_asc ||
         r->has_ascq) && r->action != ISCSI_HBA_FAULT_ACTION_SCSI_STATUS) {
        error_setg(errp, "scsi-status, sense-key, asc, ascq: only for "
                   "action 'scsi-status'");
        return false;
    }
    switch (r->action) {
    case ISCSI_HBA_FAULT_ACTION_STATUS:
        if (!r->status) {
            error_setg(errp, "status: required for action 'status'");
            return false;
        }
        if (!iscsi_hba_status_parse(r->status, r->has_raw && r->raw, status,
                                    &why)) {
            error_setg(errp, "status: '%s': %s", r->status, why);
            return false;
        }
        break;
    case ISCSI_HBA_FAULT_ACTION_SCSI_STATUS:
        if (!scsi) {
            error_setg(errp, "action: 'scsi-status' only for op 'scsi'");
            return false;
        }
        if (r->has_sense_key && r->sense_key > 0xf) {
            error_setg(errp, "sense-key: must be 0 to 15");
            return false;
        }
        break;
    case ISCSI_HBA_FAULT_ACTION_DELAY:
        if (!r->has_delay_ms || !r->delay_ms ||
            r->delay_ms > FAULT_MAX_DELAY_MS) {
            error_setg(errp, "delay-ms: required for action 'delay', 1 to %d",
                       FAULT_MAX_DELAY_MS);
            return false;
        }
        break;
    case ISCSI_HBA_FAULT_ACTION_DISCONNECT:
        if (!op_has_session(r->op)) {
            error_setg(errp, "action: 'disconnect' only for op 'scsi' or "
                       "'tmf'");
            return false;
        }
        break;
    default:
        break;
    }
    return true;
}

static IscsiHbaFault *fault_new(IscsiHbaState *s, IscsiHbaFaultRule *rule,
                                uint32_t status)
{
    IscsiHbaFault *f = g_new0(IscsiHbaFault, 1);

    f->id = ++s->fault_next_id;
    f->rule = rule;
    f->status = status;
    f->rng = rule->has_seed ? rule->seed : 1;
    return f;
}

static void fault_free(IscsiHbaFault *f)
{
    qapi_free_IscsiHbaFaultRule(f->rule);
    g_free(f);
}

unsigned iscsi_hba_fault_count(IscsiHbaState *s)
{
    IscsiHbaFault *f;
    unsigned n = 0;

    QTAILQ_FOREACH(f, &s->faults, entry) {
        n++;
    }
    return n;
}

/* ---- matching ---- */

static bool fault_matches(const IscsiHbaFaultRule *r,
                          const IscsiHbaFaultCtx *c)
{
    uint64_t end, last;

    if (r->op == ISCSI_HBA_FAULT_OP_ADMIN ? !c->admin : r->op != c->op) {
        return false;
    }
    if (r->target && (!c->target || strcmp(r->target, c->target))) {
        return false;
    }
    if ((r->has_session && r->session != c->session) ||
        (r->has_lun && r->lun != c->lun) ||
        (r->has_opcode && r->opcode != c->opcode) ||
        (r->has_direction && (int)r->direction != c->dir)) {
        return false;
    }
    if (r->has_lba_start) {
        if (!c->has_lba) {
            return false;
        }
        end = r->has_lba_end ? r->lba_end : r->lba_start;
        last = c->lba + MAX(c->blocks, 1) - 1;
        if (c->lba > end || last < r->lba_start) {
            return false;
        }
    }
    return true;
}

/* The rule matched: does it fire on this match? */
static bool fault_fires(IscsiHbaFault *f)
{
    const IscsiHbaFaultRule *r = f->rule;
    uint32_t nth = r->has_nth ? r->nth : 1;
    uint32_t count = r->has_count ? r->count : 1;

    f->matches++;
    if (f->matches < nth || (count && f->hits >= count)) {
        return false;
    }
    if (r->has_probability && !iscsi_hba_prng_chance(&f->rng,
                                                     r->probability)) {
        return false;
    }
    f->hits++;
    return true;
}

static void fault_event(IscsiHbaState *s, IscsiHbaFault *f,
                        const IscsiHbaFaultCtx *c)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    g_autofree char *path = NULL;

    trace_iscsi_hba_fault(f->id, c->op, f->rule->action, f->status);
    if (now - s->fault_ev_window >= 1000) {
        s->fault_ev_window = now;
        s->fault_ev_count = 0;
    }
    if (s->fault_ev_count++ >= FAULT_EVENTS_PER_SECOND) {
        s->fault_ev_suppressed++;
        return;
    }
    path = object_get_canonical_path(OBJECT(s));
    qapi_event_send_iscsi_hba_fault(path, f->id, c->op, f->rule->action,
                                    f->status);
}

/* ---- actions ---- */

/* Complete a SCSI command with a SAM status and fixed-format sense. */
static void fault_scsi_status(IscsiHbaRequest *req, uint8_t status,
                              uint8_t key, uint8_t asc, uint8_t ascq)
{
    const struct iscsi_hba_scsi_cmd *c = &req->sqe.u.scsi;
    uint8_t sense[18] = { 0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0,
                          asc, ascq };
    uint32_t len = MIN(sizeof(sense), c->sense_len);

    req->cqe.status = ISCSI_HBA_STATUS_SUCCESS;
    req->cqe.detail = ISCSI_HBA_DETAIL_INJECTED;
    req->cqe.scsi_status = status;
    req->cqe.flags &= ~ISCSI_HBA_CQE_SENSE_VALID;
    req->cqe.sense_len = 0;
    g_free(req->payload.data);
    memset(&req->payload, 0, sizeof(req->payload));
    if (status != 0x02 || !len) {
        return;
    }
    /* Written by the queue bottom half when the completion is posted. */
    iscsi_hba_req_set_payload(req, ISCSI_HBA_PAYLOAD_SENSE,
                              le64_to_cpu(c->sense_addr), sense, len);
}

static void fault_disconnect(IscsiHbaSession *sess)
{
    int fd = sess && sess->ctx ? iscsi_get_fd(sess->ctx) : -1;

    /* The connection breaks for real: libiscsi sees EOF, reconnect runs */
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
    }
}

/*
 * A command is about to execute.  Returns true if a rule consumed it
 * (completed it, or holds it forever); false to go on, possibly with a
 * delay or an after-target action recorded in req->fault.
 */
bool iscsi_hba_fault_before(IscsiHbaRequest *req, const IscsiHbaFaultCtx *c,
                            IscsiHbaSession *sess)
{
    IscsiHbaState *s = req->q->s;
    const IscsiHbaFaultRule *r;
    IscsiHbaFault *f;

    QTAILQ_FOREACH(f, &s->faults, entry) {
        if (fault_matches(f->rule, c) && fault_fires(f)) {
            break;
        }
    }
    if (!f) {
        return false;
    }
    r = f->rule;
    fault_event(s, f, c);
    if (r->has_after_target && r->after_target) {
        req->fault.after = r->action + 1;
        req->fault.status = f->status;
        req->fault.scsi_status = r->has_scsi_status ? r->scsi_status : 0x02;
        req->fault.key = r->has_sense_key ? r->sense_key : 0x3;
        req->fault.asc = r->has_asc ? r->asc : 0x11;
        req->fault.ascq = r->has_ascq ? r->ascq : 0;
        return false;
    }
    switch (r->action) {
    case ISCSI_HBA_FAULT_ACTION_STATUS:
        iscsi_hba_req_fail(req, f->status, ISCSI_HBA_DETAIL_INJECTED);
        return true;
    case ISCSI_HBA_FAULT_ACTION_SCSI_STATUS:
        fault_scsi_status(req, r->has_scsi_status ? r->scsi_status : 0x02,
                          r->has_sense_key ? r->sense_key : 0x3,
                          r->has_asc ? r->asc : 0x11,
                          r->has_ascq ? r->ascq : 0);
        iscsi_hba_req_complete(req);
        return true;
    case ISCSI_HBA_FAULT_ACTION_DELAY:
        req->fault.delay_ms = r->delay_ms;
        return false;
    case ISCSI_HBA_FAULT_ACTION_DROP:
        req->fault.held = true;
        return true;
    case ISCSI_HBA_FAULT_ACTION_DISCONNECT:
        fault_disconnect(sess);
        return false;
    default:
        g_assert_not_reached();
    }
}

/*
 * A login the adapter starts by itself, for a host-configured target: an
 * op=login rule with action=status that fires fails it with its status (no
 * request carries it: the session records it and retries, as after a
 * refused login).  Other actions do not apply to these logins and do not
 * count them.  Returns the status, or 0.
 */
uint32_t iscsi_hba_fault_host_login(IscsiHbaState *s, const char *target)
{
    IscsiHbaFaultCtx c = {
        .op = ISCSI_HBA_FAULT_OP_LOGIN,
        .target = target,
        .lun = -1,
        .opcode = -1,
        .dir = -1,
    };
    IscsiHbaFault *f;

    QTAILQ_FOREACH(f, &s->faults, entry) {
        if (f->rule->action == ISCSI_HBA_FAULT_ACTION_STATUS &&
            fault_matches(f->rule, &c) && fault_fires(f)) {
            fault_event(s, f, &c);
            return f->status;
        }
    }
    return 0;
}

/* The target answered a SCSI command: replace its answer if asked to. */
void iscsi_hba_fault_after_target(IscsiHbaRequest *req)
{
    IscsiHbaReqFault *rf = &req->fault;

    if (rf->after == ISCSI_HBA_FAULT_ACTION_STATUS + 1) {
        req->cqe.status = rf->status;
        req->cqe.detail = ISCSI_HBA_DETAIL_INJECTED;
    } else if (rf->after == ISCSI_HBA_FAULT_ACTION_SCSI_STATUS + 1) {
        fault_scsi_status(req, rf->scsi_status, rf->key, rf->asc, rf->ascq);
    }
    rf->after = 0;
}

/* A fault rule holds it: dropped, or its completion delayed. */
static bool fault_holds(IscsiHbaRequest *req, uint32_t session)
{
    return req->sqe.hdr.session_id == session &&
           (req->fault.held || iscsi_hba_req_delayed(req));
}

/* Does task management function @m (NULL: LOGOUT) reach @req? */
static bool fault_tmf_reaches(const struct iscsi_hba_task_mgmt *m,
                              uint16_t qid, IscsiHbaRequest *req)
{
    if (!m) {
        return true;
    }
    switch (m->function) {
    case ISCSI_HBA_TMF_ABORT_TASK:
        return qid == le16_to_cpu(m->ref_sqid) &&
               req->cqe.cid == le16_to_cpu(m->ref_cid);
    case ISCSI_HBA_TMF_LUN_RESET:
        return !memcmp(req->sqe.u.scsi.lun, m->lun, 8);
    default:
        return true;
    }
}

/*
 * End the held commands of @session that @m reaches (all of them for
 * LOGOUT, @m NULL) as aborted.  Returns true if @m is ABORT_TASK and
 * found its command.
 */
static bool fault_release_held(IscsiHbaState *s, uint32_t session,
                               const struct iscsi_hba_task_mgmt *m)
{
    IscsiHbaRequest *req, *next;
    unsigned qid;

    for (qid = 1; qid <= s->num_queues; qid++) {
        IscsiHbaQueue *q = &s->queues[qid];

        if (!q->created) {
            continue;
        }
        QTAILQ_FOREACH_SAFE(req, &q->inflight, entry, next) {
            if (!fault_holds(req, session) ||
                !fault_tmf_reaches(m, qid, req)) {
                continue;
            }
            iscsi_hba_req_abort_held(req);
            if (m && m->function == ISCSI_HBA_TMF_ABORT_TASK) {
                return true;
            }
        }
    }
    return false;
}

/*
 * Task management reaches commands a drop rule holds, or whose completion
 * a delay rule holds: the target no longer knows them, so the device
 * answers for it.  ABORT_TASK of a held command completes here (result
 * 0, function complete); LUN and target resets release the held commands
 * of their scope and then go to the target.
 */
bool iscsi_hba_fault_tmf_held(IscsiHbaRequest *tmf)
{
    if (!fault_release_held(tmf->q->s, tmf->sqe.hdr.session_id,
                            &tmf->sqe.u.tmf)) {
        return false;
    }
    tmf->cqe.result = ISCSI_TMR_FUNC_COMPLETE;
    iscsi_hba_req_complete(tmf);
    return true;
}

/* LOGOUT: the commands fault rules hold complete before it does. */
void iscsi_hba_fault_logout(IscsiHbaState *s, uint32_t session)
{
    fault_release_held(s, session, NULL);
}

/* ---- configuration ---- */

static IscsiHbaState *fault_device(const char *device, Error **errp)
{
    g_autofree char *path = g_strconcat("/machine/peripheral/", device, NULL);
    Object *obj;

    obj = object_resolve_path_type(device, TYPE_ISCSI_HBA, NULL);
    if (!obj) {
        obj = object_resolve_path_type(path, TYPE_ISCSI_HBA, NULL);
    }
    if (!obj || !DEVICE(obj)->realized) {
        error_setg(errp, "device: '%s' is not an iscsi-hba adapter", device);
        return NULL;
    }
    return ISCSI_HBA(obj);
}

/* Check, then install: nothing is half-applied. */
static IscsiHbaFault *fault_install(IscsiHbaState *s,
                                    const IscsiHbaFaultRule *rule,
                                    Error **errp)
{
    IscsiHbaFault *f;
    uint32_t status;

    if (!fault_rule_check(rule, &status, errp)) {
        return NULL;
    }
    if (iscsi_hba_fault_count(s) >= FAULT_MAX_RULES) {
        error_setg(errp, "too many fault rules (at most %d)",
                   FAULT_MAX_RULES);
        return NULL;
    }
    f = fault_new(s, QAPI_CLONE(IscsiHbaFaultRule, rule), status);
    QTAILQ_INSERT_TAIL(&s->faults, f, entry);
    return f;
}

IscsiHbaFaultAdded *qmp_iscsi_hba_fault_add(const char *device,
                                            IscsiHbaFaultRule *rule,
                                            Error **errp)
{
    IscsiHbaState *s = fault_device(device, errp);
    IscsiHbaFaultAdded *added;
    IscsiHbaFault *f;

    if (!s) {
        return NULL;
    }
    f = fault_install(s, rule, errp);
    if (!f) {
        return NULL;
    }
    added = g_new0(IscsiHbaFaultAdded, 1);
    added->id = f->id;
    return added;
}

void qmp_iscsi_hba_fault_del(const char *device, uint32_t id, Error **errp)
{
    IscsiHbaState *s = fault_device(device, errp);
    IscsiHbaFault *f;

    if (!s) {
        return;
    }
    QTAILQ_FOREACH(f, &s->faults, entry) {
        if (f->id == id) {
            QTAILQ_REMOVE(&s->faults, f, entry);
            fault_free(f);
            return;
        }
    }
    error_setg(errp, "id: no fault rule %u on '%s'", id, device);
}

void qmp_iscsi_hba_fault_clear(const char *device, Error **errp)
{
    IscsiHbaState *s = fault_device(device, errp);

    if (s) {
        iscsi_hba_faults_cleanup(s);
    }
}

IscsiHbaFaultRuleInfoList *qmp_query_iscsi_hba_faults(const char *device,
                                                      Error **errp)
{
    IscsiHbaState *s = fault_device(device, errp);
    IscsiHbaFaultRuleInfoList *list = NULL, **tail = &list;
    IscsiHbaFault *f;

    if (!s) {
        return NULL;
    }
    QTAILQ_FOREACH(f, &s->faults, entry) {
        IscsiHbaFaultRuleInfo *info = g_new0(IscsiHbaFaultRuleInfo, 1);

        info->id = f->id;
        info->rule = QAPI_CLONE(IscsiHbaFaultRule, f->rule);
        info->matches = f->matches;
        info->hits = f->hits;
        QAPI_LIST_APPEND(tail, info);
    }
    return list;
}

/* Parse a list of rules (one per item); all or nothing. */
static bool faults_add_texts(IscsiHbaState *s, char **texts,
                             const char *what, const char *unit, Error **errp)
{
    GPtrArray *rules = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qapi_free_IscsiHbaFaultRule);
    unsigned i, n = 0;
    Error *err = NULL;
    uint32_t status;
    bool ok = true;

    for (i = 0; texts[i] && ok; i++) {
        g_autofree char *text = g_strstrip(g_strdup(texts[i]));
        IscsiHbaFaultRule *r;

        if (!*text || *text == '#') {
            continue;
        }
        n++;
        r = iscsi_hba_fault_rule_parse(text, errp);
        ok = r && fault_rule_check(r, &status, errp);
        if (r) {
            g_ptr_array_add(rules, r);
        }
        if (!ok) {
            error_prepend(errp, "%s: %s %u: ", what, unit,
                          *unit == 'l' ? i + 1 : n);
        }
    }
    if (ok && iscsi_hba_fault_count(s) + rules->len > FAULT_MAX_RULES) {
        error_setg(errp, "%s: too many fault rules (at most %d)", what,
                   FAULT_MAX_RULES);
        ok = false;
    }
    /* Checked above: installing cannot fail, but never abort on input. */
    for (i = 0; ok && i < rules->len; i++) {
        if (!fault_install(s, g_ptr_array_index(rules, i), &err)) {
            error_propagate(errp, err);
            ok = false;
        }
    }
    g_ptr_array_free(rules, true);
    return ok;
}

/* Realize: rules given at start-up, inline and from a file. */
void iscsi_hba_faults_init(IscsiHbaState *s, Error **errp)
{
    g_auto(GStrv) inline_rules = NULL;
    g_auto(GStrv) lines = NULL;
    g_autofree char *contents = NULL;
    g_autoptr(GError) gerr = NULL;

    QTAILQ_INIT(&s->faults);
    if (s->fault_rules_prop) {
        inline_rules = g_strsplit(s->fault_rules_prop, ";", -1);
        if (!faults_add_texts(s, inline_rules, "fault-rules", "rule",
                              errp)) {
            iscsi_hba_faults_cleanup(s);
            return;
        }
    }
    if (s->fault_file_prop) {
        if (!g_file_get_contents(s->fault_file_prop, &contents, NULL,
                                 &gerr)) {
            error_setg(errp, "fault-file: %s", gerr->message);
            iscsi_hba_faults_cleanup(s);
            return;
        }
        lines = g_strsplit(contents, "\n", -1);
        if (!faults_add_texts(s, lines, "fault-file", "line", errp)) {
            iscsi_hba_faults_cleanup(s);
        }
    }
}

void iscsi_hba_faults_cleanup(IscsiHbaState *s)
{
    IscsiHbaFault *f;

    while ((f = QTAILQ_FIRST(&s->faults))) {
        QTAILQ_REMOVE(&s->faults, f, entry);
        fault_free(f);
    }
}
