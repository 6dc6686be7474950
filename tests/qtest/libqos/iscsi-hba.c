/*
 * libqos driver helper for the iscsi-hba PCI device
 *
 * Queue entries are copied to and from guest memory as they are laid out
 * in the ABI header, which is little-endian: like the device's own tests,
 * this helper assumes a little-endian host.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "hw/pci/pci_regs.h"
#include "scsi/constants.h"
#include "iscsi-hba.h"
#include "pci-pc.h"
#include "malloc-pc.h"

static void qihba_find_cb(QPCIDevice *dev, int devfn, void *data)
{
    QPCIDevice **pdev = data;

    if (*pdev) {
        g_free(dev);
        return;
    }
    *pdev = dev;
}

QIscsiHba *qihba_init(QTestState *qts)
{
    QIscsiHba *h = g_new0(QIscsiHba, 1);

    h->qts = qts;
    pc_alloc_init(&h->alloc, qts, ALLOC_NO_FLAGS);
    h->bus = qpci_new_pc(qts, &h->alloc);
    qpci_device_foreach(h->bus, ISCSI_HBA_PCI_VENDOR_ID,
                        ISCSI_HBA_PCI_DEVICE_ID, qihba_find_cb, &h->dev);
    g_assert_nonnull(h->dev);
    qpci_device_enable(h->dev);
    h->bar = qpci_iomap(h->dev, ISCSI_HBA_BAR_REGS, &h->bar_size);
    h->next_cid = 1;
    return h;
}

static void qihba_free_queue_mem(QIscsiHba *h, uint16_t qid)
{
    QIscsiHbaQueue *q = &h->q[qid];

    if (q->sq_base) {
        guest_free(&h->alloc, q->sq_base);
    }
    if (q->cq_base) {
        guest_free(&h->alloc, q->cq_base);
    }
    memset(q, 0, sizeof(*q));
}

void qihba_free(QIscsiHba *h)
{
    int i;

    for (i = 0; i < QIHBA_NUM_QUEUES; i++) {
        qihba_free_queue_mem(h, i);
    }
    if (h->dev->msix_enabled) {
        qpci_msix_disable(h->dev);
    }
    qpci_iounmap(h->dev, h->bar);
    g_free(h->dev);
    qpci_free_pc(h->bus);
    alloc_destroy(&h->alloc);
    g_free(h);
}

QIscsiHba *qihba_start(const char *device_opts)
{
    QTestState *qts;

    qts = qtest_initf("-machine pc -nodefaults "
                      "-device iscsi-hba,id=hba0%s%s",
                      device_opts && *device_opts ? "," : "",
                      device_opts ? device_opts : "");
    return qihba_init(qts);
}

void qihba_quit(QIscsiHba *h)
{
    QTestState *qts = h->qts;

    qihba_free(h);
    qtest_quit(qts);
}

bool qihba_alive(QIscsiHba *h)
{
    QDict *rsp;
    bool ok;

    rsp = qtest_qmp(h->qts, "{'execute': 'query-status'}");
    ok = rsp && qdict_haskey(rsp, "return");
    qobject_unref(rsp);
    return ok;
}

uint32_t qihba_readl(QIscsiHba *h, uint64_t reg)
{
    return qpci_io_readl(h->dev, h->bar, reg);
}

void qihba_writel(QIscsiHba *h, uint64_t reg, uint32_t val)
{
    qpci_io_writel(h->dev, h->bar, reg, val);
}

/*
 * qpci_msix_enable() maps the MSI-X table BAR again, which assigns BAR0 a
 * new address: follow it.
 */
void qihba_msix_enable(QIscsiHba *h)
{
    qpci_msix_enable(h->dev);
    g_assert_cmpuint(h->dev->msix_table_off, ==, ISCSI_HBA_MSIX_TABLE_OFFSET);
    g_assert_cmpuint(h->dev->msix_pba_off, ==, ISCSI_HBA_MSIX_PBA_OFFSET);
    h->bar = h->dev->msix_table_bar;
}

