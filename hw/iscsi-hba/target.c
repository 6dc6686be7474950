/*
 * iscsi-hba: targets configured on the host
 *
 *   -object secret,id=chap0,file=/run/chap-secret
 *   -object iscsi-hba-target,id=boot,hba=hba0,portal=192.0.2.1:3260,\
 *           target=iqn.2026-11.org.example:disk,user=alice,\
 *           password-secret=chap0
 *   -device iscsi-hba,id=hba0
 *
 * The adapter logs in to its host-configured targets whenever the guest
 * enables it, so a guest (or its boot firmware) finds them without issuing
 * a LOGIN.  CHAP secrets come only from secret objects, read once when the
 * target object is created: deleting or replacing the secret object later
 * changes nothing.  A target object is immutable once created, and must
 * exist before its adapter is realized.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "qom/object_interfaces.h"
#include "crypto/secret.h"
#include "system/system.h"
#include "qemu-compat.h"
#include "iscsi-name.h"
#include "session.h"
#include "trace.h"

#define TYPE_ISCSI_HBA_TARGET "iscsi-hba-target"
OBJECT_DECLARE_SIMPLE_TYPE(IscsiHbaTarget, ISCSI_HBA_TARGET)

struct IscsiHbaTarget {
    Object parent_obj;

    char *hba;                      /* id of the iscsi-hba device */
    char *portal;                   /* host, host:port or [v6]:port */
    char *target;
    char *initiator_name;
    char *user;
    char *password_secret;          /* secret object id */
    char *target_user;              /* mutual CHAP */
    char *target_password_secret;

    /* Set by complete() */
    bool complete;
    char *host;
    uint16_t port;
    char *secret;                   /* CHAP secrets, wiped at finalize */
    char *target_secret;
    bool in_use;                    /* by a realized adapter */
    bool warned;                    /* its login failure was reported */
};

/* "host", "host:port", "[v6addr]" or "[v6addr]:port" */
static bool portal_parse(const char *portal, char **host, uint16_t *port,
                         Error **errp)
{
    const char *colon, *end;
    unsigned long p = ISCSI_HBA_DEFAULT_PORT;

    if (portal[0] == '[') {
        end = strchr(portal, ']');
        if (!end || end == portal + 1) {
            error_setg(errp, "portal '%s': unterminated or empty [address]",
                       portal);
            return false;
        }
        *host = g_strndup(portal + 1, end - portal - 1);
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] && !colon) {
            error_setg(errp, "portal '%s': expected ':port' after ']'",
                       portal);
            goto fail;
        }
    } else {
        colon = strrchr(portal, ':');
        if (colon && strchr(portal, ':') != colon) {
            error_setg(errp, "portal '%s': write IPv6 addresses as "
                       "[address]:port", portal);
            return false;
        }
        *host = colon ? g_strndup(portal, colon - portal) : g_strdup(portal);
    }
    if (!**host || strlen(*host) >= ISCSI_HBA_STRING_FIELD) {
        error_setg(errp, "portal '%s': host must be 1 to %d characters",
                   portal, ISCSI_HBA_STRING_FIELD - 1);
        goto fail;
    }
    if (colon && (qemu_strtoul(colon + 1, NULL, 10, &p) || p == 0 ||
                  p > 65535)) {
        error_setg(errp, "portal '%s': port must be 1 to 65535", portal);
        goto fail;
    }
    *port = p;
    return true;

fail:
    g_free(*host);
    *host = NULL;
    return false;
}

static void secret_free(char *secret)
{
    if (secret) {
        memset(secret, 0, strlen(secret));
        g_free(secret);
    }
}

/* Read a CHAP secret once, at creation; NULL with @errp set on failure. */
static char *secret_read(const char *prop, const char *id, Error **errp)
{
    char *secret = qcrypto_secret_lookup_as_utf8(id, errp);

    if (!secret) {
        error_prepend(errp, "%s: ", prop);
        return NULL;
    }
    if (!*secret || strlen(secret) >= ISCSI_HBA_STRING_FIELD) {
        error_setg(errp, "%s: the CHAP secret in '%s' must be 1 to %d bytes",
                   prop, id, ISCSI_HBA_STRING_FIELD - 1);
        secret_free(secret);
        return NULL;
    }
    return secret;
}

