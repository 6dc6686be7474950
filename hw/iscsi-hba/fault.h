/*
 * iscsi-hba: fault injection -- internal interface
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ISCSI_HBA_FAULT_H
#define HW_ISCSI_HBA_FAULT_H

#include "qapi/qapi-types-iscsi-hba.h"
#include "iscsi-hba.h"

/* What a hook knows about the command it is about to execute. */
typedef struct IscsiHbaFaultCtx {
    IscsiHbaFaultOp op;
    bool admin;                     /* an admin command of any kind */
    const char *target;             /* NULL if none */
    uint32_t session;               /* 0 if none */
    int lun;                        /* -1 if none */
    int opcode;                     /* -1 if none */
    int dir;                        /* IscsiHbaFaultDirection, -1 if none */
    bool has_lba;
    uint64_t lba;
    uint32_t blocks;
} IscsiHbaFaultCtx;

/* fault-parse.c (always built: HMP uses it too) */
IscsiHbaFaultRule *iscsi_hba_fault_rule_parse(const char *text, Error **errp);

/* fault.c */
void iscsi_hba_faults_init(IscsiHbaState *s, Error **errp);
void iscsi_hba_faults_cleanup(IscsiHbaState *s);
bool iscsi_hba_fault_before(IscsiHbaRequest *req, const IscsiHbaFaultCtx *c,
                            IscsiHbaSession *sess);
void iscsi_hba_fault_after_target(IscsiHbaRequest *req);
uint32_t iscsi_hba_fault_host_login(IscsiHbaState *s, const char *target);
bool iscsi_hba_fault_tmf_held(IscsiHbaRequest *tmf);
void iscsi_hba_fault_logout(IscsiHbaState *s, uint32_t session);
unsigned iscsi_hba_fault_count(IscsiHbaState *s);

#endif
