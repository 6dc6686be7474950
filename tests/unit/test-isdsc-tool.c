/*
 * Runs the isdsc tool (path ISDSC_TOOL, set by meson) and checks its
 * output and exit status.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "hw/iscsi-hba/iscsi-hba-abi.h"

#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <glib.h>

typedef struct {
    char *out;
    char *err;
    int status;                 /* exit status, -1 if it did not exit */
} Run;

/* Run isdsc with the NULL-terminated arguments. */
static Run G_GNUC_NULL_TERMINATED run_isdsc(const char *first, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    Run r = { NULL, NULL, -1 };
    const char *arg;
    va_list ap;
    int wait_status;

    g_ptr_array_add(argv, (gpointer)ISDSC_TOOL);
    va_start(ap, first);
    for (arg = first; arg; arg = va_arg(ap, const char *)) {
        g_ptr_array_add(argv, (gpointer)arg);
    }
    va_end(ap);
    g_ptr_array_add(argv, NULL);

    g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                 NULL, &r.out, &r.err, &wait_status, &err);
    g_assert_no_error(err);
    if (WIFEXITED(wait_status)) {
        r.status = WEXITSTATUS(wait_status);
    }
    return r;
}

static void run_free(Run *r)
{
    g_free(r->out);
    g_free(r->err);
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

/* The same value named several ways gives the same line. */
static void test_forms(void)
{
    g_autofree char *auth_line = g_strdup_printf(
        "ISDSC_AUTHENTICATION_FAILURE 0xEFFF0009 severity=error(3) "
        "customer=1 facility=0xFFF code=0x0009 %s\n",
        iscsi_hba_isdsc_meaning(ISDSC_AUTHENTICATION_FAILURE));
    static const char *const forms[] = {
        "0xEFFF0009", "0xefff0009", "4026466313",
        "ISDSC_AUTHENTICATION_FAILURE", "AUTHENTICATION_FAILURE",
        "authentication_failure", "Isdsc_Authentication_Failure",
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(forms); i++) {
        Run r = run_isdsc(forms[i], NULL);

        g_test_message("isdsc %s", forms[i]);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpstr(r.out, ==, auth_line);
        g_assert_cmpstr(r.err, ==, "");
        run_free(&r);
    }
}

static void test_warning_and_success(void)
{
    Run r = run_isdsc("short_chap_secret", "0", "success", NULL);
    g_autofree char *chap_line = g_strdup_printf(
        "ISDSC_SHORT_CHAP_SECRET 0xAFFF0048 severity=warning(2) "
        "customer=1 facility=0xFFF code=0x0048 %s",
        iscsi_hba_isdsc_meaning(ISDSC_SHORT_CHAP_SECRET));
    g_auto(GStrv) lines = NULL;

    g_assert_cmpint(r.status, ==, 0);
    lines = g_strsplit(r.out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 4);
    g_assert_cmpstr(lines[0], ==, chap_line);
    g_assert_true(g_str_has_prefix(lines[1], "SUCCESS 0x00000000 "
                                   "severity=success(0) customer=0 "
                                   "facility=0x000 code=0x0000 "));
    g_assert_cmpstr(lines[1], ==, lines[2]);
    g_assert_cmpstr(lines[3], ==, "");
    run_free(&r);
}

/* A value outside the table: fields decoded, exit 1. */
static void test_unknown_value(void)
{
    Run r = run_isdsc("0xC0000001", NULL);

    g_assert_cmpint(r.status, ==, 1);
    g_assert_cmpstr(r.out, ==,
                    "(unknown) 0xC0000001 severity=error(3) customer=0 "
                    "facility=0x000 code=0x0001 Not an ISDSC value.\n");
    run_free(&r);

    /* 3791585289 is 0xE1FF0009, not 0xEFFF0009. */
    r = run_isdsc("3791585289", NULL);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_cmpstr(r.out, ==,
                    "(unknown) 0xE1FF0009 severity=error(3) customer=1 "
                    "facility=0x1FF code=0x0009 Not an ISDSC value.\n");
    run_free(&r);

    /* ISDSC facility, code past the table. */
    r = run_isdsc("0xEFFF0069", NULL);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_true(g_str_has_prefix(r.out, "(unknown) 0xEFFF0069 "));
    g_assert_nonnull(strstr(r.out, " facility=0xFFF code=0x0069 "));
    run_free(&r);
}

/* Unknown names, bad numbers and options: message naming it, exit 2. */
static void test_bad_arguments(void)
{
    static const char *const bad[] = {
        "NO_SUCH_STATUS", "ISDSC_", "", "0x", "0x1G", "4294967296",
        "0x100000000", "12abc", "--bogus", "-1",
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        Run r = run_isdsc(bad[i], NULL);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);

        g_test_message("isdsc '%s'", bad[i]);
        g_assert_cmpint(r.status, ==, 2);
        g_assert_cmpstr(r.out, ==, "");
        g_assert_nonnull(strstr(r.err, quoted));
        run_free(&r);
    }
}

