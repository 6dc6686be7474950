/*
 * QTest testcases for the iscsi-hba device against a hostile guest
 *
 * A buggy guest driver is a hostile guest.  These tests do to the device
 * what a broken driver would do -- point data at memory that is not RAM,
 * disable, reset or delete queues while commands are at a real target,
 * move BAR0 under a pending command, put queues in unbacked memory, fill
 * queues with garbage, turn off bus mastering, break every login check
 * -- and check the exact outcome the specification (docs/specs/
 * iscsi-hba.rst) promises, plus:
 *
 *   - canaries: guest memory the device must not write (READ buffers,
 *     sense buffers, CQ rings, the RAM half of a failed SG list) is
 *     filled with a known byte before and checked after;
 *   - QEMU is still alive and the device works again afterwards.
 *
 * The groups:
 *
 *   f1        SG elements in the PCI hole or running off the end of RAM
 *   f9        disable, PCI reset, DELETE_IO_QUEUE and LOGOUT while
 *             commands are at a frozen target
 *   unbacked  SQs and CQs above the end of RAM (FATAL_SQ_READ/CQ_WRITE)
 *   fatal     the device goes fatal while commands are at the target
 *   f8        one doorbell, 4095 x 4096 SG elements: the main loop goes
 *             on; the bounded bounce buffer (OUT_OF_RESOURCES)
 *   bar       BAR0 moved over a pending command's output buffers
 *   garbage   random SQEs, doorbell storms, rings overlapping each other
 *             and data buffers
 *   login, scsi, regs, admin, irq, session
 *             every login parameter and SET_CHAP_SECRET check, BAD_LUN,
 *             register access sizes, the admin request pool, MSI-X
 *             function mask and disable, output buffers that fail after
 *             the target answered, ABORT_TASK naming nothing, SG lists
 *             rewritten after submission
 *   bus-master, unplug
 *             Bus Master Enable cleared, and hot-unplug, with commands
 *             at a frozen target
 *   f2        q35, behind a pcie-root-port: the adapter's own DMA (data,
 *             sense, IDENTIFY output, an MSI-X message) sets Secondary
 *             Bus Reset in the root port through ECAM, or powers the
 *             slot off, from inside the queue bottom half
 *
 * Tests that need a target log in to a real tgtd (libqos/tgtd-fixture.h;
 * skipped without root or the tgt package).  To hold a command at the
 * target, tgtd is frozen with SIGSTOP and thawed with SIGCONT.  Every
 * test starts its own QEMU; every wait is bounded.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "libqtest.h"
#include "libqos/iscsi-hba.h"
#include "libqos/malloc-pc.h"
#include "libqos/pci-pc.h"
#include "libqos/iscsi-hba-session.h"
#include "libqos/tgtd-fixture.h"
#include "qobject/qdict.h"
#include "hw/pci/pci_regs.h"
#include "scsi/constants.h"

/* Device timeouts of the tests with a target (properties, seconds). */
#define LT                      3       /* login-timeout */
#define CT                      5       /* command-timeout */
/* Guest logins go to the fixture's tgtd on 127.0.0.1 */
#define PORTALS                 "guest-portals=any"
/* Guest RAM of every test (the pc machine's default, made explicit) */
#define RAM_SIZE                (128 * MiB)
#define MEM_ARGS                "-m 128M"

/* Guest physical addresses that are not memory at all on a pc machine */
#define HOLE_ADDR               0xfe100000ULL   /* unassigned, PCI hole */
#define ABOVE_RAM_ADDR          0x100001000ULL  /* above 4 GiB, no RAM */

/* Canary bytes */
#define CANARY_DATA             0x5a
#define CANARY_READ             0xa5
#define CANARY_SENSE            0xc3
#define CANARY_OUT              0x3c

/* How long a test waits for something that must NOT happen */
#define QUIET_MS                1000

/* iSCSI task management responses (RFC 3720 10.6.1), TASK_MGMT result */
#define TMF_RSP_NO_TASK         1

static TgtdFixture *fx;
static GError *fx_error;

static double elapsed_ms(gint64 since)
{
    return (g_get_monotonic_time() - since) / 1000.0;
}

/*
 * Guest memory canaries
 */

/* Assert that @len bytes at @addr all hold @byte. */
static void canary_check(QTestState *qts, const char *what, uint64_t addr,
                         size_t len, uint8_t byte)
{
    g_autofree uint8_t *buf = g_malloc(len);
    size_t i, bad = 0, first = len;

    qtest_memread(qts, addr, buf, len);
    for (i = 0; i < len; i++) {
        if (buf[i] != byte) {
            if (first == len) {
                first = i;
            }
            bad++;
        }
    }
    if (bad) {
        g_test_message("%s: %zu of %zu canary bytes (0x%02x) at 0x%" PRIx64
                       " overwritten, first at +%zu (now 0x%02x)", what, bad,
                       len, byte, addr, first, buf[first]);
    }
    g_assert_cmpuint(bad, ==, 0);
}

/* A copy of guest memory, to prove later that nobody wrote it. */
typedef struct Snapshot {
    uint64_t addr;
    size_t len;
    uint8_t *data;
} Snapshot;

static Snapshot snapshot_take(QTestState *qts, uint64_t addr, size_t len)
{
    Snapshot s = { .addr = addr, .len = len, .data = g_malloc(len) };

    qtest_memread(qts, addr, s.data, len);
    return s;
}

static void snapshot_check(QTestState *qts, const char *what, Snapshot *s)
{
    g_autofree uint8_t *now = g_malloc(s->len);
    size_t i;

    qtest_memread(qts, s->addr, now, s->len);
    for (i = 0; i < s->len; i++) {
        if (now[i] != s->data[i]) {
            g_test_message("%s: guest memory at 0x%" PRIx64 " +%zu changed "
                           "from 0x%02x to 0x%02x", what, s->addr, i,
                           s->data[i], now[i]);
            g_assert_not_reached();
        }
    }
}

static void snapshot_free(Snapshot *s)
{
    g_free(s->data);
    s->data = NULL;
}

/* Keep QEMU's main loop busy for @ms, checking that it stays alive. */
static void quiet_wait(QIscsiHba *h, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

    while (g_get_monotonic_time() < end) {
        g_assert_true(qihba_alive(h));
        g_usleep(20 * 1000);
    }
}

/* No CQE at the driver's head of CQ @qid (the queue memory is intact). */
static void expect_no_cqe(QIscsiHba *h, uint16_t qid, const char *what)
{
    struct iscsi_hba_cqe cqe;

    if (qihba_peek_cqe(h, qid, 0, &cqe)) {
        g_test_message("%s: unexpected CQE cid %u status 0x%08x %s detail %u",
                       what, cqe.cid, cqe.status, qihba_isdsc(cqe.status),
                       cqe.detail);
        g_assert_not_reached();
    }
}

/* Wait up to @ms for STATUS.FATAL. */
static void wait_fatal(QIscsiHba *h, uint32_t reason, int ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;

    while (!(qihba_readl(h, ISCSI_HBA_REG_STATUS) & ISCSI_HBA_STATUS_FATAL)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    qihba_expect_fatal(h, reason);
}

/* An IDENTIFY works: the device is usable. */
static void expect_identify_ok(QIscsiHba *h)
{
    struct iscsi_hba_identify id;

    g_assert_cmphex(qihba_identify(h, &id), ==, ISCSI_HBA_STATUS_SUCCESS);
    g_assert_cmphex(id.vendor_id, ==, ISCSI_HBA_PCI_VENDOR_ID);
}

/*
 * Sessions
 */

static QIscsiHbaTest *start_target_test(const char *extra)
{
    g_autofree char *opts = g_strdup_printf(PORTALS "%s%s",
                                            extra ? "," : "",
                                            extra ? extra : "");

    return qihba_t_start_args(fx, LT, CT, opts, MEM_ARGS);
}

/* A READ or WRITE of @len bytes at @lba from/to RAM at @buf, checked good. */
static void rw_good(QIscsiHbaTest *t, uint32_t sid, uint8_t op, uint64_t lba,
                    uint64_t buf, uint32_t len)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qihba_rw_init(t, &sqe, sid, 1, op, lba, len / t->bs);
    qihba_sqe_add_sg(&sqe, buf, len);
    qihba_io_exec_good(t, &sqe, &cqe);
}

/*
 * SCSI_CMD on QIHBA_IO_QID with its own sense buffer (@sense, 252 bytes)
 * and the inline data elements @sg (@n of them).
 */
static void scsi_sqe(QIscsiHbaTest *t, struct iscsi_hba_sqe *sqe,
                     uint32_t sid, uint8_t op, uint64_t lba, uint32_t blocks,
                     uint64_t sense, const struct iscsi_hba_sg *sg, int n)
{
    int i;

    qihba_rw_init(t, sqe, sid, 1, op, lba, blocks);
    sqe->u.scsi.sense_addr = sense;
    sqe->u.scsi.sense_len = ISCSI_HBA_MAX_SENSE_LEN;
    for (i = 0; i < n; i++) {
        qihba_sqe_add_sg(sqe, sg[i].addr, sg[i].len);
    }
}

/*
 * F1: data elements that are not memory (the PCI hole)
 *
 * A WRITE whose SG list is [8 KiB of RAM filled with 0x5a, 8 KiB of the
 * PCI hole] fails with INVALID_PARAMETER / DMA_ERROR before anything is
 * sent: the LBAs keep their old contents, and the RAM half still holds
 * 0x5a (the old bounce path copied host heap into it).  The same for a
 * READ, for the other order, and for an element that runs off the end
 * of RAM.
 */
static void test_f1_pci_hole(void)
{
    static const struct {
        const char *what;
        uint8_t op;
        bool hole_first;
        bool ram_end;
    } cases[] = {
        { "WRITE [RAM, hole]", WRITE_10, false, false },
        { "WRITE [hole, RAM]", WRITE_10, true, false },
        { "WRITE [RAM, RAM end + beyond]", WRITE_10, false, true },
        { "READ [RAM, hole]", READ_10, false, false },
        { "READ [hole, RAM]", READ_10, true, false },
        { "READ [RAM, RAM end + beyond]", READ_10, false, true },
    };
    const uint32_t half = 8 * KiB, len = 2 * half;
    g_autofree uint8_t *pattern = g_malloc(len);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_sg sg[2];
    uint64_t ram, sense, buf;
    uint32_t sid;
    QIscsiHbaTest *t;
    int i, j;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = start_target_test(NULL);
    sid = qihba_open_plain(t);

    /* Known contents at LBA 0, to prove that no WRITE reached the LUN */
    qihba_fill_pattern(pattern, len, 0xf1);
    buf = qihba_alloc(t->h, len, 0);
    qtest_memwrite(t->qts, buf, pattern, len);
    rw_good(t, sid, WRITE_10, 0, buf, len);

    ram = qihba_alloc(t->h, half, 0);
    sense = qihba_alloc(t->h, ISCSI_HBA_MAX_SENSE_LEN, 0);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        uint64_t other = HOLE_ADDR;
        uint32_t other_len = half;
        uint64_t ram_part = ram;

        if (cases[i].ram_end) {
            /* The second element starts 4 KiB before the end of RAM */
            other = RAM_SIZE - 4 * KiB;
            qtest_memset(t->qts, other, CANARY_DATA, 4 * KiB);
        }
        qtest_memset(t->qts, ram_part, CANARY_DATA, half);
        qtest_memset(t->qts, sense, CANARY_SENSE, ISCSI_HBA_MAX_SENSE_LEN);
        j = cases[i].hole_first;
        sg[j].addr = ram_part;
        sg[j].len = half;
        sg[!j].addr = other;
        sg[!j].len = other_len;
        scsi_sqe(t, &sqe, sid, cases[i].op, 0, len / t->bs, sense, sg, 2);
        qihba_io_exec(t, &sqe, &cqe);
        qihba_check_cqe(cases[i].what, &cqe, ISDSC_INVALID_PARAMETER,
                        ISCSI_HBA_DETAIL_DMA_ERROR);
        g_assert_false(cqe.flags & ISCSI_HBA_CQE_SENSE_VALID);
        canary_check(t->qts, cases[i].what, ram_part, half, CANARY_DATA);
        canary_check(t->qts, "sense buffer", sense, ISCSI_HBA_MAX_SENSE_LEN,
                     CANARY_SENSE);
        if (cases[i].ram_end) {
            canary_check(t->qts, "last page of RAM", other, 4 * KiB,
                         CANARY_DATA);
        }
        g_assert_true(qihba_alive(t->h));
    }

    /* Nothing was written to the LUN; the session still works */
    qtest_memset(t->qts, buf, 0, len);
    rw_good(t, sid, READ_10, 0, buf, len);
    {
        g_autofree uint8_t *now = g_malloc(len);

        qtest_memread(t->qts, buf, now, len);
        g_assert_cmpmem(now, len, pattern, len);
    }
    qihba_expect_running(t->h);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Commands held at a frozen tgtd
 *
 * Two commands are sent while tgtd is stopped: a READ of 8 blocks into a
 * RAM buffer filled with CANARY_READ, and a READ past the end of the LUN
 * (tgtd answers CHECK CONDITION, so the sense buffer would be written).
 * Both sense buffers hold CANARY_SENSE, and the I/O and admin CQs are
 * snapshotted.
 */
typedef struct Held {
    QIscsiHbaTest *t;
    uint32_t sid;
    uint64_t data, sense[2];
    uint32_t data_len;
    uint16_t cid[2];
    Snapshot io_cq, admin_cq;
} Held;

static void held_submit(Held *hd)
{
    QIscsiHbaTest *t = hd->t;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_sg sg;
    int i;

    hd->data_len = 8 * t->bs;
    hd->data = qihba_alloc(t->h, hd->data_len, CANARY_READ);
    for (i = 0; i < 2; i++) {
        hd->sense[i] = qihba_alloc(t->h, ISCSI_HBA_MAX_SENSE_LEN,
                                   CANARY_SENSE);
    }
    tgtd_fixture_freeze(fx);

    sg = (struct iscsi_hba_sg) { .addr = hd->data, .len = hd->data_len };
    scsi_sqe(t, &sqe, hd->sid, READ_10, 0, 8, hd->sense[0], &sg, 1);
    hd->cid[0] = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    /* Past the end of the LUN: no data, only sense (into the same buffer) */
    sg.len = t->bs;
    scsi_sqe(t, &sqe, hd->sid, READ_16, t->blocks, 1, hd->sense[1], &sg, 1);
    hd->cid[1] = qihba_submit(t->h, QIHBA_IO_QID, &sqe);

    /* Let the device send them (tgtd's socket takes them) */
    quiet_wait(t->h, 100);
    expect_no_cqe(t->h, QIHBA_IO_QID, "commands at a frozen target");
    hd->io_cq = snapshot_take(t->qts, t->h->q[QIHBA_IO_QID].cq_base,
                              t->h->q[QIHBA_IO_QID].cq_size * QIHBA_CQE_SIZE);
    hd->admin_cq = snapshot_take(t->qts,
                                 t->h->q[ISCSI_HBA_ADMIN_QID].cq_base,
                                 t->h->q[ISCSI_HBA_ADMIN_QID].cq_size *
                                 QIHBA_CQE_SIZE);
}

static Held *held_start(void)
{
    Held *hd = g_new0(Held, 1);

    hd->t = start_target_test(NULL);
    hd->sid = qihba_open_plain(hd->t);
    held_submit(hd);
    return hd;
}

/* After the thaw: nothing of the held commands reached guest memory. */
static void held_check_untouched(Held *hd, bool check_io_cq)
{
    QTestState *qts = hd->t->qts;

    canary_check(qts, "READ buffer", hd->data, hd->data_len, CANARY_READ);
    canary_check(qts, "sense buffer of the READ", hd->sense[0],
                 ISCSI_HBA_MAX_SENSE_LEN, CANARY_SENSE);
    canary_check(qts, "sense buffer of the CHECK CONDITION", hd->sense[1],
                 ISCSI_HBA_MAX_SENSE_LEN, CANARY_SENSE);
    if (check_io_cq) {
        snapshot_check(qts, "I/O CQ", &hd->io_cq);
    }
}

static void held_free(Held *hd)
{
    snapshot_free(&hd->io_cq);
    snapshot_free(&hd->admin_cq);
    g_free(hd);
}

/* The device works again: enable, log in, READ the data back. */
static void held_recover(Held *hd)
{
    QIscsiHbaTest *t = hd->t;
    uint64_t buf = qihba_alloc(t->h, t->bs, 0);

    qihba_t_enable(t);
    expect_identify_ok(t->h);
    hd->sid = qihba_open_plain(t);
    rw_good(t, hd->sid, READ_10, 0, buf, t->bs);
    qihba_logout_ok(t, hd->sid);
}

/* Disable, recover (held_recover()), then free @hd and quit its test. */
static void held_finish(Held *hd)
{
    QIscsiHbaTest *t = hd->t;

    qihba_disable(t->h);
    held_recover(hd);
    held_free(hd);
    qihba_t_quit(t);
}

/*
 * After the thaw of a fatal device: no CQE was posted and no sense data
 * written (READ data may have reached its mapped RAM: that is allowed).
 */
static void held_check_no_completion(Held *hd)
{
    QTestState *qts = hd->t->qts;

    snapshot_check(qts, "I/O CQ", &hd->io_cq);
    snapshot_check(qts, "admin CQ", &hd->admin_cq);
    canary_check(qts, "sense buffer of the CHECK CONDITION", hd->sense[1],
                 ISCSI_HBA_MAX_SENSE_LEN, CANARY_SENSE);
}

