/*
 * The Microsoft iSCSI WMI interface, as far as the iscsi-hba miniport
 * implements it: class GUIDs, method ids and data layouts of the classes
 * in guest/windows/iscsihba.mof, written from the public documentation of
 * the iSCSI WMI classes (learn.microsoft.com, "iSCSI WMI Classes" and the
 * MOF text quoted there) and the WMI data block layout rules (wmistr.h).
 *
 * mingw-w64 ships none of iscsidef.h, iscsiop.h, iscsimgt.h, iscsierr.h;
 * the ISDSC values come from the project's ABI header instead.
 *
 * Layout rule (WMI): a MOF class is a C struct with natural alignment;
 * strings with a MaxLen qualifier are fixed WCHAR arrays of MaxLen + 1.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR BSD-2-Clause
 */

#ifndef ISCSI_WMI_H
#define ISCSI_WMI_H

#include "storport-min.h"

/* ---- wmistr.h: WNODE buffers ---- */

typedef struct _WNODE_HEADER {
    ULONG BufferSize;
    ULONG ProviderId;
    ULONG64 HistoricalContext;
    LARGE_INTEGER TimeStamp;
    GUID Guid;
    ULONG ClientContext;
    ULONG Flags;
} WNODE_HEADER;

#define WNODE_FLAG_ALL_DATA             0x00000001
#define WNODE_FLAG_SINGLE_INSTANCE      0x00000002
#define WNODE_FLAG_FIXED_INSTANCE_SIZE  0x00000010
#define WNODE_FLAG_TOO_SMALL            0x00000020
#define WNODE_FLAG_METHOD_ITEM          0x00008000
#define WNODE_FLAG_PDO_INSTANCE_NAMES   0x00004000

typedef struct _WNODE_ALL_DATA {
    WNODE_HEADER WnodeHeader;
    ULONG DataBlockOffset;
    ULONG InstanceCount;
    ULONG OffsetInstanceNameOffsets;
    ULONG FixedInstanceSize;
} WNODE_ALL_DATA;

typedef struct _WNODE_SINGLE_INSTANCE {
    WNODE_HEADER WnodeHeader;
    ULONG OffsetInstanceName;
    ULONG InstanceIndex;
    ULONG DataBlockOffset;
    ULONG SizeDataBlock;
} WNODE_SINGLE_INSTANCE;

typedef struct _WNODE_METHOD_ITEM {
    WNODE_HEADER WnodeHeader;
    ULONG OffsetInstanceName;
    ULONG InstanceIndex;
    ULONG MethodId;
    ULONG DataBlockOffset;
    ULONG SizeDataBlock;
} WNODE_METHOD_ITEM;

typedef struct _WNODE_TOO_SMALL {
    WNODE_HEADER WnodeHeader;
    ULONG SizeNeeded;
} WNODE_TOO_SMALL;

typedef struct _WMIREGGUIDW {
    GUID Guid;
    ULONG Flags;
    ULONG InstanceCount;
    ULONG_PTR Pdo;              /* union with InstanceNameList etc. */
} WMIREGGUIDW;

typedef struct _WMIREGINFOW {
    ULONG BufferSize;
    ULONG NextWmiRegInfo;
    ULONG RegistryPath;         /* offset of a counted string */
    ULONG MofResourceName;      /* offset of a counted string */
    ULONG GuidCount;
    WMIREGGUIDW WmiRegGuid[];
} WMIREGINFOW;

#define WMIREG_FLAG_INSTANCE_PDO        0x00000020

/* ---- iscsidef.h types ---- */

#define ISCSI_NAME_CHARS        224     /* MaxLen 223 + NUL */

#define ISCSI_IP_ADDRESS_TEXT   0
#define ISCSI_IP_ADDRESS_IPV4   1
#define ISCSI_IP_ADDRESS_IPV6   2
#define ISCSI_IP_ADDRESS_EMPTY  3

typedef struct _ISCSI_IP_Address {
    ULONG Type;
    ULONG IpV4Address;          /* network order as a ULONG */
    UCHAR IpV6Address[16];
    ULONG IpV6FlowInfo;
    ULONG IpV6ScopeId;
    WCHAR TextAddress[257];
} ISCSI_IP_Address;

