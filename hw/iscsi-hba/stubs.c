/*
 * iscsi-hba: QMP commands when the device is not built
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-iscsi-hba.h"

IscsiHbaInfoList *qmp_query_iscsi_hba(Error **errp)
{
    return NULL;
}

static void iscsi_hba_absent(Error **errp)
{
    error_setg(errp, "this QEMU has no iscsi-hba device");
}

IscsiHbaFaultAdded *qmp_iscsi_hba_fault_add(const char *device,
                                            IscsiHbaFaultRule *rule,
                                            Error **errp)
{
    iscsi_hba_absent(errp);
    return NULL;
}

void qmp_iscsi_hba_fault_del(const char *device, uint32_t id, Error **errp)
{
    iscsi_hba_absent(errp);
}

void qmp_iscsi_hba_fault_clear(const char *device, Error **errp)
{
    iscsi_hba_absent(errp);
}

IscsiHbaFaultRuleInfoList *qmp_query_iscsi_hba_faults(const char *device,
                                                      Error **errp)
{
    iscsi_hba_absent(errp);
    return NULL;
}
