/*
 * iscsi-hba: PCI function, registers, doorbells, interrupts, reset
 *
 * Register and doorbell writes never touch guest memory: enabling only
 * validates the admin queue registers, a doorbell records its value and
 * schedules the queue's guarded bottom half (queue.c), and a disable
 * gives every buffer back without writing it.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "qemu/cutils.h"
#include "qemu/datadir.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "hw/pci/msix.h"
#include "qemu-compat.h"
#include "migration/vmstate.h"
#include "fault.h"
#include "session.h"
#include "iscsi-name.h"
#include "trace.h"

#define ISCSI_HBA_REGS_SIZE     0x1000
#define ISCSI_HBA_DB_SIZE       0x1000

uint16_t iscsi_hba_num_vectors(IscsiHbaState *s)
{
    return s->num_queues + 1;
}

uint32_t iscsi_hba_cap(IscsiHbaState *s)
{
    uint32_t cap = ISCSI_HBA_CAP_INTX | ISCSI_HBA_CAP_SG_CHAIN |
                   ISCSI_HBA_CAP_ISCSI | ISCSI_HBA_CAP_FAULT_INJECTION;

    if (msix_present(PCI_DEVICE(s))) {
        cap |= ISCSI_HBA_CAP_MSIX;
    }
    return cap;
}

bool iscsi_hba_running(IscsiHbaState *s)
{
    return (s->status & ISCSI_HBA_STATUS_READY) &&
           !(s->status & ISCSI_HBA_STATUS_FATAL);
}

/* May the device read or write guest memory now? */
bool iscsi_hba_can_touch_guest(IscsiHbaState *s)
{
    return iscsi_hba_running(s) && s->vm_running;
}

static void iscsi_hba_vm_state_change(void *opaque, bool running,
                                      RunState state)
{
    IscsiHbaState *s = opaque;

    s->vm_running = running;
    trace_iscsi_hba_vm_running(running);
    iscsi_hba_sessions_vm_state(s);
    if (running) {
        iscsi_hba_queues_kick(s);
    }
}

/*
 * A guest buffer must be non-empty, must not wrap the address space and
 * must not overlap our own BAR.  This is an early, friendly answer for
 * drivers; safety does not rest on it (behind a vIOMMU the bus address
 * says nothing about the BAR): guest memory is only accessed from the
 * guarded bottom half, where the re-entrancy guard stops DMA into our own
 * registers.
 */
bool iscsi_hba_dma_range_ok(IscsiHbaState *s, uint64_t addr, uint64_t len)
{
    pcibus_t bar = pci_get_bar_addr(PCI_DEVICE(s), ISCSI_HBA_BAR_REGS);
    uint64_t end;

    if (len == 0 || uadd64_overflow(addr, len - 1, &end)) {
        return false;
    }
    if (bar != PCI_BAR_UNMAPPED &&
        addr <= bar + ISCSI_HBA_BAR0_SIZE - 1 && end >= bar) {
        return false;
    }
    return true;
}

/*
 * Stop the controller after a guest error it cannot report through a
 * completion.  Nothing more is fetched, posted or signalled until the
 * driver disables the controller.
 */
void iscsi_hba_set_fatal(IscsiHbaState *s, uint32_t reason)
{
    if (s->status & ISCSI_HBA_STATUS_FATAL) {
        return;
    }
    trace_iscsi_hba_fatal(reason);
    qemu_log_mask(LOG_GUEST_ERROR, "iscsi-hba: fatal error, reason %u\n",
                  reason);
    s->status |= ISCSI_HBA_STATUS_FATAL;
    s->fatal_reason = reason;
}

/* ---- interrupts ---- */

static uint32_t iscsi_hba_intx_status(IscsiHbaState *s)
{
    uint32_t pending = 0;
    unsigned qid;

    for (qid = 0; qid <= s->num_queues; qid++) {
        IscsiHbaQueue *q = &s->queues[qid];

        if (q->created && q->irq_enabled && q->cq_head != q->cq_tail) {
            pending |= 1u << qid;
        }
    }
    return pending;
}

