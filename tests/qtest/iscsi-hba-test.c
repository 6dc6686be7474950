/*
 * QTest testcases for the iscsi-hba PCI device: registers, queues,
 * interrupts, admin commands and command validation.
 *
 * The expected values come from the guest ABI header
 * (include/hw/iscsi-hba/iscsi-hba-abi.h) and the device specification;
 * no test needs an iSCSI target.  Every test starts its own QEMU.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "libqos/iscsi-hba.h"
#include "libqos/pci.h"
#include "hw/pci/pci_regs.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"

/* Nothing is mapped there on a pc machine with a few MiB of RAM. */
#define UNMAPPED_ADDR   0x0000400000000000ULL
/* 4 KiB aligned, but any length beyond 4 KiB wraps around 2^64. */
#define WRAP_ADDR       0xfffffffffffff000ULL

#define PIIX3_DEVFN     QPCI_DEVFN(1, 0)
#define PIIX_PIRQCA     0x60
#define INTX_ISA_IRQ    11

#define DEFAULT_NAME    "iqn.2026-11.org.qemu:iscsi-hba.ihba0001"

/*
 * Helpers
 */

static void assert_alive(QIscsiHba *h)
{
    g_assert_true(qihba_alive(h));
}

/* Run @sqe on @qid and check its completion; the CQE goes to @cqe. */
static void expect_cmd(QIscsiHba *h, uint16_t qid, const char *what,
                       struct iscsi_hba_sqe *sqe, struct iscsi_hba_cqe *cqe,
                       uint32_t status, uint16_t detail)
{
    qihba_cmd(h, qid, sqe, cqe);
    qihba_check_cqe(what, cqe, status, detail);
    assert_alive(h);
}

static void expect_admin(QIscsiHba *h, const char *what,
                         struct iscsi_hba_sqe *sqe, uint32_t status,
                         uint16_t detail)
{
    struct iscsi_hba_cqe cqe;

    expect_cmd(h, ISCSI_HBA_ADMIN_QID, what, sqe, &cqe, status, detail);
}

static void expect_fatal(QIscsiHba *h, uint32_t reason)
{
    qihba_expect_fatal(h, reason);
    assert_alive(h);
}

/* INQUIRY on session 1, 96 bytes into @buf, 18 sense bytes at @sense. */
static void inquiry_sqe(struct iscsi_hba_sqe *sqe, uint64_t buf,
                        uint64_t sense)
{
    static const uint8_t cdb[6] = { 0x12, 0, 0, 0, 96 };

    qihba_sqe_scsi(sqe, 1, 0, ISCSI_HBA_SCSI_DIR_READ, cdb, sizeof(cdb), 96);
    qihba_sqe_add_sg(sqe, buf, 96);
    sqe->u.scsi.sense_len = 18;
    sqe->u.scsi.sense_addr = sense;
}

/* A command that fails on any I/O queue: TASK_MGMT function 0. */
static void bad_tmf_sqe(struct iscsi_hba_sqe *sqe)
{
    qihba_sqe_tmf(sqe, 1, 0, 0, 0, 0);
}

/* A harmless command that completes with success on the admin queue. */
static void list_sessions_sqe(struct iscsi_hba_sqe *sqe)
{
    qihba_sqe_buffer(sqe, ISCSI_HBA_ADM_LIST_SESSIONS, 0, 0);
}

/* Route the device's INTx pin to ISA IRQ INTX_ISA_IRQ and watch it. */
static void intx_setup(QIscsiHba *h)
{
    QPCIDevice *piix = qpci_device_find(h->bus, PIIX3_DEVFN);
    uint8_t pin = qpci_config_readb(h->dev, PCI_INTERRUPT_PIN);
    /* pc_piix's pci_slot_get_pirq() */
    int pirq = (pin - 1 + (h->dev->devfn >> 3) - 1) & 3;

    g_assert_nonnull(piix);
    g_assert_cmphex(qpci_config_readw(piix, PCI_VENDOR_ID), ==, 0x8086);
    qpci_config_writeb(piix, PIIX_PIRQCA + pirq, INTX_ISA_IRQ);
    g_free(piix);
    qtest_irq_intercept_in(h->qts, "ioapic");
}

static bool intx_level(QIscsiHba *h)
{
    return qtest_get_irq(h->qts, INTX_ISA_IRQ);
}

/*
 * Registers and PCI identity
 */

static void test_regs_defaults(void)
{
    QIscsiHba *h = qihba_start("num-queues=2,max-queue-entries=256");
    uint8_t cap;

    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_MAGIC), ==, ISCSI_HBA_MAGIC);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_VERSION), ==,
                    ISCSI_HBA_VERSION);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CAP), ==,
                    ISCSI_HBA_CAP_MSIX | ISCSI_HBA_CAP_INTX |
                    ISCSI_HBA_CAP_SG_CHAIN | ISCSI_HBA_CAP_ISCSI |
                    ISCSI_HBA_CAP_FAULT_INJECTION);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_IO_QUEUES), ==, 2);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_QUEUE_ENTRIES), ==, 256);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_SG_ELEMENTS), ==, 256);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_TRANSFER), ==, 1 * MiB);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_NUM_VECTORS), ==, 3);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_DB_OFFSET), ==,
                    ISCSI_HBA_DB_OFFSET);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_DB_STRIDE), ==,
                     ISCSI_HBA_DB_STRIDE);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_SESSIONS), ==, 16);

    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==,
                    ISCSI_HBA_FATAL_NONE);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_CLEAR), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_HI), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_LO), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_HI), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE), ==, 0);

    /* MSI-X capability: NUM_VECTORS entries, table and PBA in BAR0 */
    cap = qpci_find_capability(h->dev, PCI_CAP_ID_MSIX, 0);
    g_assert_cmphex(cap, !=, 0);
    g_assert_cmpuint(qpci_msix_table_size(h->dev), ==, 3);
    g_assert_cmphex(qpci_config_readl(h->dev, cap + PCI_MSIX_TABLE), ==,
                    ISCSI_HBA_MSIX_TABLE_OFFSET | ISCSI_HBA_BAR_REGS);
    g_assert_cmphex(qpci_config_readl(h->dev, cap + PCI_MSIX_PBA), ==,
                    ISCSI_HBA_MSIX_PBA_OFFSET | ISCSI_HBA_BAR_REGS);
    qihba_quit(h);
}

static void test_regs_properties(void)
{
    QIscsiHba *h;

    /* defaults */
    h = qihba_start(NULL);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_IO_QUEUES), ==, 4);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_QUEUE_ENTRIES), ==,
                     1024);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_SG_ELEMENTS), ==, 256);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_TRANSFER), ==, 1 * MiB);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_NUM_VECTORS), ==, 5);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_SESSIONS), ==, 16);
    g_assert_cmpuint(qpci_msix_table_size(h->dev), ==, 5);
    qihba_quit(h);

    /* limits, and msix=off */
    h = qihba_start("num-queues=31,max-queue-entries=4096,"
                    "max-sg-elements=8,max-transfer=65536,max-sessions=4,"
                    "msix=off");
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_IO_QUEUES), ==,
                     ISCSI_HBA_MAX_IO_QUEUES_LIMIT);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_QUEUE_ENTRIES), ==,
                     ISCSI_HBA_MAX_QUEUE_ENTRIES_LIMIT);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_SG_ELEMENTS), ==, 8);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_TRANSFER), ==, 65536);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_MAX_SESSIONS), ==, 4);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CAP), ==,
                    ISCSI_HBA_CAP_INTX | ISCSI_HBA_CAP_SG_CHAIN |
                    ISCSI_HBA_CAP_ISCSI | ISCSI_HBA_CAP_FAULT_INJECTION);
    g_assert_cmphex(qpci_find_capability(h->dev, PCI_CAP_ID_MSIX, 0), ==, 0);
    qihba_quit(h);
}

/* Invalid property values make realize fail with an error naming them. */
static void test_properties_invalid(void)
{
    static const struct {
        const char *prop;
        unsigned value;
    } bad[] = {
        { "num-queues", 0 },
        { "num-queues", 32 },
        { "max-queue-entries", 1 },
        { "max-queue-entries", 3 },
        { "max-queue-entries", 8192 },
        { "max-sg-elements", 0 },
        { "max-sg-elements", 4097 },
        { "max-transfer", 4095 },
        { "max-transfer", 32 * MiB },
    };
    QTestState *qts = qtest_init("-machine pc -nodefaults");
    int i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        g_autofree char *id = g_strdup_printf("bad%d", i);
        QDict *rsp, *err;
        const char *desc;

        rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                        "{'driver': 'iscsi-hba', 'id': %s, %s: %u}}",
                        id, bad[i].prop, bad[i].value);
        g_assert_true(qdict_haskey(rsp, "error"));
        err = qdict_get_qdict(rsp, "error");
        desc = qdict_get_str(err, "desc");
        if (strstr(desc, "hotplug")) {
            qobject_unref(rsp);
            qtest_quit(qts);
            g_test_skip("iscsi-hba cannot be hot-plugged on pc");
            return;
        }
        if (!strstr(desc, bad[i].prop)) {
            g_test_message("%s=%u: error '%s' does not name the property",
                           bad[i].prop, bad[i].value, desc);
        }
        g_assert_nonnull(strstr(desc, bad[i].prop));
        qobject_unref(rsp);
    }
    qtest_quit(qts);
}

/* Read-only registers ignore writes; unknown offsets read 0. */
static void test_regs_readonly(void)
{
    static const uint32_t ro[] = {
        ISCSI_HBA_REG_MAGIC, ISCSI_HBA_REG_VERSION, ISCSI_HBA_REG_CAP,
        ISCSI_HBA_REG_MAX_IO_QUEUES, ISCSI_HBA_REG_MAX_QUEUE_ENTRIES,
        ISCSI_HBA_REG_MAX_SG_ELEMENTS, ISCSI_HBA_REG_MAX_TRANSFER,
        ISCSI_HBA_REG_NUM_VECTORS, ISCSI_HBA_REG_DB_OFFSET,
        ISCSI_HBA_REG_DB_STRIDE, ISCSI_HBA_REG_MAX_SESSIONS,
        ISCSI_HBA_REG_STATUS, ISCSI_HBA_REG_FATAL_REASON,
        ISCSI_HBA_REG_INTX_STATUS,
    };
    static const uint32_t unknown[] = { 0x02c, 0x03c, 0x074, 0x100, 0xffc };
    QIscsiHba *h = qihba_start("num-queues=2");
    int i;

    for (i = 0; i < ARRAY_SIZE(ro); i++) {
        uint32_t before = qihba_readl(h, ro[i]);

        qihba_writel(h, ro[i], 0xffffffff);
        qihba_writel(h, ro[i], 0);
        g_assert_cmphex(qihba_readl(h, ro[i]), ==, before);
    }
    for (i = 0; i < ARRAY_SIZE(unknown); i++) {
        qihba_writel(h, unknown[i], 0xffffffff);
        g_assert_cmphex(qihba_readl(h, unknown[i]), ==, 0);
    }
    /* LAST_STATUS: any write clears it (it is 0 already) */
    qihba_writel(h, ISCSI_HBA_REG_LAST_STATUS, 0xdeadbeef);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==, 0);
    /* doorbells are write-only */
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_DB_SQ(0)), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_DB_CQ(1)), ==, 0);
    /* none of this broke anything */
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    qihba_enable(h, 4);
    g_assert_cmpuint(qihba_identify(h, &(struct iscsi_hba_identify){}), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    qihba_quit(h);
}

