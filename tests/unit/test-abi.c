/*
 * Unit tests of the iscsi-hba guest ABI header: the ISDSC table, the
 * NTSTATUS field macros and the lookup helpers.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* First, so that it is compiled standalone. */
#include "hw/iscsi-hba/iscsi-hba-abi.h"

#include <string.h>
#include <glib.h>

typedef struct {
    uint32_t value;
    const char *name;
    const char *meaning;
} Entry;

#define X_ENTRY(name, meaning) { name, #name, meaning },
static const Entry table[] = {
    ISCSI_HBA_ISDSC_TABLE(X_ENTRY)
};
#undef X_ENTRY

static const Entry *find_name(const char *name)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(table); i++) {
        if (!strcmp(table[i].name, name)) {
            return &table[i];
        }
    }
    return NULL;
}

static void test_count(void)
{
    g_assert_cmpuint(G_N_ELEMENTS(table), ==, 104);
    g_assert_cmpuint(G_N_ELEMENTS(table), ==, ISCSI_HBA_ISDSC_COUNT);
}

/* Codes run 1, 2, ... 104 without gaps, so values are unique and sorted. */
static void test_order(void)
{
    size_t i, j;

    for (i = 0; i < G_N_ELEMENTS(table); i++) {
        g_assert_cmphex(ISCSI_HBA_NT_CODE(table[i].value), ==, i + 1);
        if (i > 0) {
            g_assert_cmphex(ISCSI_HBA_NT_CODE(table[i].value), >,
                            ISCSI_HBA_NT_CODE(table[i - 1].value));
        }
        for (j = 0; j < i; j++) {
            g_assert_cmphex(table[i].value, !=, table[j].value);
            g_assert_cmpstr(table[i].name, !=, table[j].name);
        }
    }
}

static void test_fields(void)
{
    size_t i;
    unsigned warnings = 0;

    for (i = 0; i < G_N_ELEMENTS(table); i++) {
        uint32_t v = table[i].value;

        g_assert_cmphex(ISCSI_HBA_NT_FACILITY(v), ==,
                        ISCSI_HBA_ISDSC_FACILITY);
        g_assert_cmphex(ISCSI_HBA_NT_FACILITY(v), ==, 0xfff);
        g_assert_cmpuint(ISCSI_HBA_NT_CUSTOMER(v), ==, 1);
        g_assert_cmpuint(ISCSI_HBA_NT_RESERVED(v), ==, 0);
        if (v == 0xAFFF002Eu || v == 0xAFFF003Bu || v == 0xAFFF0048u) {
            g_assert_cmpuint(ISCSI_HBA_NT_SEVERITY(v), ==,
                             ISCSI_HBA_NT_SEV_WARNING);
            g_assert_false(ISCSI_HBA_STATUS_IS_ERROR(v));
            warnings++;
        } else {
            g_assert_cmpuint(ISCSI_HBA_NT_SEVERITY(v), ==,
                             ISCSI_HBA_NT_SEV_ERROR);
            g_assert_true(ISCSI_HBA_STATUS_IS_ERROR(v));
        }
    }
    g_assert_cmpuint(warnings, ==, 3);
}

/* The helpers agree with the table; every meaning is a sentence. */
static void test_helpers(void)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(table); i++) {
        const char *m = iscsi_hba_isdsc_meaning(table[i].value);

        g_assert_true(g_str_has_prefix(table[i].name, "ISDSC_"));
        g_assert_cmpstr(iscsi_hba_isdsc_name(table[i].value), ==,
                        table[i].name);
        g_assert_cmpstr(m, ==, table[i].meaning);
        g_assert_true(g_ascii_isalpha(m[0]));
        g_assert_true(g_str_has_suffix(m, "."));
    }
    g_assert_cmpstr(iscsi_hba_isdsc_name(0), ==, "SUCCESS");
    g_assert_nonnull(iscsi_hba_isdsc_meaning(0));
    g_assert_null(iscsi_hba_isdsc_name(0xEFFF0000u));
    g_assert_null(iscsi_hba_isdsc_name(0xEFFF0069u));
    g_assert_null(iscsi_hba_isdsc_name(0xAFFF0009u));
    g_assert_null(iscsi_hba_isdsc_meaning(0xEFFF0069u));
    g_assert_null(iscsi_hba_isdsc_meaning(1));
}