typedef struct _ISCSI_TargetPortal {
    ISCSI_IP_Address Address;
    ULONG Reserved;
    USHORT Socket;
} ISCSI_TargetPortal;

#define ISCSI_NO_AUTH_TYPE              0
#define ISCSI_CHAP_AUTH_TYPE            1
#define ISCSI_MUTUAL_CHAP_AUTH_TYPE     2

#define ISCSI_LOGIN_OPTIONS_HEADER_DIGEST       0x00000001
#define ISCSI_LOGIN_OPTIONS_DATA_DIGEST         0x00000002
#define ISCSI_LOGIN_OPTIONS_DEFAULT_TIME_2_WAIT 0x00000008
#define ISCSI_LOGIN_OPTIONS_DEFAULT_TIME_2_RETAIN 0x00000010
#define ISCSI_LOGIN_OPTIONS_USERNAME            0x00000020
#define ISCSI_LOGIN_OPTIONS_PASSWORD            0x00000040
#define ISCSI_LOGIN_OPTIONS_AUTH_TYPE           0x00000080

typedef struct _ISCSI_LoginOptions {
    ULONG InformationSpecified;
    ULONG HeaderDigest;         /* 0 none, 1 CRC32C */
    ULONG DataDigest;
    ULONG MaximumConnections;
    ULONG DefaultTime2Wait;
    ULONG DefaultTime2Retain;
    ULONG LoginFlags;
    ULONG AuthType;
} ISCSI_LoginOptions;

typedef struct _ISCSI_LUNList {
    ULONGLONG TargetLUN;
    ULONG OSLUN;
    ULONG Reserved;
} ISCSI_LUNList;

typedef struct _ISCSI_TargetMapping {
    ULONG OSBus;
    ULONG OSTarget;
    ULONGLONG UniqueSessionId;
    ULONG LUNCount;
    WCHAR TargetName[ISCSI_NAME_CHARS];
    BOOLEAN FromPersistentLogin;
    ULONGLONG Reserved;
    /* then LUNCount ISCSI_LUNList (the MOF's variable LUNList array) */
} ISCSI_TargetMapping;

/* ---- class GUIDs (the MOF's guid qualifiers) ---- */

#define MSiSCSI_HBAInformationGuid \
    { 0x58515bf3, 0x2f59, 0x4f37, \
      { 0xb7, 0x4f, 0x85, 0xae, 0xec, 0x65, 0x2a, 0xd6 } }
#define MSiSCSI_PortalInfoClassGuid \
    { 0x84ca6fd6, 0xb152, 0x4e6a, \
      { 0x88, 0x69, 0xfd, 0xe5, 0xe3, 0x7b, 0x61, 0x57 } }
#define MSiSCSI_InitiatorSessionInfoGuid \
    { 0xd7931411, 0x0376, 0x4869, \
      { 0xa4, 0x91, 0x8d, 0x67, 0x9b, 0xfc, 0x00, 0x4a } }
#define MSiSCSI_OperationsGuid \
    { 0xea4d82bf, 0x29da, 0x4e12, \
      { 0x80, 0x0a, 0xe5, 0x43, 0x79, 0x64, 0x46, 0x2c } }
#define MSiSCSI_PersistentLoginsGuid \
    { 0x420512d9, 0x0537, 0x4c67, \
      { 0xa7, 0x79, 0x84, 0xba, 0x7b, 0x29, 0xce, 0x9f } }
#define MSiSCSI_TargetMappingsGuid \
    { 0x41646815, 0x7524, 0x4bc0, \
      { 0x90, 0x4a, 0xcd, 0x7d, 0x51, 0x0e, 0xac, 0x02 } }

/* ---- MSiSCSI_HBAInformation ---- */

#define ISCSI_HBA_WMI_STRING_CHARS      256 /* MaxLen 255 + NUL */

