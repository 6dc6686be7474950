/*
 * iscsi-hba miniport: the Microsoft iSCSI WMI interface.
 *
 * SRB_FUNCTION_WMI requests carry WNODE buffers (wmistr.h).  The WDK's
 * static SCSI WMI library (scsiwmi.lib) is not available to a mingw-w64
 * build, so this file parses the few WNODE forms an adapter-level provider
 * sees: REGINFO, QUERY_ALL_DATA, QUERY_SINGLE_INSTANCE and EXECUTE_METHOD.
 *
 * MSiSCSI_Operations methods that need the device become admin commands;
 * the WMI SRB stays pending until the completion arrives and the method's
 * Status out-parameter then carries the completion's ISDSC value
 * unchanged (warnings such as ISDSC_SHORT_CHAP_SECRET included).  Statuses
 * the driver makes itself (no device command was sent) are listed in
 * guest/windows/README.md.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR BSD-2-Clause
 */

#include "ihba.h"

enum {
    GUID_HBA_INFORMATION,
    GUID_PORTAL_INFO,
    GUID_OPERATIONS,
    GUID_PERSISTENT_LOGINS,
    GUID_TARGET_MAPPINGS,
    GUID_SESSION_INFO,
    GUID_COUNT,
};

static const GUID ihba_guids[GUID_COUNT] = {
    MSiSCSI_HBAInformationGuid,
    MSiSCSI_PortalInfoClassGuid,
    MSiSCSI_OperationsGuid,
    MSiSCSI_PersistentLoginsGuid,
    MSiSCSI_TargetMappingsGuid,
    MSiSCSI_InitiatorSessionInfoGuid,
};

/* Discovery "sessions" exist only in the driver: ids above 32 bits. */
#define DISC_ID_BASE            0x100000000ull
#define WMI_STATUS_PENDING      2

static int guid_index(const GUID *g)
{
    int i;

    for (i = 0; i < GUID_COUNT; i++) {
        const UCHAR *a = (const UCHAR *)&ihba_guids[i];
        const UCHAR *b = (const UCHAR *)g;
        ULONG k;

        for (k = 0; k < sizeof(GUID) && a[k] == b[k]; k++) {
        }
        if (k == sizeof(GUID)) {
            return i;
        }
    }
    return -1;
}

static void put_ulong(UCHAR *p, ULONG v)
{
    ihba_copy(p, &v, sizeof(v));
}

static ULONG get_ulong(const UCHAR *p)
{
    ULONG v;

    ihba_copy(&v, p, sizeof(v));
    return v;
}

static ULONG64 get_ulong64(const UCHAR *p)
{
    ULONG64 v;

    ihba_copy(&v, p, sizeof(v));
    return v;
}

static void ascii_to_wide(WCHAR *dst, ULONG chars, const char *src)
{
    ULONG i;

    for (i = 0; i + 1 < chars && src[i]; i++) {
        dst[i] = (UCHAR)src[i];
    }
    dst[i] = 0;
}

/*
 * A WMI string field (WCHAR[chars], NUL-terminated) as ASCII; iSCSI names
 * and host names are ASCII.  FALSE if it is not, or does not fit.
 */
static BOOLEAN wide_to_ascii(const UCHAR *src, ULONG chars, char *dst,
                             ULONG dst_size)
{
    ULONG i;

    for (i = 0; i < chars && i + 1 < dst_size; i++) {
        USHORT c = (USHORT)(src[2 * i] | (src[2 * i + 1] << 8));

        if (c == 0) {
            dst[i] = 0;
            return TRUE;
        }
        if (c < 0x20 || c > 0x7e) {
            return FALSE;
        }
        dst[i] = (char)c;
    }
    return FALSE;
}

static void complete_wmi(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb, UCHAR st)
{
    ihba_complete_srb(e, (PSCSI_REQUEST_BLOCK)srb, st);
}

/* The WNODE said too little room: tell WMI how much the answer needs. */
static void wnode_too_small(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb,
                            ULONG needed)
{
    WNODE_TOO_SMALL *t = srb->DataBuffer;

    t->WnodeHeader.BufferSize = sizeof(*t);
    t->WnodeHeader.Flags |= WNODE_FLAG_TOO_SMALL;
    t->SizeNeeded = needed;
    srb->DataTransferLength = sizeof(*t);
    complete_wmi(e, srb, SRB_STATUS_SUCCESS);
}

static void method_done(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb,
                        ULONG out_size)
{
    WNODE_METHOD_ITEM *m = srb->DataBuffer;

    m->SizeDataBlock = out_size;
    m->WnodeHeader.BufferSize = m->DataBlockOffset + out_size;
    srb->DataTransferLength = m->WnodeHeader.BufferSize;
    complete_wmi(e, srb, SRB_STATUS_SUCCESS);
}

/* ---- data blocks ---- */

static ULONG hba_information(IHBA_EXT *e, UCHAR *out, ULONG cap)
{
    MSiSCSI_HBAInformation *h = (void *)out;

    if (cap < sizeof(*h)) {
        return sizeof(*h);
    }
    ihba_zero(h, sizeof(*h));
    h->UniqueAdapterId = (ULONG64)(ULONG_PTR)e;
    h->IntegratedTCPIP = FALSE;         /* the adapter has its own stack */
    h->RequiresBinaryIpAddresses = FALSE;   /* it resolves names itself */
    h->VersionMin = 0;
    h->VersionMax = 0;
    h->NumberOfPorts = 1;
    h->Status = e->started ? ISCSI_HBA_WMI_STATUS_WORKING :
                             ISCSI_HBA_WMI_STATUS_FAILED;
    h->MaxCDBLength = 16;               /* SCSI_REQUEST_BLOCK's Cdb */
    ascii_to_wide(h->VendorID, ISCSI_HBA_WMI_STRING_CHARS, "QEMU");
    ascii_to_wide(h->VendorModel, ISCSI_HBA_WMI_STRING_CHARS, e->model);
    ascii_to_wide(h->FirmwareVersion, ISCSI_HBA_WMI_STRING_CHARS,
                  e->firmware);
    ascii_to_wide(h->SerialNumber, ISCSI_HBA_WMI_STRING_CHARS, e->serial);
    ascii_to_wide(h->DriverName, ISCSI_HBA_WMI_STRING_CHARS, "iscsihba");
    return sizeof(*h);
}

