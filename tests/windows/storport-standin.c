/*
 * STAND-IN for storport.sys and the PnP manager: see storport-standin.h.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "storport-standin.h"

#define RAM_SIZE        (256u << 20)
#define ALLOC_START     (16u << 20)     /* below: left to the machine */
#define BAR0_GPA        0xe0000000ull
#define MSI_SLOTS       32
#define HBA_DEVFN       (4 << 3)        /* -device ...,addr=04.0 */
#define MAX_OUTSTANDING 1024

static struct {
    pid_t pid;
    int fd;
    FILE *rx;
    UCHAR *ram;
    size_t next;
    char *dir;
    uint32_t *msi;              /* MSI-X message words, one per vector */
} qt = { .fd = -1 };

typedef void (*PHW_DPC)(PSTOR_DPC dpc, void *ext, void *arg1, void *arg2);

static PSCSI_REQUEST_BLOCK outstanding[MAX_OUTSTANDING];
static SpAdapter adapter;
static SpTotals totals;

/* ---- qtest protocol ---- */

static char *qt_cmd(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static char *qt_cmd(const char *fmt, ...)
{
    static char line[4096];
    char *cmd;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (getenv("IHBA_QTEST_TRACE")) {
        fprintf(stderr, "qtest> %s", cmd);
    }
    if (write(qt.fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
        g_error("qtest: write failed: %s", strerror(errno));
    }
    g_free(cmd);
    do {
        if (!fgets(line, sizeof(line), qt.rx)) {
            g_error("qtest: QEMU went away");
        }
    } while (!strncmp(line, "IRQ", 3));    /* not intercepted: none */
    if (getenv("IHBA_QTEST_TRACE")) {
        fprintf(stderr, "qtest: %s", line);
    }
    if (strncmp(line, "OK", 2)) {
        g_error("qtest: %s", line);
    }
    return line;
}

static uint64_t qt_value(const char *reply)
{
    return g_ascii_strtoull(reply + 3, NULL, 0);
}

static uint32_t qt_readl(uint64_t addr)
{
    return (uint32_t)qt_value(qt_cmd("readl 0x%" PRIx64 "\n", addr));
}

static void qt_writel(uint64_t addr, uint32_t val)
{
    qt_cmd("writel 0x%" PRIx64 " 0x%x\n", addr, val);
}

static uint32_t pci_read(int devfn, int off)
{
    qt_cmd("outl 0xcf8 0x%x\n", 0x80000000u | (devfn << 8) | (off & 0xfc));
    return (uint32_t)qt_value(qt_cmd("inl 0xcfc\n"));
}

static void pci_write(int devfn, int off, uint32_t val)
{
    qt_cmd("outl 0xcf8 0x%x\n", 0x80000000u | (devfn << 8) | (off & 0xfc));
    qt_cmd("outl 0xcfc 0x%x\n", val);
}

bool sp_qemu_start(const char *device_props, char **err)
{
    const char *qemu = getenv("QEMU_BIN");
    g_autofree char *sock = NULL, *mem = NULL, *dev = NULL, *obj = NULL;
    g_autofree char *qtarg = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd, mfd;

    if (!qemu) {
        *err = g_strdup("QEMU_BIN is not set");
        return false;
    }
    qt.dir = g_dir_make_tmp("ihba-win-XXXXXX", NULL);
    sock = g_build_filename(qt.dir, "qtest.sock", NULL);
    mem = g_strdup_printf("/dev/shm/ihba-win-%d", getpid());
    mfd = open(mem, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (mfd < 0 || ftruncate(mfd, RAM_SIZE) < 0) {
        *err = g_strdup_printf("%s: %s", mem, strerror(errno));
        return false;
    }
    qt.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    close(mfd);
    if (qt.ram == MAP_FAILED) {
        *err = g_strdup_printf("mmap: %s", strerror(errno));
        return false;
    }
    qt.next = ALLOC_START;
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(sa.sun_path, sock, sizeof(sa.sun_path));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lfd, 1) < 0) {
        *err = g_strdup_printf("%s: %s", sock, strerror(errno));
        return false;
    }
    obj = g_strdup_printf("memory-backend-file,id=ram,size=%u,mem-path=%s,"
                          "share=on", RAM_SIZE, mem);
    dev = g_strdup_printf("iscsi-hba,id=hba0,addr=04.0%s%s",
                          device_props[0] ? "," : "", device_props);
    qtarg = g_strdup_printf("unix:%s", sock);
    qt.pid = fork();
    if (qt.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(qemu, qemu, "-machine", "q35,memory-backend=ram", "-m", "256M",
              "-object", obj, "-accel", "qtest", "-nodefaults",
              "-display", "none", "-qtest", qtarg, "-qtest-log", "/dev/null",
              "-device", dev, (char *)NULL);
        _exit(127);
    }
    qt.fd = accept(lfd, NULL, NULL);   /* QEMU connects to us */
    close(lfd);
    if (qt.fd < 0) {
        unlink(mem);
        *err = g_strdup_printf("QEMU did not connect (%s)", dev);
        return false;
    }
    qt.rx = fdopen(dup(qt.fd), "r");
    qt.msi = sp_alloc(MSI_SLOTS * sizeof(uint32_t), 64);
    /*
     * QEMU connects the qtest socket before it creates its RAM backend:
     * the first answer means the machine exists.  Check that its RAM is
     * our file before anything relies on it, then drop the name.
     */
    qt_writel(sp_gpa(qt.msi), 0x5a5aa5a5);
    unlink(mem);
    if (qt.msi[0] != 0x5a5aa5a5) {
        *err = g_strdup("guest RAM is not shared with the harness");
        return false;
    }
    qt.msi[0] = 0;
    return true;
}

const SpTotals *sp_totals(void)
{
    return &totals;
}

void sp_qemu_stop(void)
{
    int i;

    /* an SRB the miniport never completed would hang Windows' I/O */
    for (i = 0; i < MAX_OUTSTANDING; i++) {
        totals.never_completed += outstanding[i] != NULL;
    }
    totals.bad_completions += adapter.bad_completions;
    if (qt.pid > 0) {
        kill(qt.pid, SIGTERM);
        waitpid(qt.pid, NULL, 0);
        qt.pid = 0;
    }
    if (qt.rx) {
        fclose(qt.rx);
        qt.rx = NULL;
    }
    if (qt.fd >= 0) {
        close(qt.fd);
        qt.fd = -1;
    }
    if (qt.ram && qt.ram != MAP_FAILED) {
        munmap(qt.ram, RAM_SIZE);
        qt.ram = NULL;
    }
    if (qt.dir) {
        g_autofree char *sock = g_build_filename(qt.dir, "qtest.sock", NULL);

        unlink(sock);
        rmdir(qt.dir);
        g_free(qt.dir);
        qt.dir = NULL;
    }
    memset(outstanding, 0, sizeof(outstanding));
}

void *sp_alloc(size_t size, size_t align)
{
    size_t at = (qt.next + align - 1) & ~(align - 1);

    g_assert(at + size <= RAM_SIZE);
    qt.next = at + size;
    memset(qt.ram + at, 0, size);
    return qt.ram + at;
}

uint64_t sp_gpa(const void *p)
{
    const UCHAR *b = p;

    g_assert(b >= qt.ram && b < qt.ram + RAM_SIZE);
    return (uint64_t)(b - qt.ram);
}

/* ---- storport.sys exports ---- */

ULONG NTAPI StorPortInitialize(PVOID arg1, PVOID arg2,
                               PHW_INITIALIZATION_DATA init, PVOID ctx)
{
    (void)arg1;
    (void)arg2;
    (void)ctx;
    if (init->HwInitializationDataSize != sizeof(*init)) {
        return 0xC000000Du;     /* STATUS_INVALID_PARAMETER */
    }
    adapter.hw = *init;
    return 0;
}

static void mark_outstanding(PSCSI_REQUEST_BLOCK srb)
{
    int i;

    for (i = 0; i < MAX_OUTSTANDING; i++) {
        if (!outstanding[i]) {
            outstanding[i] = srb;
            return;
        }
    }
    g_error("stand-in: too many outstanding SRBs");
}

bool sp_completed(PSCSI_REQUEST_BLOCK srb)
{
    int i;

    for (i = 0; i < MAX_OUTSTANDING; i++) {
        if (outstanding[i] == srb) {
            return false;
        }
    }
    return true;
}

static void request_complete(PSCSI_REQUEST_BLOCK srb)
{
    int i;

    for (i = 0; i < MAX_OUTSTANDING; i++) {
        if (outstanding[i] == srb) {
            outstanding[i] = NULL;
            return;
        }
    }
    adapter.bad_completions++;  /* twice, or never given to the miniport */
}

VOID __cdecl StorPortNotification(SCSI_NOTIFICATION_TYPE type, PVOID ext,
                                  ...)
{
    va_list ap;

    va_start(ap, ext);
    switch (type) {
    case RequestComplete:
        request_complete(va_arg(ap, PSCSI_REQUEST_BLOCK));
        break;
    case NextRequest:
        break;
    case BusChangeDetected:
        adapter.bus_changes++;
        break;
    case InitializeDpc:
        (void)va_arg(ap, PSTOR_DPC);
        adapter.dpc_routine = va_arg(ap, PHW_DPC);
        break;
    case IssueDpc: {
        LONG *ok;

        (void)va_arg(ap, PSTOR_DPC);
        (void)va_arg(ap, PVOID);
        (void)va_arg(ap, PVOID);
        ok = va_arg(ap, LONG *);
        adapter.dpc_pending = true;
        *ok = TRUE;
        break;
    }
    case AcquireSpinLock:
        adapter.lock_depth++;
        break;
    case ReleaseSpinLock:
        g_assert(adapter.lock_depth > 0);
        adapter.lock_depth--;
        break;
    default:
        g_error("stand-in: notification %d not implemented", type);
    }
    va_end(ap);
}

PVOID NTAPI StorPortGetDeviceBase(PVOID ext, INTERFACE_TYPE bus, ULONG busno,
                                  STOR_PHYSICAL_ADDRESS io, ULONG len,
                                  BOOLEAN in_io_space)
{
    (void)ext;
    (void)bus;
    (void)busno;
    (void)len;
    g_assert(!in_io_space);
    /* A cookie, never dereferenced: register accesses go to qtest. */
    return (PVOID)(uintptr_t)io.QuadPart;
}

PVOID NTAPI StorPortGetUncachedExtension(PVOID ext,
                                         PPORT_CONFIGURATION_INFORMATION ci,
                                         ULONG len)
{
    (void)ext;
    (void)ci;
    return sp_alloc(len, 4096);
}

STOR_PHYSICAL_ADDRESS NTAPI StorPortGetPhysicalAddress(PVOID ext,
                                                       PSCSI_REQUEST_BLOCK srb,
                                                       PVOID va, PULONG len)
{
    STOR_PHYSICAL_ADDRESS pa;

    (void)ext;
    (void)srb;
    pa.QuadPart = (LONGLONG)sp_gpa(va);
    *len = (ULONG)(RAM_SIZE - (ULONG)pa.QuadPart);  /* RAM is contiguous */
    return pa;
}

/* Physical pages, as Windows would map them: one element per 4 KiB. */
PSTOR_SCATTER_GATHER_LIST NTAPI StorPortGetScatterGatherList(
    PVOID ext, PSCSI_REQUEST_BLOCK srb)
{
    enum { MAX_PAGES = 64 };
    static UCHAR store[MAX_OUTSTANDING][sizeof(STOR_SCATTER_GATHER_LIST) +
                       MAX_PAGES * sizeof(STOR_SCATTER_GATHER_ELEMENT)];
    static unsigned next;
    PSTOR_SCATTER_GATHER_LIST sg = (void *)store[next++ % MAX_OUTSTANDING];
    uint64_t pa = sp_gpa(srb->DataBuffer), end = pa + srb->DataTransferLength;
    ULONG n = 0;

    (void)ext;
    while (pa < end) {
        uint64_t stop = MIN((pa & ~4095ull) + 4096, end);

        g_assert(n < MAX_PAGES);
        sg->List[n].PhysicalAddress.QuadPart = (LONGLONG)pa;
        sg->List[n].Length = (ULONG)(stop - pa);
        n++;
        pa = stop;
    }
    sg->NumberOfElements = n;
    return sg;
}

/* Only the MSI information: which messages this adapter was granted. */
ULONG __cdecl StorPortExtendedFunction(STORPORT_FUNCTION_CODE code,
                                       PVOID ext, ...)
{
    PMESSAGE_INTERRUPT_INFORMATION info;
    ULONG id;
    va_list ap;

    (void)ext;
    g_assert(code == ExtFunctionGetMessageInterruptInformation);
    va_start(ap, ext);
    id = va_arg(ap, ULONG);
    info = va_arg(ap, PMESSAGE_INTERRUPT_INFORMATION);
    va_end(ap);
    if (id >= adapter.messages) {
        return 0xC1000001u;     /* STOR_STATUS_UNSUCCESSFUL */
    }
    memset(info, 0, sizeof(*info));
    info->MessageId = id;
    info->MessageData = 0x4000 + id;
    info->MessageAddress.QuadPart = (LONGLONG)sp_gpa(&qt.msi[id]);
    return STOR_STATUS_SUCCESS;
}

ULONG NTAPI StorPortReadRegisterUlong(PVOID ext, PULONG reg)
{
    (void)ext;
    return qt_readl((uintptr_t)reg);
}

VOID NTAPI StorPortWriteRegisterUlong(PVOID ext, PULONG reg, ULONG val)
{
    (void)ext;
    qt_writel((uintptr_t)reg, val);
}

VOID NTAPI StorPortStallExecution(ULONG us)
{
    g_usleep(us);
}

VOID NTAPI StorPortCompleteRequest(PVOID ext, UCHAR path, UCHAR target,
                                   UCHAR lun, UCHAR status)
{
    (void)ext;
    (void)path;
    (void)target;
    (void)lun;
    (void)status;
    g_error("stand-in: StorPortCompleteRequest is not used by the miniport");
}

ULONG NTAPI StorPortGetBusData(PVOID ext, ULONG type, ULONG bus, ULONG slot,
                               PVOID buf, ULONG len)
{
    (void)ext;
    (void)type;
    (void)bus;
    (void)slot;
    (void)buf;
    (void)len;
    return 0;
}

/* ---- PnP: find the device, give it resources, start it ---- */

static int find_cap(int devfn, int id)
{
    int off = pci_read(devfn, 0x34) & 0xfc;

    while (off) {
        uint32_t v = pci_read(devfn, off);

        if ((v & 0xff) == (uint32_t)id) {
            return off;
        }
        off = (v >> 8) & 0xfc;
    }
    return 0;
}

/* Windows programs the MSI-X table for the miniport: so do we. */
static void enable_msix(int devfn, ULONG vectors)
{
    int cap = find_cap(devfn, 0x11);
    uint32_t table, ctrl;
    ULONG i;

    g_assert(cap);
    ctrl = pci_read(devfn, cap);
    table = pci_read(devfn, cap + 4);
    g_assert((table & 7) == 0);         /* in BAR0 */
    for (i = 0; i < vectors && i < MSI_SLOTS; i++) {
        uint64_t entry = BAR0_GPA + (table & ~7u) + i * 16;
        uint64_t addr = sp_gpa(&qt.msi[i]);

        qt_writel(entry, (uint32_t)addr);
        qt_writel(entry + 4, (uint32_t)(addr >> 32));
        qt_writel(entry + 8, 0x4000 + i);
        qt_writel(entry + 12, 0);       /* unmasked */
    }
    pci_write(devfn, cap, ctrl | (1u << 31));  /* MSI-X enable */
}

NTSTATUS NTAPI DriverEntry(PVOID DriverObject, PVOID RegistryPath);

SpAdapter *sp_adapter_start(unsigned messages)
{
    static ACCESS_RANGE range[1];
    PORT_CONFIGURATION_INFORMATION ci;
    BOOLEAN again = FALSE;
    uint32_t id = pci_read(HBA_DEVFN, 0);

    memset(&adapter, 0, sizeof(adapter));
    if (DriverEntry(NULL, NULL) != 0 ||
        id != (ISCSI_HBA_PCI_DEVICE_ID << 16 | ISCSI_HBA_PCI_VENDOR_ID)) {
        adapter.find_result = SP_RETURN_NOT_FOUND;
        return &adapter;
    }
    /* BAR0: 64-bit memory; then memory space and bus master on */
    pci_write(HBA_DEVFN, 0x10, (uint32_t)BAR0_GPA);
    pci_write(HBA_DEVFN, 0x14, (uint32_t)(BAR0_GPA >> 32));
    pci_write(HBA_DEVFN, 0x04, pci_read(HBA_DEVFN, 0x04) | 0x6);
    adapter.messages = messages;
    if (messages) {
        enable_msix(HBA_DEVFN, messages);
    }
    memset(&ci, 0, sizeof(ci));
    ci.Length = sizeof(ci);
    ci.AdapterInterfaceType = PCIBus;
    ci.SlotNumber = HBA_DEVFN;
    ci.NumberOfAccessRanges = 1;
    range[0].RangeStart.QuadPart = (LONGLONG)BAR0_GPA;
    range[0].RangeLength = ISCSI_HBA_BAR0_SIZE;
    range[0].RangeInMemory = TRUE;
    ci.AccessRanges = (void *)range;
    adapter.ext = g_malloc0(adapter.hw.DeviceExtensionSize);
    adapter.find_result = adapter.hw.HwFindAdapter(adapter.ext, NULL, NULL,
                                                   NULL, &ci, &again);
    if (adapter.find_result != SP_RETURN_FOUND) {
        return &adapter;
    }
    adapter.msi_routine = ci.HwMSInterruptRoutine;
    adapter.init_result = adapter.hw.HwInitialize(adapter.ext);
    if (!adapter.init_result) {
        printf("# HwInitialize failed: STATUS 0x%x FATAL_REASON %u, "
               "last ISDSC the driver saw 0x%08x\n",
               qt_readl(BAR0_GPA + ISCSI_HBA_REG_STATUS),
               qt_readl(BAR0_GPA + ISCSI_HBA_REG_FATAL_REASON),
               adapter.ext->last_status);
    }
    return &adapter;
}

void sp_start_io(SpAdapter *a, PSCSI_REQUEST_BLOCK srb)
{
    mark_outstanding(srb);
    a->hw.HwStartIo(a->ext, srb);
}

bool sp_service(SpAdapter *a)
{
    bool any = false;
    ULONG i;

    if (a->messages) {
        for (i = 0; i < a->messages; i++) {
            if (__atomic_exchange_n(&qt.msi[i], 0, __ATOMIC_SEQ_CST)) {
                any |= a->msi_routine(a->ext, i);
            }
        }
    } else {
        /* a level-triggered line may be shared: the ISR checks */
        any |= a->hw.HwInterrupt(a->ext);
    }
    if (a->dpc_pending) {
        a->dpc_pending = false;
        a->dpc_routine(NULL, a->ext, NULL, NULL);
        any = true;
    }
    return any;
}

bool sp_wait(SpAdapter *a, PSCSI_REQUEST_BLOCK srb, unsigned timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000ll;

    while (!sp_completed(srb)) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        if (!sp_service(a)) {
            g_usleep(500);
        }
    }
    return true;
}

void sp_run_for(SpAdapter *a, unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000ll;

    while (g_get_monotonic_time() < end) {
        if (!sp_service(a)) {
            g_usleep(500);
        }
    }
}

ULONG sp_adapter_control(SpAdapter *a, ULONG type)
{
    /* one BOOLEAN (a byte) per control type */
    size_t size = sizeof(SCSI_SUPPORTED_CONTROL_TYPE_LIST) +
                  ScsiAdapterControlMax;
    g_autofree SCSI_SUPPORTED_CONTROL_TYPE_LIST *query = g_malloc0(size);

    g_assert(a->hw.HwAdapterControl);
    /* Storport asks first which control types the miniport supports */
    query->MaxControlType = ScsiAdapterControlMax;
    a->hw.HwAdapterControl(a->ext, ScsiQuerySupportedControlTypes, query);
    if (type >= ScsiAdapterControlMax || !query->SupportedTypeList[type]) {
        return ScsiAdapterControlUnsuccessful;
    }
    return a->hw.HwAdapterControl(a->ext, type, NULL);
}

BOOLEAN sp_reset_bus(SpAdapter *a)
{
    return a->hw.HwResetBus(a->ext, 0);
}
