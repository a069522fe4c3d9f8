# SPDX-License-Identifier: Apache-2.0
"""wtkms pit restore: a snapshot (with its consistent oplog time T0) plus the saved oplog after T0
up to and including TS, written as oplog.bson and/or replayed with applyOps into a running server
(the scripted one here, which records what it is asked to apply; jstests/ does it against a real
mongod). Transactions apply only at their commit and only if the commit is <= TS, including one
whose first parts were written before T0.
"""
import json

import bson
import pytest
from bson.timestamp import Timestamp

from oplogutil import entry, read_bson
from txn_entries import chain, end_prepared

S = 1700000000
T0 = 30
TS = 38


def upd(inc, _id):
    return entry(S, inc, op="u", o={"$v": 2, "diff": {"u": {"state": "paid-%d" % inc}}},
                 o2={"_id": _id})


def timeline():
    """inc -> entry; see the module docstring of txn_entries for the shapes."""
    e = {i: entry(S, i) for i in range(1, 21)}
    e.update(zip((21,), chain(S, [21], 900, txn=1)))            # small txn, before T0
    e.update(zip((28, 29, 33), chain(S, [28, 29, 33], 100, txn=2)))  # large, straddles T0
    e[30] = entry(S, 30)                                         # T0 itself (in the snapshot)
    e[31] = entry(S, 31)
    e.update(zip((32,), chain(S, [32], 200, txn=3, prepare=True)))   # prepared ...
    e[36] = end_prepared(S, 36, 32, txn=3)                       # ... committed at 36 <= TS
    e.update(zip((34, 40), chain(S, [34, 40], 300, txn=4)))       # commits after TS: left out
    e.update(zip((35,), chain(S, [35], 400, txn=5, prepare=True)))   # prepared ...
    e[37] = end_prepared(S, 37, 35, txn=5, abort=True)           # ... aborted
    e[38] = upd(38, 5)
    e[39] = entry(S, 39, op="d", o={"_id": 6})
    e[41] = entry(S, 41)
    return dict(sorted(e.items()))


@pytest.fixture
def pit(tool, oplog_server, tmp_path):
    """A snapshot of a small home taken at oplog time S:T0, and an oplog store around it."""
    line = tool.line
    home = tmp_path / "home"
    home.mkdir()
    line.run([line.wt, "-h", home, "-C", "create", "create", "-c",
              "key_format=S,value_format=S", "table:t"])
    line.run([line.wt, "-h", home, "write", "table:t", "a", "1", "b", "2"])
    snaps = tmp_path / "snaps"
    sid = json.loads(tool.run("snapshot", "create", "--home", home, "--store", snaps,
                              "--oplog-ts", "%d:%d" % (S, T0), "--json").stdout)["id"]
    ents = timeline()
    oplog_server.append(list(ents.values()))
    ostore = tmp_path / "oplog"
    tool.tap_once(oplog_server.uri, ostore, "--segment-bytes", "2K")
    return {"sid": sid, "snaps": snaps, "ostore": ostore, "entries": ents, "home": home}


def restore(tool, pit, until, *extra, check=True, key=True):
    return tool.run("pit", "restore", "--snapshot", pit["sid"], "--store", pit["snaps"],
                    "--oplog-store", pit["ostore"], "--until", until, *extra, check=check,
                    key=key)


def test_restore_writes_oplog_slice(tool, pit, tmp_path):
    to = tmp_path / "restored"
    p = restore(tool, pit, "%d:%d" % (S, TS), "--to", to, "--json")
    j = json.loads(p.stdout)
    assert j["snapshot_ts"] == "%d:%d" % (S, T0) and j["until"] == "%d:%d" % (S, TS)
    got = read_bson(to.parent / "restored-oplog" / "oplog.bson")
    want = [28, 29, 31, 32, 33, 36, 38]
    assert [d["ts"].inc for d in got] == want
    assert [d.raw for d in got] == [pit["entries"][i].raw for i in want]   # byte for byte
    assert j["entries"] == len(want) and j["transaction_entries_left_out"] == 2
    # The snapshot itself was restored: the table reads back.
    dump = tool.line.run([tool.line.wt, "-h", to, "dump", "table:t"]).stdout
    assert "Data\na\\00\n1\\00\nb\\00\n2\\00" in dump


