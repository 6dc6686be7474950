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
#include "iscsi-hba.h"
#include "iscsi-name.h"
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

/* Copy to a guest buffer; on failure the request fails and false returns. */
static bool admin_write(IscsiHbaRequest *req, uint64_t addr,
                        const void *buf, uint32_t len)
{
    IscsiHbaState *s = req->q->s;

    if (!iscsi_hba_dma_range_ok(s, addr, len)) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_ADDRESS);
        return false;
    }
    if (pci_dma_write(PCI_DEVICE(s), addr, buf, len) != MEMTX_OK) {
        invalid(req, ISCSI_HBA_DETAIL_DMA_ERROR);
        return false;
    }
    return true;
}

static bool admin_read(IscsiHbaRequest *req, uint64_t addr, void *buf,
                       uint32_t len)
{
    IscsiHbaState *s = req->q->s;

    if (!iscsi_hba_dma_range_ok(s, addr, len)) {
        invalid(req, ISCSI_HBA_DETAIL_BAD_ADDRESS);
        return false;
    }
    if (pci_dma_read(PCI_DEVICE(s), addr, buf, len) != MEMTX_OK) {
        invalid(req, ISCSI_HBA_DETAIL_DMA_ERROR);
        return false;
    }
    return true;
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
    id->max_cdb_len = cpu_to_le16(ISCSI_HBA_MAX_CDB_LEN);
    id->max_sense_len = cpu_to_le16(ISCSI_HBA_MAX_SENSE_LEN);
    id->sqe_size = cpu_to_le16(sizeof(struct iscsi_hba_sqe));
    id->cqe_size = cpu_to_le16(sizeof(struct iscsi_hba_cqe));
    id->login_params_size =
        cpu_to_le16(sizeof(struct iscsi_hba_login_params));
    id->session_info_size =
        cpu_to_le16(sizeof(struct iscsi_hba_session_info));
    id->num_vectors = cpu_to_le16(iscsi_hba_num_vectors(s));
    id->num_host_targets = cpu_to_le16(0);
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

/*
 * LOGOUT, SESSION_INFO and REPORT_LUNS name a session.  The session layer
 * that gives them a body is not built yet: a session that exists gets
 * REQUEST_NOT_SUPPORTED, one that does not gets INVALID_SESSION_ID.
 */
static void adm_session_command(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;
    uint32_t id = le32_to_cpu(req->sqe.hdr.session_id);

    if (!iscsi_hba_session_lookup(s, id)) {
        iscsi_hba_req_fail(req, ISDSC_INVALID_SESSION_ID,
                           ISCSI_HBA_DETAIL_NO_SESSION);
        return;
    }
    iscsi_hba_req_fail(req, ISDSC_REQUEST_NOT_SUPPORTED,
                       ISCSI_HBA_DETAIL_NOT_IMPLEMENTED);
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
    [ISCSI_HBA_ADM_DISCOVERY] = { adm_not_implemented },
    [ISCSI_HBA_ADM_LOGIN] = { adm_not_implemented },
    [ISCSI_HBA_ADM_LOGOUT] = { adm_session_command },
    [ISCSI_HBA_ADM_LIST_SESSIONS] = { adm_list_sessions },
    [ISCSI_HBA_ADM_SESSION_INFO] = { adm_session_command },
    [ISCSI_HBA_ADM_REPORT_LUNS] = { adm_session_command },
    [ISCSI_HBA_ADM_SET_CHAP_SECRET] = { adm_not_implemented },
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
    cmd->exec(req);
}
