/*
 * iscsi-hba: iSCSI name and CHAP secret checks (pure logic, no QEMU API).
 *
 * iSCSI names: RFC 3720 section 3.2.6, RFC 3722 (stringprep profile,
 * ASCII subset only), RFC 3980 (naa. format).  See iscsi-name.h for the
 * exact rules.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "iscsi-name.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"

static bool fail(const char **why, const char *reason)
{
    if (why) {
        *why = reason;
    }
    return false;
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The prefix is "iqn.", "eui." or "naa." compared without case. */
static bool has_prefix_nocase(const char *name, size_t len, const char *p)
{
    size_t i;

    for (i = 0; p[i]; i++) {
        char c;

        if (i >= len) {
            return false;
        }
        c = name[i];
        if (c >= 'A' && c <= 'Z') {
            c = c - 'A' + 'a';
        }
        if (c != p[i]) {
            return false;
        }
    }
    return true;
}

/* eui. and naa.: the part after the prefix is all hex digits. */
static bool check_hex(const char *s, size_t len, const char **why)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (!is_hex(s[i])) {
            return fail(why, "eui./naa. name has a character that is not "
                        "a hex digit");
        }
    }
    return true;
}

/* iqn.: @s and @len cover what follows "iqn.". */
static bool check_iqn(const char *s, size_t len, const char **why)
{
    size_t i, label_len;
    int month;

    /* Every character: [a-z0-9.:-] */
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z') {
            return fail(why, "iqn name has an upper-case letter (names "
                        "must be normalised to lower case)");
        }
        if (!is_lower(c) && !is_digit(c) && c != '-' && c != '.' &&
            c != ':') {
            return fail(why, "name has a character other than a-z, 0-9, "
                        "'-', '.' and ':'");
        }
    }

    /* yyyy-mm. */
    if (len < 7 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) ||
        !is_digit(s[3]) || s[4] != '-' || !is_digit(s[5]) ||
        !is_digit(s[6])) {
        return fail(why, "iqn date is not yyyy-mm");
    }
    month = (s[5] - '0') * 10 + (s[6] - '0');
    if (month < 1 || month > 12) {
        return fail(why, "iqn date has a month outside 01 to 12");
    }
    if (len == 7 || s[7] != '.') {
        return fail(why, "iqn date is not followed by '.' and a naming "
                    "authority");
    }

    /* Naming authority: labels of [a-z0-9-] separated by single dots. */
    label_len = 0;
    for (i = 8; i < len && s[i] != ':'; i++) {
        if (s[i] == '.') {
            if (label_len == 0) {
                break;
            }
            label_len = 0;
        } else {
            label_len++;
        }
    }
    if (label_len == 0) {
        if (i == 8 && (i == len || s[i] == ':')) {
            return fail(why, "iqn naming authority is missing");
        }
        return fail(why, "iqn naming authority has an empty label "
                    "(leading, trailing or doubled '.')");
    }

    /* Optional ':' and a string of the authority's choosing. */
    if (i < len && i + 1 == len) {
        return fail(why, "iqn name has nothing after ':'");
    }
    return true;
}

bool iscsi_name_is_valid(const char *name, size_t len, const char **why)
{
    size_t i;

    if (why) {
        *why = NULL;
    }
    if (!name || len == 0) {
        return fail(why, "name is empty");
    }
    if (len > ISCSI_HBA_ISCSI_NAME_MAX) {
        return fail(why, "name is longer than 223 bytes");
    }
    for (i = 0; i < len; i++) {
        if (name[i] == '\0') {
            return fail(why, "name contains a NUL byte");
        }
        if ((unsigned char)name[i] >= 0x80) {
            return fail(why, "name contains a non-ASCII byte");
        }
    }

    if (len >= 4 && !memcmp(name, "iqn.", 4)) {
        return check_iqn(name + 4, len - 4, why);
    }
    if (len >= 4 && !memcmp(name, "eui.", 4)) {
        if (len - 4 != 16) {
            return fail(why, "eui. name does not have exactly 16 hex "
                        "digits");
        }
        return check_hex(name + 4, len - 4, why);
    }
    if (len >= 4 && !memcmp(name, "naa.", 4)) {
        if (len - 4 != 16 && len - 4 != 32) {
            return fail(why, "naa. name does not have 16 or 32 hex digits");
        }
        return check_hex(name + 4, len - 4, why);
    }
    if (has_prefix_nocase(name, len, "iqn.") ||
        has_prefix_nocase(name, len, "eui.") ||
        has_prefix_nocase(name, len, "naa.")) {
        return fail(why, "name type prefix is not lower case");
    }
    return fail(why, "name does not start with iqn., eui. or naa.");
}

bool iscsi_chap_secret_is_short(size_t len)
{
    return len < ISCSI_CHAP_SECRET_MIN_LEN;
}