static void test_pci_identity(void)
{
    QIscsiHba *h = qihba_start(NULL);
    QPCIDevice *d = h->dev;

    g_assert_cmphex(qpci_config_readw(d, PCI_VENDOR_ID), ==,
                    ISCSI_HBA_PCI_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(d, PCI_DEVICE_ID), ==,
                    ISCSI_HBA_PCI_DEVICE_ID);
    g_assert_cmphex(qpci_config_readw(d, PCI_SUBSYSTEM_VENDOR_ID), ==,
                    ISCSI_HBA_PCI_SUBVENDOR_ID);
    g_assert_cmphex(qpci_config_readw(d, PCI_SUBSYSTEM_ID), ==,
                    ISCSI_HBA_PCI_SUBDEVICE_ID);
    g_assert_cmphex(qpci_config_readl(d, PCI_CLASS_REVISION) >> 8, ==,
                    ISCSI_HBA_PCI_CLASS);
    g_assert_cmphex(qpci_config_readb(d, PCI_REVISION_ID), ==,
                    ISCSI_HBA_PCI_REVISION);
    g_assert_cmphex(qpci_config_readb(d, PCI_INTERRUPT_PIN), ==, 1);
    /* BAR0: 64-bit memory, 16 KiB */
    g_assert_cmphex(qpci_config_readl(d, PCI_BASE_ADDRESS_0) &
                    ~PCI_BASE_ADDRESS_MEM_MASK, ==,
                    PCI_BASE_ADDRESS_SPACE_MEMORY |
                    PCI_BASE_ADDRESS_MEM_TYPE_64);
    g_assert_cmphex(h->bar_size, ==, ISCSI_HBA_BAR0_SIZE);
    qihba_quit(h);
}

/*
 * Enable / disable
 */

static void test_enable_disable(void)
{
    QIscsiHba *h = qihba_start(NULL);
    QIscsiHbaQueue *aq = &h->q[ISCSI_HBA_ADMIN_QID];
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_identify id;

    qihba_enable(h, 8);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==,
                    ISCSI_HBA_CTRL_ENABLE);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY);

    /* admin queue registers are write-ignored while enabled */
    qihba_set_admin_regs(h, 0x123000, 0x456000, 32, 64);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO), ==,
                    (uint32_t)aq->sq_base);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_HI), ==,
                    aq->sq_base >> 32);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_LO), ==,
                    (uint32_t)aq->cq_base);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_HI), ==,
                    aq->cq_base >> 32);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE), ==,
                    8 << 16 | 8);
    g_assert_cmpuint(qihba_identify(h, &id), ==, ISCSI_HBA_STATUS_SUCCESS);

    /* writing ENABLE again changes nothing: queues survive */
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 4, 4, 0, false), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    qihba_writel(h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY);
    bad_tmf_sqe(&sqe);
    expect_cmd(h, 1, "tmf after ENABLE rewrite", &sqe, &cqe,
               ISDSC_INVALID_PARAMETER, ISCSI_HBA_DETAIL_BAD_TMF);
    g_assert_cmpuint(qihba_identify(h, &id), ==, ISCSI_HBA_STATUS_SUCCESS);

    /* a failure sets LAST_STATUS, disable clears it */
    qihba_sqe_init(&sqe, 0x7f);
    expect_admin(h, "bad opcode", &sqe, ISDSC_REQUEST_NOT_SUPPORTED,
                 ISCSI_HBA_DETAIL_BAD_OPCODE);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_REQUEST_NOT_SUPPORTED);

    qihba_disable(h);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==, 0);
    /* the admin queue registers keep their values */
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO), ==,
                    (uint32_t)aq->sq_base);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_LO), ==,
                    (uint32_t)aq->cq_base);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE), ==,
                    8 << 16 | 8);

    /* re-enable: queues start over at index 0, phase 1 */
    qihba_enable(h, 8);
    g_assert_cmpuint(qihba_identify(h, &id), ==, ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmpuint(aq->cq_head, ==, 1);

    /* disable clears FATAL; ENABLE written while FATAL does nothing */
    qihba_writel(h, ISCSI_HBA_DB_SQ(3), 0);
    expect_fatal(h, ISCSI_HBA_FATAL_BAD_DOORBELL);
    qihba_writel(h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    qihba_expect_fatal(h, ISCSI_HBA_FATAL_BAD_DOORBELL);
    qihba_disable(h);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==,
                    ISCSI_HBA_FATAL_NONE);

    /* reserved CTRL bits are ignored */
    qihba_writel(h, ISCSI_HBA_REG_CTRL, 0xffffffff);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==,
                    ISCSI_HBA_CTRL_ENABLE);
    qihba_disable(h);
    qihba_enable(h, 8);
    g_assert_cmpuint(qihba_identify(h, &id), ==, ISCSI_HBA_STATUS_SUCCESS);
    qihba_quit(h);
}

static void test_enable_bad_admin(void)
{
    QIscsiHba *h = qihba_start("max-queue-entries=256");
    uint64_t sq = guest_alloc(&h->alloc, 256 * QIHBA_SQE_SIZE);
    uint64_t cq = guest_alloc(&h->alloc, 256 * QIHBA_CQE_SIZE);
    uint64_t bar = h->bar.addr;
    const struct {
        const char *what;
        uint64_t sq_base, cq_base;
        uint16_t sq_size, cq_size;
    } bad[] = {
        { "sq size 0", sq, cq, 0, 8 },
        { "cq size 0", sq, cq, 8, 0 },
        { "sq size 1", sq, cq, 1, 8 },
        { "cq size 1", sq, cq, 8, 1 },
        { "sq size 3", sq, cq, 3, 8 },
        { "cq size 6", sq, cq, 8, 6 },
        { "sq size 512 > max", sq, cq, 512, 8 },
        { "cq size 8192 > max", sq, cq, 8, 8192 },
        { "sq size 0xffff", sq, cq, 0xffff, 8 },
        { "sq base 0", 0, cq, 8, 8 },
        { "cq base 0", sq, 0, 8, 8 },
        { "sq base misaligned", sq + 0x80, cq, 8, 8 },
        { "cq base misaligned", sq, cq + 0x800, 8, 8 },
        { "sq base in BAR0", bar, cq, 8, 8 },
        { "cq base in BAR0", sq, bar + 0x1000, 8, 8 },
        { "sq overlaps BAR0", bar - 0x1000, cq, 256, 8 },
        { "sq wraps", WRAP_ADDR, cq, 256, 8 },
        { "cq wraps", sq, WRAP_ADDR, 8, 256 },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        g_test_message("bad admin queue: %s", bad[i].what);
        qihba_set_admin_regs(h, bad[i].sq_base, bad[i].cq_base,
                             bad[i].sq_size, bad[i].cq_size);
        qihba_writel(h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
        g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                        ISCSI_HBA_STATUS_FATAL);
        g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==,
                         ISCSI_HBA_FATAL_BAD_ADMIN_QUEUE);
        assert_alive(h);
        qihba_writel(h, ISCSI_HBA_REG_CTRL, 0);
        g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
        g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==,
                         ISCSI_HBA_FATAL_NONE);
    }
    /* the largest valid admin queue works */
    guest_free(&h->alloc, sq);
    guest_free(&h->alloc, cq);
    qihba_enable(h, 256);
    g_assert_cmpuint(qihba_identify(h, &(struct iscsi_hba_identify){}), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    qihba_quit(h);
}

/* A PCI (machine) reset disables and returns registers to reset values */
static void test_pci_reset(void)
{
    QIscsiHba *h = qihba_start(NULL);
    QDict *rsp;

    qihba_enable(h, 8);
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 4, 4, 0, true), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_SET, 0x6);
    rsp = qtest_qmp(h->qts, "{'execute': 'system_reset'}");
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    qtest_qmp_eventwait(h->qts, "RESET");

    /* config space was reset too: map BAR0 again */
    qpci_device_enable(h->dev);
    h->bar = qpci_iomap(h->dev, ISCSI_HBA_BAR_REGS, NULL);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_MAGIC), ==, ISCSI_HBA_MAGIC);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_CQ_BASE_LO), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE), ==, 0);

    /* and the device comes up again; qid 1 no longer exists */
    h->q[ISCSI_HBA_ADMIN_QID].live = false;
    qihba_enable(h, 8);
    memset(&h->q[1], 0, sizeof(h->q[1]));
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 4, 4, 0, true), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    qihba_quit(h);
}

/*
 * Admin commands
 */

