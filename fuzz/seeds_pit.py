#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""seeds_pit.py -- write the seeds of the pit target (fuzz/fuzz_pit.c) from the oplog test
corpus: each mongod line's history of tests/oplog/oplog_corpus.py (restored from its T0 to its
TS, or exported), and the transactions of tests/oplog/txn_entries.py. Needs pymongo's bson (the
project's test environment).

    python fuzz/seeds_pit.py          (files go to fuzz/corpus/pit/, replaced)

Input layout (fuzz_pit.c): u8 flags, u8 segment size, u8 after, u8 until, then the entries.
"""
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "oplog"))

import oplog_corpus  # noqa: E402
import txn_entries as tx  # noqa: E402

EXPORT, KEEP, STRIP = 1, 1 << 1, 2 << 1
S = 1700000000


def seed(flags, seg, after, until, docs):
    return bytes([flags, seg, after, until]) + b"".join(d.raw for d in docs)


def fail_at(n):
    return n << 3


def lines():
    out = {}
    modes = {"4.2": (EXPORT, 8), "4.4": (0, 4), "6.0": (STRIP | fail_at(7), 16), "8.0": (0, 2)}
    for line, (flags, seg) in modes.items():
        c = oplog_corpus.build(line)
        incs = sorted(c.entries)
        docs = [c.entries[i] for i in incs]
        out["line_%s_%s" % (line, "export" if flags & EXPORT else "restore")] = seed(
            flags, seg, incs.index(c.t0), incs.index(c.ts), docs)
    return out


def txns():
    pre = [tx._raw({"op": "n", "ns": "", "o": {"msg": "periodic noop"},
                    "ts": tx.Timestamp(S, 1), "t": tx.Int64(1), "v": tx.Int64(2)})]
    small = tx.small_txn(S, 2)
    large = tx.large_txn(S, 3, parts=4)
    prepared = tx.prepared_txn(S, 8, commit_gap=2)
    aborted = tx.prepared_txn(S, 12, txn=4, abort=True)
    # A chain begun before the restore's start (after = index 1), spread over segments.
    early = tx.chain(S, [2, 4, 6], 300, 5)
    # A prepared transaction whose commit entry is past the target, its commitTimestamp not.
    noop = lambda inc: tx._raw({"op": "n", "ns": "", "o": {"msg": "periodic noop"},
                                "ts": tx.Timestamp(S, inc), "t": tx.Int64(1), "v": tx.Int64(2)})
    commit = tx.end_prepared(S, 5, 2, 6)
    d = tx.bson.decode(commit.raw)
    d["o"]["commitTimestamp"] = tx.Timestamp(S, 3)
    late = [tx.chain(S, [2], 400, 6, prepare=True)[0], noop(3), noop(4), tx._raw(d)]
    return {
        "txn_small_restore": seed(0, 1, 0, 1, pre + small),
        "txn_large_restore": seed(KEEP, 2, 0, 4, pre + large),
        "txn_prepared_restore": seed(0, 4, 0, 4, pre + prepared + aborted),
        "txn_early_parts_restore": seed(0, 1, 1, 3, pre + early),
        "txn_early_parts_export": seed(EXPORT, 1, 1, 3, pre + early),
        "txn_late_commit_restore": seed(0, 1, 0, 2, pre + late),
        "txn_fail_part_way": seed(STRIP | fail_at(3), 2, 0, 4, pre + large),
    }


def regress():
    """Inputs the pit target found: a prevOpTime chain running forward (two parts naming each
    other: the planner looped, its list growing without end) and a part two commits name
    (applied twice, or with one commit only). Both are refused as damage now."""
    noop = lambda inc: tx._raw({"op": "n", "ns": "", "o": {"msg": "x"},
                                "ts": tx.Timestamp(S, inc), "t": tx.Int64(1), "v": tx.Int64(2)})
    ops = [tx._inner("i", "test.t", 1)]
    cycle = [noop(1), tx._txn_entry(S, 2, ops, (S, 3), 5, {"partialTxn": True}),
             tx._txn_entry(S, 3, ops, (S, 2), 5, {"partialTxn": True}),
             tx._txn_entry(S, 4, ops, (S, 3), 5, {"count": tx.Int64(3)})]
    shared = [noop(1), tx._txn_entry(S, 2, ops, (0, 0), 5, {"partialTxn": True}),
              tx._txn_entry(S, 3, ops, (S, 2), 5, {"count": tx.Int64(2)}),
              tx._txn_entry(S, 4, ops, (S, 2), 6, {"count": tx.Int64(2)})]
    return {
        "regress_chain_cycle": seed(0, 1, 0, 3, cycle),
        "regress_chain_cycle_early": seed(EXPORT, 1, 2, 3, cycle),
        "regress_part_shared": seed(0, 1, 0, 3, shared),
        "regress_part_shared_early": seed(0, 1, 1, 3, shared),
    }


def main():
    d = os.path.join(TOP, "fuzz", "corpus", "pit")
    os.makedirs(d, exist_ok=True)
    seeds = {}
    seeds.update(lines())
    seeds.update(txns())
    seeds.update(regress())
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)
    print("pit: %d seeds" % len(seeds))


if __name__ == "__main__":
    main()