typedef struct _MSiSCSI_HBAInformation {
    ULONGLONG UniqueAdapterId;
    BOOLEAN IntegratedTCPIP;
    BOOLEAN RequiresBinaryIpAddresses;
    UCHAR VersionMin;
    UCHAR VersionMax;
    BOOLEAN MultifunctionDevice;
    BOOLEAN CacheValid;
    ULONG NumberOfPorts;
    ULONG Status;               /* ISCSI_HBA_STATUS_WORKING ... FAILED */
    ULONG FunctionalitySupported;
    UCHAR GenerationalGuid[16];
    ULONG MaxCDBLength;
    BOOLEAN BiDiScsiCommands;
    WCHAR VendorID[ISCSI_HBA_WMI_STRING_CHARS];
    WCHAR VendorModel[ISCSI_HBA_WMI_STRING_CHARS];
    WCHAR VendorVersion[ISCSI_HBA_WMI_STRING_CHARS];
    WCHAR FirmwareVersion[ISCSI_HBA_WMI_STRING_CHARS];
    WCHAR AsicVersion[ISCSI_HBA_WMI_STRING_CHARS];
    WCHAR OptionRomVersion[ISCSI_HBA_WMI_STRING_CHARS];
    WCHAR SerialNumber[ISCSI_HBA_WMI_STRING_CHARS];
    WCHAR DriverName[ISCSI_HBA_WMI_STRING_CHARS];
} MSiSCSI_HBAInformation;

#define ISCSI_HBA_WMI_STATUS_WORKING    0
#define ISCSI_HBA_WMI_STATUS_FAILED     3

/* ---- MSiSCSI_PortalInfoClass ---- */

#define ISCSI_PORTAL_TYPE_INITIATOR     0
#define ISCSI_PORTAL_STATE_ACTIVE       1
#define ISCSI_PORTAL_PROTOCOL_TCP       6

typedef struct _ISCSI_PortalInfo {
    ULONG Index;
    UCHAR PortalType;
    UCHAR Protocol;
    UCHAR Reserved1;
    UCHAR Reserved2;
    ISCSI_IP_Address IPAddr;
    ULONG Port;
    USHORT PortalTag;
} ISCSI_PortalInfo;

typedef struct _MSiSCSI_PortalInfoClass {
    ULONG PortalInfoCount;
    ISCSI_PortalInfo PortalInformation[];
} MSiSCSI_PortalInfoClass;

/* ---- MSiSCSI_InitiatorSessionInfo ---- */

#define ISCSI_CONNECTION_STATE_FULL     1
#define ISCSI_SESSION_TYPE_INFORMATIONAL 1
#define ISCSI_SESSION_TYPE_DATA         2

typedef struct _ISCSI_ConnectionStaticInfo {
    ULONGLONG UniqueConnectionId;
    USHORT CID;
    UCHAR State;
    UCHAR Protocol;
    UCHAR HeaderIntegrity;      /* 0 none, 1 CRC32C */
    UCHAR DataIntegrity;
    USHORT Reserved;
    ULONG MaxRecvDataSegmentLength;
    ULONG AuthType;
    ISCSI_IP_Address LocalAddr;
    ULONG LocalPort;
    ISCSI_IP_Address RemoteAddr;
    ULONG RemotePort;
    ULONGLONG EstimatedThroughput;
    ULONG MaxDatagramSize;
} ISCSI_ConnectionStaticInfo;

typedef struct _ISCSI_SessionStaticInfo {
    ULONGLONG UniqueSessionId;
    WCHAR InitiatoriSCSIName[ISCSI_NAME_CHARS];
    WCHAR TargetiSCSIName[ISCSI_NAME_CHARS];
    USHORT TSID;
    UCHAR ISID[6];
    BOOLEAN InitialR2t;
    BOOLEAN ImmediateData;
    UCHAR Type;
    BOOLEAN DataSequenceInOrder;
    BOOLEAN DataPduInOrder;
    UCHAR ErrorRecoveryLevel;
    ULONG MaxOutstandingR2t;
    ULONG FirstBurstLength;
    ULONG MaxBurstLength;
    ULONG MaxConnections;
    USHORT ConnectionCount;
    /* then ConnectionCount ISCSI_ConnectionStaticInfo, 8-aligned */
} ISCSI_SessionStaticInfo;