static void test_identify(void)
{
    QIscsiHba *h = qihba_start("num-queues=3,max-queue-entries=512,"
                               "max-sg-elements=64,max-transfer=131072,"
                               "max-sessions=8,serial=QTest-42");
    struct iscsi_hba_identify id, part;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t buf = guest_alloc(&h->alloc, 2 * ISCSI_HBA_IDENTIFY_SIZE);
    uint8_t tail[64];
    int i;

    qihba_enable(h, 8);
    qtest_memset(h->qts, buf, 0xa5, 2 * ISCSI_HBA_IDENTIFY_SIZE);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf,
                     ISCSI_HBA_IDENTIFY_SIZE);
    expect_cmd(h, 0, "identify", &sqe, &cqe, ISCSI_HBA_STATUS_SUCCESS,
               ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, ISCSI_HBA_IDENTIFY_SIZE);
    qtest_memread(h->qts, buf, &id, sizeof(id));
    /* nothing written beyond the 4 KiB structure */
    qtest_memread(h->qts, buf + ISCSI_HBA_IDENTIFY_SIZE, tail, sizeof(tail));
    for (i = 0; i < sizeof(tail); i++) {
        g_assert_cmphex(tail[i], ==, 0xa5);
    }

    g_assert_cmphex(id.vendor_id, ==, ISCSI_HBA_PCI_VENDOR_ID);
    g_assert_cmphex(id.device_id, ==, ISCSI_HBA_PCI_DEVICE_ID);
    g_assert_cmphex(id.subsys_vendor_id, ==, ISCSI_HBA_PCI_SUBVENDOR_ID);
    g_assert_cmphex(id.subsys_id, ==, ISCSI_HBA_PCI_SUBDEVICE_ID);
    g_assert_cmphex(id.version, ==, ISCSI_HBA_VERSION);
    g_assert_cmphex(id.cap, ==, qihba_readl(h, ISCSI_HBA_REG_CAP));
    g_assert_cmpuint(id.max_io_queues, ==, 3);
    g_assert_cmpuint(id.max_io_queues, ==,
                     qihba_readl(h, ISCSI_HBA_REG_MAX_IO_QUEUES));
    g_assert_cmpuint(id.max_queue_entries, ==, 512);
    g_assert_cmpuint(id.max_sg_elements, ==, 64);
    g_assert_cmpuint(id.max_sessions, ==, 8);
    g_assert_cmpuint(id.max_transfer, ==, 131072);
    /* The entry holds 32 CDB bytes; the device takes 16 (libiscsi). */
    g_assert_cmpuint(id.max_cdb_len, ==, 16);
    g_assert_cmpuint(id.max_sense_len, ==, ISCSI_HBA_MAX_SENSE_LEN);
    g_assert_cmpuint(id.sqe_size, ==, sizeof(struct iscsi_hba_sqe));
    g_assert_cmpuint(id.cqe_size, ==, sizeof(struct iscsi_hba_cqe));
    g_assert_cmpuint(id.login_params_size, ==,
                     sizeof(struct iscsi_hba_login_params));
    g_assert_cmpuint(id.session_info_size, ==,
                     sizeof(struct iscsi_hba_session_info));
    g_assert_cmpuint(id.num_vectors, ==, 4);
    g_assert_cmpuint(id.num_vectors, ==,
                     qihba_readl(h, ISCSI_HBA_REG_NUM_VECTORS));
    g_assert_nonnull(memchr(id.serial, 0, sizeof(id.serial)));
    g_assert_cmpstr(id.serial, ==, "QTest-42");
    g_assert_nonnull(memchr(id.initiator_name, 0,
                            sizeof(id.initiator_name)));
    g_assert_cmpstr(id.initiator_name, ==,
                    "iqn.2026-11.org.qemu:iscsi-hba.qtest-42");

    /* a short buffer gets a truncated copy and nothing more */
    qtest_memset(h->qts, buf, 0xa5, ISCSI_HBA_IDENTIFY_SIZE);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf, 16);
    expect_cmd(h, 0, "identify len 16", &sqe, &cqe, ISCSI_HBA_STATUS_SUCCESS,
               ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, ISCSI_HBA_IDENTIFY_SIZE);
    qtest_memread(h->qts, buf, &part, sizeof(part));
    g_assert_cmpmem(&part, 16, &id, 16);
    for (i = 16; i < 16 + sizeof(tail); i++) {
        g_assert_cmphex(((uint8_t *)&part)[i], ==, 0xa5);
    }

    /* bad lengths and addresses */
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf, 0);
    expect_admin(h, "identify len 0", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_LENGTH);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf,
                     ISCSI_HBA_IDENTIFY_SIZE + 1);
    expect_admin(h, "identify len 4097", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_LENGTH);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf, 0xffffffff);
    expect_admin(h, "identify len 0xffffffff", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_LENGTH);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, h->bar.addr,
                     ISCSI_HBA_IDENTIFY_SIZE);
    expect_admin(h, "identify into BAR0", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_ADDRESS);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, WRAP_ADDR + 0x800,
                     ISCSI_HBA_IDENTIFY_SIZE);
    expect_admin(h, "identify wrapping", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_ADDRESS);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, UNMAPPED_ADDR,
                     ISCSI_HBA_IDENTIFY_SIZE);
    expect_admin(h, "identify unmapped", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_DMA_ERROR);
    /* IDENTIFY has no flags */
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf,
                     ISCSI_HBA_IDENTIFY_SIZE);
    sqe.hdr.flags = 0x80;
    expect_admin(h, "identify reserved flags", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_FLAGS);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_INVALID_PARAMETER);
    qihba_quit(h);
}

static void test_io_queue_create_delete(void)
{
    QIscsiHba *h = qihba_start("num-queues=2,max-queue-entries=256");
    uint64_t sq = qihba_alloc(h, 256 * QIHBA_SQE_SIZE, 0);
    uint64_t cq = qihba_alloc(h, 256 * QIHBA_CQE_SIZE, 0);
    uint64_t bar = h->bar.addr;
    const struct {
        const char *what;
        uint8_t flags;
        uint16_t qid;
        uint64_t sq_base, cq_base;
        uint16_t sq_size, cq_size, vector;
        uint16_t detail;
    } bad[] = {
        { "qid 0", 1, 0, sq, cq, 8, 8, 0, ISCSI_HBA_DETAIL_BAD_QID },
        { "qid 3 > num-queues", 1, 3, sq, cq, 8, 8, 0,
          ISCSI_HBA_DETAIL_BAD_QID },
        { "qid 0xffff", 1, 0xffff, sq, cq, 8, 8, 0, ISCSI_HBA_DETAIL_BAD_QID },
        { "qid 1 exists", 1, 1, sq, cq, 8, 8, 0,
          ISCSI_HBA_DETAIL_QUEUE_EXISTS },
        { "sq size 0", 1, 2, sq, cq, 0, 8, 0, ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE },
        { "sq size 1", 1, 2, sq, cq, 1, 8, 0, ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE },
        { "sq size 3", 1, 2, sq, cq, 3, 8, 0, ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE },
        { "sq size 512", 1, 2, sq, cq, 512, 8, 0,
          ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE },
        { "cq size 0", 1, 2, sq, cq, 8, 0, 0, ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE },
        { "cq size 1", 1, 2, sq, cq, 8, 1, 0, ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE },
        { "cq size 12", 1, 2, sq, cq, 8, 12, 0,
          ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE },
        { "cq size 4096", 1, 2, sq, cq, 8, 4096, 0,
          ISCSI_HBA_DETAIL_BAD_QUEUE_SIZE },
        { "sq base 0", 1, 2, 0, cq, 8, 8, 0, ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "cq base 0", 1, 2, sq, 0, 8, 8, 0, ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "sq misaligned", 1, 2, sq + 0x100, cq, 8, 8, 0,
          ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "cq misaligned", 1, 2, sq, cq + 0x20, 8, 8, 0,
          ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "sq in BAR0", 1, 2, bar, cq, 8, 8, 0, ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "cq in BAR0", 1, 2, sq, bar + 0x3000, 8, 8, 0,
          ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "sq overlaps BAR0", 1, 2, bar - 0x1000, cq, 256, 8, 0,
          ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "sq wraps", 1, 2, WRAP_ADDR, cq, 256, 8, 0,
          ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "cq wraps", 1, 2, sq, WRAP_ADDR, 8, 256, 0,
          ISCSI_HBA_DETAIL_BAD_ADDRESS },
        { "vector 3", 1, 2, sq, cq, 8, 8, 3, ISCSI_HBA_DETAIL_BAD_VECTOR },
        { "vector 0xffff", 1, 2, sq, cq, 8, 8, 0xffff,
          ISCSI_HBA_DETAIL_BAD_VECTOR },
        { "flags 0x02", 0x03, 2, sq, cq, 8, 8, 0, ISCSI_HBA_DETAIL_BAD_FLAGS },
        { "flags 0x80", 0x80, 2, sq, cq, 8, 8, 0, ISCSI_HBA_DETAIL_BAD_FLAGS },
    };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    int i;

    qihba_enable(h, 8);
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 16, 16, 1, true), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==, 0);

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        qihba_sqe_create_queue(&sqe, bad[i].qid, bad[i].sq_base,
                               bad[i].cq_base, bad[i].sq_size,
                               bad[i].cq_size, bad[i].vector, false);
        sqe.hdr.flags = bad[i].flags;
        expect_cmd(h, 0, bad[i].what, &sqe, &cqe, ISDSC_INVALID_PARAMETER,
                   bad[i].detail);
    }

    /* qid 2 was never created by any of those: it still can be */
    g_assert_cmpuint(qihba_create_io_queue(h, 2, 2, 4, 2, false), ==,
                     ISCSI_HBA_STATUS_SUCCESS);

    /* both queues work */
    bad_tmf_sqe(&sqe);
    expect_cmd(h, 1, "tmf on qid 1", &sqe, &cqe, ISDSC_INVALID_PARAMETER,
               ISCSI_HBA_DETAIL_BAD_TMF);
    bad_tmf_sqe(&sqe);
    expect_cmd(h, 2, "tmf on qid 2", &sqe, &cqe, ISDSC_INVALID_PARAMETER,
               ISCSI_HBA_DETAIL_BAD_TMF);

    /* delete */
    qihba_sqe_delete_queue(&sqe, 0);
    expect_admin(h, "delete qid 0", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_QID);
    qihba_sqe_delete_queue(&sqe, 3);
    expect_admin(h, "delete qid 3", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_QID);
    g_assert_cmpuint(qihba_delete_io_queue(h, 2), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    qihba_sqe_delete_queue(&sqe, 2);
    expect_admin(h, "delete qid 2 twice", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_QUEUE_NOT_FOUND);

    /* delete then re-create, with other sizes */
    g_assert_cmpuint(qihba_delete_io_queue(h, 1), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 256, 2, 0, true), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmpuint(qihba_create_io_queue(h, 2, 4, 4, 2, true), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    for (i = 0; i < 5; i++) {
        bad_tmf_sqe(&sqe);
        expect_cmd(h, 1, "tmf on new qid 1", &sqe, &cqe,
                   ISDSC_INVALID_PARAMETER, ISCSI_HBA_DETAIL_BAD_TMF);
        bad_tmf_sqe(&sqe);
        expect_cmd(h, 2, "tmf on new qid 2", &sqe, &cqe,
                   ISDSC_INVALID_PARAMETER, ISCSI_HBA_DETAIL_BAD_TMF);
    }
    qihba_quit(h);
}

static void test_initiator_name(void)
{
    static const char *const valid[] = {
        "iqn.2001-04.com.example:storage.disk2.sys1.xyz",
        "eui.02004567a425678d",
        "naa.52004567ba64678d",
        "naa.6001405a8c2d5e3f6001405a8c2d5e3f",
        "iqn.1992-01.com.example",
    };
    static const char *const invalid[] = {
        "hello",
        "iqn.",
        "eui.12",
        "iqn.2001-04.com.example:has space",
        "foo.2001-04.com.example",
    };
    QIscsiHba *h = qihba_start(NULL);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_identify id;
    uint64_t buf = guest_alloc(&h->alloc, 4096);
    char name[ISCSI_HBA_STRING_FIELD];
    g_autofree char *longname = NULL;
    size_t need = strlen(DEFAULT_NAME) + 1;
    int i;

    qihba_enable(h, 8);

    /* default name */
    qtest_memset(h->qts, buf, 0xa5, 4096);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_GET_INITIATOR_NAME, buf, 256);
    expect_cmd(h, 0, "get name", &sqe, &cqe, ISCSI_HBA_STATUS_SUCCESS,
               ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, need);
    qtest_memread(h->qts, buf, name, sizeof(name));
    g_assert_cmpstr(name, ==, DEFAULT_NAME);
    g_assert_cmphex((uint8_t)name[need], ==, 0xa5);

    /* too small: bytes needed, nothing written */
    qtest_memset(h->qts, buf, 0xa5, 4096);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_GET_INITIATOR_NAME, buf, need - 1);
    expect_cmd(h, 0, "get name short", &sqe, &cqe, ISDSC_BUFFER_TOO_SMALL,
               ISCSI_HBA_DETAIL_BAD_LENGTH);
    g_assert_cmpuint(cqe.result, ==, need);
    g_assert_cmphex(qtest_readb(h->qts, buf), ==, 0xa5);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_GET_INITIATOR_NAME, buf, 1);
    expect_cmd(h, 0, "get name 1", &sqe, &cqe, ISDSC_BUFFER_TOO_SMALL,
               ISCSI_HBA_DETAIL_BAD_LENGTH);
    g_assert_cmpuint(cqe.result, ==, need);
    g_assert_cmphex(qtest_readb(h->qts, buf), ==, 0xa5);
    /* exactly large enough */
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_GET_INITIATOR_NAME, buf, need);
    expect_cmd(h, 0, "get name exact", &sqe, &cqe, ISCSI_HBA_STATUS_SUCCESS,
               ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, need);
    g_assert_cmphex(qtest_readb(h->qts, buf + need - 1), ==, 0);

    for (i = 0; i < ARRAY_SIZE(valid); i++) {
        qtest_memwrite(h->qts, buf, valid[i], strlen(valid[i]));
        qtest_writeb(h->qts, buf + strlen(valid[i]), 'X');
        qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_INITIATOR_NAME, buf,
                         strlen(valid[i]));
        expect_admin(h, valid[i], &sqe, ISCSI_HBA_STATUS_SUCCESS,
                     ISCSI_HBA_DETAIL_NONE);
        qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_GET_INITIATOR_NAME, buf + 1024,
                         256);
        expect_cmd(h, 0, "get name", &sqe, &cqe, ISCSI_HBA_STATUS_SUCCESS,
                   ISCSI_HBA_DETAIL_NONE);
        g_assert_cmpuint(cqe.result, ==, strlen(valid[i]) + 1);
        qtest_memread(h->qts, buf + 1024, name, sizeof(name));
        g_assert_cmpstr(name, ==, valid[i]);
    }

    for (i = 0; i < ARRAY_SIZE(invalid); i++) {
        qtest_memwrite(h->qts, buf, invalid[i], strlen(invalid[i]));
        qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_INITIATOR_NAME, buf,
                         strlen(invalid[i]));
        expect_admin(h, invalid[i], &sqe, ISDSC_INVALID_ISCSI_NAME,
                     ISCSI_HBA_DETAIL_BAD_NAME);
    }

    /* lengths: 0 and > 223 */
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_INITIATOR_NAME, buf, 0);
    expect_admin(h, "set name len 0", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_LENGTH);
    longname = g_strnfill(ISCSI_HBA_ISCSI_NAME_MAX + 1, 'a');
    memcpy(longname, "iqn.2001-04.com.example:", 24);
    qtest_memwrite(h->qts, buf, longname, strlen(longname));
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_INITIATOR_NAME, buf,
                     strlen(longname));
    expect_admin(h, "set name len 224", &sqe, ISDSC_INVALID_PARAMETER,
                 ISCSI_HBA_DETAIL_BAD_LENGTH);
    /* 223 bytes is fine */
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_INITIATOR_NAME, buf,
                     ISCSI_HBA_ISCSI_NAME_MAX);
    expect_admin(h, "set name len 223", &sqe, ISCSI_HBA_STATUS_SUCCESS,
                 ISCSI_HBA_DETAIL_NONE);
    longname[ISCSI_HBA_ISCSI_NAME_MAX] = 0;

    /* failures left the last good name; IDENTIFY reports it too */
    g_assert_cmpuint(qihba_identify(h, &id), ==, ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmpstr(id.initiator_name, ==, longname);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_GET_INITIATOR_NAME, buf + 1024,
                     256);
    expect_cmd(h, 0, "get long name", &sqe, &cqe, ISCSI_HBA_STATUS_SUCCESS,
               ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, ISCSI_HBA_ISCSI_NAME_MAX + 1);
    qtest_memread(h->qts, buf + 1024, name, sizeof(name));
    g_assert_cmpstr(name, ==, longname);
    qihba_quit(h);

    /* the initiator-name property */
    h = qihba_start("initiator-name=iqn.2001-04.com.example:prop");
    qihba_enable(h, 4);
    g_assert_cmpuint(qihba_identify(h, &id), ==, ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmpstr(id.initiator_name, ==, "iqn.2001-04.com.example:prop");
    qihba_quit(h);
}