/* Recompute the INTx level; it is only driven while MSI-X is off. */
void iscsi_hba_irq_update(IscsiHbaState *s)
{
    PCIDevice *pci = PCI_DEVICE(s);
    int level = 0;

    if (!msix_enabled(pci) && !(s->status & ISCSI_HBA_STATUS_FATAL)) {
        level = (iscsi_hba_intx_status(s) & ~s->intx_mask) != 0;
    }
    trace_iscsi_hba_intx(level);
    pci_set_irq(pci, level);
}

/* Signal new completions on q's CQ. */
void iscsi_hba_irq_notify(IscsiHbaQueue *q)
{
    IscsiHbaState *s = q->s;
    PCIDevice *pci = PCI_DEVICE(s);

    if (!q->irq_enabled) {
        return;
    }
    q->interrupts++;
    if (msix_enabled(pci)) {
        trace_iscsi_hba_msix(q->qid, q->vector);
        msix_notify(pci, q->vector);
    } else {
        iscsi_hba_irq_update(s);
    }
}

/* ---- enable / disable ---- */

static void iscsi_hba_enable(IscsiHbaState *s)
{
    uint16_t sq_size = extract32(s->admin_queue_size, 0, 16);
    uint16_t cq_size = extract32(s->admin_queue_size, 16, 16);
    struct iscsi_hba_create_queue c = {
        .sq_base = s->admin_sq_base,
        .cq_base = s->admin_cq_base,
        .sq_size = sq_size,
        .cq_size = cq_size,
        .vector = 0,
    };

    if (iscsi_hba_queue_check(s, &c) != ISCSI_HBA_DETAIL_NONE) {
        iscsi_hba_set_fatal(s, ISCSI_HBA_FATAL_BAD_ADMIN_QUEUE);
        return;
    }
    iscsi_hba_queue_create(s, ISCSI_HBA_ADMIN_QID, &c, true);
    s->status |= ISCSI_HBA_STATUS_READY;
    trace_iscsi_hba_enable(sq_size, cq_size);
    iscsi_hba_host_targets_login(s);
}

/*
 * Controller reset (CTRL.ENABLE 1 -> 0): drop every queue and the work on
 * it, pending events, and the error state.  Admin queue registers keep
 * their values so a driver can re-enable without reprogramming them.
 */
static void iscsi_hba_disable(IscsiHbaState *s)
{
    int qid;

    trace_iscsi_hba_disable();
    /* Sessions first: their commands point into the queues. */
    iscsi_hba_sessions_drop_all(s);
    iscsi_hba_events_reset(s);
    for (qid = s->num_queues; qid >= 0; qid--) {
        if (s->queues[qid].created) {
            iscsi_hba_queue_delete(&s->queues[qid]);
        }
    }
    s->status = 0;
    s->fatal_reason = ISCSI_HBA_FATAL_NONE;
    s->last_status = 0;
    s->intx_mask = 0;
    iscsi_hba_irq_update(s);
}

static void iscsi_hba_write_ctrl(IscsiHbaState *s, uint32_t val)
{
    bool was = s->ctrl & ISCSI_HBA_CTRL_ENABLE;
    bool now = val & ISCSI_HBA_CTRL_ENABLE;

    if (val & ~ISCSI_HBA_CTRL_ENABLE) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: reserved CTRL bits 0x%x ignored\n", val);
    }
    s->ctrl = val & ISCSI_HBA_CTRL_ENABLE;
    if (was && !now) {
        iscsi_hba_disable(s);
    } else if (!was && now) {
        iscsi_hba_enable(s);
    }
}

/* ---- registers ---- */

