# SPDX-License-Identifier: Apache-2.0
"""The oplog tap against a scripted replica-set member (mockupdb): steady tailing, gaps at resume,
CappedPositionLost, a connection torn mid-reply, a step-down, SIGTERM, segment cuts, transactions.

What the tap saved is read back with `oplog export` and compared byte for byte with what the
server served: no gap that is not recorded, no duplicate, nothing rewritten.
"""
import signal
import time

import pytest
from bson.timestamp import Timestamp

from oplogutil import entry, read_bson, ts_of, ts_str

S = 1700000000


def served(server, lo=None, hi=None):
    return [e.raw for e in server.entries
            if (lo is None or ts_of(e) >= lo) and (hi is None or ts_of(e) <= hi)]


def make(n, start=1, secs=S):
    return [entry(secs, i) for i in range(start, start + n)]


def test_steady_tailing_many_getmores(tool, oplog_server, tmp_path, wait_until):
    """Entries arriving in waves while the tap waits on awaitData getMores, across many getMores;
    everything saved once, in order, byte for byte; every find asked for majority reads."""
    store = tmp_path / "store"
    oplog_server.append(make(40))
    tap = tool.start_tap(oplog_server.uri, store, "--segment-bytes", "3K")
    try:
        for wave in range(5):
            wait_until(lambda: oplog_server.getmores > 2 * (wave + 1), what="getMores")
            oplog_server.append(make(60, start=41 + 60 * wave))
        time.sleep(1.0)
    finally:
        rc, out = tap.stop()
    assert rc == 0, out
    assert oplog_server.getmores >= 40, oplog_server.getmores
    got = tool.exported(store)
    assert [d.raw for d in got] == served(oplog_server)
    finds = [c for n, c in oplog_server.commands if n == "find"]
    assert finds and all(f.get("readConcern", {}).get("level") == "majority" for f in finds)
    assert all(f.get("tailable") and f.get("awaitData") for f in finds)
    listing = tool.list(store)
    assert listing["entries"] == 340 and listing["segments"] > 5, listing
    assert tool.run("oplog", "verify", "--store", store).returncode == 0


def test_resume_no_gap_no_duplicate(tool, oplog_server, tmp_path):
    """A restarted tap asks for {ts: {$gte: last saved}}, skips that entry and goes on."""
    store = tmp_path / "store"
    oplog_server.append(make(30))
    tool.tap_once(oplog_server.uri, store)
    oplog_server.append(make(30, start=31))
    p = tool.tap_once(oplog_server.uri, store)
    assert "resuming" in p.stderr and "GAP" not in p.stderr
    last_find = [c for n, c in oplog_server.commands if n == "find"][-1]
    assert last_find["filter"] == {"ts": {"$gte": Timestamp(S, 30)}}
    assert [d.raw for d in tool.exported(store)] == served(oplog_server)
    assert tool.list(store)["gaps"] == []


def test_gap_at_resume(tool, oplog_server, tmp_path):
    """The oplog rolled over while the tap was stopped: a durable gap marker, loud on stderr,
    then tailing from the oldest entry left. Restore/export across the gap is refused."""
    store = tmp_path / "store"
    oplog_server.append(make(50))
    tool.tap_once(oplog_server.uri, store)
    oplog_server.append(make(100, start=51))
    oplog_server.truncate_before(Timestamp(S, 80))   # 51..79 were never read
    p = tool.tap_once(oplog_server.uri, store)
    assert "GAP IN THE SAVED OPLOG" in p.stderr
    assert "1700000000:50" in p.stderr and "1700000000:80" in p.stderr
    listing = tool.list(store)
    assert len(listing["gaps"]) == 1
    gap = listing["gaps"][0]
    assert (gap["gap_from"], gap["gap_to"]) == ("1700000000:50", "1700000000:80")
    # The whole store, through the gap, only when asked to (and with a warning).
    r = tool.export(store, tmp_path / "all.bson", check=False)
    assert r.returncode == 6 and "gap from 1700000000:50" in r.stderr, r.stderr
    r = tool.export(store, tmp_path / "all.bson", "--across-gaps")
    assert "crosses 1 recorded gap" in r.stderr
    got = [d.raw for d in read_bson(tmp_path / "all.bson")]
    assert got == [e.raw for e in make(50)] + served(oplog_server)
    # Across the gap: refused, with the gap named (exit 6).
    r = tool.export(store, tmp_path / "x.bson", "--from", "1700000000:40", "--until",
                    "1700000000:90", check=False)
    assert r.returncode == 6, r.stderr
    assert "gap from 1700000000:50" in r.stderr and "1700000000:80" in r.stderr
    # Either side of it: fine (the entry at 80 is the first after the gap and was saved).
    assert len(tool.exported(store, "--until", "1700000000:50")) == 50
    assert len(tool.exported(store, "--from", "1700000000:80")) == 71
    # A gap is a recorded fact, not damage: verify passes.
    assert tool.run("oplog", "verify", "--store", store).returncode == 0