/*
 * Session commands that can be answered without a target: the one
 * command not built yet, parameter checks that come before any network
 * traffic, and commands naming a session that does not exist.
 */
static void test_not_implemented(void)
{
    static const struct {
        const char *what;
        uint8_t opcode;
        uint32_t status;
        uint16_t detail;
    } ni[] = {
        { "SET_DOORBELL_BUFFER", ISCSI_HBA_ADM_SET_DOORBELL_BUFFER,
          ISDSC_REQUEST_NOT_SUPPORTED, ISCSI_HBA_DETAIL_NOT_IMPLEMENTED },
        /* All-zero login parameters: "" is no iSCSI name. */
        { "LOGIN", ISCSI_HBA_ADM_LOGIN,
          ISDSC_INVALID_ISCSI_NAME, ISCSI_HBA_DETAIL_BAD_NAME },
        /* Discovery needs no target name, but a portal. */
        { "DISCOVERY", ISCSI_HBA_ADM_DISCOVERY,
          ISDSC_NO_PORTAL_SPECIFIED, ISCSI_HBA_DETAIL_NONE },
        /* A 1536-byte CHAP secret is longer than 255 bytes. */
        { "SET_CHAP_SECRET", ISCSI_HBA_ADM_SET_CHAP_SECRET,
          ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_BAD_LENGTH },
    };
    static const struct {
        const char *what;
        uint8_t opcode;
    } nosess[] = {
        { "LOGOUT", ISCSI_HBA_ADM_LOGOUT },
        { "SESSION_INFO", ISCSI_HBA_ADM_SESSION_INFO },
        { "REPORT_LUNS", ISCSI_HBA_ADM_REPORT_LUNS },
    };
    QIscsiHba *h = qihba_start(NULL);
    uint64_t buf = qihba_alloc(h, 4096, 0);
    uint64_t buf2 = qihba_alloc(h, 4096, 0);
    struct iscsi_hba_sqe sqe;
    int i;

    qihba_enable(h, 8);
    for (i = 0; i < ARRAY_SIZE(ni); i++) {
        qihba_sqe_buffer(&sqe, ni[i].opcode, buf,
                         sizeof(struct iscsi_hba_login_params));
        sqe.u.buf.addr2 = buf2;
        sqe.u.buf.len2 = 4096;
        expect_admin(h, ni[i].what, &sqe, ni[i].status, ni[i].detail);
    }
    for (i = 0; i < ARRAY_SIZE(nosess); i++) {
        qihba_sqe_buffer(&sqe, nosess[i].opcode, buf, 4096);
        sqe.hdr.session_id = 1;
        expect_admin(h, nosess[i].what, &sqe, ISDSC_INVALID_SESSION_ID,
                     ISCSI_HBA_DETAIL_NO_SESSION);
    }
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_INVALID_SESSION_ID);
    qihba_quit(h);
}

static void test_list_sessions(void)
{
    QIscsiHba *h = qihba_start(NULL);
    uint64_t buf = guest_alloc(&h->alloc, 4096);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qihba_enable(h, 8);
    /* no sessions: len 0 and address 0 are fine */
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_LIST_SESSIONS, 0, 0);
    expect_cmd(h, 0, "list sessions, no buffer", &sqe, &cqe,
               ISCSI_HBA_STATUS_SUCCESS, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, 0);
    /* with a buffer: nothing is written */
    qtest_memset(h->qts, buf, 0xa5, 64);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_LIST_SESSIONS, buf, 64);
    expect_cmd(h, 0, "list sessions", &sqe, &cqe, ISCSI_HBA_STATUS_SUCCESS,
               ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(cqe.result, ==, 0);
    g_assert_cmphex(qtest_readl(h->qts, buf), ==, 0xa5a5a5a5);
    qihba_quit(h);
}

static void test_async_event(void)
{
    QIscsiHba *h = qihba_start(NULL);
    QIscsiHbaQueue *aq = &h->q[ISCSI_HBA_ADMIN_QID];
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_identify id;
    int pass, i;

    qihba_enable(h, 8);
    for (pass = 0; pass < 2; pass++) {
        /* four event requests are accepted and stay outstanding */
        for (i = 0; i < ISCSI_HBA_MAX_AER; i++) {
            qihba_sqe_init(&sqe, ISCSI_HBA_ADM_ASYNC_EVENT);
            qihba_submit(h, 0, &sqe);
        }
        /* the next command completes first (qihba_cmd checks sq_head) */
        g_assert_cmpuint(qihba_identify(h, &id), ==,
                         ISCSI_HBA_STATUS_SUCCESS);
        /* a fifth is refused */
        qihba_sqe_init(&sqe, ISCSI_HBA_ADM_ASYNC_EVENT);
        expect_admin(h, "5th AER", &sqe, ISDSC_INVALID_PARAMETER,
                     ISCSI_HBA_DETAIL_AER_LIMIT);
        qihba_settle(h);
        g_assert_false(qihba_peek_cqe(h, 0, 0, &cqe));

        /* disable drops them without completing them */
        qihba_writel(h, ISCSI_HBA_REG_CTRL, 0);
        qihba_settle(h);
        g_assert_false(qihba_peek_cqe(h, 0, 0, &cqe));
        g_assert_cmpuint(aq->cq_head, ==, 2);
        qihba_disable(h);
        qihba_enable(h, 8);
    }
    qihba_quit(h);
}

/*
 * Queue mechanics
 */

static void test_phase_wrap(void)
{
    QIscsiHba *h = qihba_start(NULL);
    QIscsiHbaQueue *aq = &h->q[ISCSI_HBA_ADMIN_QID];
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint16_t cids[7];
    int i, lap;

    /* one command at a time, 4 laps of a 4-entry queue */
    qihba_enable(h, 4);
    for (i = 0; i < 16; i++) {
        uint8_t phase = (i / 4) % 2 ? 0 : 1;

        list_sessions_sqe(&sqe);
        expect_cmd(h, 0, "list sessions", &sqe, &cqe,
                   ISCSI_HBA_STATUS_SUCCESS, ISCSI_HBA_DETAIL_NONE);
        g_assert_cmpuint(cqe.flags & ISCSI_HBA_CQE_PHASE, ==, phase);
        g_assert_cmpuint(cqe.sq_head, ==, (i + 1) % 4);
        g_assert_cmpuint(cqe.sq_id, ==, 0);
    }
    g_assert_cmpuint(aq->cq_head, ==, 0);
    g_assert_cmpuint(aq->phase, ==, 1);
    qihba_disable(h);

    /* batches of 7 (a full SQ) on an 8-entry queue, 5 laps */
    qihba_enable(h, 8);
    for (lap = 0; lap < 5; lap++) {
        uint16_t head0 = aq->sq_tail;
        unsigned last = 0, d;

        for (i = 0; i < 7; i++) {
            list_sessions_sqe(&sqe);
            qihba_sq_put(h, 0, &sqe);
            cids[i] = sqe.hdr.cid;
        }
        qihba_sq_ring(h, 0);
        for (i = 0; i < 7; i++) {
            qihba_wait_peek(h, 0, i, &cqe);
            g_assert_cmpuint(cqe.cid, ==, cids[i]);
            g_assert_cmphex(cqe.status, ==, ISCSI_HBA_STATUS_SUCCESS);
            /* sq_head: the head when the CQE was written, moving forward */
            d = (cqe.sq_head - head0) & 7;
            g_assert_cmpuint(d, >=, i + 1);
            g_assert_cmpuint(d, >=, last);
            last = d;
        }
        g_assert_cmpuint(last, ==, 7);
        qihba_consume(h, 0, 7);
    }
    /* 35 completions: head 35 % 8 = 3, after 4 wraps */
    g_assert_cmpuint(aq->cq_head, ==, 3);
    g_assert_cmpuint(aq->phase, ==, 1);

    /* the smallest I/O queue: 2 entries */
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 2, 2, 0, false), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    for (i = 0; i < 7; i++) {
        bad_tmf_sqe(&sqe);
        expect_cmd(h, 1, "tmf", &sqe, &cqe, ISDSC_INVALID_PARAMETER,
                   ISCSI_HBA_DETAIL_BAD_TMF);
        g_assert_cmpuint(cqe.flags & ISCSI_HBA_CQE_PHASE, ==,
                         (i / 2) % 2 ? 0 : 1);
        g_assert_cmpuint(cqe.sq_head, ==, (i + 1) % 2);
        g_assert_cmpuint(cqe.sq_id, ==, 1);
    }
    qihba_quit(h);
}