static uint64_t iscsi_hba_reg_read(void *opaque, hwaddr addr, unsigned size)
{
    IscsiHbaState *s = opaque;
    uint32_t val;

    switch (addr) {
    case ISCSI_HBA_REG_MAGIC:
        val = ISCSI_HBA_MAGIC;
        break;
    case ISCSI_HBA_REG_VERSION:
        val = ISCSI_HBA_VERSION;
        break;
    case ISCSI_HBA_REG_CAP:
        val = iscsi_hba_cap(s);
        break;
    case ISCSI_HBA_REG_MAX_IO_QUEUES:
        val = s->num_queues;
        break;
    case ISCSI_HBA_REG_MAX_QUEUE_ENTRIES:
        val = s->max_queue_entries;
        break;
    case ISCSI_HBA_REG_MAX_SG_ELEMENTS:
        val = s->max_sg_elements;
        break;
    case ISCSI_HBA_REG_MAX_TRANSFER:
        val = s->max_transfer;
        break;
    case ISCSI_HBA_REG_NUM_VECTORS:
        val = iscsi_hba_num_vectors(s);
        break;
    case ISCSI_HBA_REG_DB_OFFSET:
        val = ISCSI_HBA_DB_OFFSET;
        break;
    case ISCSI_HBA_REG_DB_STRIDE:
        val = ISCSI_HBA_DB_STRIDE;
        break;
    case ISCSI_HBA_REG_MAX_SESSIONS:
        val = s->max_sessions;
        break;
    case ISCSI_HBA_REG_CTRL:
        val = s->ctrl;
        break;
    case ISCSI_HBA_REG_STATUS:
        val = s->status;
        break;
    case ISCSI_HBA_REG_FATAL_REASON:
        val = s->fatal_reason;
        break;
    case ISCSI_HBA_REG_LAST_STATUS:
        val = s->last_status;
        break;
    case ISCSI_HBA_REG_INTX_STATUS:
        val = iscsi_hba_intx_status(s);
        break;
    case ISCSI_HBA_REG_INTX_MASK_SET:
    case ISCSI_HBA_REG_INTX_MASK_CLEAR:
        val = s->intx_mask;
        break;
    case ISCSI_HBA_REG_ADMIN_SQ_BASE_LO:
        val = extract64(s->admin_sq_base, 0, 32);
        break;
    case ISCSI_HBA_REG_ADMIN_SQ_BASE_HI:
        val = extract64(s->admin_sq_base, 32, 32);
        break;
    case ISCSI_HBA_REG_ADMIN_CQ_BASE_LO:
        val = extract64(s->admin_cq_base, 0, 32);
        break;
    case ISCSI_HBA_REG_ADMIN_CQ_BASE_HI:
        val = extract64(s->admin_cq_base, 32, 32);
        break;
    case ISCSI_HBA_REG_ADMIN_QUEUE_SIZE:
        val = s->admin_queue_size;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: read of unknown register 0x%" HWADDR_PRIx
                      "\n", addr);
        val = 0;
        break;
    }
    trace_iscsi_hba_reg_read(addr, val);
    return val;
}

static bool iscsi_hba_admin_regs_writable(IscsiHbaState *s, hwaddr addr)
{
    if (s->ctrl & ISCSI_HBA_CTRL_ENABLE) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: admin queue register 0x%" HWADDR_PRIx
                      " written while enabled, ignored\n", addr);
        return false;
    }
    return true;
}