/* Point an MSI-X vector at guest memory and unmask it. */
void qihba_msix_vector(QIscsiHba *h, uint16_t vector, uint64_t addr,
                       uint32_t data)
{
    uint64_t off = h->dev->msix_table_off + vector * PCI_MSIX_ENTRY_SIZE;

    g_assert(h->dev->msix_enabled);
    qpci_io_writel(h->dev, h->bar, off + PCI_MSIX_ENTRY_LOWER_ADDR,
                   (uint32_t)addr);
    qpci_io_writel(h->dev, h->bar, off + PCI_MSIX_ENTRY_UPPER_ADDR,
                   addr >> 32);
    qpci_io_writel(h->dev, h->bar, off + PCI_MSIX_ENTRY_DATA, data);
    qihba_msix_mask(h, vector, false);
}

void qihba_msix_mask(QIscsiHba *h, uint16_t vector, bool masked)
{
    uint64_t off = h->dev->msix_table_off + vector * PCI_MSIX_ENTRY_SIZE +
                   PCI_MSIX_ENTRY_VECTOR_CTRL;
    uint32_t ctrl = qpci_io_readl(h->dev, h->bar, off);

    if (masked) {
        ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
    } else {
        ctrl &= ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
    }
    qpci_io_writel(h->dev, h->bar, off, ctrl);
}

void qihba_set_admin_regs(QIscsiHba *h, uint64_t sq_base, uint64_t cq_base,
                          uint16_t sq_size, uint16_t cq_size)
{
    qihba_writel(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO, (uint32_t)sq_base);
    qihba_writel(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_HI, sq_base >> 32);
    qihba_writel(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_LO, (uint32_t)cq_base);
    qihba_writel(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_HI, cq_base >> 32);
    qihba_writel(h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE,
                 (uint32_t)cq_size << 16 | sq_size);
}

/* Allocate (page aligned, zeroed) memory for a queue pair. */
static void qihba_alloc_queue(QIscsiHba *h, uint16_t qid, uint16_t sq_size,
                              uint16_t cq_size)
{
    QIscsiHbaQueue *q = &h->q[qid];

    if (!q->sq_base || q->sq_size != sq_size || q->cq_size != cq_size) {
        qihba_free_queue_mem(h, qid);
        q->sq_base = guest_alloc(&h->alloc, sq_size * QIHBA_SQE_SIZE);
        q->cq_base = guest_alloc(&h->alloc, cq_size * QIHBA_CQE_SIZE);
        g_assert_cmphex(q->sq_base % ISCSI_HBA_QUEUE_ALIGN, ==, 0);
        g_assert_cmphex(q->cq_base % ISCSI_HBA_QUEUE_ALIGN, ==, 0);
    }
    qtest_memset(h->qts, q->sq_base, 0, sq_size * QIHBA_SQE_SIZE);
    qtest_memset(h->qts, q->cq_base, 0, cq_size * QIHBA_CQE_SIZE);
    q->sq_size = sq_size;
    q->cq_size = cq_size;
    q->sq_tail = 0;
    q->cq_head = 0;
    q->phase = 1;
    q->live = false;
}

void qihba_enable_sized(QIscsiHba *h, uint16_t sq_size, uint16_t cq_size)
{
    QIscsiHbaQueue *q = &h->q[ISCSI_HBA_ADMIN_QID];

    qihba_alloc_queue(h, ISCSI_HBA_ADMIN_QID, sq_size, cq_size);
    qihba_set_admin_regs(h, q->sq_base, q->cq_base, sq_size, cq_size);
    qihba_writel(h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY);
    q->live = true;
}

void qihba_enable(QIscsiHba *h, uint16_t entries)
{
    qihba_enable_sized(h, entries, entries);
}

