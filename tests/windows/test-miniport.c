/*
 * The iscsi-hba Windows miniport (guest/windows), compiled for the host
 * and run against the real QEMU device and a real tgtd target, through
 * the STAND-IN Storport of storport-standin.c.  TAP output.
 *
 * What this shows: the miniport's own code (controller init, queues,
 * SRB translation, interrupts and DPC, abort and bus reset, WNODE
 * handling, MSiSCSI_Operations methods) works with the device.  What it
 * cannot show: that Windows' storport.sys, WMI and iSCSI service treat
 * the driver the same way (see guest/windows/README.md).
 *
 * Needs QEMU_BIN, root and tgt (tests/qtest/libqos/tgtd-fixture.h);
 * without tgtd every test is skipped with a reason naming tgtd.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "storport-standin.h"
#include "tgtd-fixture.h"

#define WAIT_MS         20000
#define BLOCK           512
#define LUN             1
#define SCSI_READ10     0x28
#define SCSI_WRITE10    0x2a
#define SCSI_TUR        0x00
#define SENSE_UNIT_ATTENTION 0x6
#define SENSE_ILLEGAL_REQUEST 0x5

static int test_no;
static int failures;
static TgtdFixture *fx;
static SpAdapter *ad;

static void tap(bool ok, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void tap(bool ok, const char *fmt, ...)
{
    va_list ap;

    printf("%sok %d - ", ok ? "" : "not ", ++test_no);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    failures += !ok;
}

static void diag(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* ---- WMI, as the iSCSI initiator service would send it ---- */

static const GUID operations_guid = MSiSCSI_OperationsGuid;
static const GUID hba_info_guid = MSiSCSI_HBAInformationGuid;
static const GUID mappings_guid = MSiSCSI_TargetMappingsGuid;
static const GUID sessions_guid = MSiSCSI_InitiatorSessionInfoGuid;

typedef struct WmiCall {
    SCSI_WMI_REQUEST_BLOCK srb;
    UCHAR *buf;
    ULONG data_off;
} WmiCall;

static UCHAR wmi_run(WmiCall *c)
{
    PSCSI_REQUEST_BLOCK srb = (void *)&c->srb;

    sp_start_io(ad, srb);
    if (!sp_wait(ad, srb, WAIT_MS)) {
        return 0xff;
    }
    return c->srb.SrbStatus;
}

/* EXECUTE_METHOD on MSiSCSI_Operations; the output is at wmi_out(). */
static UCHAR wmi_method(WmiCall *c, ULONG method, const void *in,
                        ULONG in_size, ULONG out_cap)
{
    WNODE_METHOD_ITEM *m;
    ULONG total;

    c->data_off = (sizeof(WNODE_METHOD_ITEM) + 7) & ~7u;
    total = c->data_off + MAX(in_size, out_cap);
    c->buf = g_malloc0(total);
    m = (void *)c->buf;
    m->WnodeHeader.BufferSize = total;
    m->WnodeHeader.Guid = operations_guid;
    m->WnodeHeader.Flags = WNODE_FLAG_METHOD_ITEM;
    m->MethodId = method;
    m->DataBlockOffset = c->data_off;
    m->SizeDataBlock = in_size;
    memcpy(c->buf + c->data_off, in, in_size);
    memset(&c->srb, 0, sizeof(c->srb));
    c->srb.Length = sizeof(c->srb);
    c->srb.Function = SRB_FUNCTION_WMI;
    c->srb.WMISubFunction = IRP_MN_EXECUTE_METHOD;
    c->srb.WMIFlags = SRB_WMI_FLAGS_ADAPTER_REQUEST;
    c->srb.DataBuffer = c->buf;
    c->srb.DataTransferLength = total;
    return wmi_run(c);
}

static UCHAR wmi_query(WmiCall *c, const GUID *guid, ULONG cap)
{
    WNODE_SINGLE_INSTANCE *w;

    c->data_off = (sizeof(WNODE_SINGLE_INSTANCE) + 7) & ~7u;
    c->buf = g_malloc0(c->data_off + cap);
    w = (void *)c->buf;
    w->WnodeHeader.BufferSize = c->data_off + cap;
    w->WnodeHeader.Guid = *guid;
    w->WnodeHeader.Flags = WNODE_FLAG_SINGLE_INSTANCE;
    w->DataBlockOffset = c->data_off;
    memset(&c->srb, 0, sizeof(c->srb));
    c->srb.Function = SRB_FUNCTION_WMI;
    c->srb.WMISubFunction = IRP_MN_QUERY_SINGLE_INSTANCE;
    c->srb.WMIFlags = SRB_WMI_FLAGS_ADAPTER_REQUEST;
    c->srb.DataBuffer = c->buf;
    c->srb.DataTransferLength = c->data_off + cap;
    return wmi_run(c);
}