/* Several arguments: each decoded, the worst status wins. */
static void test_several(void)
{
    Run r = run_isdsc("0xEFFF0043", "0x12345678", "INITIATOR_NOT_FOUND",
                      NULL);

    g_assert_cmpint(r.status, ==, 1);
    g_assert_cmpuint(count_lines(r.out), ==, 3);
    g_assert_true(g_str_has_prefix(r.out, "ISDSC_PORTAL_NOT_FOUND "));
    g_assert_nonnull(strstr(r.out, "\n(unknown) 0x12345678 "
                            "severity=success(0) customer=0 "
                            "facility=0x234 code=0x5678 "));
    g_assert_nonnull(strstr(r.out, "\nISDSC_INITIATOR_NOT_FOUND "
                            "0xEFFF0044 "));
    run_free(&r);

    r = run_isdsc("0x12345678", "nope", "0xEFFF0001", NULL);
    g_assert_cmpint(r.status, ==, 2);
    g_assert_cmpuint(count_lines(r.out), ==, 2);
    g_assert_nonnull(strstr(r.err, "'nope'"));
    run_free(&r);
}

/* --list: SUCCESS and the 104 table entries, in order. */
static void test_list(void)
{
    Run r = run_isdsc("--list", NULL);
    g_auto(GStrv) lines = NULL;
    unsigned i;

    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpuint(count_lines(r.out), ==, 105);
    g_assert_cmpuint(count_lines(r.out), ==, ISCSI_HBA_ISDSC_COUNT + 1);
    lines = g_strsplit(r.out, "\n", -1);
    g_assert_true(g_str_has_prefix(lines[0], "SUCCESS 0x00000000 "));
    for (i = 1; i <= ISCSI_HBA_ISDSC_COUNT; i++) {
        g_autofree char *code = g_strdup_printf(" code=0x%04X ", i);

        g_assert_true(g_str_has_prefix(lines[i], "ISDSC_"));
        g_assert_nonnull(strstr(lines[i], code));
        g_assert_nonnull(strstr(lines[i], " facility=0xFFF "));
    }
    g_assert_true(g_str_has_prefix(lines[ISCSI_HBA_ISDSC_COUNT],
                                   "ISDSC_INVALID_HOST 0xEFFF0068 "
                                   "severity=error(3) customer=1 "
                                   "facility=0xFFF code=0x0068 "));
    g_assert_cmpstr(lines[ISCSI_HBA_ISDSC_COUNT + 1], ==, "");
    run_free(&r);
}

static void test_help(void)
{
    Run r = run_isdsc("--help", NULL);

    g_assert_cmpint(r.status, ==, 0);
    g_assert_true(g_str_has_prefix(r.out, "Usage: isdsc"));
    g_assert_nonnull(strstr(r.out, "--list"));
    run_free(&r);

    /* No argument: usage on stderr, exit 2. */
    r = run_isdsc(NULL, NULL);
    g_assert_cmpint(r.status, ==, 2);
    g_assert_cmpstr(r.out, ==, "");
    g_assert_true(g_str_has_prefix(r.err, "Usage: isdsc"));
    run_free(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/isdsc-tool/forms", test_forms);
    g_test_add_func("/isdsc-tool/warning-and-success",
                    test_warning_and_success);
    g_test_add_func("/isdsc-tool/unknown-value", test_unknown_value);
    g_test_add_func("/isdsc-tool/bad-arguments", test_bad_arguments);
    g_test_add_func("/isdsc-tool/several", test_several);
    g_test_add_func("/isdsc-tool/list", test_list);
    g_test_add_func("/isdsc-tool/help", test_help);
    return g_test_run();
}
