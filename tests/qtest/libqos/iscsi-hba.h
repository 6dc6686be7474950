/*
 * libqos driver helper for the iscsi-hba PCI device
 *
 * A minimal guest driver for qtests: finds the device on a pc machine's
 * PCI bus, maps BAR0, brings up the admin queue pair and I/O queue pairs
 * in guest memory, submits SQEs and reaps CQEs by their phase bit.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_ISCSI_HBA_H
#define LIBQOS_ISCSI_HBA_H

#include "../libqtest.h"
#include "pci.h"
#include "libqos-malloc.h"
#include "hw/iscsi-hba/iscsi-hba-abi.h"

#define QIHBA_NUM_QUEUES        (ISCSI_HBA_MAX_IO_QUEUES_LIMIT + 1)
#define QIHBA_SQE_SIZE          ((uint64_t)sizeof(struct iscsi_hba_sqe))
#define QIHBA_CQE_SIZE          ((uint64_t)sizeof(struct iscsi_hba_cqe))
/* How long qihba_wait_cqe() waits for a completion before failing. */
#define QIHBA_TIMEOUT_US        (5 * G_USEC_PER_SEC)

/* Driver-side state of one SQ/CQ pair (qid 0 is the admin pair). */
typedef struct QIscsiHbaQueue {
    bool live;              /* created (I/O) or enabled (admin) */
    uint64_t sq_base;
    uint64_t cq_base;
    uint16_t sq_size;
    uint16_t cq_size;
    uint16_t sq_tail;       /* next SQ slot the driver fills */
    uint16_t cq_head;       /* next CQ slot the driver consumes */
    uint8_t phase;          /* phase a valid CQE at cq_head carries */
} QIscsiHbaQueue;

typedef struct QIscsiHba {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
    uint64_t bar_size;
    uint16_t next_cid;
    QIscsiHbaQueue q[QIHBA_NUM_QUEUES];
} QIscsiHba;

/* Setup and teardown */
QIscsiHba *qihba_init(QTestState *qts);
void qihba_free(QIscsiHba *h);
QIscsiHba *qihba_start(const char *device_opts);
void qihba_quit(QIscsiHba *h);
bool qihba_alive(QIscsiHba *h);

/* Registers */
uint32_t qihba_readl(QIscsiHba *h, uint64_t reg);
void qihba_writel(QIscsiHba *h, uint64_t reg, uint32_t val);

/* MSI-X (qpci_msix_enable moves BAR0: use these) */
void qihba_msix_enable(QIscsiHba *h);
void qihba_msix_vector(QIscsiHba *h, uint16_t vector, uint64_t addr,
                       uint32_t data);
void qihba_msix_mask(QIscsiHba *h, uint16_t vector, bool masked);

/* Controller enable / disable */
void qihba_set_admin_regs(QIscsiHba *h, uint64_t sq_base, uint64_t cq_base,
                          uint16_t sq_size, uint16_t cq_size);
void qihba_enable_sized(QIscsiHba *h, uint16_t sq_size, uint16_t cq_size);
void qihba_enable(QIscsiHba *h, uint16_t entries);
void qihba_disable(QIscsiHba *h);

/* Queues */
void qihba_sq_put(QIscsiHba *h, uint16_t qid, struct iscsi_hba_sqe *sqe);
void qihba_sq_ring(QIscsiHba *h, uint16_t qid);
uint16_t qihba_submit(QIscsiHba *h, uint16_t qid, struct iscsi_hba_sqe *sqe);
bool qihba_peek_cqe(QIscsiHba *h, uint16_t qid, uint16_t ahead,
                    struct iscsi_hba_cqe *out);
void qihba_wait_peek(QIscsiHba *h, uint16_t qid, uint16_t ahead,
                     struct iscsi_hba_cqe *out);
void qihba_consume(QIscsiHba *h, uint16_t qid, uint16_t n);
void qihba_wait_cqe(QIscsiHba *h, uint16_t qid, struct iscsi_hba_cqe *out);
void qihba_settle(QIscsiHba *h);
void qihba_cmd(QIscsiHba *h, uint16_t qid, struct iscsi_hba_sqe *sqe,
               struct iscsi_hba_cqe *cqe);