/* CQ smaller than the work queued: the device waits for CQ space. */
static void test_backpressure(void)
{
    QIscsiHba *h = qihba_start(NULL);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint16_t cids[10];
    int done = 0, i;

    qihba_enable_sized(h, 16, 4);
    for (i = 0; i < 10; i++) {
        list_sessions_sqe(&sqe);
        qihba_sq_put(h, 0, &sqe);
        cids[i] = sqe.hdr.cid;
    }
    qihba_sq_ring(h, 0);

    while (done < 10) {
        int avail = MIN(3, 10 - done);

        /* at most cq_size - 1 entries are posted */
        for (i = 0; i < avail; i++) {
            qihba_wait_peek(h, 0, i, &cqe);
            g_assert_cmphex(cqe.status, ==, ISCSI_HBA_STATUS_SUCCESS);
            /* waiting completions are posted in order */
            g_assert_cmpuint(cqe.cid, ==, cids[done + i]);
            g_assert_cmpuint(cqe.sq_head, >=, done + i + 1);
            g_assert_cmpuint(cqe.sq_head, <=, 10);
        }
        qihba_settle(h);
        g_assert_false(qihba_peek_cqe(h, 0, avail, &cqe));
        g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                        ISCSI_HBA_STATUS_READY);
        qihba_consume(h, 0, avail);
        done += avail;
    }
    /* the queue pair is still in sync */
    g_assert_cmpuint(qihba_identify(h, &(struct iscsi_hba_identify){}), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    qihba_quit(h);
}

/*
 * Interrupts
 */

static void wait_msi(QIscsiHba *h, uint64_t addr, uint32_t data)
{
    gint64 deadline = g_get_monotonic_time() + QIHBA_TIMEOUT_US;

    while (qtest_readl(h->qts, addr) != data) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50);
    }
    qtest_writel(h->qts, addr, 0);
}

#define MSI_DATA(v) (0x4953c000u | (v))

/* The work counters query-iscsi-hba reports for queue @qid. */
typedef struct QueueCounters {
    uint64_t completions, sq_doorbells, cq_doorbells, interrupts;
} QueueCounters;

static QueueCounters queue_counters(QIscsiHba *h, uint16_t qid)
{
    QDict *info = qihba_query(h);
    QDict *q = qihba_query_queue(info, qid);
    QueueCounters c;

    g_assert_nonnull(q);
    c.completions = qdict_get_int(q, "completions");
    c.sq_doorbells = qdict_get_int(q, "sq-doorbells");
    c.cq_doorbells = qdict_get_int(q, "cq-doorbells");
    c.interrupts = qdict_get_int(q, "interrupts");
    qobject_unref(info);
    return c;
}

static void test_msix(void)
{
    QIscsiHba *h = qihba_start("num-queues=2");
    QueueCounters before, after;
    uint64_t msi[3];
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    int v;

    intx_setup(h);
    qihba_msix_enable(h);
    g_assert_cmpuint(qpci_msix_table_size(h->dev), ==,
                     qihba_readl(h, ISCSI_HBA_REG_NUM_VECTORS));
    for (v = 0; v < 3; v++) {
        msi[v] = qihba_alloc(h, 4, 0);
        qihba_msix_vector(h, v, msi[v], MSI_DATA(v));
        g_assert_false(qpci_msix_masked(h->dev, v));
    }

    /* admin completions use vector 0 */
    qihba_enable(h, 8);
    g_assert_cmpuint(qihba_identify(h, &(struct iscsi_hba_identify){}), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    wait_msi(h, msi[0], MSI_DATA(0));

    /* I/O queue 1 on vector 2 */
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 8, 8, 2, true), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    wait_msi(h, msi[0], MSI_DATA(0));
    bad_tmf_sqe(&sqe);
    expect_cmd(h, 1, "tmf", &sqe, &cqe, ISDSC_INVALID_PARAMETER,
               ISCSI_HBA_DETAIL_BAD_TMF);
    wait_msi(h, msi[2], MSI_DATA(2));
    g_assert_cmphex(qtest_readl(h->qts, msi[0]), ==, 0);
    g_assert_cmphex(qtest_readl(h->qts, msi[1]), ==, 0);

    /* I/O queue 2 on vector 1 without IRQ_ENABLE: no message */
    g_assert_cmpuint(qihba_create_io_queue(h, 2, 8, 8, 1, false), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    wait_msi(h, msi[0], MSI_DATA(0));
    bad_tmf_sqe(&sqe);
    expect_cmd(h, 2, "tmf no irq", &sqe, &cqe, ISDSC_INVALID_PARAMETER,
               ISCSI_HBA_DETAIL_BAD_TMF);
    qihba_settle(h);
    g_assert_cmphex(qtest_readl(h->qts, msi[1]), ==, 0);
    g_assert_false(qpci_msix_pending(h->dev, 1));

    /* masked vector: the message is held in the PBA */
    qihba_msix_mask(h, 2, true);
    g_assert_true(qpci_msix_masked(h->dev, 2));
    bad_tmf_sqe(&sqe);
    expect_cmd(h, 1, "tmf masked", &sqe, &cqe, ISDSC_INVALID_PARAMETER,
               ISCSI_HBA_DETAIL_BAD_TMF);
    qihba_settle(h);
    g_assert_cmphex(qtest_readl(h->qts, msi[2]), ==, 0);
    g_assert_true(qpci_msix_pending(h->dev, 2));
    /* unmasking delivers it */
    qihba_msix_mask(h, 2, false);
    wait_msi(h, msi[2], MSI_DATA(2));
    g_assert_false(qpci_msix_pending(h->dev, 2));

    /*
     * One message per batch of completions: one doorbell for three
     * commands, three completions, one message, one CQ head write, as
     * the queue's counters show.
     */
    before = queue_counters(h, 1);
    for (v = 0; v < 3; v++) {
        bad_tmf_sqe(&sqe);
        qihba_sq_put(h, 1, &sqe);
    }
    qihba_sq_ring(h, 1);
    for (v = 0; v < 3; v++) {
        qihba_wait_peek(h, 1, v, &cqe);
    }
    wait_msi(h, msi[2], MSI_DATA(2));
    qihba_settle(h);
    g_assert_cmphex(qtest_readl(h->qts, msi[2]), ==, 0);
    qihba_consume(h, 1, 3);
    after = queue_counters(h, 1);
    g_assert_cmpuint(after.sq_doorbells - before.sq_doorbells, ==, 1);
    g_assert_cmpuint(after.completions - before.completions, ==, 3);
    g_assert_cmpuint(after.interrupts - before.interrupts, ==, 1);
    g_assert_cmpuint(after.cq_doorbells - before.cq_doorbells, ==, 1);

    /*
     * The CQ head doorbell may wait while the CQ has room: every pass
     * still sends its message.  With the CQ full (7 of 8 entries) the
     * device holds the rest, and the doorbell lets them through.
     */
    for (v = 0; v < 3; v++) {
        bad_tmf_sqe(&sqe);
        qihba_submit(h, 1, &sqe);
        qihba_wait_peek(h, 1, v, &cqe);
        wait_msi(h, msi[2], MSI_DATA(2));
    }
    for (v = 3; v < 9; v++) {
        bad_tmf_sqe(&sqe);
        qihba_sq_put(h, 1, &sqe);
    }
    qihba_sq_ring(h, 1);
    for (v = 3; v < 7; v++) {
        qihba_wait_peek(h, 1, v, &cqe);
        g_assert_cmphex(cqe.status, ==, ISDSC_INVALID_PARAMETER);
    }
    qihba_settle(h);
    g_assert_false(qihba_peek_cqe(h, 1, 7, &cqe));
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY);
    qtest_writel(h->qts, msi[2], 0);
    qihba_consume(h, 1, 7);
    qihba_wait_peek(h, 1, 0, &cqe);
    qihba_wait_peek(h, 1, 1, &cqe);
    wait_msi(h, msi[2], MSI_DATA(2));
    qihba_consume(h, 1, 2);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY);

    /* no INTx while MSI-X is enabled */
    g_assert_false(intx_level(h));
    qihba_quit(h);
}

static void test_intx(void)
{
    QIscsiHba *h = qihba_start("num-queues=4");
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint16_t cmd;

    intx_setup(h);
    qihba_enable(h, 8);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 0);
    g_assert_false(intx_level(h));

    /* an admin completion raises bit 0 and the line */
    list_sessions_sqe(&sqe);
    qihba_submit(h, 0, &sqe);
    qihba_wait_peek(h, 0, 0, &cqe);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 1u << 0);
    g_assert_true(intx_level(h));

    /* masking lowers the line, not the status */
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_SET, 1u << 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 1u << 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_CLEAR), ==,
                    1u << 0);
    g_assert_false(intx_level(h));
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 1u << 0);
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_CLEAR, 1u << 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0);
    g_assert_true(intx_level(h));

    /* so does the Interrupt Disable bit of the PCI command register */
    cmd = qpci_config_readw(h->dev, PCI_COMMAND);
    qpci_config_writew(h->dev, PCI_COMMAND, cmd | PCI_COMMAND_INTX_DISABLE);
    g_assert_false(intx_level(h));
    qpci_config_writew(h->dev, PCI_COMMAND, cmd);
    g_assert_true(intx_level(h));

    /* consuming the entry clears it */
    qihba_consume(h, 0, 1);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 0);
    g_assert_false(intx_level(h));

    /* I/O queue 3 with interrupts: bit 3 */
    g_assert_cmpuint(qihba_create_io_queue(h, 3, 4, 4, 0, true), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    g_assert_false(intx_level(h));
    bad_tmf_sqe(&sqe);
    qihba_submit(h, 3, &sqe);
    qihba_wait_peek(h, 3, 0, &cqe);
    qihba_check_cqe("tmf", &cqe, ISDSC_INVALID_PARAMETER,
                    ISCSI_HBA_DETAIL_BAD_TMF);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 1u << 3);
    g_assert_true(intx_level(h));
    qihba_consume(h, 3, 1);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 0);
    g_assert_false(intx_level(h));

    /* I/O queue 2 without interrupts: nothing */
    g_assert_cmpuint(qihba_create_io_queue(h, 2, 4, 4, 0, false), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    bad_tmf_sqe(&sqe);
    qihba_submit(h, 2, &sqe);
    qihba_wait_peek(h, 2, 0, &cqe);
    qihba_settle(h);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 0);
    g_assert_false(intx_level(h));
    qihba_consume(h, 2, 1);

    /* masked before the completion: status set, line low until unmasked */
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_SET, 1u << 0);
    list_sessions_sqe(&sqe);
    qihba_submit(h, 0, &sqe);
    qihba_wait_peek(h, 0, 0, &cqe);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 1u << 0);
    g_assert_false(intx_level(h));
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_CLEAR, 1u << 0);
    g_assert_true(intx_level(h));

    /* disable with an unconsumed entry and a mask: all cleared */
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_SET, 1u << 5);
    qihba_disable(h);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0);
    g_assert_false(intx_level(h));
    qihba_quit(h);
}

