# SPDX-License-Identifier: Apache-2.0
"""Offline reading of an oplog store: list, verify, export. Every fault verify must name (a
missing, reordered, altered, truncated or replaced segment, a missing tail), the export boundaries
(--from and --until are inclusive), and refusals when the master key is wrong or unavailable.
"""
import json
import os
import shutil

import pytest

from oplogutil import entry, read_bson

S = 1700000000
N = 60


@pytest.fixture
def store(tool, oplog_server, tmp_path):
    """Six or so encrypted segments of N entries."""
    oplog_server.append([entry(S, i) for i in range(1, N + 1)])
    st = tmp_path / "store"
    tool.tap_once(oplog_server.uri, st, "--segment-bytes", "1500")
    segs = sorted(st.glob("oplog-*.seg"))
    assert len(segs) >= 5
    return st


def segs(st):
    return sorted(st.glob("oplog-*.seg"))


def verify(tool, st, key=True, check=False):
    return tool.run("oplog", "verify", "--store", st, key=key, check=check)


def verify_json(tool, st):
    p = tool.run("oplog", "verify", "--store", st, "--json", check=False)
    return p.returncode, json.loads(p.stdout) if p.stdout else None, p.stderr


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_list_json_shape(tool, store):
    j = tool.list(store)
    assert j["entries"] == N and j["segments"] == len(segs(store)) and j["gaps"] == []
    assert j["first_ts"] == "%d:1" % S and j["last_ts"] == "%d:%d" % (S, N)
    s0 = j["list"][0]
    for k in ("seq", "file", "kind", "first_ts", "last_ts", "first_ts_time", "entries", "bytes",
              "encryption_key_id", "created", "run"):
        assert k in s0, k
    assert s0["encryption_key_id"].startswith("local:local-")
    assert len({s["run"] for s in j["list"]}) == 1
    text = tool.run("oplog", "list", "--store", store, key=False).stdout
    assert "ENCRYPTION KEY ID" in text and s0["encryption_key_id"] in text


def test_verify_ok(tool, store):
    p = verify(tool, store, check=True)
    assert "OK" in p.stdout
    rc, j, _ = verify_json(tool, store)
    assert rc == 0 and j["ok"] and j["entries"] == N and j["problems"] == []


@pytest.mark.parametrize("where", ["body", "header", "tag"])
def test_altered_segment(tool, store, where):
    victim = segs(store)[2]
    size = victim.stat().st_size
    flip(victim, {"body": size - 40, "header": 40, "tag": size - 3}[where])
    rc, j, _ = verify_json(tool, store)
    assert rc == 4
    assert any(p["seq"] == 3 and victim.name in p["problem"] for p in j["problems"]), j
    r = tool.export(store, store.parent / "o.bson", check=False)
    assert r.returncode == 4 and victim.name in r.stderr, r.stderr
    assert not (store.parent / "o.bson").exists()


def test_truncated_segment(tool, store):
    victim = segs(store)[1]
    data = victim.read_bytes()
    victim.write_bytes(data[:-10])
    rc, j, _ = verify_json(tool, store)
    assert rc == 4
    assert any("truncated" in p["problem"] and victim.name in p["problem"] for p in j["problems"]), j
    victim.write_bytes(data[:30])  # inside the header
    rc, j, _ = verify_json(tool, store)
    assert rc == 4 and any(victim.name in p["problem"] for p in j["problems"]), j
    victim.write_bytes(b"")
    rc, j, _ = verify_json(tool, store)
    assert rc == 4 and any(victim.name in p["problem"] for p in j["problems"]), j


def test_appended_bytes(tool, store):
    victim = segs(store)[1]
    with open(victim, "ab") as f:
        f.write(b"extra")
    rc, j, _ = verify_json(tool, store)
    assert rc == 4 and any("more than its header" in p["problem"] for p in j["problems"]), j


def test_missing_middle_segment(tool, store):
    victim = segs(store)[2]
    victim.unlink()
    rc, j, _ = verify_json(tool, store)
    assert rc == 4
    assert any(p["seq"] == 3 and "segment 3 is missing" in p["problem"] for p in j["problems"]), j
    # list sees it from the headers alone, without a key.
    assert [p["seq"] for p in tool.list(store)["problems"]] == [3]
    r = tool.export(store, store.parent / "o.bson", check=False)
    assert r.returncode == 4 and "missing segment 3" in r.stderr, r.stderr


