# SPDX-License-Identifier: Apache-2.0
"""Transaction oplog entries as mongod writes them (4.2+): a small one (one applyOps), a large one
(applyOps with partialTxn: true linked by prevOpTime, then the committing applyOps), a prepared
one (applyOps with prepare: true, then commitTransaction), and an aborted prepared one."""
import bson
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument
from bson.timestamp import Timestamp

UI = bson.Binary(b"\x02" * 16, 4)
LSID = {"id": bson.Binary(b"\x03" * 16, 4), "uid": bson.Binary(b"\x04" * 32, 0)}


def _raw(doc):
    return RawBSONDocument(bson.encode(doc))


def _inner(op, ns, _id, extra=None):
    d = {"op": op, "ns": ns, "ui": UI, "o": {"_id": _id, "v": "txn-%d" % _id}}
    if op == "u":
        d["o"] = {"$v": 2, "diff": {"u": {"v": "upd-%d" % _id}}}
        d["o2"] = {"_id": _id}
    if extra:
        d.update(extra)
    return d


def _txn_entry(secs, inc, ops, prev, txn, extra_o=None):
    o = {"applyOps": ops}
    if extra_o:
        o.update(extra_o)
    return _raw({"lsid": LSID, "txnNumber": Int64(txn), "op": "c", "ns": "admin.$cmd", "o": o,
                 "ts": Timestamp(secs, inc), "t": Int64(1), "v": Int64(2),
                 "wall": bson.datetime.datetime.fromtimestamp(secs, bson.datetime.timezone.utc),
                 "prevOpTime": {"ts": Timestamp(*prev), "t": Int64(1 if prev != (0, 0) else -1)}})


def small_txn(secs, inc, base=500, txn=1):
    return [_txn_entry(secs, inc, [_inner("i", "test.t", base), _inner("i", "test.t", base + 1)],
                       (0, 0), txn)]


def large_txn(secs, inc, parts=3, base=100, txn=2):
    """parts entries: parts-1 partialTxn entries and the committing one, at inc, inc+1, ..."""
    out, prev = [], (0, 0)
    for k in range(parts):
        last = k == parts - 1
        ops = [_inner("i", "test.t", base + 10 * k + j) for j in range(3)]
        out.append(_txn_entry(secs, inc + k, ops, prev, txn,
                              None if last else {"partialTxn": True} if not last else None)
                   if not last else
                   _txn_entry(secs, inc + k, ops, prev, txn, {"count": Int64(3 * parts)}))
        prev = (secs, inc + k)
    return out


def prepared_txn(secs, inc, base=200, txn=3, commit_gap=2, abort=False):
    """prepare at inc, then commitTransaction (or abortTransaction) at inc + commit_gap."""
    prep = _txn_entry(secs, inc, [_inner("i", "test.t", base), _inner("u", "test.t", base)],
                      (0, 0), txn, {"prepare": True})
    end = {"abortTransaction": 1} if abort else \
        {"commitTransaction": 1, "commitTimestamp": Timestamp(secs, inc + commit_gap)}
    fin = _raw({"lsid": LSID, "txnNumber": Int64(txn), "op": "c", "ns": "admin.$cmd", "o": end,
                "ts": Timestamp(secs, inc + commit_gap), "t": Int64(1), "v": Int64(2),
                "wall": bson.datetime.datetime.fromtimestamp(secs, bson.datetime.timezone.utc),
                "prevOpTime": {"ts": Timestamp(secs, inc), "t": Int64(1)}})
    return [prep, fin]


def chain(secs, incs, base, txn, prepare=False):
    """A transaction whose entries sit at the given increments (not necessarily adjacent): all
    but the last are partialTxn parts; the last commits (or, with prepare, prepares)."""
    out, prev = [], (0, 0)
    for k, inc in enumerate(incs):
        ops = [_inner("i", "test.t", base + 10 * k + j) for j in range(2)]
        if k < len(incs) - 1:
            extra = {"partialTxn": True}
        elif prepare:
            extra = {"prepare": True}
        else:
            extra = {"count": Int64(2 * len(incs))}
        out.append(_txn_entry(secs, inc, ops, prev, txn, extra))
        prev = (secs, inc)
    return out


def end_prepared(secs, inc, prepare_inc, txn, abort=False):
    end = {"abortTransaction": 1} if abort else \
        {"commitTransaction": 1, "commitTimestamp": Timestamp(secs, inc)}
    return _raw({"lsid": LSID, "txnNumber": Int64(txn), "op": "c", "ns": "admin.$cmd", "o": end,
                 "ts": Timestamp(secs, inc), "t": Int64(1), "v": Int64(2),
                 "wall": bson.datetime.datetime.fromtimestamp(secs, bson.datetime.timezone.utc),
                 "prevOpTime": {"ts": Timestamp(secs, prepare_inc), "t": Int64(1)}})