def test_capped_position_lost_while_tailing(tool, oplog_server, tmp_path, wait_until):
    """The server deletes the cursor's position during a getMore: CappedPositionLost (136). The
    tap saves what it read, re-reads from its position, finds it gone and records the gap."""
    store = tmp_path / "store"
    oplog_server.append(make(20))
    tap = tool.start_tap(oplog_server.uri, store)
    try:
        wait_until(lambda: oplog_server.getmores >= 3, what="tap caught up")
        oplog_server.truncate_before(Timestamp(S, 40))
        oplog_server.append(make(40, start=40))
        tap.wait_for("GAP IN THE SAVED OPLOG")
        tap.wait_for("gap recorded")
        time.sleep(0.8)
    finally:
        rc, out = tap.stop()
    assert rc == 0, out
    assert "CappedPositionLost" in out
    gaps = tool.list(store)["gaps"]
    assert [(g["gap_from"], g["gap_to"]) for g in gaps] == [("1700000000:20", "1700000000:40")]
    assert [d.raw for d in tool.exported(store, "--across-gaps")] == \
        [e.raw for e in make(20)] + served(oplog_server)


def test_capped_position_lost_without_loss(tool, oplog_server, tmp_path, wait_until):
    """A CappedPositionLost whose position still exists when re-read records no gap."""
    store = tmp_path / "store"
    oplog_server.append(make(20))
    tap = tool.start_tap(oplog_server.uri, store)
    try:
        wait_until(lambda: oplog_server.getmores >= 3, what="tap caught up")
        oplog_server.inject("error", 136, "CollectionScan died due to position in capped "
                                          "collection being deleted")
        oplog_server.append(make(20, start=21))
        time.sleep(1.5)
    finally:
        rc, out = tap.stop()
    assert rc == 0, out
    assert "CappedPositionLost" in out and "GAP" not in out
    assert tool.list(store)["gaps"] == []
    assert [d.raw for d in tool.exported(store)] == served(oplog_server)


def test_disconnect_mid_batch(tool, oplog_server, tmp_path, wait_until):
    """The connection drops halfway through a getMore reply (and, once more, before a reply):
    the tap reconnects with backoff and resumes from the last entry it received, with neither
    a duplicate nor a gap."""
    store = tmp_path / "store"
    oplog_server.append(make(30))
    tap = tool.start_tap(oplog_server.uri, store)
    try:
        wait_until(lambda: oplog_server.getmores >= 3, what="tap caught up")
        oplog_server.inject("hangup_mid_reply", (S, 30))
        oplog_server.append(make(30, start=31))
        tap.wait_for("reconnecting")
        oplog_server.inject("hangup")
        oplog_server.append(make(30, start=61))
        # The driver may retry a find torn this way by itself (retryable reads): either way
        # the fault is consumed and nothing is lost or repeated.
        wait_until(lambda: not oplog_server.faults, what="second fault consumed")
        time.sleep(1.5)
    finally:
        rc, out = tap.stop()
    assert rc == 0, out
    assert "GAP" not in out
    assert [d.raw for d in tool.exported(store)] == served(oplog_server)