void qihba_disable(QIscsiHba *h)
{
    int i;

    qihba_writel(h, ISCSI_HBA_REG_CTRL, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    h->q[ISCSI_HBA_ADMIN_QID].live = false;
    for (i = 1; i < QIHBA_NUM_QUEUES; i++) {
        qihba_free_queue_mem(h, i);
    }
}

void qihba_sq_put(QIscsiHba *h, uint16_t qid, struct iscsi_hba_sqe *sqe)
{
    QIscsiHbaQueue *q = &h->q[qid];

    g_assert(qid < QIHBA_NUM_QUEUES && q->live);
    sqe->hdr.cid = h->next_cid++;
    if (!h->next_cid) {
        h->next_cid = 1;
    }
    qtest_memwrite(h->qts, q->sq_base + q->sq_tail * QIHBA_SQE_SIZE,
                   sqe, sizeof(*sqe));
    q->sq_tail = (q->sq_tail + 1) % q->sq_size;
}

void qihba_sq_ring(QIscsiHba *h, uint16_t qid)
{
    qihba_writel(h, ISCSI_HBA_DB_SQ(qid), h->q[qid].sq_tail);
}

uint16_t qihba_submit(QIscsiHba *h, uint16_t qid, struct iscsi_hba_sqe *sqe)
{
    qihba_sq_put(h, qid, sqe);
    qihba_sq_ring(h, qid);
    return sqe->hdr.cid;
}

/*
 * Is the CQE @ahead entries after the driver's CQ head valid (its phase
 * matches the lap it belongs to)?  Copies it to @out either way.
 */
bool qihba_peek_cqe(QIscsiHba *h, uint16_t qid, uint16_t ahead,
                    struct iscsi_hba_cqe *out)
{
    QIscsiHbaQueue *q = &h->q[qid];
    uint32_t idx = q->cq_head + ahead;
    uint8_t phase = q->phase;

    g_assert(q->live);
    g_assert_cmpuint(ahead, <, q->cq_size);
    if (idx >= q->cq_size) {
        idx -= q->cq_size;
        phase ^= 1;
    }
    qtest_memread(h->qts, q->cq_base + idx * QIHBA_CQE_SIZE,
                  out, sizeof(*out));
    return (out->flags & ISCSI_HBA_CQE_PHASE) == phase;
}

/*
 * Wait until that CQE is valid.  Device work runs in bottom halves, which
 * the main loop runs between qtest commands: polling is all it takes.
 */
void qihba_wait_peek(QIscsiHba *h, uint16_t qid, uint16_t ahead,
                     struct iscsi_hba_cqe *out)
{
    gint64 deadline = g_get_monotonic_time() + QIHBA_TIMEOUT_US;

    while (!qihba_peek_cqe(h, qid, ahead, out)) {
        if (g_get_monotonic_time() > deadline) {
            g_error("iscsi-hba: no completion on CQ %u (head %u + %u) "
                    "after %d s; STATUS 0x%x FATAL_REASON %u",
                    qid, h->q[qid].cq_head, ahead,
                    (int)(QIHBA_TIMEOUT_US / G_USEC_PER_SEC),
                    qihba_readl(h, ISCSI_HBA_REG_STATUS),
                    qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON));
        }
        g_usleep(50);
    }
}

/* Consume @n CQEs and tell the device with the CQ head doorbell. */
void qihba_consume(QIscsiHba *h, uint16_t qid, uint16_t n)
{
    QIscsiHbaQueue *q = &h->q[qid];

    while (n--) {
        if (++q->cq_head == q->cq_size) {
            q->cq_head = 0;
            q->phase ^= 1;
        }
    }
    qihba_writel(h, ISCSI_HBA_DB_CQ(qid), q->cq_head);
}

void qihba_wait_cqe(QIscsiHba *h, uint16_t qid, struct iscsi_hba_cqe *out)
{
    qihba_wait_peek(h, qid, 0, out);
    qihba_consume(h, qid, 1);
}