static UCHAR wmi_request(WmiCall *c, UCHAR sub, ULONG size)
{
    memset(&c->srb, 0, sizeof(c->srb));
    c->srb.Function = SRB_FUNCTION_WMI;
    c->srb.WMISubFunction = sub;
    c->srb.WMIFlags = SRB_WMI_FLAGS_ADAPTER_REQUEST;
    c->srb.DataBuffer = c->buf;
    c->srb.DataTransferLength = size;
    return wmi_run(c);
}

static void *wmi_out(WmiCall *c)
{
    return c->buf + c->data_off;
}

static bool contains(const UCHAR *hay, ULONG n, const char *needle)
{
    ULONG len = strlen(needle), i;

    for (i = 0; i + len <= n; i++) {
        if (!memcmp(hay + i, needle, len)) {
            return true;
        }
    }
    return false;
}

static void wide(WCHAR *dst, const char *src)
{
    size_t i;

    for (i = 0; src[i]; i++) {
        dst[i] = (UCHAR)src[i];
    }
    dst[i] = 0;
}

/* LoginToTarget_IN with CHAP credentials appended (none if !user). */
static void *login_in(TgtdTargetId t, ULONG type, const char *user,
                      const char *secret, ULONG *size)
{
    ULONG fixed = sizeof(LoginToTarget_IN);
    ULONG ul = user ? strlen(user) : 0, pl = secret ? strlen(secret) : 0;
    LoginToTarget_IN *in;

    *size = MAX(fixed + ul + pl, sizeof(*in));
    in = g_malloc0(*size);
    in->SessionType = type;
    in->TargetPortal.Address.Type = ISCSI_IP_ADDRESS_TEXT;
    wide(in->TargetPortal.Address.TextAddress, fx->host);
    in->TargetPortal.Socket = fx->port;
    if (type != ISCSI_LOGINTARGET_DISCOVERY) {
        wide(in->TargetName, fx->target[t].name);
    }
    if (user) {
        in->LoginOptions.InformationSpecified =
            ISCSI_LOGIN_OPTIONS_AUTH_TYPE | ISCSI_LOGIN_OPTIONS_USERNAME |
            ISCSI_LOGIN_OPTIONS_PASSWORD;
        in->LoginOptions.AuthType = ISCSI_CHAP_AUTH_TYPE;
        in->UsernameSize = ul;
        in->PasswordSize = pl;
        memcpy((UCHAR *)in + fixed, user, ul);
        memcpy((UCHAR *)in + fixed + ul, secret, pl);
    }
    return in;
}

static ULONG login(TgtdTargetId t, ULONG type, const char *user,
                   const char *secret, ULONG64 *session, UCHAR *srb_status)
{
    g_autofree void *in = NULL;
    WmiCall c;
    LoginToTarget_OUT out;
    ULONG size;

    in = login_in(t, type, user, secret, &size);
    *srb_status = wmi_method(&c, LoginToTarget, in, size, sizeof(out));
    memcpy(&out, wmi_out(&c), sizeof(out));
    g_free(c.buf);
    *session = out.UniqueSessionId;
    return out.Status;
}

static ULONG logout(ULONG64 session)
{
    LogoutFromTarget_IN in = { .UniqueSessionId = session };
    WmiCall c;
    ULONG status;

    if (wmi_method(&c, LogoutFromTarget, &in, sizeof(in), 4) !=
        SRB_STATUS_SUCCESS) {
        status = 0xffffffffu;
    } else {
        memcpy(&status, wmi_out(&c), sizeof(status));
    }
    g_free(c.buf);
    return status;
}

static int target_of_session(ULONG64 session)
{
    int i;

    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        if (ad->ext->target[i].state == IHBA_TGT_UP &&
            ad->ext->target[i].session_id == session) {
            return i;
        }
    }
    return -1;
}

/* ---- SCSI SRBs, as the class driver would send them ---- */

typedef struct Io {
    SCSI_REQUEST_BLOCK srb;
    UCHAR sense[32];
} Io;

static Io *io_new(int target, UCHAR op, ULONG lba, ULONG blocks, void *buf,
                  ULONG len)
{
    Io *io = g_new0(Io, 1);
    PSCSI_REQUEST_BLOCK s = &io->srb;

    s->Length = sizeof(*s);
    s->Function = SRB_FUNCTION_EXECUTE_SCSI;
    s->TargetId = (UCHAR)target;
    s->Lun = LUN;
    s->CdbLength = op == SCSI_TUR ? 6 : 10;
    s->Cdb[0] = op;
    if (op != SCSI_TUR) {
        s->Cdb[2] = lba >> 24;
        s->Cdb[3] = lba >> 16;
        s->Cdb[4] = lba >> 8;
        s->Cdb[5] = lba;
        s->Cdb[7] = blocks >> 8;
        s->Cdb[8] = blocks;
    }
    s->DataBuffer = buf;
    s->DataTransferLength = len;
    s->SrbFlags = !len ? 0 : op == SCSI_WRITE10 ? SRB_FLAGS_DATA_OUT :
                                                  SRB_FLAGS_DATA_IN;
    s->SenseInfoBuffer = io->sense;
    s->SenseInfoBufferLength = sizeof(io->sense);
    s->TimeOutValue = 30;
    return io;
}

