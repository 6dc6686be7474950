/*
 * Unit tests of hw/iscsi-hba/iscsi-name.c: iSCSI name validation (RFC 3720
 * 3.2.6, RFC 3722 ASCII subset, RFC 3980) and the short CHAP secret check.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "iscsi-name.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"

typedef struct {
    const char *name;
    const char *why;            /* NULL: valid; else part of the reason */
} NameCase;

static const NameCase cases[] = {
    /* RFC 3720 examples and everyday names */
    { "iqn.2001-04.com.example", NULL },
    { "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309", NULL },
    { "iqn.2001-04.com.example:storage.tape1.sys1.xyz", NULL },
    { "iqn.1991-05.com.microsoft:host1.example.com", NULL },
    { "iqn.2003-01.org.linux-iscsi.host.x8664:sn.0123456789ab", NULL },
    { "iqn.2026-12.org.qemu:x", NULL },
    { "iqn.0000-01.com:x", NULL },
    { "iqn.2026-01.com", NULL },
    { "iqn.2026-01.3com.ex-ample:a", NULL },
    { "iqn.2026-01.com.example:a:", NULL },
    { "iqn.2026-01.com.example::", NULL },
    { "iqn.2026-01.com.example:..", NULL },
    { "eui.02004567A425678D", NULL },
    { "eui.02004567a425678d", NULL },
    { "naa.52004567BA64678D", NULL },
    { "naa.6001405fdca5d6b76001405FDCA5D6B7", NULL },

    /* empty, prefix */
    { "", "empty" },
    { "iqn", "does not start with" },
    { "iq", "does not start with" },
    { "iqn:2026-01.com.example", "does not start with" },
    { "foo.2026-01.com.example", "does not start with" },
    { " iqn.2026-01.com.example", "does not start with" },
    { "IQN.2026-01.com.example", "prefix is not lower case" },
    { "Eui.02004567A425678D", "prefix is not lower case" },
    { "NAA.52004567BA64678D", "prefix is not lower case" },

    /* iqn date */
    { "iqn.", "date is not yyyy-mm" },
    { "iqn.com.example", "date is not yyyy-mm" },
    { "iqn.202-01.com.example", "date is not yyyy-mm" },
    { "iqn.20260-01.com.example", "date is not yyyy-mm" },
    { "iqn.2026-1.com.example", "date is not yyyy-mm" },
    { "iqn.2026.01.com.example", "date is not yyyy-mm" },
    { "iqn.2026-ab.com.example", "date is not yyyy-mm" },
    { "iqn.-2026-01.com.example", "date is not yyyy-mm" },
    { "iqn.2026-13.com.example", "month outside 01 to 12" },
    { "iqn.2026-00.com.example", "month outside 01 to 12" },
    { "iqn.2026-99.com.example", "month outside 01 to 12" },
    { "iqn.2026-01", "not followed by '.'" },
    { "iqn.2026-01:com.example", "not followed by '.'" },
    { "iqn.2026-010.com.example", "not followed by '.'" },

    /* iqn naming authority and suffix */
    { "iqn.2026-01.", "authority is missing" },
    { "iqn.2026-01.:x", "authority is missing" },
    { "iqn.2026-01..com.example", "empty label" },
    { "iqn.2026-01.com..example", "empty label" },
    { "iqn.2026-01.com.example.", "empty label" },
    { "iqn.2026-01.com.example.:x", "empty label" },
    { "iqn.2026-01.com.example:", "nothing after ':'" },

    /* characters */
    { "iqn.2026-01.Com.example", "upper-case letter" },
    { "iqn.2026-01.com.example:Disk1", "upper-case letter" },
    { "iqn.2026-01.com.example:my disk", "character other than" },
    { "iqn.2026-01.com.example:a_b", "character other than" },
    { "iqn.2026-01.com.example:a/b", "character other than" },
    { "iqn.2026-01.com.example:a@b", "character other than" },
    { "iqn.2026-01.com_example", "character other than" },
    { "iqn.2026-01.com.example\n", "character other than" },
    { "iqn.2026-01.com.example:caf\xc3\xa9", "non-ASCII" },
    { "eui.02004567A425678\xc3", "non-ASCII" },

    /* eui. and naa. */
    { "eui.", "exactly 16 hex digits" },
    { "eui.02004567A425678", "exactly 16 hex digits" },
    { "eui.02004567A425678DA", "exactly 16 hex digits" },
    { "eui.02004567A425678G", "not a hex digit" },
    { "eui.0x004567A425678D", "not a hex digit" },
    { "eui.02004567 425678D", "not a hex digit" },
    { "eui.02004567A425678D:x", "exactly 16 hex digits" },
    { "naa.", "16 or 32 hex digits" },
    { "naa.52004567BA64678D1234", "16 or 32 hex digits" },
    { "naa.6001405fdca5d6b76001405fdca5d6b", "16 or 32 hex digits" },
    { "naa.6001405fdca5d6b76001405fdca5d6b70", "16 or 32 hex digits" },
    { "naa.52004567BA64678Z", "not a hex digit" },
};

