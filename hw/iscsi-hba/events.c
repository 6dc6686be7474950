/*
 * iscsi-hba: asynchronous events
 *
 * The driver keeps up to ISCSI_HBA_MAX_AER ASYNC_EVENT requests
 * outstanding; each completes when an event occurs.  Events with no
 * request waiting are queued, and when the queue is full one OVERFLOW
 * event tells the driver that it must re-read the state it cares about.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "iscsi-hba.h"
#include "trace.h"

static bool event_pop(IscsiHbaState *s, IscsiHbaEvent *ev)
{
    if (s->event_count) {
        *ev = s->events[0];
        s->event_count--;
        memmove(&s->events[0], &s->events[1],
                s->event_count * sizeof(s->events[0]));
        return true;
    }
    if (s->event_overflow) {
        *ev = (IscsiHbaEvent) { .type = ISCSI_HBA_EVENT_OVERFLOW };
        s->event_overflow = false;
        return true;
    }
    return false;
}

static IscsiHbaRequest *aer_pop(IscsiHbaState *s)
{
    IscsiHbaRequest *req = s->aer[0];

    s->aer_count--;
    memmove(&s->aer[0], &s->aer[1], s->aer_count * sizeof(s->aer[0]));
    return req;
}

static void events_deliver(IscsiHbaState *s)
{
    IscsiHbaRequest *req;
    IscsiHbaEvent ev;

    while (s->aer_count && event_pop(s, &ev)) {
        req = aer_pop(s);
        trace_iscsi_hba_event_deliver(ev.type, ev.session_id, ev.status);
        req->cqe.result = ev.type | ((uint64_t)ev.session_id << 32);
        req->cqe.info = ev.status;
        iscsi_hba_req_complete(req);
    }
}

void iscsi_hba_event_request(IscsiHbaRequest *req)
{
    IscsiHbaState *s = req->q->s;

    if (s->aer_count == ISCSI_HBA_MAX_AER) {
        iscsi_hba_req_fail(req, ISDSC_INVALID_PARAMETER,
                           ISCSI_HBA_DETAIL_AER_LIMIT);
        return;
    }
    s->aer[s->aer_count++] = req;
    events_deliver(s);
}

void iscsi_hba_event_post(IscsiHbaState *s, uint8_t type,
                          uint32_t session_id, uint32_t status)
{
    trace_iscsi_hba_event_post(type, session_id, status);
    if (s->event_count == ISCSI_HBA_MAX_EVENTS) {
        s->event_overflow = true;
    } else {
        s->events[s->event_count++] = (IscsiHbaEvent) {
            .type = type, .session_id = session_id, .status = status,
        };
    }
    events_deliver(s);
}

/* Controller reset: outstanding requests vanish with the admin queue. */
void iscsi_hba_events_reset(IscsiHbaState *s)
{
    s->aer_count = 0;
    s->event_count = 0;
    s->event_overflow = false;
}