static void iscsi_hba_reg_write(void *opaque, hwaddr addr, uint64_t data,
                                unsigned size)
{
    IscsiHbaState *s = opaque;
    uint32_t val = data;

    trace_iscsi_hba_reg_write(addr, val);
    if ((s->status & ISCSI_HBA_STATUS_FATAL) && addr != ISCSI_HBA_REG_CTRL) {
        /* While FATAL only a disable has an effect. */
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: write to 0x%" HWADDR_PRIx
                      " while FATAL, ignored\n", addr);
        return;
    }
    switch (addr) {
    case ISCSI_HBA_REG_CTRL:
        iscsi_hba_write_ctrl(s, val);
        break;
    case ISCSI_HBA_REG_LAST_STATUS:
        s->last_status = 0;
        break;
    case ISCSI_HBA_REG_INTX_MASK_SET:
        s->intx_mask |= val;
        iscsi_hba_irq_update(s);
        break;
    case ISCSI_HBA_REG_INTX_MASK_CLEAR:
        s->intx_mask &= ~val;
        iscsi_hba_irq_update(s);
        break;
    case ISCSI_HBA_REG_ADMIN_SQ_BASE_LO:
        if (iscsi_hba_admin_regs_writable(s, addr)) {
            s->admin_sq_base = deposit64(s->admin_sq_base, 0, 32, val);
        }
        break;
    case ISCSI_HBA_REG_ADMIN_SQ_BASE_HI:
        if (iscsi_hba_admin_regs_writable(s, addr)) {
            s->admin_sq_base = deposit64(s->admin_sq_base, 32, 32, val);
        }
        break;
    case ISCSI_HBA_REG_ADMIN_CQ_BASE_LO:
        if (iscsi_hba_admin_regs_writable(s, addr)) {
            s->admin_cq_base = deposit64(s->admin_cq_base, 0, 32, val);
        }
        break;
    case ISCSI_HBA_REG_ADMIN_CQ_BASE_HI:
        if (iscsi_hba_admin_regs_writable(s, addr)) {
            s->admin_cq_base = deposit64(s->admin_cq_base, 32, 32, val);
        }
        break;
    case ISCSI_HBA_REG_ADMIN_QUEUE_SIZE:
        if (iscsi_hba_admin_regs_writable(s, addr)) {
            s->admin_queue_size = val;
        }
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: write 0x%x to read-only or unknown "
                      "register 0x%" HWADDR_PRIx ", ignored\n", val, addr);
        break;
    }
}

static const MemoryRegionOps iscsi_hba_reg_ops = {
    .read = iscsi_hba_reg_read,
    .write = iscsi_hba_reg_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* ---- doorbells ---- */

static uint64_t iscsi_hba_db_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static void iscsi_hba_db_write(void *opaque, hwaddr addr, uint64_t data,
                               unsigned size)
{
    IscsiHbaState *s = opaque;
    unsigned qid = addr / ISCSI_HBA_DB_STRIDE;
    bool is_cq = addr % ISCSI_HBA_DB_STRIDE == ISCSI_HBA_DB_CQ_HEAD;
    IscsiHbaQueue *q;

    trace_iscsi_hba_doorbell(qid, is_cq, data);
    if (!iscsi_hba_running(s)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: doorbell write while not ready\n");
        return;
    }
    if (size != 4 || addr % 4 || qid > s->num_queues ||
        !s->queues[qid].created) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "iscsi-hba: doorbell 0x%" HWADDR_PRIx
                      " names no queue\n", addr);
        iscsi_hba_set_fatal(s, ISCSI_HBA_FATAL_BAD_DOORBELL);
        return;
    }
    q = &s->queues[qid];
    if (is_cq) {
        iscsi_hba_queue_cq_doorbell(q, data);
    } else {
        iscsi_hba_queue_sq_doorbell(q, data);
    }
}

/*
 * Doorbells have their own 4 KiB page so that they can later be served by
 * ioeventfds without trapping register accesses.
 */
static const MemoryRegionOps iscsi_hba_db_ops = {
    .read = iscsi_hba_db_read,
    .write = iscsi_hba_db_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* Every size reaches the handler, which rejects all but 4 bytes. */
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
};

/* ---- PCI ---- */

static bool bus_master(PCIDevice *pci)
{
    return pci_get_word(pci->config + PCI_COMMAND) & PCI_COMMAND_MASTER;
}

static void iscsi_hba_write_config(PCIDevice *pci, uint32_t addr,
                                   uint32_t val, int len)
{
    bool was_master = bus_master(pci);

    pci_default_write_config(pci, addr, val, len);
    if (was_master && !bus_master(pci)) {
        /* No DMA from now on: in-flight commands give their buffers back */
        iscsi_hba_io_release_all(ISCSI_HBA(pci));
    }
    /* MSI-X enable or bus mastering may have changed: INTx follows. */
    iscsi_hba_irq_update(ISCSI_HBA(pci));
}

