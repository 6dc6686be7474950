/*
 * iscsi-hba: iSCSI name and CHAP secret checks (pure logic, no QEMU API).
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ISCSI_HBA_ISCSI_NAME_H
#define HW_ISCSI_HBA_ISCSI_NAME_H

/* RFC 3720 8.2.1: CHAP secrets shorter than 96 bits are weak. */
#define ISCSI_CHAP_SECRET_MIN_LEN       12

/*
 * Check that the @len bytes at @name form a valid iSCSI name in the
 * normalised (RFC 3722 stringprep) form, restricted to ASCII:
 *
 *   iqn.YYYY-MM.AUTHORITY[:SUFFIX]
 *       YYYY four decimal digits; MM 01 to 12.
 *       AUTHORITY: one or more non-empty labels separated by '.', each of
 *       [a-z0-9-] (the reversed domain name); no leading, trailing or
 *       doubled '.'.
 *       SUFFIX: one or more of [a-z0-9.:-]; a ':' must be followed by at
 *       least one character.
 *   eui.XXXXXXXXXXXXXXXX    exactly 16 hex digits (EUI-64)
 *   naa.XXX...              16 or 32 hex digits (RFC 3980)
 *
 * The type prefix is lower case.  Hex digits may be upper or lower case
 * (RFC 3720 and RFC 3980 write them in upper case; stringprep folds them
 * to lower case).  Everywhere else only lower-case letters, digits, '-',
 * '.' and ':' are allowed: the caller must normalise, upper-case input
 * is rejected, not folded.  Non-ASCII bytes are rejected (the UTF-8 part
 * of RFC 3722 is not supported).  @len must be 1 .. ISCSI_HBA_ISCSI_NAME_MAX
 * (223, RFC 3720 3.2.6.1); a NUL byte within @len is rejected.  @name
 * need not be NUL-terminated.
 *
 * Returns true if valid.  On failure, if @why is not NULL, *@why is set
 * to a static English reason; on success it is set to NULL.
 */
bool iscsi_name_is_valid(const char *name, size_t len, const char **why);

/* True if a CHAP secret of @len bytes is shorter than 96 bits. */
bool iscsi_chap_secret_is_short(size_t len);

#endif /* HW_ISCSI_HBA_ISCSI_NAME_H */