/*
 * F9: CTRL.ENABLE = 0 while commands are at a frozen target.  After the
 * thaw nothing of them is written: no READ data, no sense, no CQE.
 */
static void test_f9_disable(void)
{
    Held *hd;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    hd = held_start();
    t = hd->t;
    qihba_writel(t->h, ISCSI_HBA_REG_CTRL, 0);
    g_assert_cmphex(qihba_readl(t->h, ISCSI_HBA_REG_STATUS), ==, 0);
    tgtd_fixture_thaw(fx);
    quiet_wait(t->h, QUIET_MS);
    held_check_untouched(hd, true);
    snapshot_check(t->qts, "admin CQ", &hd->admin_cq);
    held_finish(hd);
}

/*
 * F9: a disable while a DISCOVERY (logging in to the frozen tgtd) and a
 * REPORT_LUNS are at the target: after the thaw neither output buffer
 * nor the admin CQ is written.
 */
static void test_f9_disable_admin(void)
{
    struct iscsi_hba_sqe sqe;
    uint64_t disc, luns;
    Snapshot cq;
    QIscsiHbaTest *t;
    uint32_t sid;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = start_target_test(NULL);
    sid = qihba_open_plain(t);
    disc = qihba_alloc(t->h, 4 * KiB, CANARY_OUT);
    luns = qihba_alloc(t->h, 4 * KiB, CANARY_OUT);

    tgtd_fixture_freeze(fx);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_REPORT_LUNS, luns, 4 * KiB);
    sqe.hdr.session_id = sid;
    qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
    qihba_discovery_start(t, fx->host, fx->port, NULL, disc, 4 * KiB);
    quiet_wait(t->h, 200);
    expect_no_cqe(t->h, ISCSI_HBA_ADMIN_QID, "admin commands at the target");
    cq = snapshot_take(t->qts, t->h->q[ISCSI_HBA_ADMIN_QID].cq_base,
                       QIHBA_ADMIN_ENTRIES * QIHBA_CQE_SIZE);
    qihba_writel(t->h, ISCSI_HBA_REG_CTRL, 0);
    g_assert_cmphex(qihba_readl(t->h, ISCSI_HBA_REG_STATUS), ==, 0);
    tgtd_fixture_thaw(fx);
    quiet_wait(t->h, QUIET_MS);
    canary_check(t->qts, "REPORT_LUNS buffer", luns, 4 * KiB, CANARY_OUT);
    canary_check(t->qts, "DISCOVERY buffer", disc, 4 * KiB, CANARY_OUT);
    snapshot_check(t->qts, "admin CQ", &cq);
    snapshot_free(&cq);

    qihba_disable(t->h);
    qihba_t_enable(t);
    sid = qihba_open_plain(t);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * F9: a PCI reset (system_reset) while commands are at a frozen target.
 */
static void test_f9_pci_reset(void)
{
    QIscsiHbaTest *t;
    QDict *rsp;
    Held *hd;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    hd = held_start();
    t = hd->t;
    rsp = qtest_qmp(t->qts, "{'execute': 'system_reset'}");
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    qtest_qmp_eventwait(t->qts, "RESET");
    tgtd_fixture_thaw(fx);
    quiet_wait(t->h, QUIET_MS);
    held_check_untouched(hd, true);
    snapshot_check(t->qts, "admin CQ", &hd->admin_cq);

    /* Config space was reset too: map BAR0 again, then recover */
    qpci_device_enable(t->h->dev);
    t->h->bar = qpci_iomap(t->h->dev, ISCSI_HBA_BAR_REGS, NULL);
    g_assert_cmphex(qihba_readl(t->h, ISCSI_HBA_REG_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(t->h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE), ==, 0);
    t->h->q[ISCSI_HBA_ADMIN_QID].live = false;
    t->h->q[QIHBA_IO_QID].live = false;
    held_recover(hd);
    held_free(hd);
    qihba_t_quit(t);
}

/*
 * F9: DELETE_IO_QUEUE while commands of the queue are at a frozen
 * target.  The session lives on: after the thaw tgtd answers both
 * commands, and nothing of the answers reaches guest memory.
 */
static void test_f9_delete_queue(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    QIscsiHbaQueue *q;
    QIscsiHbaTest *t;
    uint64_t buf;
    Held *hd;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    hd = held_start();
    t = hd->t;
    qihba_sqe_delete_queue(&sqe, QIHBA_IO_QID);
    qihba_t_admin(t, &sqe, &cqe);
    qihba_check_cqe("DELETE_IO_QUEUE", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    tgtd_fixture_thaw(fx);
    quiet_wait(t->h, QUIET_MS);
    held_check_untouched(hd, true);

    /*
     * The queue memory stays allocated (and unused) so that nothing
     * else lands on the canaries; the session still works on a new queue.
     */
    q = &t->h->q[QIHBA_IO_QID];
    q->live = false;
    q->sq_base = q->cq_base = 0;
    g_assert_cmphex(qihba_create_io_queue(t->h, QIHBA_IO_QID,
                                          QIHBA_IO_ENTRIES, QIHBA_IO_ENTRIES,
                                          0, false), ==, 0);
    g_array_set_size(t->stash[1], 0);
    buf = qihba_alloc(t->h, t->bs, 0);
    rw_good(t, hd->sid, READ_10, 0, buf, t->bs);
    held_check_untouched(hd, false);
    qihba_logout_ok(t, hd->sid);
    held_free(hd);
    qihba_t_quit(t);
}

/*
 * LOGOUT while commands are at a frozen target: both, and a REPORT_LUNS,
 * complete SCSI_REQUEST_FAILED / ABORTED at once -- before the LOGOUT,
 * which cannot complete before tgtd answers -- and write nothing else.
 */
static void test_f9_logout(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    QIscsiHbaTest *t;
    uint16_t lcid, rcid;
    uint64_t luns, rseq, lseq;
    Held *hd;
    int i;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    hd = held_start();
    t = hd->t;
    /* A REPORT_LUNS at the frozen target too */
    luns = qihba_alloc(t->h, 4 * KiB, CANARY_OUT);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_REPORT_LUNS, luns, 4 * KiB);
    sqe.hdr.session_id = hd->sid;
    rcid = qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
    quiet_wait(t->h, 100);

    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_LOGOUT);
    sqe.hdr.session_id = hd->sid;
    lcid = qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
    for (i = 0; i < 2; i++) {
        qihba_t_wait(t, QIHBA_IO_QID, hd->cid[i], 2000, &cqe, NULL);
        qihba_check_cqe("command cancelled by LOGOUT", &cqe,
                        ISDSC_SCSI_REQUEST_FAILED, ISCSI_HBA_DETAIL_ABORTED);
        g_assert_false(cqe.flags & ISCSI_HBA_CQE_SENSE_VALID);
    }
    qihba_t_wait(t, ISCSI_HBA_ADMIN_QID, rcid, 2000, &cqe, &rseq);
    qihba_check_cqe("REPORT_LUNS cancelled by LOGOUT", &cqe,
                    ISDSC_SCSI_REQUEST_FAILED, ISCSI_HBA_DETAIL_ABORTED);
    /* The LOGOUT itself waits for the frozen target */
    g_assert_false(qihba_t_poll(t, ISCSI_HBA_ADMIN_QID, lcid, 0, &cqe, NULL));
    held_check_untouched(hd, false);

    tgtd_fixture_thaw(fx);
    qihba_t_wait(t, ISCSI_HBA_ADMIN_QID, lcid, QIHBA_LOGOUT_WAIT_MS, &cqe,
                 &lseq);
    qihba_check_cqe("LOGOUT", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    g_assert_cmpuint(rseq, <, lseq);
    quiet_wait(t->h, QUIET_MS);
    held_check_untouched(hd, false);
    canary_check(t->qts, "REPORT_LUNS buffer", luns, 4 * KiB, CANARY_OUT);
    expect_no_cqe(t->h, QIHBA_IO_QID, "after the LOGOUT");
    qihba_expect_running(t->h);
    held_free(hd);
    qihba_t_quit(t);
}

/*
 * The device goes fatal (a doorbell for a queue that does not exist)
 * while commands are at a frozen target.  When tgtd answers, nothing is
 * posted: no CQE, no sense data (spec, "Fatal errors": commands in
 * execution never complete).  Only the disable brings it back.
 */
static void test_fatal_in_flight(void)
{
    QIscsiHbaTest *t;
    Held *hd;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    hd = held_start();
    t = hd->t;
    qihba_writel(t->h, ISCSI_HBA_DB_SQ(ISCSI_HBA_MAX_IO_QUEUES_LIMIT), 1);
    qihba_expect_fatal(t->h, ISCSI_HBA_FATAL_BAD_DOORBELL);
    tgtd_fixture_thaw(fx);
    quiet_wait(t->h, QUIET_MS);
    qihba_expect_fatal(t->h, ISCSI_HBA_FATAL_BAD_DOORBELL);
    held_check_no_completion(hd);
    held_finish(hd);
}

/*
 * Queues in unbacked memory
 */

/*
 * An I/O SQ above the end of RAM passes CREATE_IO_QUEUE's checks; its
 * first doorbell makes the device fatal (FATAL_SQ_READ).  While fatal
 * only a disable has an effect; after it the device works again.
 */
static void test_unbacked_sq(void)
{
    QIscsiHba *h = qihba_start("num-queues=2");
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t cq = qihba_alloc(h, 4 * KiB, 0);
    Snapshot cq_snap;

    qihba_enable(h, 8);
    qihba_sqe_create_queue(&sqe, 1, ABOVE_RAM_ADDR, cq, 4, 4, 0, false);
    qihba_admin(h, &sqe, &cqe);
    qihba_check_cqe("CREATE_IO_QUEUE, SQ above RAM", &cqe, 0,
                    ISCSI_HBA_DETAIL_NONE);
    cq_snap = snapshot_take(h->qts, cq, 4 * KiB);

    qihba_writel(h, ISCSI_HBA_DB_SQ(1), 1);
    wait_fatal(h, ISCSI_HBA_FATAL_SQ_READ, 2000);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                    ISCSI_HBA_STATUS_READY | ISCSI_HBA_STATUS_FATAL);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==,
                    ISCSI_HBA_CTRL_ENABLE);

    /* While fatal: doorbells, admin commands and register writes do nothing */
    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_IDENTIFY);
    qihba_sq_put(h, ISCSI_HBA_ADMIN_QID, &sqe);
    qihba_sq_ring(h, ISCSI_HBA_ADMIN_QID);
    qihba_writel(h, ISCSI_HBA_DB_SQ(1), 2);
    qihba_writel(h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_SET, 1);
    quiet_wait(h, 200);
    qihba_expect_fatal(h, ISCSI_HBA_FATAL_SQ_READ);
    expect_no_cqe(h, ISCSI_HBA_ADMIN_QID, "admin CQ while fatal");
    snapshot_check(h->qts, "I/O CQ", &cq_snap);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0);

    /* Only a disable recovers */
    qihba_disable(h);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_FATAL_REASON), ==, 0);
    qihba_enable(h, 8);
    expect_identify_ok(h);
    qihba_expect_running(h);
    snapshot_free(&cq_snap);
    qihba_quit(h);
}