/* The adapter this object names, if it is already realized. */
static bool adapter_realized(const char *id)
{
    g_autofree char *path = g_strconcat("/machine/peripheral/", id, NULL);
    Object *obj = object_resolve_path_type(path, TYPE_ISCSI_HBA, NULL);

    return obj && DEVICE(obj)->realized;
}

static void iscsi_hba_target_complete(UserCreatable *uc, Error **errp)
{
    IscsiHbaTarget *t = ISCSI_HBA_TARGET(uc);
    const char *why;

    if (!t->hba) {
        error_setg(errp, "hba: the id of the iscsi-hba device is required");
        return;
    }
    if (!t->target) {
        error_setg(errp, "target: the target's iSCSI name is required");
        return;
    }
    if (!iscsi_name_is_valid(t->target, strlen(t->target), &why)) {
        error_setg(errp, "target '%s' is not a valid iSCSI name: %s",
                   t->target, why);
        return;
    }
    if (t->initiator_name &&
        !iscsi_name_is_valid(t->initiator_name, strlen(t->initiator_name),
                             &why)) {
        error_setg(errp, "initiator-name '%s' is not a valid iSCSI name: %s",
                   t->initiator_name, why);
        return;
    }
    if (!t->portal) {
        error_setg(errp, "portal: the target's address is required");
        return;
    }
    if (!portal_parse(t->portal, &t->host, &t->port, errp)) {
        return;
    }
    if (!t->user != !t->password_secret) {
        error_setg(errp, "user and password-secret go together (CHAP)");
        return;
    }
    if (t->password_secret) {
        t->secret = secret_read("password-secret", t->password_secret, errp);
        if (!t->secret) {
            return;
        }
    }
    if (!t->target_user != !t->target_password_secret) {
        error_setg(errp, "target-user and target-password-secret go "
                   "together (mutual CHAP)");
        return;
    }
    if (t->target_user && !t->user) {
        error_setg(errp, "target-user: mutual CHAP needs user and "
                   "password-secret as well");
        return;
    }
    if (t->target_password_secret) {
        t->target_secret = secret_read("target-password-secret",
                                       t->target_password_secret, errp);
        if (!t->target_secret) {
            return;
        }
    }
    if (adapter_realized(t->hba)) {
        error_setg(errp, "iscsi-hba-target '%s': adapter '%s' is already "
                   "realized; create targets before the adapter",
                   object_get_canonical_path_component(OBJECT(t)) ?: "",
                   t->hba);
        return;
    }
    t->complete = true;
}

static bool iscsi_hba_target_can_be_deleted(UserCreatable *uc)
{
    return !ISCSI_HBA_TARGET(uc)->in_use;
}

/* Fill login parameters; the caller wipes them (they hold secrets). */
static void host_target_login(IscsiHbaState *s, IscsiHbaTarget *t,
                              unsigned index, IscsiHbaLogin *l)
{
    memset(l, 0, sizeof(*l));
    pstrcpy(l->target, sizeof(l->target), t->target);
    pstrcpy(l->initiator, sizeof(l->initiator),
            t->initiator_name ?: s->initiator_name);
    pstrcpy(l->host, sizeof(l->host), t->host);
    l->port = t->port;
    l->host_configured = true;
    l->host_target = index;
    if (t->secret) {
        l->auth = ISCSI_HBA_AUTH_CHAP;
        pstrcpy(l->user, sizeof(l->user), t->user);
        l->secret_len = strlen(t->secret);
        memcpy(l->secret, t->secret, l->secret_len);
    }
    if (t->target_secret) {
        l->auth = ISCSI_HBA_AUTH_MUTUAL_CHAP;
        pstrcpy(l->target_user, sizeof(l->target_user), t->target_user);
        pstrcpy(l->target_secret, sizeof(l->target_secret),
                t->target_secret);
    }
}

bool iscsi_hba_host_targets_has_portal(IscsiHbaState *s, const char *host,
                                       uint16_t port)
{
    unsigned i;

    for (i = 0; s->host_targets && i < s->host_targets->len; i++) {
        IscsiHbaTarget *t = g_ptr_array_index(s->host_targets, i);

        if (t->port == port && !strcmp(t->host, host)) {
            return true;
        }
    }
    return false;
}

