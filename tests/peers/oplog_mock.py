# SPDX-License-Identifier: Apache-2.0
"""A scripted replica-set member serving local.oplog.rs, built on mockupdb.

It answers the commands an oplog tailer sends (hello/isMaster, find with tailable/awaitData,
getMore that waits up to maxTimeMS for new entries, killCursors, endSessions) from an in-memory
oplog that a test appends to and truncates (as a capped collection rolls over), and it can inject
the faults a real server produces:

  - CappedPositionLost (136) on a getMore whose cursor position was truncated away (automatic,
    as mongod does), or on demand;
  - a connection dropped in the middle of a reply (half an OP_MSG, then close);
  - a primary step-down: NotWritablePrimary (10107) on the next getMore, hello answering
    secondary for a while, then primary again;
  - any error code on the next find/getMore.

Entries are served byte for byte (RawBSONDocument), so a test can compare what the tap saved
with what was served. Every command received is recorded (`commands`) so tests can assert, e.g.,
that each find asked for readConcern majority. applyOps and createIndexes are recorded in
`applied` and acknowledged, for replay tests; `apply_faults` fails chosen ones (by their
position among them, from 1) with a server error, as mongod refuses an operation. currentOp
reports `fsync_locked`, so a snapshot can read its oplog time from this server; listCollections
answers from `collections` (namespace -> UUID), as a replay target holding those collections.
"""
import bson
import threading
import time

from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument
from bson.timestamp import Timestamp
from mockupdb import MockupDB, OpMsgReply

RAW = bson.CodecOptions(document_class=RawBSONDocument)


def ts_key(ts):
    return (ts.time, ts.inc)