/* The same for the admin SQ: enable succeeds, the first doorbell is fatal */
static void test_unbacked_admin_sq(void)
{
    QIscsiHba *h = qihba_start(NULL);
    uint64_t cq = qihba_alloc(h, 4 * KiB, 0);
    Snapshot cq_snap = snapshot_take(h->qts, cq, 4 * KiB);

    qihba_set_admin_regs(h, ABOVE_RAM_ADDR, cq, 8, 8);
    qihba_writel(h, ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    qihba_expect_running(h);
    qihba_writel(h, ISCSI_HBA_DB_SQ(0), 1);
    wait_fatal(h, ISCSI_HBA_FATAL_SQ_READ, 2000);
    quiet_wait(h, 100);
    snapshot_check(h->qts, "admin CQ", &cq_snap);

    qihba_writel(h, ISCSI_HBA_REG_CTRL, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    qihba_enable(h, 8);
    expect_identify_ok(h);
    snapshot_free(&cq_snap);
    qihba_quit(h);
}

/*
 * An I/O CQ above the end of RAM: the first completion makes the device
 * fatal (FATAL_CQ_WRITE); the command's own output is not written either.
 */
static void test_unbacked_cq(void)
{
    QIscsiHba *h = qihba_start("num-queues=2");
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t sq = qihba_alloc(h, 4 * KiB, 0);
    uint64_t sense = qihba_alloc(h, ISCSI_HBA_MAX_SENSE_LEN, CANARY_SENSE);
    static const uint8_t tur[6] = { TEST_UNIT_READY };

    qihba_enable(h, 8);
    qihba_sqe_create_queue(&sqe, 1, sq, ABOVE_RAM_ADDR, 4, 4, 0, true);
    qihba_admin(h, &sqe, &cqe);
    qihba_check_cqe("CREATE_IO_QUEUE, CQ above RAM", &cqe, 0,
                    ISCSI_HBA_DETAIL_NONE);

    /* A command that completes at once (no session) */
    qihba_sqe_scsi(&sqe, 0x12345678, 0, ISCSI_HBA_SCSI_DIR_NONE, tur,
                   sizeof(tur), 0);
    sqe.u.scsi.sense_addr = sense;
    sqe.u.scsi.sense_len = ISCSI_HBA_MAX_SENSE_LEN;
    qtest_memwrite(h->qts, sq, &sqe, sizeof(sqe));
    qihba_writel(h, ISCSI_HBA_DB_SQ(1), 1);
    wait_fatal(h, ISCSI_HBA_FATAL_CQ_WRITE, 2000);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 0);
    canary_check(h->qts, "sense buffer", sense, ISCSI_HBA_MAX_SENSE_LEN,
                 CANARY_SENSE);

    /* Only a disable recovers; then a good I/O queue works */
    qihba_writel(h, ISCSI_HBA_REG_LAST_STATUS, 0);
    qihba_expect_fatal(h, ISCSI_HBA_FATAL_CQ_WRITE);
    qihba_writel(h, ISCSI_HBA_REG_CTRL, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==, 0);
    qihba_enable(h, 8);
    g_assert_cmphex(qihba_create_io_queue(h, 1, 4, 4, 0, false), ==, 0);
    qihba_sqe_scsi(&sqe, 0x12345678, 0, ISCSI_HBA_SCSI_DIR_NONE, tur,
                   sizeof(tur), 0);
    qihba_cmd(h, 1, &sqe, &cqe);
    qihba_check_cqe("TUR without a session", &cqe, ISDSC_INVALID_SESSION_ID,
                    ISCSI_HBA_DETAIL_NO_SESSION);
    qihba_quit(h);
}

/*
 * F8b: one doorbell may not stall the main loop
 *
 * max-sg-elements=4096, max-queue-entries=4096: an I/O SQ of 4096 entries
 * is filled with 4095 SCSI commands, each with a 4096-element chained SG
 * list, for a session that does not exist.  The queue is rung once.  The
 * device must keep answering register reads while it works through them
 * (the old code walked all 16.7 million elements in one go: 1.5 s), and
 * all of them complete INVALID_SESSION_ID / NO_SESSION.
 */
#define F8_ENTRIES              4096
#define F8_SG                   4096
#define F8_ELEM_LEN             256
/* A register read may take this long (the old stall was 1500 ms) */
#define F8_MAX_READ_MS          300

static void test_f8_doorbell_budget(void)
{
    QIscsiHba *h = qihba_start("max-sg-elements=4096,"
                               "max-queue-entries=4096");
    const uint16_t n = F8_ENTRIES - 1;
    const unsigned seg1 = F8_SG / 2, seg2 = F8_SG - seg1;
    g_autofree struct iscsi_hba_sg *list =
        g_new0(struct iscsi_hba_sg, F8_SG + 1);
    g_autofree struct iscsi_hba_sqe *ring = g_new0(struct iscsi_hba_sqe,
                                                   F8_ENTRIES);
    g_autofree struct iscsi_hba_cqe *cqes = g_new0(struct iscsi_hba_cqe,
                                                   F8_ENTRIES);
    static const uint8_t cdb[10] = { READ_10 };
    uint64_t data, seg_a, seg_b;
    QIscsiHbaQueue *q;
    double ms, max_ms = 0;
    unsigned reads = 0, first_done = 0, i;
    gint64 t0, deadline;

    qihba_enable(h, 8);
    g_assert_cmphex(qihba_create_io_queue(h, 1, F8_ENTRIES, F8_ENTRIES, 0,
                                          false), ==, 0);
    q = &h->q[1];

    /* One SG list shared by all commands: two segments */
    data = qihba_alloc(h, F8_ELEM_LEN, 0);
    seg_a = qihba_alloc(h, (seg1 + 1) * sizeof(struct iscsi_hba_sg), 0);
    seg_b = qihba_alloc(h, seg2 * sizeof(struct iscsi_hba_sg), 0);
    for (i = 0; i < F8_SG + 1; i++) {
        list[i].addr = cpu_to_le64(data);
        list[i].len = cpu_to_le32(F8_ELEM_LEN);
    }
    list[seg1].addr = cpu_to_le64(seg_b);
    list[seg1].len = cpu_to_le32(seg2 * sizeof(struct iscsi_hba_sg));
    list[seg1].flags = cpu_to_le32(ISCSI_HBA_SG_CHAIN);
    qtest_memwrite(h->qts, seg_a, list,
                   (seg1 + 1) * sizeof(struct iscsi_hba_sg));
    qtest_memwrite(h->qts, seg_b, list + seg1 + 1,
                   seg2 * sizeof(struct iscsi_hba_sg));

    for (i = 0; i < n; i++) {
        struct iscsi_hba_sqe *e = &ring[i];

        qihba_sqe_scsi(e, 0x12345678, 1, ISCSI_HBA_SCSI_DIR_READ, cdb,
                       sizeof(cdb), F8_SG * F8_ELEM_LEN);
        e->hdr.flags |= ISCSI_HBA_SCSI_SG_LIST;
        e->hdr.cid = i + 1;
        e->u.scsi.sg_count = F8_SG;
        e->u.scsi.sg[0].addr = seg_a;
        e->u.scsi.sg[0].len = (seg1 + 1) * sizeof(struct iscsi_hba_sg);
    }
    qtest_bufwrite(h->qts, q->sq_base, ring, sizeof(*ring) * F8_ENTRIES);
    q->sq_tail = n;

    qihba_sq_ring(h, 1);
    t0 = g_get_monotonic_time();
    deadline = t0 + 60 * G_USEC_PER_SEC;
    for (;;) {
        struct iscsi_hba_cqe last;
        gint64 r0 = g_get_monotonic_time();

        g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==,
                        ISCSI_HBA_STATUS_READY);
        ms = elapsed_ms(r0);
        max_ms = MAX(max_ms, ms);
        if (reads++ == 0) {
            /* How far the device got while the first read waited */
            qtest_memread(h->qts, q->cq_base, cqes, n * QIHBA_CQE_SIZE);
            while (first_done < n && (cqes[first_done].flags &
                                      ISCSI_HBA_CQE_PHASE)) {
                first_done++;
            }
            g_test_message("first STATUS read after the doorbell: %.1f ms, "
                           "%u of %u commands completed by then", ms,
                           first_done, n);
        }
        if (qihba_peek_cqe(h, 1, n - 1, &last)) {
            break;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(2000);
    }
    g_test_message("%u commands x %u SG elements: %.0f ms, %u register "
                   "reads meanwhile, the slowest %.1f ms", n, F8_SG,
                   elapsed_ms(t0), reads, max_ms);
    g_assert_cmpfloat(max_ms, <, F8_MAX_READ_MS);

    qtest_memread(h->qts, q->cq_base, cqes, n * QIHBA_CQE_SIZE);
    for (i = 0; i < n; i++) {
        g_assert_cmpuint(cqes[i].flags & ISCSI_HBA_CQE_PHASE, ==, 1);
        g_assert_cmpuint(cqes[i].cid, ==, i + 1);
        qihba_check_cqe("command without a session", &cqes[i],
                        ISDSC_INVALID_SESSION_ID,
                        ISCSI_HBA_DETAIL_NO_SESSION);
    }
    qihba_consume(h, 1, n);
    qihba_expect_running(h);
    qihba_quit(h);
}

/*
 * BAR0 moved under a pending command
 *
 * While tgtd is frozen, a READ past the end of the LUN (tgtd answers
 * CHECK CONDITION with sense data) has its sense buffer at BAR0's future
 * CTRL register, and a REPORT_LUNS has its output buffer in BAR0's future
 * register page.  Then BAR0 is moved there and tgtd thawed.  The device
 * must re-check both addresses when it posts the completions: the READ
 * completes INVALID_PARAMETER / BAD_SENSE, the REPORT_LUNS
 * INVALID_PARAMETER / BAD_ADDRESS, nothing is written to the registers
 * (the old code wrote "70 00 05 00" into CTRL and disabled itself from a
 * libiscsi callback), and the device stays enabled.
 */
static void test_bar_moved(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_sg sg;
    uint64_t old_bar, new_bar, data;
    uint16_t rcid, scid;
    uint32_t sid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = start_target_test(NULL);
    sid = qihba_open_plain(t);
    old_bar = t->h->bar.addr;
    new_bar = old_bar + 1 * MiB;
    data = qihba_alloc(t->h, t->bs, CANARY_READ);

    tgtd_fixture_freeze(fx);
    sg = (struct iscsi_hba_sg) { .addr = data, .len = t->bs };
    scsi_sqe(t, &sqe, sid, READ_16, t->blocks, 1,
             new_bar + ISCSI_HBA_REG_CTRL, &sg, 1);
    scid = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_REPORT_LUNS,
                     new_bar + ISCSI_HBA_REG_CTRL, 4 * KiB);
    sqe.hdr.session_id = sid;
    rcid = qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
    quiet_wait(t->h, 100);

    /* Move BAR0 (64-bit) over the two buffers */
    qpci_config_writel(t->h->dev, PCI_BASE_ADDRESS_0, (uint32_t)new_bar);
    qpci_config_writel(t->h->dev, PCI_BASE_ADDRESS_1, new_bar >> 32);
    t->h->bar.addr = new_bar;
    g_assert_cmphex(qihba_readl(t->h, ISCSI_HBA_REG_MAGIC), ==,
                    ISCSI_HBA_MAGIC);
    qihba_expect_running(t->h);

    tgtd_fixture_thaw(fx);
    qihba_t_wait(t, QIHBA_IO_QID, scid, qihba_scsi_wait_ms(t), &cqe, NULL);
    if (cqe.status == ISCSI_HBA_STATUS_SUCCESS) {
        /* Allowed only if the target sent no sense at all */
        g_test_message("READ past the end: status 0, SCSI status 0x%02x",
                       cqe.scsi_status);
        g_assert_false(cqe.flags & ISCSI_HBA_CQE_SENSE_VALID);
    } else {
        qihba_check_cqe("sense buffer in the moved BAR", &cqe,
                        ISDSC_INVALID_PARAMETER, ISCSI_HBA_DETAIL_BAD_SENSE);
    }
    g_assert_false(cqe.flags & ISCSI_HBA_CQE_SENSE_VALID);
    g_assert_cmpuint(cqe.sense_len, ==, 0);
    qihba_t_wait(t, ISCSI_HBA_ADMIN_QID, rcid, qihba_scsi_wait_ms(t), &cqe,
                 NULL);
    qihba_check_cqe("REPORT_LUNS output in the moved BAR", &cqe,
                    ISDSC_INVALID_PARAMETER, ISCSI_HBA_DETAIL_BAD_ADDRESS);

    /* Still enabled; registers untouched; the session works */
    g_assert_true(qihba_alive(t->h));
    qihba_expect_running(t->h);
    g_assert_cmphex(qihba_readl(t->h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0);
    canary_check(t->qts, "READ buffer", data, t->bs, CANARY_READ);
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec_good(t, &sqe, &cqe);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Garbage in the queues and doorbell storms
 */

/* Admin opcodes a garbage entry is drawn from (half of the time). */
static const uint8_t admin_opcodes[] = {
    ISCSI_HBA_ADM_IDENTIFY, ISCSI_HBA_ADM_CREATE_IO_QUEUE,
    ISCSI_HBA_ADM_DELETE_IO_QUEUE, ISCSI_HBA_ADM_SET_INITIATOR_NAME,
    ISCSI_HBA_ADM_GET_INITIATOR_NAME, ISCSI_HBA_ADM_SET_DOORBELL_BUFFER,
    ISCSI_HBA_ADM_DISCOVERY, ISCSI_HBA_ADM_LOGIN, ISCSI_HBA_ADM_LOGOUT,
    ISCSI_HBA_ADM_LIST_SESSIONS, ISCSI_HBA_ADM_SESSION_INFO,
    ISCSI_HBA_ADM_REPORT_LUNS, ISCSI_HBA_ADM_SET_CHAP_SECRET,
};

/*
 * A garbage SQE: random bytes; often a real opcode, and then often no
 * flags, so that the command-specific checks see random fields.  An
 * ASYNC_EVENT that would be accepted is spoilt (it would complete only
 * with an event), and so is an admin command that could change the
 * queues the test runs on, and LIST_SESSIONS, which succeeds whatever
 * its buffer while there is no session: every entry must fail.
 */
static void garbage_sqe(GRand *r, struct iscsi_hba_sqe *e, bool admin)
{
    uint32_t *w = (uint32_t *)e;
    unsigned i;

    for (i = 0; i < sizeof(*e) / 4; i++) {
        w[i] = g_rand_int(r);
    }
    switch (g_rand_int_range(r, 0, 4)) {
    case 0:
        break;
    case 1:
        e->hdr.opcode = g_rand_int_range(r, 0, 0x20);
        break;
    default:
        if (admin) {
            e->hdr.opcode = admin_opcodes[g_rand_int_range(
                r, 0, ARRAY_SIZE(admin_opcodes))];
        } else {
            e->hdr.opcode = g_rand_boolean(r) ? ISCSI_HBA_IO_SCSI_CMD :
                                                ISCSI_HBA_IO_TASK_MGMT;
        }
        e->hdr.flags = g_rand_boolean(r) ? 0 : e->hdr.flags & 7;
        break;
    }
    if (admin && !e->hdr.flags &&
        (e->hdr.opcode == ISCSI_HBA_ADM_ASYNC_EVENT ||
         e->hdr.opcode == ISCSI_HBA_ADM_LIST_SESSIONS ||
         e->hdr.opcode == ISCSI_HBA_ADM_CREATE_IO_QUEUE ||
         e->hdr.opcode == ISCSI_HBA_ADM_DELETE_IO_QUEUE)) {
        e->hdr.flags = 0x80;
    }
}

typedef struct GarbageStats {
    unsigned cqes;
    unsigned success;
    uint16_t sq_head;           /* of the newest CQE */
    GHashTable *status;         /* status -> count */
} GarbageStats;

/* Every completion of garbage has a status from the table, or is fatal. */
static void garbage_cqe(GarbageStats *st, const struct iscsi_hba_cqe *cqe,
                        uint16_t qid)
{
    gpointer key = GUINT_TO_POINTER(cqe->status);

    g_assert_cmpuint(cqe->sq_id, ==, qid);
    if (!iscsi_hba_isdsc_name(cqe->status)) {
        g_test_message("garbage completed with status 0x%08x, not an ISDSC",
                       cqe->status);
        g_assert_not_reached();
    }
    g_assert_cmpuint(cqe->detail, <=, ISCSI_HBA_DETAIL_NOT_ALLOWED);
    st->cqes++;
    st->sq_head = cqe->sq_head;
    if (!ISCSI_HBA_STATUS_IS_ERROR(cqe->status)) {
        g_test_message("garbage cid 0x%04x on queue %u completed with "
                       "status 0x%08x %s, result 0x%" PRIx64, cqe->cid, qid,
                       cqe->status, qihba_isdsc(cqe->status), cqe->result);
        st->success++;
    }
    g_hash_table_insert(st->status, key, GUINT_TO_POINTER(
        GPOINTER_TO_UINT(g_hash_table_lookup(st->status, key)) + 1));
}

/* Consume every CQE the device has posted on @qid; returns how many. */
static unsigned garbage_drain(QIscsiHba *h, uint16_t qid, GarbageStats *st)
{
    struct iscsi_hba_cqe cqe;
    unsigned n = 0;

    while (n < h->q[qid].cq_size - 1 && qihba_peek_cqe(h, qid, n, &cqe)) {
        garbage_cqe(st, &cqe, qid);
        n++;
    }
    if (n) {
        qihba_consume(h, qid, n);
    }
    return n;
}

static void garbage_report(const char *what, GarbageStats *st)
{
    GHashTableIter it;
    gpointer k, v;

    g_test_message("%s: %u completions, %u not errors", what, st->cqes,
                   st->success);
    g_hash_table_iter_init(&it, st->status);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_test_message("  %5u x 0x%08x %s", GPOINTER_TO_UINT(v),
                       GPOINTER_TO_UINT(k), qihba_isdsc(GPOINTER_TO_UINT(k)));
    }
}

/* Fill every slot of SQ @qid with garbage. */
static void garbage_fill(QIscsiHba *h, GRand *r, uint16_t qid)
{
    QIscsiHbaQueue *q = &h->q[qid];
    g_autofree struct iscsi_hba_sqe *ring = g_new(struct iscsi_hba_sqe,
                                                  q->sq_size);
    unsigned i;

    for (i = 0; i < q->sq_size; i++) {
        garbage_sqe(r, &ring[i], qid == ISCSI_HBA_ADMIN_QID);
    }
    qtest_bufwrite(h->qts, q->sq_base, ring, q->sq_size * QIHBA_SQE_SIZE);
}

#define GARBAGE_ENTRIES         64
#define STORM_WRITES            3000

/*
 * One pass: ring the full queue once and collect size - 1 completions.
 * Then a storm: thousands of SQ tail doorbells with random (valid) values
 * -- the tail running past the head, the same value again -- and CQ head
 * doorbells that rewrite the old head now and then, draining the CQ as
 * the device fills it.  The device takes everything between its head and
 * the tail as new and must survive all of it.
 */
static void garbage_queue(QIscsiHba *h, GRand *r, uint16_t qid,
                          const char *what)
{
    QIscsiHbaQueue *q = &h->q[qid];
    GarbageStats st = { .status = g_hash_table_new(NULL, NULL) };
    gint64 deadline, quiet;
    unsigned i, got = 0;

    garbage_fill(h, r, qid);
    q->sq_tail = q->sq_size - 1;
    qihba_sq_ring(h, qid);
    deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (got < q->sq_size - 1u) {
        got += garbage_drain(h, qid, &st);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_assert_false(qihba_readl(h, ISCSI_HBA_REG_STATUS) &
                       ISCSI_HBA_STATUS_FATAL);
    }
    g_assert_cmpuint(got, ==, q->sq_size - 1);
    g_assert_cmpuint(st.success, ==, 0);
    expect_no_cqe(h, qid, what);

    for (i = 0; i < STORM_WRITES; i++) {
        q->sq_tail = g_rand_int_range(r, 0, q->sq_size);
        qihba_writel(h, ISCSI_HBA_DB_SQ(qid), q->sq_tail);
        if (i % 16 == 15) {
            if (!garbage_drain(h, qid, &st)) {
                /* The old head again: valid, does nothing */
                qihba_writel(h, ISCSI_HBA_DB_CQ(qid), q->cq_head);
            }
        }
        if (i % 512 == 0) {
            garbage_fill(h, r, qid);
        }
    }
    /* Drain until the device has been quiet for 300 ms */
    deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    quiet = g_get_monotonic_time() + 300 * 1000;
    while (g_get_monotonic_time() < quiet) {
        if (garbage_drain(h, qid, &st)) {
            quiet = g_get_monotonic_time() + 300 * 1000;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    garbage_report(what, &st);
    g_assert_cmpuint(st.success, ==, 0);
    g_assert_true(qihba_alive(h));
    qihba_expect_running(h);
    /* The device fetched up to the last tail; the driver goes on from it */
    g_assert_cmpuint(st.sq_head, ==, q->sq_tail);
    g_hash_table_destroy(st.status);
}

static void test_garbage(void)
{
    QIscsiHba *h = qihba_start("num-queues=31");
    g_autoptr(GRand) r = g_rand_new_with_seed(0x15c5a);
    GarbageStats st = { .status = g_hash_table_new(NULL, NULL) };
    unsigned qid, got;
    gint64 deadline;

    qihba_enable(h, GARBAGE_ENTRIES);
    garbage_queue(h, r, ISCSI_HBA_ADMIN_QID, "admin SQ");
    expect_identify_ok(h);

    g_assert_cmphex(qihba_create_io_queue(h, 1, GARBAGE_ENTRIES,
                                          GARBAGE_ENTRIES, 0, false), ==, 0);
    garbage_queue(h, r, 1, "I/O SQ");

    /* All 31 I/O queues full of garbage, rung at once */
    for (qid = 2; qid <= 31; qid++) {
        g_assert_cmphex(qihba_create_io_queue(h, qid, 8, 8, 0, true), ==, 0);
    }
    for (qid = 1; qid <= 31; qid++) {
        garbage_fill(h, r, qid);
        h->q[qid].sq_tail = (h->q[qid].sq_tail + h->q[qid].sq_size - 1) %
                            h->q[qid].sq_size;
    }
    for (qid = 1; qid <= 31; qid++) {
        qihba_sq_ring(h, qid);
    }
    deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    for (qid = 1; qid <= 31; qid++) {
        for (got = 0; got < h->q[qid].sq_size - 1u;) {
            got += garbage_drain(h, qid, &st);
            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        }
    }
    garbage_report("31 I/O queues", &st);
    g_assert_cmpuint(st.success, ==, 0);
    qihba_expect_running(h);

    /* A disable and enable, and the device is as new */
    qihba_disable(h);
    qihba_enable(h, 8);
    expect_identify_ok(h);
    g_hash_table_destroy(st.status);
    qihba_quit(h);
}

/*
 * Overlapping rings: the I/O CQ lies on the second half of its own SQ,
 * so every CQE the device posts overwrites SQ entries it has not fetched
 * yet.  The spec forbids it but defines no reaction; the device must
 * survive, complete every entry it fetches, and stay usable.
 */
static void test_overlap_sq_cq(void)
{
    QIscsiHba *h = qihba_start(NULL);
    static const uint8_t tur[6] = { TEST_UNIT_READY };
    GarbageStats st = { .status = g_hash_table_new(NULL, NULL) };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t sq = qihba_alloc(h, 8 * KiB, 0);
    unsigned i, got = 0;
    gint64 deadline;
    QIscsiHbaQueue *q = &h->q[1];

    g_assert_cmphex(sq % ISCSI_HBA_QUEUE_ALIGN, ==, 0);
    qihba_enable(h, 8);
    qihba_sqe_create_queue(&sqe, 1, sq, sq + 4 * KiB, 64, 128, 0, false);
    qihba_admin(h, &sqe, &cqe);
    qihba_check_cqe("CREATE_IO_QUEUE, CQ inside its SQ", &cqe, 0,
                    ISCSI_HBA_DETAIL_NONE);
    /* Drive the pair by hand: libqos owns no memory of it */
    q->live = true;
    q->sq_base = sq;
    q->cq_base = sq + 4 * KiB;
    q->sq_size = 64;
    q->cq_size = 128;
    q->phase = 1;
    for (i = 0; i < 48; i++) {
        qihba_sqe_scsi(&sqe, 0x12345678, 0, ISCSI_HBA_SCSI_DIR_NONE, tur,
                       sizeof(tur), 0);
        qihba_sq_put(h, 1, &sqe);
    }
    qihba_sq_ring(h, 1);
    deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    quiet_wait(h, 200);
    while (qihba_peek_cqe(h, 1, got, &cqe)) {
        garbage_cqe(&st, &cqe, 1);
        got++;
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
    garbage_report("CQ over its own SQ", &st);
    /* Every one of the 48 entries was fetched and completed */
    g_assert_cmpuint(got, ==, 48);
    g_assert_cmpuint(st.success, ==, 0);
    qihba_expect_running(h);
    q->live = false;
    q->sq_base = q->cq_base = 0;
    g_assert_cmphex(qihba_delete_io_queue(h, 1), ==, 0);
    expect_identify_ok(h);
    g_hash_table_destroy(st.status);
    qihba_quit(h);
}

/*
 * Data buffers on top of the queues: a READ of zeroes into the whole I/O
 * CQ (its own completion is written after the data), and one into the
 * whole I/O SQ (its own entry was fetched before).  The spec forbids the
 * overlap but defines no reaction: the device must survive, post the
 * completions where they belong and go on working.
 */
#define ZERO_LBA                4096    /* never written by these tests */

static void test_overlap_read_rings(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_sg sg;
    QIscsiHbaQueue *q;
    uint32_t sid, len;
    QIscsiHbaTest *t;
    int ring;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = start_target_test(NULL);
    sid = qihba_open_plain(t);
    q = &t->h->q[QIHBA_IO_QID];
    for (ring = 0; ring < 2; ring++) {
        sg.addr = ring ? q->sq_base : q->cq_base;
        len = ring ? q->sq_size * QIHBA_SQE_SIZE : q->cq_size * QIHBA_CQE_SIZE;
        sg.len = len;
        scsi_sqe(t, &sqe, sid, READ_10, ZERO_LBA, len / t->bs, t->sense,
                 &sg, 1);
        qihba_io_exec_good(t, &sqe, &cqe);
        g_assert_cmpuint(cqe.sq_id, ==, QIHBA_IO_QID);
        qihba_expect_running(t->h);
    }
    /* The pair still works */
    qihba_tur_init(t, &sqe, sid, 1);
    qihba_io_exec_good(t, &sqe, &cqe);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Bus Master Enable
 */

static void set_bus_master(QIscsiHba *h, bool on)
{
    uint16_t cmd = qpci_config_readw(h->dev, PCI_COMMAND);

    cmd = on ? cmd | PCI_COMMAND_MASTER : cmd & ~PCI_COMMAND_MASTER;
    qpci_config_writew(h->dev, PCI_COMMAND, cmd);
}

/*
 * With Bus Master Enable clear every DMA fails (spec, "PCI capabilities
 * and BARs"): the SQ fetch of a doorbell makes the device fatal
 * (FATAL_SQ_READ), nothing is written, and setting the bit again does
 * not leave the fatal state -- only a disable does.
 */
static void test_bus_master_doorbell(void)
{
    QIscsiHba *h = qihba_start(NULL);
    struct iscsi_hba_sqe sqe;
    uint64_t buf = qihba_alloc(h, ISCSI_HBA_IDENTIFY_SIZE, CANARY_OUT);
    Snapshot cq;

    qihba_enable(h, 8);
    cq = snapshot_take(h->qts, h->q[0].cq_base, 8 * QIHBA_CQE_SIZE);
    set_bus_master(h, false);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf,
                     ISCSI_HBA_IDENTIFY_SIZE);
    qihba_submit(h, ISCSI_HBA_ADMIN_QID, &sqe);
    wait_fatal(h, ISCSI_HBA_FATAL_SQ_READ, 2000);
    quiet_wait(h, 100);
    canary_check(h->qts, "IDENTIFY buffer", buf, ISCSI_HBA_IDENTIFY_SIZE,
                 CANARY_OUT);
    snapshot_check(h->qts, "admin CQ", &cq);

    set_bus_master(h, true);
    quiet_wait(h, 100);
    qihba_expect_fatal(h, ISCSI_HBA_FATAL_SQ_READ);
    snapshot_check(h->qts, "admin CQ", &cq);
    qihba_disable(h);
    qihba_enable(h, 8);
    expect_identify_ok(h);
    snapshot_free(&cq);
    qihba_quit(h);
}

/*
 * Bus Master Enable cleared while commands are at a frozen target.  When
 * tgtd answers, the device cannot write sense data or CQEs: it becomes
 * fatal (FATAL_CQ_WRITE) and guest memory is untouched.  Setting the bit
 * again changes nothing until a disable.
 *
 * The READ buffer is checked last: its RAM was mapped (zero copy) while
 * bus mastering was on, and the spec's "every DMA fails" means no READ
 * data may land in it either.
 */
static void test_bus_master_in_flight(void)
{
    QIscsiHbaTest *t;
    Held *hd;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    hd = held_start();
    t = hd->t;
    set_bus_master(t->h, false);
    tgtd_fixture_thaw(fx);
    wait_fatal(t->h, ISCSI_HBA_FATAL_CQ_WRITE, qihba_scsi_wait_ms(t));
    quiet_wait(t->h, 300);
    held_check_no_completion(hd);

    set_bus_master(t->h, true);
    quiet_wait(t->h, 300);
    qihba_expect_fatal(t->h, ISCSI_HBA_FATAL_CQ_WRITE);
    snapshot_check(t->qts, "I/O CQ", &hd->io_cq);
    held_check_untouched(hd, true);
    held_finish(hd);
}

/*
 * Login parameter checks (spec, "Login parameter checks")
 *
 * The device runs with guest-portals=none: a LOGIN or DISCOVERY that
 * passes every check is refused by the host policy afterwards
 * (RESTRICTED_BY_GROUP_POLICY / NOT_ALLOWED), so nothing reaches the
 * network and that status means "all checks passed".
 */
#define VALID_TARGET            "iqn.2026-11.org.qemu.test:hostile"
#define VALID_INITIATOR         "iqn.2026-11.org.qemu.test:initiator"

typedef void (*ParamsEdit)(struct iscsi_hba_login_params *p);

static void lp_valid(struct iscsi_hba_login_params *p, bool discovery)
{
    qihba_login_params_at(p, discovery ? "" : VALID_TARGET, "192.0.2.1",
                          3260);
    p->session_type = discovery ? ISCSI_HBA_SESSION_DISCOVERY :
                                  ISCSI_HBA_SESSION_NORMAL;
}

static void lp_chap(struct iscsi_hba_login_params *p, uint8_t auth)
{
    p->auth_type = auth;
    g_strlcpy(p->chap_username, "user", sizeof(p->chap_username));
    p->chap_secret_len = 16;
    memset(p->chap_secret, 's', 16);
    if (auth == ISCSI_HBA_AUTH_MUTUAL_CHAP) {
        g_strlcpy(p->target_chap_username, "target",
                  sizeof(p->target_chap_username));
    }
}

static void e_none(struct iscsi_hba_login_params *p)
{
}

static void e_login_flags(struct iscsi_hba_login_params *p)
{
    p->login_flags = 0x80;
}

static void e_rsvd(struct iscsi_hba_login_params *p)
{
    p->rsvd[sizeof(p->rsvd) - 1] = 1;
}

static void e_nonul_target(struct iscsi_hba_login_params *p)
{
    memset(p->target_name, 'a', sizeof(p->target_name));
}

static void e_nonul_initiator(struct iscsi_hba_login_params *p)
{
    memset(p->initiator_name, 'a', sizeof(p->initiator_name));
}

static void e_nonul_portal(struct iscsi_hba_login_params *p)
{
    memset(p->portal_host, '1', sizeof(p->portal_host));
}

static void e_nonul_user(struct iscsi_hba_login_params *p)
{
    memset(p->chap_username, 'u', sizeof(p->chap_username));
}

static void e_nonul_target_user(struct iscsi_hba_login_params *p)
{
    memset(p->target_chap_username, 't', sizeof(p->target_chap_username));
}

static void e_bad_target(struct iscsi_hba_login_params *p)
{
    g_strlcpy(p->target_name, "not an iscsi name", sizeof(p->target_name));
}

static void e_empty_target(struct iscsi_hba_login_params *p)
{
    p->target_name[0] = 0;
}

static void e_bad_initiator(struct iscsi_hba_login_params *p)
{
    g_strlcpy(p->initiator_name, "iqn.bad", sizeof(p->initiator_name));
}

static void e_good_initiator(struct iscsi_hba_login_params *p)
{
    g_strlcpy(p->initiator_name, VALID_INITIATOR, sizeof(p->initiator_name));
}

static void e_empty_portal(struct iscsi_hba_login_params *p)
{
    p->portal_host[0] = 0;
}

static void e_session_type(struct iscsi_hba_login_params *p)
{
    p->session_type = !p->session_type;
}

static void e_session_type_2(struct iscsi_hba_login_params *p)
{
    p->session_type = 2;
}

static void e_auth_3(struct iscsi_hba_login_params *p)
{
    p->auth_type = 3;
}

static void e_auth_255(struct iscsi_hba_login_params *p)
{
    p->auth_type = 255;
}

static void e_chap_ok(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_CHAP);
}

static void e_chap_no_user(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_CHAP);
    p->chap_username[0] = 0;
}

static void e_chap_len_0(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_CHAP);
    p->chap_secret_len = 0;
}

static void e_chap_len_256(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_CHAP);
    memset(p->chap_secret, 's', sizeof(p->chap_secret));
    p->chap_secret_len = 256;
}