def test_missing_newest_segment(tool, store):
    last = segs(store)[-1]
    n = len(segs(store))
    last.unlink()
    rc, j, _ = verify_json(tool, store)
    assert rc == 4
    assert any(p["seq"] == n and "oplog.head" in p["problem"] for p in j["problems"]), j
    assert "the newest" in tool.list(store)["problems"][0]["problem"]


def test_missing_head(tool, store):
    (store / "oplog.head").unlink()
    rc, j, _ = verify_json(tool, store)
    assert rc == 4 and any("oplog.head is missing" in p["problem"] for p in j["problems"]), j


def test_reordered_segments(tool, store):
    a, b = segs(store)[1], segs(store)[2]
    tmp = store / "swap"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    rc, j, _ = verify_json(tool, store)
    assert rc == 4
    named = [p for p in j["problems"] if "renamed or reordered" in p["problem"]]
    assert {p["seq"] for p in named} == {2, 3}, j


def test_replaced_segment(tool, oplog_server, store, tmp_path):
    """A segment swapped for a genuine one from another run (same key, same seq, valid tag):
    only the chain can tell, and it does."""
    other = tmp_path / "other"
    tool.tap_once(oplog_server.uri, other, "--segment-bytes", "1500")
    victim = segs(store)[2]
    shutil.copy(segs(other)[2], victim)
    rc, j, _ = verify_json(tool, store)
    assert rc == 4
    assert any(p["seq"] == 4 and "does not follow segment 3" in p["problem"] for p in j["problems"]), j


def test_wrong_key_file(tool, store, tmp_path):
    """verify and export refuse with the local provider's reason: the key file is another key."""
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    for args in (["oplog", "verify", "--store", store],
                 ["oplog", "export", "--store", store, "--out", tmp_path / "o.bson"]):
        p = tool.run(*args, "--key-file", other, key=False, check=False)
        assert p.returncode == 3, p.stderr
        assert "local key file %s is key" % other in p.stderr and "use the original key" in p.stderr
    assert not (tmp_path / "o.bson").exists()


def test_key_unavailable(tool, store, tmp_path):
    """A missing key file, or one others can read, is refused with the reason (exit 3 / 1)."""
    gone = tmp_path / "gone.key"
    p = tool.run("oplog", "verify", "--store", store, "--key-file", gone, key=False, check=False)
    assert p.returncode == 3 and "gone.key" in p.stderr, p.stderr
    loose = tmp_path / "loose.key"
    loose.write_bytes(tool.key.read_bytes())
    loose.chmod(0o644)
    p = tool.run("oplog", "export", "--store", store, "--out", tmp_path / "o.bson",
                 "--key-file", loose, key=False, check=False)
    assert p.returncode != 0 and "chmod 600" in p.stderr, p.stderr


def test_export_boundaries_inclusive(tool, store, oplog_server, tmp_path):
    """--from and --until include the entries at exactly those timestamps; SECS alone means
    SECS:0, so --until SECS stops before every entry of second SECS, like mongorestore's
    exclusive --oplogLimit SECS."""
    got = tool.exported(store, "--from", "%d:10" % S, "--until", "%d:20" % S)
    assert [d["ts"].inc for d in got] == list(range(10, 21))
    got = tool.exported(store, "--from", "%d:20" % S, "--until", "%d:20" % S)
    assert [d["ts"].inc for d in got] == [20]
    # Byte for byte what the server served, in order.
    assert [d.raw for d in tool.exported(store)] == [entry(S, i).raw for i in range(1, N + 1)]
    # Entries in the next second too: --until S+1 (= S+1:0) keeps second S only.
    oplog_server.append([entry(S + 1, i) for i in range(1, 11)])
    tool.tap_once(oplog_server.uri, store)
    out = tmp_path / "o.bson"
    j = json.loads(tool.export(store, out, "--until", "%d" % (S + 1), "--json").stdout)
    assert j["entries"] == N and j["until"] == "%d:0" % (S + 1)
    assert [d["ts"].time for d in read_bson(out)] == [S] * N
    got = tool.exported(store, "--from", "%d" % (S + 1))
    assert [(d["ts"].time, d["ts"].inc) for d in got] == [(S + 1, i) for i in range(1, 11)]
    # An ISO time is that second, increment 0.
    iso = "2023-11-14T22:13:21Z"  # S + 1
    assert len(tool.exported(store, "--until", iso)) == N


