#!/usr/bin/env python3
"""Write the iscsi-hba seed corpus for QEMU's generic-fuzz.

The qtests drive the device with register writes and guest memory set up
beforehand (tests/qtest/libqos/iscsi-hba.c).  generic-fuzz has register
writes too, but no "write guest memory" operation: guest memory gets its
content only when the device reads it (DMA), from the current list of DMA
patterns, taken in turn, one per device read (tests/qtest/fuzz/
generic_fuzz.c, fuzz_dma_read_cb).  This script replays the qtests'
sequences in that model:

- an admin command: one pattern per device read, in the device's order
  (the 128-byte SQE, then the command's input buffer, if any);
- an I/O command, which must name the live session's id: the host-configured
  session's id changes at every enable (generation), so a fixed input cannot
  contain it.  Instead the SQE and its SG list are first "poked" into guest
  memory (SET_INITIATOR_NAME reads up to 223 bytes from any address and then
  refuses the name: a memory-write primitive), LIST_SESSIONS writes the live
  id into the SQE's session_id field, the patterns are cleared, and the
  I/O doorbell makes the device read the SQE as it is in memory.
- waiting for the target: generic-fuzz runs the main loop without blocking
  after each operation, so a run of register reads lets real time pass
  while tgtd answers the login; a SCSI command is tried in several rounds.

Usage: gen-corpus.py OUTDIR [--guest-iqn IQN --portal HOST:PORT]
       gen-corpus.py --decode INPUT   (a corpus file or a crash artifact as
                                       the operations generic-fuzz performs)
(the fixed portal and the IQN of the second target of scripts/fuzz.sh's
private tgtd: the first one is the host-configured target's.)
Each seed is a small binary file named after the qtest sequence it mirrors.
"""

import argparse
import os
import struct
import sys

SEP = b"FUZZ"

# generic_fuzz.c: enum cmds
OP_IN, OP_OUT, OP_READ, OP_WRITE, OP_PCI_READ, OP_PCI_WRITE, \
    OP_DISABLE_PCI, OP_ADD_DMA_PATTERN, OP_CLEAR_DMA_PATTERNS, \
    OP_CLOCK_STEP = range(10)
SIZE_BYTE, SIZE_WORD, SIZE_LONG, SIZE_QUAD = range(4)

# Fuzzable regions of QEMU_FUZZ_OBJECTS='iscsi-hba*', in address order
# inside BAR0 (generic-fuzz indexes them in flat-view order).
R_REGS, R_DB, R_MSIX_TABLE, R_MSIX_PBA = range(4)

# include/hw/iscsi-hba/iscsi-hba-abi.h
REG_CTRL = 0x040
REG_STATUS = 0x044
REG_LAST_STATUS = 0x04c
REG_INTX_MASK_SET = 0x054
REG_ADMIN_SQ_LO, REG_ADMIN_SQ_HI = 0x060, 0x064
REG_ADMIN_CQ_LO, REG_ADMIN_CQ_HI = 0x068, 0x06c
REG_ADMIN_QUEUE_SIZE = 0x070
DB_STRIDE = 8

ADM_IDENTIFY, ADM_CREATE_IO_QUEUE, ADM_DELETE_IO_QUEUE = 0x01, 0x02, 0x03
ADM_SET_INITIATOR_NAME, ADM_GET_INITIATOR_NAME = 0x04, 0x05
ADM_ASYNC_EVENT = 0x06
ADM_DISCOVERY, ADM_LOGIN, ADM_LOGOUT = 0x10, 0x11, 0x12
ADM_LIST_SESSIONS, ADM_SESSION_INFO, ADM_REPORT_LUNS = 0x13, 0x14, 0x15
ADM_SET_CHAP_SECRET = 0x16
IO_SCSI_CMD, IO_TASK_MGMT = 0x01, 0x02
DIR_NONE, DIR_WRITE, DIR_READ, SG_LIST = 0x00, 0x01, 0x02, 0x04
SG_CHAIN = 0x01
SQE_SIZE, CQE_SIZE, SG_SIZE = 128, 32, 16
NAME_MAX = 223
LOGIN_PARAMS_SIZE = 1536

