/*
 * iscsi-hba: the QEMU API differences between the releases it builds in
 *
 * The one place that knows QEMU versions (10.0 and 10.2 are built and
 * tested).  scripts/export-series.sh replaces this header by what it
 * stands for in the release a patch series targets, so upstream code
 * never carries it.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ISCSI_HBA_QEMU_COMPAT_H
#define HW_ISCSI_HBA_QEMU_COMPAT_H

/* QEMU 11 moved the qdev headers to include/hw/core/. */
#if __has_include("hw/core/qdev-properties.h")
#include "hw/core/qdev-properties.h"
#else
#include "hw/qdev-properties.h"
#endif

/* QEMU 10.1 made the class data of TypeInfo.class_init const. */
#if QEMU_VERSION_MAJOR > 10 || QEMU_VERSION_MINOR >= 1
typedef const void *IscsiHbaClassData;
#else
typedef void *IscsiHbaClassData;
#endif

#endif
