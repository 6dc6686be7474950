/*
 * iscsi-hba: ISDSC values for iSCSI login and connection failures
 *
 * Pure logic, unit-tested in tests/unit/test-login-status.c.  libiscsi
 * reports a failed login only through its error text, so the login
 * Status-Class/Detail is parsed from there.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"
#include "login-status.h"

/* RFC 3720 10.13.5, in the order the ISDSC values follow. */
static const struct {
    unsigned class_detail;
    uint32_t isdsc;
} login_statuses[] = {
    { 0x0101, ISDSC_TARGET_MOVED_TEMPORARILY },
    { 0x0102, ISDSC_TARGET_MOVED_PERMANENTLY },
    { 0x0200, ISDSC_INITIATOR_ERROR },
    { 0x0201, ISDSC_AUTHENTICATION_FAILURE },
    { 0x0202, ISDSC_AUTHORIZATION_FAILURE },
    { 0x0203, ISDSC_NOT_FOUND },
    { 0x0204, ISDSC_TARGET_REMOVED },
    { 0x0205, ISDSC_UNSUPPORTED_VERSION },
    { 0x0206, ISDSC_TOO_MANY_CONNECTIONS },
    { 0x0207, ISDSC_MISSING_PARAMETER },
    { 0x0208, ISDSC_CANT_INCLUDE_IN_SESSION },
    { 0x0209, ISDSC_SESSION_TYPE_NOT_SUPPORTED },
    { 0x0300, ISDSC_TARGET_ERROR },
    { 0x0301, ISDSC_SERVICE_UNAVAILABLE },
    { 0x0302, ISDSC_OUT_OF_RESOURCES },
};

uint32_t iscsi_login_status_to_isdsc(unsigned class_detail)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(login_statuses); i++) {
        if (login_statuses[i].class_detail == class_detail) {
            return login_statuses[i].isdsc;
        }
    }
    /* Unlisted details (0x020a, 0x020b, future ones) by class. */
    switch (class_detail >> 8) {
    case 1:
        return ISDSC_TARGET_MOVED_TEMPORARILY;
    case 2:
        return ISDSC_INITIATOR_ERROR;
    case 3:
        return ISDSC_TARGET_ERROR;
    default:
        return ISDSC_LOGIN_FAILED;
    }
}

/* "... Status: Authentication failure(513)" -> 0x0201 */
static bool parse_login_status(const char *error, unsigned *class_detail)
{
    const char *p = strstr(error, "Failed to log in to target. Status:");
    const char *open;
    char *end;
    guint64 n;

    if (!p) {
        return false;
    }
    open = strrchr(p, '(');
    if (!open) {
        return false;
    }
    n = g_ascii_strtoull(open + 1, &end, 10);
    if (end == open + 1 || *end != ')' || n == 0 || n > 0xffff) {
        return false;
    }
    *class_detail = n;
    return true;
}

uint32_t iscsi_login_error_to_isdsc(const char *error, unsigned *class_detail)
{
    unsigned cd = 0;

    *class_detail = 0;
    if (!error) {
        return ISDSC_LOGIN_FAILED;
    }
    if (parse_login_status(error, &cd)) {
        *class_detail = cd;
        return iscsi_login_status_to_isdsc(cd);
    }
    /* Mutual CHAP: the target failed to prove it knows our secret. */
    if (strstr(error, "Invalid CHAP_R response") ||
        strstr(error, "Wrong CHAP targetname")) {
        return ISDSC_INVALID_TARGET_CHAP_SECRET;
    }
    if (strstr(error, "socket error") || strstr(error, "Connection refused") ||
        strstr(error, "connect")) {
        return ISDSC_CONNECTION_FAILED;
    }
    return ISDSC_LOGIN_FAILED;
}