def test_step_down(tool, oplog_server, tmp_path, wait_until):
    """A primary step-down: the getMore fails with NotWritablePrimary, hello says secondary for
    a while; the tap reconnects with backoff and continues with no gap and no duplicate."""
    store = tmp_path / "store"
    oplog_server.append(make(25))
    tap = tool.start_tap(oplog_server.uri, store)
    try:
        wait_until(lambda: oplog_server.getmores >= 3, what="tap caught up")
        oplog_server.step_down(1.5)
        oplog_server.append(make(25, start=26))
        tap.wait_for("error 10107")
        oplog_server.append(make(25, start=51))
        time.sleep(2.5)
    finally:
        rc, out = tap.stop()
    assert rc == 0, out
    assert "GAP" not in out
    assert [d.raw for d in tool.exported(store)] == served(oplog_server)


def test_sigterm_flushes_open_segment(tool, oplog_server, tmp_path, wait_until):
    """Entries in the open segment (not yet due by size or time) are written on SIGTERM; exit 0."""
    store = tmp_path / "store"
    oplog_server.append(make(15))
    tap = tool.start_tap(oplog_server.uri, store, "--segment-seconds", "3600")
    try:
        wait_until(lambda: oplog_server.getmores >= 2, what="tap caught up")
        assert not list(store.glob("oplog-*.seg"))
    finally:
        rc, out = tap.stop(signal.SIGTERM)
    assert rc == 0, out
    assert "saved segment 1: 15 entries" in out
    assert [d.raw for d in tool.exported(store)] == served(oplog_server)


def test_segments_cut_by_time(tool, oplog_server, tmp_path, wait_until):
    """With --segment-seconds 1 a quiet tap still cuts the segment a second after its first
    entry; entries written later go into later segments."""
    store = tmp_path / "store"
    tap = tool.start_tap(oplog_server.uri, store, "--segment-seconds", "1")
    try:
        for wave in range(3):
            oplog_server.append(make(5, start=1 + 5 * wave))
            wait_until(lambda: len(list(store.glob("oplog-*.seg"))) >= wave + 1, timeout=10,
                       what="segment %d cut by time" % (wave + 1))
    finally:
        rc, out = tap.stop()
    assert rc == 0, out
    listing = tool.list(store)
    assert [s["entries"] for s in listing["list"]] == [5, 5, 5]