/*
 * Hostile input
 */

static void test_bad_opcode(void)
{
    static const uint8_t admin_bad[] = { 0x00, 0x08, 0x0f, 0x17, 0x7f, 0xff };
    static const uint8_t io_bad[] = { 0x00, 0x03, 0x10, 0x7f, 0xff };
    QIscsiHba *h = qihba_start(NULL);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    int i;

    qihba_enable(h, 8);
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 8, 8, 0, false), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    for (i = 0; i < ARRAY_SIZE(admin_bad); i++) {
        qihba_sqe_init(&sqe, admin_bad[i]);
        expect_admin(h, "bad admin opcode", &sqe,
                     ISDSC_REQUEST_NOT_SUPPORTED, ISCSI_HBA_DETAIL_BAD_OPCODE);
    }
    for (i = 0; i < ARRAY_SIZE(io_bad); i++) {
        qihba_sqe_init(&sqe, io_bad[i]);
        sqe.hdr.session_id = 1;
        expect_cmd(h, 1, "bad I/O opcode", &sqe, &cqe,
                   ISDSC_REQUEST_NOT_SUPPORTED, ISCSI_HBA_DETAIL_BAD_OPCODE);
    }
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_REQUEST_NOT_SUPPORTED);
    /* writing LAST_STATUS clears it; a success does not set it */
    qihba_writel(h, ISCSI_HBA_REG_LAST_STATUS, 0x1234);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==, 0);
    g_assert_cmpuint(qihba_identify(h, &(struct iscsi_hba_identify){}), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==, 0);
    /* ... and a success after a failure leaves the failure */
    bad_tmf_sqe(&sqe);
    expect_cmd(h, 1, "tmf", &sqe, &cqe, ISDSC_INVALID_PARAMETER,
               ISCSI_HBA_DETAIL_BAD_TMF);
    g_assert_cmpuint(qihba_identify(h, &(struct iscsi_hba_identify){}), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_INVALID_PARAMETER);
    qihba_quit(h);
}

typedef enum {
    DB_SQ_NO_QUEUE,
    DB_CQ_NO_QUEUE,
    DB_SQ_QID_31,
    DB_LAST_OFFSET,
    DB_ADMIN_SQ_TOO_BIG,
    DB_ADMIN_CQ_TOO_BIG,
    DB_IO_SQ_TOO_BIG,
    DB_CQ_PAST_TAIL,
    DB_DELETED_QUEUE,
    DB_WORD_WRITE,
    DB_NUM_CASES,
} BadDoorbell;

static void test_bad_doorbell(void)
{
    QIscsiHba *h = qihba_start("num-queues=2");
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    int c;

    for (c = 0; c < DB_NUM_CASES; c++) {
        g_test_message("bad doorbell case %d", c);
        qihba_enable(h, 4);
        g_assert_cmpuint(qihba_create_io_queue(h, 1, 4, 4, 0, false), ==,
                         ISCSI_HBA_STATUS_SUCCESS);
        switch (c) {
        case DB_SQ_NO_QUEUE:
            qihba_writel(h, ISCSI_HBA_DB_SQ(2), 0);
            break;
        case DB_CQ_NO_QUEUE:
            qihba_writel(h, ISCSI_HBA_DB_CQ(2), 0);
            break;
        case DB_SQ_QID_31:
            qihba_writel(h, ISCSI_HBA_DB_SQ(ISCSI_HBA_MAX_IO_QUEUES_LIMIT), 1);
            break;
        case DB_LAST_OFFSET:
            qihba_writel(h, ISCSI_HBA_DB_OFFSET + 0xffc, 0);
            break;
        case DB_ADMIN_SQ_TOO_BIG:
            qihba_writel(h, ISCSI_HBA_DB_SQ(0), 4);
            break;
        case DB_ADMIN_CQ_TOO_BIG:
            qihba_writel(h, ISCSI_HBA_DB_CQ(0), 0xffff);
            break;
        case DB_IO_SQ_TOO_BIG:
            qihba_writel(h, ISCSI_HBA_DB_SQ(1), 4);
            break;
        case DB_CQ_PAST_TAIL:
            /* one entry posted and consumed: head 1 == tail, 2 is past */
            g_assert_cmpuint(h->q[0].cq_head, ==, 1);
            qihba_writel(h, ISCSI_HBA_DB_CQ(0), 2);
            break;
        case DB_DELETED_QUEUE:
            g_assert_cmpuint(qihba_delete_io_queue(h, 1), ==,
                             ISCSI_HBA_STATUS_SUCCESS);
            qihba_writel(h, ISCSI_HBA_DB_SQ(1), 1);
            break;
        case DB_WORD_WRITE:
            qpci_io_writew(h->dev, h->bar, ISCSI_HBA_DB_SQ(0), 1);
            break;
        }
        expect_fatal(h, ISCSI_HBA_FATAL_BAD_DOORBELL);

        /* a fatal device processes nothing more */
        list_sessions_sqe(&sqe);
        qihba_submit(h, 0, &sqe);
        qihba_settle(h);
        g_assert_false(qihba_peek_cqe(h, 0, 0, &cqe));
        expect_fatal(h, ISCSI_HBA_FATAL_BAD_DOORBELL);

        /* disable recovers */
        qihba_disable(h);
        g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==,
                         ISCSI_HBA_FATAL_NONE);
    }

    /* doorbells while the controller is disabled are ignored */
    qihba_writel(h, ISCSI_HBA_DB_SQ(0), 1);
    qihba_writel(h, ISCSI_HBA_DB_CQ(0), 3);
    qihba_writel(h, ISCSI_HBA_DB_SQ(7), 0xffff);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    g_assert_cmpuint(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==,
                     ISCSI_HBA_FATAL_NONE);
    qihba_enable(h, 4);
    g_assert_cmpuint(qihba_identify(h, &(struct iscsi_hba_identify){}), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    qihba_quit(h);
}

typedef struct ScsiCase {
    const char *what;
    void (*mutate)(QIscsiHba *h, struct iscsi_hba_sqe *sqe, uint64_t buf,
                   uint64_t list);
    uint32_t status;
    uint16_t detail;
} ScsiCase;

#define SG_LIST (ISCSI_HBA_SCSI_DIR_READ | ISCSI_HBA_SCSI_SG_LIST)

static void m_dir3(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                   uint64_t l)
{
    s->hdr.flags = ISCSI_HBA_SCSI_DIR_MASK;
}

static void m_flag8(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                    uint64_t l)
{
    s->hdr.flags |= 0x08;
}

static void m_flag80(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                     uint64_t l)
{
    s->hdr.flags |= 0x80;
}

static void m_cdb0(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                   uint64_t l)
{
    s->u.scsi.cdb_len = 0;
}

static void m_cdb33(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                    uint64_t l)
{
    s->u.scsi.cdb_len = ISCSI_HBA_MAX_CDB_LEN + 1;
}

static void m_cdb32(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                    uint64_t l)
{
    s->u.scsi.cdb_len = ISCSI_HBA_MAX_CDB_LEN;
}

/* Longer than IDENTIFY's max_cdb_len (16): would overrun libiscsi. */
static void m_cdb17(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                    uint64_t l)
{
    s->u.scsi.cdb_len = 17;
}

static void m_cdb16(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                    uint64_t l)
{
    s->u.scsi.cdb_len = 16;
}

static void m_sense253(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                       uint64_t l)
{
    s->u.scsi.sense_len = ISCSI_HBA_MAX_SENSE_LEN + 1;
}

static void m_sense_bar(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                        uint64_t l)
{
    s->u.scsi.sense_addr = h->bar.addr + 0x100;
}

static void m_sense_wrap(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                         uint64_t l)
{
    s->u.scsi.sense_addr = UINT64_MAX - 7;
}

static void m_too_large(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                        uint64_t l)
{
    s->u.scsi.data_len = 64 * KiB + 1;
    s->u.scsi.sg[0].len = 64 * KiB + 1;
}

static void m_none_data(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                        uint64_t l)
{
    s->hdr.flags = ISCSI_HBA_SCSI_DIR_NONE;
}

static void m_none_sg(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                      uint64_t l)
{
    s->hdr.flags = ISCSI_HBA_SCSI_DIR_NONE;
    s->u.scsi.data_len = 0;
}

static void m_none_ok(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                      uint64_t l)
{
    /* TEST UNIT READY */
    s->hdr.flags = ISCSI_HBA_SCSI_DIR_NONE;
    s->u.scsi.data_len = 0;
    s->u.scsi.sg_count = 0;
    memset(s->u.scsi.sg, 0, sizeof(s->u.scsi.sg));
    memset(s->u.scsi.cdb, 0, sizeof(s->u.scsi.cdb));
}

static void m_read_len0(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                        uint64_t l)
{
    s->u.scsi.data_len = 0;
}

static void m_write_len0(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                         uint64_t l)
{
    s->hdr.flags = ISCSI_HBA_SCSI_DIR_WRITE;
    s->u.scsi.data_len = 0;
}

static void m_sg0(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                  uint64_t l)
{
    s->u.scsi.sg_count = 0;
}

static void m_sg5(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                  uint64_t l)
{
    s->u.scsi.sg_count = ISCSI_HBA_INLINE_SG + 1;
}

static void m_sg_zero_len(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                          uint64_t l)
{
    s->u.scsi.sg_count = 2;
    s->u.scsi.sg[0].len = 0;
    s->u.scsi.sg[1].addr = b;
    s->u.scsi.sg[1].len = 96;
}

static void m_sg_short(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                       uint64_t l)
{
    s->u.scsi.sg[0].len = 64;
}