static void check(const char *name, size_t len, const char *want_why)
{
    const char *why = "not set";
    bool ok = iscsi_name_is_valid(name, len, &why);
    g_autofree char *copy = NULL;
    g_autofree char *shown = NULL;

    /* TAP output must stay printable ASCII. */
    copy = name ? g_strndup(name, MIN(len, 300)) : g_strdup("(null)");
    shown = g_strescape(copy, NULL);
    g_test_message("\"%s\" (%zu bytes): %s", shown, len,
                   ok ? "valid" : why);
    if (!want_why) {
        g_assert_true(ok);
        g_assert_null(why);
    } else {
        g_assert_false(ok);
        g_assert_nonnull(why);
        g_assert_nonnull(strstr(why, want_why));
    }
    /* @why is optional. */
    g_assert_true(iscsi_name_is_valid(name, len, NULL) == ok);
}

static void test_table(void)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        check(cases[i].name, strlen(cases[i].name), cases[i].why);
    }
}

/* 223 bytes is the limit (RFC 3720 3.2.6.1), whatever the format. */
static void test_length(void)
{
    g_autoptr(GString) s = g_string_new("iqn.2026-01.com.example:");

    g_assert_cmpint(ISCSI_HBA_ISCSI_NAME_MAX, ==, 223);
    while (s->len < 223) {
        g_string_append_c(s, 'a');
    }
    check(s->str, s->len, NULL);
    g_string_append_c(s, 'a');
    check(s->str, s->len, "longer than 223 bytes");

    /* A long, otherwise fine authority. */
    g_string_assign(s, "iqn.2026-01.");
    while (s->len < 223) {
        g_string_append(s, "a.");
    }
    g_string_truncate(s, 223);
    g_assert_cmpint(s->str[222], ==, 'a');
    check(s->str, s->len, NULL);

    /* A huge length is refused before anything is read past it. */
    check("iqn.2026-01.com.example", (size_t)-1, "longer than 223 bytes");
}

/* @len, not a NUL, ends the name: guest buffers need not be terminated. */
static void test_explicit_length(void)
{
    static const char buf[] = "iqn.2026-01.com.example:abc";
    static const char nul[] = "iqn.2026-01.com.example:a\0b";
    static const char eui[] = "eui.02004567A425678D0000";

    check(buf, 23, NULL);
    check(buf, 24, "nothing after ':'");
    check(buf, 25, NULL);
    check(buf, 22, NULL);           /* "com.exampl" */
    check(buf, 12, "authority is missing");
    check(buf, 0, "empty");
    check(nul, sizeof(nul) - 1, "NUL byte");
    check(nul, sizeof(nul), "NUL byte");
    check(eui, 20, NULL);
    check(eui, 21, "exactly 16 hex digits");
    check(NULL, 0, "empty");
    check(NULL, 5, "empty");
}

static void test_chap_secret(void)
{
    g_assert_cmpint(ISCSI_CHAP_SECRET_MIN_LEN, ==, 12);
    g_assert_true(iscsi_chap_secret_is_short(0));
    g_assert_true(iscsi_chap_secret_is_short(1));
    g_assert_true(iscsi_chap_secret_is_short(11));
    g_assert_false(iscsi_chap_secret_is_short(12));
    g_assert_false(iscsi_chap_secret_is_short(16));
    g_assert_false(iscsi_chap_secret_is_short(255));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iscsi-name/table", test_table);
    g_test_add_func("/iscsi-name/length", test_length);
    g_test_add_func("/iscsi-name/explicit-length", test_explicit_length);
    g_test_add_func("/iscsi-name/chap-secret", test_chap_secret);
    return g_test_run();
}