def test_segments_cut_by_size(tool, oplog_server, tmp_path):
    """--segment-bytes cuts when a segment's entries reach the size."""
    store = tmp_path / "store"
    oplog_server.append(make(100))
    tool.tap_once(oplog_server.uri, store, "--segment-bytes", "1500")
    listing = tool.list(store)
    sizes = [s["entries"] for s in listing["list"]]
    one = len(make(1)[0].raw)
    per = -(-1500 // one)
    assert sum(sizes) == 100 and all(n == per for n in sizes[:-1]), sizes


def test_large_and_prepared_transactions_kept_byte_for_byte(tool, oplog_server, tmp_path):
    """A large transaction (partialTxn applyOps chain linked by prevOpTime) and a prepared one
    (prepare + commitTransaction) are saved exactly as served."""
    from txn_entries import large_txn, prepared_txn
    store = tmp_path / "store"
    docs = make(3) + large_txn(S, 4, parts=3) + prepared_txn(S, 8) + make(2, start=20)
    oplog_server.append(docs)
    tool.tap_once(oplog_server.uri, store)
    assert [d.raw for d in tool.exported(store)] == [d.raw for d in docs]


def test_second_tap_on_a_store_is_refused(tool, oplog_server, tmp_path, wait_until):
    store = tmp_path / "store"
    oplog_server.append(make(5))
    tap = tool.start_tap(oplog_server.uri, store)
    try:
        wait_until(lambda: oplog_server.getmores >= 1, what="first tap running")
        p = tool.tap_once(oplog_server.uri, store, check=False)
        assert p.returncode == 6, p.stderr
        assert "in use by another tap" in p.stderr
    finally:
        tap.stop()


def test_not_a_replica_set(tool, oplog_server, tmp_path):
    oplog_server.set_name = None
    orig = oplog_server._hello

    def hello(request):
        return request.reply({"ismaster": True, "isWritablePrimary": True, "minWireVersion": 0,
                              "maxWireVersion": 17, "ok": 1})
    oplog_server._hello = hello
    p = tool.tap_once(oplog_server.uri, tmp_path / "store", check=False)
    oplog_server._hello = orig
    assert p.returncode == 2, p.stderr
    assert "not a replica-set member" in p.stderr


def test_one_replica_set_per_store(tool, oplog_server, tmp_path):
    """Segments name the replica set tapped; a tap that resumes a store against a member of
    another replica set is refused, naming both."""
    oplog_server.append([entry(S, i) for i in range(1, 6)])
    store = tmp_path / "store"
    tool.tap_once(oplog_server.uri, store)
    for seg in sorted(store.glob("oplog-*.seg")):
        raw = seg.read_bytes()
        assert b"\x02rs\x00\x04\x00\x00\x00rs0\x00" in raw, seg
    oplog_server.set_name = "rs1"
    p = tool.tap_once(oplog_server.uri, store, check=False)
    assert p.returncode == 2, p.stderr
    assert "replica set rs1" in p.stderr and "replica set rs0" in p.stderr, p.stderr


def test_start_latest_and_start_ts(tool, oplog_server, tmp_path):
    """An empty store starts at the newest entry (--start latest) or at a given time (--start
    TS) instead of the oldest; every read, including the one that finds the newest, is a
    majority read."""
    oplog_server.append(make(20))
    latest = tmp_path / "latest"
    tool.tap_once(oplog_server.uri, latest, "--start", "latest")
    oplog_server.append(make(10, start=21))
    tool.tap_once(oplog_server.uri, latest, "--start", "latest")  # resumes: --start ignored
    assert [d["ts"].inc for d in tool.exported(latest)] == list(range(20, 31))
    finds = [c for n, c in oplog_server.commands if n == "find"]
    assert all(f.get("readConcern", {}).get("level") == "majority" for f in finds), finds
    at = tmp_path / "at"
    tool.tap_once(oplog_server.uri, at, "--start", "%d:12" % S)
    assert [d["ts"].inc for d in tool.exported(at)] == list(range(12, 31))


def test_uri_password_never_on_the_command_line(tool, oplog_server, tmp_path):
    """A password in --uri is refused (every user sees command lines) without echoing it;
    --uri-file takes the URI from a private file; a file others can read is refused."""
    oplog_server.append(make(5))
    secret = "pw-%s" % time.monotonic_ns()
    uri = "mongodb://tapuser:%s@127.0.0.1:%d/?directConnection=true" % (secret, oplog_server.port)
    p = tool.run("oplog", "tap", "--uri", uri, "--store", tmp_path / "s", "--once",
                 check=False)
    assert p.returncode == 2 and "--uri-file" in p.stderr and secret not in p.stderr, p.stderr
    loose = tmp_path / "uri-loose"
    loose.write_text(uri + "\n")
    loose.chmod(0o644)
    p = tool.run("oplog", "tap", "--uri-file", loose, "--store", tmp_path / "s", "--once",
                 check=False)
    assert p.returncode != 0 and "chmod 600" in p.stderr and secret not in p.stderr, p.stderr
    good = tmp_path / "uri"
    good.write_text(oplog_server.uri + "\n")
    good.chmod(0o600)
    tool.run("oplog", "tap", "--uri-file", good, "--store", tmp_path / "s", "--once",
             "--await-ms", 200)
    assert len(tool.exported(tmp_path / "s")) == 5
    assert not (tmp_path / "s" / "tap.lock").read_bytes()


def test_kill_9_then_resume(tool, oplog_server, tmp_path, wait_until):
    """A tap killed with SIGKILL loses only its open segment, which is still in the server's
    oplog: the next run resumes after the last durable segment, no gap, no duplicate."""
    store = tmp_path / "store"
    oplog_server.append(make(200))
    tap = tool.start_tap(oplog_server.uri, store, "--segment-bytes", "2K")
    try:
        wait_until(lambda: len(list(store.glob("oplog-*.seg"))) >= 3, what="some segments")
        oplog_server.append(make(100, start=201))
        time.sleep(0.3)
    finally:
        tap.stop(signal.SIGKILL)
    oplog_server.append(make(50, start=301))
    p = tool.tap_once(oplog_server.uri, store, "--segment-bytes", "2K")
    assert "GAP" not in p.stderr
    assert [d.raw for d in tool.exported(store)] == served(oplog_server)
    assert tool.run("oplog", "verify", "--store", store).returncode == 0