static void e_chap_len_ffff(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_CHAP);
    memset(p->chap_secret, 's', sizeof(p->chap_secret));
    p->chap_secret_len = 0xffff;
}

static void e_chap_len_255(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_CHAP);
    memset(p->chap_secret, 's', sizeof(p->chap_secret));
    p->chap_secret_len = 255;
}

static void e_chap_nul(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_CHAP);
    p->chap_secret[15] = 0;
}

/* Bytes after chap_secret_len are not checked */
static void e_chap_nul_after(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_CHAP);
    p->chap_secret_len = 15;
    p->chap_secret[15] = 0;
}

static void e_mutual_no_target_user(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_MUTUAL_CHAP);
    p->target_chap_username[0] = 0;
}

static void e_mutual(struct iscsi_hba_login_params *p)
{
    lp_chap(p, ISCSI_HBA_AUTH_MUTUAL_CHAP);
}

/* What auth NONE does not use, and what is never checked */
static void e_unchecked(struct iscsi_hba_login_params *p)
{
    p->chap_secret_len = 0xffff;
    memset(p->chap_secret, 0, sizeof(p->chap_secret));
    p->digest = 0xff;
    p->time2wait = 0xffff;
    p->time2retain = 0xffff;
    p->portal_port = 0xffff;
}

/* Several failures at once: the first in the spec's order wins */
static void e_order_flags(struct iscsi_hba_login_params *p)
{
    e_login_flags(p);
    e_nonul_portal(p);
    e_bad_target(p);
}

static void e_order_nul(struct iscsi_hba_login_params *p)
{
    e_nonul_target_user(p);
    e_bad_target(p);
    e_empty_portal(p);
}

static void e_order_name(struct iscsi_hba_login_params *p)
{
    e_bad_initiator(p);
    e_empty_portal(p);
    e_session_type(p);
}

static void e_order_portal(struct iscsi_hba_login_params *p)
{
    e_empty_portal(p);
    e_session_type(p);
    e_auth_3(p);
}

static void e_order_type(struct iscsi_hba_login_params *p)
{
    e_session_type(p);
    e_auth_3(p);
}

static void e_order_user(struct iscsi_hba_login_params *p)
{
    e_chap_no_user(p);
    p->chap_secret_len = 0;
}

static void e_order_secret(struct iscsi_hba_login_params *p)
{
    e_chap_len_0(p);
    p->auth_type = ISCSI_HBA_AUTH_MUTUAL_CHAP;
}

typedef struct LoginCase {
    const char *what;
    ParamsEdit edit;
    uint32_t status;            /* LOGIN */
    uint16_t detail;
    uint32_t disc_status;       /* DISCOVERY */
    uint16_t disc_detail;
} LoginCase;

/* Status and detail pairs of the tables below */
#define INVAL                   ISDSC_INVALID_PARAMETER
#define D(d)                    ISCSI_HBA_DETAIL_##d
#define POLICY                  ISDSC_RESTRICTED_BY_GROUP_POLICY

static const LoginCase login_cases[] = {
    { "valid", e_none, POLICY, D(NOT_ALLOWED), POLICY, D(NOT_ALLOWED) },
    { "login_flags", e_login_flags, INVAL, D(BAD_FLAGS), INVAL, D(BAD_FLAGS) },
    { "rsvd", e_rsvd, INVAL, D(BAD_FLAGS), INVAL, D(BAD_FLAGS) },
    { "target_name without NUL", e_nonul_target,
      INVAL, D(BAD_LENGTH), INVAL, D(BAD_LENGTH) },
    { "initiator_name without NUL", e_nonul_initiator,
      INVAL, D(BAD_LENGTH), INVAL, D(BAD_LENGTH) },
    { "portal_host without NUL", e_nonul_portal,
      INVAL, D(BAD_LENGTH), INVAL, D(BAD_LENGTH) },
    { "chap_username without NUL", e_nonul_user,
      INVAL, D(BAD_LENGTH), INVAL, D(BAD_LENGTH) },
    { "target_chap_username without NUL", e_nonul_target_user,
      INVAL, D(BAD_LENGTH), INVAL, D(BAD_LENGTH) },
    { "bad target_name", e_bad_target,
      ISDSC_INVALID_ISCSI_NAME, D(BAD_NAME), POLICY, D(NOT_ALLOWED) },
    { "empty target_name", e_empty_target,
      ISDSC_INVALID_ISCSI_NAME, D(BAD_NAME), POLICY, D(NOT_ALLOWED) },
    { "bad initiator_name", e_bad_initiator,
      ISDSC_INVALID_ISCSI_NAME, ISCSI_HBA_DETAIL_BAD_NAME,
      ISDSC_INVALID_ISCSI_NAME, ISCSI_HBA_DETAIL_BAD_NAME },
    { "good initiator_name", e_good_initiator,
      POLICY, D(NOT_ALLOWED), POLICY, D(NOT_ALLOWED) },
    { "empty portal_host", e_empty_portal,
      ISDSC_NO_PORTAL_SPECIFIED, ISCSI_HBA_DETAIL_NONE,
      ISDSC_NO_PORTAL_SPECIFIED, ISCSI_HBA_DETAIL_NONE },
    { "other session_type", e_session_type,
      ISDSC_SESSION_TYPE_NOT_SUPPORTED, ISCSI_HBA_DETAIL_BAD_FLAGS,
      ISDSC_SESSION_TYPE_NOT_SUPPORTED, ISCSI_HBA_DETAIL_BAD_FLAGS },
    { "session_type 2", e_session_type_2,
      ISDSC_SESSION_TYPE_NOT_SUPPORTED, ISCSI_HBA_DETAIL_BAD_FLAGS,
      ISDSC_SESSION_TYPE_NOT_SUPPORTED, ISCSI_HBA_DETAIL_BAD_FLAGS },
    { "auth_type 3", e_auth_3,
      ISDSC_INVALID_LOGON_AUTH_TYPE, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_LOGON_AUTH_TYPE, ISCSI_HBA_DETAIL_NONE },
    { "auth_type 255", e_auth_255,
      ISDSC_INVALID_LOGON_AUTH_TYPE, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_LOGON_AUTH_TYPE, ISCSI_HBA_DETAIL_NONE },
    { "CHAP", e_chap_ok, POLICY, D(NOT_ALLOWED), POLICY, D(NOT_ALLOWED) },
    { "CHAP, empty chap_username", e_chap_no_user,
      ISDSC_INVALID_CHAP_USER_NAME, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_CHAP_USER_NAME, ISCSI_HBA_DETAIL_NONE },
    { "CHAP, secret length 0", e_chap_len_0,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE },
    { "CHAP, secret length 256", e_chap_len_256,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE },
    { "CHAP, secret length 0xffff", e_chap_len_ffff,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE },
    { "CHAP, secret length 255", e_chap_len_255,
      POLICY, D(NOT_ALLOWED), POLICY, D(NOT_ALLOWED) },
    { "CHAP, NUL in the secret", e_chap_nul,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE },
    { "CHAP, NUL after the secret", e_chap_nul_after,
      POLICY, D(NOT_ALLOWED), POLICY, D(NOT_ALLOWED) },
    { "mutual CHAP, empty target_chap_username", e_mutual_no_target_user,
      ISDSC_INVALID_CHAP_USER_NAME, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_CHAP_USER_NAME, ISCSI_HBA_DETAIL_NONE },
    { "mutual CHAP without SET_CHAP_SECRET", e_mutual,
      ISDSC_INVALID_INITIATOR_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_INITIATOR_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE },
    { "unchecked fields", e_unchecked,
      POLICY, D(NOT_ALLOWED), POLICY, D(NOT_ALLOWED) },
    { "order: flags first", e_order_flags,
      INVAL, D(BAD_FLAGS), INVAL, D(BAD_FLAGS) },
    { "order: NUL before names", e_order_nul,
      INVAL, D(BAD_LENGTH), INVAL, D(BAD_LENGTH) },
    { "order: names before portal", e_order_name,
      ISDSC_INVALID_ISCSI_NAME, ISCSI_HBA_DETAIL_BAD_NAME,
      ISDSC_INVALID_ISCSI_NAME, ISCSI_HBA_DETAIL_BAD_NAME },
    { "order: portal before session_type", e_order_portal,
      ISDSC_NO_PORTAL_SPECIFIED, ISCSI_HBA_DETAIL_NONE,
      ISDSC_NO_PORTAL_SPECIFIED, ISCSI_HBA_DETAIL_NONE },
    { "order: session_type before auth_type", e_order_type,
      ISDSC_SESSION_TYPE_NOT_SUPPORTED, ISCSI_HBA_DETAIL_BAD_FLAGS,
      ISDSC_SESSION_TYPE_NOT_SUPPORTED, ISCSI_HBA_DETAIL_BAD_FLAGS },
    { "order: user before secret", e_order_user,
      ISDSC_INVALID_CHAP_USER_NAME, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_CHAP_USER_NAME, ISCSI_HBA_DETAIL_NONE },
    { "order: secret before target user", e_order_secret,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE,
      ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE },
};

