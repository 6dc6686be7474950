/** @file
  Driver binding, component name and ExitBootServices handling of the
  iscsi-hba UEFI driver.

  Copyright (c) 2026 The iscsi-hba authors
  SPDX-License-Identifier: BSD-2-Clause-Patent
**/

#include "IscsiHba.h"

#define ISCSI_HBA_BINDING_VERSION  0x10

/**
  Stop the adapter before the OS runs: its queues live in boot services
  memory, which the OS may reuse at once.  The disable also ends the
  sessions, so the OS driver starts from a disabled adapter.
**/
STATIC
VOID
EFIAPI
IscsiHbaExitBoot (
  IN EFI_EVENT  Event,
  IN VOID       *Context
  )
{
  IscsiHbaDisable (Context);
}

STATIC
EFI_STATUS
EFIAPI
IscsiHbaDriverBindingSupported (
  IN EFI_DRIVER_BINDING_PROTOCOL  *This,
  IN EFI_HANDLE                   ControllerHandle,
  IN EFI_DEVICE_PATH_PROTOCOL     *RemainingDevicePath OPTIONAL
  )
{
  EFI_STATUS           Status;
  EFI_PCI_IO_PROTOCOL  *PciIo;
  PCI_TYPE00           Pci;

  Status = gBS->OpenProtocol (
                  ControllerHandle,
                  &gEfiPciIoProtocolGuid,
                  (VOID **)&PciIo,
                  This->DriverBindingHandle,
                  ControllerHandle,
                  EFI_OPEN_PROTOCOL_BY_DRIVER
                  );
  if (EFI_ERROR (Status)) {
    return Status;
  }

  Status = PciIo->Pci.Read (
                        PciIo,
                        EfiPciIoWidthUint32,
                        0,
                        sizeof (Pci) / sizeof (UINT32),
                        &Pci
                        );
  if (!EFI_ERROR (Status) &&
      ((Pci.Hdr.VendorId != ISCSI_HBA_PCI_VENDOR_ID) ||
       (Pci.Hdr.DeviceId != ISCSI_HBA_PCI_DEVICE_ID)))
  {
    Status = EFI_UNSUPPORTED;
  }

  gBS->CloseProtocol (
         ControllerHandle,
         &gEfiPciIoProtocolGuid,
         This->DriverBindingHandle,
         ControllerHandle
         );
  return Status;
}

/**
  Memory space for BAR0 and bus mastering for the queues and data; the
  device addresses all 64 bits, so no buffer needs bouncing below 4 GiB.
**/
STATIC
EFI_STATUS
IscsiHbaEnablePci (
  IN OUT ISCSI_HBA_DEV  *Dev
  )
{
  EFI_STATUS  Status;

  Status = Dev->PciIo->Attributes (
                         Dev->PciIo,
                         EfiPciIoAttributeOperationGet,
                         0,
                         &Dev->OriginalPciAttributes
                         );
  if (EFI_ERROR (Status)) {
    return Status;
  }

  return Dev->PciIo->Attributes (
                       Dev->PciIo,
                       EfiPciIoAttributeOperationEnable,
                       EFI_PCI_IO_ATTRIBUTE_MEMORY | EFI_PCI_IO_ATTRIBUTE_BUS_MASTER |
                       EFI_PCI_IO_ATTRIBUTE_DUAL_ADDRESS_CYCLE,
                       NULL
                       );
}

STATIC
VOID
IscsiHbaRestorePci (
  IN ISCSI_HBA_DEV  *Dev
  )
{
  Dev->PciIo->Attributes (
                Dev->PciIo,
                EfiPciIoAttributeOperationSet,
                Dev->OriginalPciAttributes,
                NULL
                );
}

STATIC
EFI_STATUS
EFIAPI
IscsiHbaDriverBindingStart (
  IN EFI_DRIVER_BINDING_PROTOCOL  *This,
  IN EFI_HANDLE                   ControllerHandle,
  IN EFI_DEVICE_PATH_PROTOCOL     *RemainingDevicePath OPTIONAL
  )
{
  ISCSI_HBA_DEV  *Dev;
  EFI_STATUS     Status;

  Dev = AllocateZeroPool (sizeof (*Dev));
  if (Dev == NULL) {
    return EFI_OUT_OF_RESOURCES;
  }

  Dev->Signature = ISCSI_HBA_DEV_SIGNATURE;
  Status         = gBS->OpenProtocol (
                          ControllerHandle,
                          &gEfiPciIoProtocolGuid,
                          (VOID **)&Dev->PciIo,
                          This->DriverBindingHandle,
                          ControllerHandle,
                          EFI_OPEN_PROTOCOL_BY_DRIVER
                          );
  if (EFI_ERROR (Status)) {
    goto FreeDev;
  }

  Status = IscsiHbaEnablePci (Dev);
  if (EFI_ERROR (Status)) {
    goto ClosePciIo;
  }

  Status = IscsiHbaInit (Dev);
  if (EFI_ERROR (Status)) {
    goto RestorePci;
  }

  Status = gBS->CreateEvent (
                  EVT_SIGNAL_EXIT_BOOT_SERVICES,
                  TPL_CALLBACK,
                  &IscsiHbaExitBoot,
                  Dev,
                  &Dev->ExitBoot
                  );
  if (EFI_ERROR (Status)) {
    goto UninitDev;
  }

  IscsiHbaInitPassThru (Dev);
  Status = gBS->InstallProtocolInterface (
                  &ControllerHandle,
                  &gEfiExtScsiPassThruProtocolGuid,
                  EFI_NATIVE_INTERFACE,
                  &Dev->PassThru
                  );
  if (EFI_ERROR (Status)) {
    goto CloseExitBoot;
  }

  return EFI_SUCCESS;

CloseExitBoot:
  gBS->CloseEvent (Dev->ExitBoot);
UninitDev:
  IscsiHbaUninit (Dev);
RestorePci:
  IscsiHbaRestorePci (Dev);
ClosePciIo:
  gBS->CloseProtocol (
         ControllerHandle,
         &gEfiPciIoProtocolGuid,
         This->DriverBindingHandle,
         ControllerHandle
         );
FreeDev:
  FreePool (Dev);
  return Status;
}

