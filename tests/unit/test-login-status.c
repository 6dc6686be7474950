/*
 * Unit tests for hw/iscsi-hba/login-status.c: ISDSC values for iSCSI
 * login and connection failures as libiscsi 1.19 reports them.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"
#include "login-status.h"

/* RFC 3720 10.13.5 order maps onto 0xEFFF0006..0xEFFF0014. */
static void test_rfc_order(void)
{
    static const unsigned rfc[] = {
        0x0101, 0x0102, 0x0200, 0x0201, 0x0202, 0x0203, 0x0204, 0x0205,
        0x0206, 0x0207, 0x0208, 0x0209, 0x0300, 0x0301, 0x0302,
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(rfc); i++) {
        g_assert_cmphex(iscsi_login_status_to_isdsc(rfc[i]), ==,
                        ISDSC_TARGET_MOVED_TEMPORARILY + i);
    }
}

static void test_unlisted_details(void)
{
    g_assert_cmphex(iscsi_login_status_to_isdsc(0x020a), ==,
                    ISDSC_INITIATOR_ERROR);
    g_assert_cmphex(iscsi_login_status_to_isdsc(0x020b), ==,
                    ISDSC_INITIATOR_ERROR);
    g_assert_cmphex(iscsi_login_status_to_isdsc(0x0303), ==,
                    ISDSC_TARGET_ERROR);
    g_assert_cmphex(iscsi_login_status_to_isdsc(0x0103), ==,
                    ISDSC_TARGET_MOVED_TEMPORARILY);
    g_assert_cmphex(iscsi_login_status_to_isdsc(0x0700), ==,
                    ISDSC_LOGIN_FAILED);
}

/* Texts as measured from libiscsi 1.19 against tgtd. */
static void test_error_texts(void)
{
    static const struct {
        const char *text;
        uint32_t isdsc;
        unsigned class_detail;
    } cases[] = {
        { "Failed to log in to target. Status: Authentication failure(513)",
          ISDSC_AUTHENTICATION_FAILURE, 0x0201 },
        { "Failed to log in to target. Status: Target not found(515)",
          ISDSC_NOT_FOUND, 0x0203 },
        { "Failed to log in to target. Status: Authorization failure(514)",
          ISDSC_AUTHORIZATION_FAILURE, 0x0202 },
        { "Failed to log in to target. Status: Service unavailable(769)",
          ISDSC_SERVICE_UNAVAILABLE, 0x0301 },
        { "Failed to log in to target. Status: (257)",
          ISDSC_TARGET_MOVED_TEMPORARILY, 0x0101 },
        { "Invalid CHAP_R response from the target",
          ISDSC_INVALID_TARGET_CHAP_SECRET, 0 },
        { "Wrong CHAP targetname received: evil",
          ISDSC_INVALID_TARGET_CHAP_SECRET, 0 },
        { "iscsi_service_reconnect_if_loggedin. socket error "
          "Connection refused(111)", ISDSC_CONNECTION_FAILED, 0 },
        { "Failed to log in to target. Status: garbage(x)",
          ISDSC_LOGIN_FAILED, 0 },
        { "Failed to log in to target. Status: huge(70000)",
          ISDSC_LOGIN_FAILED, 0 },
        { "something else entirely", ISDSC_LOGIN_FAILED, 0 },
    };
    unsigned cd;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        cd = 0xdead;
        g_assert_cmphex(iscsi_login_error_to_isdsc(cases[i].text, &cd), ==,
                        cases[i].isdsc);
        g_assert_cmphex(cd, ==, cases[i].class_detail);
    }
    g_assert_cmphex(iscsi_login_error_to_isdsc(NULL, &cd), ==,
                    ISDSC_LOGIN_FAILED);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/login-status/rfc-order", test_rfc_order);
    g_test_add_func("/login-status/unlisted-details", test_unlisted_details);
    g_test_add_func("/login-status/error-texts", test_error_texts);
    return g_test_run();
}
