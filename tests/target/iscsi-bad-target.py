#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TEST STAND-IN: a small iSCSI target that misbehaves on demand.

This is not a real target.  It exists for the iscsi-hba tests, and only
for behaviour that a real target (tgtd) cannot be made to show: stalling
after an R2T, never answering, malformed sense data, absurd REPORT LUNS
lengths, closing mid-PDU, Reject PDUs, answers to unknown ITTs.

It speaks enough of RFC 7143 for libiscsi 1.19: one connection per
session, no authentication, no digests, InitialR2T=Yes, ImmediateData=No.
LUN 0 is an in-memory disk (512-byte blocks) holding a fixed pattern:
byte i is ((i >> 9) + (i & 511)) & 0xff.  Writes change it for the life of
the process.

Usage:
  iscsi-bad-target.py [--port N] [--rule SPEC]... [--control]
                      [--lun-size BYTES] [--rcvbuf BYTES] [-v] [--list]

The first line on stdout is "PORT n" (--port 0, the default, picks a free
port).  With --control, stdin is a line-oriented control channel (one
"OK ..." or "ERR ..." line answers each command on stdout) and the target
exits when stdin closes.

A rule is "key=value,..." (RULE_KEYS and MISBEHAVIOURS below, or --list):
  on=scsi,op=WRITE_10,action=stall-after-r2t
  on=scsi,op=TUR,nth=2,action=check-condition,seg=1
  on=scsi,op=REPORT_LUNS,action=luns,listlen=0xfffffff8
  on=tmf,action=stall
Control commands: rule SPEC | clear | resume | release | stats |
  hist-reset [BYTE...] | quit |
  wait stalled|held|logout|idle:MS|backlog:MS TIMEOUT_S
