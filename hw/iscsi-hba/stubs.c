/*
 * iscsi-hba: QMP commands when the device is not built
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/qapi-commands-iscsi-hba.h"

IscsiHbaInfoList *qmp_query_iscsi_hba(Error **errp)
{
    return NULL;
}