static void m_sg_long(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                      uint64_t l)
{
    s->u.scsi.sg_count = 2;
    s->u.scsi.sg[1].addr = b + 96;
    s->u.scsi.sg[1].len = 32;
}

static void m_sg_four(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                      uint64_t l)
{
    int i;

    s->u.scsi.sg_count = ISCSI_HBA_INLINE_SG;
    for (i = 0; i < ISCSI_HBA_INLINE_SG; i++) {
        s->u.scsi.sg[i].addr = b + i * 1024;
        s->u.scsi.sg[i].len = 24;
    }
}

static void m_sg_wrap(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                      uint64_t l)
{
    s->u.scsi.sg[0].addr = UINT64_MAX - 63;
}

static void m_sg_bar(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                     uint64_t l)
{
    s->u.scsi.sg[0].addr = h->bar.addr + 0x40;
}

static void m_sg_bar_edge(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                          uint64_t l)
{
    s->u.scsi.sg[0].addr = h->bar.addr - 32;
}

/* SG list forms: sg[0] describes the first segment at @l */
static void list_cmd(struct iscsi_hba_sqe *s, uint64_t seg, uint32_t seg_len,
                     uint16_t count, uint32_t data_len)
{
    s->hdr.flags = SG_LIST;
    s->u.scsi.sg_count = count;
    s->u.scsi.data_len = data_len;
    s->u.scsi.sg[0].addr = seg;
    s->u.scsi.sg[0].len = seg_len;
    s->u.scsi.sg[0].flags = 0;
}

static void m_list_ok(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                      uint64_t l)
{
    qihba_put_sg(h, l, b, 48, 0);
    qihba_put_sg(h, l + 16, b + 48, 48, 0);
    list_cmd(s, l, 32, 2, 96);
}

static void m_list_chain_ok(QIscsiHba *h, struct iscsi_hba_sqe *s,
                            uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, b, 32, 0);
    qihba_put_sg(h, l + 16, l + 1024, 32, ISCSI_HBA_SG_CHAIN);
    qihba_put_sg(h, l + 1024, b + 32, 32, 0);
    qihba_put_sg(h, l + 1040, b + 64, 32, 0);
    list_cmd(s, l, 32, 3, 96);
}

static void m_list_max(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                       uint64_t l)
{
    int i;

    for (i = 0; i < 8; i++) {
        qihba_put_sg(h, l + i * 16, b + i * 16, 12, 0);
    }
    list_cmd(s, l, 8 * 16, 8, 96);
}

static void m_list_too_many(QIscsiHba *h, struct iscsi_hba_sqe *s,
                            uint64_t b, uint64_t l)
{
    int i;

    for (i = 0; i < 9; i++) {
        qihba_put_sg(h, l + i * 16, b + i * 16, i ? 11 : 8, 0);
    }
    list_cmd(s, l, 9 * 16, 9, 96);
}

static void m_list_len24(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                         uint64_t l)
{
    qihba_put_sg(h, l, b, 96, 0);
    list_cmd(s, l, 24, 1, 96);
}

static void m_list_len0(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                        uint64_t l)
{
    qihba_put_sg(h, l, b, 96, 0);
    list_cmd(s, l, 0, 1, 96);
}

static void m_list_chain_first(QIscsiHba *h, struct iscsi_hba_sqe *s,
                               uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, l + 1024, 16, ISCSI_HBA_SG_CHAIN);
    qihba_put_sg(h, l + 16, b, 96, 0);
    qihba_put_sg(h, l + 1024, b, 96, 0);
    list_cmd(s, l, 32, 1, 96);
}

static void m_list_chain_len(QIscsiHba *h, struct iscsi_hba_sqe *s,
                             uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, b, 48, 0);
    qihba_put_sg(h, l + 16, l + 1024, 20, ISCSI_HBA_SG_CHAIN);
    qihba_put_sg(h, l + 1024, b + 48, 48, 0);
    list_cmd(s, l, 32, 2, 96);
}

static void m_list_self_loop(QIscsiHba *h, struct iscsi_hba_sqe *s,
                             uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, l, 16, ISCSI_HBA_SG_CHAIN);
    list_cmd(s, l, 16, 1, 96);
}

static void m_list_pair_loop(QIscsiHba *h, struct iscsi_hba_sqe *s,
                             uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, b, 48, 0);
    qihba_put_sg(h, l + 16, l + 1024, 16, ISCSI_HBA_SG_CHAIN);
    qihba_put_sg(h, l + 1024, l, 32, ISCSI_HBA_SG_CHAIN);
    list_cmd(s, l, 32, 2, 96);
}

static void m_list_data_loop(QIscsiHba *h, struct iscsi_hba_sqe *s,
                             uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, b, 12, 0);
    qihba_put_sg(h, l + 16, l, 32, ISCSI_HBA_SG_CHAIN);
    list_cmd(s, l, 32, 8, 96);
}

static void m_list_zero_elem(QIscsiHba *h, struct iscsi_hba_sqe *s,
                             uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, b, 96, 0);
    qihba_put_sg(h, l + 16, b + 96, 0, 0);
    list_cmd(s, l, 32, 2, 96);
}

static void m_list_elem_bar(QIscsiHba *h, struct iscsi_hba_sqe *s,
                            uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, b, 48, 0);
    qihba_put_sg(h, l + 16, h->bar.addr, 48, 0);
    list_cmd(s, l, 32, 2, 96);
}

static void m_list_in_bar(QIscsiHba *h, struct iscsi_hba_sqe *s, uint64_t b,
                          uint64_t l)
{
    list_cmd(s, h->bar.addr + 0x1000, 32, 2, 96);
}

static void m_list_unmapped(QIscsiHba *h, struct iscsi_hba_sqe *s,
                            uint64_t b, uint64_t l)
{
    list_cmd(s, UNMAPPED_ADDR, 32, 2, 96);
}

static void m_list_chain_unmapped(QIscsiHba *h, struct iscsi_hba_sqe *s,
                                  uint64_t b, uint64_t l)
{
    qihba_put_sg(h, l, b, 48, 0);
    qihba_put_sg(h, l + 16, UNMAPPED_ADDR, 16, ISCSI_HBA_SG_CHAIN);
    list_cmd(s, l, 32, 2, 96);
}

#define INVAL ISDSC_INVALID_PARAMETER
#define NOSESS ISDSC_INVALID_SESSION_ID
#define D_NOSESS ISCSI_HBA_DETAIL_NO_SESSION

static const ScsiCase scsi_cases[] = {
    { "valid INQUIRY", NULL, NOSESS, D_NOSESS },
    { "dir 3", m_dir3, INVAL, ISCSI_HBA_DETAIL_BAD_DIRECTION },
    { "flag 0x08", m_flag8, INVAL, ISCSI_HBA_DETAIL_BAD_FLAGS },
    { "flag 0x80", m_flag80, INVAL, ISCSI_HBA_DETAIL_BAD_FLAGS },
    { "cdb_len 0", m_cdb0, INVAL, ISCSI_HBA_DETAIL_BAD_CDB_LEN },
    { "cdb_len 33", m_cdb33, INVAL, ISCSI_HBA_DETAIL_BAD_CDB_LEN },
    { "cdb_len 32", m_cdb32, INVAL, ISCSI_HBA_DETAIL_BAD_CDB_LEN },
    { "cdb_len 17", m_cdb17, INVAL, ISCSI_HBA_DETAIL_BAD_CDB_LEN },
    { "cdb_len 16", m_cdb16, NOSESS, D_NOSESS },
    { "sense_len 253", m_sense253, INVAL, ISCSI_HBA_DETAIL_BAD_SENSE },
    { "sense in BAR0", m_sense_bar, INVAL, ISCSI_HBA_DETAIL_BAD_SENSE },
    { "sense wraps", m_sense_wrap, INVAL, ISCSI_HBA_DETAIL_BAD_SENSE },
    { "data_len > MAX_TRANSFER", m_too_large, INVAL,
      ISCSI_HBA_DETAIL_TOO_LARGE },
    { "dir NONE with data", m_none_data, INVAL,
      ISCSI_HBA_DETAIL_BAD_DIRECTION },
    { "dir NONE with sg_count", m_none_sg, INVAL,
      ISCSI_HBA_DETAIL_BAD_DIRECTION },
    { "dir NONE, no data", m_none_ok, NOSESS, D_NOSESS },
    { "READ data_len 0", m_read_len0, INVAL, ISCSI_HBA_DETAIL_BAD_LENGTH },
    { "WRITE data_len 0", m_write_len0, INVAL, ISCSI_HBA_DETAIL_BAD_LENGTH },
    { "sg_count 0", m_sg0, INVAL, ISCSI_HBA_DETAIL_BAD_SG_COUNT },
    { "sg_count 5 inline", m_sg5, INVAL, ISCSI_HBA_DETAIL_BAD_SG_COUNT },
    { "zero-length element", m_sg_zero_len, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_LENGTH },
    { "elements < data_len", m_sg_short, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_LENGTH },
    { "elements > data_len", m_sg_long, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_LENGTH },
    { "4 inline elements", m_sg_four, NOSESS, D_NOSESS },
    { "element wraps", m_sg_wrap, INVAL, ISCSI_HBA_DETAIL_BAD_ADDRESS },
    { "element in BAR0", m_sg_bar, INVAL, ISCSI_HBA_DETAIL_BAD_ADDRESS },
    { "element ends in BAR0", m_sg_bar_edge, INVAL,
      ISCSI_HBA_DETAIL_BAD_ADDRESS },
    { "SG list", m_list_ok, NOSESS, D_NOSESS },
    { "SG list, chained", m_list_chain_ok, NOSESS, D_NOSESS },
    { "SG list, max elements", m_list_max, NOSESS, D_NOSESS },
    { "SG list, sg_count > max", m_list_too_many, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_COUNT },
    { "SG list, segment len 24", m_list_len24, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_CHAIN },
    { "SG list, segment len 0", m_list_len0, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_CHAIN },
    { "SG list, chain not last", m_list_chain_first, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_CHAIN },
    { "SG list, chain len 20", m_list_chain_len, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_CHAIN },
    { "SG list, chain to itself", m_list_self_loop, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_CHAIN },
    { "SG list, two segments chained in a loop", m_list_pair_loop, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_CHAIN },
    { "SG list, zero-length element", m_list_zero_elem, INVAL,
      ISCSI_HBA_DETAIL_BAD_SG_LENGTH },
    { "SG list, element in BAR0", m_list_elem_bar, INVAL,
      ISCSI_HBA_DETAIL_BAD_ADDRESS },
    { "SG list in BAR0", m_list_in_bar, INVAL, ISCSI_HBA_DETAIL_BAD_ADDRESS },
    { "SG list unmapped", m_list_unmapped, INVAL,
      ISCSI_HBA_DETAIL_DMA_ERROR },
    { "SG list, chain to unmapped", m_list_chain_unmapped, INVAL,
      ISCSI_HBA_DETAIL_DMA_ERROR },
};