static ULONG portal_info(IHBA_EXT *e, UCHAR *out, ULONG cap)
{
    MSiSCSI_PortalInfoClass *p = (void *)out;
    ULONG need = sizeof(*p) + sizeof(ISCSI_PortalInfo);

    (void)e;
    if (cap < need) {
        return need;
    }
    ihba_zero(p, need);
    /* One initiator portal, index 0: LoginToTarget's PortNumber. */
    p->PortalInfoCount = 1;
    p->PortalInformation[0].Index = 0;
    p->PortalInformation[0].PortalType = ISCSI_PORTAL_TYPE_INITIATOR;
    p->PortalInformation[0].Protocol = ISCSI_PORTAL_PROTOCOL_TCP;
    p->PortalInformation[0].IPAddr.Type = ISCSI_IP_ADDRESS_EMPTY;
    return need;
}

static ULONG persistent_logins(IHBA_EXT *e, UCHAR *out, ULONG cap)
{
    MSiSCSI_PersistentLogins *p = (void *)out;

    (void)e;
    if (cap < sizeof(*p)) {
        return sizeof(*p);
    }
    /* Persistence is the host's (iscsi-hba-target objects): none here. */
    ihba_zero(p, sizeof(*p));
    return sizeof(*p);
}

#define MAPPING_SIZE    sizeof(ISCSI_TargetMapping)  /* no LUNList */

static ULONG target_mappings(IHBA_EXT *e, UCHAR *out, ULONG cap)
{
    MSiSCSI_TargetMappings hdr;
    ULONG i, n = 0, need = sizeof(hdr);

    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        if (e->target[i].state != IHBA_TGT_FREE &&
            e->target[i].state != IHBA_TGT_LOGGING_IN && e->target[i].data) {
            n++;
        }
    }
    need += n * MAPPING_SIZE;
    if (cap < need) {
        return need;
    }
    ihba_zero(out, need);
    hdr.UniqueAdapterId = (ULONG64)(ULONG_PTR)e;
    hdr.TargetMappingCount = n;
    hdr.Reserved = 0;
    ihba_copy(out, &hdr, sizeof(hdr));
    out += sizeof(hdr);
    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        struct ihba_target *t = &e->target[i];
        ISCSI_TargetMapping *m = (void *)out;

        if (t->state == IHBA_TGT_FREE || t->state == IHBA_TGT_LOGGING_IN ||
            !t->data) {
            continue;
        }
        m->OSBus = 0;
        m->OSTarget = i;
        m->UniqueSessionId = t->session_id;
        m->LUNCount = 0;        /* LUNs: whatever Storport's scan finds */
        ascii_to_wide(m->TargetName, ISCSI_NAME_CHARS, t->name);
        out += MAPPING_SIZE;
    }
    return need;
}

static BOOLEAN session_exists(const struct ihba_target *t)
{
    return t->state == IHBA_TGT_UP || t->state == IHBA_TGT_LOST ||
           t->state == IHBA_TGT_LOGGING_OUT;
}

#define SESSION_HEAD    ((sizeof(MSiSCSI_InitiatorSessionInfo) + 7) & ~7u)
#define SESSION_SIZE    (sizeof(ISCSI_SessionStaticInfo) + \
                         sizeof(ISCSI_ConnectionStaticInfo))

static void session_static_info(IHBA_EXT *e, const struct ihba_target *t,
                                UCHAR *out)
{
    ISCSI_SessionStaticInfo *s = (void *)out;
    ISCSI_ConnectionStaticInfo *c = (void *)(out + sizeof(*s));
    const struct iscsi_hba_session_info *i = &t->info;
    char host[ISCSI_HBA_STRING_FIELD];

    s->UniqueSessionId = t->session_id;
    ascii_to_wide(s->InitiatoriSCSIName, ISCSI_NAME_CHARS, e->initiator_name);
    ascii_to_wide(s->TargetiSCSIName, ISCSI_NAME_CHARS, t->name);
    s->TSID = i->tsih;
    ihba_copy(s->ISID, i->isid, sizeof(s->ISID));
    s->InitialR2t = i->initial_r2t;
    s->ImmediateData = i->immediate_data;
    s->Type = t->data ? ISCSI_SESSION_TYPE_DATA :
                        ISCSI_SESSION_TYPE_INFORMATIONAL;
    s->DataSequenceInOrder = TRUE;      /* iSCSI defaults, not negotiated */
    s->DataPduInOrder = TRUE;
    s->MaxOutstandingR2t = 1;
    s->FirstBurstLength = i->first_burst_len;
    s->MaxBurstLength = i->max_burst_len;
    s->MaxConnections = 1;
    s->ConnectionCount = 1;
    c->UniqueConnectionId = t->session_id;
    c->State = t->state == IHBA_TGT_UP ? ISCSI_CONNECTION_STATE_FULL : 0;
    c->Protocol = ISCSI_PORTAL_PROTOCOL_TCP;
    c->HeaderIntegrity = !!(i->flags & ISCSI_HBA_SESSION_HEADER_DIGEST);
    c->DataIntegrity = !!(i->flags & ISCSI_HBA_SESSION_DATA_DIGEST);
    c->MaxRecvDataSegmentLength = i->max_recv_data_segment_len;
    c->AuthType = t->auth;
    c->LocalAddr.Type = ISCSI_IP_ADDRESS_EMPTY;
    c->RemoteAddr.Type = ISCSI_IP_ADDRESS_TEXT;
    ihba_copy(host, i->portal_host, sizeof(host));
    host[sizeof(host) - 1] = 0;        /* the device's string: bound it */
    ascii_to_wide(c->RemoteAddr.TextAddress, 257, host);
    c->RemotePort = i->portal_port;
}