static UCHAR io_run(Io *io)
{
    sp_start_io(ad, &io->srb);
    return sp_wait(ad, &io->srb, WAIT_MS) ? io->srb.SrbStatus : 0xff;
}

/* The class driver's retry of the new nexus' UNIT ATTENTION. */
static bool clear_unit_attention(int target)
{
    int i;

    for (i = 0; i < 5; i++) {
        g_autofree Io *io = io_new(target, SCSI_TUR, 0, 0, NULL, 0);
        UCHAR st = io_run(io);

        if (st == SRB_STATUS_SUCCESS) {
            return true;
        }
        if (SRB_STATUS(st) != SRB_STATUS_ERROR ||
            !(st & SRB_STATUS_AUTOSENSE_VALID) ||
            (io->sense[2] & 0xf) != SENSE_UNIT_ATTENTION) {
            diag("TEST UNIT READY: SRB status 0x%02x", st);
            return false;
        }
    }
    return false;
}

static void fill(UCHAR *p, ULONG len, UCHAR seed)
{
    ULONG i;

    for (i = 0; i < len; i++) {
        p[i] = (UCHAR)(seed + i * 7 + (i >> 9));
    }
}

/* WRITE then READ back through the miniport; compares the data. */
static bool round_trip(int target, ULONG lba, ULONG len, UCHAR seed)
{
    UCHAR *w = (UCHAR *)sp_alloc(len + 512, 8) + 100;  /* unaligned */
    UCHAR *r = sp_alloc(len, 8);
    g_autofree Io *wr = NULL, *rd = NULL;
    UCHAR st;

    fill(w, len, seed);
    wr = io_new(target, SCSI_WRITE10, lba, len / BLOCK, w, len);
    st = io_run(wr);
    if (st != SRB_STATUS_SUCCESS) {
        diag("WRITE(10) of %u bytes: SRB status 0x%02x, InternalStatus 0x%08x",
             len, st, wr->srb.InternalStatus);
        return false;
    }
    rd = io_new(target, SCSI_READ10, lba, len / BLOCK, r, len);
    st = io_run(rd);
    if (st != SRB_STATUS_SUCCESS) {
        diag("READ(10) of %u bytes: SRB status 0x%02x", len, st);
        return false;
    }
    return !memcmp(w, r, len);
}

/* ---- the tests ---- */

static int start_adapter(const char *props, unsigned messages)
{
    g_autofree char *err = NULL;

    if (!sp_qemu_start(props, &err)) {
        diag("%s", err);
        return -1;
    }
    ad = sp_adapter_start(messages);
    return 0;
}

/* The data session to the plain target: the existing one, or a new one. */
static int login_plain(void)
{
    ULONG64 sid = 0;
    UCHAR st = 0;
    ULONG status = 0;
    int t;

    for (t = 0; t < IHBA_MAX_TARGETS; t++) {
        if (ad->ext->target[t].state == IHBA_TGT_UP &&
            !strcmp(ad->ext->target[t].name, fx->target[0].name)) {
            return t;
        }
    }
    status = login(TGTD_TARGET_PLAIN, ISCSI_LOGINTARGET_DATA, NULL, NULL,
                   &sid, &st);
    t = status == 0 ? target_of_session(sid) : -1;

    if (t < 0 || !clear_unit_attention(t)) {
        diag("login to plain: SRB 0x%02x Status 0x%08x", st, status);
        return -1;
    }
    return t;
}

static void test_start(void)
{
    WmiCall c;
    MSiSCSI_HBAInformation *h;
    UCHAR st;

    tap(ad->find_result == SP_RETURN_FOUND && ad->init_result &&
        ad->ext->started,
        "HwFindAdapter finds the device and HwInitialize starts it "
        "(find %u, init %u)", ad->find_result, ad->init_result);
    st = wmi_query(&c, &hba_info_guid, sizeof(*h));
    h = wmi_out(&c);
    tap(st == SRB_STATUS_SUCCESS && h->Status == ISCSI_HBA_WMI_STATUS_WORKING &&
        h->SerialNumber[0] == 'I' && h->MaxCDBLength == 16,
        "MSiSCSI_HBAInformation: working, serial from IDENTIFY (SRB 0x%02x)",
        st);
    g_free(c.buf);
}

static bool wide_equals(const WCHAR *w, const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        if (w[i] != (UCHAR)s[i]) {
            return false;
        }
    }
    return w[i] == 0;
}

/*
 * MSiSCSI_InitiatorSessionInfo shows the one session; the portal comes
 * from the device's SESSION_INFO (ISID and TSIH read 0 in this version
 * of the device, so they are not checked).
 */
