/*
 * iscsi-hba: pure helpers for fault injection
 *
 * No QEMU internals: unit-tested in tests/unit/test-fault-logic.c.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"
#include "fault-logic.h"

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n--) {
        v = v << 8 | *p++;
    }
    return v;
}

bool iscsi_hba_cdb_lba(const uint8_t *cdb, unsigned len, uint64_t *lba,
                       uint32_t *blocks)
{
    if (len < 6) {
        return false;
    }
    switch (cdb[0]) {
    case 0x08:                      /* READ(6) */
    case 0x0a:                      /* WRITE(6) */
        *lba = be(cdb + 1, 3) & 0x1fffff;
        *blocks = cdb[4] ? cdb[4] : 256;
        return true;
    case 0x28:                      /* READ(10) */
    case 0x2a:                      /* WRITE(10) */
    case 0x2e:                      /* WRITE AND VERIFY(10) */
    case 0x2f:                      /* VERIFY(10) */
        if (len < 10) {
            return false;
        }
        *lba = be(cdb + 2, 4);
        *blocks = be(cdb + 7, 2);
        return true;
    case 0xa8:                      /* READ(12) */
    case 0xaa:                      /* WRITE(12) */
        if (len < 12) {
            return false;
        }
        *lba = be(cdb + 2, 4);
        *blocks = be(cdb + 6, 4);
        return true;
    case 0x88:                      /* READ(16) */
    case 0x8a:                      /* WRITE(16) */
    case 0x8e:                      /* WRITE AND VERIFY(16) */
    case 0x8f:                      /* VERIFY(16) */
        if (len < 16) {
            return false;
        }
        *lba = be(cdb + 2, 8);
        *blocks = be(cdb + 10, 4);
        return true;
    default:
        return false;
    }
}

static bool status_by_name(const char *text, uint32_t *value)
{
    static const struct {
        const char *name;
        uint32_t value;
    } table[] = {
#define X(name, meaning) { #name, name },
        ISCSI_HBA_ISDSC_TABLE(X)
#undef X
    };
    const char *want = text;
    size_t i;

    if (!g_ascii_strcasecmp(text, "SUCCESS")) {
        *value = ISCSI_HBA_STATUS_SUCCESS;
        return true;
    }
    if (!g_ascii_strncasecmp(want, "ISDSC_", 6)) {
        want += 6;
    }
    for (i = 0; i < G_N_ELEMENTS(table); i++) {
        if (!g_ascii_strcasecmp(table[i].name + 6, want)) {
            *value = table[i].value;
            return true;
        }
    }
    return false;
}

bool iscsi_hba_status_parse(const char *text, bool raw, uint32_t *value,
                            const char **why)
{
    guint64 n;
    char *end;

    if (!text || !*text) {
        *why = "empty status";
        return false;
    }
    if (g_ascii_isdigit(text[0])) {
        errno = 0;
        n = g_ascii_strtoull(text, &end, 0);
        if (errno || *end || n > UINT32_MAX) {
            *why = "not a 32-bit number";
            return false;
        }
        if (!raw && !iscsi_hba_isdsc_name(n)) {
            *why = "not an ISDSC value (set raw to inject it anyway)";
            return false;
        }
        *value = n;
        return true;
    }
    if (!status_by_name(text, value)) {
        *why = "unknown ISDSC name";
        return false;
    }
    return true;
}

uint64_t iscsi_hba_prng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

bool iscsi_hba_prng_chance(uint64_t *state, double p)
{
    /* 53 random bits: a uniform double in [0, 1). */
    double u = (iscsi_hba_prng_next(state) >> 11) / (double)(1ull << 53);

    return u < p;
}