# Guest memory layout of the seeds (generic-fuzz gives the VM 512 MiB).
ADMIN_SQ, ADMIN_CQ = 0x100000, 0x104000
IO_SQ, IO_CQ = 0x110000, 0x114000
IDENTIFY_BUF = 0x120000
OUT_BUF = 0x122000
SENSE_BUF = 0x130000
SG_LIST_BUF = 0x131000
DATA_BUF = 0x200000
QUEUE_ENTRIES = 64


class Seq:
    """A generic-fuzz input: operations separated by SEP."""

    def __init__(self):
        self.ops = []

    def op(self, code, payload=b""):
        data = bytes([code]) + payload
        if SEP in data:
            raise ValueError("operation contains the separator: %r" % data)
        self.ops.append(data)

    def write(self, region, off, val, size=SIZE_LONG):
        # struct { uint8 size, base; (pad 2) uint32 offset; uint64 value; }
        self.op(OP_WRITE, struct.pack("<BBxxIQ", size, region, off, val))

    def read(self, region, off, size=SIZE_LONG):
        # struct { uint8 size, base; (pad 2) uint32 offset; }
        self.op(OP_READ, struct.pack("<BBxxI", size, region, off))

    def pci_write(self, off, val, size):
        # struct { uint8 size, base, offset; (pad 1) uint32 value; }
        self.op(OP_PCI_WRITE, struct.pack("<BBBxI", size, 0, off, val))

    def pci_read(self, off, size):
        self.op(OP_PCI_READ, struct.pack("<BBB", size, 0, off))

    def clear(self):
        self.op(OP_CLEAR_DMA_PATTERNS)

    def pattern(self, data):
        # struct { uint8 index, stride; } then the pattern bytes
        self.op(OP_ADD_DMA_PATTERN, b"\0\0" + bytes(data))

    def patterns(self, *reads):
        """The next device reads return these buffers, in this order."""
        self.clear()
        for r in reads:
            self.pattern(r)

    def clock_step(self):
        self.op(OP_CLOCK_STEP)

    def wait(self, n):
        """Let real time pass: n main-loop turns (STATUS reads)."""
        for _ in range(n):
            self.read(R_REGS, REG_STATUS)

    def bytes(self):
        return SEP.join(self.ops)


# ---- queue entries (layouts from iscsi-hba-abi.h) ----

def sqe(opcode, body=b"", flags=0, cid=0, session=0):
    hdr = struct.pack("<BBHI", opcode, flags, cid, session)
    return (hdr + body).ljust(SQE_SIZE, b"\0")


def buffer_cmd(opcode, addr=0, length=0, param=0, addr2=0, len2=0, cid=0,
               session=0):
    return sqe(opcode, struct.pack("<QIIQI", addr, length, param, addr2,
                                   len2), cid=cid, session=session)


def create_queue_cmd(qid, sq, cq, entries, vector=0, irq=True, cid=0):
    return sqe(ADM_CREATE_IO_QUEUE,
               struct.pack("<QQHHHH", sq, cq, qid, vector, entries, entries),
               flags=1 if irq else 0, cid=cid)


def sg(addr, length, flags=0):
    return struct.pack("<QII", addr, length, flags)


def scsi_cmd(cdb, direction, data_len, sgs, flags=0, lun=1, sense_len=96,
             cid=0, session=0, sg_count=None):
    """sgs: the inline elements (with SG_LIST: the list descriptor)."""
    lun_bytes = bytes([lun >> 8 & 0x3f, lun & 0xff]) + bytes(6)
    count = len(sgs) if sg_count is None else sg_count
    body = lun_bytes + struct.pack("<BBHIQ", len(cdb), sense_len, count,
                                   data_len, SENSE_BUF)
    body += bytes(cdb).ljust(32, b"\0")
    body += b"".join(sgs)
    return sqe(IO_SCSI_CMD, body, flags=direction | flags, cid=cid,
               session=session)


def tmf_cmd(function, ref_sqid=0, ref_cid=0, lun=1, cid=0, session=0):
    body = bytes([0, lun]) + bytes(6) + struct.pack("<BBHH", function, 0, ref_sqid, ref_cid)
    return sqe(IO_TASK_MGMT, body, cid=cid, session=session)


