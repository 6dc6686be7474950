/*
 * iscsi-hba: HMP "info iscsi-hba", a view of query-iscsi-hba
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-iscsi-hba.h"
#include "qobject/qdict.h"
#include "fault.h"

static void print_queue(Monitor *mon, const IscsiHbaQueueInfo *q)
{
    monitor_printf(mon, "  queue %u: sq %u entries head %u tail %u, "
                   "cq %u entries head %u tail %u phase %d, vector %u%s, "
                   "%u in flight\n"
                   "    %" PRIu64 " completions, %" PRIu64 " sq doorbells, %"
                   PRIu64 " cq doorbells, %" PRIu64 " interrupts\n",
                   q->qid, q->sq_size, q->sq_head, q->sq_tail, q->cq_size,
                   q->cq_head, q->cq_tail, q->phase, q->vector,
                   q->irq_enabled ? "" : " (irq off)", q->inflight,
                   q->completions, q->sq_doorbells, q->cq_doorbells,
                   q->interrupts);
}

static void print_faults(Monitor *mon, const char *path)
{
    g_autoptr(IscsiHbaFaultRuleInfoList) list = NULL;
    IscsiHbaFaultRuleInfoList *l;

    list = qmp_query_iscsi_hba_faults(path, NULL);
    for (l = list; l; l = l->next) {
        IscsiHbaFaultRule *r = l->value->rule;

        monitor_printf(mon, "  fault rule %u: op %s action %s%s%s, "
                       "%" PRIu64 " matches, %" PRIu64 " hits\n",
                       l->value->id, IscsiHbaFaultOp_str(r->op),
                       IscsiHbaFaultAction_str(r->action),
                       r->status ? " status " : "", r->status ?: "",
                       l->value->matches, l->value->hits);
    }
}

void hmp_info_iscsi_hba(Monitor *mon, const QDict *qdict)
{
    g_autoptr(IscsiHbaInfoList) list = qmp_query_iscsi_hba(&error_abort);
    IscsiHbaInfoList *l;
    IscsiHbaQueueInfoList *q;

    if (!list) {
        monitor_printf(mon, "no iscsi-hba adapter\n");
        return;
    }
    for (l = list; l; l = l->next) {
        IscsiHbaInfo *h = l->value;

        monitor_printf(mon, "%s%s%s: %s%s%s, interrupts %s\n",
                       h->id ?: h->qom_path, h->id ? " " : "",
                       h->id ? h->qom_path : "",
                       h->enabled ? "enabled" : "disabled",
                       h->ready ? ", ready" : "",
                       h->fatal ? ", FATAL" : "", h->interrupt_mode);
        if (h->fatal) {
            monitor_printf(mon, "  fatal reason %u\n", h->fatal_reason);
        }
        monitor_printf(mon, "  initiator %s, %u session(s)\n",
                       h->initiator_name, h->sessions);
        monitor_printf(mon, "  last status 0x%08x %s\n", h->last_status,
                       h->last_status_name);
        for (q = h->queues; q; q = q->next) {
            print_queue(mon, q->value);
        }
        print_faults(mon, h->qom_path);
    }
}

void hmp_iscsi_hba_fault_add(Monitor *mon, const QDict *qdict)
{
    const char *device = qdict_get_str(qdict, "device");
    g_autoptr(IscsiHbaFaultRule) rule = NULL;
    g_autoptr(IscsiHbaFaultAdded) added = NULL;
    Error *err = NULL;

    rule = iscsi_hba_fault_rule_parse(qdict_get_str(qdict, "rule"), &err);
    if (rule) {
        added = qmp_iscsi_hba_fault_add(device, rule, &err);
        if (added) {
            monitor_printf(mon, "fault rule %u added\n", added->id);
        }
    }
    hmp_handle_error(mon, err);
}

void hmp_iscsi_hba_fault_del(Monitor *mon, const QDict *qdict)
{
    Error *err = NULL;

    qmp_iscsi_hba_fault_del(qdict_get_str(qdict, "device"),
                            qdict_get_int(qdict, "id"), &err);
    hmp_handle_error(mon, err);
}

void hmp_iscsi_hba_fault_clear(Monitor *mon, const QDict *qdict)
{
    Error *err = NULL;

    qmp_iscsi_hba_fault_clear(qdict_get_str(qdict, "device"), &err);
    hmp_handle_error(mon, err);
}
