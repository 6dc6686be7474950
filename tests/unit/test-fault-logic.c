/*
 * Unit tests for hw/iscsi-hba/fault-logic.c: CDB LBA decoding, ISDSC
 * status parsing and the seeded random sequence of fault rules.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"
#include "fault-logic.h"

static void test_cdb_lba(void)
{
    static const struct {
        uint8_t cdb[16];
        unsigned len;
        bool ok;
        uint64_t lba;
        uint32_t blocks;
    } cases[] = {
        { { 0x08, 0x1f, 0xff, 0xff, 0 }, 6, true, 0x1fffff, 256 },
        { { 0x0a, 0xe0, 0x00, 0x10, 8 }, 6, true, 0x10, 8 },
        { { 0x28, 0, 0x12, 0x34, 0x56, 0x78, 0, 0x01, 0x00, 0 }, 10, true,
          0x12345678, 256 },
        { { 0x2a, 0, 0, 0, 0, 1, 0, 0, 8, 0 }, 10, true, 1, 8 },
        { { 0x2a, 0, 0, 0, 0, 1, 0, 0, 8 }, 9, false, 0, 0 },
        { { 0xa8, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0 }, 12, true, 256, 2 },
        { { 0x88, 0, 0x01, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0x10, 0, 0 },
          16, true, 0x0100000000000005ull, 16 },
        { { 0x8a, 0 }, 10, false, 0, 0 },
        { { 0x00 }, 6, false, 0, 0 },               /* TEST UNIT READY */
        { { 0x12, 0, 0, 0, 96, 0 }, 6, false, 0, 0 }, /* INQUIRY */
    };
    uint64_t lba;
    uint32_t blocks;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        lba = 0xdead;
        blocks = 0xbeef;
        g_assert_cmpint(iscsi_hba_cdb_lba(cases[i].cdb, cases[i].len, &lba,
                                          &blocks), ==, cases[i].ok);
        if (cases[i].ok) {
            g_assert_cmphex(lba, ==, cases[i].lba);
            g_assert_cmpuint(blocks, ==, cases[i].blocks);
        }
    }
}

static void test_status_parse(void)
{
    const char *why = NULL;
    uint32_t v;

    g_assert_true(iscsi_hba_status_parse("ISDSC_AUTHENTICATION_FAILURE",
                                         false, &v, &why));
    g_assert_cmphex(v, ==, ISDSC_AUTHENTICATION_FAILURE);
    g_assert_true(iscsi_hba_status_parse("short_chap_secret", false, &v,
                                         &why));
    g_assert_cmphex(v, ==, ISDSC_SHORT_CHAP_SECRET);
    g_assert_true(iscsi_hba_status_parse("0xEFFF0068", false, &v, &why));
    g_assert_cmphex(v, ==, ISDSC_INVALID_HOST);
    g_assert_true(iscsi_hba_status_parse("4026466313", false, &v, &why));
    g_assert_cmphex(v, ==, ISDSC_AUTHENTICATION_FAILURE);
    g_assert_true(iscsi_hba_status_parse("SUCCESS", false, &v, &why));
    g_assert_cmphex(v, ==, 0);
    g_assert_false(iscsi_hba_status_parse("0x12345678", false, &v, &why));
    g_assert_nonnull(why);
    g_assert_true(iscsi_hba_status_parse("0x12345678", true, &v, &why));
    g_assert_cmphex(v, ==, 0x12345678);
    g_assert_false(iscsi_hba_status_parse("NO_SUCH_THING", false, &v, &why));
    g_assert_false(iscsi_hba_status_parse("0x1g", true, &v, &why));
    g_assert_false(iscsi_hba_status_parse("0x100000000", true, &v, &why));
    g_assert_false(iscsi_hba_status_parse("", false, &v, &why));
}

/* Same seed, same sequence; different seeds differ; p is respected. */
static void test_prng(void)
{
    uint64_t a = 42, b = 42, c = 43;
    unsigned i, fired = 0, same = 0;

    for (i = 0; i < 1000; i++) {
        uint64_t x = iscsi_hba_prng_next(&a);

        g_assert_cmphex(x, ==, iscsi_hba_prng_next(&b));
        same += x == iscsi_hba_prng_next(&c);
    }
    g_assert_cmpuint(same, ==, 0);
    a = 7;
    for (i = 0; i < 10000; i++) {
        fired += iscsi_hba_prng_chance(&a, 0.25);
    }
    g_assert_cmpuint(fired, >, 2200);
    g_assert_cmpuint(fired, <, 2800);
    for (i = 0; i < 100; i++) {
        g_assert_true(iscsi_hba_prng_chance(&a, 1.0));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fault-logic/cdb-lba", test_cdb_lba);
    g_test_add_func("/fault-logic/status-parse", test_status_parse);
    g_test_add_func("/fault-logic/prng", test_prng);
    return g_test_run();
}