static void check_session_info(TgtdTargetId target, ULONG64 sid)
{
    WmiCall c;
    MSiSCSI_InitiatorSessionInfo *h;
    ISCSI_SessionStaticInfo *s;
    ISCSI_ConnectionStaticInfo *conn;
    UCHAR st = wmi_query(&c, &sessions_guid, 8192);

    h = wmi_out(&c);
    s = (void *)((UCHAR *)h + ((sizeof(*h) + 7) & ~7u));
    conn = (void *)(s + 1);
    tap(st == SRB_STATUS_SUCCESS && h->SessionCount == 1 &&
        s->UniqueSessionId == sid &&
        wide_equals(s->TargetiSCSIName, fx->target[target].name) &&
        s->ConnectionCount == 1 &&
        conn->RemotePort == (ULONG)fx->port &&
        conn->AuthType == ISCSI_CHAP_AUTH_TYPE &&
        wide_equals(conn->RemoteAddr.TextAddress, fx->host),
        "MSiSCSI_InitiatorSessionInfo: the session, its target, portal and "
        "CHAP (SRB 0x%02x, %u sessions)", st, h->SessionCount);
    g_free(c.buf);
}

static void test_chap_login(void)
{
    ULONG64 sid = 1;
    UCHAR st;
    ULONG status;
    unsigned changes = ad->bus_changes;
    WmiCall c;
    MSiSCSI_TargetMappings *m;
    int t;

    status = login(TGTD_TARGET_CHAP, ISCSI_LOGINTARGET_DATA, fx->chap_user,
                   "wrong-secret-1234", &sid, &st);
    tap(st == SRB_STATUS_SUCCESS && status == ISDSC_AUTHENTICATION_FAILURE &&
        sid == 0,
        "LoginToTarget, wrong CHAP secret: Status 0x%08x (want "
        "ISDSC_AUTHENTICATION_FAILURE), no session", status);
    status = login(TGTD_TARGET_CHAP, ISCSI_LOGINTARGET_DATA, fx->chap_user,
                   fx->chap_secret, &sid, &st);
    t = target_of_session(sid);
    tap(st == SRB_STATUS_SUCCESS && status == 0 && sid != 0 && t >= 0 &&
        ad->bus_changes == changes + 1,
        "LoginToTarget, right CHAP secret: Status 0, session %" PRIu64
        " as TargetId %d, bus change notified", (uint64_t)sid, t);
    check_session_info(TGTD_TARGET_CHAP, sid);
    st = wmi_query(&c, &mappings_guid, 4096);
    m = wmi_out(&c);
    tap(st == SRB_STATUS_SUCCESS && m->TargetMappingCount == 1,
        "MSiSCSI_TargetMappings lists the session (%u)",
        m->TargetMappingCount);
    g_free(c.buf);
    tap(logout(sid) == 0 && target_of_session(sid) < 0 &&
        ad->bus_changes == changes + 2,
        "LogoutFromTarget: Status 0, target gone, bus change notified");
}

static void test_io(void)
{
    int t = login_plain();
    UCHAR *buf = sp_alloc(8192, 8);
    g_autofree Io *bad = NULL, *under = NULL, *gone = NULL;
    UCHAR st;

    tap(t >= 0, "data session to the plain target, UNIT ATTENTION cleared");
    tap(t >= 0 && round_trip(t, 8, 4096, 1),
        "WRITE/READ SRBs round-trip 4 KiB (inline SG) through tgtd");
    tap(t >= 0 && round_trip(t, 64, 65536, 2),
        "WRITE/READ SRBs round-trip 64 KiB (17 pages: device SG list)");
    /* LBA past the 64 MiB LUN: CHECK CONDITION, ILLEGAL REQUEST */
    bad = io_new(t, SCSI_READ10, 0x00ffff00, 1, buf, BLOCK);
    st = io_run(bad);
    tap(SRB_STATUS(st) == SRB_STATUS_ERROR &&
        (st & SRB_STATUS_AUTOSENSE_VALID) && bad->srb.ScsiStatus == 2 &&
        (bad->sense[2] & 0xf) == SENSE_ILLEGAL_REQUEST,
        "READ past the end: SRB_STATUS_ERROR + AUTOSENSE_VALID, sense key "
        "0x%x (SRB 0x%02x)", bad->sense[2] & 0xf, st);
    /* one block asked for, 8 KiB offered: residual under-run */
    under = io_new(t, SCSI_READ10, 8, 1, buf, 8192);
    st = io_run(under);
    tap(st == SRB_STATUS_DATA_OVERRUN && under->srb.DataTransferLength == BLOCK,
        "under-run: SRB_STATUS_DATA_OVERRUN, DataTransferLength %u (want 512)",
        under->srb.DataTransferLength);
    gone = io_new(IHBA_MAX_TARGETS - 1, SCSI_TUR, 0, 0, NULL, 0);
    tap(io_run(gone) == SRB_STATUS_SELECTION_TIMEOUT,
        "SRB to a TargetId without session: SRB_STATUS_SELECTION_TIMEOUT");
}

