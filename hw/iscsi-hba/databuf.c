/*
 * iscsi-hba: data buffers of SCSI commands
 *
 * A command's scatter-gather list becomes the iovec libiscsi sends from or
 * receives into.  Guest RAM is mapped and used in place.  Anything else
 * (device memory, the PCI hole, memory the mapping API only offers through
 * its own bounce buffer) is copied through a bounce buffer taken from a
 * per-adapter budget of max-transfer bytes: no guest-sized allocation
 * exists beyond it, and a command that finds the budget used up completes
 * with ISDSC_OUT_OF_RESOURCES.
 *
 * Who may touch guest memory when:
 *   - WRITE data is copied in when the command is submitted, from the
 *     guarded queue bottom half;
 *   - READ data in bounced pieces is copied out only by
 *     iscsi_hba_databuf_complete(), which the queue bottom half calls when
 *     it posts the completion;
 *   - iscsi_hba_databuf_release() gives the guest memory back without
 *     writing a byte, from any context.  libiscsi may go on using the
 *     iovec afterwards (Data-Out still queued, late Data-In), so the iovec
 *     is pointed at host memory that holds nothing of value: a zero page
 *     for outgoing data, a scratch area for incoming data.
 *
 * Mapped pieces are always guest RAM: unmapping them writes nothing.  A
 * READ's are unmapped with their full length, since libiscsi may have
 * written any part of them (that marks the pages dirty, nothing more).
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include "system/dma.h"
#include "databuf.h"
#include "trace.h"

typedef struct DataPiece {
    dma_addr_t addr;                /* guest address */
    bool bounced;                   /* else mapped guest RAM */
} DataPiece;

struct IscsiHbaDataBuf {
    IscsiHbaState *s;
    DMADirection dir;
    uint32_t len;
    struct scsi_iovec *iov;         /* what libiscsi sees */
    DataPiece *pieces;              /* one per iov entry */
    int niov;
    int cap;
    uint8_t *bounce;                /* all bounced pieces, back to back */
    uint32_t bounce_len;
    bool released;                  /* guest memory given back */
};

static AddressSpace *buf_as(IscsiHbaDataBuf *b)
{
    return pci_get_address_space(PCI_DEVICE(b->s));
}

static void add_piece(IscsiHbaDataBuf *b, dma_addr_t addr, void *host,
                      dma_addr_t len, bool bounced)
{
    if (b->niov == b->cap) {
        b->cap = MAX(4, b->cap * 2);
        b->iov = g_renew(struct scsi_iovec, b->iov, b->cap);
        b->pieces = g_renew(DataPiece, b->pieces, b->cap);
    }
    b->iov[b->niov].iov_base = host;
    b->iov[b->niov].iov_len = len;
    b->pieces[b->niov].addr = addr;
    b->pieces[b->niov].bounced = bounced;
    b->niov++;
}

/*
 * Map as much of [addr, addr + *len) as is guest RAM.  The mapping API
 * hands out a bounce buffer of its own for other memory and writes it
 * back at unmap time; that write-back would be a guest-memory write
 * outside our control, so such mappings are given back at once.
 */
static void *map_ram(IscsiHbaDataBuf *b, dma_addr_t addr, dma_addr_t *len)
{
    ram_addr_t offset;
    void *p = dma_memory_map(buf_as(b), addr, len, b->dir,
                             MEMTXATTRS_UNSPECIFIED);

    if (p && !memory_region_from_host(p, &offset)) {
        dma_memory_unmap(buf_as(b), p, *len, b->dir, 0);
        p = NULL;
    }
    return p;
}

/* Pieces whose host pointer is still NULL get their bounce space. */
static void assign_bounce(IscsiHbaDataBuf *b)
{
    uint32_t off = 0;
    int i;

    for (i = 0; i < b->niov; i++) {
        if (b->pieces[i].bounced) {
            b->iov[i].iov_base = b->bounce + off;
            off += b->iov[i].iov_len;
        }
    }
}

static bool bounce_reserve(IscsiHbaState *s, uint32_t len)
{
    if (len > s->max_transfer - s->bounce_used) {
        return false;
    }
    s->bounce_used += len;
    return true;
}

static void bounce_unreserve(IscsiHbaDataBuf *b)
{
    if (b->bounce) {
        b->s->bounce_used -= b->bounce_len;
        g_free(b->bounce);
        b->bounce = NULL;
    }
}

/* WRITE: fetch the bounced pieces from the guest now. */
static bool bounce_fill(IscsiHbaDataBuf *b)
{
    int i;

    for (i = 0; i < b->niov; i++) {
        if (b->pieces[i].bounced &&
            dma_memory_read(buf_as(b), b->pieces[i].addr, b->iov[i].iov_base,
                            b->iov[i].iov_len,
                            MEMTXATTRS_UNSPECIFIED) != MEMTX_OK) {
            return false;
        }
    }
    return true;
}

