/*
 * iscsi-hba: admin command set
 *
 * Every admin command completes with an ISDSC status; a failure also
 * carries an ISCSI_HBA_DETAIL_* code saying which check failed.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "fault.h"
#include "iscsi-name.h"
#include "session.h"
#include "trace.h"

#define ADMIN_NAME_MAX  ISCSI_HBA_ISCSI_NAME_MAX

static void invalid(IscsiHbaRequest *req, uint16_t detail)
{
    iscsi_hba_req_fail(req, ISDSC_INVALID_PARAMETER, detail);
}

static void ok(IscsiHbaRequest *req, uint64_t result)
{
    req->cqe.result = result;
    iscsi_hba_req_complete(req);
}

/*
 * Move a guest buffer (queue bottom half only); on failure the request
 * fails and false returns.  False too if the access reset the adapter
 * (through another device): the request is gone then.
 */
static bool admin_dma(IscsiHbaRequest *req, uint64_t addr, void *buf,
                      uint32_t len, DMADirection dir)
{
    IscsiHbaState *s = req->q->s;

    if (!iscsi_hba_dma_range_ok(s, addr, len)) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_ADDRESS);
        return false;
    }
    if (pci_dma_rw(PCI_DEVICE(s), addr, buf, len, dir,
                   MEMTXATTRS_UNSPECIFIED) != MEMTX_OK) {
        invalid(req, ISCSI_HBA_DETAIL_DMA_ERROR);
        return false;
    }
    return !iscsi_hba_req_stale(req);
}

/* Admin output written while the command executes, in the queue BH. */
static bool admin_write(IscsiHbaRequest *req, uint64_t addr,
                        const void *buf, uint32_t len)
{
    return admin_dma(req, addr, (void *)buf, len, DMA_DIRECTION_FROM_DEVICE);
}

static bool admin_read(IscsiHbaRequest *req, uint64_t addr, void *buf,
                       uint32_t len)
{
    return admin_dma(req, addr, buf, len, DMA_DIRECTION_TO_DEVICE);
}

void iscsi_hba_identify_fill(IscsiHbaState *s, struct iscsi_hba_identify *id)
{
    PCIDevice *pci = PCI_DEVICE(s);

    memset(id, 0, sizeof(*id));
    id->vendor_id = cpu_to_le16(pci_get_word(pci->config + PCI_VENDOR_ID));
    id->device_id = cpu_to_le16(pci_get_word(pci->config + PCI_DEVICE_ID));
    id->subsys_vendor_id =
        cpu_to_le16(pci_get_word(pci->config + PCI_SUBSYSTEM_VENDOR_ID));
    id->subsys_id = cpu_to_le16(pci_get_word(pci->config + PCI_SUBSYSTEM_ID));
    id->version = cpu_to_le32(ISCSI_HBA_VERSION);
    id->cap = cpu_to_le32(iscsi_hba_cap(s));
    id->max_io_queues = cpu_to_le16(s->num_queues);
    id->max_queue_entries = cpu_to_le16(s->max_queue_entries);
    id->max_sg_elements = cpu_to_le16(s->max_sg_elements);
    id->max_sessions = cpu_to_le16(s->max_sessions);
    id->max_transfer = cpu_to_le32(s->max_transfer);
    id->max_cdb_len = cpu_to_le16(ISCSI_HBA_DEVICE_CDB_LEN);
    id->max_sense_len = cpu_to_le16(ISCSI_HBA_MAX_SENSE_LEN);
    id->sqe_size = cpu_to_le16(sizeof(struct iscsi_hba_sqe));
    id->cqe_size = cpu_to_le16(sizeof(struct iscsi_hba_cqe));
    id->login_params_size =
        cpu_to_le16(sizeof(struct iscsi_hba_login_params));
    id->session_info_size =
        cpu_to_le16(sizeof(struct iscsi_hba_session_info));
    id->num_vectors = cpu_to_le16(iscsi_hba_num_vectors(s));
    id->num_host_targets = cpu_to_le16(iscsi_hba_host_targets_count(s));
    id->login_timeout_ms = cpu_to_le32(s->login_timeout * 1000);
    id->command_timeout_ms = cpu_to_le32(s->cmd_timeout * 1000);
    strpadcpy(id->serial, sizeof(id->serial), s->serial ?: "IHBA0001", '\0');
    strpadcpy(id->model, sizeof(id->model), "QEMU iSCSI HBA", '\0');
    strpadcpy(id->firmware, sizeof(id->firmware), "1.0", '\0');
    pstrcpy(id->initiator_name, sizeof(id->initiator_name),
            s->initiator_name);
}