static ULONG initiator_session_info(IHBA_EXT *e, UCHAR *out, ULONG cap)
{
    MSiSCSI_InitiatorSessionInfo hdr;
    ULONG i, n = 0, need;

    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        n += session_exists(&e->target[i]);
    }
    need = SESSION_HEAD + n * SESSION_SIZE;
    if (cap < need) {
        return need;
    }
    ihba_zero(out, need);
    hdr.UniqueAdapterId = (ULONG64)(ULONG_PTR)e;
    hdr.SessionCount = n;
    ihba_copy(out, &hdr, sizeof(hdr));
    out += SESSION_HEAD;
    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        if (session_exists(&e->target[i])) {
            session_static_info(e, &e->target[i], out);
            out += SESSION_SIZE;
        }
    }
    return need;
}

static ULONG data_block(IHBA_EXT *e, int index, UCHAR *out, ULONG cap)
{
    switch (index) {
    case GUID_HBA_INFORMATION:
        return hba_information(e, out, cap);
    case GUID_PORTAL_INFO:
        return portal_info(e, out, cap);
    case GUID_PERSISTENT_LOGINS:
        return persistent_logins(e, out, cap);
    case GUID_TARGET_MAPPINGS:
        return target_mappings(e, out, cap);
    case GUID_SESSION_INFO:
        return initiator_session_info(e, out, cap);
    default:
        return 0;               /* MSiSCSI_Operations has methods only */
    }
}

/* ---- WNODE requests ---- */

static BOOLEAN reginfo(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb)
{
    WMIREGINFOW *r = srb->DataBuffer;
    ULONG need = sizeof(*r) + GUID_COUNT * sizeof(WMIREGGUIDW);
    int i;

    if (srb->DataTransferLength < need) {
        if (srb->DataTransferLength >= sizeof(ULONG)) {
            r->BufferSize = need;
            srb->DataTransferLength = sizeof(ULONG);
            complete_wmi(e, srb, SRB_STATUS_SUCCESS);
        } else {
            complete_wmi(e, srb, SRB_STATUS_ERROR);
        }
        return TRUE;
    }
    ihba_zero(r, need);
    r->BufferSize = need;
    r->GuidCount = GUID_COUNT;
    for (i = 0; i < GUID_COUNT; i++) {
        r->WmiRegGuid[i].Guid = ihba_guids[i];
        r->WmiRegGuid[i].Flags = WMIREG_FLAG_INSTANCE_PDO;
        r->WmiRegGuid[i].InstanceCount = 1;
    }
    srb->DataTransferLength = need;
    complete_wmi(e, srb, SRB_STATUS_SUCCESS);
    return TRUE;
}

static BOOLEAN query_all(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb)
{
    WNODE_ALL_DATA *w = srb->DataBuffer;
    ULONG total = srb->DataTransferLength;
    /* one instance: data, then the offset of its (PDO) name, then the name */
    ULONG data_off = (sizeof(*w) + 7) & ~7u, size, names_off;
    int idx;

    if (total < sizeof(*w)) {
        complete_wmi(e, srb, SRB_STATUS_ERROR);
        return TRUE;
    }
    idx = guid_index(&w->WnodeHeader.Guid);
    if (idx < 0 || idx == GUID_OPERATIONS) {
        complete_wmi(e, srb, SRB_STATUS_ERROR);
        return TRUE;
    }
    size = data_block(e, idx, (UCHAR *)w + data_off, 0);
    names_off = (data_off + size + 3) & ~3u;
    if (total < names_off + 2 * sizeof(ULONG)) {
        wnode_too_small(e, srb, names_off + 2 * sizeof(ULONG));
        return TRUE;
    }
    data_block(e, idx, (UCHAR *)w + data_off, size);
    w->DataBlockOffset = data_off;
    w->InstanceCount = 1;
    w->FixedInstanceSize = size;
    w->OffsetInstanceNameOffsets = names_off;
    put_ulong((UCHAR *)w + names_off, names_off + sizeof(ULONG));
    /* an empty counted name: Storport supplies the PDO instance name */
    put_ulong((UCHAR *)w + names_off + sizeof(ULONG), 0);
    w->WnodeHeader.Flags |= WNODE_FLAG_FIXED_INSTANCE_SIZE;
    w->WnodeHeader.BufferSize = names_off + 2 * sizeof(ULONG);
    srb->DataTransferLength = w->WnodeHeader.BufferSize;
    complete_wmi(e, srb, SRB_STATUS_SUCCESS);
    return TRUE;
}

static BOOLEAN query_single(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb)
{
    WNODE_SINGLE_INSTANCE *w = srb->DataBuffer;
    ULONG total = srb->DataTransferLength, size;
    int idx;

    if (total < sizeof(*w) || w->DataBlockOffset > total ||
        w->InstanceIndex != 0) {
        complete_wmi(e, srb, SRB_STATUS_ERROR);
        return TRUE;
    }
    idx = guid_index(&w->WnodeHeader.Guid);
    if (idx < 0 || idx == GUID_OPERATIONS) {
        complete_wmi(e, srb, SRB_STATUS_ERROR);
        return TRUE;
    }
    size = data_block(e, idx, (UCHAR *)w + w->DataBlockOffset,
                      total - w->DataBlockOffset);
    if (size > total - w->DataBlockOffset) {
        wnode_too_small(e, srb, w->DataBlockOffset + size);
        return TRUE;
    }
    w->SizeDataBlock = size;
    w->WnodeHeader.BufferSize = w->DataBlockOffset + size;
    srb->DataTransferLength = w->WnodeHeader.BufferSize;
    complete_wmi(e, srb, SRB_STATUS_SUCCESS);
    return TRUE;
}

/* ---- MSiSCSI_Operations ---- */

struct method_call {
    PSCSI_WMI_REQUEST_BLOCK srb;
    const UCHAR *in;
    ULONG in_size;
    UCHAR *out;
    ULONG out_cap;
};

/* A method that ends without a device command: Status only. */
static int status_only(IHBA_EXT *e, struct method_call *c, ULONG status)
{
    put_ulong(c->out, status);
    method_done(e, c->srb, sizeof(ISCSI_STATUS_OUT));
    return 0;
}