def cdb_rw(op10, lba, blocks):
    return struct.pack(">BBIBHB", op10, 0, lba, 0, blocks, 0)


def login_params(target, host, port, session_type=0):
    p = target.encode().ljust(256, b"\0")
    p += bytes(256)                         # initiator_name: HBA's
    p += host.encode().ljust(256, b"\0")
    p += bytes(256) + bytes(256)            # chap user, secret
    p += struct.pack("<HHBBBBHH", port, 0, 0, 0, session_type, 0, 0, 0)
    return p.ljust(LOGIN_PARAMS_SIZE, b"\0")


# ---- a driver, as libqos/iscsi-hba.c does it ----

class Driver:
    def __init__(self, seq):
        self.s = seq
        self.tail = {}
        self.cid = 0
        self.admin_done = 0     # admin completions posted for certain

    def cq_release(self):
        """Give back the admin completions known to be posted (the CQ head
        doorbell may not pass what the device posted)."""
        self.s.write(R_DB, 4, self.admin_done % QUEUE_ENTRIES)

    def sq_ring(self, qid):
        t = self.tail[qid] = (self.tail.get(qid, 0) + 1) % QUEUE_ENTRIES
        self.s.write(R_DB, qid * DB_STRIDE, t)

    def slot(self, qid):
        return self.tail.get(qid, 0)

    def next_cid(self):
        self.cid += 1
        return self.cid

    def msix_enable(self, cap):
        """MSI-X on (config space), vector 0 and 1 unmasked, to the APIC."""
        # generic-fuzz writes config space through 0xcf8/0xcfc, so the
        # Message Control word (cap + 2) is the high half of a dword write.
        self.s.pci_write(cap, 0x8000 << 16, SIZE_LONG)
        for v in (0, 1):
            self.s.write(R_MSIX_TABLE, v * 16 + 0, 0xfee00000)
            self.s.write(R_MSIX_TABLE, v * 16 + 4, 0)
            self.s.write(R_MSIX_TABLE, v * 16 + 8, 0x40 + v)
            self.s.write(R_MSIX_TABLE, v * 16 + 12, 0)

    def enable(self):
        s = self.s
        s.read(R_REGS, 0)                   # MAGIC
        s.write(R_REGS, REG_ADMIN_SQ_LO, ADMIN_SQ)
        s.write(R_REGS, REG_ADMIN_SQ_HI, 0)
        s.write(R_REGS, REG_ADMIN_CQ_LO, ADMIN_CQ)
        s.write(R_REGS, REG_ADMIN_CQ_HI, 0)
        s.write(R_REGS, REG_ADMIN_QUEUE_SIZE,
                QUEUE_ENTRIES | QUEUE_ENTRIES << 16)
        s.write(R_REGS, REG_CTRL, 1)
        s.read(R_REGS, REG_STATUS)

    def admin(self, entry, *inputs, sync=True):
        """One admin command; inputs are the buffers it reads, in order.
        sync: it completes inside the doorbell (no target involved)."""
        self.s.patterns(entry, *inputs)
        self.sq_ring(0)
        self.admin_done += sync

    def identify(self, length=4096):
        self.admin(buffer_cmd(ADM_IDENTIFY, IDENTIFY_BUF, length,
                              cid=self.next_cid()))

    def create_io_queue(self, qid=1, vector=0):
        self.admin(create_queue_cmd(qid, IO_SQ + (qid - 1) * 0x20000,
                                    IO_CQ + (qid - 1) * 0x20000,
                                    QUEUE_ENTRIES, vector=vector,
                                    cid=self.next_cid()))

    def poke(self, addr, data):
        """Guest memory write through SET_INITIATOR_NAME's read."""
        for off in range(0, len(data), NAME_MAX):
            chunk = data[off:off + NAME_MAX]
            self.admin(buffer_cmd(ADM_SET_INITIATOR_NAME, addr + off,
                                  len(chunk), cid=self.next_cid()), chunk)

    def session_id_to(self, addr):
        """LIST_SESSIONS writes the (only) session's id at addr."""
        self.admin(buffer_cmd(ADM_LIST_SESSIONS, addr, 4,
                              cid=self.next_cid()))

    def io(self, entry, qid=1, sg_list=None):
        """An I/O command for the live session, read from memory as is."""
        at = IO_SQ + (qid - 1) * 0x20000 + self.slot(qid) * SQE_SIZE
        if sg_list:
            self.poke(*sg_list)
        self.poke(at, entry)
        self.session_id_to(at + 4)
        self.s.clear()
        self.sq_ring(qid)

    def admin_for_session(self, entry):
        """An admin command naming the live session (e.g. REPORT_LUNS)."""
        at = ADMIN_SQ + ((self.slot(0) + 2) % QUEUE_ENTRIES) * SQE_SIZE
        self.poke(at, entry)            # one chunk: one admin slot
        self.session_id_to(at + 4)
        self.s.clear()
        self.sq_ring(0)
        self.cq_release()


