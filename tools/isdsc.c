/*
 * isdsc: decode the ISDSC status values of the iscsi-hba device (the
 * Windows iSCSI status qualifiers) and the NTSTATUS fields of any value.
 *
 * Everything it knows comes from the guest ABI header; it has no table
 * of its own.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hw/iscsi-hba/iscsi-hba-abi.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit statuses. */
#define EXIT_UNKNOWN_VALUE  1   /* a number that is not an ISDSC value */
#define EXIT_BAD_ARGUMENT   2   /* unknown name, bad number or option */

/* Every known value: SUCCESS, then the ABI table in value order. */
typedef struct {
    uint32_t value;
} Known;

#define ISDSC_X_KNOWN(name, meaning) { name },
static const Known known[] = {
    { ISCSI_HBA_STATUS_SUCCESS },
    ISCSI_HBA_ISDSC_TABLE(ISDSC_X_KNOWN)
};
#undef ISDSC_X_KNOWN

ISCSI_HBA_ABI_ASSERT(ARRAY_SIZE(known) == ISCSI_HBA_ISDSC_COUNT + 1);

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: isdsc VALUE|NAME...\n"
            "       isdsc --list\n"
            "\n"
            "Decode iscsi-hba ISDSC status values (Windows iSCSI status\n"
            "qualifiers, which are NTSTATUS values).\n"
            "\n"
            "  VALUE   a 32-bit number, hex with 0x (0xEFFF0009) or\n"
            "          decimal (4026466313)\n"
            "  NAME    ISDSC_AUTHENTICATION_FAILURE, or without the ISDSC_\n"
            "          prefix; case does not matter.  SUCCESS is 0.\n"
            "  --list  print every ISDSC value, SUCCESS included\n"
            "  --help  print this help\n"
            "\n"
            "Each value is printed on one line: name, value, severity,\n"
            "customer bit, facility, code and meaning.  A value that is\n"
            "not in the table is still decoded, with the name (unknown).\n"
            "\n"
            "Exit status: 0 all known; 1 a value is not an ISDSC value;\n"
            "2 an unknown name, a bad number or a bad option.\n");
}

/* Print one value.  Returns 0 if it is an ISDSC value, else 1. */
static int print_value(uint32_t v)
{
    const char *name = iscsi_hba_isdsc_name(v);
    const char *meaning = iscsi_hba_isdsc_meaning(v);

    printf("%s 0x%08" PRIX32 " severity=%s(%" PRIu32 ") customer=%" PRIu32
           " facility=0x%03" PRIX32 " code=0x%04" PRIX32 " %s\n",
           name ? name : "(unknown)", v, iscsi_hba_nt_severity_name(v),
           ISCSI_HBA_NT_SEVERITY(v), ISCSI_HBA_NT_CUSTOMER(v),
           ISCSI_HBA_NT_FACILITY(v), ISCSI_HBA_NT_CODE(v),
           meaning ? meaning : "Not an ISDSC value.");
    return name ? 0 : EXIT_UNKNOWN_VALUE;
}

/* "0x..." is hex, anything else decimal; no sign, no spaces. */
static bool parse_number(const char *s, uint32_t *v)
{
    uint64_t n = 0;
    unsigned base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        unsigned c = (unsigned char)*s;
        unsigned d;

        if (isdigit(c)) {
            d = c - '0';
        } else if (base == 16 && isxdigit(c)) {
            d = tolower(c) - 'a' + 10;
        } else {
            return false;
        }
        n = n * base + d;
        if (n > UINT32_MAX) {
            return false;
        }
    }
    *v = (uint32_t)n;
    return true;
}

/* Full or short (no ISDSC_ prefix) name, any case. */
static bool lookup_name(const char *arg, uint32_t *v)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(known); i++) {
        const char *name = iscsi_hba_isdsc_name(known[i].value);

        if (!strcasecmp(arg, name) ||
            (!strncmp(name, "ISDSC_", 6) && !strcasecmp(arg, name + 6))) {
            *v = known[i].value;
            return true;
        }
    }
    return false;
}

static int decode_arg(const char *arg)
{
    uint32_t v;

    if (isdigit((unsigned char)arg[0])) {
        if (!parse_number(arg, &v)) {
            fprintf(stderr, "isdsc: '%s' is not a 32-bit number\n", arg);
            return EXIT_BAD_ARGUMENT;
        }
    } else if (!lookup_name(arg, &v)) {
        fprintf(stderr, "isdsc: '%s' is not an ISDSC name\n", arg);
        return EXIT_BAD_ARGUMENT;
    }
    return print_value(v);
}

int main(int argc, char **argv)
{
    int ret = 0;
    int i;

    if (argc < 2) {
        usage(stderr);
        return EXIT_BAD_ARGUMENT;
    }
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    }

    for (i = 1; i < argc; i++) {
        int r = 0;

        if (!strcmp(argv[i], "--list")) {
            size_t j;

            for (j = 0; j < ARRAY_SIZE(known); j++) {
                print_value(known[j].value);
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "isdsc: unknown option '%s' (try --help)\n",
                    argv[i]);
            r = EXIT_BAD_ARGUMENT;
        } else {
            r = decode_arg(argv[i]);
        }
        if (r > ret) {
            ret = r;
        }
    }
    return ret;
}