/* Park the WMI SRB on an admin slot until its completion. */
static int park(IHBA_EXT *e, struct method_call *c, int slot, UCHAR opcode,
                ULONG session, struct iscsi_hba_sqe *sqe)
{
    struct ihba_admin_slot *s = &e->admin_slot[slot];

    s->srb = c->srb;
    s->out = c->out;
    s->out_cap = c->out_cap;
    if (!ihba_admin_submit(e, slot, opcode, session, sqe)) {
        ihba_admin_free(e, slot);
        return -1;
    }
    return WMI_STATUS_PENDING;
}

static ULONG auth_type_of(const LoginToTarget_IN *in)
{
    if (!(in->LoginOptions.InformationSpecified &
          ISCSI_LOGIN_OPTIONS_AUTH_TYPE)) {
        return ISCSI_HBA_AUTH_NONE;
    }
    switch (in->LoginOptions.AuthType) {
    case ISCSI_CHAP_AUTH_TYPE:
        return ISCSI_HBA_AUTH_CHAP;
    case ISCSI_MUTUAL_CHAP_AUTH_TYPE:
        return ISCSI_HBA_AUTH_MUTUAL_CHAP;
    default:
        return ISCSI_HBA_AUTH_NONE;
    }
}

static BOOLEAN portal_of(const LoginToTarget_IN *in, char *host, ULONG size)
{
    const ISCSI_IP_Address *a = &in->TargetPortal.Address;
    const UCHAR *v4 = (const UCHAR *)&a->IpV4Address;
    ULONG i, n = 0;

    if (a->Type == ISCSI_IP_ADDRESS_TEXT) {
        return wide_to_ascii((const UCHAR *)a->TextAddress, 257, host, size);
    }
    if (a->Type != ISCSI_IP_ADDRESS_IPV4) {
        return FALSE;           /* IPv6 binary: give it as text instead */
    }
    for (i = 0; i < 4; i++) {   /* dotted quad, network byte order */
        UCHAR b = v4[i];

        if (b >= 100) {
            host[n++] = (char)('0' + b / 100);
        }
        if (b >= 10) {
            host[n++] = (char)('0' + (b / 10) % 10);
        }
        host[n++] = (char)('0' + b % 10);
        host[n++] = i < 3 ? '.' : 0;
    }
    return TRUE;
}

/*
 * LoginToTarget_IN -> login parameters.  Returns 0 or the ISDSC of the
 * first problem the driver itself can see.
 */
static ULONG parse_login(const UCHAR *buf, ULONG size,
                         struct iscsi_hba_login_params *p, ULONG *type)
{
    const LoginToTarget_IN *in = (const void *)buf;
    ULONG fixed = sizeof(LoginToTarget_IN);
    ULONG var, user_len, pass_len;
    const UCHAR *key;

    if (size < fixed) {
        return ISDSC_INVALID_PARAMETER;
    }
    var = fixed + in->Mappings.LUNCount * sizeof(ISCSI_LUNList);
    user_len = in->UsernameSize;
    pass_len = in->PasswordSize;
    if (in->Mappings.LUNCount > 256 || in->KeySize > 1024 ||
        user_len >= ISCSI_HBA_STRING_FIELD ||
        pass_len > ISCSI_HBA_STRING_FIELD ||
        var + in->KeySize + user_len + pass_len > size) {
        return ISDSC_INVALID_PARAMETER;
    }
    if (in->PortNumber != 0 && in->PortNumber != 0xffffffffu) {
        return ISDSC_INVALID_PORT_NUMBER;
    }
    *type = in->SessionType;
    if (*type > ISCSI_LOGINTARGET_DATA) {
        return ISDSC_SESSION_TYPE_NOT_SUPPORTED;
    }
    if (!wide_to_ascii((const UCHAR *)in->TargetName, ISCSI_NAME_CHARS,
                       p->target_name, sizeof(p->target_name)) ||
        !wide_to_ascii((const UCHAR *)in->InitiatorNode, ISCSI_NAME_CHARS,
                       p->initiator_name, sizeof(p->initiator_name))) {
        return ISDSC_INVALID_ISCSI_NAME;
    }
    if (!portal_of(in, p->portal_host, sizeof(p->portal_host))) {
        return ISDSC_ADDRESS_TYPE_NOT_SUPPORTED;
    }
    p->portal_port = in->TargetPortal.Socket;
    p->auth_type = (UCHAR)auth_type_of(in);
    key = buf + var;
    ihba_copy(p->chap_username, key + in->KeySize, user_len);
    p->chap_username[user_len] = 0;
    ihba_copy(p->chap_secret, key + in->KeySize + user_len, pass_len);
    p->chap_secret_len = (USHORT)pass_len;
    if (in->LoginOptions.InformationSpecified &
        ISCSI_LOGIN_OPTIONS_HEADER_DIGEST && in->LoginOptions.HeaderDigest) {
        p->digest |= ISCSI_HBA_DIGEST_HEADER_CRC32C;
    }
    if (in->LoginOptions.InformationSpecified &
        ISCSI_LOGIN_OPTIONS_DATA_DIGEST && in->LoginOptions.DataDigest) {
        p->digest |= ISCSI_HBA_DIGEST_DATA_CRC32C;
    }
    if (in->LoginOptions.InformationSpecified &
        ISCSI_LOGIN_OPTIONS_DEFAULT_TIME_2_WAIT) {
        p->time2wait = (USHORT)in->LoginOptions.DefaultTime2Wait;
    }
    if (in->LoginOptions.InformationSpecified &
        ISCSI_LOGIN_OPTIONS_DEFAULT_TIME_2_RETAIN) {
        p->time2retain = (USHORT)in->LoginOptions.DefaultTime2Retain;
    }
    p->session_type = *type == ISCSI_LOGINTARGET_DISCOVERY ?
                      ISCSI_HBA_SESSION_DISCOVERY : ISCSI_HBA_SESSION_NORMAL;
    return 0;
}

static int free_target(IHBA_EXT *e)
{
    int i;

    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        if (e->target[i].state == IHBA_TGT_FREE) {
            return i;
        }
    }
    return -1;
}

static int free_discovery(IHBA_EXT *e)
{
    int i;

    for (i = 0; i < IHBA_MAX_DISCOVERY; i++) {
        if (!e->discovery[i].used) {
            return i;
        }
    }
    return -1;
}