/*
 * Give the device time to finish whatever it was kicked to do, for tests
 * that check that something did NOT happen.
 */
void qihba_settle(QIscsiHba *h)
{
    int i;

    for (i = 0; i < 5; i++) {
        g_assert(qihba_alive(h));
        g_usleep(10 * 1000);
    }
}

void qihba_cmd(QIscsiHba *h, uint16_t qid, struct iscsi_hba_sqe *sqe,
               struct iscsi_hba_cqe *cqe)
{
    uint16_t cid = qihba_submit(h, qid, sqe);

    qihba_wait_cqe(h, qid, cqe);
    g_assert_cmpuint(cqe->cid, ==, cid);
    g_assert_cmpuint(cqe->sq_id, ==, qid);
    g_assert_cmpuint(cqe->sq_head, ==, h->q[qid].sq_tail);
}

void qihba_admin(QIscsiHba *h, struct iscsi_hba_sqe *sqe,
                 struct iscsi_hba_cqe *cqe)
{
    qihba_cmd(h, ISCSI_HBA_ADMIN_QID, sqe, cqe);
}

void qihba_sqe_init(struct iscsi_hba_sqe *sqe, uint8_t opcode)
{
    memset(sqe, 0, sizeof(*sqe));
    sqe->hdr.opcode = opcode;
}

void qihba_sqe_buffer(struct iscsi_hba_sqe *sqe, uint8_t opcode,
                      uint64_t addr, uint32_t len)
{
    qihba_sqe_init(sqe, opcode);
    sqe->u.buf.addr = addr;
    sqe->u.buf.len = len;
}

void qihba_sqe_create_queue(struct iscsi_hba_sqe *sqe, uint16_t qid,
                            uint64_t sq_base, uint64_t cq_base,
                            uint16_t sq_size, uint16_t cq_size,
                            uint16_t vector, bool irq)
{
    qihba_sqe_init(sqe, ISCSI_HBA_ADM_CREATE_IO_QUEUE);
    sqe->hdr.flags = irq ? ISCSI_HBA_QUEUE_IRQ_ENABLE : 0;
    sqe->u.create.qid = qid;
    sqe->u.create.sq_base = sq_base;
    sqe->u.create.cq_base = cq_base;
    sqe->u.create.sq_size = sq_size;
    sqe->u.create.cq_size = cq_size;
    sqe->u.create.vector = vector;
}

void qihba_sqe_delete_queue(struct iscsi_hba_sqe *sqe, uint16_t qid)
{
    qihba_sqe_init(sqe, ISCSI_HBA_ADM_DELETE_IO_QUEUE);
    sqe->u.del.qid = qid;
}

/* Peripheral device addressing, bus 0 (SAM). */
static void qihba_lun(uint8_t lun[8], unsigned n)
{
    memset(lun, 0, 8);
    lun[1] = n;
}

void qihba_sqe_scsi(struct iscsi_hba_sqe *sqe, uint32_t sid, unsigned lun,
                    uint8_t dir, const uint8_t *cdb, uint8_t cdb_len,
                    uint32_t data_len)
{
    qihba_sqe_init(sqe, ISCSI_HBA_IO_SCSI_CMD);
    sqe->hdr.flags = dir;
    sqe->hdr.session_id = sid;
    qihba_lun(sqe->u.scsi.lun, lun);
    g_assert_cmpuint(cdb_len, <=, 16);
    memcpy(sqe->u.scsi.cdb, cdb, cdb_len);
    sqe->u.scsi.cdb_len = cdb_len;
    sqe->u.scsi.data_len = data_len;
}

void qihba_sqe_add_sg(struct iscsi_hba_sqe *sqe, uint64_t addr, uint32_t len)
{
    uint16_t n = sqe->u.scsi.sg_count++;

    g_assert_cmpuint(n, <, ISCSI_HBA_INLINE_SG);
    sqe->u.scsi.sg[n].addr = addr;
    sqe->u.scsi.sg[n].len = len;
}

