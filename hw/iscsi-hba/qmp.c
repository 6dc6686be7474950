/*
 * iscsi-hba: QMP query-iscsi-hba
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/msix.h"
#include "qapi/qapi-commands-iscsi-hba.h"
#include "qom/object.h"
#include "iscsi-hba.h"

static IscsiHbaQueueInfo *queue_info(IscsiHbaQueue *q)
{
    IscsiHbaQueueInfo *info = g_new0(IscsiHbaQueueInfo, 1);

    info->qid = q->qid;
    info->sq_size = q->sq_size;
    info->cq_size = q->cq_size;
    info->sq_head = q->sq_head;
    info->sq_tail = q->sq_tail;
    info->cq_head = q->cq_head;
    info->cq_tail = q->cq_tail;
    info->phase = q->phase;
    info->vector = q->vector;
    info->irq_enabled = q->irq_enabled;
    info->inflight = q->inflight_count;
    info->sq_doorbells = q->sq_doorbells;
    info->cq_doorbells = q->cq_doorbells;
    info->completions = q->completions;
    info->interrupts = q->interrupts;
    return info;
}

static const char *interrupt_mode(IscsiHbaState *s)
{
    PCIDevice *pci = PCI_DEVICE(s);

    if (msix_enabled(pci)) {
        return "msix";
    }
    if (!(pci_get_word(pci->config + PCI_COMMAND) &
          PCI_COMMAND_INTX_DISABLE)) {
        return "intx";
    }
    return "none";
}

static IscsiHbaInfo *hba_info(IscsiHbaState *s)
{
    IscsiHbaInfo *info = g_new0(IscsiHbaInfo, 1);
    DeviceState *dev = DEVICE(s);
    const char *name = iscsi_hba_isdsc_name(s->last_status);
    IscsiHbaQueueInfoList **tail = &info->queues;
    int qid;

    info->qom_path = object_get_canonical_path(OBJECT(s));
    info->id = g_strdup(dev->id);
    info->enabled = s->ctrl & ISCSI_HBA_CTRL_ENABLE;
    info->ready = s->status & ISCSI_HBA_STATUS_READY;
    info->fatal = s->status & ISCSI_HBA_STATUS_FATAL;
    info->fatal_reason = s->fatal_reason;
    info->last_status = s->last_status;
    info->last_status_name = g_strdup(name ?: "unknown");
    info->interrupt_mode = g_strdup(interrupt_mode(s));
    info->initiator_name = g_strdup(s->initiator_name);
    for (qid = 0; qid <= s->num_queues; qid++) {
        if (s->queues[qid].created) {
            QAPI_LIST_APPEND(tail, queue_info(&s->queues[qid]));
        }
    }
    info->sessions = iscsi_hba_session_count(s);
    return info;
}

static int collect_hba(Object *obj, void *opaque)
{
    IscsiHbaInfoList ***tail = opaque;
    IscsiHbaState *s = (IscsiHbaState *)object_dynamic_cast(obj,
                                                            TYPE_ISCSI_HBA);

    if (s && DEVICE(s)->realized) {
        QAPI_LIST_APPEND(*tail, hba_info(s));
    }
    return 0;
}

IscsiHbaInfoList *qmp_query_iscsi_hba(Error **errp)
{
    IscsiHbaInfoList *list = NULL, **tail = &list;

    object_child_foreach_recursive(object_get_root(), collect_hba, &tail);
    return list;
}
