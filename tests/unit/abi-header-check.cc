/*
 * The guest ABI header must compile on its own as C++11 (meson builds
 * this file with -std=c++11 -pedantic-errors -Werror), for drivers and
 * tools written in C++.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "hw/iscsi-hba/iscsi-hba-abi.h"

#include <cstring>

static_assert(sizeof(iscsi_hba_sqe) == 128, "SQE size");
static_assert(sizeof(iscsi_hba_cqe) == 32, "CQE size");

int main()
{
    const char *name = iscsi_hba_isdsc_name(ISDSC_AUTHENTICATION_FAILURE);

    if (!name || std::strcmp(name, "ISDSC_AUTHENTICATION_FAILURE") != 0) {
        return 1;
    }
    if (iscsi_hba_isdsc_name(0xEFFF0000u) != nullptr) {
        return 1;
    }
    return ISCSI_HBA_STATUS_IS_ERROR(ISDSC_SHORT_CHAP_SECRET) ? 1 : 0;
}