/* LOGIN or DISCOVERY with parameters at @addr, @len; the CQE in @cqe. */
static void login_raw(QIscsiHba *h, bool discovery, uint64_t addr,
                      uint32_t len, uint64_t out, struct iscsi_hba_cqe *cqe)
{
    struct iscsi_hba_sqe sqe;

    qihba_sqe_buffer(&sqe, discovery ? ISCSI_HBA_ADM_DISCOVERY :
                     ISCSI_HBA_ADM_LOGIN, addr, len);
    if (discovery) {
        sqe.u.buf.addr2 = out;
        sqe.u.buf.len2 = 4 * KiB;
    }
    qihba_admin(h, &sqe, cqe);
}

static void login_expect(QIscsiHba *h, bool discovery, uint64_t addr,
                         uint32_t len, uint64_t out, const char *what,
                         uint32_t status, uint16_t detail)
{
    g_autofree char *msg = g_strdup_printf("%s: %s",
                                           discovery ? "DISCOVERY" : "LOGIN",
                                           what);
    struct iscsi_hba_cqe cqe;

    login_raw(h, discovery, addr, len, out, &cqe);
    qihba_check_cqe(msg, &cqe, status, detail);
    g_assert_cmphex(cqe.result, ==, 0);
}

static void test_login_checks(void)
{
    QIscsiHba *h = qihba_start("guest-portals=none");
    struct iscsi_hba_login_params p;
    const uint32_t size = sizeof(p);
    uint64_t buf = qihba_alloc(h, 2 * size, 0);
    uint64_t out = qihba_alloc(h, 4 * KiB, CANARY_OUT);
    uint64_t bar = h->bar.addr;
    uint64_t ram_end = RAM_SIZE - size / 2;
    int i, d;

    qihba_enable(h, 8);
    for (d = 0; d < 2; d++) {
        for (i = 0; i < ARRAY_SIZE(login_cases); i++) {
            const LoginCase *c = &login_cases[i];

            lp_valid(&p, d);
            c->edit(&p);
            qtest_bufwrite(h->qts, buf, &p, size);
            login_expect(h, d, buf, size, out, c->what,
                         d ? c->disc_status : c->status,
                         d ? c->disc_detail : c->detail);
        }

        /* The parameter buffer itself (checks 1 and 2) */
        lp_valid(&p, d);
        qtest_bufwrite(h->qts, buf, &p, size);
        login_expect(h, d, buf, size - 1, out, "len 1535",
                     INVAL, D(BAD_LENGTH));
        login_expect(h, d, buf, 0, out, "len 0", INVAL, D(BAD_LENGTH));
        login_expect(h, d, buf, 2 * size, out, "len 3072",
                     POLICY, D(NOT_ALLOWED));
        login_expect(h, d, bar, size, out, "in BAR0", INVAL, D(BAD_ADDRESS));
        login_expect(h, d, bar - size + 1, size, out, "into BAR0",
                     INVAL, D(BAD_ADDRESS));
        login_expect(h, d, HOLE_ADDR, size, out, "PCI hole",
                     INVAL, D(DMA_ERROR));
        login_expect(h, d, ABOVE_RAM_ADDR, size, out, "above RAM",
                     INVAL, D(DMA_ERROR));
        login_expect(h, d, ram_end, size, out, "across the end of RAM",
                     INVAL, D(DMA_ERROR));
        login_expect(h, d, UINT64_MAX - size / 2, size, out, "wrapping",
                     INVAL, D(BAD_ADDRESS));
        /* Address 0 is RAM like any other: zeroes, no names, no portal */
        qtest_memset(h->qts, 0, 0, size);
        login_expect(h, d, 0, size, out, "all zero at address 0",
                     d ? ISDSC_NO_PORTAL_SPECIFIED : ISDSC_INVALID_ISCSI_NAME,
                     d ? D(NONE) : D(BAD_NAME));
    }
    /* DISCOVERY checks, but does not send, a target_name */
    lp_valid(&p, true);
    g_strlcpy(p.target_name, VALID_TARGET, sizeof(p.target_name));
    qtest_bufwrite(h->qts, buf, &p, size);
    login_expect(h, true, buf, size, out, "with a target_name",
                 POLICY, D(NOT_ALLOWED));

    canary_check(h->qts, "DISCOVERY output", out, 4 * KiB, CANARY_OUT);
    qihba_expect_running(h);
    qihba_quit(h);
}

/*
 * SET_CHAP_SECRET checks (spec, "SET_CHAP_SECRET (0x16)"); whether a
 * secret is stored shows in check 13 of a mutual CHAP LOGIN.
 */
static void chap_secret_expect(QIscsiHba *h, uint64_t addr, uint32_t len,
                               uint32_t param, const char *what,
                               uint32_t status, uint16_t detail)
{
    g_autofree char *msg = g_strdup_printf("SET_CHAP_SECRET: %s", what);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_SET_CHAP_SECRET, addr, len);
    sqe.u.buf.param = param;
    qihba_admin(h, &sqe, &cqe);
    qihba_check_cqe(msg, &cqe, status, detail);
    g_assert_cmphex(cqe.result, ==, 0);
}

static void mutual_login_expect(QIscsiHba *h, uint64_t buf, const char *what,
                                uint32_t status, uint16_t detail)
{
    struct iscsi_hba_login_params p;

    lp_valid(&p, false);
    lp_chap(&p, ISCSI_HBA_AUTH_MUTUAL_CHAP);
    qtest_bufwrite(h->qts, buf, &p, sizeof(p));
    login_expect(h, false, buf, sizeof(p), 0, what, status, detail);
}

static void test_chap_secret_checks(void)
{
    QIscsiHba *h = qihba_start("guest-portals=none");
    uint64_t lp = qihba_alloc(h, sizeof(struct iscsi_hba_login_params), 0);
    uint64_t sec = qihba_alloc(h, 512, 's');
    uint64_t bar = h->bar.addr;
    QDict *rsp;

    qihba_enable(h, 8);
    mutual_login_expect(h, lp, "no secret yet",
                        ISDSC_INVALID_INITIATOR_CHAP_SECRET,
                        ISCSI_HBA_DETAIL_NONE);

    chap_secret_expect(h, sec, 16, 1, "param 1", INVAL, D(BAD_FLAGS));
    chap_secret_expect(h, sec, 16, 0xffffffff, "param ~0", INVAL, D(BAD_FLAGS));
    chap_secret_expect(h, sec, 0, 1, "param 1 and len 0", INVAL, D(BAD_FLAGS));
    chap_secret_expect(h, sec, 0, 0, "len 0", ISDSC_INVALID_CHAP_SECRET,
                       ISCSI_HBA_DETAIL_BAD_LENGTH);
    chap_secret_expect(h, sec, 256, 0, "len 256", ISDSC_INVALID_CHAP_SECRET,
                       ISCSI_HBA_DETAIL_BAD_LENGTH);
    chap_secret_expect(h, HOLE_ADDR, 0, 0, "len 0 before the address",
                       ISDSC_INVALID_CHAP_SECRET,
                       ISCSI_HBA_DETAIL_BAD_LENGTH);
    chap_secret_expect(h, bar, 16, 0, "in BAR0", INVAL, D(BAD_ADDRESS));
    chap_secret_expect(h, bar - 8, 16, 0, "into BAR0", INVAL, D(BAD_ADDRESS));
    chap_secret_expect(h, UINT64_MAX - 7, 16, 0, "wrapping",
                       INVAL, D(BAD_ADDRESS));
    chap_secret_expect(h, HOLE_ADDR, 16, 0, "PCI hole", INVAL, D(DMA_ERROR));
    chap_secret_expect(h, RAM_SIZE - 8, 16, 0, "across the end of RAM",
                       INVAL, D(DMA_ERROR));
    qtest_writeb(h->qts, sec + 7, 0);
    chap_secret_expect(h, sec, 16, 0, "NUL inside", ISDSC_INVALID_CHAP_SECRET,
                       ISCSI_HBA_DETAIL_NONE);
    chap_secret_expect(h, sec + 7, 1, 0, "a single NUL",
                       ISDSC_INVALID_CHAP_SECRET, ISCSI_HBA_DETAIL_NONE);
    /* Failed commands stored nothing */
    mutual_login_expect(h, lp, "after failed SET_CHAP_SECRETs",
                        ISDSC_INVALID_INITIATOR_CHAP_SECRET,
                        ISCSI_HBA_DETAIL_NONE);

    /* Short secrets are stored with a warning; 12 bytes and more are fine */
    chap_secret_expect(h, sec, 5, 0, "5 bytes", ISDSC_SHORT_CHAP_SECRET,
                       ISCSI_HBA_DETAIL_NONE);
    mutual_login_expect(h, lp, "with a short secret", POLICY, D(NOT_ALLOWED));
    qtest_writeb(h->qts, sec + 7, 's');
    chap_secret_expect(h, sec, 11, 0, "11 bytes", ISDSC_SHORT_CHAP_SECRET,
                       ISCSI_HBA_DETAIL_NONE);
    chap_secret_expect(h, sec, 12, 0, "12 bytes", 0, ISCSI_HBA_DETAIL_NONE);
    chap_secret_expect(h, sec, 255, 0, "255 bytes", 0, ISCSI_HBA_DETAIL_NONE);
    /* A failed one leaves the previous secret in place */
    chap_secret_expect(h, sec, 256, 0, "len 256 again",
                       ISDSC_INVALID_CHAP_SECRET,
                       ISCSI_HBA_DETAIL_BAD_LENGTH);
    mutual_login_expect(h, lp, "after a failed replacement",
                        POLICY, D(NOT_ALLOWED));

    /* A disable keeps it, a PCI reset erases it */
    qihba_disable(h);
    qihba_enable(h, 8);
    mutual_login_expect(h, lp, "after a disable", POLICY, D(NOT_ALLOWED));
    rsp = qtest_qmp(h->qts, "{'execute': 'system_reset'}");
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    qtest_qmp_eventwait(h->qts, "RESET");
    qpci_device_enable(h->dev);
    h->bar = qpci_iomap(h->dev, ISCSI_HBA_BAR_REGS, NULL);
    h->q[ISCSI_HBA_ADMIN_QID].live = false;
    qihba_enable(h, 8);
    mutual_login_expect(h, lp, "after a PCI reset",
                        ISDSC_INVALID_INITIATOR_CHAP_SECRET,
                        ISCSI_HBA_DETAIL_NONE);
    qihba_quit(h);
}

/*
 * LUN field (spec, "LUN field" and "Validation and results"): BAD_LUN
 * for each addressing method the device does not take, checked after the
 * command's own fields and before the SG list and the session.
 */
static void lun_expect(QIscsiHba *h, const uint8_t lun[8], bool tmf,
                       uint8_t dir, uint32_t data_len, uint16_t sg_count,
                       const char *what, uint32_t status, uint16_t detail)
{
    static const uint8_t tur[6] = { TEST_UNIT_READY };
    static const uint8_t rd[10] = { READ_10 };
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    if (tmf) {
        qihba_sqe_tmf(&sqe, 0x12345678, 0, dir, 0, 0);
        memcpy(sqe.u.tmf.lun, lun, 8);
    } else {
        qihba_sqe_scsi(&sqe, 0x12345678, 0, dir,
                       dir == ISCSI_HBA_SCSI_DIR_NONE ? tur : rd,
                       dir == ISCSI_HBA_SCSI_DIR_NONE ? 6 : 10, data_len);
        memcpy(sqe.u.scsi.lun, lun, 8);
        sqe.u.scsi.sg_count = sg_count;
        if (sg_count) {
            sqe.u.scsi.sg[0].addr = HOLE_ADDR;
            sqe.u.scsi.sg[0].len = data_len;
        }
    }
    qihba_cmd(h, 1, &sqe, &cqe);
    qihba_check_cqe(what, &cqe, status, detail);
}

static void test_bad_lun(void)
{
    static const struct {
        const char *what;
        uint8_t lun[8];
        bool ok;
    } luns[] = {
        { "peripheral, LUN 0", { 0x00, 0x00 }, true },
        { "peripheral, LUN 255", { 0x00, 0xff }, true },
        { "peripheral, bus 1", { 0x01, 0x01 }, false },
        { "peripheral, bus 63", { 0x3f, 0x00 }, false },
        { "peripheral, byte 2", { 0x00, 0x01, 0x01 }, false },
        { "peripheral, byte 7", { 0x00, 0x01, 0, 0, 0, 0, 0, 0x01 }, false },
        { "flat, LUN 256", { 0x41, 0x00 }, true },
        { "flat, LUN 16383", { 0x7f, 0xff }, true },
        { "flat, byte 3", { 0x40, 0x01, 0, 0x40 }, false },
        { "flat, second level", { 0x40, 0x01, 0x40, 0x02 }, false },
        { "logical unit addressing (10b)", { 0x80, 0x01 }, false },
        { "extended addressing (11b)", { 0xc0, 0x01 }, false },
        { "well-known LUN (0xc1)", { 0xc1, 0x01 }, false },
        { "all ones", { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
          false },
    };
    static const uint8_t good[8] = { 0x00, 0x01 };
    static const uint8_t bad[8] = { 0x80, 0x01 };
    QIscsiHba *h = qihba_start(NULL);
    int i;

    qihba_enable(h, 8);
    g_assert_cmphex(qihba_create_io_queue(h, 1, 8, 8, 0, false), ==, 0);
    for (i = 0; i < ARRAY_SIZE(luns); i++) {
        g_autofree char *scsi = g_strdup_printf("SCSI_CMD, %s", luns[i].what);
        g_autofree char *tmf = g_strdup_printf("TASK_MGMT, %s", luns[i].what);

        if (luns[i].ok) {
            lun_expect(h, luns[i].lun, false, ISCSI_HBA_SCSI_DIR_NONE, 0, 0,
                       scsi, ISDSC_INVALID_SESSION_ID,
                       ISCSI_HBA_DETAIL_NO_SESSION);
            lun_expect(h, luns[i].lun, true, ISCSI_HBA_TMF_LUN_RESET, 0, 0,
                       tmf, ISDSC_INVALID_SESSION_ID,
                       ISCSI_HBA_DETAIL_NO_SESSION);
        } else {
            lun_expect(h, luns[i].lun, false, ISCSI_HBA_SCSI_DIR_NONE, 0, 0,
                       scsi, INVAL, D(BAD_LUN));
            lun_expect(h, luns[i].lun, true, ISCSI_HBA_TMF_LUN_RESET, 0, 0,
                       tmf, INVAL, D(BAD_LUN));
        }
    }
    /* Order: data_len checks first, then the LUN, then the SG list */
    lun_expect(h, bad, false, ISCSI_HBA_SCSI_DIR_READ, 512, 0,
               "bad LUN, no SG element", INVAL, D(BAD_LUN));
    lun_expect(h, bad, false, ISCSI_HBA_SCSI_DIR_READ, 512, 1,
               "bad LUN, data in the PCI hole", INVAL, D(BAD_LUN));
    lun_expect(h, good, false, ISCSI_HBA_SCSI_DIR_READ, 512, 0,
               "good LUN, no SG element", INVAL, D(BAD_SG_COUNT));
    lun_expect(h, bad, false, ISCSI_HBA_SCSI_DIR_READ, 0, 0,
               "bad LUN, READ of 0 bytes", INVAL, D(BAD_LENGTH));
    lun_expect(h, bad, false, ISCSI_HBA_SCSI_DIR_READ, 64 * MiB, 1,
               "bad LUN, too large", INVAL, D(TOO_LARGE));
    lun_expect(h, bad, false, ISCSI_HBA_SCSI_DIR_NONE, 512, 0,
               "bad LUN, direction NONE with data", INVAL, D(BAD_DIRECTION));
    lun_expect(h, bad, true, 9, 0, 0, "bad LUN, bad function",
               INVAL, D(BAD_TMF));
    qihba_expect_running(h);
    qihba_quit(h);
}

/*
 * Register access rules (spec, "Access rules"): 1- and 2-byte accesses
 * are ignored, an aligned 8-byte access is two 4-byte accesses (low
 * first); doorbells of any size but 4 are fatal.
 */
static void test_register_sizes(void)
{
    QIscsiHba *h = qihba_start(NULL);
    uint64_t bar = h->bar.addr;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    unsigned i;

    /* Disabled: sub-word writes to CTRL and the admin registers */
    qtest_writeb(h->qts, bar + ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    qtest_writew(h->qts, bar + ISCSI_HBA_REG_CTRL, ISCSI_HBA_CTRL_ENABLE);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    for (i = 0; i < 4; i++) {
        qtest_writeb(h->qts, bar + ISCSI_HBA_REG_ADMIN_SQ_BASE_LO + i, 0x10);
    }
    qtest_writew(h->qts, bar + ISCSI_HBA_REG_ADMIN_QUEUE_SIZE, 8);
    qtest_writew(h->qts, bar + ISCSI_HBA_REG_ADMIN_QUEUE_SIZE + 2, 8);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE), ==, 0);
    /* Unaligned 4-byte accesses are not 4-byte register accesses */
    qtest_writel(h->qts, bar + ISCSI_HBA_REG_ADMIN_SQ_BASE_LO + 2,
                 0x12345678);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_HI), ==, 0);
    /* 8 bytes: low half, then high half */
    qtest_writeq(h->qts, bar + ISCSI_HBA_REG_ADMIN_SQ_BASE_LO,
                 0x0000000123456000ULL);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_LO), ==,
                    0x23456000);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_SQ_BASE_HI), ==, 1);
    g_assert_cmphex(qtest_readq(h->qts, bar + ISCSI_HBA_REG_ADMIN_SQ_BASE_LO),
                    ==, 0x0000000123456000ULL);
    /* Sub-word reads return something; they must not crash */
    (void)qtest_readb(h->qts, bar + ISCSI_HBA_REG_MAGIC + 1);
    (void)qtest_readw(h->qts, bar + ISCSI_HBA_REG_STATUS + 2);
    g_assert_true(qihba_alive(h));

    /* Enabled: sub-word writes change nothing */
    qihba_enable(h, 8);
    qihba_sqe_init(&sqe, 0x7f);
    qihba_admin(h, &sqe, &cqe);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_REQUEST_NOT_SUPPORTED);
    qtest_writeb(h->qts, bar + ISCSI_HBA_REG_CTRL, 0);
    qtest_writew(h->qts, bar + ISCSI_HBA_REG_CTRL, 0);
    qtest_writeb(h->qts, bar + ISCSI_HBA_REG_INTX_MASK_SET, 0xff);
    qtest_writew(h->qts, bar + ISCSI_HBA_REG_INTX_MASK_SET + 2, 0xffff);
    qtest_writeb(h->qts, bar + ISCSI_HBA_REG_LAST_STATUS, 0);
    qtest_writew(h->qts, bar + ISCSI_HBA_REG_LAST_STATUS, 0);
    qihba_expect_running(h);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_LAST_STATUS), ==,
                    ISDSC_REQUEST_NOT_SUPPORTED);
    /*
     * Aligned 8-byte writes: INTX_STATUS (read-only) and INTX_MASK_SET,
     * then INTX_MASK_CLEAR and a reserved register
     */
    qtest_writeq(h->qts, bar + ISCSI_HBA_REG_INTX_STATUS,
                 0x00000005ffffffffULL);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 5);
    qtest_writeq(h->qts, bar + ISCSI_HBA_REG_INTX_MASK_CLEAR,
                 0xffffffff00000001ULL);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET), ==, 4);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_MASK_SET + 8), ==, 0);
    qihba_writel(h, ISCSI_HBA_REG_INTX_MASK_CLEAR, 4);
    expect_identify_ok(h);

    /* A 1-byte doorbell write is fatal */
    qtest_writeb(h->qts, bar + ISCSI_HBA_DB_SQ(0), 0);
    qihba_expect_fatal(h, ISCSI_HBA_FATAL_BAD_DOORBELL);
    qihba_disable(h);
    qihba_enable(h, 8);
    /* and so is an 8-byte one */
    qtest_writeq(h->qts, bar + ISCSI_HBA_DB_SQ(0), 0);
    qihba_expect_fatal(h, ISCSI_HBA_FATAL_BAD_DOORBELL);
    qihba_disable(h);
    qihba_enable(h, 8);
    expect_identify_ok(h);
    qihba_quit(h);
}