def base(msix_cap, msix=False, io_queue=True):
    s = Seq()
    d = Driver(s)
    if msix:
        d.msix_enable(msix_cap)
    d.enable()
    d.identify()
    if io_queue:
        d.create_io_queue()
    d.cq_release()
    return s, d


def read10(d, blocks=8, rounds=4, wait=(400, 100), sgl=None, lba=0):
    """READ(10) in several rounds (the session logs in meanwhile).
    sgl: (list bytes, first segment bytes, data elements) or inline."""
    length = blocks * 512
    for r in range(rounds):
        d.s.wait(wait[0] if r == 0 else wait[1])
        if sgl is None:
            sgs = [sg(DATA_BUF + r * 0x10000, length)]
            d.io(scsi_cmd(cdb_rw(0x28, lba, blocks), DIR_READ, length, sgs,
                          cid=d.next_cid()))
        else:
            lst, first, count = sgl
            d.io(scsi_cmd(cdb_rw(0x28, lba, blocks), DIR_READ, length,
                          [sg(SG_LIST_BUF, first)], flags=SG_LIST,
                          sg_count=count, cid=d.next_cid()),
                 sg_list=(SG_LIST_BUF, lst))


def seeds(msix_cap, iqn, portal):
    """iqn: a target for guest logins (the host-configured one is taken)."""
    out = {}

    s, d = base(msix_cap, io_queue=False)
    out["enable-identify"] = s

    s, d = base(msix_cap, msix=True, io_queue=False)
    d.admin(buffer_cmd(ADM_ASYNC_EVENT, cid=d.next_cid()), sync=False)
    d.admin(buffer_cmd(ADM_GET_INITIATOR_NAME, OUT_BUF, 256,
                       cid=d.next_cid()))
    d.identify(16)
    s.wait(100)
    s.clock_step()
    out["msix-aer-names"] = s

    s, d = base(msix_cap)
    d.admin(sqe(ADM_DELETE_IO_QUEUE, struct.pack("<H", 1),
                cid=d.next_cid()))
    d.create_io_queue(qid=2, vector=1)
    d.admin(buffer_cmd(ADM_LIST_SESSIONS, OUT_BUF, 64, cid=d.next_cid()))
    s.write(R_REGS, REG_CTRL, 0)
    s.write(R_REGS, REG_CTRL, 1)
    out["io-queues-disable"] = s

    s, d = base(msix_cap, msix=True)
    read10(d)
    s.wait(100)
    out["scsi-read"] = s

    s, d = base(msix_cap)
    for r in range(4):
        s.wait(400 if r == 0 else 100)
        d.io(scsi_cmd(cdb_rw(0x2a, 16, 16), DIR_WRITE, 8192,
                      [sg(DATA_BUF, 4096), sg(DATA_BUF + 0x3000, 4096)],
                      cid=d.next_cid()))
    read10(d, blocks=16, rounds=1, wait=(20, 20), lba=16)
    s.wait(100)
    out["scsi-write-read"] = s

    # READ 16 KiB through an SG list: 3 elements, a CHAIN, 1 more.
    seg2 = SG_LIST_BUF + 0x100
    lst = (sg(DATA_BUF, 4096) + sg(DATA_BUF + 0x2000, 4096) +
           sg(DATA_BUF + 0x5000, 4096) + sg(seg2, SG_SIZE, SG_CHAIN))
    lst = lst.ljust(0x100, b"\0") + sg(DATA_BUF + 0x9000, 4096)
    s, d = base(msix_cap, msix=True)
    read10(d, blocks=32, sgl=(lst, 4 * SG_SIZE, 4), rounds=4)
    s.wait(100)
    out["scsi-sglist-chain"] = s

    s, d = base(msix_cap)
    for r in range(3):
        s.wait(400 if r == 0 else 100)
        d.io(scsi_cmd(bytes([0x12, 0, 0, 0, 96, 0]), DIR_READ, 96,
                      [sg(DATA_BUF, 96)], cid=d.next_cid()))
        d.io(scsi_cmd(bytes([0, 0, 0, 0, 0, 0]), DIR_NONE, 0, [],
                      cid=d.next_cid()))
        d.io(tmf_cmd(5, cid=d.next_cid()))
    d.admin_for_session(buffer_cmd(ADM_REPORT_LUNS, OUT_BUF, 4096,
                                   cid=d.next_cid()))
    d.admin_for_session(buffer_cmd(ADM_SESSION_INFO, OUT_BUF, 64,
                                   cid=d.next_cid()))
    s.wait(100)
    out["scsi-inquiry-tmf-luns"] = s

    # Disable and PCI-level changes while a READ is at the target.
    s, d = base(msix_cap, msix=True)
    read10(d, blocks=64, rounds=3)
    s.write(R_REGS, REG_CTRL, 0)
    s.wait(50)
    s.pci_write(0x04, 0x0002, SIZE_WORD)    # bus master off
    s.wait(50)
    out["scsi-read-disable"] = s

    # LOGOUT of the host-configured session with a READ in flight.
    s, d = base(msix_cap)
    read10(d, blocks=128, rounds=2)
    d.admin_for_session(buffer_cmd(ADM_LOGOUT, cid=d.next_cid()))
    s.wait(100)
    out["scsi-read-logout"] = s

    # ABORT TASK of a READ that may still be at the target.
    s, d = base(msix_cap, msix=True)
    for r in range(3):
        s.wait(400 if r == 0 else 100)
        cid = d.next_cid()
        d.io(scsi_cmd(cdb_rw(0x28, 0, 128), DIR_READ, 65536,
                      [sg(DATA_BUF, 65536)], cid=cid))
        d.io(tmf_cmd(1, ref_sqid=1, ref_cid=cid, cid=d.next_cid()))
    s.wait(100)
    out["scsi-read-abort"] = s

    # Data pieces the device cannot map: the PCI hole and its own BAR
    # region (bounce path), next to RAM.
    s, d = base(msix_cap)
    for r, odd in enumerate((0xfe100000, 0xfebf0000, DATA_BUF + 0x7fff)):
        s.wait(400 if r == 0 else 100)
        d.io(scsi_cmd(cdb_rw(0x2a, 0, 32), DIR_WRITE, 16384,
                      [sg(DATA_BUF, 8192), sg(odd, 8192)], cid=d.next_cid()))
        d.io(scsi_cmd(cdb_rw(0x28, 0, 32), DIR_READ, 16384,
                      [sg(odd, 8192), sg(DATA_BUF + 0x8000, 8192)],
                      cid=d.next_cid()))
    s.wait(100)
    out["scsi-sg-unmapped"] = s

    # Mutual-CHAP secret and initiator name commands.
    s, d = base(msix_cap, io_queue=False)
    d.admin(buffer_cmd(ADM_SET_CHAP_SECRET, OUT_BUF, 16, cid=d.next_cid()),
            b"0123456789abcdef")
    name = b"iqn.2026-11.org.qemu:fuzz"
    d.admin(buffer_cmd(ADM_SET_INITIATOR_NAME, OUT_BUF, len(name),
                       cid=d.next_cid()), name)
    d.admin(buffer_cmd(ADM_GET_INITIATOR_NAME, OUT_BUF, 256,
                       cid=d.next_cid()))
    d.cq_release()
    out["admin-chap-name"] = s

    if iqn and portal:
        host, port = portal.rsplit(":", 1)
        s, d = base(msix_cap)
        d.admin(buffer_cmd(ADM_DISCOVERY, OUT_BUF + 0x1000,
                           LOGIN_PARAMS_SIZE, addr2=OUT_BUF, len2=4096,
                           cid=d.next_cid()),
                login_params("", host, int(port), session_type=1),
                sync=False)
        s.wait(200)
        d.admin(buffer_cmd(ADM_LOGIN, OUT_BUF + 0x1000, LOGIN_PARAMS_SIZE,
                           cid=d.next_cid()),
                login_params(iqn, host, int(port)), sync=False)
        s.wait(300)
        d.admin(buffer_cmd(ADM_LIST_SESSIONS, OUT_BUF, 64,
                           cid=d.next_cid()))
        s.wait(50)
        out["guest-discovery-login"] = s
    return out