void qihba_sqe_tmf(struct iscsi_hba_sqe *sqe, uint32_t sid, unsigned lun,
                   uint8_t function, uint16_t ref_sqid, uint16_t ref_cid)
{
    qihba_sqe_init(sqe, ISCSI_HBA_IO_TASK_MGMT);
    sqe->hdr.session_id = sid;
    qihba_lun(sqe->u.tmf.lun, lun);
    sqe->u.tmf.function = function;
    sqe->u.tmf.ref_sqid = ref_sqid;
    sqe->u.tmf.ref_cid = ref_cid;
}

void qihba_cdb_rw(uint8_t cdb[16], uint8_t *cdb_len, uint8_t op,
                  uint64_t lba, uint32_t blocks)
{
    memset(cdb, 0, 16);
    cdb[0] = op;
    if (op == READ_16 || op == WRITE_16) {
        stq_be_p(&cdb[2], lba);
        stl_be_p(&cdb[10], blocks);
        *cdb_len = 16;
    } else {
        g_assert(op == READ_10 || op == WRITE_10);
        g_assert_cmpuint(lba, <=, UINT32_MAX);
        g_assert_cmpuint(blocks, <=, UINT16_MAX);
        stl_be_p(&cdb[2], lba);
        stw_be_p(&cdb[7], blocks);
        *cdb_len = 10;
    }
}

uint32_t qihba_identify(QIscsiHba *h, struct iscsi_hba_identify *id)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t buf = guest_alloc(&h->alloc, ISCSI_HBA_IDENTIFY_SIZE);

    qtest_memset(h->qts, buf, 0, ISCSI_HBA_IDENTIFY_SIZE);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf,
                     ISCSI_HBA_IDENTIFY_SIZE);
    qihba_admin(h, &sqe, &cqe);
    qtest_memread(h->qts, buf, id, sizeof(*id));
    guest_free(&h->alloc, buf);
    return cqe.status;
}

uint32_t qihba_create_io_queue(QIscsiHba *h, uint16_t qid, uint16_t sq_size,
                               uint16_t cq_size, uint16_t vector, bool irq)
{
    QIscsiHbaQueue *q = &h->q[qid];
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    g_assert(qid > 0 && qid < QIHBA_NUM_QUEUES && !q->live);
    qihba_alloc_queue(h, qid, sq_size, cq_size);
    qihba_sqe_create_queue(&sqe, qid, q->sq_base, q->cq_base,
                           sq_size, cq_size, vector, irq);
    qihba_admin(h, &sqe, &cqe);
    if (cqe.status == ISCSI_HBA_STATUS_SUCCESS) {
        q->live = true;
    } else {
        qihba_free_queue_mem(h, qid);
    }
    return cqe.status;
}

uint32_t qihba_delete_io_queue(QIscsiHba *h, uint16_t qid)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qihba_sqe_delete_queue(&sqe, qid);
    qihba_admin(h, &sqe, &cqe);
    if (cqe.status == ISCSI_HBA_STATUS_SUCCESS && qid < QIHBA_NUM_QUEUES) {
        qihba_free_queue_mem(h, qid);
    }
    return cqe.status;
}

uint64_t qihba_alloc(QIscsiHba *h, size_t size, uint8_t fill)
{
    uint64_t addr = guest_alloc(&h->alloc, size);

    qtest_memset(h->qts, addr, fill, size);
    return addr;
}

void qihba_put_sg(QIscsiHba *h, uint64_t at, uint64_t addr, uint32_t len,
                  uint32_t flags)
{
    struct iscsi_hba_sg sg = { .addr = addr, .len = len, .flags = flags };

    qtest_memwrite(h->qts, at, &sg, sizeof(sg));
}

const char *qihba_isdsc(uint32_t status)
{
    const char *name = iscsi_hba_isdsc_name(status);

    return name ? name : "(unknown)";
}