static void test_send_targets(void)
{
    ULONG64 sid = 0;
    UCHAR st;
    ULONG status = login(TGTD_TARGET_PLAIN, ISCSI_LOGINTARGET_DISCOVERY,
                         NULL, NULL, &sid, &st);
    SendTargets_IN in;
    WmiCall c;
    SendTargets_OUT *out;
    ULONG needed;

    tap(st == SRB_STATUS_SUCCESS && status == 0 && sid != 0,
        "LoginToTarget(Discovery): Status 0x%08x", status);
    memset(&in, 0, sizeof(in));
    in.UniqueSessionId = sid;
    wide(in.SendTargetsText, "All");
    /* WMI shares the input and output buffer: only the id goes in */
    st = wmi_method(&c, SendTargets, &in, sizeof(ULONG64), 16);
    out = wmi_out(&c);
    needed = out->ResponseSize;
    tap(st == SRB_STATUS_SUCCESS && out->Status == ISDSC_BUFFER_TOO_SMALL &&
        needed > 8,
        "SendTargets, 8-byte buffer: Status 0x%08x (want "
        "ISDSC_BUFFER_TOO_SMALL), needs %u bytes", out->Status, needed);
    g_free(c.buf);
    st = wmi_method(&c, SendTargets, &in, sizeof(in), needed + 8);
    out = wmi_out(&c);
    tap(st == SRB_STATUS_SUCCESS && out->Status == 0 &&
        out->ResponseSize == needed &&
        contains(out->Response, out->ResponseSize, fx->target[0].name),
        "SendTargets, enough room: Status 0, %u bytes naming the targets",
        out->ResponseSize);
    g_free(c.buf);
    tap(logout(sid) == 0, "LogoutFromTarget of the discovery session");
}

/* Service until the target's state is @state (or @ms passed). */
static bool wait_target_state(int t, UCHAR state, unsigned ms)
{
    unsigned waited;

    for (waited = 0; waited < ms; waited += 50) {
        if (ad->ext->target[t].state == state) {
            return true;
        }
        sp_run_for(ad, 50);
    }
    return ad->ext->target[t].state == state;
}

/* tgtd dies and comes back: the session events reach Storport. */
static void test_session_events(void)
{
    int t = login_plain();
    unsigned changes = ad->bus_changes;
    g_autoptr(GError) err = NULL;
    g_autofree Io *held = NULL;
    bool lost;

    tap(t >= 0 && tgtd_fixture_kill(fx) &&
        (lost = wait_target_state(t, IHBA_TGT_LOST, 10000)) &&
        (held = io_new(t, SCSI_TUR, 0, 0, NULL, 0)) &&
        io_run(held) == SRB_STATUS_BUSY,
        "tgtd killed: EVENT_SESSION_LOST, the target's SRBs get "
        "SRB_STATUS_BUSY");
    tap(tgtd_fixture_restart(fx, &err) &&
        wait_target_state(t, IHBA_TGT_UP, 20000) &&
        ad->bus_changes > changes,
        "tgtd back: EVENT_SESSION_RECOVERED, BusChangeDetected (%u)",
        ad->bus_changes - changes);
    tap(t >= 0 && clear_unit_attention(t) && round_trip(t, 4096, 4096, 5),
        "I/O through the recovered session");
}

static ULONG status_method(ULONG method, const void *in, ULONG size)
{
    WmiCall c;
    ULONG status = 0xffffffffu;

    if (wmi_method(&c, method, in, size, sizeof(status)) ==
        SRB_STATUS_SUCCESS) {
        memcpy(&status, wmi_out(&c), sizeof(status));
    }
    g_free(c.buf);
    return status;
}

/* REPORT LUNS data: 8-byte header, then 8-byte SAM LUNs. */
static bool has_lun(const UCHAR *data, ULONG len, UCHAR lun)
{
    ULONG off;

    for (off = 8; off + 8 <= len; off += 8) {
        if (data[off] == 0 && data[off + 1] == lun) {
            return true;
        }
    }
    return false;
}

static void test_wmi_blocks(void)
{
    static const GUID portal_guid = MSiSCSI_PortalInfoClassGuid;
    WmiCall c = { .data_off = 0 };
    WMIREGINFOW *r;
    WNODE_ALL_DATA *all;
    WNODE_TOO_SMALL *small;
    MSiSCSI_PortalInfoClass *p;
    UCHAR st;

    c.buf = g_malloc0(4096);
    st = wmi_request(&c, IRP_MN_REGINFO, 4096);
    r = (void *)c.buf;
    tap(st == SRB_STATUS_SUCCESS && r->GuidCount == 6 &&
        r->WmiRegGuid[2].Guid.Data1 == operations_guid.Data1 &&
        r->WmiRegGuid[2].Flags == WMIREG_FLAG_INSTANCE_PDO,
        "REGINFO: 6 GUIDs with PDO instance names");
    memset(c.buf, 0, 4096);
    all = (void *)c.buf;
    all->WnodeHeader.Guid = portal_guid;
    all->WnodeHeader.Flags = WNODE_FLAG_ALL_DATA;
    st = wmi_request(&c, IRP_MN_QUERY_ALL_DATA, 4096);
    p = (void *)(c.buf + all->DataBlockOffset);
    tap(st == SRB_STATUS_SUCCESS && all->InstanceCount == 1 &&
        p->PortalInfoCount == 1 && p->PortalInformation[0].Index == 0,
        "QUERY_ALL_DATA MSiSCSI_PortalInfoClass: one initiator portal");
    g_free(c.buf);
    st = wmi_query(&c, &hba_info_guid, 64);
    small = (void *)c.buf;
    tap(st == SRB_STATUS_SUCCESS &&
        (small->WnodeHeader.Flags & WNODE_FLAG_TOO_SMALL) &&
        small->SizeNeeded == c.data_off + sizeof(MSiSCSI_HBAInformation),
        "QUERY_SINGLE_INSTANCE with 64 bytes: WNODE_TOO_SMALL, %u needed",
        small->SizeNeeded);
    g_free(c.buf);
}

