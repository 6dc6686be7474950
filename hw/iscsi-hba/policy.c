/*
 * iscsi-hba: which portals a guest may make the host connect to
 *
 * A guest LOGIN or DISCOVERY makes QEMU resolve a name and open a TCP
 * connection from the host.  Where it may go is the host's decision, the
 * guest-portals property:
 *
 *   host-targets (default)  only the portals of this adapter's
 *                           iscsi-hba-target objects, host and port
 *                           exactly as configured
 *   none                    no guest-initiated connection at all
 *   any                     anywhere the host can reach, names included
 *   a ';'-separated list    of "host-targets" and NET[:PORT[-PORT]]
 *                           entries, NET being IPv4[/len] or [IPv6][/len];
 *                           the guest must give a numeric address, so
 *                           that no name lookup leaves the host
 *
 * A refused LOGIN or DISCOVERY completes with
 * ISDSC_RESTRICTED_BY_GROUP_POLICY; nothing is resolved or connected.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include "iscsi-hba.h"

typedef struct PortalNet {
    int family;                     /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;                /* bits */
    uint16_t port_lo, port_hi;
} PortalNet;

struct IscsiHbaPolicy {
    bool any;
    bool host_targets;
    GArray *nets;                   /* of PortalNet */
};

static bool parse_port(const char *text, uint16_t *port)
{
    unsigned long p;

    if (qemu_strtoul(text, NULL, 10, &p) || p == 0 || p > 65535) {
        return false;
    }
    *port = p;
    return true;
}

/* PORT or PORT-PORT */
static bool parse_ports(const char *text, PortalNet *n)
{
    g_autofree char *lo = g_strdup(text);
    char *dash = strchr(lo, '-');

    if (dash) {
        *dash = '\0';
    }
    if (!parse_port(lo, &n->port_lo) ||
        !parse_port(dash ? dash + 1 : lo, &n->port_hi)) {
        return false;
    }
    return n->port_lo <= n->port_hi;
}

static bool parse_addr(const char *text, PortalNet *n)
{
    n->family = strchr(text, ':') ? AF_INET6 : AF_INET;
    return inet_pton(n->family, text, n->addr) == 1;
}

/* NET[:PORTS], NET = a.b.c.d[/len] or [v6][/len] */
static bool parse_net(const char *entry, PortalNet *n)
{
    g_autofree char *copy = g_strdup(entry);
    char *addr = copy, *rest, *slash, *colon;
    unsigned long len;

    if (*addr == '[') {
        rest = strchr(addr, ']');
        if (!rest) {
            return false;
        }
        *rest++ = '\0';
        addr++;
        if (!strchr(addr, ':')) {
            return false;
        }
    } else {
        rest = addr + strcspn(addr, "/:");
        if (strchr(rest, '[')) {
            return false;
        }
    }
    colon = strchr(rest, ':');
    if (colon) {
        *colon = '\0';
    }
    slash = strchr(rest, '/');
    if (slash && slash != rest) {
        return false;               /* junk between address and /len */
    }
    if (slash) {
        *slash = '\0';
    } else if (*rest) {
        return false;
    }
    if (!parse_addr(addr, n)) {
        return false;
    }
    n->prefix = n->family == AF_INET ? 32 : 128;
    if (slash) {
        if (qemu_strtoul(slash + 1, NULL, 10, &len) || len > n->prefix) {
            return false;
        }
        n->prefix = len;
    }
    n->port_lo = 1;
    n->port_hi = 65535;
    return !colon || parse_ports(colon + 1, n);
}

static bool prefix_matches(const uint8_t *a, const uint8_t *b,
                           unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;

    if (memcmp(a, b, bytes)) {
        return false;
    }
    return !rest || !((a[bytes] ^ b[bytes]) & (0xff << (8 - rest)));
}

static bool nets_allow(IscsiHbaPolicy *p, const char *host, uint16_t port)
{
    uint8_t addr[16];
    int family = strchr(host, ':') ? AF_INET6 : AF_INET;
    unsigned i;

    if (!p->nets || inet_pton(family, host, addr) != 1) {
        return false;               /* names are never looked up here */
    }
    for (i = 0; i < p->nets->len; i++) {
        PortalNet *n = &g_array_index(p->nets, PortalNet, i);

        if (n->family == family && port >= n->port_lo &&
            port <= n->port_hi && prefix_matches(addr, n->addr, n->prefix)) {
            return true;
        }
    }
    return false;
}

static bool policy_parse(IscsiHbaPolicy *p, const char *text, Error **errp)
{
    g_auto(GStrv) entries = g_strsplit(text, ";", -1);
    unsigned i;

    if (!strcmp(text, "any")) {
        p->any = true;
        return true;
    }
    if (!strcmp(text, "none")) {
        return true;
    }
    if (!*text) {
        error_setg(errp, "guest-portals: empty; say 'none' to refuse every "
                   "portal");
        return false;
    }
    for (i = 0; entries[i]; i++) {
        g_autofree char *e = g_strstrip(g_strdup(entries[i]));
        PortalNet n = { 0 };

        if (!strcmp(e, "host-targets")) {
            p->host_targets = true;
        } else if (parse_net(e, &n)) {
            if (!p->nets) {
                p->nets = g_array_new(false, false, sizeof(PortalNet));
            }
            g_array_append_val(p->nets, n);
        } else {
            error_setg(errp, "guest-portals: '%s' is not 'host-targets' nor "
                       "ADDRESS[/LEN][:PORT[-PORT]] (IPv6 as [ADDRESS]); "
                       "use 'none', 'any', or entries separated by ';'", e);
            return false;
        }
    }
    return true;
}

bool iscsi_hba_policy_init(IscsiHbaState *s, Error **errp)
{
    IscsiHbaPolicy *p = g_new0(IscsiHbaPolicy, 1);

    if (!s->guest_portals_prop) {
        p->host_targets = true;
    } else if (!policy_parse(p, s->guest_portals_prop, errp)) {
        if (p->nets) {
            g_array_free(p->nets, true);
        }
        g_free(p);
        return false;
    }
    s->policy = p;
    return true;
}

void iscsi_hba_policy_cleanup(IscsiHbaState *s)
{
    if (s->policy && s->policy->nets) {
        g_array_free(s->policy->nets, true);
    }
    g_free(s->policy);
    s->policy = NULL;
}

bool iscsi_hba_policy_allows(IscsiHbaState *s, const char *host,
                             uint16_t port)
{
    IscsiHbaPolicy *p = s->policy;

    return p->any ||
           (p->host_targets &&
            iscsi_hba_host_targets_has_portal(s, host, port)) ||
           nets_allow(p, host, port);
}