void qihba_check_cqe(const char *what, const struct iscsi_hba_cqe *cqe,
                     uint32_t status, uint16_t detail)
{
    if (cqe->status != status || cqe->detail != detail) {
        g_test_message("%s: got status 0x%08x %s detail %u, "
                       "expected 0x%08x %s detail %u", what,
                       cqe->status, qihba_isdsc(cqe->status), cqe->detail,
                       status, qihba_isdsc(status), detail);
    }
    g_assert_cmphex(cqe->status, ==, status);
    g_assert_cmpuint(cqe->detail, ==, detail);
}

void qihba_check_good(const char *what, const struct iscsi_hba_cqe *cqe)
{
    qihba_check_cqe(what, cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmphex(cqe->scsi_status, ==, GOOD);
    g_assert_false(cqe->flags & ISCSI_HBA_CQE_SENSE_VALID);
    g_assert_cmpuint(cqe->sense_len, ==, 0);
}

QDict *qihba_query(QIscsiHba *h)
{
    QDict *rsp = qtest_qmp(h->qts, "{'execute': 'query-iscsi-hba'}");
    QList *list;
    QDict *info;

    g_assert_true(qdict_haskey(rsp, "return"));
    list = qdict_get_qlist(rsp, "return");
    g_assert_cmpuint(qlist_size(list), ==, 1);
    info = qobject_to(QDict, qlist_peek(list));
    qobject_ref(info);
    qobject_unref(rsp);
    return info;
}

QDict *qihba_query_queue(QDict *info, int qid)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(info, "queues"), e) {
        QDict *q = qobject_to(QDict, qlist_entry_obj(e));

        if (qdict_get_int(q, "qid") == qid) {
            return q;
        }
    }
    return NULL;
}

void qihba_expect_running(QIscsiHba *h)
{
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==,
                    ISCSI_HBA_CTRL_ENABLE);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==,
                    ISCSI_HBA_FATAL_NONE);
}

void qihba_expect_fatal(QIscsiHba *h, uint32_t reason)
{
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS) &
                    ISCSI_HBA_STATUS_FATAL, ==, ISCSI_HBA_STATUS_FATAL);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==, reason);
}

bool qihba_spawn_qemu(const char *const *args, int timeout_s, int *code,
                      char **err)
{
    const char *bin = g_getenv("QTEST_QEMU_BINARY");
    g_auto(GStrv) cmd = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) gerr = NULL;
    g_autoptr(GString) out = g_string_new("");
    gint64 deadline;
    int err_fd, wstatus = 0, i;
    bool exited = false;
    char buf[4096];
    ssize_t n;
    GPid pid;

    g_assert_nonnull(bin);
    g_assert_true(g_shell_parse_argv(bin, NULL, &cmd, NULL));
    for (i = 0; cmd[i]; i++) {
        g_ptr_array_add(argv, cmd[i]);
    }
    for (i = 0; args[i]; i++) {
        g_ptr_array_add(argv, (char *)args[i]);
    }
    g_ptr_array_add(argv, NULL);

    g_assert_true(g_spawn_async_with_pipes(
        NULL, (char **)argv->pdata, NULL,
        G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
        NULL, NULL, &pid, NULL, NULL, &err_fd, &gerr));
    g_assert_no_error(gerr);
    deadline = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;
    for (;;) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);

        if (r == pid) {
            exited = true;
            break;
        }
        g_assert_cmpint(r, ==, 0);
        if (g_get_monotonic_time() > deadline) {
            kill(pid, SIGKILL);
            g_assert_cmpint(waitpid(pid, &wstatus, 0), ==, pid);
            break;
        }
        g_usleep(10 * 1000);
    }
    while ((n = read(err_fd, buf, sizeof(buf))) > 0) {
        g_string_append_len(out, buf, n);
    }
    close(err_fd);
    g_spawn_close_pid(pid);
    *code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -WTERMSIG(wstatus);
    *err = g_strdup(g_strstrip(out->str));
    return exited;
}