/* LoginToTarget_IN comes from user mode: malformed input is refused. */
static void test_wmi_bad_input(void)
{
    g_autofree LoginToTarget_IN *in = NULL;
    WmiCall c;
    ULONG size, status = 0;
    UCHAR st;

    in = login_in(TGTD_TARGET_PLAIN, ISCSI_LOGINTARGET_DATA, NULL, NULL,
                  &size);
    in->Mappings.LUNCount = 0x10000000;     /* far past the buffer */
    st = wmi_method(&c, LoginToTarget, in, size, sizeof(LoginToTarget_OUT));
    memcpy(&status, wmi_out(&c), sizeof(status));
    g_free(c.buf);
    tap(st == SRB_STATUS_SUCCESS && status == ISDSC_INVALID_PARAMETER,
        "LoginToTarget with a LUNCount past the buffer: "
        "ISDSC_INVALID_PARAMETER, nothing sent (0x%08x)", status);
    st = wmi_method(&c, LoginToTarget, in, 16, sizeof(LoginToTarget_OUT));
    memcpy(&status, wmi_out(&c), sizeof(status));
    g_free(c.buf);
    tap(st == SRB_STATUS_SUCCESS && status == ISDSC_INVALID_PARAMETER,
        "LoginToTarget with 16 bytes of input: ISDSC_INVALID_PARAMETER "
        "(0x%08x)", status);
}

static void test_wmi_methods(void)
{
    struct {
        ULONG size;
        UCHAR secret[8];
    } chap = { 5, "short" };
    SetInitiatorNodeName_IN name;
    ScsiReportLuns_IN rl;
    ScsiReportLuns_OUT *out;
    WmiCall c;
    int t = login_plain();
    UCHAR st;
    ULONG status;

    status = status_method(SetCHAPSharedSecret, &chap, sizeof(chap));
    tap(status == ISDSC_SHORT_CHAP_SECRET,
        "SetCHAPSharedSecret, 5 bytes: Status 0x%08x (the device's "
        "warning ISDSC_SHORT_CHAP_SECRET, unchanged)", status);
    memset(&name, 0, sizeof(name));
    wide(name.CreatedInitiatorName, "not an iSCSI name");
    status = status_method(SetInitiatorNodeName, &name, sizeof(name));
    tap(status == ISDSC_INVALID_ISCSI_NAME,
        "SetInitiatorNodeName, bad name: Status 0x%08x", status);
    wide(name.CreatedInitiatorName, "iqn.2026-11.org.qemu.test:windows");
    status = status_method(SetInitiatorNodeName, &name, sizeof(name));
    tap(status == 0, "SetInitiatorNodeName, good name: Status 0x%08x",
        status);
    rl.UniqueSessionId = t >= 0 ? ad->ext->target[t].session_id : 0;
    st = wmi_method(&c, ScsiReportLuns, &rl, sizeof(rl), 4096);
    out = wmi_out(&c);
    tap(st == SRB_STATUS_SUCCESS && out->Status == 0 &&
        has_lun(out->ResponseBuffer, out->ResponseBufferSize, LUN),
        "ScsiReportLuns: Status 0x%08x, %u bytes listing LUN %d",
        out->Status, out->ResponseBufferSize, LUN);
    g_free(c.buf);
    status = status_method(AddConnectionToSession, &rl, sizeof(rl));
    tap(status == ISDSC_REQUEST_NOT_SUPPORTED,
        "AddConnectionToSession: Status ISDSC_REQUEST_NOT_SUPPORTED");
}

static Io *start_read(int t, UCHAR *buf)
{
    Io *io = io_new(t, SCSI_READ10, 16, 8, buf, 4096);

    sp_start_io(ad, &io->srb);
    return io;
}

static int busy_slots(void)
{
    int i, n = 0;

    for (i = 0; i < IHBA_IO_DEPTH; i++) {
        n += ad->ext->io_slot[i].kind != IHBA_IO_FREE;
    }
    return n;
}

/*
 * Rule 4 breaks the connection under a WRITE at LBA 9000: the WRITE comes
 * back BUSY (Storport retries it), the session reconnects, and the retry
 * writes the data.
 */