(backlog:MS: a stalled socket holds unread bytes, unchanged for MS ms)
"""

import argparse
import fcntl
import heapq
import json
import os
import selectors
import socket
import struct
import sys
import termios
import time

TARGET_NAME = "iqn.2026-11.org.qemu.test:bad-target"
BLOCK = 512
MAX_RECV_DSL = 262144         # our MaxRecvDataSegmentLength
MAX_BURST = 16 * 1024 * 1024  # what we would accept; the initiator's wins
CMD_WINDOW = 64               # MaxCmdSN - ExpCmdSN + 1

# Opcodes (RFC 7143 11.1.1)
OP_NOP_OUT, OP_SCSI_CMD, OP_TMF_REQ, OP_LOGIN_REQ = 0x00, 0x01, 0x02, 0x03
OP_TEXT_REQ, OP_DATA_OUT, OP_LOGOUT_REQ = 0x04, 0x05, 0x06
OP_NOP_IN, OP_SCSI_RSP, OP_TMF_RSP, OP_LOGIN_RSP = 0x20, 0x21, 0x22, 0x23
OP_TEXT_RSP, OP_DATA_IN, OP_LOGOUT_RSP, OP_R2T = 0x24, 0x25, 0x26, 0x31
OP_REJECT = 0x3f
NO_TAG = 0xffffffff

# SCSI
GOOD, CHECK_CONDITION = 0x00, 0x02
SCSI_OPS = {
    "TUR": 0x00, "INQUIRY": 0x12, "READ_CAPACITY_10": 0x25,
    "READ_10": 0x28, "WRITE_10": 0x2a, "SYNC_CACHE_10": 0x35,
    "READ_16": 0x88, "WRITE_16": 0x8a, "READ_CAPACITY_16": 0x9e,
    "REPORT_LUNS": 0xa0,
}
TMF_ABORT_TASK, TMF_LUN_RESET = 1, 5
TMF_COMPLETE, TMF_NO_TASK, TMF_NOT_SUPPORTED = 0, 1, 5


def be32(b, off):
    return struct.unpack_from(">I", b, off)[0]


def fixed_sense(key, asc, ascq):
    """18 bytes of fixed-format sense data."""
    s = bytearray(18)
    s[0], s[2], s[7], s[12], s[13] = 0x70, key, 10, asc, ascq
    return bytes(s)


ILLEGAL_OPCODE = fixed_sense(0x5, 0x20, 0x00)
ILLEGAL_FIELD = fixed_sense(0x5, 0x24, 0x00)
LBA_RANGE = fixed_sense(0x5, 0x21, 0x00)
NO_LUN = fixed_sense(0x5, 0x25, 0x00)
# What check-condition sends unless told otherwise: recognisable values
INJECTED_SENSE = fixed_sense(0x3, 0x11, 0x00)   # MEDIUM ERROR, UNRECOVERED

# ---- misbehaviours ----------------------------------------------------

# action -> (triggers it applies to, parameters, what it does)
MISBEHAVIOURS = {
    "normal": ("any", "bursts=N", "answer correctly; bursts: a WRITE gets "
               "only N R2Ts, then waits (for a TMF with r2t=1)"),
    "stall-after-r2t": ("scsi WRITE", "r2t=BYTES resume=S", "send one R2T "
                        "(default: for all data, over MaxBurstLength), then "
                        "stop reading until 'resume' or for S seconds"),
    "stall": ("any", "resume=S r2t=1", "answer, then stop reading; a TMF "
              "with r2t=1 first sends an R2T for the rest of the WRITE it "
              "names and stops reading before it answers"),
    "no-answer": ("any", "", "never answer"),
    "check-condition": ("scsi", "sense=N senselen=N extra=N seg=N",
                        "CHECK CONDITION at once: N sense bytes (default "
                        "18: MEDIUM ERROR 11/00), SenseLength senselen "
                        "(default N), extra bytes of 0xcc after the sense, "
                        "the data segment cut to seg bytes"),
    "luns": ("scsi REPORT_LUNS", "n=N listlen=V overlong=1", "N LUNs "
             "(default 1), LUN LIST LENGTH V (default 8*N); overlong: "
             "more data than the allocation length"),
    "close": ("any", "", "close the connection on receipt"),
    "close-mid-pdu": ("any", "bytes=N", "send the first N bytes (default "
                      "30) of the answer, then close"),
    "reject": ("any", "reason=R bogus=1", "a Reject PDU (reason default "
               "0x09) quoting the header; bogus: with an ITT nobody used"),
    "unknown-itt": ("scsi", "mode=extra|instead", "a SCSI Response for an "
                    "ITT nobody used, before the answer or instead of it"),
}
# Trigger keys, and the modifiers every action takes
RULE_KEYS = {
    "on": "scsi|tmf|nop|logout|text|any (default scsi)",
    "op": "SCSI opcode, number or name in SCSI_OPS (scsi only)",
    "fn": "TMF function number (tmf only)",
    "nth": "first matching PDU to act on, 1-based (default 1)",
    "times": "how many matches to act on (default 1, 0 = all)",
    "delay": "answer S seconds late",
    "hold": "1: answer on 'release'",
}
PARAMS = ("r2t", "bursts", "resume", "sense", "senselen", "extra", "seg", "n",
          "listlen", "overlong", "bytes", "reason", "bogus", "mode",
          "delay", "hold")


class Rule:
    """One misbehaviour: a trigger, an action and its parameters."""

    def __init__(self, spec):
        self.spec = spec
        self.on, self.op, self.fn = "scsi", None, None
        self.nth, self.times = 1, 1
        self.action = "normal"
        self.p = {}
        self.seen = self.fired = 0
        for item in filter(None, spec.split(",")):
            key, sep, val = item.partition("=")
            if not sep:
                raise ValueError("not key=value: %r" % item)
            if key == "on":
                if val not in ("scsi", "tmf", "nop", "logout", "text", "any"):
                    raise ValueError("bad trigger %r" % val)
                self.on = val
            elif key == "op":
                self.op = SCSI_OPS[val] if val in SCSI_OPS else int(val, 0)
            elif key == "fn":
                self.fn = int(val, 0)
            elif key in ("nth", "times"):
                setattr(self, key, int(val, 0))
            elif key == "action":
                if val not in MISBEHAVIOURS:
                    raise ValueError("unknown action %r" % val)
                self.action = val
            elif key in PARAMS:
                self.p[key] = val if key == "mode" else float(val) \
                    if key in ("delay", "resume") else int(val, 0)
            else:
                raise ValueError("unknown key %r" % key)

    def match(self, kind, op=None, fn=None):
        if self.on not in ("any", kind):
            return False
        if kind == "scsi" and self.op is not None and op != self.op:
            return False
        if kind == "tmf" and self.fn is not None and fn != self.fn:
            return False
        self.seen += 1
        if self.seen < self.nth:
            return False
        if self.times and self.seen >= self.nth + self.times:
            return False
        self.fired += 1
        return True


NORMAL = Rule("on=any")


# ---- the disk ---------------------------------------------------------

class Lun:
    """LUN 0: an in-memory disk and the SCSI commands on it."""

    def __init__(self, size):
        size -= size % BLOCK
        blocks = [bytes(((b + j) & 0xff) for j in range(BLOCK))
                  for b in range(256)]
        self.data = bytearray(b"".join(blocks[b & 0xff]
                                       for b in range(size // BLOCK)))
        self.blocks = size // BLOCK

    def rw_range(self, cdb):
        """(byte offset, byte count) of a READ/WRITE 10/16, or None."""
        if cdb[0] in (0x28, 0x2a):
            lba, n = be32(cdb, 2), struct.unpack_from(">H", cdb, 7)[0]
        else:
            lba, n = struct.unpack_from(">QI", cdb, 2)
        if lba + n > self.blocks:
            return None
        return lba * BLOCK, n * BLOCK

    def execute(self, cdb, lun):
        """(status, data-in bytes, sense) of a command without data-out."""
        op = cdb[0]
        if op == 0x12:
            data = self.inquiry(cdb, lun)
            if data is None:
                return CHECK_CONDITION, b"", ILLEGAL_FIELD
            return GOOD, data, None
        if op == 0xa0:
            alloc = be32(cdb, 6)
            return GOOD, (struct.pack(">I4x", 8) + bytes(8))[:alloc], None
        if lun != 0:
            return CHECK_CONDITION, b"", NO_LUN
        if op in (0x00, 0x35):
            return GOOD, b"", None
        if op == 0x25:
            return GOOD, struct.pack(">II", self.blocks - 1, BLOCK), None
        if op == 0x9e and cdb[1] & 0x1f == 0x10:
            alloc = be32(cdb, 10)
            data = struct.pack(">QI20x", self.blocks - 1, BLOCK)
            return GOOD, data[:alloc], None
        if op in (0x28, 0x88):
            rng = self.rw_range(cdb)
            if rng is None:
                return CHECK_CONDITION, b"", LBA_RANGE
            return GOOD, bytes(self.data[rng[0]:rng[0] + rng[1]]), None
        return CHECK_CONDITION, b"", ILLEGAL_OPCODE

    def inquiry(self, cdb, lun):
        """Standard data, or VPD page 0 (no other pages); None: bad."""
        alloc = struct.unpack_from(">H", cdb, 3)[0]
        if cdb[1] & 1:
            data = bytes([0, 0, 0, 1, 0]) if cdb[2] == 0 else None
        else:
            data = bytes([0x00 if lun == 0 else 0x7f, 0, 5, 2, 31, 0, 0, 0])
            data += b"QEMUTEST" + b"BAD-TARGET      " + b"0001"
        return data and data[:alloc]


def report_luns_data(rule, alloc):
    n = rule.p.get("n", 1)
    data = struct.pack(">I4x", rule.p.get("listlen", 8 * n))
    data += b"".join(struct.pack(">H6x", i) for i in range(n))
    return data if rule.p.get("overlong") else data[:alloc]


# ---- PDUs -------------------------------------------------------------

def bhs(opcode, flags=0, itt=NO_TAG, lun=0, dsl=0):
    """A 48-byte target BHS; StatSN/ExpCmdSN/MaxCmdSN are set on send."""
    h = bytearray(48)
    h[0], h[1] = opcode, flags
    struct.pack_into(">I", h, 4, dsl & 0xffffff)
    struct.pack_into(">QI", h, 8, lun, itt)
    return h


class Out:
    """One PDU to send; 'status' PDUs take a new StatSN."""

    def __init__(self, hdr, data=b"", status=True):
        self.hdr, self.data, self.status = hdr, bytes(data), status
        struct.pack_into(">I", hdr, 4, len(self.data) & 0xffffff)


class Task:
    """A command the target has not finished answering."""

    def __init__(self, itt, rule, lun_id):
        self.itt, self.rule, self.lun_id = itt, rule, lun_id
        self.aborted = self.scsi = False
        self.write = None       # [offset, length, received, burst_end, ttt]
        self.r2ts = 0


# ---- a connection -----------------------------------------------------

class Connection:
    """One initiator connection: login, full feature phase, misbehaviour."""

    def __init__(self, target, sock, peer):
        self.t, self.sock, self.peer = target, sock, peer
        self.inbuf, self.outbuf = bytearray(), bytearray()
        self.logged_in = self.logged_out = False
        self.stalled = self.closing = False
        self.statsn, self.exp_cmdsn = 1, 0
        self.max_burst, self.init_mrdsl = 262144, 8192
        self.tasks = {}
        self.next_ttt = 1
        self.backlog = (0, time.monotonic())   # unread bytes, since when
        sock.setblocking(False)

    def log(self, msg):
        self.t.log("%s: %s" % (self.peer, msg))

    # -- output --
    def send(self, pdus):
        for p in pdus:
            self.outbuf += self.wire(p)
        self.t.update(self)

    def wire(self, p):
        h = p.hdr
        struct.pack_into(">III", h, 24, self.statsn if h[0] != OP_DATA_IN or
                         p.status else 0, self.exp_cmdsn,
                         (self.exp_cmdsn + CMD_WINDOW - 1) & 0xffffffff)
        if p.status:
            self.statsn = (self.statsn + 1) & 0xffffffff
        pad = -len(p.data) % 4
        return bytes(h) + p.data + bytes(pad)

    def close(self, why):
        """why: 'peer' (EOF or error) or 'target' (we were told to)."""
        if self.sock is None:
            return
        self.log("closed by %s" % why)
        self.t.conn_closed(self, why)
        if why == "target":
            # Unread input would turn the FIN into a RST and could drop
            # what we still send: read it all first.
            try:
                while self.sock.recv(1 << 16):
                    pass
            except OSError:
                pass
        self.sock.close()
        self.sock = None

    # -- input --
    def feed(self):
        """Parse and handle every complete PDU, unless stalled."""
        while not self.stalled and not self.closing and self.sock:
            if len(self.inbuf) < 48:
                return
            ahs = self.inbuf[4] * 4
            dsl = be32(self.inbuf, 4) & 0xffffff
            total = 48 + ahs + dsl + (-dsl % 4)
            if len(self.inbuf) < total:
                return
            hdr = bytes(self.inbuf[:48])
            data = bytes(self.inbuf[48 + ahs:48 + ahs + dsl])
            del self.inbuf[:total]
            self.t.last_rx = time.monotonic()
            self.handle(hdr, data)

    def handle(self, hdr, data):
        op, immediate = hdr[0] & 0x3f, hdr[0] & 0x40
        if op not in (OP_DATA_OUT, OP_LOGIN_REQ) and not immediate:
            cmdsn = be32(hdr, 24)
            if (cmdsn - self.exp_cmdsn) & 0x80000000 == 0:
                self.exp_cmdsn = (cmdsn + 1) & 0xffffffff
        handler = {
            OP_LOGIN_REQ: self.on_login, OP_SCSI_CMD: self.on_scsi,
            OP_DATA_OUT: self.on_data_out, OP_NOP_OUT: self.on_nop,
            OP_TMF_REQ: self.on_tmf, OP_LOGOUT_REQ: self.on_logout,
            OP_TEXT_REQ: self.on_text,
        }.get(op)
        if handler is None:
            self.log("unexpected opcode 0x%02x: reject" % op)
            self.send([Out(bhs(OP_REJECT, 0x80, NO_TAG), hdr)])
            return
        handler(hdr, data)

    def rule_for(self, kind, op=None, fn=None):
        """The rule for this PDU; every rule counts it."""
        fired = [r for r in self.t.rules if r.match(kind, op, fn)]
        if fired:
            self.log("rule %r fires" % fired[0].spec)
        return fired[0] if fired else NORMAL

    def answer(self, task, pdus):
        """Send the answer of @task, as its rule says."""
        r = task.rule
        if r.p.get("hold"):
            self.t.held.append(
                lambda: self.answer_now(task, pdus, r.action, r.p))
            return
        if r.p.get("delay"):
            self.t.at(time.monotonic() + r.p["delay"],
                      lambda: self.answer_now(task, pdus, r.action, r.p))
            return
        self.answer_now(task, pdus, r.action, r.p)

    def answer_now(self, task, pdus, action, p):
        if self.sock is None or task.aborted:
            return
        self.tasks.pop(task.itt, None)
        if action == "no-answer":
            self.log("itt 0x%08x: never answered" % task.itt)
            if task.scsi:
                self.tasks[task.itt] = task    # stays abortable
            return
        if action == "close-mid-pdu":
            raw = b"".join(self.wire(x) for x in pdus)
            self.outbuf += raw[:p.get("bytes", 30)]
            self.closing = True
            self.t.update(self)
            return
        if action == "unknown-itt":
            bogus = bhs(OP_SCSI_RSP, 0x80, task.itt ^ 0x5a5a0000)
            self.send([Out(bogus)])
            if p.get("mode", "extra") == "instead":
                return
        self.send(pdus)
        if action == "stall" and not self.stalled:
            self.stall(p)

    def stall(self, p):
        self.log("stalled: not reading the socket")
        self.stalled = True
        self.t.update(self)
        if p.get("resume"):
            self.t.at(time.monotonic() + p["resume"], self.resume)

    def backlog_for(self):
        """Seconds the unread bytes of a stalled socket have not grown."""
        if not self.stalled or self.sock is None:
            return 0
        n = struct.unpack("i", fcntl.ioctl(self.sock, termios.FIONREAD,
                                           b"\0\0\0\0"))[0]
        if n != self.backlog[0]:
            self.backlog = (n, time.monotonic())
        return time.monotonic() - self.backlog[1] if n else 0

    def resume(self):
        if self.stalled and self.sock:
            self.log("resumed")
            self.stalled = False
            self.t.last_rx = time.monotonic()   # for "wait idle:MS"
            self.t.update(self)
            self.feed()

    # -- login, text, logout, nop --
    def on_login(self, hdr, data):
        transit, csg, nsg = hdr[1] & 0x80, (hdr[1] >> 2) & 3, hdr[1] & 3
        keys = [kv.partition("=") for kv in data.decode(errors="replace")
                .split("\0") if kv]
        offered = {k: v for k, _, v in keys}
        reply = []
        answers = {
            "HeaderDigest": "None", "DataDigest": "None",
            "InitialR2T": "Yes", "ImmediateData": "No",
            "MaxConnections": "1", "MaxOutstandingR2T": "1",
            "ErrorRecoveryLevel": "0", "IFMarker": "No", "OFMarker": "No",
            "DataPDUInOrder": "Yes", "DataSequenceInOrder": "Yes",
            "RDMAExtensions": "No", "AuthMethod": "None",
        }
        declarative = ("InitiatorName", "InitiatorAlias", "TargetName",
                       "SessionType", "MaxRecvDataSegmentLength",
                       "InitiatorRecvDataSegmentLength",
                       "TargetRecvDataSegmentLength")
        for k, _, v in keys:
            if k in answers:
                reply.append("%s=%s" % (k, answers[k]))
            elif k in ("MaxBurstLength", "FirstBurstLength"):
                reply.append("%s=%d" % (k, min(int(v), MAX_BURST)))
            elif k in ("DefaultTime2Wait", "DefaultTime2Retain"):
                reply.append("%s=%s" % (k, v))
            elif k not in declarative:
                reply.append("%s=NotUnderstood" % k)
        if "MaxRecvDataSegmentLength" in offered:
            self.init_mrdsl = int(offered["MaxRecvDataSegmentLength"])
        if "MaxBurstLength" in offered:
            self.max_burst = min(int(offered["MaxBurstLength"]), MAX_BURST)
        self.discovery = offered.get("SessionType") == "Discovery"
        if csg == 1 and not self.discovery:
            reply.append("TargetPortalGroupTag=1")
        if csg == 1:
            reply.append("MaxRecvDataSegmentLength=%d" % MAX_RECV_DSL)
        if "TargetName" in offered:
            self.log("login to %s" % offered["TargetName"])
        flags = transit | (csg << 2) | (nsg if transit else 0)
        h = bhs(OP_LOGIN_RSP, flags, be32(hdr, 16))
        h[8:14] = hdr[8:14]                        # ISID
        struct.pack_into(">H", h, 14, 1)           # TSIH
        self.exp_cmdsn = be32(hdr, 24)
        text = "".join(s + "\0" for s in reply).encode()
        self.send([Out(h, text)])
        if transit and nsg == 3:
            self.logged_in = True
            self.t.stats["logins"] += 1

    def on_text(self, hdr, data):
        r = self.rule_for("text")
        task = Task(be32(hdr, 16), r, 0)
        text = b""
        if b"SendTargets=" in data:
            text = ("TargetName=%s\0TargetAddress=127.0.0.1:%d,1\0" %
                    (TARGET_NAME, self.t.port)).encode()
        h = bhs(OP_TEXT_RSP, 0x80, task.itt)
        struct.pack_into(">I", h, 20, NO_TAG)
        if not self.early(r, task, hdr):
            self.answer(task, [Out(h, text)])

    def on_nop(self, hdr, data):
        itt = be32(hdr, 16)
        if itt == NO_TAG:
            return                              # answer to a NOP-In of ours
        r = self.rule_for("nop")
        task = Task(itt, r, 0)
        h = bhs(OP_NOP_IN, 0x80, itt)
        h[8:16] = hdr[8:16]
        struct.pack_into(">I", h, 20, NO_TAG)
        if not self.early(r, task, hdr):
            self.answer(task, [Out(h, data)])

    def on_logout(self, hdr, data):
        r = self.rule_for("logout")
        task = Task(be32(hdr, 16), r, 0)
        self.t.stats["logout_requests"] += 1
        self.logged_out = True
        if not self.early(r, task, hdr):
            self.answer(task, [Out(bhs(OP_LOGOUT_RSP, 0x80, task.itt))])

    def early(self, r, task, hdr):
        """Actions that replace the answer; true if one was taken."""
        if r.action == "close":
            self.log("closing on receipt, as told")
            self.close("target")
            return True
        if r.action == "reject":
            rej = bytearray(hdr)
            if r.p.get("bogus"):
                struct.pack_into(">I", rej, 16, task.itt ^ 0x00a50000)
            h = bhs(OP_REJECT, 0x80, NO_TAG)
            h[2] = r.p.get("reason", 0x09)
            self.send([Out(h, rej)])
            return True
        return False

    # -- SCSI --
    def on_scsi(self, hdr, data):
        itt, edtl, cdb = be32(hdr, 16), be32(hdr, 20), hdr[32:48]
        lun_id = struct.unpack_from(">H", hdr, 8)[0] & 0x3fff
        self.t.stats["commands"] += 1
        r = self.rule_for("scsi", op=cdb[0])
        task = Task(itt, r, lun_id)
        task.scsi = True
        self.tasks[itt] = task
        if self.early(r, task, hdr):
            self.tasks.pop(itt, None)
            return
        if r.action == "check-condition":
            self.answer(task, self.response(task, CHECK_CONDITION, edtl,
                                            0, r))
            return
        if hdr[1] & 0x20:                         # W
            self.start_write(task, cdb, edtl, data, r)
            return
        if r.action == "luns" and cdb[0] == 0xa0:
            status, din, sense = GOOD, report_luns_data(r, be32(cdb, 6)), None
        else:
            status, din, sense = self.t.lun.execute(cdb, lun_id)
        if sense or not din:
            self.answer(task, self.response(task, status, edtl, 0, None,
                                            sense))
            return
        self.answer(task, self.data_in(task, din, edtl))

    def data_in(self, task, din, edtl):
        pdus, off = [], 0
        send = din[:edtl] if len(din) > edtl and not \
            task.rule.p.get("overlong") else din
        while True:
            chunk = send[off:off + self.init_mrdsl]
            last = off + len(chunk) >= len(send)
            h = bhs(OP_DATA_IN, 0, task.itt, task.lun_id << 48)
            struct.pack_into(">I", h, 20, NO_TAG)
            struct.pack_into(">II", h, 36, len(pdus), off)
            if last:
                h[1] = 0x81                       # F, S
                h[3] = GOOD
                self.residual(h, edtl, len(din))
            pdus.append(Out(h, chunk, status=last))
            off += len(chunk)
            if last:
                return pdus

    @staticmethod
    def residual(h, edtl, have):
        if have < edtl:
            h[1] |= 0x02
            struct.pack_into(">I", h, 44, edtl - have)
        elif have > edtl:
            h[1] |= 0x04
            struct.pack_into(">I", h, 44, have - edtl)

    def response(self, task, status, edtl, done, r, sense=None):
        """A SCSI Response PDU; sense data as rule @r says."""
        seg = b""
        if status == CHECK_CONDITION:
            if r is not None:
                sense = INJECTED_SENSE[:r.p.get("sense", 18)]
                if r.p.get("sense", 18) > 18:
                    sense += bytes(r.p["sense"] - 18)
                length = r.p.get("senselen", len(sense))
                seg = struct.pack(">H", length) + sense
                seg += b"\xcc" * r.p.get("extra", 0)
                if "seg" in r.p:
                    seg = seg[:r.p["seg"]]
            else:
                seg = struct.pack(">H", len(sense)) + sense
        h = bhs(OP_SCSI_RSP, 0x80, task.itt, task.lun_id << 48)
        h[3] = status
        self.residual(h, edtl, done)
        return [Out(h, seg)]

    def start_write(self, task, cdb, edtl, data, r):
        rng = self.t.lun.rw_range(cdb) if cdb[0] in (0x2a, 0x8a) else None
        if cdb[0] in (0x2a, 0x8a) and rng is None:
            self.answer(task, self.response(task, CHECK_CONDITION, edtl, 0,
                                            None, LBA_RANGE))
            return
        if rng is None:
            rng = (None, 0)
        length = min(edtl, rng[1]) if rng[0] is not None else edtl
        task.write = [rng[0], length, 0, 0, 0]
        if data:
            self.store(task, 0, data)
        if task.write[2] >= length:
            self.finish_write(task, edtl)
            return
        burst = r.p.get("r2t", length) if r.action == "stall-after-r2t" \
            else self.max_burst
        self.send_r2t(task, burst)
        if r.action == "stall-after-r2t":
            self.stall(r.p)

    def send_r2t(self, task, burst):
        w = task.write
        length = min(burst, w[1] - w[2])
        w[3], w[4] = w[2] + length, self.next_ttt
        self.next_ttt += 1
        task.r2ts += 1
        h = bhs(OP_R2T, 0x80, task.itt, task.lun_id << 48)
        struct.pack_into(">I", h, 20, w[4])
        struct.pack_into(">III", h, 36, 0, w[2], length)
        self.send([Out(h, status=False)])

    def store(self, task, offset, data):
        w = task.write
        if w[0] is not None and offset + len(data) <= w[1]:
            self.t.lun.data[w[0] + offset:w[0] + offset + len(data)] = data
        w[2] = max(w[2], offset + len(data))

    def on_data_out(self, hdr, data):
        self.t.count_data_out(data)
        task = self.tasks.get(be32(hdr, 16))
        if task is None or task.write is None or task.aborted:
            return                                # aborted or unknown
        self.store(task, be32(hdr, 40), data)
        w = task.write
        if not hdr[1] & 0x80 or w[2] < w[3]:
            return
        if w[2] >= w[1]:
            self.finish_write(task, w[1])
        elif task.r2ts < task.rule.p.get("bursts", task.r2ts + 1):
            self.send_r2t(task, self.max_burst)
        else:
            self.log("itt 0x%08x: no more R2Ts, as told" % task.itt)

    def finish_write(self, task, edtl):
        self.answer(task, self.response(task, GOOD, edtl, task.write[1],
                                        None))

    # -- task management --
    def on_tmf(self, hdr, data):
        fn, itt, rtt = hdr[1] & 0x7f, be32(hdr, 16), be32(hdr, 20)
        lun_id = struct.unpack_from(">H", hdr, 8)[0] & 0x3fff
        self.t.stats["tmf"].append(fn)
        r = self.rule_for("tmf", fn=fn)
        task = Task(itt, r, lun_id)
        if self.early(r, task, hdr):
            return
        victim = self.tasks.get(rtt)
        if r.p.get("r2t") and fn == TMF_ABORT_TASK and victim and \
                victim.write and victim.write[2] < victim.write[1]:
            self.send_r2t(victim, victim.write[1] - victim.write[2])
        if r.action == "stall":
            self.stall(r.p)
        if fn == TMF_ABORT_TASK:
            victim = self.tasks.pop(rtt, None)
            if victim:
                victim.aborted = True
            resp = TMF_COMPLETE if victim else TMF_NO_TASK
        elif fn in (2, 3, TMF_LUN_RESET, 6, 7):
            for v in [v for v in self.tasks.values()
                      if fn != TMF_LUN_RESET or v.lun_id == lun_id]:
                v.aborted = True
                del self.tasks[v.itt]
            resp = TMF_COMPLETE
        else:
            resp = TMF_NOT_SUPPORTED
        self.log("TMF %d for itt 0x%08x: response %d" % (fn, rtt, resp))
        h = bhs(OP_TMF_RSP, 0x80, itt)
        h[2] = resp
        self.answer(task, [Out(h)])


# ---- the server -------------------------------------------------------

class Target:
    """Listening socket, connections, timers, control channel, stats."""

    def __init__(self, args):
        self.verbose = args.verbose
        self.lun = Lun(args.lun_size)
        self.rules = [Rule(s) for s in args.rule]
        self.sel = selectors.DefaultSelector()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if args.rcvbuf:
            # Inherited by accepted sockets: what a stall leaves in flight
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                  args.rcvbuf)
        self.lsock.bind((args.host, args.port))
        self.lsock.listen(8)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.conns = []
        self.timers = []
        self.held = []
        self.waits = []
        self.last_rx = time.monotonic()
        self.running = True
        self.stats = {"accepted": 0, "logins": 0, "logout_requests": 0,
                      "clean_closes": 0, "abrupt_closes": 0,
                      "target_closes": 0, "commands": 0, "tmf": [],
                      "data_out_bytes": 0}
        self.hist_values = []
        self.hist = {}
        self.control = None
        if args.control:
            self.control = Control(self)
            self.sel.register(sys.stdin, selectors.EVENT_READ, self.control)

    def log(self, msg):
        if self.verbose:
            sys.stderr.write("bad-target: %s\n" % msg)
            sys.stderr.flush()

    def at(self, when, fn):
        heapq.heappush(self.timers, (when, id(fn), fn))

    def update(self, conn):
        """Register @conn for what it needs now."""
        if conn.sock is None:
            return
        ev = 0 if conn.stalled else selectors.EVENT_READ
        if conn.outbuf:
            ev |= selectors.EVENT_WRITE
        if conn.closing and not conn.outbuf:
            conn.close("target")
            return
        try:
            if ev:
                self.sel.modify(conn.sock, ev, conn)
            else:
                self.sel.unregister(conn.sock)
        except KeyError:
            if ev:
                self.sel.register(conn.sock, ev, conn)

    def conn_closed(self, conn, why):
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        self.conns.remove(conn)
        if why == "target":
            key = "target_closes"
        elif conn.logged_in and not conn.logged_out:
            key = "abrupt_closes"       # the initiator went without logout
        else:
            key = "clean_closes"
        self.stats[key] += 1

    def count_data_out(self, data):
        self.stats["data_out_bytes"] += len(data)
        if not self.hist_values:
            return
        rest = len(data)
        for v in self.hist_values:
            n = data.count(bytes([v]))
            self.hist[v] += n
            rest -= n
        self.hist["other"] += rest

    def snapshot(self):
        s = dict(self.stats)
        s["port"] = self.port
        s["open"] = len(self.conns)
        s["stalled"] = sum(c.stalled for c in self.conns)
        s["held"] = len(self.held)
        s["fired"] = [r.fired for r in self.rules]
        s["hist"] = {("0x%02x" % k if k != "other" else k): v
                     for k, v in self.hist.items()}
        return s

    def io(self, conn, mask):
        if mask & selectors.EVENT_WRITE and conn.outbuf:
            try:
                n = conn.sock.send(conn.outbuf)
                del conn.outbuf[:n]
            except BlockingIOError:
                pass
            except OSError:
                conn.close("peer")
                return
        if mask & selectors.EVENT_READ and not conn.stalled:
            try:
                chunk = conn.sock.recv(1 << 20)
            except BlockingIOError:
                chunk = None
            except OSError:
                chunk = b""
            if chunk == b"":
                conn.close("peer")
                return
            if chunk:
                conn.inbuf += chunk
                conn.feed()
        self.update(conn)

    def run(self):
        print("PORT %d" % self.port, flush=True)
        while self.running:
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                heapq.heappop(self.timers)[2]()
            if self.control:
                self.control.check_waits()
            timeout = 0.05 if self.waits else None
            if self.timers:
                left = max(0, self.timers[0][0] - now)
                timeout = left if timeout is None else min(timeout, left)
            for key, mask in self.sel.select(timeout):
                if key.data is None:
                    sock, peer = self.lsock.accept()
                    conn = Connection(self, sock, "%s:%d" % peer)
                    self.conns.append(conn)
                    self.stats["accepted"] += 1
                    self.update(conn)
                elif isinstance(key.data, Control):
                    key.data.readable()
                elif key.data.sock is not None:
                    self.io(key.data, mask)


class Control:
    """The control channel: one command per line, one answer per line."""

    def __init__(self, target):
        self.t = target
        self.buf = b""

    def reply(self, line):
        print(line, flush=True)

    def readable(self):
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            self.t.running = False
            return
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                self.command(line.decode().strip())

    def command(self, line):
        say = self.reply
        word, _, rest = line.partition(" ")
        t = self.t
        try:
            if word == "rule":
                t.rules.append(Rule(rest))
                say("OK rule %d" % (len(t.rules) - 1))
            elif word == "clear":
                t.rules = []
                say("OK")
            elif word == "resume":
                for c in list(t.conns):
                    c.resume()
                say("OK")
            elif word == "release":
                held, t.held = t.held, []
                for fn in held:
                    fn()
                say("OK %d" % len(held))
            elif word == "stats":
                say("OK " + json.dumps(t.snapshot(), sort_keys=True))
            elif word == "hist-reset":
                t.hist_values = [int(v, 0) for v in rest.split()]
                t.hist = {v: 0 for v in t.hist_values}
                t.hist["other"] = 0
                say("OK")
            elif word == "wait":
                cond, timeout = rest.split()
                t.waits.append((cond, time.monotonic() + float(timeout)))
                self.check_waits()
            elif word == "quit":
                t.running = False
                say("OK")
            else:
                say("ERR unknown command %r" % word)
        except (ValueError, KeyError) as e:
            say("ERR %s" % e)

    def met(self, cond):
        t = self.t
        if cond == "stalled":
            return any(c.stalled for c in t.conns)
        if cond == "held":
            return bool(t.held)
        if cond == "logout":
            return t.stats["logout_requests"] > 0
        if cond.startswith("backlog:"):
            return any(c.backlog_for() >= int(cond[8:]) / 1000
                       for c in t.conns)
        if cond.startswith("idle:"):
            return time.monotonic() - t.last_rx >= int(cond[5:]) / 1000
        raise ValueError("unknown condition %r" % cond)

    def check_waits(self):
        waits, self.t.waits = self.t.waits, []
        for cond, deadline in waits:
            try:
                if self.met(cond):
                    self.reply("OK %s" % cond)
                elif time.monotonic() >= deadline:
                    self.reply("ERR timeout waiting for %s" % cond)
                else:
                    self.t.waits.append((cond, deadline))
            except ValueError as e:
                self.reply("ERR %s" % e)


def main():
    ap = argparse.ArgumentParser(
        description="TEST STAND-IN iSCSI target that misbehaves on demand")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rule", action="append", default=[])
    ap.add_argument("--control", action="store_true",
                    help="control channel on stdin; exit when it closes")
    ap.add_argument("--lun-size", type=int, default=16 * 1024 * 1024)
    ap.add_argument("--rcvbuf", type=int, default=65536,
                    help="SO_RCVBUF of connections (0: system default)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--list", action="store_true",
                    help="print the misbehaviour table and exit")
    args = ap.parse_args()
    if args.list:
        for name, (trig, params, what) in MISBEHAVIOURS.items():
            print("action=%s [%s] %s\n    %s" % (name, trig, params, what))
        for key, what in RULE_KEYS.items():
            print("%s=: %s" % (key, what))
        return
    try:
        Target(args).run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