static void login_sqe(struct iscsi_hba_sqe *sqe, ULONG64 params_pa)
{
    ihba_zero(sqe, sizeof(*sqe));
    sqe->u.buf.addr = params_pa;
    sqe->u.buf.len = sizeof(struct iscsi_hba_login_params);
}

static int login_to_target(IHBA_EXT *e, struct method_call *c)
{
    struct iscsi_hba_login_params *p;
    struct iscsi_hba_sqe sqe;
    ULONG status, type = 0;
    int slot, idx;

    if (c->out_cap < sizeof(LoginToTarget_OUT)) {
        return -(int)sizeof(LoginToTarget_OUT);
    }
    slot = ihba_admin_alloc(e, IHBA_ADM_LOGIN);
    if (slot < 0) {
        return status_only(e, c, ISDSC_SESSION_BUSY);
    }
    p = (void *)e->admin_slot[slot].buf;
    status = parse_login(c->in, c->in_size, p, &type);
    if (status) {
        ihba_admin_free(e, slot);
        return status_only(e, c, status);
    }
    login_sqe(&sqe, e->admin_slot[slot].buf_pa);
    if (type == ISCSI_LOGINTARGET_DISCOVERY) {
        /*
         * The device's DISCOVERY logs in, asks and logs out in one go.
         * Probe the login now with no output buffer, so that a bad portal
         * or secret shows in this method's Status.
         */
        idx = free_discovery(e);
        if (idx < 0) {
            ihba_admin_free(e, slot);
            return status_only(e, c, ISDSC_TOO_MANY_SESSIONS);
        }
        e->admin_slot[slot].kind = IHBA_ADM_DISCOVERY_LOGIN;
        e->admin_slot[slot].target = (ULONG)idx;
        return park(e, c, slot, ISCSI_HBA_ADM_DISCOVERY, 0, &sqe);
    }
    idx = free_target(e);
    if (idx < 0) {
        ihba_admin_free(e, slot);
        return status_only(e, c, ISDSC_TOO_MANY_SESSIONS);
    }
    e->target[idx].state = IHBA_TGT_LOGGING_IN;
    e->target[idx].data = type == ISCSI_LOGINTARGET_DATA;
    ihba_copy(e->target[idx].name, p->target_name, sizeof(p->target_name));
    e->admin_slot[slot].target = (ULONG)idx;
    if (park(e, c, slot, ISCSI_HBA_ADM_LOGIN, 0, &sqe) < 0) {
        e->target[idx].state = IHBA_TGT_FREE;
        return -1;
    }
    return WMI_STATUS_PENDING;
}

static void login_out(struct ihba_admin_slot *s, ULONG status, ULONG64 id)
{
    LoginToTarget_OUT out;

    ihba_zero(&out, sizeof(out));
    out.Status = status;
    out.UniqueSessionId = id;
    out.UniqueConnectionId = id;    /* one connection per session */
    ihba_copy(s->out, &out, sizeof(out));
}

/*
 * Returns TRUE when the method goes on: a new session's SESSION_INFO is
 * fetched before LoginToTarget returns, so that the initiator service
 * finds it complete in MSiSCSI_InitiatorSessionInfo.
 */
static BOOLEAN login_done(IHBA_EXT *e, int slot,
                          const struct iscsi_hba_cqe *cqe)
{
    struct ihba_admin_slot *s = &e->admin_slot[slot];
    struct ihba_target *t = &e->target[s->target];

    if (ISCSI_HBA_STATUS_IS_ERROR(cqe->status)) {
        t->state = IHBA_TGT_FREE;
        login_out(s, cqe->status, 0);
        return FALSE;
    }
    /* success, or a warning (ISDSC_SHORT_CHAP_SECRET): a session */
    t->state = IHBA_TGT_UP;
    t->session_id = (ULONG)cqe->result;
    t->auth = ((const struct iscsi_hba_login_params *)s->buf)->auth_type;
    ihba_zero(s->buf, IHBA_ADMIN_BUF);  /* the CHAP secret: gone */
    login_out(s, cqe->status, cqe->result);
    if (t->data) {
        ihba_bus_changed(e);
    }
    s->kind = IHBA_ADM_SESSION_INFO;
    return ihba_fetch_session_info(e, slot, s->target);
}

BOOLEAN ihba_fetch_session_info(IHBA_EXT *e, int slot, ULONG target)
{
    struct ihba_admin_slot *s = &e->admin_slot[slot];
    struct iscsi_hba_sqe sqe;

    s->target = target;
    ihba_zero(&sqe, sizeof(sqe));
    sqe.u.buf.addr = s->buf_pa;
    sqe.u.buf.len = sizeof(struct iscsi_hba_session_info);
    return ihba_admin_submit(e, slot, ISCSI_HBA_ADM_SESSION_INFO,
                             e->target[target].session_id, &sqe);
}

static void session_info_done(IHBA_EXT *e, struct ihba_admin_slot *s,
                              const struct iscsi_hba_cqe *cqe)
{
    struct ihba_target *t = &e->target[s->target];

    if (cqe->status == 0 && t->state != IHBA_TGT_FREE) {
        ihba_copy(&t->info, s->buf, sizeof(t->info));
        if (!t->name[0]) {          /* adopted host-configured session */
            ihba_copy(t->name, t->info.target_name, sizeof(t->name) - 1);
        }
    }
}

static void discovery_login_done(IHBA_EXT *e, struct ihba_admin_slot *s,
                                 const struct iscsi_hba_cqe *cqe)
{
    struct ihba_discovery *d = &e->discovery[s->target];

    /* Logged in: either nothing to report or our empty buffer too small. */
    if (cqe->status == 0 || cqe->status == ISDSC_BUFFER_TOO_SMALL) {
        d->used = TRUE;
        ihba_copy(&d->params, s->buf, sizeof(d->params));
        login_out(s, 0, DISC_ID_BASE + s->target);
    } else {
        login_out(s, cqe->status, 0);
    }
}

