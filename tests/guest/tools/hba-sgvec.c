// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hba-sgvec: O_DIRECT I/O whose every 512-byte block lies in a page of
 * its own, so that the block layer cannot merge them: a request with as
 * many data segments as blocks.  Used by tests/guest/scripts/hba-sgchain.sh
 * to drive SCSI commands with long scatter-gather lists (an iscsi-hba SG
 * list chained over several pages) and to check the data.
 *
 *   hba-sgvec DEVICE OFFSET NBLOCKS [ROUNDS]
 *
 * Each round writes NBLOCKS blocks at byte OFFSET with one pwritev()
 * (NBLOCKS iovecs of 512 bytes, each at a different offset into its own
 * page), reads them back with one preadv() into other scattered pages and
 * a plain pread() into one buffer, and compares.  Exit 0 if all match.
 *
 * Built statically on the host (tests/guest/run-hba.sh), run in the guest.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define BLK 512
#define PAGE 4096

static void fill(unsigned char *p, uint64_t off, unsigned int round)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ull + round * 0x2545f4914f6cdd1dull + 1;
	int i;

	for (i = 0; i < BLK; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

int main(int argc, char **argv)
{
	unsigned int n, rounds = 1, r, i;
	unsigned char *wpages, *rpages, *flat, want[BLK];
	struct iovec *wv, *rv;
	long long off;
	ssize_t got;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: hba-sgvec DEVICE OFFSET NBLOCKS [ROUNDS]\n");
		return 2;
	}
	off = atoll(argv[2]);
	n = (unsigned int)atoi(argv[3]);
	if (argc > 4)
		rounds = (unsigned int)atoi(argv[4]);
	if (!n || n > IOV_MAX || off % BLK) {
		fprintf(stderr, "NBLOCKS 1..%d, OFFSET a multiple of %d\n", IOV_MAX, BLK);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	/* one page per block, and a spare page between blocks */
	wpages = mmap(NULL, (size_t)n * 2 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	rpages = mmap(NULL, (size_t)n * 2 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	flat = aligned_alloc(PAGE, (size_t)n * BLK);
	wv = calloc(n, sizeof(*wv));
	rv = calloc(n, sizeof(*rv));
	if (wpages == MAP_FAILED || rpages == MAP_FAILED || !flat || !wv || !rv) {
		perror("memory");
		return 1;
	}
	for (i = 0; i < n; i++) {
		/* different offsets in the pages: 0, 512, ... 3584 */
		wv[i].iov_base = wpages + (size_t)i * 2 * PAGE + (i % 8) * BLK;
		wv[i].iov_len = BLK;
		rv[i].iov_base = rpages + (size_t)i * 2 * PAGE + ((i + 3) % 8) * BLK;
		rv[i].iov_len = BLK;
	}
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++)
			fill(wv[i].iov_base, off + (uint64_t)i * BLK, r);
		got = pwritev(fd, wv, (int)n, off);
		if (got != (ssize_t)n * BLK) {
			fprintf(stderr, "round %u: pwritev: %zd: %s\n", r, got, strerror(errno));
			return 1;
		}
		memset(rpages, 0, (size_t)n * 2 * PAGE);
		got = preadv(fd, rv, (int)n, off);
		if (got != (ssize_t)n * BLK) {
			fprintf(stderr, "round %u: preadv: %zd: %s\n", r, got, strerror(errno));
			return 1;
		}
		got = pread(fd, flat, (size_t)n * BLK, off);
		if (got != (ssize_t)n * BLK) {
			fprintf(stderr, "round %u: pread: %zd: %s\n", r, got, strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			fill(want, off + (uint64_t)i * BLK, r);
			if (memcmp(rv[i].iov_base, want, BLK) ||
			    memcmp(flat + (size_t)i * BLK, want, BLK)) {
				fprintf(stderr, "round %u: block %u (byte %lld) differs%s\n", r, i,
					off + (long long)i * BLK,
					memcmp(flat + (size_t)i * BLK, want, BLK) ? "" :
					" in the scattered read only");
				return 1;
			}
		}
	}
	printf("%u rounds of %u scattered blocks at %lld: ok\n", rounds, n, off);
	close(fd);
	return 0;
}