static int collect_target(Object *obj, void *opaque)
{
    IscsiHbaState *s = opaque;
    IscsiHbaTarget *t = (IscsiHbaTarget *)object_dynamic_cast(
        obj, TYPE_ISCSI_HBA_TARGET);
    const char *id = DEVICE(s)->id;

    if (t && t->complete && id && !strcmp(t->hba, id)) {
        t->in_use = true;
        g_ptr_array_add(s->host_targets, object_ref(obj));
    }
    return 0;
}

static IscsiHbaTarget *find_target(IscsiHbaState *s, const char *id)
{
    Object *obj = object_resolve_path_component(object_get_objects_root(), id);
    IscsiHbaTarget *t = (IscsiHbaTarget *)object_dynamic_cast(
        obj, TYPE_ISCSI_HBA_TARGET);

    return t && t->complete && DEVICE(s)->id && !strcmp(t->hba, DEVICE(s)->id)
           ? t : NULL;
}

/*
 * Realize, before anything is set up: the boot properties name a target
 * of this adapter and an unused bootindex.
 */
bool iscsi_hba_host_targets_check(IscsiHbaState *s, Error **errp)
{
    ERRP_GUARD();

    if (s->bootindex < -1) {
        error_setg(errp, "bootindex must be -1 or more, not %d", s->bootindex);
        return false;
    }
    if (s->boot_lun > 16383) {
        error_setg(errp, "boot-lun must be 0 to 16383 (a single-level LUN), "
                   "not %u", s->boot_lun);
        return false;
    }
    if (s->boot_target && !find_target(s, s->boot_target)) {
        error_setg(errp, "boot-target '%s' is not an iscsi-hba-target of "
                   "this adapter (its hba= must name this device's id)",
                   s->boot_target);
        return false;
    }
    if (s->bootindex < 0) {
        return true;
    }
    if (!s->boot_target) {
        error_setg(errp, "bootindex needs boot-target, the id of the "
                   "iscsi-hba-target to boot from");
        return false;
    }
    check_boot_index(s->bootindex, errp);
    return !*errp;
}

static int compare_target_ids(gconstpointer a, gconstpointer b)
{
    Object *x = *(Object *const *)a, *y = *(Object *const *)b;

    return g_strcmp0(object_get_canonical_path_component(x),
                     object_get_canonical_path_component(y));
}

/*
 * Realize: take the targets that name this adapter, numbered in the order
 * of their ids (not of hashing), the number SESSION_INFO reports as
 * host_target.  The boot target's LUN goes into the firmware's boot order
 * as <adapter>/channel@0/disk@<number>,<lun>, the path SeaBIOS and OVMF
 * match for SCSI disks.
 */
void iscsi_hba_host_targets_init(IscsiHbaState *s)
{
    unsigned i;

    s->host_targets = g_ptr_array_new();
    object_child_foreach(object_get_objects_root(), collect_target, s);
    g_ptr_array_sort(s->host_targets, compare_target_ids);
    for (i = 0; s->bootindex >= 0 && i < s->host_targets->len; i++) {
        Object *t = g_ptr_array_index(s->host_targets, i);
        g_autofree char *suffix = NULL;

        if (!strcmp(object_get_canonical_path_component(t), s->boot_target)) {
            suffix = g_strdup_printf("/channel@0/disk@%x,%x", i, s->boot_lun);
            add_boot_device_path(s->bootindex, DEVICE(s), suffix);
        }
    }
}

void iscsi_hba_host_targets_cleanup(IscsiHbaState *s)
{
    unsigned i;

    for (i = 0; i < s->host_targets->len; i++) {
        IscsiHbaTarget *t = g_ptr_array_index(s->host_targets, i);

        t->in_use = false;
        object_unref(OBJECT(t));
    }
    g_ptr_array_free(s->host_targets, true);
    del_boot_device_path(DEVICE(s), NULL);
    s->host_targets = NULL;
}

/*
 * Enable: log in to every host-configured target.  Nobody waits for these
 * logins; a failed one is retried like a lost connection, and the guest
 * sees the sessions in LIST_SESSIONS (SESSION_INFO flag HOST_CONFIGURED).
 * The guest decides how often this runs, so a target that cannot even
 * start a login is reported once, and traced every time.
 */
