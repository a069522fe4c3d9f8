# SPDX-License-Identifier: Apache-2.0
"""Oplog entries as each mongod line writes them (4.2, 4.4, 5.0, 6.0, 7.0, 8.0), written from the
oplog format of mongod and from what mongorestore does with each entry (mongo-tools'
mongorestore/oplog.go), and a model of that mongorestore replay to compare the tool's with.

Each line's corpus is one second of history (incs 1..N) around a snapshot time T0, restored up to
TS. Every entry is tagged with whether a point-in-time restore to TS must deliver it, so the
expectations are written here, shape by shape, not computed by the code under test:

  - CRUD: insert, update in the line's modifier form ($v: 1 $set up to 4.4, $v: 2 diff from 5.0)
    and in replacement form, delete;
  - retryable writes (lsid, txnNumber, stmtId, prevOpTime chained), the findAndModify pre-image
    (a no-op entry and preImageOpTime up to 4.4, needsRetryImage from 5.0), vectored inserts
    (insertMany: one entry per document; on 8.0 retryable ones are applyOps with multiOpType 1,
    split by prevOpTime, one variant pointing at a CRUD entry, one straddling T0) and 8.0 bulkWrite;
  - transactions: small, large (partialTxn parts) across T0, large committed after TS (left out),
    prepared committed inside, prepared across T0, prepared whose commit entry lies after TS but
    whose commitTimestamp does not (a distributed transaction's shard), prepared and aborted;
  - batched deletes (applyOps without a session, 7.0 and 8.0);
  - DDL: create (options, view), collMod, index builds (createIndexes on 4.2, and from 4.4 on an
    empty collection; startIndexBuild, commitIndexBuild, abortIndexBuild from 4.4),
    dropIndexes, renameCollection (plain, and the $out form with dropTarget naming a UUID),
    convertToCapped, emptycapped (up to 6.0), drop, dropDatabase, dbCheck;
  - time-series collections (5.0+: the buckets collection, its view, bucket inserts and updates)
    and clustered collections (6.0+);
  - recordIdsReplicated collections (8.0: create with the option, inserts carrying rid);
  - config.*: the sharding metadata mongorestore replays (chunks, collections, databases,
    settings, shards, tags, version) and namespaces it skips (system.sessions, transactions,
    image_collection, cache.*);
  - no-ops (periodic, and the ones replica-set reconfigs write).
"""
import bson
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument
from bson.timestamp import Timestamp

S = 1700000000
LINES = ("4.2", "4.4", "5.0", "6.0", "7.0", "8.0")
UUIDS = {}


def uuid(name):
    """A stable collection UUID per name."""
    if name not in UUIDS:
        UUIDS[name] = bson.Binary(bytes([len(UUIDS) + 16]) * 16, 4)
    return UUIDS[name]


def lsid(n):
    return {"id": bson.Binary(bytes([n]) * 16, 4), "uid": bson.Binary(b"\x04" * 32, 0)}


def ver(line):
    return tuple(int(x) for x in line.split("."))


def wall(secs):
    return bson.datetime.datetime.fromtimestamp(secs, bson.datetime.timezone.utc)


def optime(inc, t=1):
    if inc is None:
        return {"ts": Timestamp(0, 0), "t": Int64(-1)}
    return {"ts": Timestamp(S, inc), "t": Int64(t)}