static void adm_identify(IscsiHbaRequest *req)
{
    const struct iscsi_hba_buffer_cmd *c = &req->sqe.u.buf;
    uint32_t len = le32_to_cpu(c->len);
    g_autofree struct iscsi_hba_identify *id = NULL;

    if (len == 0 || len > ISCSI_HBA_IDENTIFY_SIZE) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    id = g_new(struct iscsi_hba_identify, 1);
    iscsi_hba_identify_fill(req->q->s, id);
    if (admin_write(req, le64_to_cpu(c->addr), id, len)) {
        ok(req, ISCSI_HBA_IDENTIFY_SIZE);
    }
}

static void adm_create_queue(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_create_queue *le = &req->sqe.u.create;
    struct iscsi_hba_create_queue c = {
        .sq_base = le64_to_cpu(le->sq_base),
        .cq_base = le64_to_cpu(le->cq_base),
        .qid = le16_to_cpu(le->qid),
        .vector = le16_to_cpu(le->vector),
        .sq_size = le16_to_cpu(le->sq_size),
        .cq_size = le16_to_cpu(le->cq_size),
    };
    uint16_t detail;

    if (req->sqe.hdr.flags & ~ISCSI_HBA_QUEUE_IRQ_ENABLE) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_FLAGS);
        return;
    }
    if (c.qid == ISCSI_HBA_ADMIN_QID || c.qid > s->num_queues) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_QID);
        return;
    }
    if (s->queues[c.qid].created) {
        invalid(req, ISCSI_HBA_DETAIL_QUEUE_EXISTS);
        return;
    }
    detail = iscsi_hba_queue_check(s, &c);
    if (detail != ISCSI_HBA_DETAIL_NONE) {
        invalid(req, detail);
        return;
    }
    iscsi_hba_queue_create(s, c.qid, &c,
                           req->sqe.hdr.flags & ISCSI_HBA_QUEUE_IRQ_ENABLE);
    ok(req, 0);
}

static void adm_delete_queue(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;
    uint16_t qid = le16_to_cpu(req->sqe.u.del.qid);

    if (qid == ISCSI_HBA_ADMIN_QID || qid > s->num_queues) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_QID);
        return;
    }
    if (!s->queues[qid].created) {
        invalid(req, ISCSI_HBA_DETAIL_QUEUE_NOT_FOUND);
        return;
    }
    iscsi_hba_queue_delete(&s->queues[qid]);
    ok(req, 0);
}

static void adm_set_initiator_name(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_buffer_cmd *c = &req->sqe.u.buf;
    uint32_t len = le32_to_cpu(c->len);
    char name[ADMIN_NAME_MAX + 1];
    const char *why;

    if (len == 0 || len > ADMIN_NAME_MAX) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    if (!admin_read(req, le64_to_cpu(c->addr), name, len)) {
        return;
    }
    name[len] = '\0';
    if (!iscsi_name_is_valid(name, len, &why)) {
        trace_iscsi_hba_bad_name(why);
        iscsi_hba_req_fail(req, ISDSC_INVALID_ISCSI_NAME,
                           ISCSI_HBA_DETAIL_BAD_NAME);
        return;
    }
    pstrcpy(s->initiator_name, sizeof(s->initiator_name), name);
    ok(req, 0);
}