static bool iscsi_hba_check_props(IscsiHbaState *s, Error **errp)
{
    const char *why;

    if (s->num_queues < 1 || s->num_queues > ISCSI_HBA_MAX_IO_QUEUES_LIMIT) {
        error_setg(errp, "num-queues must be between 1 and %d, not %u",
                   ISCSI_HBA_MAX_IO_QUEUES_LIMIT, s->num_queues);
        return false;
    }
    if (s->max_queue_entries < ISCSI_HBA_MIN_QUEUE_ENTRIES ||
        s->max_queue_entries > ISCSI_HBA_MAX_QUEUE_ENTRIES_LIMIT ||
        !is_power_of_2(s->max_queue_entries)) {
        error_setg(errp, "max-queue-entries must be a power of two between "
                   "%d and %d, not %u", ISCSI_HBA_MIN_QUEUE_ENTRIES,
                   ISCSI_HBA_MAX_QUEUE_ENTRIES_LIMIT, s->max_queue_entries);
        return false;
    }
    if (s->max_sg_elements < 1 || s->max_sg_elements > 4096) {
        error_setg(errp, "max-sg-elements must be between 1 and 4096, not %u",
                   s->max_sg_elements);
        return false;
    }
    if (s->max_transfer < 4096 || s->max_transfer > 16 * MiB) {
        error_setg(errp, "max-transfer must be between 4096 and %u bytes, "
                   "not %u", (unsigned)(16 * MiB), s->max_transfer);
        return false;
    }
    if (s->max_sessions < 1 || s->max_sessions > ISCSI_HBA_MAX_SESSIONS_LIMIT) {
        error_setg(errp, "max-sessions must be between 1 and %u, not %u",
                   ISCSI_HBA_MAX_SESSIONS_LIMIT, s->max_sessions);
        return false;
    }
    if (s->login_timeout < 1 || s->login_timeout > 3600) {
        error_setg(errp, "login-timeout must be between 1 and 3600 seconds, "
                   "not %u", s->login_timeout);
        return false;
    }
    if (s->cmd_timeout < 1 || s->cmd_timeout > 3600) {
        error_setg(errp, "command-timeout must be between 1 and 3600 "
                   "seconds, not %u", s->cmd_timeout);
        return false;
    }
    if (s->serial && (!*s->serial || strlen(s->serial) > 31)) {
        error_setg(errp, "serial must be 1 to 31 characters");
        return false;
    }
    if (s->initiator_name_prop &&
        !iscsi_name_is_valid(s->initiator_name_prop,
                             strlen(s->initiator_name_prop), &why)) {
        error_setg(errp, "initiator-name '%s' is not a valid iSCSI name: %s",
                   s->initiator_name_prop, why);
        return false;
    }
    return true;
}

static void iscsi_hba_default_initiator_name(IscsiHbaState *s)
{
    g_autofree char *serial = g_ascii_strdown(s->serial ?: "ihba0001", -1);

    if (s->initiator_name_prop) {
        pstrcpy(s->initiator_name, sizeof(s->initiator_name),
                s->initiator_name_prop);
    } else {
        snprintf(s->initiator_name, sizeof(s->initiator_name),
                 "iqn.2026-11.org.qemu:iscsi-hba.%s", serial);
    }
}

/*
 * The default option ROM holds the UEFI driver (guest/uefi), built by
 * scripts/build-uefi-driver.sh.  Without it the adapter still works, only
 * UEFI firmware cannot boot from it: say so instead of refusing to start,
 * as QEMU would for a missing romfile.  An explicit romfile= must exist.
 */