class Corpus:
    """One line's entries, T0, TS and what a restore to TS delivers."""

    def __init__(self, line):
        self.line = line
        self.v = ver(line)
        self.inc = 0
        self.entries = {}      # inc -> RawBSONDocument
        self.want = set()      # incs a restore to TS delivers in the slice
        self.early = []        # incs before T0 a restore delivers first (transaction parts)
        self.late = []         # incs after TS a restore delivers last (prepared commits)
        self.chains = []       # [incs] of every transaction chain a restore to TS applies
        self.later = []        # [incs] of chains committed after TS (whole in an export)
        self.t0 = self.ts = None

    # -- building ------------------------------------------------------------------------------
    def entry(self, op, ns, o, o2=None, ui=True, session=None, stmt=None, prev=False, top=None,
              inner=False, inc=None):
        """An entry in the field order the line writes; inner: an applyOps operation."""
        d = {}
        if inner:
            d["op"], d["ns"] = op, ns
            if ui:
                d["ui"] = uuid(ns) if ui is True else ui
            d["o"] = o
            if o2 is not None:
                d["o2"] = o2
            if stmt is not None:
                d["stmtId"] = stmt
            return d
        if inc is None:
            self.inc += 1
            inc = self.inc
        if self.v >= (4, 4) and session:
            d["lsid"], d["txnNumber"] = lsid(session[0]), Int64(session[1])
        if self.v < (4, 4):
            d["ts"], d["t"], d["h"], d["v"] = Timestamp(S, inc), Int64(1), Int64(0), Int64(2)
            if session:
                d["lsid"], d["txnNumber"] = lsid(session[0]), Int64(session[1])
        d["op"], d["ns"] = op, ns
        if ui:
            d["ui"] = uuid(ns) if ui is True else ui
        if self.v < (4, 4):
            d["wall"] = wall(S)
        d["o"] = o
        if o2 is not None:
            d["o2"] = o2
        if top:
            d.update(top)
        if self.v >= (4, 4):
            d["ts"], d["t"], d["v"], d["wall"] = Timestamp(S, inc), Int64(1), Int64(2), wall(S)
        if stmt is not None:
            d["stmtId"] = stmt
        if prev is not False:
            d["prevOpTime"] = optime(prev)
        self.entries[inc] = RawBSONDocument(bson.encode(d))
        return inc

    def keep(self, inc):
        """inc is in the slice and delivered."""
        self.want.add(inc)
        return inc

    def mark_t0(self):
        self.t0 = self.inc

    def upd(self, _id, field, value):
        if self.v >= (5, 0):
            return {"$v": 2, "diff": {"u": {field: value}}}
        return {"$v": 1, "$set": {field: value}}

    def cmd(self, db, o, o2=None, **kw):
        return self.entry("c", db + ".$cmd", o, o2=o2, ui=kw.pop("ui", False), **kw)

    def txn_entry(self, session, ops, prev, extra=None, inc=None):
        o = {"applyOps": ops}
        if extra:
            o.update(extra)
        return self.entry("c", "admin.$cmd", o, ui=False, session=session, prev=prev, inc=inc)

    def txn_ops(self, coll, base, n=2):
        return [self.entry("i", coll, {"_id": base + j, "t": "txn"}, inner=True) for j in range(n)]