def test_until_is_inclusive_and_moves_commits(tool, pit, tmp_path):
    """At TS = 35 the prepared transaction (commit 36) is not applied; at 36 it is."""
    for until, want in (("%d:35" % S, [28, 29, 31, 33]), ("%d:36" % S, [28, 29, 31, 32, 33, 36]),
                        ("%d:40" % S, [28, 29, 31, 32, 33, 34, 36, 38, 39, 40])):
        to = tmp_path / ("r-" + until.replace(":", "-"))
        restore(tool, pit, until, "--to", to)
        got = read_bson(to.parent / (to.name + "-oplog") / "oplog.bson")
        assert [d["ts"].inc for d in got] == want, until


def test_replay_into_target(tool, pit, oplog_server):
    """--target: each operation applied with applyOps (no ui on a rebuilt target, o untouched);
    transactions at
    their commit; createIndexes et al. as commands."""
    oplog_server.applied.clear()
    # A rebuilt target: its test.c has a UUID of its own, so ui is stripped (as mongorestore).
    oplog_server.collections = {"test.c": bson.Binary(b"\xee" * 16, 4)}
    p = restore(tool, pit, "%d:%d" % (S, TS), "--target", oplog_server.uri, "--json")
    j = json.loads(p.stdout)
    assert j["replayed"]["transactions"] == 2 and j["replayed"]["uuids"] == "stripped"
    ops = []
    for cmd in oplog_server.applied:
        assert list(cmd)[0] == "applyOps" and len(cmd["applyOps"]) == 1, cmd
        op = cmd["applyOps"][0]
        assert "ui" not in op and "lsid" not in op and "txnNumber" not in op
        ops.append(op)
    ents = {i: bson.decode(e.raw) for i, e in pit["entries"].items()}

    def inner(i):
        return ents[i]["o"]["applyOps"]
    expected = [ents[31]] + inner(28) + inner(29) + inner(33) + inner(32) + [ents[38]]
    assert [(o["op"], o["ns"], o["o"]) for o in ops] == \
        [(e["op"], e["ns"], e["o"]) for e in expected]
    assert ops[-1]["o"] == {"$v": 2, "diff": {"u": {"state": "paid-38"}}}   # never rewritten
    assert j["replayed"]["applied"] == len(expected)


def test_refusals(tool, pit, oplog_server, tmp_path):
    # Before the snapshot's time.
    p = restore(tool, pit, "%d:%d" % (S, T0 - 1), "--to", tmp_path / "a", check=False)
    assert p.returncode == 6 and "before snapshot" in p.stderr, p.stderr
    # After the last saved entry.
    p = restore(tool, pit, "%d:50" % S, "--to", tmp_path / "b", check=False)
    assert p.returncode == 6 and "outside the range" in p.stderr and "%d:41" % S in p.stderr
    assert not (tmp_path / "b").exists() and not (tmp_path / "b-oplog").exists()
    # Wrong key: the snapshot and the segments are refused with the provider's reason.
    other = tmp_path / "other.key"
    other.write_bytes(b"\x07" * 32)
    other.chmod(0o600)
    p = restore(tool, pit, "%d:%d" % (S, TS), "--to", tmp_path / "c", "--key-file", other,
                key=False, check=False)
    assert p.returncode == 3 and "use the original key file" in p.stderr, p.stderr
    assert not (tmp_path / "c").exists()


def test_refuses_a_time_inside_a_gap(tool, pit, oplog_server, tmp_path):
    """Entries lost to a rollover (a recorded gap) make every time past the gap unreachable
    from this snapshot; the gap is named."""
    oplog_server.append([entry(S, i) for i in range(42, 60)])
    oplog_server.truncate_before(Timestamp(S, 50))
    # The server rolled over before the tap came back: 42..49 are lost.
    tool.tap_once(oplog_server.uri, pit["ostore"])
    for until in ("%d:45" % S, "%d:55" % S):
        p = restore(tool, pit, until, "--to", tmp_path / until.replace(":", "-"), check=False)
        assert p.returncode == 6, p.stderr
        assert "gap from %d:41" % S in p.stderr and "%d:50" % S in p.stderr, p.stderr
    # Up to the last entry before the gap still works.
    restore(tool, pit, "%d:41" % S, "--to", tmp_path / "ok")


def test_snapshot_without_oplog_time(tool, pit, tmp_path):
    snaps = tmp_path / "snaps2"
    sid = json.loads(tool.run("snapshot", "create", "--home", pit["home"], "--store", snaps,
                              "--json").stdout)["id"]
    p = tool.run("pit", "restore", "--snapshot", sid, "--store", snaps, "--oplog-store",
                 pit["ostore"], "--until", "%d:35" % S, "--to", tmp_path / "x", check=False)
    assert p.returncode == 6 and "records no oplog timestamp" in p.stderr, p.stderr