REGION_NAMES = ["regs", "doorbells", "msix-table", "msix-pba"]
SIZE_NAMES = ["b", "w", "l", "q"]


def decode(data):
    """An input as generic-fuzz runs it, one operation a line (regions as
    indexes into the fuzzable regions, modulo their number).  QEMU 10.0's
    QTEST_LOG shows nothing for the in-process fuzzer, so this is the way
    from a crash artifact to a qtest."""
    fields = {OP_WRITE: "<BBxxIQ", OP_READ: "<BBxxI", OP_PCI_WRITE: "<BBBxI",
              OP_PCI_READ: "<BBB", OP_OUT: "<BBHI", OP_IN: "<BBH"}
    names = {OP_IN: "in", OP_OUT: "out", OP_READ: "read", OP_WRITE: "write",
             OP_PCI_READ: "pci_read", OP_PCI_WRITE: "pci_write",
             OP_DISABLE_PCI: "disable_pci", OP_ADD_DMA_PATTERN: "dma_pattern",
             OP_CLEAR_DMA_PATTERNS: "clear_dma_patterns",
             OP_CLOCK_STEP: "clock_step"}
    lines, waits = [], 0
    for cmd in data.split(SEP):
        if not cmd:
            continue
        op, arg = cmd[0] % 10, cmd[1:]
        fmt = fields.get(op)
        if fmt and len(arg) < struct.calcsize(fmt):
            lines.append("%s (too short: ignored)" % names[op])
            continue
        if op == OP_READ and arg[:8] == struct.pack("<BBxxI", SIZE_LONG,
                                                    R_REGS, REG_STATUS):
            waits += 1          # the generator's "let time pass"
            continue
        if waits:
            lines.append("(%d STATUS reads: real time passes)" % waits)
            waits = 0
        if op in (OP_READ, OP_WRITE):
            v = struct.unpack_from(fmt, arg)
            reg = "%s[%d]+0x%x" % (REGION_NAMES[v[1] % 4], v[1], v[2])
            sz = SIZE_NAMES[v[0] % 4]
            lines.append("%s%s %s%s" % (names[op], sz, reg, " <- 0x%x" % v[3]
                                        if op == OP_WRITE else ""))
        elif op in (OP_PCI_READ, OP_PCI_WRITE, OP_IN, OP_OUT):
            v = struct.unpack_from(fmt, arg)
            lines.append("%s%s base %d offset 0x%x%s" % (
                names[op], SIZE_NAMES[v[0] % 3], v[1], v[2],
                " <- 0x%x" % v[3] if len(v) > 3 else ""))
        elif op == OP_ADD_DMA_PATTERN:
            pat = arg[2:]
            lines.append("dma_pattern index %d stride %d, %d bytes: %s%s" % (
                arg[0] if arg else 0, arg[1] if len(arg) > 1 else 0,
                len(pat), pat[:32].hex(), "..." if len(pat) > 32 else ""))
        else:
            lines.append(names[op])
    if waits:
        lines.append("(%d STATUS reads: real time passes)" % waits)
    return lines


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--decode":
        with open(sys.argv[2], "rb") as f:
            print("\n".join(decode(f.read())))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--msix-cap", type=lambda v: int(v, 0), default=0x40,
                    help="MSI-X capability offset in config space")
    ap.add_argument("--guest-iqn", default="")
    ap.add_argument("--portal", default="")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for name, s in sorted(seeds(a.msix_cap, a.guest_iqn, a.portal).items()):
        with open(os.path.join(a.outdir, name), "wb") as f:
            f.write(s.bytes())
        print("%-24s %6d bytes, %4d operations" % (name, len(s.bytes()),
                                                   len(s.ops)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