/*
 * The admin request pool: each outstanding ASYNC_EVENT holds a request
 * of the admin SQ's pool.  With an admin SQ of 4 entries, three leave
 * room for an IDENTIFY; a fourth takes the last request and the admin
 * queue stops fetching (spec, "Processing, request pools and
 * back-pressure") -- without going fatal.  A disable frees it all.
 */
static void test_admin_pool(void)
{
    QIscsiHba *h = qihba_start(NULL);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t buf = qihba_alloc(h, ISCSI_HBA_IDENTIFY_SIZE, CANARY_OUT);
    int i;

    qihba_enable(h, 4);
    for (i = 0; i < 3; i++) {
        qihba_sqe_init(&sqe, ISCSI_HBA_ADM_ASYNC_EVENT);
        qihba_submit(h, ISCSI_HBA_ADMIN_QID, &sqe);
    }
    expect_identify_ok(h);
    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_ASYNC_EVENT);
    qihba_submit(h, ISCSI_HBA_ADMIN_QID, &sqe);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, buf,
                     ISCSI_HBA_IDENTIFY_SIZE);
    qihba_submit(h, ISCSI_HBA_ADMIN_QID, &sqe);
    quiet_wait(h, 300);
    expect_no_cqe(h, ISCSI_HBA_ADMIN_QID, "admin pool used up");
    canary_check(h->qts, "IDENTIFY buffer", buf, ISCSI_HBA_IDENTIFY_SIZE,
                 CANARY_OUT);
    qihba_expect_running(h);
    /* Doorbells that re-announce the same tail change nothing */
    for (i = 0; i < 100; i++) {
        qihba_sq_ring(h, ISCSI_HBA_ADMIN_QID);
    }
    expect_no_cqe(h, ISCSI_HBA_ADMIN_QID, "admin pool used up");
    qihba_expect_running(h);

    qihba_disable(h);
    qihba_enable(h, 4);
    expect_identify_ok(h);
    /* The fifth ASYNC_EVENT of a bigger queue hits the limit instead */
    qihba_disable(h);
    qihba_enable(h, 8);
    for (i = 0; i < ISCSI_HBA_MAX_AER; i++) {
        qihba_sqe_init(&sqe, ISCSI_HBA_ADM_ASYNC_EVENT);
        qihba_submit(h, ISCSI_HBA_ADMIN_QID, &sqe);
    }
    qihba_sqe_init(&sqe, ISCSI_HBA_ADM_ASYNC_EVENT);
    qihba_admin(h, &sqe, &cqe);
    qihba_check_cqe("fifth ASYNC_EVENT", &cqe, INVAL, D(AER_LIMIT));
    expect_identify_ok(h);
    qihba_quit(h);
}

/*
 * MSI-X function mask and MSI-X disable while completions arrive
 * (spec, "MSI-X"; QEMU's common MSI-X code holds messages in the PBA).
 */
#define MSI_DATA                0x4953c0deu

static void msi_wait(QIscsiHba *h, uint64_t addr)
{
    gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

    while (qtest_readl(h->qts, addr) != MSI_DATA) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100);
    }
    qtest_writel(h->qts, addr, 0);
}

static void msix_function_mask(QIscsiHba *h, bool masked)
{
    uint8_t cap = qpci_find_capability(h->dev, PCI_CAP_ID_MSIX, 0);
    uint16_t ctrl = qpci_config_readw(h->dev, cap + PCI_MSIX_FLAGS);

    ctrl = masked ? ctrl | PCI_MSIX_FLAGS_MASKALL :
                    ctrl & ~PCI_MSIX_FLAGS_MASKALL;
    qpci_config_writew(h->dev, cap + PCI_MSIX_FLAGS, ctrl);
}

static void test_msix_mask(void)
{
    QIscsiHba *h = qihba_start(NULL);
    uint64_t msi = qihba_alloc(h, 4, 0);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    int i;

    qihba_msix_enable(h);
    qihba_msix_vector(h, 0, msi, MSI_DATA);
    qihba_enable(h, 8);
    expect_identify_ok(h);
    msi_wait(h, msi);

    /* Function mask: completions still arrive, the message waits */
    msix_function_mask(h, true);
    for (i = 0; i < 3; i++) {
        qihba_sqe_init(&sqe, 0x7f);
        qihba_admin(h, &sqe, &cqe);
        qihba_check_cqe("admin command under function mask", &cqe,
                        ISDSC_REQUEST_NOT_SUPPORTED,
                        ISCSI_HBA_DETAIL_BAD_OPCODE);
    }
    quiet_wait(h, 100);
    g_assert_cmphex(qtest_readl(h->qts, msi), ==, 0);
    g_assert_true(qpci_msix_pending(h->dev, 0));
    msix_function_mask(h, false);
    msi_wait(h, msi);
    g_assert_false(qpci_msix_pending(h->dev, 0));

    /* MSI-X disabled with a completion not consumed: INTx takes over */
    qihba_sqe_init(&sqe, 0x7f);
    qihba_sq_put(h, ISCSI_HBA_ADMIN_QID, &sqe);
    qpci_msix_disable(h->dev);
    qihba_sq_ring(h, ISCSI_HBA_ADMIN_QID);
    qihba_wait_peek(h, ISCSI_HBA_ADMIN_QID, 0, &cqe);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 1);
    quiet_wait(h, 100);
    g_assert_cmphex(qtest_readl(h->qts, msi), ==, 0);
    qihba_consume(h, ISCSI_HBA_ADMIN_QID, 1);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_INTX_STATUS), ==, 0);
    expect_identify_ok(h);
    qihba_expect_running(h);
    qihba_quit(h);
}

/*
 * Output buffers checked when the target has answered: REPORT_LUNS,
 * DISCOVERY and sense data on a live session (spec: REPORT_LUNS,
 * DISCOVERY, SCSI_CMD "Results")
 */
static void report_luns_expect(QIscsiHbaTest *t, uint32_t sid, uint64_t addr,
                               uint32_t len, const char *what,
                               uint32_t status, uint16_t detail,
                               uint64_t result)
{
    g_autofree char *msg = g_strdup_printf("REPORT_LUNS: %s", what);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_REPORT_LUNS, addr, len);
    sqe.hdr.session_id = sid;
    qihba_t_cmd(t, ISCSI_HBA_ADMIN_QID, &sqe, qihba_scsi_wait_ms(t), &cqe);
    qihba_check_cqe(msg, &cqe, status, detail);
    if (status == ISDSC_BUFFER_TOO_SMALL || status == 0) {
        g_assert_cmpuint(cqe.result, ==, result);
    }
}

static void discovery_expect(QIscsiHbaTest *t, uint64_t out, uint32_t len,
                             const char *what, uint32_t status,
                             uint16_t detail, uint64_t result)
{
    g_autofree char *msg = g_strdup_printf("DISCOVERY: %s", what);
    struct iscsi_hba_cqe cqe;

    qihba_discovery(t, fx->host, fx->port, NULL, out, len, &cqe);
    qihba_check_cqe(msg, &cqe, status, detail);
    if (status == ISDSC_BUFFER_TOO_SMALL || status == 0) {
        g_assert_cmpuint(cqe.result, ==, result);
    }
}