static void test_connection_lost_in_flight(int t)
{
    UCHAR *w = sp_alloc(BLOCK, 8), *r = sp_alloc(BLOCK, 8);
    g_autofree Io *wr = io_new(t, SCSI_WRITE10, 9000, 1, w, BLOCK);
    g_autofree Io *again = io_new(t, SCSI_WRITE10, 9000, 1, w, BLOCK);
    g_autofree Io *rd = io_new(t, SCSI_READ10, 9000, 1, r, BLOCK);
    unsigned changes = ad->bus_changes;
    UCHAR st;

    fill(w, BLOCK, 9);
    st = io_run(wr);
    tap(st == SRB_STATUS_BUSY,
        "connection lost under a WRITE: SRB_STATUS_BUSY for Storport to "
        "retry (SRB 0x%02x, InternalStatus 0x%08x)", st,
        wr->srb.InternalStatus);
    tap(wait_target_state(t, IHBA_TGT_UP, 20000) &&
        ad->bus_changes > changes && clear_unit_attention(t) &&
        io_run(again) == SRB_STATUS_SUCCESS &&
        io_run(rd) == SRB_STATUS_SUCCESS && !memcmp(w, r, BLOCK),
        "the session reconnects; the retried WRITE lands");
}

static void test_faults(void)
{
    int t = login_plain(), i;
    ULONG64 sid = 0;
    UCHAR st, *buf = sp_alloc(4096, 8);
    ULONG status;
    g_autofree Io *rd = NULL, *dropped = NULL, *dropped2 = NULL;
    Io *w[8];
    SCSI_REQUEST_BLOCK abort;

    tap(t >= 0, "data session (fault-injection QEMU)");
    /* rule 1: the next READ(10) gets ISDSC_TRANSPORT_ERROR */
    rd = start_read(t, buf);
    st = sp_wait(ad, &rd->srb, WAIT_MS) ? rd->srb.SrbStatus : 0xff;
    tap(st == SRB_STATUS_INTERNAL_ERROR &&
        rd->srb.InternalStatus == ISDSC_TRANSPORT_ERROR,
        "injected TRANSPORT_ERROR: SRB_STATUS_INTERNAL_ERROR, InternalStatus "
        "0x%08x", rd->srb.InternalStatus);
    /* rule 2: the next LOGIN to :chap says TARGET_MOVED_TEMPORARILY */
    status = login(TGTD_TARGET_CHAP, ISCSI_LOGINTARGET_DATA, fx->chap_user,
                   fx->chap_secret, &sid, &st);
    tap(st == SRB_STATUS_SUCCESS && status == ISDSC_TARGET_MOVED_TEMPORARILY,
        "injected login fault: LoginToTarget Status 0x%08x unchanged", status);

    /* rule 3 drops the next two READs; WRITEs keep the queue busy */
    dropped = start_read(t, buf);
    for (i = 0; i < 8; i++) {
        UCHAR *p = sp_alloc(8192, 8);

        w[i] = io_new(t, SCSI_WRITE10, 256 + i * 16, 16, p, 8192);
        sp_start_io(ad, &w[i]->srb);
    }
    for (i = 0; i < 8; i++) {
        sp_wait(ad, &w[i]->srb, WAIT_MS);
    }
    sp_run_for(ad, 200);
    tap(!sp_completed(&dropped->srb), "a dropped READ stays outstanding");
    memset(&abort, 0, sizeof(abort));
    abort.Function = SRB_FUNCTION_ABORT_COMMAND;
    abort.TargetId = (UCHAR)t;
    abort.Lun = LUN;
    abort.NextSrb = &dropped->srb;
    sp_start_io(ad, &abort);
    sp_wait(ad, &abort, WAIT_MS);
    sp_wait(ad, &dropped->srb, WAIT_MS);
    tap(abort.SrbStatus == SRB_STATUS_SUCCESS &&
        dropped->srb.SrbStatus == SRB_STATUS_ABORTED,
        "ABORT_COMMAND under load: abort SRB 0x%02x, aborted SRB 0x%02x",
        abort.SrbStatus, dropped->srb.SrbStatus);
    for (i = 0; i < 8; i++) {
        g_free(w[i]);
    }

    /* bus reset with the second dropped READ and WRITEs in flight */
    dropped2 = start_read(t, buf);
    for (i = 0; i < 8; i++) {
        UCHAR *p = sp_alloc(8192, 8);

        w[i] = io_new(t, SCSI_WRITE10, 512 + i * 16, 16, p, 8192);
        sp_start_io(ad, &w[i]->srb);
    }
    st = sp_reset_bus(ad);
    for (i = 0; i < 8; i++) {
        st &= sp_completed(&w[i]->srb) &&
              (w[i]->srb.SrbStatus == SRB_STATUS_BUS_RESET ||
               w[i]->srb.SrbStatus == SRB_STATUS_SUCCESS);
    }
    tap(st && sp_completed(&dropped2->srb) &&
        dropped2->srb.SrbStatus == SRB_STATUS_BUS_RESET,
        "HwResetBus under load: every outstanding SRB back at once "
        "(dropped READ 0x%02x)", dropped2->srb.SrbStatus);
    for (i = 0; i < 200 && busy_slots(); i++) {
        sp_run_for(ad, 50);
    }
    tap(busy_slots() == 0 && ad->bad_completions == 0,
        "after the reset the device ends the orphaned commands; no SRB "
        "completed twice (%d slots busy)", busy_slots());
    tap(clear_unit_attention(t) && round_trip(t, 1024, 8192, 3),
        "I/O works after the bus reset");
    for (i = 0; i < 8; i++) {
        g_free(w[i]);
    }
    test_connection_lost_in_flight(t);
}