class OplogServer:
    def __init__(self, set_name="rs0", batch_size=50, verbose=False):
        self.set_name = set_name
        self.batch_size = batch_size
        self.entries = []          # RawBSONDocument, ts ascending
        self.cond = threading.Condition()
        self.cursors = {}          # id -> {"next": ts key of the last entry returned}
        self.next_cursor = 1000
        self.commands = []         # (command name, decoded command document)
        self.applied = []          # applyOps / createIndexes commands received
        self.faults = []           # queued faults for find/getMore: ("error", code, msg) ...
        self.apply_faults = {}     # n -> (code, msg): the n-th applyOps/createIndexes fails
        self.apply_count = 0
        self.fsync_locked = False
        self.collections = {}      # "db.coll" -> UUID (bson.Binary), for listCollections
        self.primary = True
        self.secondary_until = 0.0
        self.finds = 0
        self.getmores = 0
        self.mock = MockupDB(verbose=verbose, request_timeout=int(1e6))
        self.mock.autoresponds(self._handle)
        self.port = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self):
        self.port = self.mock.run()
        if not self.port:
            raise AssertionError("mockupdb did not start")
        return self

    def stop(self):
        with self.cond:
            self.cond.notify_all()
        self.mock.stop()

    @property
    def uri(self):
        return "mongodb://127.0.0.1:%d/?directConnection=true" % self.port

    # ---- the oplog -------------------------------------------------------------------------
    def append(self, docs):
        with self.cond:
            for d in docs:
                raw = d if isinstance(d, RawBSONDocument) else RawBSONDocument(bson.encode(d))
                if self.entries:
                    assert ts_key(raw["ts"]) > ts_key(self.entries[-1]["ts"]), "ts must increase"
                self.entries.append(raw)
            self.cond.notify_all()

    def truncate_before(self, ts):
        """Drop every entry older than ts, as a capped oplog does when it rolls over."""
        with self.cond:
            self.entries = [e for e in self.entries if ts_key(e["ts"]) >= ts_key(ts)]

    def step_down(self, seconds):
        """The next getMore fails with NotWritablePrimary; hello says secondary for a while."""
        with self.cond:
            self.faults.append(("error", 10107, "not primary"))
            self.primary = False
            self.secondary_until = time.time() + seconds
            self.cond.notify_all()

    def inject(self, *fault):
        with self.cond:
            self.faults.append(fault)
            self.cond.notify_all()

    # ---- protocol --------------------------------------------------------------------------
    def _hello(self, request):
        if not self.primary and time.time() >= self.secondary_until:
            self.primary = True
        me = "127.0.0.1:%d" % self.port
        doc = {"ismaster": self.primary, "isWritablePrimary": self.primary,
               "secondary": not self.primary, "setName": self.set_name, "setVersion": 1,
               "hosts": [me], "me": me, "minWireVersion": 0, "maxWireVersion": 17,
               "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48000000,
               "maxWriteBatchSize": 100000, "ok": 1}
        if self.primary:
            doc["primary"] = me
        return request.reply(doc)

    def _fault(self, request):
        """Apply the next queued fault, if any: True when the request was answered by it."""
        if not self.faults:
            return False
        kind = self.faults[0]
        self.faults.pop(0)
        if kind[0] == "error":
            return request.command_err(code=kind[1], errmsg=kind[2])
        if kind[0] == "hangup":
            return request.hangup()
        if kind[0] == "hangup_mid_reply":
            # Half of a real reply, then the connection closes: the client sees a torn message.
            batch = self._batch(request, kind[1]) if len(kind) > 1 else []
            data = OpMsgReply({"cursor": {"id": Int64(kind[2] if len(kind) > 2 else 1),
                                          "ns": "local.oplog.rs", "nextBatch": batch},
                               "ok": 1}).reply_bytes(request)
            request._client.sendall(data[: len(data) // 2])
            return request.hangup()
        raise AssertionError("unknown fault %r" % (kind,))

    def _batch(self, request, after):
        out = []
        for e in self.entries:
            if after is None or ts_key(e["ts"]) > after:
                out.append(e)
                if len(out) == self.batch_size:
                    break
        return out

    def _find(self, request, cmd):
        with self.cond:
            self.finds += 1
            if self._fault(request):
                return True
            flt = cmd.get("filter", {}) or {}
            start = None
            if "ts" in flt:
                cond = flt["ts"]
                assert list(cond) == ["$gte"], cond
                start = ts_key(cond["$gte"])
            batch = []
            order = self.entries
            if (cmd.get("sort") or {}).get("$natural") == -1:
                order = list(reversed(self.entries))   # newest first, as mongod does
            limit = abs(int(cmd.get("limit") or 0))
            for e in order:
                if start is None or ts_key(e["ts"]) >= start:
                    batch.append(e)
                    if len(batch) == (limit or self.batch_size):
                        break
            cid = 0
            if self.entries and cmd.get("tailable") and not limit:
                cid = self.next_cursor
                self.next_cursor += 1
                last = ts_key(batch[-1]["ts"]) if batch else (start[0], start[1] - 1) if start else None
                self.cursors[cid] = {"after": last}
            return request.reply({"cursor": {"id": Int64(cid), "ns": "local.oplog.rs",
                                             "firstBatch": batch}, "ok": 1})

    def _getmore(self, request, cmd):
        cid = int(cmd["getMore"])
        wait = (cmd.get("maxTimeMS") or 1000) / 1000.0
        with self.cond:
            self.getmores += 1
            if self._fault(request):
                self.cursors.pop(cid, None)
                return True
            cur = self.cursors.get(cid)
            if cur is None:
                return request.command_err(code=43, errmsg="cursor id %d not found" % cid)
            deadline = time.time() + wait
            while True:
                after = cur["after"]
                # mongod: the entry the cursor stands on was overwritten -> CappedPositionLost.
                if after is not None and self.entries and ts_key(self.entries[0]["ts"]) > after \
                        and not any(ts_key(e["ts"]) == after for e in self.entries):
                    self.cursors.pop(cid, None)
                    return request.command_err(
                        code=136, errmsg="CollectionScan died due to position in capped "
                                         "collection being deleted")
                batch = self._batch(request, after)
                if batch or time.time() >= deadline or self.faults:
                    break
                self.cond.wait(max(0.0, deadline - time.time()))
            if not batch and self._fault(request):
                self.cursors.pop(cid, None)
                return True
            if batch:
                cur["after"] = ts_key(batch[-1]["ts"])
            return request.reply({"cursor": {"id": Int64(cid), "ns": "local.oplog.rs",
                                             "nextBatch": batch}, "ok": 1})

    def _handle(self, request):
        name = (request.command_name or "").lower() if request.is_command else ""
        cmd = request.doc if request.docs else {}
        self.commands.append((name, cmd))
        if name in ("ismaster", "hello"):
            return self._hello(request)
        if name == "find":
            return self._find(request, cmd)
        if name == "getmore":
            return self._getmore(request, cmd)
        if name in ("killcursors", "endsessions", "ping", "buildinfo"):
            return request.reply({"ok": 1})
        if name in ("applyops", "createindexes"):
            self.apply_count += 1
            if self.apply_count in self.apply_faults:
                code, msg = self.apply_faults[self.apply_count]
                return request.command_err(code=code, errmsg=msg)
            self.applied.append(cmd)
            return request.reply({"ok": 1, "applied": len(cmd.get("applyOps", [])) or 1})
        if name == "listcollections":
            db = request.doc.get("$db", "")
            want = (cmd.get("filter") or {}).get("name")
            batch = [{"name": ns.split(".", 1)[1], "type": "collection", "options": {},
                      "info": {"readOnly": False, "uuid": u}, "idIndex": {}}
                     for ns, u in sorted(self.collections.items())
                     if ns.split(".", 1)[0] == db and want in (None, ns.split(".", 1)[1])]
            return request.reply({"cursor": {"id": Int64(0), "ns": db + ".$cmd.listCollections",
                                             "firstBatch": batch}, "ok": 1})
        if name == "currentop":
            return request.reply({"inprog": [], "fsyncLock": self.fsync_locked, "ok": 1})
        return request.command_err(code=59, errmsg="no such command: %s" % name)


def entry(secs, inc, op="i", ns="test.c", o=None, t=1, **extra):
    """A realistic oplog entry (field order as mongod 6.0/7.0 writes it)."""
    doc = {"op": op, "ns": ns, "ui": bson.Binary(b"\x01" * 16, 4),
           "o": o if o is not None else {"_id": secs * 1000 + inc, "v": "x" * 20}}
    doc.update(extra)
    doc["ts"] = Timestamp(secs, inc)
    doc["t"] = Int64(t)
    doc["v"] = Int64(2)
    doc["wall"] = bson.datetime.datetime.fromtimestamp(secs, bson.datetime.timezone.utc)
    return RawBSONDocument(bson.encode(doc))
