/*
 * iscsi-hba: resolve a portal host name without blocking the VM
 *
 * libiscsi resolves names with a blocking getaddrinfo() on the calling
 * thread, so the device resolves in QEMU's thread pool first and hands
 * libiscsi a numeric "address:port" ("[v6]:port" for IPv6).
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/thread-pool.h"
#include "session.h"
#include "trace.h"

struct IscsiHbaResolve {
    char *host;
    uint16_t port;
    char *portal;                   /* result, NULL on failure */
    int err;                        /* getaddrinfo() error */
    IscsiHbaResolveCb *cb;
    void *opaque;
    bool cancelled;
};

/* Runs in a worker thread: touches nothing but *r. */
static int resolve_worker(void *opaque)
{
    IscsiHbaResolve *r = opaque;
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
    };
    struct addrinfo *res = NULL;
    char port[8], addr[NI_MAXHOST];

    snprintf(port, sizeof(port), "%u", r->port);
    r->err = getaddrinfo(r->host, port, &hints, &res);
    if (r->err) {
        return 0;
    }
    r->err = getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr),
                         NULL, 0, NI_NUMERICHOST);
    if (!r->err) {
        r->portal = g_strdup_printf(res->ai_family == AF_INET6 ?
                                    "[%s]:%u" : "%s:%u", addr, r->port);
    }
    freeaddrinfo(res);
    return 0;
}

/* Back in the main loop. */
static void resolve_done(void *opaque, int ret)
{
    IscsiHbaResolve *r = opaque;

    trace_iscsi_hba_resolved(r->host, r->portal ?: "", r->err);
    if (!r->cancelled) {
        r->cb(r->opaque, r->portal, r->err);
    }
    g_free(r->host);
    g_free(r->portal);
    g_free(r);
}

IscsiHbaResolve *iscsi_hba_resolve(const char *host, uint16_t port,
                                   IscsiHbaResolveCb *cb, void *opaque)
{
    IscsiHbaResolve *r = g_new0(IscsiHbaResolve, 1);

    r->host = g_strdup(host);
    r->port = port;
    r->cb = cb;
    r->opaque = opaque;
    thread_pool_submit_aio(resolve_worker, r, resolve_done, r);
    return r;
}

/* The caller goes away: the lookup finishes, but nobody is called. */
void iscsi_hba_resolve_cancel(IscsiHbaResolve *r)
{
    r->cancelled = true;
}