static void test_intx(void)
{
    int t = login_plain();

    tap(ad->init_result && t >= 0 && round_trip(t, 2048, 4096, 4),
        "INTx (msix=off): started, logged in, WRITE/READ round trip");
}

/* HwAdapterControl stop and restart (power down and up). */
static void test_stop_restart(void)
{
    int t = login_plain();
    unsigned changes = ad->bus_changes;
    g_autofree Io *gone = NULL;
    ULONG stop, restart;

    stop = sp_adapter_control(ad, ScsiStopAdapter);
    restart = sp_adapter_control(ad, ScsiRestartAdapter);
    gone = io_new(t, SCSI_TUR, 0, 0, NULL, 0);
    tap(t >= 0 && stop == ScsiAdapterControlSuccess &&
        restart == ScsiAdapterControlSuccess && ad->ext->started &&
        ad->bus_changes == changes + 1 &&
        io_run(gone) == SRB_STATUS_SELECTION_TIMEOUT,
        "ScsiStopAdapter/ScsiRestartAdapter: restarted, the dropped session "
        "is gone, bus change notified");
    t = login_plain();
    tap(t >= 0 && round_trip(t, 5120, 4096, 7),
        "after the restart: log in again, WRITE/READ round trip");
}

/* SRB_FUNCTION_RESET_LOGICAL_UNIT: LUN RESET, then a new UNIT ATTENTION */
static void test_lun_reset(void)
{
    int t = login_plain();
    SCSI_REQUEST_BLOCK reset;

    memset(&reset, 0, sizeof(reset));
    reset.Function = SRB_FUNCTION_RESET_LOGICAL_UNIT;
    reset.TargetId = (UCHAR)t;
    reset.Lun = LUN;
    sp_start_io(ad, &reset);
    tap(t >= 0 && sp_wait(ad, &reset, WAIT_MS) &&
        reset.SrbStatus == SRB_STATUS_SUCCESS && clear_unit_attention(t) &&
        round_trip(t, 6144, 4096, 8),
        "RESET_LOGICAL_UNIT: SRB_STATUS_SUCCESS, I/O goes on (SRB 0x%02x)",
        reset.SrbStatus);
}

/* Windows granted one MSI-X message: both CQs must use it. */
static void test_one_message(void)
{
    int t = login_plain();

    tap(ad->init_result && ad->ext->io_vector == 0 && t >= 0 &&
        round_trip(t, 3072, 4096, 6),
        "one MSI-X message granted: the I/O queue shares message 0, "
        "WRITE/READ round trip");
}

#define PLAN 46
#define PORTALS "guest-portals=127.0.0.1,login-timeout=3,command-timeout=5"

int main(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *faults = NULL;
    int i;

    printf("1..%d\n", PLAN);
    fx = tgtd_fixture_start(&err);
    if (!fx) {
        for (i = 0; i < PLAN; i++) {
            printf("ok %d # SKIP tgtd: %s\n", i + 1, err->message);
        }
        return 0;
    }
    if (start_adapter(PORTALS, 2) == 0) {
        test_start();
        test_wmi_blocks();
        test_wmi_bad_input();
        test_chap_login();
        test_io();
        test_send_targets();
        test_wmi_methods();
        test_session_events();
        sp_qemu_stop();
    }
    faults = g_strdup_printf(
        PORTALS ",fault-rules="
        "op=scsi,,opcode=0x28,,action=status,,status=TRANSPORT_ERROR;"
        "op=login,,target=%s,,action=status,,status=TARGET_MOVED_TEMPORARILY;"
        "op=scsi,,opcode=0x28,,count=2,,action=drop;"
        "op=scsi,,opcode=0x2a,,lba-start=9000,,lba-end=9000,,"
        "action=disconnect",
        fx->target[TGTD_TARGET_CHAP].name);
    if (start_adapter(faults, 2) == 0) {
        test_faults();
        sp_qemu_stop();
    }
    if (start_adapter(PORTALS ",msix=off", 0) == 0) {
        test_intx();
        test_lun_reset();
        test_stop_restart();
        sp_qemu_stop();
    }
    if (start_adapter(PORTALS, 1) == 0) {
        test_one_message();
        sp_qemu_stop();
    }
    tap(sp_totals()->never_completed == 0 &&
        sp_totals()->bad_completions == 0,
        "every SRB given to the miniport completed exactly once "
        "(%u never, %u twice or unknown)", sp_totals()->never_completed,
        sp_totals()->bad_completions);
    tgtd_fixture_free(fx);
    if (test_no != PLAN) {
        printf("# ran %d of %d tests\n", test_no, PLAN);
        return 1;
    }
    return failures ? 1 : 0;
}