def build(line):
    """The corpus of one line. The layout (incs) differs by line; the tags say what is kept."""
    c = Corpus(line)
    v = c.v
    db = "shop"
    orders = db + ".orders"

    # ---- before T0 (in the snapshot) ----------------------------------------------------------
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    c.entry("i", orders, {"_id": 1, "qty": 1})
    # A large transaction straddling T0: two partialTxn parts before, the commit after.
    big1 = c.txn_entry((1, 5), c.txn_ops(orders, 100), None, {"partialTxn": True})
    big2 = c.txn_entry((1, 5), c.txn_ops(orders, 110), big1, {"partialTxn": True})
    # A prepared transaction straddling T0: prepared before, committed after.
    prep0 = c.txn_entry((2, 3), c.txn_ops(orders, 120), None, {"prepare": True})
    if v >= (8, 0):
        # A retryable insertMany split in two applyOps entries, straddling T0.
        rm1 = c.entry("c", "admin.$cmd", {"applyOps": [
            c.entry("i", orders, {"_id": 130 + j}, inner=True, stmt=j) for j in range(2)]},
            ui=False, session=(3, 1), prev=None, top={"multiOpType": 1})
    c.mark_t0()

    # ---- after T0, up to TS --------------------------------------------------------------------
    c.keep(c.entry("n", "", {"msg": "periodic noop"}, ui=False))
    c.keep(c.entry("i", orders, {"_id": 2, "qty": 2}))
    c.keep(c.entry("u", orders, c.upd(2, "qty", 3), o2={"_id": 2}))
    c.keep(c.entry("u", orders, {"_id": 1, "qty": 9, "replaced": True}, o2={"_id": 1}))
    c.keep(c.entry("d", orders, {"_id": 1}))
    big3 = c.keep(c.txn_entry((1, 5), c.txn_ops(orders, 140), big2, {"count": Int64(6)}))
    c.early += [big1, big2]
    c.chains.append([big1, big2, big3])
    commit0 = c.keep(c.entry("c", "admin.$cmd", {"commitTransaction": 1,
                                                 "commitTimestamp": Timestamp(S, c.inc + 1)},
                             ui=False, session=(2, 3), prev=prep0))
    c.early.append(prep0)
    c.chains.append([prep0, commit0])
    if v >= (8, 0):
        rm2 = c.keep(c.entry("c", "admin.$cmd", {"applyOps": [
            c.entry("i", orders, {"_id": 132 + j}, inner=True, stmt=2 + j) for j in range(2)]},
            ui=False, session=(3, 1), prev=rm1, top={"multiOpType": 1}))

    # Retryable writes: insertMany (one entry per document, chained), findAndModify with image.
    r1 = c.keep(c.entry("i", orders, {"_id": 10}, session=(4, 1), stmt=0, prev=None))
    r2 = c.keep(c.entry("i", orders, {"_id": 11}, session=(4, 1), stmt=1, prev=r1))
    if v >= (5, 0):
        c.keep(c.entry("u", orders, c.upd(10, "qty", 5), o2={"_id": 10}, session=(4, 2), stmt=0,
                       prev=None, top={"needsRetryImage": "preImage"}))
    else:
        pre = c.keep(c.entry("n", orders, {"_id": 10}, session=(4, 2), stmt=0, prev=None))
        c.keep(c.entry("u", orders, c.upd(10, "qty", 5), o2={"_id": 10}, session=(4, 2), stmt=0,
                       prev=None, top={"preImageOpTime": optime(pre)}))
    # Non-retryable insertMany: one entry per document.
    for j in range(3):
        c.keep(c.entry("i", orders, {"_id": 20 + j}))
    if v >= (8, 0):
        # bulkWrite, retryable: inserts batched in applyOps (multiOpType 1), then an update
        # whose prevOpTime names the applyOps; and an applyOps whose prevOpTime names a CRUD entry.
        b1 = c.keep(c.entry("c", "admin.$cmd", {"applyOps": [
            c.entry("i", orders, {"_id": 30 + j}, inner=True, stmt=j) for j in range(3)]},
            ui=False, session=(5, 1), prev=None, top={"multiOpType": 1}))
        c.keep(c.entry("u", orders, c.upd(30, "qty", 1), o2={"_id": 30}, session=(5, 1), stmt=3,
                       prev=b1))
        crud = c.keep(c.entry("i", orders, {"_id": 40}, session=(5, 2), stmt=0, prev=None))
        c.keep(c.entry("c", "admin.$cmd", {"applyOps": [
            c.entry("i", orders, {"_id": 41 + j}, inner=True, stmt=1 + j) for j in range(2)]},
            ui=False, session=(5, 2), prev=crud, top={"multiOpType": 1}))
    # A small transaction.
    sm = c.keep(c.txn_entry((6, 1), c.txn_ops(orders, 200), None))
    # A prepared transaction committed inside.
    p1 = c.keep(c.txn_entry((6, 2), c.txn_ops(orders, 210), None, {"prepare": True}))
    p1c = c.keep(c.entry("c", "admin.$cmd", {"commitTransaction": 1,
                                             "commitTimestamp": Timestamp(S, c.inc + 1)},
                         ui=False, session=(6, 2), prev=p1))
    c.chains.append([p1, p1c])
    # A prepared transaction aborted.
    p2 = c.txn_entry((6, 3), c.txn_ops(orders, 220), None, {"prepare": True})
    c.entry("c", "admin.$cmd", {"abortTransaction": 1}, ui=False, session=(6, 3), prev=p2)
    # A large transaction committed after TS: its parts are left out.
    lt1 = c.txn_entry((7, 1), c.txn_ops(orders, 230), None, {"partialTxn": True})
    # A prepared transaction whose commit entry lies after TS but whose commitTimestamp does not.
    p3 = c.keep(c.txn_entry((8, 1), c.txn_ops(orders, 240), None, {"prepare": True}))
    if v >= (7, 0):
        # Batched deletes: an applyOps without a session.
        c.keep(c.entry("c", "admin.$cmd", {"applyOps": [
            c.entry("d", orders, {"_id": 20 + j}, inner=True) for j in range(2)]}, ui=False))

    # DDL.
    c.keep(c.cmd(db, {"create": "items", "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}},
                 ui=uuid(db + ".items")))
    c.keep(c.entry("i", db + ".items", {"_id": 1}))
    c.keep(c.cmd(db, {"collMod": "items", "validator": {"qty": {"$gte": 0}},
                      "validationLevel": "moderate"}, ui=uuid(db + ".items")))
    c.keep(c.cmd(db, {"create": "v_items", "viewOn": "items", "pipeline": [{"$match": {}}]}))
    if v >= (4, 4):
        spec = {"v": 2, "key": {"qty": 1}, "name": "qty_1"}
        c.keep(c.cmd(db, {"startIndexBuild": "items", "indexBuildUUID": uuid("ib1"),
                          "indexes": [spec]}, ui=uuid(db + ".items")))
        c.keep(c.cmd(db, {"commitIndexBuild": "items", "indexBuildUUID": uuid("ib1"),
                          "indexes": [spec]}, ui=uuid(db + ".items")))
        c.keep(c.cmd(db, {"startIndexBuild": "items", "indexBuildUUID": uuid("ib2"),
                          "indexes": [{"v": 2, "key": {"x": 1}, "name": "x_1"}]},
                     ui=uuid(db + ".items")))
        c.keep(c.cmd(db, {"abortIndexBuild": "items", "indexBuildUUID": uuid("ib2"),
                          "indexes": [{"v": 2, "key": {"x": 1}, "name": "x_1"}],
                          "cause": {"ok": 0, "code": 276, "errmsg": "aborted"}},
                     ui=uuid(db + ".items")))
        # An index on an empty collection is still one createIndexes entry.
        c.keep(c.cmd(db, {"create": "empty"}, ui=uuid(db + ".empty")))
        c.keep(c.cmd(db, {"createIndexes": "empty", "v": 2, "key": {"k": 1}, "name": "k_1"},
                     ui=uuid(db + ".empty")))
    else:
        c.keep(c.cmd(db, {"createIndexes": "items", "v": 2, "key": {"qty": 1}, "name": "qty_1"},
                     ui=uuid(db + ".items")))
    c.keep(c.cmd(db, {"dropIndexes": "items", "index": "qty_1"}, ui=uuid(db + ".items")))
    c.keep(c.cmd(db, {"renameCollection": db + ".items", "to": db + ".goods",
                      "stayTemp": False, "dropTarget": False}, ui=uuid(db + ".items")))
    # $out: a temporary collection renamed over the target, dropTarget naming its UUID.
    tmp = db + ".tmp.agg_out.1"
    c.keep(c.cmd(db, {"create": "tmp.agg_out.1", "temp": True,
                      "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}}, ui=uuid(tmp)))
    c.keep(c.entry("i", tmp, {"_id": "r1"}))
    c.keep(c.cmd(db, {"renameCollection": tmp, "to": db + ".report", "stayTemp": False,
                      "dropTarget": uuid(db + ".report")}, o2={"numRecords": Int64(1)},
                 ui=uuid(tmp)))
    c.keep(c.cmd(db, {"create": "capme"}, ui=uuid(db + ".capme")))
    c.keep(c.cmd(db, {"convertToCapped": "capme", "size": 4096}, ui=uuid(db + ".capme")))
    if v < (7, 0):
        c.keep(c.cmd(db, {"emptycapped": "capme"}, ui=uuid(db + ".capme")))
    c.keep(c.cmd(db, {"drop": "capme"}, o2={"numRecords": Int64(0)}, ui=uuid(db + ".capme")))
    c.keep(c.cmd(db, {"dbCheck": "goods", "type": "batch",
                      "md5": "d41d8cd98f00b204e9800998ecf8427e",
                      "minKey": {"$minKey": 1}, "maxKey": {"$maxKey": 1}, "count": Int64(1)},
                 ui=uuid(db + ".goods")))
    if v >= (5, 0):
        # Time-series: the buckets collection (clustered by _id), its view, bucket writes.
        c.keep(c.cmd("weather", {"create": "system.buckets.w", "validator": {"$jsonSchema": {}},
                                 "clusteredIndex": True,
                                 "timeseries": {"timeField": "t", "metaField": "m",
                                                "granularity": "seconds",
                                                "bucketMaxSpanSeconds": 3600}},
                     ui=uuid("weather.system.buckets.w")))
        c.keep(c.cmd("weather", {"create": "w", "viewOn": "system.buckets.w", "pipeline": [
            {"$_internalUnpackBucket": {"timeField": "t", "metaField": "m",
                                        "bucketMaxSpanSeconds": 3600}}]}))
        c.keep(c.entry("i", "weather.system.buckets.w", {
            "_id": bson.ObjectId(b"\x65" * 12), "control": {"version": 1, "min": {"t": wall(S)},
                                                            "max": {"t": wall(S)}},
            "meta": "a", "data": {"t": {"0": wall(S)}, "x": {"0": 1}}}))
        c.keep(c.entry("u", "weather.system.buckets.w",
                       {"$v": 2, "diff": {"sdata": {"sx": {"i": {"1": 2}}}}},
                       o2={"_id": bson.ObjectId(b"\x65" * 12)}))
    if v >= (6, 0):
        c.keep(c.cmd(db, {"create": "events", "clusteredIndex": {
            "key": {"_id": 1}, "unique": True, "v": 2, "name": "_id_"}},
            ui=uuid(db + ".events")))
        c.keep(c.entry("i", db + ".events", {"_id": 1, "e": "x"}))
    if v >= (8, 0):
        c.keep(c.cmd(db, {"create": "rids", "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
                          "recordIdsReplicated": True}, ui=uuid(db + ".rids")))
        c.keep(c.entry("i", db + ".rids", {"_id": 1}, top={"rid": Int64(1)}))
    # config.*: the seven mongorestore replays, and internal ones it skips.
    for coll, o in (("chunks", {"_id": bson.ObjectId(b"\x01" * 12), "uuid": uuid("shop.orders"),
                                "min": {"_id": {"$minKey": 1}}, "max": {"_id": {"$maxKey": 1}},
                                "shard": "sh1"}),
                    ("collections", {"_id": orders, "key": {"_id": 1}, "unique": False}),
                    ("databases", {"_id": db, "primary": "sh1"}),
                    ("settings", {"_id": "balancer", "stopped": True}),
                    ("shards", {"_id": "sh1", "host": "sh1/127.0.0.1:1", "state": 1}),
                    ("tags", {"_id": bson.ObjectId(b"\x02" * 12), "ns": orders, "tag": "eu"}),
                    ("version", {"_id": 1, "clusterId": bson.ObjectId(b"\x03" * 12)}),
                    ("system.sessions", {"_id": lsid(9), "lastUse": wall(S)}),
                    ("transactions", {"_id": lsid(9), "txnNum": Int64(1)}),
                    ("cache.collections", {"_id": orders})):
        c.keep(c.entry("i", "config." + coll, o))
    if v >= (5, 0):
        c.keep(c.entry("u", "config.image_collection", {"_id": lsid(4), "txnNum": Int64(2),
                                                        "imageKind": "preImage"},
                       o2={"_id": lsid(4)}))
    # Other no-ops mongod writes (a reconfig's).
    c.keep(c.entry("n", "", {"msg": "Reconfig set", "version": 2}, ui=False))
    # Drop the database last.
    c.keep(c.cmd("weather" if v >= (5, 0) else db, {"dropDatabase": 1}))
    c.ts = c.inc

    # ---- after TS -------------------------------------------------------------------------------
    c.entry("i", orders, {"_id": 3})
    p3c = c.entry("c", "admin.$cmd", {"commitTransaction": 1,
                                      "commitTimestamp": Timestamp(S, c.ts)},
                  ui=False, session=(8, 1), prev=p3)
    c.late.append(p3c)
    c.chains.append([p3, p3c])
    ltc = c.entry("c", "admin.$cmd", {"applyOps": c.txn_ops(orders, 250), "count": Int64(4)},
                  ui=False, session=(7, 1), prev=lt1)
    c.later.append([lt1, ltc])
    c.entry("n", "", {"msg": "periodic noop"}, ui=False)
    return c


def delivered(c):
    """The incs a restore to TS delivers, in order."""
    return sorted(c.early) + sorted(c.want) + sorted(c.late)


# ---- mongorestore's replay, as mongo-tools' mongorestore/oplog.go does it ------------------------
CONFIG_KEEP = ("chunks", "collections", "databases", "settings", "shards", "tags", "version")
IGNORED_OPS = ("n", "cd", "ci", "cu", "km")
IGNORED_C = ("startIndexBuild", "abortIndexBuild", "setMultikeyMetadata")


def _ignored_ns(ns):
    if ns.startswith("__mdb_internal"):
        return True
    return ns.startswith("config.") and ns[7:] not in CONFIG_KEEP


def mongorestore_replay(docs, preserve_uuid=False):
    """What mongorestore --oplogReplay applies for a list of decoded oplog entries, as a list of
    (kind, payload): ("applyOps", op) for each applyOps it sends, ("createIndexes", (db, coll,
    [names])) for index builds. Transactions buffer by (lsid, txnNumber) until their commit.
    Differences the tool keeps on purpose: it runs index builds in order (mongorestore defers
    them to the end), and where it strips ui it turns a dropTarget UUID into true."""
    out, buffers = [], {}

    def non_txn(op):
        op = dict(op)
        if not preserve_uuid:
            op.pop("ui", None)
        if op["op"] == "c":
            name = next(iter(op["o"]))
            o = dict(op["o"])
            if name == "create":
                o.pop("recordIdsReplicated", None)
            if name == "renameCollection" and not preserve_uuid and \
                    isinstance(o.get("dropTarget"), bson.Binary):
                o["dropTarget"] = True
            op["o"] = o
            if name == "commitIndexBuild":
                out.append(("createIndexes", (o[name], [i["name"] for i in o["indexes"]])))
                return
            if name == "createIndexes":
                out.append(("createIndexes", (o[name], [o["name"]])))
                return
            if name == "applyOps":
                for inner in o["applyOps"]:
                    handle(inner)
                return
        out.append(("applyOps", {k: v for k, v in op.items()
                                 if k in ("op", "ns", "ui", "o", "o2", "ts", "t", "h", "v", "b")}))

    def handle(op):
        if _ignored_ns(op["ns"]) or op["op"] in IGNORED_OPS:
            return
        if op["op"] == "c" and next(iter(op["o"])) in IGNORED_C:
            return
        o = op.get("o", {})
        is_txn_entry = op["op"] == "c" and "txnNumber" in op and op.get("multiOpType") != 1 and (
            "applyOps" in o or "commitTransaction" in o or "abortTransaction" in o)
        if not is_txn_entry:
            return non_txn(op)
        key = (bytes(op["lsid"]["id"]), int(op["txnNumber"]))
        if "abortTransaction" in o:
            buffers.pop(key, None)
            return
        if "applyOps" in o:
            buffers.setdefault(key, []).extend(o["applyOps"])
            if o.get("partialTxn") or o.get("prepare"):
                return
        for inner in buffers.pop(key, []):
            handle(inner)

    for d in docs:
        handle(d)
    return out


def tool_replay(applied):
    """The tool's replay as the scripted server recorded it, in mongorestore_replay's form."""
    out = []
    for cmd in applied:
        if "applyOps" in cmd:
            assert len(cmd["applyOps"]) == 1, cmd
            out.append(("applyOps", dict(cmd["applyOps"][0])))
        else:
            out.append(("createIndexes", (cmd["createIndexes"],
                                          [i["name"] for i in cmd["indexes"]])))
    return out
