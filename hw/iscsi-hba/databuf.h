/*
 * iscsi-hba: data buffers of SCSI commands -- internal interface
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ISCSI_HBA_DATABUF_H
#define HW_ISCSI_HBA_DATABUF_H

#include "iscsi-hba.h"

struct scsi_iovec;

/*
 * Map or bounce @qsg for a transfer in direction @dir (queue bottom half
 * only: a WRITE's bounced pieces are read from the guest here).  On
 * failure returns false with the completion's status and detail.
 */
bool iscsi_hba_databuf_prepare(IscsiHbaState *s, QEMUSGList *qsg,
                               DMADirection dir, IscsiHbaDataBuf **out,
                               uint32_t *status, uint16_t *detail);
struct scsi_iovec *iscsi_hba_databuf_iov(IscsiHbaDataBuf *b, int *niov);
bool iscsi_hba_databuf_released(IscsiHbaDataBuf *b);
/* Queue bottom half only: deliver @done bytes of READ data. */
bool iscsi_hba_databuf_complete(IscsiHbaDataBuf *b, uint32_t done,
                                IscsiHbaQueue *q, uint32_t epoch);
/* Any context: give guest memory back, write nothing, keep the iovec. */
void iscsi_hba_databuf_release(IscsiHbaDataBuf *b);
void iscsi_hba_databuf_free(IscsiHbaDataBuf *b);

#endif
