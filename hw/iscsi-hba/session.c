/*
 * iscsi-hba: iSCSI session table
 *
 * A session id is (generation << 16) | (slot + 1): never 0, and a stale id
 * of a reused slot does not match the new session.  The id stays the same
 * across reconnects of the session.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "iscsi-hba.h"

struct IscsiHbaSession {
    uint32_t id;
};

void iscsi_hba_sessions_init(IscsiHbaState *s)
{
    s->sessions = g_new0(IscsiHbaSession *, s->max_sessions);
}

void iscsi_hba_sessions_cleanup(IscsiHbaState *s)
{
    unsigned i;

    for (i = 0; i < s->max_sessions; i++) {
        g_free(s->sessions[i]);
    }
    g_free(s->sessions);
    s->sessions = NULL;
}

IscsiHbaSession *iscsi_hba_session_lookup(IscsiHbaState *s, uint32_t id)
{
    uint32_t slot = extract32(id, 0, 16);
    IscsiHbaSession *sess;

    if (slot == 0 || slot > s->max_sessions) {
        return NULL;
    }
    sess = s->sessions[slot - 1];
    return sess && sess->id == id ? sess : NULL;
}

unsigned iscsi_hba_session_ids(IscsiHbaState *s, uint32_t *ids, unsigned max)
{
    unsigned i, n = 0;

    for (i = 0; i < s->max_sessions && n < max; i++) {
        if (s->sessions[i]) {
            ids[n++] = s->sessions[i]->id;
        }
    }
    return n;
}

unsigned iscsi_hba_session_count(IscsiHbaState *s)
{
    unsigned i, n = 0;

    for (i = 0; i < s->max_sessions; i++) {
        n += s->sessions[i] != NULL;
    }
    return n;
}