static void test_spot_checks(void)
{
    static const struct {
        uint32_t value;
        const char *name;
    } spots[] = {
        { 0xEFFF0001u, "ISDSC_NON_SPECIFIC_ERROR" },
        { 0xEFFF0009u, "ISDSC_AUTHENTICATION_FAILURE" },
        { 0xEFFF000Bu, "ISDSC_NOT_FOUND" },
        { 0xAFFF002Eu, "ISDSC_OPERATION_NOT_ALL_SUCCESS" },
        { 0xAFFF003Bu, "ISDSC_OPERATION_REQUIRES_REBOOT" },
        { 0xEFFF0043u, "ISDSC_PORTAL_NOT_FOUND" },
        { 0xEFFF0044u, "ISDSC_INITIATOR_NOT_FOUND" },
        { 0xAFFF0048u, "ISDSC_SHORT_CHAP_SECRET" },
        { 0xEFFF0051u, "ISDSC_INVALID_ISCSI_NAME" },
        { 0xEFFF0067u, "ISDSC_FAILURE_TO_PERSIST_LB_POLICY" },
        { 0xEFFF0068u, "ISDSC_INVALID_HOST" },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(spots); i++) {
        const Entry *e = find_name(spots[i].name);

        g_assert_nonnull(e);
        g_assert_cmphex(e->value, ==, spots[i].value);
        g_assert_cmpstr(iscsi_hba_isdsc_name(spots[i].value), ==,
                        spots[i].name);
    }
    /* The macros, too, not only the table. */
    g_assert_cmphex(ISDSC_PORTAL_NOT_FOUND, ==, 0xEFFF0043u);
    g_assert_cmphex(ISDSC_INITIATOR_NOT_FOUND, ==, 0xEFFF0044u);
    g_assert_cmphex(ISDSC_FAILURE_TO_PERSIST_LB_POLICY, ==, 0xEFFF0067u);
    g_assert_cmphex(ISDSC_INVALID_HOST, ==, 0xEFFF0068u);
}

static void test_nt_decode(void)
{
    g_assert_cmpuint(ISCSI_HBA_NT_SEVERITY(0xEFFF0009u), ==, 3);
    g_assert_cmpuint(ISCSI_HBA_NT_CUSTOMER(0xEFFF0009u), ==, 1);
    g_assert_cmpuint(ISCSI_HBA_NT_RESERVED(0xEFFF0009u), ==, 0);
    g_assert_cmphex(ISCSI_HBA_NT_FACILITY(0xEFFF0009u), ==, 0xfff);
    g_assert_cmphex(ISCSI_HBA_NT_CODE(0xEFFF0009u), ==, 9);
    g_assert_cmpstr(iscsi_hba_nt_severity_name(0xEFFF0009u), ==, "error");

    g_assert_cmpuint(ISCSI_HBA_NT_SEVERITY(0xAFFF0048u), ==, 2);
    g_assert_cmpuint(ISCSI_HBA_NT_CUSTOMER(0xAFFF0048u), ==, 1);
    g_assert_cmphex(ISCSI_HBA_NT_CODE(0xAFFF0048u), ==, 0x48);
    g_assert_cmpstr(iscsi_hba_nt_severity_name(0xAFFF0048u), ==,
                    "warning");

    /* Fields that ISDSC values never use. */
    g_assert_cmpuint(ISCSI_HBA_NT_SEVERITY(0x40000000u), ==, 1);
    g_assert_cmpstr(iscsi_hba_nt_severity_name(0x40000000u), ==,
                    "informational");
    g_assert_cmpstr(iscsi_hba_nt_severity_name(0), ==, "success");
    g_assert_cmpuint(ISCSI_HBA_NT_RESERVED(0x10000000u), ==, 1);
    g_assert_cmpuint(ISCSI_HBA_NT_CUSTOMER(0xC0000001u), ==, 0);
    g_assert_cmphex(ISCSI_HBA_NT_FACILITY(0x12345678u), ==, 0x234);
    g_assert_cmphex(ISCSI_HBA_NT_CODE(0x12345678u), ==, 0x5678);

    g_assert_true(ISCSI_HBA_STATUS_IS_ERROR(0xEFFF0009u));
    g_assert_true(ISCSI_HBA_STATUS_IS_ERROR(0xC0000001u));
    g_assert_false(ISCSI_HBA_STATUS_IS_ERROR(0xAFFF0048u));
    g_assert_false(ISCSI_HBA_STATUS_IS_ERROR(ISCSI_HBA_STATUS_SUCCESS));
    g_assert_false(ISCSI_HBA_STATUS_IS_ERROR(0x40000000u));
}