def test_export_outside_range_refused(tool, store, tmp_path):
    for args in (["--until", "%d:%d" % (S, N + 1)], ["--from", "%d:0" % S],
                 ["--from", "2001-01-01T00:00:00Z", "--until", "%d:5" % S]):
        p = tool.export(store, tmp_path / "o.bson", *args, check=False)
        assert p.returncode == 6, p.stderr
        assert "outside the range" in p.stderr and "%d:1" % S in p.stderr and \
            "%d:%d" % (S, N) in p.stderr, p.stderr


def test_export_does_not_overwrite(tool, store, tmp_path):
    out = tmp_path / "o.bson"
    out.write_bytes(b"precious")
    p = tool.run("oplog", "export", "--store", store, "--out", out, check=False)
    assert p.returncode == 6 and "refusing to overwrite" in p.stderr
    assert out.read_bytes() == b"precious"


def test_unencrypted_store(tool, oplog_server, tmp_path):
    """--no-encryption: Key ID "Not enabled", no key needed to read, a digest still guards."""
    oplog_server.append([entry(S, i) for i in range(1, 31)])
    st = tmp_path / "plain"
    tool.tap_once(oplog_server.uri, st, "--no-encryption", "--segment-bytes", "1500", key=False)
    j = tool.list(st)
    assert {s["encryption_key_id"] for s in j["list"]} == {"Not enabled"}
    assert verify(tool, st, key=False).returncode == 0
    p = tool.export(st, tmp_path / "p.bson", key=False)
    assert len(read_bson(tmp_path / "p.bson")) == 30
    victim = segs(st)[1]
    flip(victim, victim.stat().st_size - 20)
    p = verify(tool, st, key=False)
    assert p.returncode == 4 and victim.name in p.stderr and "altered" in p.stderr


def test_segments_hold_no_clear_entries(tool, oplog_server, tmp_path):
    """Canary strings written into entries never appear in an encrypted segment."""
    canary = "CANARY-%s" % os.urandom(6).hex()
    oplog_server.append([entry(S, i, o={"_id": i, "secret": canary}) for i in range(1, 21)])
    st = tmp_path / "store"
    tool.tap_once(oplog_server.uri, st)
    for f in st.iterdir():
        assert canary.encode() not in f.read_bytes(), f
    assert canary.encode() in b"".join(d.raw for d in tool.exported(st))


def test_keys_usage_lists_tap_runs(tool, store):
    """keys usage KEY --store OPLOGSTORE names the tap runs whose run key the master key wraps."""
    kid = tool.list(store)["list"][0]["encryption_key_id"].split(":", 1)[1]
    p = tool.run("keys", "usage", kid, "--store", store, "--json", key=False, check=False)
    j = json.loads(p.stdout)
    assert p.returncode == 6 and not j["safe_to_delete"], p.stdout
    runs = [d for d in j["dependents"] if d["kind"] == "oplog"]
    assert len(runs) == 1 and runs[0]["id"].endswith("segments 1-%d" % len(segs(store)))
    p = tool.run("keys", "usage", "local-00000000", "--store", store, key=False, check=False)
    assert p.returncode == 0 and "safe to delete" in p.stdout


def test_leftover_temporary_files(tool, oplog_server, store):
    """Temporary files a crashed tap left behind are not segments: list and verify ignore them,
    and the next tap run removes them."""
    junk = [store / "oplog-000000000099.seg.tmp.4242", store / "oplog.head.tmp.4242"]
    for j in junk:
        j.write_bytes(b"partial")
    assert tool.list(store)["problems"] == []
    assert verify(tool, store).returncode == 0
    tool.tap_once(oplog_server.uri, store)
    assert not any(j.exists() for j in junk)