/* Lay out the pieces: mapped RAM where possible, bounce for the rest. */
static bool layout_pieces(IscsiHbaDataBuf *b, QEMUSGList *qsg)
{
    int i;

    for (i = 0; i < qsg->nsg; i++) {
        dma_addr_t addr = qsg->sg[i].base;
        dma_addr_t left = qsg->sg[i].len;

        while (left) {
            dma_addr_t len = left;
            void *p = map_ram(b, addr, &len);

            if (!p) {
                /* The rest of this element goes through the bounce. */
                if (!dma_memory_valid(buf_as(b), addr, left, b->dir,
                                      MEMTXATTRS_UNSPECIFIED)) {
                    return false;
                }
                len = left;
                b->bounce_len += len;
            }
            add_piece(b, addr, p, len, !p);
            addr += len;
            left -= len;
        }
    }
    return true;
}

bool iscsi_hba_databuf_prepare(IscsiHbaState *s, QEMUSGList *qsg,
                               DMADirection dir, IscsiHbaDataBuf **out,
                               uint32_t *status, uint16_t *detail)
{
    IscsiHbaDataBuf *b = g_new0(IscsiHbaDataBuf, 1);

    b->s = s;
    b->dir = dir;
    b->len = qsg->size;
    *status = ISDSC_INVALID_PARAMETER;
    *detail = ISCSI_HBA_DETAIL_DMA_ERROR;
    if (!layout_pieces(b, qsg)) {
        goto fail;
    }
    if (b->bounce_len) {
        if (!bounce_reserve(s, b->bounce_len)) {
            trace_iscsi_hba_bounce_busy(b->bounce_len, s->bounce_used);
            *status = ISDSC_OUT_OF_RESOURCES;
            *detail = ISCSI_HBA_DETAIL_NONE;
            goto fail;
        }
        trace_iscsi_hba_bounce(b->bounce_len);
        b->bounce = g_malloc0(b->bounce_len);
        assign_bounce(b);
        if (dir == DMA_DIRECTION_TO_DEVICE && !bounce_fill(b)) {
            goto fail;
        }
    }
    *out = b;
    return true;

fail:
    iscsi_hba_databuf_free(b);
    return false;
}

bool iscsi_hba_databuf_released(IscsiHbaDataBuf *b)
{
    return b->released;
}

struct scsi_iovec *iscsi_hba_databuf_iov(IscsiHbaDataBuf *b, int *niov)
{
    *niov = b->niov;
    return b->iov;
}

/* Host memory an abandoned iovec may point at: len bytes at least. */
static void *sink(IscsiHbaDataBuf *b)
{
    IscsiHbaState *s = b->s;

    if (b->dir == DMA_DIRECTION_TO_DEVICE) {
        /* Only ever read by libiscsi: stays zero. */
        if (!s->zero_sink) {
            s->zero_sink = g_malloc0(s->max_transfer);
        }
        return s->zero_sink;
    }
    if (!s->scratch_sink) {
        s->scratch_sink = g_malloc0(s->max_transfer);
    }
    return s->scratch_sink;
}

static void unmap_pieces(IscsiHbaDataBuf *b)
{
    int i;

    for (i = 0; i < b->niov; i++) {
        size_t len = b->iov[i].iov_len;

        if (!b->pieces[i].bounced) {
            dma_memory_unmap(buf_as(b), b->iov[i].iov_base, len, b->dir,
                             b->dir == DMA_DIRECTION_FROM_DEVICE ? len : 0);
        }
    }
}

/* Give the guest memory back without writing any of it. */
static void give_back(IscsiHbaDataBuf *b)
{
    if (!b->released) {
        unmap_pieces(b);
        bounce_unreserve(b);
        b->released = true;
    }
}

void iscsi_hba_databuf_release(IscsiHbaDataBuf *b)
{
    void *zero;
    int i;

    if (!b || b->released) {
        return;
    }
    give_back(b);
    zero = sink(b);
    for (i = 0; i < b->niov; i++) {
        b->iov[i].iov_base = zero;
    }
}

/*
 * Copy the first @done bytes of bounced READ data to the guest.  Stops
 * early if a write resets @q (through another device): nothing more may
 * be written then.
 */
bool iscsi_hba_databuf_complete(IscsiHbaDataBuf *b, uint32_t done,
                                IscsiHbaQueue *q, uint32_t epoch)
{
    uint32_t left = MIN(done, b->len);
    bool ok = true;
    int i;

    assert(!b->released);
    for (i = 0; i < b->niov && left && ok; i++) {
        uint32_t n = MIN(b->iov[i].iov_len, left);

        if (b->pieces[i].bounced &&
            (!iscsi_hba_dma_range_ok(b->s, b->pieces[i].addr, n) ||
             dma_memory_write(buf_as(b), b->pieces[i].addr,
                              b->iov[i].iov_base, n,
                              MEMTXATTRS_UNSPECIFIED) != MEMTX_OK ||
             q->epoch != epoch)) {
            ok = false;
        }
        left -= n;
    }
    give_back(b);
    return ok;
}

void iscsi_hba_databuf_free(IscsiHbaDataBuf *b)
{
    if (!b) {
        return;
    }
    give_back(b);
    g_free(b->iov);
    g_free(b->pieces);
    g_free(b);
}