static void test_output_buffers(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_sg sg;
    uint64_t buf, data, bar;
    uint32_t sid, need;
    QIscsiHbaTest *t;
    uint8_t hdr[4];

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = start_target_test(NULL);
    sid = qihba_open_plain(t);
    bar = t->h->bar.addr;
    buf = qihba_alloc(t->h, 4 * KiB, CANARY_OUT);
    data = qihba_alloc(t->h, t->bs, CANARY_READ);

    /* REPORT_LUNS: the size of the list first */
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_REPORT_LUNS, buf, 4 * KiB);
    sqe.hdr.session_id = sid;
    qihba_t_admin(t, &sqe, &cqe);
    qihba_check_cqe("REPORT_LUNS", &cqe, 0, ISCSI_HBA_DETAIL_NONE);
    need = cqe.result;
    qtest_memread(t->qts, buf, hdr, 4);
    g_assert_cmpuint(ldl_be_p(hdr) + 8, ==, need);
    g_assert_cmpuint(need, <, 4 * KiB);

    qtest_memset(t->qts, buf, CANARY_OUT, 4 * KiB);
    report_luns_expect(t, sid, buf, need - 1, "one byte short",
                       ISDSC_BUFFER_TOO_SMALL, D(BAD_LENGTH), need);
    report_luns_expect(t, sid, 0, 0, "len 0", ISDSC_BUFFER_TOO_SMALL,
                       D(BAD_LENGTH), need);
    canary_check(t->qts, "REPORT_LUNS buffer", buf, 4 * KiB, CANARY_OUT);
    report_luns_expect(t, sid, bar, 4 * KiB, "in BAR0", INVAL,
                       D(BAD_ADDRESS), 0);
    report_luns_expect(t, sid, bar - 8, 4 * KiB, "into BAR0", INVAL,
                       D(BAD_ADDRESS), 0);
    report_luns_expect(t, sid, UINT64_MAX - 15, 4 * KiB, "wrapping", INVAL,
                       D(BAD_ADDRESS), 0);
    report_luns_expect(t, sid, HOLE_ADDR, 4 * KiB, "PCI hole", INVAL,
                       D(DMA_ERROR), 0);
    report_luns_expect(t, sid, ABOVE_RAM_ADDR, 4 * KiB, "above RAM", INVAL,
                       D(DMA_ERROR), 0);
    report_luns_expect(t, sid, RAM_SIZE - 8, 4 * KiB,
                       "across the end of RAM", INVAL, D(DMA_ERROR), 0);
    report_luns_expect(t, sid, buf, need, "exactly", 0, D(NONE), need);

    /* DISCOVERY */
    qtest_memset(t->qts, buf, 0, 4 * KiB);
    qihba_discovery(t, fx->host, fx->port, NULL, buf, 4 * KiB, &cqe);
    qihba_check_cqe("DISCOVERY", &cqe, 0, D(NONE));
    need = cqe.result;
    g_assert_cmpuint(need, >, 0);
    g_assert_cmpuint(need, <, 4 * KiB);
    qtest_memset(t->qts, buf, CANARY_OUT, 4 * KiB);
    discovery_expect(t, buf, need - 1, "one byte short",
                     ISDSC_BUFFER_TOO_SMALL, D(BAD_LENGTH), need);
    discovery_expect(t, buf, 0, "len 0", ISDSC_BUFFER_TOO_SMALL,
                     D(BAD_LENGTH), need);
    canary_check(t->qts, "DISCOVERY buffer", buf, 4 * KiB, CANARY_OUT);
    discovery_expect(t, bar, 4 * KiB, "in BAR0", INVAL, D(BAD_ADDRESS), 0);
    discovery_expect(t, bar - 16, 4 * KiB, "into BAR0", INVAL,
                     D(BAD_ADDRESS), 0);
    discovery_expect(t, UINT64_MAX - 15, 4 * KiB, "wrapping", INVAL,
                     D(BAD_ADDRESS), 0);
    discovery_expect(t, HOLE_ADDR, 4 * KiB, "PCI hole", INVAL,
                     D(DMA_ERROR), 0);
    discovery_expect(t, RAM_SIZE - 8, 4 * KiB, "across the end of RAM",
                     INVAL, D(DMA_ERROR), 0);

    /* Sense data that cannot be written: the command was executed */
    sg = (struct iscsi_hba_sg) { .addr = data, .len = t->bs };
    scsi_sqe(t, &sqe, sid, READ_16, t->blocks, 1, HOLE_ADDR, &sg, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("sense buffer in the PCI hole", &cqe, INVAL,
                    D(DMA_ERROR));
    g_assert_false(cqe.flags & ISCSI_HBA_CQE_SENSE_VALID);
    scsi_sqe(t, &sqe, sid, READ_16, t->blocks, 1, RAM_SIZE - 4, &sg, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_cqe("sense buffer across the end of RAM", &cqe, INVAL,
                    D(DMA_ERROR));
    g_assert_false(cqe.flags & ISCSI_HBA_CQE_SENSE_VALID);
    canary_check(t->qts, "READ buffer", data, t->bs, CANARY_READ);

    qihba_expect_running(t->h);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * TASK_MGMT ABORT_TASK naming commands that are not there: the admin
 * queue, a queue that never existed, one beyond MAX_IO_QUEUES, a deleted
 * queue, a cid that is not outstanding.  Each completes at once with
 * status 0, result 1 ("task does not exist") -- while tgtd is frozen, so
 * nothing was sent -- and the READ that is at the target is not hurt.
 */
static void tmf_no_task(QIscsiHbaTest *t, uint32_t sid, uint16_t sqid,
                        uint16_t cid, const char *what)
{
    g_autofree char *msg = g_strdup_printf("ABORT_TASK, %s", what);
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;

    qihba_sqe_tmf(&sqe, sid, 1, ISCSI_HBA_TMF_ABORT_TASK, sqid, cid);
    qihba_t_cmd(t, QIHBA_IO_QID, &sqe, 1000, &cqe);
    qihba_check_cqe(msg, &cqe, 0, D(NONE));
    g_assert_cmpuint(cqe.result, ==, TMF_RSP_NO_TASK);
}

static void test_tmf_ref_sqid(void)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t a, b;
    uint16_t ca, cb;
    uint32_t sid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = start_target_test("num-queues=4");
    sid = qihba_open_plain(t);
    a = qihba_alloc(t->h, t->bs, CANARY_READ);
    b = qihba_alloc(t->h, t->bs, CANARY_READ);
    g_assert_cmphex(qihba_create_io_queue(t->h, 2, 8, 8, 0, false), ==, 0);

    tgtd_fixture_freeze(fx);
    qihba_rw_init(t, &sqe, sid, 1, READ_10, 0, 1);
    qihba_sqe_add_sg(&sqe, a, t->bs);
    ca = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    qihba_rw_init(t, &sqe, sid, 1, READ_10, 0, 1);
    qihba_sqe_add_sg(&sqe, b, t->bs);
    sqe.u.scsi.sense_len = 0;
    cb = qihba_submit(t->h, 2, &sqe);
    quiet_wait(t->h, 100);
    g_assert_cmphex(qihba_delete_io_queue(t->h, 2), ==, 0);

    tmf_no_task(t, sid, 0, ca, "ref_sqid 0 (admin)");
    tmf_no_task(t, sid, 3, ca, "ref_sqid 3 (never created)");
    tmf_no_task(t, sid, 4, ca, "ref_sqid 4 (MAX_IO_QUEUES, not created)");
    tmf_no_task(t, sid, 5, ca, "ref_sqid 5 (> MAX_IO_QUEUES)");
    tmf_no_task(t, sid, 31, ca, "ref_sqid 31");
    tmf_no_task(t, sid, 0xffff, ca, "ref_sqid 0xffff");
    tmf_no_task(t, sid, 2, cb, "ref_sqid 2 (deleted, its READ at target)");
    tmf_no_task(t, sid, QIHBA_IO_QID, ca + 1000, "a cid not outstanding");
    tmf_no_task(t, sid, QIHBA_IO_QID, 0, "cid 0");

    /* The READ at the target completes normally once tgtd is back */
    tgtd_fixture_thaw(fx);
    qihba_t_wait(t, QIHBA_IO_QID, ca, qihba_scsi_wait_ms(t), &cqe, NULL);
    qihba_check_good("READ after the bogus aborts", &cqe);
    quiet_wait(t->h, 500);
    canary_check(t->qts, "READ buffer of the deleted queue", b, t->bs,
                 CANARY_READ);
    qihba_expect_running(t->h);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Double fetch: the SG list is rewritten after the command was accepted
 * (while it waits at a frozen target).  The device must use what it
 * validated: the READ data lands in the first buffer, the one the new
 * list names stays untouched; a WRITE sends the first buffer.
 */
static void test_sg_rewritten(void)
{
    const uint32_t blocks = 2;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_cqe cqe;
    uint64_t list, a, b, check;
    g_autofree uint8_t *pat = NULL, *now = NULL;
    uint32_t sid, len;
    uint16_t cid;
    QIscsiHbaTest *t;
    int write;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = start_target_test(NULL);
    sid = qihba_open_plain(t);
    len = blocks * t->bs;
    pat = g_malloc(len);
    now = g_malloc(len);
    list = qihba_alloc(t->h, 2 * sizeof(struct iscsi_hba_sg), 0);
    a = qihba_alloc(t->h, len, 0);
    b = qihba_alloc(t->h, len, 0);
    check = qihba_alloc(t->h, len, 0);

    for (write = 1; write >= 0; write--) {
        qihba_fill_pattern(pat, len, 0x70c + write);
        qtest_memwrite(t->qts, a, pat, len);
        qtest_memset(t->qts, b, CANARY_DATA, len);
        qihba_put_sg(t->h, list, a, t->bs, 0);
        qihba_put_sg(t->h, list + 16, a + t->bs, t->bs, 0);
        if (!write) {
            /* READ: the LUN holds the last pattern; A is cleared */
            qtest_memset(t->qts, a, CANARY_READ, len);
        }

        tgtd_fixture_freeze(fx);
        qihba_rw_init(t, &sqe, sid, 1, write ? WRITE_10 : READ_10, 8, blocks);
        sqe.hdr.flags |= ISCSI_HBA_SCSI_SG_LIST;
        sqe.u.scsi.sg_count = 2;
        sqe.u.scsi.sg[0].addr = list;
        sqe.u.scsi.sg[0].len = 2 * sizeof(struct iscsi_hba_sg);
        cid = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
        quiet_wait(t->h, 100);
        qihba_put_sg(t->h, list, b, t->bs, 0);
        qihba_put_sg(t->h, list + 16, b + t->bs, t->bs, 0);
        tgtd_fixture_thaw(fx);
        qihba_t_wait(t, QIHBA_IO_QID, cid, qihba_scsi_wait_ms(t), &cqe, NULL);
        qihba_check_good(write ? "WRITE, SG list rewritten" :
                         "READ, SG list rewritten", &cqe);
        canary_check(t->qts, "buffer of the rewritten SG list", b, len,
                     CANARY_DATA);
        if (write) {
            rw_good(t, sid, READ_10, 8, check, len);
            qtest_memread(t->qts, check, now, len);
        } else {
            qtest_memread(t->qts, a, now, len);
            qihba_fill_pattern(pat, len, 0x70c + 1);
        }
        g_assert_cmpmem(now, len, pat, len);
    }
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * Hot-unplug (device_del, ACPI eject) while commands are at a frozen
 * target: QEMU survives, nothing of the commands reaches guest memory
 * afterwards, and the device really goes away (DEVICE_DELETED, which
 * QEMU sends when the device object is finalized).
 */
#define HOTPLUG_SLOT            4
/* PIIX4 ACPI PCI hotplug: eject register (libqos/pci-pc.c) */
#define ACPI_PCIHP_EJ           (0xae00 + 0x0008)

/* Wait up to @ms for DEVICE_DELETED of "hba0", without blocking forever */
static bool wait_device_deleted(QTestState *qts, int ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;
    QDict *ev, *rsp;

    for (;;) {
        /* Any QMP command also collects the events sent before it */
        rsp = qtest_qmp(qts, "{'execute': 'query-status'}");
        g_assert_true(qdict_haskey(rsp, "return"));
        qobject_unref(rsp);
        ev = qtest_qmp_event_ref(qts, "DEVICE_DELETED");
        if (ev) {
            g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"),
                                          "device"), ==, "hba0");
            qobject_unref(ev);
            return true;
        }
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(20 * 1000);
    }
}

static void unplug_hba(QIscsiHbaTest *t, bool *deleted)
{
    qtest_qmp_device_del_send(t->qts, "hba0");
    qtest_outl(t->qts, ACPI_PCIHP_EJ, 1 << HOTPLUG_SLOT);
    *deleted = wait_device_deleted(t->qts, 2000);
}

static void test_hot_unplug(void)
{
    g_autofree char *opts = g_strdup_printf(PORTALS ",addr=%d.0",
                                            HOTPLUG_SLOT);
    Held *hd = g_new0(Held, 1);
    QIscsiHbaTest *t;
    bool deleted;

    if (!qihba_fixture_ready(fx, fx_error)) {
        g_free(hd);
        return;
    }
    t = hd->t = qihba_t_start_args(fx, LT, CT, opts, MEM_ARGS);
    hd->sid = qihba_open_plain(t);
    held_submit(hd);
    unplug_hba(t, &deleted);
    tgtd_fixture_thaw(fx);
    quiet_wait(t->h, QUIET_MS);
    held_check_untouched(hd, true);
    snapshot_check(t->qts, "admin CQ", &hd->admin_cq);
    if (!deleted) {
        deleted = wait_device_deleted(t->qts, 0);
    }
    if (!deleted) {
        g_test_message("no DEVICE_DELETED after the eject: the device left "
                       "the bus but its object was never finalized");
    }
    g_assert_true(deleted);
    held_free(hd);
    qihba_t_quit(t);
}

/*
 * F8a: the bounce buffer is bounded (spec, "Data buffers")
 *
 * Data elements in device memory (the I/O APIC's register page, whose
 * reads have no side effects) go through the adapter's bounce buffer,
 * which holds MAX_TRANSFER bytes in all.  A WRITE from there sends what
 * the guest would read; while one WRITE of MAX_TRANSFER bounced bytes is
 * held at a frozen target, another bounced WRITE completes at once with
 * ISDSC_OUT_OF_RESOURCES / NONE, and goes through once the first is done.
 * A WRITE from RAM is not affected.
 */
#define IOAPIC_ADDR             0xfec00000ULL
#define BOUNCE_MAX              65536u

static void test_bounce_pool(void)
{
    const unsigned n = BOUNCE_MAX / (4 * KiB);
    g_autofree char *opts = g_strdup_printf("max-transfer=%u", BOUNCE_MAX);
    g_autofree uint8_t *expect = g_malloc(4 * KiB);
    g_autofree uint8_t *now = g_malloc(4 * KiB);
    struct iscsi_hba_sqe sqe, big;
    struct iscsi_hba_cqe cqe;
    struct iscsi_hba_sg sg;
    uint64_t list, ram, check;
    uint16_t cbig, cram;
    uint32_t sid;
    QIscsiHbaTest *t;
    unsigned i;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = start_target_test(opts);
    sid = qihba_open_plain(t);
    ram = qihba_alloc(t->h, 4 * KiB, CANARY_DATA);
    check = qihba_alloc(t->h, 4 * KiB, 0);
    list = qihba_alloc(t->h, n * sizeof(struct iscsi_hba_sg), 0);
    for (i = 0; i < n; i++) {
        qihba_put_sg(t->h, list + i * sizeof(struct iscsi_hba_sg),
                     IOAPIC_ADDR, 4 * KiB, 0);
    }
    qtest_memread(t->qts, IOAPIC_ADDR, expect, 4 * KiB);
    /* LBAs 64.. and 128.. hold RAM's canary first: the WRITEs must change it */
    rw_good(t, sid, WRITE_10, 64, ram, 4 * KiB);
    rw_good(t, sid, WRITE_10, 128 + BOUNCE_MAX / t->bs - 4 * KiB / t->bs,
            ram, 4 * KiB);

    /* A bounced WRITE sends what the guest reads there */
    sg = (struct iscsi_hba_sg) { .addr = IOAPIC_ADDR, .len = 4 * KiB };
    scsi_sqe(t, &sqe, sid, WRITE_10, 64, 4 * KiB / t->bs, t->sense, &sg, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_good("WRITE from device memory", &cqe);
    rw_good(t, sid, READ_10, 64, check, 4 * KiB);
    qtest_memread(t->qts, check, now, 4 * KiB);
    g_assert_cmpmem(now, 4 * KiB, expect, 4 * KiB);

    /* One WRITE takes the whole bounce buffer at a frozen target */
    tgtd_fixture_freeze(fx);
    qihba_rw_init(t, &big, sid, 1, WRITE_10, 128, BOUNCE_MAX / t->bs);
    big.hdr.flags |= ISCSI_HBA_SCSI_SG_LIST;
    big.u.scsi.sg_count = n;
    big.u.scsi.sg[0].addr = list;
    big.u.scsi.sg[0].len = n * sizeof(struct iscsi_hba_sg);
    cbig = qihba_submit(t->h, QIHBA_IO_QID, &big);
    quiet_wait(t->h, 100);
    expect_no_cqe(t->h, QIHBA_IO_QID, "bounced WRITE at a frozen target");

    /* Another bounced one finds no room; one from RAM is sent */
    scsi_sqe(t, &sqe, sid, WRITE_10, 64, 4 * KiB / t->bs, t->sense, &sg, 1);
    qihba_t_cmd(t, QIHBA_IO_QID, &sqe, 1000, &cqe);
    qihba_check_cqe("second bounced WRITE", &cqe, ISDSC_OUT_OF_RESOURCES,
                    D(NONE));
    sg = (struct iscsi_hba_sg) { .addr = ram, .len = 4 * KiB };
    scsi_sqe(t, &sqe, sid, WRITE_10, 0, 4 * KiB / t->bs, t->sense, &sg, 1);
    cram = qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    quiet_wait(t->h, 100);
    expect_no_cqe(t->h, QIHBA_IO_QID, "WRITE from RAM at a frozen target");

    tgtd_fixture_thaw(fx);
    qihba_t_wait(t, QIHBA_IO_QID, cbig, qihba_scsi_wait_ms(t), &cqe, NULL);
    qihba_check_good("bounced WRITE of MAX_TRANSFER bytes", &cqe);
    qihba_t_wait(t, QIHBA_IO_QID, cram, qihba_scsi_wait_ms(t), &cqe, NULL);
    qihba_check_good("WRITE from RAM", &cqe);

    /* The bounce buffer is free again */
    sg = (struct iscsi_hba_sg) { .addr = IOAPIC_ADDR, .len = 4 * KiB };
    scsi_sqe(t, &sqe, sid, WRITE_10, 64, 4 * KiB / t->bs, t->sense, &sg, 1);
    qihba_io_exec(t, &sqe, &cqe);
    qihba_check_good("bounced WRITE, retried", &cqe);
    rw_good(t, sid, READ_10, 128 + BOUNCE_MAX / t->bs - 4 * KiB / t->bs,
            check, 4 * KiB);
    qtest_memread(t->qts, check, now, 4 * KiB);
    g_assert_cmpmem(now, 4 * KiB, expect, 4 * KiB);
    qihba_expect_running(t->h);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * F2: reset and unplug through another device while the queue bottom
 * half runs
 *
 * On q35 the adapter sits behind a pcie-root-port.  A DMA of the adapter
 * that lands in the root port's configuration space in ECAM (MMCONFIG)
 * sets Secondary Bus Reset in its bridge control register -- which
 * resets the adapter synchronously, from inside its own DMA -- or powers
 * its slot off, which unplugs it.  The adapter's re-entrancy guard does
 * not cover another device's MMIO, so the bottom half must survive its
 * queues, requests and whole state going away under it.  After a reset
 * the adapter reads disabled and works again once re-enabled.
 *
 * libqos scans bus 0 only: the tests program the root port themselves
 * (bus numbers, memory window) and enable ECAM in the MCH.
 */
#define RP_SLOT                 4
#define RP_SEC_BUS              1
#define RP_MEM_BASE             0xe0000000u
#define RP_MEM_LIMIT            0xefffffffu
/* q35's PCIEXBAR: the default base, 256 MiB, enabled */
#define Q35_PCIEXBAR            0x60
#define ECAM_BASE               0xb0000000u
#define ECAM_RP(reg)            (ECAM_BASE | (RP_SLOT << 15) | (reg))
#define RP_VENDOR_ID            0x1b36  /* Red Hat, pcie-root-port */

/*
 * @native: the root port's own (PCIe native) hot-plug instead of q35's
 * default, ACPI hot-plug, under which the slot shows no Presence Detect
 * State and powering it off unplugs nothing.
 */
static QIscsiHbaTest *rp_start(bool native)
{
    QIscsiHba *h = g_new0(QIscsiHba, 1);
    QPCIDevice *mch, *rp;
    QIscsiHbaTest *t;

    h->qts = qtest_initf("-machine q35 -nodefaults " MEM_ARGS " %s "
                         "-device pcie-root-port,id=rp0,bus=pcie.0,"
                         "chassis=1,slot=1,addr=%d.0 "
                         "-device iscsi-hba,id=hba0,bus=rp0,addr=0.0,"
                         "login-timeout=%d,command-timeout=%d," PORTALS,
                         native ? "-global ICH9-LPC.acpi-pci-hotplug-with-"
                         "bridge-support=off" : "", RP_SLOT, LT, CT);
    pc_alloc_init(&h->alloc, h->qts, ALLOC_NO_FLAGS);
    h->bus = qpci_new_pc(h->qts, &h->alloc);
    /* BARs go into the root port's memory window */
    g_assert_cmphex(h->bus->mmio_alloc_ptr, ==, RP_MEM_BASE);
    h->bus->mmio_limit = (uint64_t)RP_MEM_LIMIT + 1;

    mch = qpci_device_find(h->bus, 0);
    g_assert_nonnull(mch);
    qpci_config_writel(mch, Q35_PCIEXBAR + 4, 0);
    qpci_config_writel(mch, Q35_PCIEXBAR, ECAM_BASE | 1);
    g_free(mch);
    g_assert_cmphex(qtest_readw(h->qts, ECAM_RP(PCI_VENDOR_ID)), ==,
                    RP_VENDOR_ID);

    rp = qpci_device_find(h->bus, QPCI_DEVFN(RP_SLOT, 0));
    g_assert_nonnull(rp);
    qpci_config_writeb(rp, PCI_PRIMARY_BUS, 0);
    qpci_config_writeb(rp, PCI_SECONDARY_BUS, RP_SEC_BUS);
    qpci_config_writeb(rp, PCI_SUBORDINATE_BUS, RP_SEC_BUS);
    qpci_config_writew(rp, PCI_MEMORY_BASE, RP_MEM_BASE >> 16);
    qpci_config_writew(rp, PCI_MEMORY_LIMIT, RP_MEM_LIMIT >> 16);
    qpci_config_writew(rp, PCI_PREF_MEMORY_BASE, 0xfff0);
    qpci_config_writew(rp, PCI_PREF_MEMORY_LIMIT, 0);
    qpci_config_writew(rp, PCI_COMMAND,
                       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    g_free(rp);

    h->dev = qpci_device_find(h->bus, RP_SEC_BUS << 8 | QPCI_DEVFN(0, 0));
    g_assert_nonnull(h->dev);
    g_assert_cmphex(qpci_config_readw(h->dev, PCI_VENDOR_ID), ==,
                    ISCSI_HBA_PCI_VENDOR_ID);
    qpci_device_enable(h->dev);
    h->bar = qpci_iomap(h->dev, ISCSI_HBA_BAR_REGS, &h->bar_size);
    h->next_cid = 1;

    t = qihba_t_attach_hba(h, fx, LT, CT);
    qihba_t_enable(t);
    expect_identify_ok(h);
    return t;
}

static uint16_t rp_bridge_ctl(QIscsiHbaTest *t)
{
    return qtest_readw(t->qts, ECAM_RP(PCI_BRIDGE_CONTROL));
}

/* Offset of the root port's PCI Express capability. */
static uint8_t rp_exp_cap(QIscsiHbaTest *t)
{
    QPCIDevice *rp = qpci_device_find(t->h->bus, QPCI_DEVFN(RP_SLOT, 0));
    uint8_t cap;

    g_assert_nonnull(rp);
    cap = qpci_find_capability(rp, PCI_CAP_ID_EXP, 0);
    g_assert_cmpuint(cap, !=, 0);
    g_free(rp);
    return cap;
}

/* Report the completions at the driver's heads (what came instead). */
static void rp_show_cqes(QIscsiHbaTest *t)
{
    static const uint16_t qids[] = { ISCSI_HBA_ADMIN_QID, QIHBA_IO_QID };
    struct iscsi_hba_cqe cqe;
    int i;

    for (i = 0; i < ARRAY_SIZE(qids); i++) {
        if (t->h->q[qids[i]].live &&
            qihba_peek_cqe(t->h, qids[i], 0, &cqe)) {
            g_test_message("CQ %u: cid %u status 0x%08x %s detail %u",
                           qids[i], cqe.cid, cqe.status,
                           qihba_isdsc(cqe.status), cqe.detail);
        }
    }
}

/* Wait up to 2 s + the command timeout for Secondary Bus Reset. */
static void rp_wait_sbr(QIscsiHbaTest *t, const char *what)
{
    gint64 deadline = g_get_monotonic_time() +
                      (2 + t->ct) * G_USEC_PER_SEC;

    while (!(rp_bridge_ctl(t) & PCI_BRIDGE_CTL_BUS_RESET)) {
        if (g_get_monotonic_time() > deadline) {
            g_test_message("%s: no secondary bus reset", what);
            rp_show_cqes(t);
            g_assert_not_reached();
        }
        g_usleep(1000);
    }
    g_assert_true(qihba_alive(t->h));
}

/*
 * After the reset: clear SBR, map BAR0 again (config space was reset),
 * check that the adapter reads disabled, enable it and run IDENTIFY.
 */
static void rp_recover(QIscsiHbaTest *t)
{
    QIscsiHba *h = t->h;
    int i;

    qtest_writew(t->qts, ECAM_RP(PCI_BRIDGE_CONTROL), 0);
    g_assert_cmphex(qpci_config_readw(h->dev, PCI_COMMAND) &
                    (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), ==, 0);
    qpci_config_writel(h->dev, PCI_BASE_ADDRESS_0, h->bar.addr);
    qpci_config_writel(h->dev, PCI_BASE_ADDRESS_1, 0);
    qpci_device_enable(h->dev);
    h->dev->msix_enabled = false;
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_CTRL), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_STATUS), ==, 0);
    g_assert_cmphex(qihba_readl(h, ISCSI_HBA_REG_ADMIN_QUEUE_SIZE), ==, 0);
    for (i = 0; i < QIHBA_NUM_QUEUES; i++) {
        h->q[i].live = false;
    }
    qihba_t_enable(t);
    expect_identify_ok(h);
    qihba_expect_running(h);
}

/*
 * Write one block to @lba of session @sid: a pattern from @seed whose
 * first four bytes are @val (little-endian).  Returns the RAM holding it.
 */
static uint64_t rp_write_lba(QIscsiHbaTest *t, uint32_t sid, uint64_t lba,
                             int seed, uint32_t val)
{
    g_autofree uint8_t *pattern = g_malloc(t->bs);
    uint64_t ram;

    qihba_fill_pattern(pattern, t->bs, seed);
    stl_le_p(pattern, val);
    ram = qihba_alloc(t->h, t->bs, 0);
    qtest_memwrite(t->qts, ram, pattern, t->bs);
    rw_good(t, sid, WRITE_10, lba, ram, t->bs);
    return ram;
}

/*
 * Submit a READ of one block at @lba whose first SG element is the four
 * bytes at @ecam and whose second is fresh RAM (CANARY_READ), returned.
 */
static uint64_t rp_read_to_ecam(QIscsiHbaTest *t, uint32_t sid, uint64_t lba,
                                uint64_t ecam)
{
    uint64_t buf = qihba_alloc(t->h, t->bs, CANARY_READ);
    struct iscsi_hba_sg sg[2] = {
        { .addr = ecam, .len = 4 },
        { .addr = buf, .len = t->bs - 4 },
    };
    struct iscsi_hba_sqe sqe;

    scsi_sqe(t, &sqe, sid, READ_10, lba, 1, t->sense, sg, 2);
    qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    return buf;
}

/* The adapter is unplugged (DEVICE_DELETED) and QEMU lives on. */
static void rp_wait_unplugged(QIscsiHbaTest *t)
{
    bool deleted = wait_device_deleted(t->qts, 2000 + t->ct * 1000);

    g_assert_true(qihba_alive(t->h));
    if (!deleted) {
        rp_show_cqes(t);
    }
    g_assert_true(deleted);
}

/*
 * IDENTIFY into bridge control: its first byte, the low byte of the
 * vendor ID (0xf4), has bit 6 set.  1 to 4 bytes: the longer ones also
 * write 0x3f and the root port's registers above.
 */
static void test_rp_sbr_identify(void)
{
    QIscsiHbaTest *t = rp_start(false);
    struct iscsi_hba_sqe sqe;
    uint32_t len;

    g_assert_cmphex(ISCSI_HBA_PCI_VENDOR_ID & PCI_BRIDGE_CTL_BUS_RESET, !=, 0);
    for (len = 1; len <= 4; len++) {
        g_assert_cmphex(rp_bridge_ctl(t) & PCI_BRIDGE_CTL_BUS_RESET, ==, 0);
        qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY,
                         ECAM_RP(PCI_BRIDGE_CONTROL), len);
        qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
        rp_wait_sbr(t, "IDENTIFY into bridge control");
        rp_recover(t);
    }
    qihba_t_quit(t);
}