STATIC
EFI_STATUS
EFIAPI
IscsiHbaDriverBindingStop (
  IN EFI_DRIVER_BINDING_PROTOCOL  *This,
  IN EFI_HANDLE                   ControllerHandle,
  IN UINTN                        NumberOfChildren,
  IN EFI_HANDLE                   *ChildHandleBuffer
  )
{
  EFI_STATUS                       Status;
  EFI_EXT_SCSI_PASS_THRU_PROTOCOL  *PassThru;
  ISCSI_HBA_DEV                    *Dev;

  Status = gBS->OpenProtocol (
                  ControllerHandle,
                  &gEfiExtScsiPassThruProtocolGuid,
                  (VOID **)&PassThru,
                  This->DriverBindingHandle,
                  ControllerHandle,
                  EFI_OPEN_PROTOCOL_GET_PROTOCOL
                  );
  if (EFI_ERROR (Status)) {
    return Status;
  }

  Dev    = ISCSI_HBA_FROM_PASS_THRU (PassThru);
  Status = gBS->UninstallProtocolInterface (
                  ControllerHandle,
                  &gEfiExtScsiPassThruProtocolGuid,
                  &Dev->PassThru
                  );
  if (EFI_ERROR (Status)) {
    return Status;
  }

  gBS->CloseEvent (Dev->ExitBoot);
  IscsiHbaUninit (Dev);
  IscsiHbaRestorePci (Dev);
  gBS->CloseProtocol (
         ControllerHandle,
         &gEfiPciIoProtocolGuid,
         This->DriverBindingHandle,
         ControllerHandle
         );
  FreePool (Dev);
  return EFI_SUCCESS;
}

STATIC EFI_DRIVER_BINDING_PROTOCOL  mIscsiHbaDriverBinding = {
  &IscsiHbaDriverBindingSupported,
  &IscsiHbaDriverBindingStart,
  &IscsiHbaDriverBindingStop,
  ISCSI_HBA_BINDING_VERSION,
  NULL, // ImageHandle, filled by EfiLibInstallDriverBindingComponentName2()
  NULL  // DriverBindingHandle, filled as well
};

//
// Component Name
//

STATIC EFI_UNICODE_STRING_TABLE  mDriverNameTable[] = {
  { "eng;en", L"iscsi-hba iSCSI HBA Driver" },
  { NULL,     NULL                          }
};

STATIC EFI_COMPONENT_NAME_PROTOCOL  mComponentName;

STATIC
EFI_STATUS
EFIAPI
IscsiHbaGetDriverName (
  IN  EFI_COMPONENT_NAME_PROTOCOL  *This,
  IN  CHAR8                        *Language,
  OUT CHAR16                       **DriverName
  )
{
  return LookupUnicodeString2 (
           Language,
           This->SupportedLanguages,
           mDriverNameTable,
           DriverName,
           (BOOLEAN)(This == &mComponentName) // Iso639Language
           );
}

STATIC
EFI_STATUS
EFIAPI
IscsiHbaGetDeviceName (
  IN  EFI_COMPONENT_NAME_PROTOCOL  *This,
  IN  EFI_HANDLE                   DeviceHandle,
  IN  EFI_HANDLE                   ChildHandle,
  IN  CHAR8                        *Language,
  OUT CHAR16                       **ControllerName
  )
{
  return EFI_UNSUPPORTED;
}

STATIC EFI_COMPONENT_NAME_PROTOCOL  mComponentName = {
  &IscsiHbaGetDriverName,
  &IscsiHbaGetDeviceName,
  "eng" // SupportedLanguages, ISO 639-2 language codes
};

STATIC EFI_COMPONENT_NAME2_PROTOCOL  mComponentName2 = {
  (EFI_COMPONENT_NAME2_GET_DRIVER_NAME)&IscsiHbaGetDriverName,
  (EFI_COMPONENT_NAME2_GET_CONTROLLER_NAME)&IscsiHbaGetDeviceName,
  "en" // SupportedLanguages, RFC 4646 language codes
};

EFI_STATUS
EFIAPI
IscsiHbaEntryPoint (
  IN EFI_HANDLE        ImageHandle,
  IN EFI_SYSTEM_TABLE  *SystemTable
  )
{
  return EfiLibInstallDriverBindingComponentName2 (
           ImageHandle,
           SystemTable,
           &mIscsiHbaDriverBinding,
           ImageHandle,
           &mComponentName,
           &mComponentName2
           );
}