static int discovery_of(IHBA_EXT *e, ULONG64 id)
{
    if (id < DISC_ID_BASE || id >= DISC_ID_BASE + IHBA_MAX_DISCOVERY ||
        !e->discovery[id - DISC_ID_BASE].used) {
        return -1;
    }
    return (int)(id - DISC_ID_BASE);
}

static int send_targets(IHBA_EXT *e, struct method_call *c)
{
    ULONG head = offsetof(SendTargets_OUT, Response), room;
    struct iscsi_hba_sqe sqe;
    int idx, slot;
    const SendTargets_IN *in = (const void *)c->in;

    if (c->in_size < sizeof(ULONG64)) {
        return -1;
    }
    if (c->out_cap < head) {
        return -(int)head;
    }
    idx = discovery_of(e, get_ulong64(c->in));
    if (idx < 0) {
        return status_only(e, c, ISDSC_INVALID_SESSION_ID);
    }
    /* The device sends SendTargets=All only. */
    if (c->in_size >= sizeof(*in) && in->SendTargetsText[0] &&
        !(in->SendTargetsText[0] == 'A' && in->SendTargetsText[1] == 'l' &&
          in->SendTargetsText[2] == 'l' && in->SendTargetsText[3] == 0)) {
        return status_only(e, c, ISDSC_REQUEST_NOT_SUPPORTED);
    }
    slot = e->disc_busy ? -1 : ihba_admin_alloc(e, IHBA_ADM_SEND_TARGETS);
    if (slot < 0) {
        return status_only(e, c, ISDSC_SESSION_BUSY);
    }
    room = c->out_cap - head;
    ihba_copy(e->admin_slot[slot].buf, &e->discovery[idx].params,
              sizeof(e->discovery[idx].params));
    login_sqe(&sqe, e->admin_slot[slot].buf_pa);
    sqe.u.buf.addr2 = e->disc_pa;
    sqe.u.buf.len2 = room < IHBA_DISC_BUF ? room : IHBA_DISC_BUF;
    e->disc_busy = TRUE;
    if (park(e, c, slot, ISCSI_HBA_ADM_DISCOVERY, 0, &sqe) < 0) {
        e->disc_busy = FALSE;
        return -1;
    }
    return WMI_STATUS_PENDING;
}

static ULONG send_targets_done(IHBA_EXT *e, struct ihba_admin_slot *s,
                               const struct iscsi_hba_cqe *cqe)
{
    ULONG head = offsetof(SendTargets_OUT, Response);
    ULONG n = 0;

    e->disc_busy = FALSE;
    put_ulong(s->out, cqe->status);
    if (cqe->status == 0) {
        n = (ULONG)cqe->result;
        if (n > IHBA_DISC_BUF || n > s->out_cap - head) {
            n = 0;              /* more than we allowed: never trust it */
        }
        ihba_copy(s->out + head, e->disc_buf, n);
        put_ulong(s->out + sizeof(ULONG), n);
    } else if (cqe->status == ISDSC_BUFFER_TOO_SMALL) {
        put_ulong(s->out + sizeof(ULONG), (ULONG)cqe->result);  /* needed */
    } else {
        put_ulong(s->out + sizeof(ULONG), 0);
    }
    return head + n;
}

static int logout_from_target(IHBA_EXT *e, struct method_call *c)
{
    ULONG64 id;
    int idx, slot, i;

    if (c->in_size < sizeof(LogoutFromTarget_IN)) {
        return -1;
    }
    if (c->out_cap < sizeof(ISCSI_STATUS_OUT)) {
        return -(int)sizeof(ISCSI_STATUS_OUT);
    }
    id = get_ulong64(c->in);
    idx = discovery_of(e, id);
    if (idx >= 0) {
        e->discovery[idx].used = FALSE;
        return status_only(e, c, 0);
    }
    if (id > 0xffffffffu) {
        return status_only(e, c, ISDSC_INVALID_SESSION_ID);
    }
    slot = ihba_admin_alloc(e, IHBA_ADM_LOGOUT);
    if (slot < 0) {
        return status_only(e, c, ISDSC_SESSION_BUSY);
    }
    /* Unknown to us: the device still answers (INVALID_SESSION_ID). */
    e->admin_slot[slot].target = IHBA_MAX_TARGETS;
    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        if (e->target[i].state != IHBA_TGT_FREE &&
            e->target[i].state != IHBA_TGT_LOGGING_IN &&
            e->target[i].session_id == (ULONG)id) {
            e->admin_slot[slot].target = (ULONG)i;
            e->target[i].state = IHBA_TGT_LOGGING_OUT;
            break;
        }
    }
    if (park(e, c, slot, ISCSI_HBA_ADM_LOGOUT, (ULONG)id, NULL) < 0) {
        if (i < IHBA_MAX_TARGETS) {
            e->target[i].state = IHBA_TGT_UP;
        }
        return -1;
    }
    return WMI_STATUS_PENDING;
}

static void logout_done(IHBA_EXT *e, struct ihba_admin_slot *s,
                        const struct iscsi_hba_cqe *cqe)
{
    struct ihba_target *t;

    if (s->out) {
        put_ulong(s->out, cqe->status);
    }
    if (s->target >= IHBA_MAX_TARGETS) {
        return;
    }
    t = &e->target[s->target];
    if (cqe->status == 0 || cqe->status == ISDSC_INVALID_SESSION_ID) {
        BOOLEAN was_data = t->data;

        t->state = IHBA_TGT_FREE;
        if (was_data) {
            ihba_bus_changed(e);
        }
    } else {
        t->state = IHBA_TGT_UP;
    }
}