static void iscsi_hba_check_default_rom(PCIDevice *pci)
{
    PCIDeviceClass *pc = PCI_DEVICE_GET_CLASS(pci);
    g_autofree char *path = NULL;

    if (pci->romfile || !pc->romfile) {
        return;
    }
    path = qemu_find_file(QEMU_FILE_TYPE_BIOS, pc->romfile);
    if (!path) {
        warn_report("iscsi-hba: option ROM %s not found: UEFI firmware "
                    "cannot boot from this adapter (build it with "
                    "scripts/build-uefi-driver.sh, or set romfile=)",
                    pc->romfile);
        pci->romfile = g_strdup("");
    }
}

static void iscsi_hba_realize(PCIDevice *pci, Error **errp)
{
    ERRP_GUARD();
    IscsiHbaState *s = ISCSI_HBA(pci);
    unsigned i;
    int ret;

    if (!iscsi_hba_check_props(s, errp) ||
        !iscsi_hba_host_targets_check(s, errp)) {
        return;
    }
    if (!iscsi_hba_policy_init(s, errp)) {
        return;
    }
    iscsi_hba_faults_init(s, errp);
    if (*errp) {
        iscsi_hba_policy_cleanup(s);
        return;
    }
    iscsi_hba_default_initiator_name(s);
    iscsi_hba_check_default_rom(pci);

    pci_config_set_interrupt_pin(pci->config, 1);

    memory_region_init(&s->bar0, OBJECT(s), "iscsi-hba-bar0",
                       ISCSI_HBA_BAR0_SIZE);
    memory_region_init_io(&s->regs, OBJECT(s), &iscsi_hba_reg_ops, s,
                          "iscsi-hba-regs", ISCSI_HBA_REGS_SIZE);
    memory_region_init_io(&s->doorbells, OBJECT(s), &iscsi_hba_db_ops, s,
                          "iscsi-hba-doorbells", ISCSI_HBA_DB_SIZE);
    memory_region_add_subregion(&s->bar0, 0, &s->regs);
    memory_region_add_subregion(&s->bar0, ISCSI_HBA_DB_OFFSET, &s->doorbells);
    pci_register_bar(pci, ISCSI_HBA_BAR_REGS,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     (s->bar64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 :
                      PCI_BASE_ADDRESS_MEM_TYPE_32), &s->bar0);

    if (s->msix) {
        ret = msix_init(pci, iscsi_hba_num_vectors(s),
                        &s->bar0, ISCSI_HBA_BAR_REGS,
                        ISCSI_HBA_MSIX_TABLE_OFFSET,
                        &s->bar0, ISCSI_HBA_BAR_REGS,
                        ISCSI_HBA_MSIX_PBA_OFFSET, 0, errp);
        if (ret < 0) {
            iscsi_hba_faults_cleanup(s);
            iscsi_hba_policy_cleanup(s);
            return;
        }
        for (i = 0; i < iscsi_hba_num_vectors(s); i++) {
            msix_vector_use(pci, i);
        }
    }

    for (i = 0; i <= ISCSI_HBA_MAX_IO_QUEUES_LIMIT; i++) {
        s->queues[i].s = s;
        s->queues[i].qid = i;
    }
    iscsi_hba_sessions_init(s);
    iscsi_hba_resolve_init(s);
    iscsi_hba_host_targets_init(s);
    s->vm_running = runstate_is_running();
    s->vmstate_entry = qemu_add_vm_change_state_handler(
        iscsi_hba_vm_state_change, s);
}

static void iscsi_hba_exit(PCIDevice *pci)
{
    IscsiHbaState *s = ISCSI_HBA(pci);

    qemu_del_vm_change_state_handler(s->vmstate_entry);
    iscsi_hba_disable(s);
    iscsi_hba_sessions_cleanup(s);
    iscsi_hba_resolve_cleanup(s);
    iscsi_hba_host_targets_cleanup(s);
    iscsi_hba_faults_cleanup(s);
    iscsi_hba_policy_cleanup(s);
    g_free(s->zero_sink);
    g_free(s->scratch_sink);
    s->zero_sink = s->scratch_sink = NULL;
    if (msix_present(pci)) {
        msix_unuse_all_vectors(pci);
        msix_uninit(pci, &s->bar0, &s->bar0);
    }
    /* Each subregion holds a reference on the device: unplug needs them gone */
    memory_region_del_subregion(&s->bar0, &s->regs);
    memory_region_del_subregion(&s->bar0, &s->doorbells);
}