static void test_scsi_validation(void)
{
    QIscsiHba *h = qihba_start("num-queues=1,max-sg-elements=8,"
                               "max-transfer=65536");
    uint64_t buf = qihba_alloc(h, 64 * KiB, 0);
    uint64_t sense = qihba_alloc(h, 4096, 0);
    uint64_t list = qihba_alloc(h, 8192, 0);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    int i;

    qihba_enable(h, 8);
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 16, 16, 0, false), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    for (i = 0; i < ARRAY_SIZE(scsi_cases); i++) {
        qtest_memset(h->qts, list, 0, 8192);
        inquiry_sqe(&sqe, buf, sense);
        if (scsi_cases[i].mutate) {
            scsi_cases[i].mutate(h, &sqe, buf, list);
        }
        expect_cmd(h, 1, scsi_cases[i].what, &sqe, &cqe,
                   scsi_cases[i].status, scsi_cases[i].detail);
    }

    /*
     * A loop through a segment that carries data: the walk stops after
     * sg_count data elements (8 x 12 bytes of the same buffer, which is
     * data_len), so the list is valid and the command gets as far as the
     * session lookup
     */
    qtest_memset(h->qts, list, 0, 8192);
    inquiry_sqe(&sqe, buf, sense);
    m_list_data_loop(h, &sqe, buf, list);
    expect_cmd(h, 1, "SG list, looping through data", &sqe, &cqe, NOSESS,
               D_NOSESS);
    assert_alive(h);

    /* another session id */
    inquiry_sqe(&sqe, buf, sense);
    sqe.hdr.session_id = 0xffffffff;
    expect_cmd(h, 1, "session 0xffffffff", &sqe, &cqe, NOSESS,
                   D_NOSESS);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_INVALID_SESSION_ID);
    /* the data buffer was never touched */
    g_assert_cmphex(qtest_readq(h->qts, buf), ==, 0);
    g_assert_cmphex(qtest_readq(h->qts, sense), ==, 0);
    qihba_quit(h);
}

static void test_tmf_validation(void)
{
    static const uint8_t bad[] = { 0, 2, 3, 4, 7, 8, 0xff };
    static const uint8_t good[] = {
        ISCSI_HBA_TMF_ABORT_TASK, ISCSI_HBA_TMF_LUN_RESET,
        ISCSI_HBA_TMF_TARGET_WARM_RESET,
    };
    QIscsiHba *h = qihba_start("num-queues=1");
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    int i;

    qihba_enable(h, 8);
    g_assert_cmpuint(qihba_create_io_queue(h, 1, 8, 8, 0, false), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        qihba_sqe_tmf(&sqe, 1, 0, bad[i], 0, 0);
        expect_cmd(h, 1, "bad TMF", &sqe, &cqe, INVAL,
                   ISCSI_HBA_DETAIL_BAD_TMF);
    }
    for (i = 0; i < ARRAY_SIZE(good); i++) {
        qihba_sqe_tmf(&sqe, 1, 0, good[i], 1, 1);
        expect_cmd(h, 1, "TMF, no session", &sqe, &cqe, NOSESS,
                   D_NOSESS);
    }
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_INVALID_SESSION_ID);
    qihba_quit(h);
}

/*
 * QMP
 */

static void test_qmp_query(void)
{
    QIscsiHba *h = qihba_start("num-queues=2");
    struct iscsi_hba_sqe sqe;
    QDict *info, *q;
    int i;

    info = qihba_query(h);
    g_assert_cmpstr(qdict_get_str(info, "id"), ==, "hba0");
    g_assert_cmpstr(qdict_get_str(info, "qom-path"), ==,
                    "/machine/peripheral/hba0");
    g_assert_false(qdict_get_bool(info, "enabled"));
    g_assert_false(qdict_get_bool(info, "ready"));
    g_assert_false(qdict_get_bool(info, "fatal"));
    g_assert_cmpuint(qdict_get_int(info, "last-status"), ==, 0);
    g_assert_cmpstr(qdict_get_str(info, "last-status-name"), ==, "SUCCESS");
    g_assert_cmpstr(qdict_get_str(info, "initiator-name"), ==, DEFAULT_NAME);
    g_assert_cmpstr(qdict_get_str(info, "interrupt-mode"), ==, "intx");
    g_assert_cmpuint(qdict_get_int(info, "sessions"), ==, 0);
    g_assert_cmpuint(qlist_size(qdict_get_qlist(info, "queues")), ==, 0);
    qobject_unref(info);

    qihba_enable_sized(h, 8, 16);
    g_assert_cmpuint(qihba_create_io_queue(h, 2, 16, 4, 1, true), ==,
                     ISCSI_HBA_STATUS_SUCCESS);
    for (i = 0; i < 3; i++) {
        list_sessions_sqe(&sqe);
        expect_admin(h, "list sessions", &sqe, ISCSI_HBA_STATUS_SUCCESS,
                     ISCSI_HBA_DETAIL_NONE);
    }
    qihba_sqe_init(&sqe, 0x7f);
    expect_admin(h, "bad opcode", &sqe, ISDSC_REQUEST_NOT_SUPPORTED,
                 ISCSI_HBA_DETAIL_BAD_OPCODE);

    info = qihba_query(h);
    g_assert_true(qdict_get_bool(info, "enabled"));
    g_assert_true(qdict_get_bool(info, "ready"));
    g_assert_false(qdict_get_bool(info, "fatal"));
    g_assert_cmphex(qdict_get_int(info, "last-status"), ==,
                    ISDSC_REQUEST_NOT_SUPPORTED);
    g_assert_cmpstr(qdict_get_str(info, "last-status-name"), ==,
                    "ISDSC_REQUEST_NOT_SUPPORTED");
    q = qihba_query_queue(info, 0);
    g_assert_nonnull(q);
    g_assert_cmpuint(qdict_get_int(q, "sq-size"), ==, 8);
    g_assert_cmpuint(qdict_get_int(q, "cq-size"), ==, 16);
    g_assert_cmpuint(qdict_get_int(q, "sq-head"), ==, 5);
    g_assert_cmpuint(qdict_get_int(q, "sq-tail"), ==, 5);
    g_assert_cmpuint(qdict_get_int(q, "cq-head"), ==, 5);
    g_assert_cmpuint(qdict_get_int(q, "cq-tail"), ==, 5);
    g_assert_true(qdict_get_bool(q, "phase"));
    g_assert_cmpuint(qdict_get_int(q, "vector"), ==, 0);
    g_assert_true(qdict_get_bool(q, "irq-enabled"));
    g_assert_cmpuint(qdict_get_int(q, "inflight"), ==, 0);
    /* five commands, each rung, completed, consumed and signalled alone */
    g_assert_cmpuint(qdict_get_int(q, "completions"), ==, 5);
    g_assert_cmpuint(qdict_get_int(q, "sq-doorbells"), ==, 5);
    g_assert_cmpuint(qdict_get_int(q, "cq-doorbells"), ==, 5);
    g_assert_cmpuint(qdict_get_int(q, "interrupts"), ==, 5);
    q = qihba_query_queue(info, 2);
    g_assert_nonnull(q);
    g_assert_cmpuint(qdict_get_int(q, "completions"), ==, 0);
    g_assert_cmpuint(qdict_get_int(q, "sq-doorbells"), ==, 0);
    g_assert_cmpuint(qdict_get_int(q, "cq-doorbells"), ==, 0);
    g_assert_cmpuint(qdict_get_int(q, "interrupts"), ==, 0);
    g_assert_cmpuint(qdict_get_int(q, "sq-size"), ==, 16);
    g_assert_cmpuint(qdict_get_int(q, "cq-size"), ==, 4);
    g_assert_cmpuint(qdict_get_int(q, "sq-head"), ==, 0);
    g_assert_cmpuint(qdict_get_int(q, "cq-tail"), ==, 0);
    g_assert_true(qdict_get_bool(q, "phase"));
    g_assert_cmpuint(qdict_get_int(q, "vector"), ==, 1);
    g_assert_true(qdict_get_bool(q, "irq-enabled"));
    g_assert_null(qihba_query_queue(info, 1));
    qobject_unref(info);

    /* fatal */
    qihba_writel(h, ISCSI_HBA_DB_SQ(1), 0);
    expect_fatal(h, ISCSI_HBA_FATAL_BAD_DOORBELL);
    info = qihba_query(h);
    g_assert_true(qdict_get_bool(info, "fatal"));
    g_assert_cmpuint(qdict_get_int(info, "fatal-reason"), ==,
                     ISCSI_HBA_FATAL_BAD_DOORBELL);
    qobject_unref(info);

    /* disabled: no I/O queues left */
    qihba_disable(h);
    info = qihba_query(h);
    g_assert_false(qdict_get_bool(info, "enabled"));
    g_assert_false(qdict_get_bool(info, "ready"));
    g_assert_false(qdict_get_bool(info, "fatal"));
    g_assert_cmpuint(qlist_size(qdict_get_qlist(info, "queues")), ==, 0);
    qobject_unref(info);

    /* MSI-X on */
    qihba_msix_enable(h);
    info = qihba_query(h);
    g_assert_cmpstr(qdict_get_str(info, "interrupt-mode"), ==, "msix");
    qobject_unref(info);
    qihba_quit(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/iscsi-hba/regs/defaults", test_regs_defaults);
    qtest_add_func("/iscsi-hba/regs/properties", test_regs_properties);
    qtest_add_func("/iscsi-hba/regs/properties-invalid",
                   test_properties_invalid);
    qtest_add_func("/iscsi-hba/regs/read-only", test_regs_readonly);
    qtest_add_func("/iscsi-hba/pci/identity", test_pci_identity);
    qtest_add_func("/iscsi-hba/enable/disable", test_enable_disable);
    qtest_add_func("/iscsi-hba/enable/bad-admin-queue",
                   test_enable_bad_admin);
    qtest_add_func("/iscsi-hba/enable/pci-reset", test_pci_reset);
    qtest_add_func("/iscsi-hba/admin/identify", test_identify);
    qtest_add_func("/iscsi-hba/admin/io-queue", test_io_queue_create_delete);
    qtest_add_func("/iscsi-hba/admin/initiator-name", test_initiator_name);
    qtest_add_func("/iscsi-hba/admin/not-implemented", test_not_implemented);
    qtest_add_func("/iscsi-hba/admin/list-sessions", test_list_sessions);
    qtest_add_func("/iscsi-hba/admin/async-event", test_async_event);
    qtest_add_func("/iscsi-hba/queue/phase-wrap", test_phase_wrap);
    qtest_add_func("/iscsi-hba/queue/backpressure", test_backpressure);
    qtest_add_func("/iscsi-hba/irq/msix", test_msix);
    qtest_add_func("/iscsi-hba/irq/intx", test_intx);
    qtest_add_func("/iscsi-hba/hostile/bad-opcode", test_bad_opcode);
    qtest_add_func("/iscsi-hba/hostile/bad-doorbell", test_bad_doorbell);
    qtest_add_func("/iscsi-hba/hostile/scsi-cmd", test_scsi_validation);
    qtest_add_func("/iscsi-hba/hostile/task-mgmt", test_tmf_validation);
    qtest_add_func("/iscsi-hba/qmp/query", test_qmp_query);

    return g_test_run();
}
