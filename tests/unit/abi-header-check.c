/*
 * The guest ABI header must compile on its own, first and alone, as
 * strict ISO C (meson builds this file as -std=c99 and -std=c11 with
 * -pedantic-errors -Werror).  The layout static assertions in the header
 * run at compile time; main() checks that the inline lookups work.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "hw/iscsi-hba/iscsi-hba-abi.h"

#include <string.h>

int main(void)
{
    const char *name = iscsi_hba_isdsc_name(ISDSC_AUTHENTICATION_FAILURE);

    if (!name || strcmp(name, "ISDSC_AUTHENTICATION_FAILURE") != 0) {
        return 1;
    }
    if (iscsi_hba_isdsc_name(0xEFFF0000u) != NULL) {
        return 1;
    }
    return ISCSI_HBA_STATUS_IS_ERROR(ISDSC_SHORT_CHAP_SECRET) ? 1 : 0;
}
