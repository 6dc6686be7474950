/*
 * Stand-in for QEMU's "qemu/osdep.h" in the project's own meson build, so
 * that pure-logic files of hw/iscsi-hba/ compile unchanged both inside a
 * QEMU tree and without one.  It provides only the subset of what the real
 * osdep.h provides that those files may use: the C library headers below
 * and GLib.  Never add QEMU APIs here; a file that needs them is not pure
 * logic and is tested by qtest instead.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <glib.h>

/* What QEMU's config-host.h says about the host, for code that asks. */
#ifdef __linux__
#define CONFIG_LINUX 1
#endif

#endif /* QEMU_OSDEP_H */