void qihba_admin(QIscsiHba *h, struct iscsi_hba_sqe *sqe,
                 struct iscsi_hba_cqe *cqe);

/* Command builders (zero the SQE, fill opcode and body) */
void qihba_sqe_init(struct iscsi_hba_sqe *sqe, uint8_t opcode);
void qihba_sqe_buffer(struct iscsi_hba_sqe *sqe, uint8_t opcode,
                      uint64_t addr, uint32_t len);
void qihba_sqe_create_queue(struct iscsi_hba_sqe *sqe, uint16_t qid,
                            uint64_t sq_base, uint64_t cq_base,
                            uint16_t sq_size, uint16_t cq_size,
                            uint16_t vector, bool irq);
void qihba_sqe_delete_queue(struct iscsi_hba_sqe *sqe, uint16_t qid);
/* SCSI_CMD to LUN @lun of @sid, no data elements and no sense buffer yet. */
void qihba_sqe_scsi(struct iscsi_hba_sqe *sqe, uint32_t sid, unsigned lun,
                    uint8_t dir, const uint8_t *cdb, uint8_t cdb_len,
                    uint32_t data_len);
/* Append an inline data element to a SCSI_CMD. */
void qihba_sqe_add_sg(struct iscsi_hba_sqe *sqe, uint64_t addr, uint32_t len);
/* TASK_MGMT @function on LUN @lun of @sid, for command @ref_cid. */
void qihba_sqe_tmf(struct iscsi_hba_sqe *sqe, uint32_t sid, unsigned lun,
                   uint8_t function, uint16_t ref_sqid, uint16_t ref_cid);
/* The CDB of READ or WRITE (10 or 16) of @blocks at @lba. */
void qihba_cdb_rw(uint8_t cdb[16], uint8_t *cdb_len, uint8_t op,
                  uint64_t lba, uint32_t blocks);

/* Common admin commands; they return the CQE status */
uint32_t qihba_identify(QIscsiHba *h, struct iscsi_hba_identify *id);
uint32_t qihba_create_io_queue(QIscsiHba *h, uint16_t qid, uint16_t sq_size,
                               uint16_t cq_size, uint16_t vector, bool irq);
uint32_t qihba_delete_io_queue(QIscsiHba *h, uint16_t qid);

/* Guest memory */
/* Allocate @size bytes of guest memory, every byte set to @fill. */
uint64_t qihba_alloc(QIscsiHba *h, size_t size, uint8_t fill);
/* Write the SG element {@addr, @len, @flags} to guest memory at @at. */
void qihba_put_sg(QIscsiHba *h, uint64_t at, uint64_t addr, uint32_t len,
                  uint32_t flags);

/* Checks */
/* Name of an ISDSC status for messages; "(unknown)" if not in the table. */
const char *qihba_isdsc(uint32_t status);
/* Assert a CQE's status and detail; a mismatch is logged, naming @what. */
void qihba_check_cqe(const char *what, const struct iscsi_hba_cqe *cqe,
                     uint32_t status, uint16_t detail);
/* Assert a successful SCSI_CMD: status GOOD, no sense data. */
void qihba_check_good(const char *what, const struct iscsi_hba_cqe *cqe);
/* Assert the device runs: CTRL.ENABLE, STATUS.READY alone, no fatal reason. */
void qihba_expect_running(QIscsiHba *h);
/* Assert STATUS.FATAL is set and FATAL_REASON is @reason. */
void qihba_expect_fatal(QIscsiHba *h, uint32_t reason);

/* QMP */
/* The device's entry of query-iscsi-hba (the only device); unref it. */
QDict *qihba_query(QIscsiHba *h);
/* The entry of queue @qid in a qihba_query() result, or NULL. */
QDict *qihba_query_queue(QDict *info, int qid);

/* QEMU processes of a test's own */
/*
 * Run $QTEST_QEMU_BINARY (split as a shell would, but no shell runs it)
 * with the NULL-terminated @args and wait up to @timeout_s seconds for it
 * to exit; then it is killed.  Returns true if it exited by itself; *code
 * gets its exit status, or minus the signal that killed it, and *err its
 * stderr without leading and trailing white space (free it).
 */
bool qihba_spawn_qemu(const char *const *args, int timeout_s, int *code,
                      char **err);

#endif
