/*
 * iscsi-hba: resolve a portal host name without blocking the VM
 *
 * libiscsi resolves names with a blocking getaddrinfo() on the calling
 * thread, so the device resolves in QEMU's thread pool first and hands
 * libiscsi a numeric "address:port" ("[v6]:port" for IPv6).
 *
 * The thread pool is shared with the block layer, and a lookup cannot be
 * interrupted: a guest naming slow names could fill it.  So an adapter
 * has at most MAX_NAME_LOOKUPS names in the pool at a time, counting the
 * lookups whose caller went away; numeric addresses return at once and
 * are not counted.  The count lives in a small shared object that an
 * outstanding lookup keeps alive past the adapter's end.
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

#define MAX_NAME_LOOKUPS 4

struct IscsiHbaResolveLimit {
    unsigned refs;
    unsigned names;                 /* non-numeric lookups in the pool */
};

struct IscsiHbaResolve {
    IscsiHbaResolveLimit *limit;
    bool counted;
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

static void limit_unref(IscsiHbaResolveLimit *l)
{
    if (!--l->refs) {
        g_free(l);
    }
}

bool iscsi_hba_host_is_numeric(const char *host)
{
    struct addrinfo hints = {
        .ai_flags = AI_NUMERICHOST,
        .ai_socktype = SOCK_STREAM,
    };
    struct addrinfo *res = NULL;

    if (getaddrinfo(host, NULL, &hints, &res)) {
        return false;
    }
    freeaddrinfo(res);
    return true;
}

/* Would a lookup of @host now exceed the adapter's share of the pool? */
bool iscsi_hba_resolve_busy(IscsiHbaState *s, const char *host)
{
    return s->resolve_limit->names >= MAX_NAME_LOOKUPS &&
           !iscsi_hba_host_is_numeric(host);
}

void iscsi_hba_resolve_init(IscsiHbaState *s)
{
    s->resolve_limit = g_new0(IscsiHbaResolveLimit, 1);
    s->resolve_limit->refs = 1;
}

void iscsi_hba_resolve_cleanup(IscsiHbaState *s)
{
    if (s->resolve_limit) {
        limit_unref(s->resolve_limit);
        s->resolve_limit = NULL;
    }
}

/* Back in the main loop. */
static void resolve_done(void *opaque, int ret)
{
    IscsiHbaResolve *r = opaque;

    trace_iscsi_hba_resolved(r->host, r->portal ?: "", r->err);
    if (r->counted) {
        r->limit->names--;
    }
    limit_unref(r->limit);
    if (!r->cancelled) {
        r->cb(r->opaque, r->portal, r->err);
    }
    g_free(r->host);
    g_free(r->portal);
    g_free(r);
}

IscsiHbaResolve *iscsi_hba_resolve(IscsiHbaState *s, const char *host,
                                   uint16_t port, IscsiHbaResolveCb *cb,
                                   void *opaque)
{
    IscsiHbaResolve *r = g_new0(IscsiHbaResolve, 1);

    r->limit = s->resolve_limit;
    r->limit->refs++;
    if (!iscsi_hba_host_is_numeric(host)) {
        r->counted = true;
        r->limit->names++;
    }
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