/* PCI reset: controller reset plus register defaults. */
static void iscsi_hba_reset(DeviceState *dev)
{
    IscsiHbaState *s = ISCSI_HBA(dev);

    iscsi_hba_disable(s);
    s->ctrl = 0;
    s->admin_sq_base = 0;
    s->admin_cq_base = 0;
    s->admin_queue_size = 0;
    memset(s->chap_initiator_secret, 0, sizeof(s->chap_initiator_secret));
    iscsi_hba_default_initiator_name(s);
}

static const Property iscsi_hba_props[] = {
    DEFINE_PROP_UINT16("num-queues", IscsiHbaState, num_queues, 4),
    DEFINE_PROP_UINT16("max-queue-entries", IscsiHbaState, max_queue_entries,
                       1024),
    DEFINE_PROP_UINT16("max-sg-elements", IscsiHbaState, max_sg_elements, 256),
    DEFINE_PROP_UINT32("max-transfer", IscsiHbaState, max_transfer, 1 * MiB),
    DEFINE_PROP_UINT16("max-sessions", IscsiHbaState, max_sessions, 16),
    DEFINE_PROP_BOOL("msix", IscsiHbaState, msix, true),
    DEFINE_PROP_BOOL("bar64", IscsiHbaState, bar64, true),
    DEFINE_PROP_INT32("bootindex", IscsiHbaState, bootindex, -1),
    DEFINE_PROP_STRING("boot-target", IscsiHbaState, boot_target),
    DEFINE_PROP_UINT32("boot-lun", IscsiHbaState, boot_lun, 0),
    DEFINE_PROP_UINT32("login-timeout", IscsiHbaState, login_timeout, 15),
    DEFINE_PROP_UINT32("command-timeout", IscsiHbaState, cmd_timeout, 30),
    DEFINE_PROP_STRING("fault-rules", IscsiHbaState, fault_rules_prop),
    DEFINE_PROP_STRING("fault-file", IscsiHbaState, fault_file_prop),
    DEFINE_PROP_STRING("serial", IscsiHbaState, serial),
    DEFINE_PROP_STRING("initiator-name", IscsiHbaState, initiator_name_prop),
    DEFINE_PROP_STRING("guest-portals", IscsiHbaState, guest_portals_prop),
};

static const VMStateDescription iscsi_hba_vmstate = {
    .name = "iscsi-hba",
    .unmigratable = 1,
};

static void iscsi_hba_class_init(ObjectClass *oc, IscsiHbaClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(oc);

    pc->realize = iscsi_hba_realize;
    pc->exit = iscsi_hba_exit;
    pc->config_write = iscsi_hba_write_config;
    pc->vendor_id = ISCSI_HBA_PCI_VENDOR_ID;
    pc->device_id = ISCSI_HBA_PCI_DEVICE_ID;
    pc->subsystem_vendor_id = ISCSI_HBA_PCI_SUBVENDOR_ID;
    pc->subsystem_id = ISCSI_HBA_PCI_SUBDEVICE_ID;
    pc->class_id = ISCSI_HBA_PCI_CLASS >> 8;
    pc->revision = ISCSI_HBA_PCI_REVISION;
    pc->romfile = "efi-iscsi-hba.rom";

    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);
    dc->desc = "iSCSI host bus adapter";
    device_class_set_props(dc, iscsi_hba_props);
    dc->vmsd = &iscsi_hba_vmstate;
    device_class_set_legacy_reset(dc, iscsi_hba_reset);
}

static const TypeInfo iscsi_hba_info = {
    .name = TYPE_ISCSI_HBA,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(IscsiHbaState),
    .class_init = iscsi_hba_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { }
    },
};

static void iscsi_hba_register_types(void)
{
    type_register_static(&iscsi_hba_info);
}

type_init(iscsi_hba_register_types)
