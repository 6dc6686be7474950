/*
 * iscsi-hba: fault rule text, as used by the device's fault-rules and
 * fault-file properties and by HMP: "op=scsi,opcode=0x2a,action=status,
 * status=CONNECTION_FAILED" -- the members of IscsiHbaFaultRule as
 * key=value pairs, parsed like -object options.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-visit-iscsi-hba.h"
#include "qapi/qobject-input-visitor.h"
#include "qapi/visitor.h"
#include "qemu/keyval.h"
#include "qobject/qdict.h"
#include "fault.h"

IscsiHbaFaultRule *iscsi_hba_fault_rule_parse(const char *text, Error **errp)
{
    g_autoptr(QDict) dict = keyval_parse(text, NULL, NULL, errp);
    IscsiHbaFaultRule *rule = NULL;
    Visitor *v;

    if (!dict) {
        return NULL;
    }
    v = qobject_input_visitor_new_keyval(QOBJECT(dict));
    visit_type_IscsiHbaFaultRule(v, NULL, &rule, errp);
    visit_free(v);
    return rule;
}
