/*
 * iscsi-hba: ISDSC values for iSCSI login and connection failures
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ISCSI_HBA_LOGIN_STATUS_H
#define HW_ISCSI_HBA_LOGIN_STATUS_H

/*
 * ISDSC value for an RFC 3720 login Status-Class/Detail pair
 * (class << 8 | detail), e.g. 0x0201 -> ISDSC_AUTHENTICATION_FAILURE.
 */
uint32_t iscsi_login_status_to_isdsc(unsigned class_detail);

/*
 * ISDSC value for a failed connect or login as libiscsi reports it: only
 * in its error text ("Failed to log in to target. Status: <text>(<n>)"
 * with n = class << 8 | detail, mutual-CHAP and socket messages).
 * *class_detail gets the login status, or 0 when the text has none.
 */
uint32_t iscsi_login_error_to_isdsc(const char *error, unsigned *class_detail);

#endif