static int set_chap_secret(IHBA_EXT *e, struct method_call *c)
{
    struct iscsi_hba_sqe sqe;
    ULONG size;
    int slot;

    if (c->in_size < sizeof(ULONG)) {
        return -1;
    }
    if (c->out_cap < sizeof(ISCSI_STATUS_OUT)) {
        return -(int)sizeof(ISCSI_STATUS_OUT);
    }
    size = get_ulong(c->in);
    if (size > c->in_size - sizeof(ULONG)) {
        return -1;
    }
    slot = ihba_admin_alloc(e, IHBA_ADM_STATUS_ONLY);
    if (slot < 0) {
        return status_only(e, c, ISDSC_SESSION_BUSY);
    }
    /* The device checks the length (1 .. 255) before it reads. */
    ihba_copy(e->admin_slot[slot].buf, c->in + sizeof(ULONG),
              size < IHBA_ADMIN_BUF ? size : IHBA_ADMIN_BUF);
    ihba_zero(&sqe, sizeof(sqe));
    sqe.u.buf.addr = e->admin_slot[slot].buf_pa;
    sqe.u.buf.len = size;
    sqe.u.buf.param = ISCSI_HBA_CHAP_SECRET_INITIATOR;
    return park(e, c, slot, ISCSI_HBA_ADM_SET_CHAP_SECRET, 0, &sqe);
}

static int set_initiator_node_name(IHBA_EXT *e, struct method_call *c)
{
    struct iscsi_hba_sqe sqe;
    char *name;
    int slot;

    if (c->in_size < sizeof(SetInitiatorNodeName_IN)) {
        return -1;
    }
    if (c->out_cap < sizeof(ISCSI_STATUS_OUT)) {
        return -(int)sizeof(ISCSI_STATUS_OUT);
    }
    slot = ihba_admin_alloc(e, IHBA_ADM_STATUS_ONLY);
    if (slot < 0) {
        return status_only(e, c, ISDSC_SESSION_BUSY);
    }
    name = (char *)e->admin_slot[slot].buf;
    if (!wide_to_ascii(c->in, ISCSI_NAME_CHARS, name, ISCSI_NAME_CHARS)) {
        ihba_admin_free(e, slot);
        return status_only(e, c, ISDSC_INVALID_ISCSI_NAME);
    }
    ihba_zero(&sqe, sizeof(sqe));
    sqe.u.buf.addr = e->admin_slot[slot].buf_pa;
    sqe.u.buf.len = ihba_strnlen(name, ISCSI_NAME_CHARS);
    return park(e, c, slot, ISCSI_HBA_ADM_SET_INITIATOR_NAME, 0, &sqe);
}

static int scsi_report_luns(IHBA_EXT *e, struct method_call *c)
{
    ULONG head = offsetof(ScsiReportLuns_OUT, ResponseBuffer), room;
    struct iscsi_hba_sqe sqe;
    ULONG64 id;
    int slot;

    if (c->in_size < sizeof(ScsiReportLuns_IN)) {
        return -1;
    }
    if (c->out_cap < head) {
        return -(int)head;
    }
    id = get_ulong64(c->in);
    if (id > 0xffffffffu) {
        return status_only(e, c, ISDSC_INVALID_SESSION_ID);
    }
    slot = ihba_admin_alloc(e, IHBA_ADM_REPORT_LUNS);
    if (slot < 0) {
        return status_only(e, c, ISDSC_SESSION_BUSY);
    }
    room = c->out_cap - head;
    ihba_zero(&sqe, sizeof(sqe));
    sqe.u.buf.addr = e->admin_slot[slot].buf_pa;
    sqe.u.buf.len = room < IHBA_ADMIN_BUF ? room : IHBA_ADMIN_BUF;
    return park(e, c, slot, ISCSI_HBA_ADM_REPORT_LUNS, (ULONG)id, &sqe);
}

static ULONG report_luns_done(struct ihba_admin_slot *s,
                              const struct iscsi_hba_cqe *cqe)
{
    ULONG head = offsetof(ScsiReportLuns_OUT, ResponseBuffer), n = 0;
    ScsiReportLuns_OUT out;

    ihba_zero(&out, sizeof(out));
    out.Status = cqe->status;
    if (cqe->status == 0) {
        n = (ULONG)cqe->result;
        if (n > IHBA_ADMIN_BUF || n > s->out_cap - head) {
            n = 0;
        }
        ihba_copy(s->out + head, s->buf, n);
    }
    out.ResponseBufferSize = cqe->status == ISDSC_BUFFER_TOO_SMALL ?
                             (ULONG)cqe->result : n;
    ihba_copy(s->out, &out, head);
    return head + n;
}

/* Returns 0 (done), WMI_STATUS_PENDING, -1 (bad input) or -needed. */
static int run_method(IHBA_EXT *e, ULONG method, struct method_call *c)
{
    switch (method) {
    case LoginToTarget:
        return login_to_target(e, c);
    case LogoutFromTarget:
        return logout_from_target(e, c);
    case SendTargets:
        return send_targets(e, c);
    case SetCHAPSharedSecret:
        return set_chap_secret(e, c);
    case SetInitiatorNodeName:
        return set_initiator_node_name(e, c);
    case ScsiReportLuns:
        return scsi_report_luns(e, c);
    case AddConnectionToSession:
    case RemoveConnectionFromSession:
    case RemovePersistentLogin:
    case DeleteInitiatorNodeName:
    case ScsiInquiry:
    case ScsiReadCapacity:
        /* required to exist; one connection per session, no persistence */
        if (c->out_cap < sizeof(ISCSI_STATUS_OUT)) {
            return -(int)sizeof(ISCSI_STATUS_OUT);
        }
        return status_only(e, c, ISDSC_REQUEST_NOT_SUPPORTED);
    default:
        return -1;
    }
}

static BOOLEAN execute_method(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb)
{
    WNODE_METHOD_ITEM *m = srb->DataBuffer;
    ULONG total = srb->DataTransferLength;
    struct method_call c;
    int r;

    if (total < sizeof(*m) || m->DataBlockOffset < sizeof(*m) ||
        m->DataBlockOffset > total ||
        m->SizeDataBlock > total - m->DataBlockOffset ||
        guid_index(&m->WnodeHeader.Guid) != GUID_OPERATIONS ||
        m->InstanceIndex != 0) {
        complete_wmi(e, srb, SRB_STATUS_ERROR);
        return TRUE;
    }
    c.srb = srb;
    c.in = (UCHAR *)m + m->DataBlockOffset;
    c.in_size = m->SizeDataBlock;
    c.out = (UCHAR *)m + m->DataBlockOffset;
    c.out_cap = total - m->DataBlockOffset;
    r = run_method(e, m->MethodId, &c);
    if (r == -1) {
        complete_wmi(e, srb, SRB_STATUS_ERROR);
    } else if (r < 0) {
        wnode_too_small(e, srb, m->DataBlockOffset + (ULONG)-r);
    }
    return TRUE;
}