static void adm_get_initiator_name(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_buffer_cmd *c = &req->sqe.u.buf;
    uint32_t need = strlen(s->initiator_name) + 1;

    if (le32_to_cpu(c->len) < need) {
        req->cqe.result = need;
        iscsi_hba_req_fail(req, ISDSC_BUFFER_TOO_SMALL,
                           ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    if (admin_write(req, le64_to_cpu(c->addr), s->initiator_name, need)) {
        ok(req, need);
    }
}

static void adm_list_sessions(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_buffer_cmd *c = &req->sqe.u.buf;
    unsigned count = iscsi_hba_session_count(s);
    uint32_t need = count * sizeof(uint32_t);
    g_autofree uint32_t *ids = NULL;
    unsigned i;

    if (count == 0) {
        ok(req, 0);
        return;
    }
    if (le32_to_cpu(c->len) < need) {
        req->cqe.result = need;
        iscsi_hba_req_fail(req, ISDSC_BUFFER_TOO_SMALL,
                           ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    ids = g_new(uint32_t, count);
    count = iscsi_hba_session_ids(s, ids, count);
    for (i = 0; i < count; i++) {
        ids[i] = cpu_to_le32(ids[i]);
    }
    if (admin_write(req, le64_to_cpu(c->addr), ids, need)) {
        ok(req, count);
    }
}

/* ---- sessions ---- */

/* Describe an admin command to fault injection; true if consumed. */
static bool admin_fault(IscsiHbaRequest *req, IscsiHbaFaultOp op,
                        const char *target, IscsiHbaSession *sess)
{
    IscsiHbaFaultCtx ctx = {
        .op = op,
        .admin = true,
        .target = target,
        .session = sess ? sess->id : 0,
        .lun = -1,
        .opcode = req->sqe.hdr.opcode,
        .dir = -1,
    };

    if (QTAILQ_EMPTY(&req->q->s->faults)) {
        return false;
    }
    return iscsi_hba_fault_before(req, &ctx, sess);
}

static bool field_terminated(const char *field, size_t size)
{
    return memchr(field, '\0', size) != NULL;
}

static bool all_zero(const uint8_t *p, size_t size)
{
    return buffer_is_zero(p, size);
}

/*
 * Check the login parameters and copy them to *l.  On failure sets
 * *status and *detail and returns false.  See docs/specs/iscsi-hba.rst
 * for the order of the checks.
 */
static bool login_params_check(IscsiHbaState *s,
                               const struct iscsi_hba_login_params *p,
                               bool discovery, IscsiHbaLogin *l,
                               uint32_t *status, uint16_t *detail)
{
    uint16_t secret_len = le16_to_cpu(p->chap_secret_len);
    const char *why;

    *status = ISDSC_INVALID_PARAMETER;
    *detail = ISCSI_HBA_DETAIL_NONE;
    if (p->login_flags || !all_zero(p->rsvd, sizeof(p->rsvd))) {
        *detail = ISCSI_HBA_DETAIL_BAD_FLAGS;
        return false;
    }
    if (!field_terminated(p->target_name, sizeof(p->target_name)) ||
        !field_terminated(p->initiator_name, sizeof(p->initiator_name)) ||
        !field_terminated(p->portal_host, sizeof(p->portal_host)) ||
        !field_terminated(p->chap_username, sizeof(p->chap_username)) ||
        !field_terminated(p->target_chap_username,
                          sizeof(p->target_chap_username))) {
        *detail = ISCSI_HBA_DETAIL_BAD_LENGTH;
        return false;
    }
    *detail = ISCSI_HBA_DETAIL_BAD_NAME;
    if (!discovery && !iscsi_name_is_valid(p->target_name,
                                           strlen(p->target_name), &why)) {
        *status = ISDSC_INVALID_ISCSI_NAME;
        return false;
    }
    if (p->initiator_name[0] &&
        !iscsi_name_is_valid(p->initiator_name, strlen(p->initiator_name),
                             &why)) {
        *status = ISDSC_INVALID_ISCSI_NAME;
        return false;
    }
    *detail = ISCSI_HBA_DETAIL_NONE;
    if (!p->portal_host[0]) {
        *status = ISDSC_NO_PORTAL_SPECIFIED;
        return false;
    }
    if (p->session_type != (discovery ? ISCSI_HBA_SESSION_DISCOVERY :
                                        ISCSI_HBA_SESSION_NORMAL)) {
        *status = ISDSC_SESSION_TYPE_NOT_SUPPORTED;
        *detail = ISCSI_HBA_DETAIL_BAD_FLAGS;
        return false;
    }
    if (p->auth_type > ISCSI_HBA_AUTH_MUTUAL_CHAP) {
        *status = ISDSC_INVALID_LOGON_AUTH_TYPE;
        return false;
    }
    if (p->auth_type != ISCSI_HBA_AUTH_NONE) {
        if (!p->chap_username[0]) {
            *status = ISDSC_INVALID_CHAP_USER_NAME;
            return false;
        }
        if (secret_len == 0 || secret_len >= sizeof(p->chap_secret) ||
            memchr(p->chap_secret, '\0', secret_len)) {
            *status = ISDSC_INVALID_CHAP_SECRET;
            return false;
        }
    }
    if (p->auth_type == ISCSI_HBA_AUTH_MUTUAL_CHAP) {
        if (!p->target_chap_username[0]) {
            *status = ISDSC_INVALID_CHAP_USER_NAME;
            return false;
        }
        if (!s->chap_initiator_secret[0]) {
            *status = ISDSC_INVALID_INITIATOR_CHAP_SECRET;
            return false;
        }
    }

    memset(l, 0, sizeof(*l));
    pstrcpy(l->target, sizeof(l->target), p->target_name);
    pstrcpy(l->initiator, sizeof(l->initiator),
            p->initiator_name[0] ? p->initiator_name : s->initiator_name);
    pstrcpy(l->host, sizeof(l->host), p->portal_host);
    pstrcpy(l->user, sizeof(l->user), p->chap_username);
    pstrcpy(l->target_user, sizeof(l->target_user), p->target_chap_username);
    if (p->auth_type == ISCSI_HBA_AUTH_MUTUAL_CHAP) {
        pstrcpy(l->target_secret, sizeof(l->target_secret),
                s->chap_initiator_secret);
    }
    if (p->auth_type != ISCSI_HBA_AUTH_NONE) {
        memcpy(l->secret, p->chap_secret, secret_len);
        l->secret_len = secret_len;
    }
    l->port = le16_to_cpu(p->portal_port) ?: ISCSI_HBA_DEFAULT_PORT;
    l->auth = p->auth_type;
    l->digest = p->digest;
    l->discovery = discovery;
    l->time2wait = le16_to_cpu(p->time2wait);
    l->time2retain = le16_to_cpu(p->time2retain);
    return true;
}

/* LOGIN and DISCOVERY: read and check the parameters, start the session. */
static void adm_login_common(IscsiHbaRequest *req, bool discovery)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_buffer_cmd *c = &req->sqe.u.buf;
    g_autofree struct iscsi_hba_login_params *p = NULL;
    g_autofree IscsiHbaLogin *l = NULL;
    uint32_t status;
    uint16_t detail;

    if (le32_to_cpu(c->len) < sizeof(*p)) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    p = g_new0(struct iscsi_hba_login_params, 1);
    l = g_new0(IscsiHbaLogin, 1);
    if (admin_read(req, le64_to_cpu(c->addr), p, sizeof(*p))) {
        if (!login_params_check(s, p, discovery, l, &status, &detail)) {
            iscsi_hba_req_fail(req, status, detail);
        } else if (!iscsi_hba_policy_allows(s, l->host, l->port)) {
            trace_iscsi_hba_portal_refused(l->host, l->port);
            iscsi_hba_req_fail(req, ISDSC_RESTRICTED_BY_GROUP_POLICY,
                               ISCSI_HBA_DETAIL_NOT_ALLOWED);
        } else if (!admin_fault(req, discovery ? ISCSI_HBA_FAULT_OP_DISCOVERY :
                                ISCSI_HBA_FAULT_OP_LOGIN, l->target, NULL)) {
            status = iscsi_hba_session_login(s, req, l);
            if (status) {
                iscsi_hba_req_fail(req, status, ISCSI_HBA_DETAIL_NONE);
            }
        }
    }
    /* Both copies held the CHAP secret. */
    memset(p, 0, sizeof(*p));
    memset(l, 0, sizeof(*l));
}

static void adm_login(IscsiHbaRequest *req)
{
    adm_login_common(req, false);
}

static void adm_discovery(IscsiHbaRequest *req)
{
    adm_login_common(req, true);
}

static void adm_logout(IscsiHbaRequest *req)
{
    IscsiHbaSession *sess = iscsi_hba_req_session(req);

    if (sess && !admin_fault(req, ISCSI_HBA_FAULT_OP_LOGOUT,
                             sess->login.target, sess)) {
        iscsi_hba_session_logout(sess, req);
    }
}

/* All 0 before the first login succeeded (0 = unknown). */
static void session_info_negotiated(struct iscsi_hba_session_info *info,
                                    const IscsiHbaNegotiated *n)
{
    memcpy(info->isid, n->isid, sizeof(info->isid));
    info->max_recv_data_segment_len =
        cpu_to_le32(n->max_recv_data_segment_len);
    info->max_burst_len = cpu_to_le32(n->max_burst_len);
    info->first_burst_len = cpu_to_le32(n->first_burst_len);
    info->initial_r2t = n->initial_r2t;
    info->immediate_data = n->immediate_data;
}

static void adm_session_info(IscsiHbaRequest *req)
{
    const struct iscsi_hba_buffer_cmd *c = &req->sqe.u.buf;
    IscsiHbaSession *sess = iscsi_hba_req_session(req);
    uint32_t len = le32_to_cpu(c->len);
    g_autofree struct iscsi_hba_session_info *info = NULL;
    uint16_t flags = 0;

    if (!sess) {
        return;
    }
    if (len == 0 || len > sizeof(*info)) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    if (sess->login.auth == ISCSI_HBA_AUTH_MUTUAL_CHAP) {
        flags |= ISCSI_HBA_SESSION_MUTUAL_CHAP;
    }
    if (sess->login.host_configured) {
        flags |= ISCSI_HBA_SESSION_HOST_CONFIGURED;
    }
    if (sess->negotiated.header_digest) {
        flags |= ISCSI_HBA_SESSION_HEADER_DIGEST;
    }
    info = g_new0(struct iscsi_hba_session_info, 1);
    if (sess->login.host_configured) {
        info->host_target = cpu_to_le16(sess->login.host_target);
    }
    session_info_negotiated(info, &sess->negotiated);
    info->session_id = cpu_to_le32(sess->id);
    info->state = cpu_to_le16(iscsi_hba_session_abi_state(sess));
    info->flags = cpu_to_le16(flags);
    info->portal_port = cpu_to_le16(sess->login.port);
    info->reconnects = cpu_to_le32(sess->reconnects);
    info->last_status = cpu_to_le32(sess->last_status);
    pstrcpy(info->target_name, sizeof(info->target_name), sess->login.target);
    pstrcpy(info->portal_host, sizeof(info->portal_host), sess->login.host);
    if (admin_write(req, le64_to_cpu(c->addr), info, len)) {
        ok(req, sizeof(*info));
    }
}

static void adm_report_luns(IscsiHbaRequest *req)
{
    IscsiHbaSession *sess = iscsi_hba_req_session(req);

    if (!sess) {
        return;
    }
    if (!iscsi_hba_session_usable(sess)) {
        iscsi_hba_req_fail(req, ISDSC_NO_CONNECTION_AVAILABLE,
                           ISCSI_HBA_DETAIL_CONNECTION_LOST);
        return;
    }
    iscsi_hba_report_luns_submit(sess, req);
}

/*
 * The initiator's secret for mutual CHAP: the target proves itself with
 * it.  Kept until a PCI reset; never traced, never readable back.
 */
static void adm_set_chap_secret(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;
    const struct iscsi_hba_buffer_cmd *c = &req->sqe.u.buf;
    uint32_t len = le32_to_cpu(c->len);
    char secret[ISCSI_HBA_STRING_FIELD];

    if (le32_to_cpu(c->param) != ISCSI_HBA_CHAP_SECRET_INITIATOR) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_FLAGS);
        return;
    }
    if (len == 0 || len >= sizeof(secret)) {
        iscsi_hba_req_fail(req, ISDSC_INVALID_CHAP_SECRET,
                           ISCSI_HBA_DETAIL_BAD_LENGTH);
        return;
    }
    if (!admin_read(req, le64_to_cpu(c->addr), secret, len)) {
        return;
    }
    if (memchr(secret, '\0', len)) {
        iscsi_hba_req_fail(req, ISDSC_INVALID_CHAP_SECRET,
                           ISCSI_HBA_DETAIL_NONE);
    } else {
        memcpy(s->chap_initiator_secret, secret, len);
        s->chap_initiator_secret[len] = '\0';
        if (iscsi_chap_secret_is_short(len)) {
            /* Stored all the same: a warning, not an error. */
            iscsi_hba_req_fail(req, ISDSC_SHORT_CHAP_SECRET,
                               ISCSI_HBA_DETAIL_NONE);
        } else {
            ok(req, 0);
        }
    }
    memset(secret, 0, sizeof(secret));
}

/* Specified commands whose implementation comes with a later version. */
static void adm_not_implemented(IscsiHbaRequest *req)
{
    iscsi_hba_req_fail(req, ISDSC_REQUEST_NOT_SUPPORTED,
                       ISCSI_HBA_DETAIL_NOT_IMPLEMENTED);
}

typedef struct AdminCommand {
    void (*exec)(IscsiHbaRequest *req);
    uint8_t flags;                  /* header flag bits the command takes */
} AdminCommand;

static const AdminCommand admin_commands[] = {
    [ISCSI_HBA_ADM_IDENTIFY] = { adm_identify },
    [ISCSI_HBA_ADM_CREATE_IO_QUEUE] = { adm_create_queue,
                                        ISCSI_HBA_QUEUE_IRQ_ENABLE },
    [ISCSI_HBA_ADM_DELETE_IO_QUEUE] = { adm_delete_queue },
    [ISCSI_HBA_ADM_SET_INITIATOR_NAME] = { adm_set_initiator_name },
    [ISCSI_HBA_ADM_GET_INITIATOR_NAME] = { adm_get_initiator_name },
    [ISCSI_HBA_ADM_ASYNC_EVENT] = { iscsi_hba_event_request },
    [ISCSI_HBA_ADM_SET_DOORBELL_BUFFER] = { adm_not_implemented },
    [ISCSI_HBA_ADM_DISCOVERY] = { adm_discovery },
    [ISCSI_HBA_ADM_LOGIN] = { adm_login },
    [ISCSI_HBA_ADM_LOGOUT] = { adm_logout },
    [ISCSI_HBA_ADM_LIST_SESSIONS] = { adm_list_sessions },
    [ISCSI_HBA_ADM_SESSION_INFO] = { adm_session_info },
    [ISCSI_HBA_ADM_REPORT_LUNS] = { adm_report_luns },
    [ISCSI_HBA_ADM_SET_CHAP_SECRET] = { adm_set_chap_secret },
};

void iscsi_hba_admin_exec(IscsiHbaRequest *req)
{
    uint8_t opcode = req->sqe.hdr.opcode;
    const AdminCommand *cmd;

    trace_iscsi_hba_admin(req->cqe.cid, opcode);
    if (opcode >= ARRAY_SIZE(admin_commands) || !admin_commands[opcode].exec) {
        iscsi_hba_req_fail(req, ISDSC_REQUEST_NOT_SUPPORTED,
                           ISCSI_HBA_DETAIL_BAD_OPCODE);
        return;
    }
    cmd = &admin_commands[opcode];
    if (req->sqe.hdr.flags & ~cmd->flags) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_FLAGS);
        return;
    }
    /*
     * LOGIN, DISCOVERY and LOGOUT consult fault rules once they know
     * their target; every other admin command here.
     */
    if (opcode != ISCSI_HBA_ADM_LOGIN && opcode != ISCSI_HBA_ADM_DISCOVERY &&
        opcode != ISCSI_HBA_ADM_LOGOUT) {
        /* SESSION_INFO and REPORT_LUNS name a session: rules may match it */
        IscsiHbaSession *sess = iscsi_hba_session_lookup(
            req->q->s, le32_to_cpu(req->sqe.hdr.session_id));

        if (admin_fault(req, ISCSI_HBA_FAULT_OP_ADMIN,
                        sess ? sess->login.target : NULL, sess)) {
            return;
        }
    }
    cmd->exec(req);
}