/*
 * The Microsoft documentation page (seed, zh-CN) against the header.
 * Where they differ, the header follows Windows' iscsierr.h:
 * - two warnings that the page lists with error severity;
 * - two values added to iscsierr.h that the page does not list.
 */
static const struct {
    const char *name;
    uint32_t page;              /* value as the page gives it */
    uint32_t header;            /* value in the header */
} corrections[] = {
    { "ISDSC_OPERATION_NOT_ALL_SUCCESS", 0xEFFF002Eu, 0xAFFF002Eu },
    { "ISDSC_SHORT_CHAP_SECRET", 0xEFFF0048u, 0xAFFF0048u },
};

static const char *const not_on_page[] = {
    "ISDSC_FAILURE_TO_PERSIST_LB_POLICY",
    "ISDSC_INVALID_HOST",
};

static void test_seed(void)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GRegex) re = NULL;
    g_autoptr(GMatchInfo) match = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    size_t i;

    if (!g_file_get_contents(SEED_ZH_CN, &text, NULL, NULL)) {
        g_test_skip("seed " SEED_ZH_CN " not found");
        return;
    }

    re = g_regex_new("(ISDSC_[A-Z0-9_]+) \\((0x[0-9A-Fa-f]{8})\\)", 0, 0,
                     &err);
    g_assert_no_error(err);
    g_regex_match(re, text, 0, &match);
    while (g_match_info_matches(match)) {
        g_autofree char *name = g_match_info_fetch(match, 1);
        g_autofree char *hex = g_match_info_fetch(match, 2);
        uint32_t page = (uint32_t)g_ascii_strtoull(hex, NULL, 16);
        const Entry *e = find_name(name);
        uint32_t want = page;

        for (i = 0; i < G_N_ELEMENTS(corrections); i++) {
            /* Accept the page value once Microsoft fixes it. */
            if (!strcmp(name, corrections[i].name) &&
                page == corrections[i].page) {
                want = corrections[i].header;
            }
        }
        if (!e) {
            g_test_message("seed name %s is not in the header", name);
        }
        g_assert_nonnull(e);
        g_assert_cmphex(e->value, ==, want);
        g_assert_false(g_hash_table_contains(seen, e->name));
        g_hash_table_add(seen, (gpointer)e->name);
        g_match_info_next(match, NULL);
    }

    /* Everything in the header is on the page, except not_on_page. */
    g_assert_cmpuint(g_hash_table_size(seen) + G_N_ELEMENTS(not_on_page),
                     ==, ISCSI_HBA_ISDSC_COUNT);
    for (i = 0; i < G_N_ELEMENTS(not_on_page); i++) {
        g_assert_nonnull(find_name(not_on_page[i]));
        g_assert_false(g_hash_table_contains(seen, not_on_page[i]));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/abi/isdsc/count", test_count);
    g_test_add_func("/abi/isdsc/order", test_order);
    g_test_add_func("/abi/isdsc/fields", test_fields);
    g_test_add_func("/abi/isdsc/helpers", test_helpers);
    g_test_add_func("/abi/isdsc/spot-checks", test_spot_checks);
    g_test_add_func("/abi/isdsc/seed-zh-cn", test_seed);
    g_test_add_func("/abi/nt/decode", test_nt_decode);
    return g_test_run();
}