typedef struct _MSiSCSI_InitiatorSessionInfo {
    ULONGLONG UniqueAdapterId;
    ULONG SessionCount;
    /* then SessionCount sessions, 8-aligned, each with its connections */
} MSiSCSI_InitiatorSessionInfo;

/* ---- MSiSCSI_TargetMappings, MSiSCSI_PersistentLogins ---- */

typedef struct _MSiSCSI_TargetMappings {
    ULONGLONG UniqueAdapterId;
    ULONG TargetMappingCount;
    ULONG Reserved;
    /* then TargetMappingCount variable-size ISCSI_TargetMapping, 8-aligned */
} MSiSCSI_TargetMappings;

typedef struct _MSiSCSI_PersistentLogins {
    ULONG PersistentLoginCount;
    ULONG Reserved;
} MSiSCSI_PersistentLogins;

/* ---- MSiSCSI_Operations methods ---- */

#define SendTargets                     10
#define LoginToTarget                   30
#define LogoutFromTarget                31
#define AddConnectionToSession          32
#define RemovePersistentLogin           33
#define RemoveConnectionFromSession     34
#define ScsiInquiry                     50
#define ScsiReadCapacity                51
#define ScsiReportLuns                  52
#define SetCHAPSharedSecret             71
#define DeleteInitiatorNodeName         91
#define SetInitiatorNodeName            92

typedef struct _SendTargets_IN {
    ULONGLONG UniqueSessionId;
    WCHAR SendTargetsText[ISCSI_NAME_CHARS];
} SendTargets_IN;

typedef struct _SendTargets_OUT {
    ULONG Status;
    ULONG ResponseSize;         /* bytes of Response, or bytes needed */
    UCHAR Response[];           /* UTF-8 */
} SendTargets_OUT;

#define ISCSI_LOGINTARGET_DISCOVERY     0
#define ISCSI_LOGINTARGET_INFORMATIONAL 1
#define ISCSI_LOGINTARGET_DATA          2

typedef struct _LoginToTarget_IN {
    ULONG PortNumber;
    ISCSI_LoginOptions LoginOptions;
    ULONG SessionType;
    ULONGLONG SecurityFlags;
    ISCSI_TargetPortal TargetPortal;
    ULONG UsernameSize;
    ULONG PasswordSize;
    ULONG KeySize;
    USHORT UniqueIdForISID;
    BOOLEAN PersistentLogin;
    WCHAR InitiatorNode[ISCSI_NAME_CHARS];
    WCHAR InitiatorAlias[256];
    WCHAR TargetName[ISCSI_NAME_CHARS];
    ISCSI_TargetMapping Mappings;           /* and its LUNList */
    /* then Key[KeySize], Username[UsernameSize], Password[PasswordSize] */
} LoginToTarget_IN;

typedef struct _LoginToTarget_OUT {
    ULONG Status;
    ULONGLONG UniqueSessionId;
    ULONGLONG UniqueConnectionId;
} LoginToTarget_OUT;

typedef struct _LogoutFromTarget_IN {
    ULONGLONG UniqueSessionId;
} LogoutFromTarget_IN;

/* Every *_OUT that carries only a status. */
typedef struct _ISCSI_STATUS_OUT {
    ULONG Status;
} ISCSI_STATUS_OUT;

typedef struct _SetCHAPSharedSecret_IN {
    ULONG SharedSecretSize;
    UCHAR SharedSecret[];
} SetCHAPSharedSecret_IN;

typedef struct _SetInitiatorNodeName_IN {
    WCHAR CreatedInitiatorName[ISCSI_NAME_CHARS];
} SetInitiatorNodeName_IN;

typedef struct _ScsiReportLuns_IN {
    ULONGLONG UniqueSessionId;
} ScsiReportLuns_IN;

typedef struct _ScsiReportLuns_OUT {
    ULONG Status;
    ULONG ResponseBufferSize;
    UCHAR ScsiStatus;
    UCHAR SenseBuffer[18];
    UCHAR ResponseBuffer[];
} ScsiReportLuns_OUT;

#endif /* ISCSI_WMI_H */