void iscsi_hba_host_targets_login(IscsiHbaState *s)
{
    g_autofree IscsiHbaLogin *l = g_new0(IscsiHbaLogin, 1);
    unsigned i;

    for (i = 0; i < s->host_targets->len; i++) {
        IscsiHbaTarget *t = g_ptr_array_index(s->host_targets, i);
        uint32_t status;

        host_target_login(s, t, i, l);
        status = iscsi_hba_session_login(s, NULL, l);
        if (status) {
            trace_iscsi_hba_host_target_refused(t->target, status);
            if (!t->warned) {
                t->warned = true;
                warn_report("iscsi-hba: host target %s: %s (reported once)",
                            t->target, iscsi_hba_isdsc_name(status));
            }
        }
    }
    memset(l, 0, sizeof(*l));
}

unsigned iscsi_hba_host_targets_count(IscsiHbaState *s)
{
    return s->host_targets ? s->host_targets->len : 0;
}

#define STR_PROP(field, name)                                       \
    static char *get_##field(Object *obj, Error **errp)                 \
    {                                                                   \
        return g_strdup(ISCSI_HBA_TARGET(obj)->field);                  \
    }                                                                   \
    static void set_##field(Object *obj, const char *v, Error **errp)   \
    {                                                                   \
        IscsiHbaTarget *t = ISCSI_HBA_TARGET(obj);                      \
        if (t->complete) {                                              \
            error_setg(errp, "iscsi-hba-target: '%s' cannot be changed " \
                       "after the object is created", name);            \
            return;                                                     \
        }                                                               \
        g_free(t->field);                                               \
        t->field = g_strdup(v);                                         \
    }

STR_PROP(hba, "hba")
STR_PROP(portal, "portal")
STR_PROP(target, "target")
STR_PROP(initiator_name, "initiator-name")
STR_PROP(user, "user")
STR_PROP(password_secret, "password-secret")
STR_PROP(target_user, "target-user")
STR_PROP(target_password_secret, "target-password-secret")

static void iscsi_hba_target_finalize(Object *obj)
{
    IscsiHbaTarget *t = ISCSI_HBA_TARGET(obj);

    g_free(t->hba);
    g_free(t->portal);
    g_free(t->target);
    g_free(t->initiator_name);
    g_free(t->user);
    g_free(t->password_secret);
    g_free(t->target_user);
    g_free(t->target_password_secret);
    g_free(t->host);
    secret_free(t->secret);
    secret_free(t->target_secret);
}

static void iscsi_hba_target_class_init(ObjectClass *oc,
                                        IscsiHbaClassData data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = iscsi_hba_target_complete;
    ucc->can_be_deleted = iscsi_hba_target_can_be_deleted;
    object_class_property_add_str(oc, "hba", get_hba, set_hba);
    object_class_property_set_description(oc, "hba",
        "id of the iscsi-hba device that logs in to the target");
    object_class_property_add_str(oc, "portal", get_portal, set_portal);
    object_class_property_set_description(oc, "portal",
        "target portal: host, host:port or [IPv6]:port (port 3260)");
    object_class_property_add_str(oc, "target", get_target, set_target);
    object_class_property_set_description(oc, "target",
        "iSCSI name of the target");
    object_class_property_add_str(oc, "initiator-name", get_initiator_name,
                                  set_initiator_name);
    object_class_property_set_description(oc, "initiator-name",
        "initiator name for this target (default: the adapter's)");
    object_class_property_add_str(oc, "user", get_user, set_user);
    object_class_property_set_description(oc, "user", "CHAP user name");
    object_class_property_add_str(oc, "password-secret",
                                  get_password_secret, set_password_secret);
    object_class_property_set_description(oc, "password-secret",
        "id of the secret object holding the CHAP secret");
    object_class_property_add_str(oc, "target-user", get_target_user,
                                  set_target_user);
    object_class_property_set_description(oc, "target-user",
        "mutual CHAP: the name the target must present");
    object_class_property_add_str(oc, "target-password-secret",
                                  get_target_password_secret,
                                  set_target_password_secret);
    object_class_property_set_description(oc, "target-password-secret",
        "mutual CHAP: id of the secret object the target proves itself with");
}

static const TypeInfo iscsi_hba_target_info = {
    .name = TYPE_ISCSI_HBA_TARGET,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(IscsiHbaTarget),
    .instance_finalize = iscsi_hba_target_finalize,
    .class_init = iscsi_hba_target_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void iscsi_hba_target_register_types(void)
{
    type_register_static(&iscsi_hba_target_info);
}

type_init(iscsi_hba_target_register_types)
