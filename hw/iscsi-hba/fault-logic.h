/*
 * iscsi-hba: pure helpers for fault injection
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ISCSI_HBA_FAULT_LOGIC_H
#define HW_ISCSI_HBA_FAULT_LOGIC_H

/*
 * LBA and block count of a READ/WRITE(6/10/12/16), WRITE AND VERIFY or
 * VERIFY CDB; false for any other command or a CDB that is too short.
 */
bool iscsi_hba_cdb_lba(const uint8_t *cdb, unsigned len, uint64_t *lba,
                       uint32_t *blocks);

/*
 * Parse an ISDSC status: "ISDSC_AUTHENTICATION_FAILURE",
 * "AUTHENTICATION_FAILURE" (any case), "SUCCESS", or a number ("0xEFFF0009",
 * decimal).  A number outside the ISDSC table is refused unless raw.  On
 * failure *why says why.
 */
bool iscsi_hba_status_parse(const char *text, bool raw, uint32_t *value,
                            const char **why);

/* Deterministic pseudo-random sequence (splitmix64) for seeded rules. */
uint64_t iscsi_hba_prng_next(uint64_t *state);

/* True with probability p (0 < p <= 1), drawing from *state. */
bool iscsi_hba_prng_chance(uint64_t *state, double p);

#endif