/*
 * A READ whose first SG element is the dword 0x3c..0x3f of the root port
 * (bounced) and whose second is RAM; the LBA holds 00 00 40 00 first, so
 * delivering the data sets SBR.  Then a CHECK CONDITION whose sense
 * buffer is bridge control: fixed-format sense starts 0x70.
 */
static void test_rp_sbr_read(void)
{
    const uint64_t lba = 200;
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_sg sg;
    uint64_t ram, buf;
    uint32_t sid;
    QIscsiHbaTest *t;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = rp_start(false);
    sid = qihba_open_plain(t);
    ram = rp_write_lba(t, sid, lba, 7, PCI_BRIDGE_CTL_BUS_RESET << 16);

    /* Data */
    buf = rp_read_to_ecam(t, sid, lba, ECAM_RP(PCI_INTERRUPT_LINE));
    rp_wait_sbr(t, "READ data into bridge control");
    rp_recover(t);

    /* Sense */
    sid = qihba_open_plain(t);
    sg = (struct iscsi_hba_sg) { .addr = buf, .len = t->bs };
    scsi_sqe(t, &sqe, sid, READ_16, t->blocks, 1,
             ECAM_RP(PCI_BRIDGE_CONTROL), &sg, 1);
    sqe.u.scsi.sense_len = 2;
    qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    rp_wait_sbr(t, "sense into bridge control");
    rp_recover(t);

    /* The data went to the LBA: read it back into RAM */
    sid = qihba_open_plain(t);
    rw_good(t, sid, READ_10, lba, ram, t->bs);
    canary_check(t->qts, "READ of the SBR pattern", ram + 2, 1,
                 PCI_BRIDGE_CTL_BUS_RESET);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

/*
 * An MSI-X vector whose message is a dword write to 0x3c..0x3f of the
 * root port, setting SBR: the admin queue's interrupt resets the adapter.
 */
static void test_rp_sbr_msix(void)
{
    QIscsiHbaTest *t = rp_start(false);
    struct iscsi_hba_sqe sqe;
    int i;

    for (i = 0; i < 2; i++) {
        qihba_msix_enable(t->h);
        qihba_msix_vector(t->h, 0, ECAM_RP(PCI_INTERRUPT_LINE),
                          PCI_BRIDGE_CTL_BUS_RESET << 16);
        qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, t->scratch,
                         ISCSI_HBA_IDENTIFY_SIZE);
        qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
        rp_wait_sbr(t, "MSI-X message into bridge control");
        rp_recover(t);
    }
    qihba_t_quit(t);
}

/*
 * Slot power off from inside the bottom half: an MSI-X message to the
 * root port's Slot Control turns the power controller and the power
 * indicator off, which unplugs the adapter.  QEMU lives on and the
 * adapter's object is finalized (DEVICE_DELETED).
 */
static void test_rp_power_off_msix(void)
{
    QIscsiHbaTest *t = rp_start(true);
    uint8_t cap = rp_exp_cap(t);
    struct iscsi_hba_sqe sqe;
    bool deleted;

    g_assert_cmphex(qtest_readl(t->qts, ECAM_RP(cap + PCI_EXP_SLTCAP)) &
                    PCI_EXP_SLTCAP_PCP, !=, 0);
    g_assert_cmphex(qtest_readw(t->qts, ECAM_RP(cap + PCI_EXP_SLTSTA)) &
                    PCI_EXP_SLTSTA_PDS, !=, 0);
    qihba_msix_enable(t->h);
    qihba_msix_vector(t->h, 0, ECAM_RP(cap + PCI_EXP_SLTCTL),
                      PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PWR_IND_OFF);
    qihba_sqe_buffer(&sqe, ISCSI_HBA_ADM_IDENTIFY, t->scratch,
                     ISCSI_HBA_IDENTIFY_SIZE);
    qihba_submit(t->h, ISCSI_HBA_ADMIN_QID, &sqe);
    deleted = wait_device_deleted(t->qts, 2000);
    g_assert_true(qihba_alive(t->h));
    g_assert_true(deleted);
    g_assert_cmphex(qtest_readw(t->qts, ECAM_RP(cap + PCI_EXP_SLTSTA)) &
                    PCI_EXP_SLTSTA_PDS, ==, 0);
    /* The adapter is gone: no config space behind the root port */
    g_assert_cmphex(qpci_config_readw(t->h->dev, PCI_VENDOR_ID), ==, 0xffff);
    t->h->dev->msix_enabled = false;
    qihba_t_quit(t);
}

/*
 * The same from READ data delivered by the bottom half: the LBA holds
 * the Slot Control value (power and power indicator off).
 */
static void test_rp_power_off_read(void)
{
    const uint64_t lba = 300;
    uint32_t sid;
    QIscsiHbaTest *t;
    uint8_t cap;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = rp_start(true);
    cap = rp_exp_cap(t);
    sid = qihba_open_plain(t);
    rp_write_lba(t, sid, lba, 9,
                 PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PWR_IND_OFF);
    rp_read_to_ecam(t, sid, lba, ECAM_RP(cap + PCI_EXP_SLTCTL));
    rp_wait_unplugged(t);
    qihba_t_quit(t);
}

/*
 * Four READs answered at once by a thawed tgtd, so that one run of the
 * bottom half finds them all done: the second one's first element is
 * @ecam (4 bytes; the LBA holds @val there), the others go to RAM.  The
 * reset or unplug hits with completions still to post behind it.
 */
static void rp_burst(QIscsiHbaTest *t, uint32_t sid, uint64_t lba,
                     uint64_t ecam, uint32_t val)
{
    struct iscsi_hba_sqe sqe;
    struct iscsi_hba_sg sg;
    int i;

    rp_write_lba(t, sid, lba, 11, val);
    tgtd_fixture_freeze(fx);
    for (i = 0; i < 4; i++) {
        if (i == 1) {
            rp_read_to_ecam(t, sid, lba, ecam);
            continue;
        }
        sg = (struct iscsi_hba_sg) {
            .addr = qihba_alloc(t->h, t->bs, CANARY_READ), .len = t->bs
        };
        scsi_sqe(t, &sqe, sid, READ_10, lba, 1, t->sense, &sg, 1);
        qihba_submit(t->h, QIHBA_IO_QID, &sqe);
    }
    quiet_wait(t->h, 100);
    expect_no_cqe(t->h, QIHBA_IO_QID, "READs at a frozen target");
    tgtd_fixture_thaw(fx);
}

static void test_rp_sbr_burst(void)
{
    QIscsiHbaTest *t;
    uint32_t sid;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = rp_start(false);
    sid = qihba_open_plain(t);
    rp_burst(t, sid, 400, ECAM_RP(PCI_INTERRUPT_LINE),
             PCI_BRIDGE_CTL_BUS_RESET << 16);
    rp_wait_sbr(t, "READ data into bridge control, more behind it");
    rp_recover(t);
    sid = qihba_open_plain(t);
    qihba_logout_ok(t, sid);
    qihba_t_quit(t);
}

static void test_rp_power_off_burst(void)
{
    QIscsiHbaTest *t;
    uint32_t sid;
    uint8_t cap;

    if (!qihba_fixture_ready(fx, fx_error)) {
        return;
    }
    t = rp_start(true);
    cap = rp_exp_cap(t);
    sid = qihba_open_plain(t);
    rp_burst(t, sid, 500, ECAM_RP(cap + PCI_EXP_SLTCTL),
             PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PWR_IND_OFF);
    rp_wait_unplugged(t);
    qihba_t_quit(t);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    fx = qihba_fixture_start(qihba_fixture_abort, &fx_error);

    qtest_add_func("/iscsi-hba/hostile-guest/f1/pci-hole", test_f1_pci_hole);
    qtest_add_func("/iscsi-hba/hostile-guest/f9/disable", test_f9_disable);
    qtest_add_func("/iscsi-hba/hostile-guest/f9/disable-admin",
                   test_f9_disable_admin);
    qtest_add_func("/iscsi-hba/hostile-guest/f9/pci-reset",
                   test_f9_pci_reset);
    qtest_add_func("/iscsi-hba/hostile-guest/f9/delete-queue",
                   test_f9_delete_queue);
    qtest_add_func("/iscsi-hba/hostile-guest/f9/logout", test_f9_logout);
    qtest_add_func("/iscsi-hba/hostile-guest/unbacked/io-sq",
                   test_unbacked_sq);
    qtest_add_func("/iscsi-hba/hostile-guest/unbacked/admin-sq",
                   test_unbacked_admin_sq);
    qtest_add_func("/iscsi-hba/hostile-guest/unbacked/io-cq",
                   test_unbacked_cq);
    qtest_add_func("/iscsi-hba/hostile-guest/fatal/in-flight",
                   test_fatal_in_flight);
    qtest_add_func("/iscsi-hba/hostile-guest/f8/doorbell-budget",
                   test_f8_doorbell_budget);
    qtest_add_func("/iscsi-hba/hostile-guest/bar/moved", test_bar_moved);
    qtest_add_func("/iscsi-hba/hostile-guest/garbage/storm", test_garbage);
    qtest_add_func("/iscsi-hba/hostile-guest/garbage/overlap-sq-cq",
                   test_overlap_sq_cq);
    qtest_add_func("/iscsi-hba/hostile-guest/garbage/overlap-read-rings",
                   test_overlap_read_rings);
    qtest_add_func("/iscsi-hba/hostile-guest/login/checks",
                   test_login_checks);
    qtest_add_func("/iscsi-hba/hostile-guest/login/chap-secret",
                   test_chap_secret_checks);
    qtest_add_func("/iscsi-hba/hostile-guest/scsi/bad-lun", test_bad_lun);
    qtest_add_func("/iscsi-hba/hostile-guest/regs/access-sizes",
                   test_register_sizes);
    qtest_add_func("/iscsi-hba/hostile-guest/admin/pool", test_admin_pool);
    qtest_add_func("/iscsi-hba/hostile-guest/irq/msix-mask", test_msix_mask);
    qtest_add_func("/iscsi-hba/hostile-guest/session/output-buffers",
                   test_output_buffers);
    qtest_add_func("/iscsi-hba/hostile-guest/session/tmf-ref-sqid",
                   test_tmf_ref_sqid);
    qtest_add_func("/iscsi-hba/hostile-guest/session/sg-rewritten",
                   test_sg_rewritten);
    qtest_add_func("/iscsi-hba/hostile-guest/f8/bounce-pool",
                   test_bounce_pool);
    /* Last, as a failed assertion ends the binary: newest checks */
    if (qtest_has_machine("q35") && qtest_has_device("pcie-root-port")) {
        qtest_add_func("/iscsi-hba/hostile-guest/f2/sbr-identify",
                       test_rp_sbr_identify);
        qtest_add_func("/iscsi-hba/hostile-guest/f2/sbr-read",
                       test_rp_sbr_read);
        qtest_add_func("/iscsi-hba/hostile-guest/f2/sbr-msix",
                       test_rp_sbr_msix);
        qtest_add_func("/iscsi-hba/hostile-guest/f2/power-off-msix",
                       test_rp_power_off_msix);
        qtest_add_func("/iscsi-hba/hostile-guest/f2/power-off-read",
                       test_rp_power_off_read);
        qtest_add_func("/iscsi-hba/hostile-guest/f2/sbr-burst",
                       test_rp_sbr_burst);
        qtest_add_func("/iscsi-hba/hostile-guest/f2/power-off-burst",
                       test_rp_power_off_burst);
    }
    qtest_add_func("/iscsi-hba/hostile-guest/bus-master/doorbell",
                   test_bus_master_doorbell);
    qtest_add_func("/iscsi-hba/hostile-guest/bus-master/in-flight",
                   test_bus_master_in_flight);
    qtest_add_func("/iscsi-hba/hostile-guest/unplug/in-flight",
                   test_hot_unplug);

    ret = g_test_run();
    qihba_fixture_free(fx);
    g_clear_error(&fx_error);
    return ret;
}