BOOLEAN ihba_wmi_srb(IHBA_EXT *e, PSCSI_WMI_REQUEST_BLOCK srb)
{
    if (!(srb->WMIFlags & SRB_WMI_FLAGS_ADAPTER_REQUEST) || !srb->DataBuffer) {
        complete_wmi(e, srb, SRB_STATUS_INVALID_REQUEST);
        return TRUE;
    }
    switch (srb->WMISubFunction) {
    case IRP_MN_REGINFO:
        return reginfo(e, srb);
    case IRP_MN_QUERY_ALL_DATA:
        return query_all(e, srb);
    case IRP_MN_QUERY_SINGLE_INSTANCE:
        return query_single(e, srb);
    case IRP_MN_EXECUTE_METHOD:
        return execute_method(e, srb);
    default:
        complete_wmi(e, srb, SRB_STATUS_INVALID_REQUEST);
        return TRUE;
    }
}

/* An admin command of a WMI method completed: fill its output. */
void ihba_wmi_admin_done(IHBA_EXT *e, int slot,
                         const struct iscsi_hba_cqe *cqe)
{
    struct ihba_admin_slot *s = &e->admin_slot[slot];
    ULONG out_size = sizeof(ISCSI_STATUS_OUT);

    switch (s->kind) {
    case IHBA_ADM_LOGIN:
        if (login_done(e, slot, cqe)) {
            return;             /* SESSION_INFO follows on this slot */
        }
        out_size = sizeof(LoginToTarget_OUT);
        break;
    case IHBA_ADM_SESSION_INFO:
        session_info_done(e, s, cqe);
        out_size = sizeof(LoginToTarget_OUT);   /* if LoginToTarget's */
        break;
    case IHBA_ADM_DISCOVERY_LOGIN:
        discovery_login_done(e, s, cqe);
        out_size = sizeof(LoginToTarget_OUT);
        break;
    case IHBA_ADM_SEND_TARGETS:
        out_size = send_targets_done(e, s, cqe);
        break;
    case IHBA_ADM_LOGOUT:
        logout_done(e, s, cqe);
        break;
    case IHBA_ADM_REPORT_LUNS:
        out_size = report_luns_done(s, cqe);
        break;
    default:                    /* IHBA_ADM_STATUS_ONLY */
        put_ulong(s->out, cqe->status);
        if (s->opcode == ISCSI_HBA_ADM_SET_INITIATOR_NAME &&
            cqe->status == 0) {
            ULONG n = ihba_strnlen((const char *)s->buf, ISCSI_NAME_CHARS);

            ihba_copy(e->initiator_name, s->buf, n);
            e->initiator_name[n] = 0;
        }
        break;
    }
    if (s->srb) {
        method_done(e, s->srb, out_size);
    }
    ihba_admin_free(e, slot);
}

static struct ihba_target *target_by_session(IHBA_EXT *e, ULONG id)
{
    int i;

    for (i = 0; i < IHBA_MAX_TARGETS; i++) {
        if (e->target[i].state != IHBA_TGT_FREE &&
            e->target[i].session_id == id) {
            return &e->target[i];
        }
    }
    return NULL;
}

/* A session gave up reconnecting: LOGOUT frees its device slot. */
static void drop_failed_session(IHBA_EXT *e, struct ihba_target *t)
{
    int slot = ihba_admin_alloc(e, IHBA_ADM_LOGOUT);

    if (slot < 0) {
        return;                 /* retried on the next event overflow */
    }
    e->admin_slot[slot].target = (ULONG)(t - e->target);
    t->state = IHBA_TGT_LOGGING_OUT;
    if (!ihba_admin_submit(e, slot, ISCSI_HBA_ADM_LOGOUT, t->session_id,
                           NULL)) {
        ihba_admin_free(e, slot);
        t->state = IHBA_TGT_LOST;
    }
}

/* A reconnection negotiated anew: TSIH and parameters may have changed. */
static void refresh_session_info(IHBA_EXT *e, struct ihba_target *t)
{
    int slot = ihba_admin_alloc(e, IHBA_ADM_SESSION_INFO);

    if (slot >= 0 &&
        !ihba_fetch_session_info(e, slot, (ULONG)(t - e->target))) {
        ihba_admin_free(e, slot);
    }
}

/* "Handling session events"; then the request goes back to the device. */
void ihba_async_event(IHBA_EXT *e, const struct iscsi_hba_cqe *cqe)
{
    struct ihba_target *t;
    int slot = cqe->cid;

    if (cqe->status && ISCSI_HBA_STATUS_IS_ERROR(cqe->status)) {
        ihba_admin_free(e, slot);   /* refused: do not loop */
        return;
    }
    t = target_by_session(e, ISCSI_HBA_EVENT_SESSION(cqe->result));
    switch (ISCSI_HBA_EVENT_TYPE(cqe->result)) {
    case ISCSI_HBA_EVENT_SESSION_LOST:
        if (t && t->state == IHBA_TGT_UP) {
            t->state = IHBA_TGT_LOST;
        }
        break;
    case ISCSI_HBA_EVENT_SESSION_RECOVERED:
        if (t && t->state == IHBA_TGT_LOST) {
            t->state = IHBA_TGT_UP;
            refresh_session_info(e, t);
        }
        ihba_bus_changed(e);
        break;
    case ISCSI_HBA_EVENT_SESSION_FAILED:
        if (t) {
            drop_failed_session(e, t);
        }
        break;
    case ISCSI_HBA_EVENT_LUNS_CHANGED:
    case ISCSI_HBA_EVENT_OVERFLOW:
        ihba_bus_changed(e);
        break;
    default:
        break;
    }
    if (!ihba_admin_submit(e, slot, ISCSI_HBA_ADM_ASYNC_EVENT, 0, NULL)) {
        ihba_admin_free(e, slot);
    }
}
