# SPDX-License-Identifier: Apache-2.0
"""Someone who can write to an oplog store but holds no key: files only. With a master key
configured, verify, export and pit restore must notice a cut tail (the newest segment deleted and
oplog.head recomputed), a segment downgraded to `cipher: none` at any position, a forged segment
appended with a recomputed head, a replaced head, a segment moved in from another store, a removed
tap run; an encrypted tap must never continue a chain from an unencrypted segment. A head rolled
back to an earlier genuine one is caught only against a record kept elsewhere (--expect-last).
Every test runs against a local directory and an S3 prefix (moto): the same attacks, the same
verdicts (tests/oplog/storeview.py gives both the same file operations).
"""
import datetime
import hashlib
import json
import os

import bson
import pytest
from bson.binary import Binary
from bson.int64 import Int64
from bson.timestamp import Timestamp

from oplogutil import entry
from storeview import LocalStore, S3Store, s3_bucket, s3_flags

S = 1700000000
N = 60


@pytest.fixture(params=["local", "s3"])
def make_store(request, tool, tmp_path):
    """Factory: make_store(name) -> an empty store of this test's kind (a directory, or a prefix
    of one bucket in moto); the tool gets the S3 flags."""
    if request.param == "local":
        return lambda name: LocalStore(tmp_path / name)
    moto = request.getfixturevalue("moto_s3")
    request.getfixturevalue("s3_env")
    bucket = s3_bucket(moto, tmp_path)
    flags = s3_flags(moto, moto.credentials_file(tmp_path / "s3creds"))
    tool.extra = flags
    return lambda name: S3Store(moto, bucket, name, flags)


@pytest.fixture
def store(tool, oplog_server, make_store):
    """Six or so encrypted segments of N entries, one tap run."""
    oplog_server.append([entry(S, i) for i in range(1, N + 1)])
    st = make_store("store")
    tool.tap_once(oplog_server.uri, st.url, "--segment-bytes", "1500")
    assert len(st.segs()) >= 5
    return st


def sha(st, name):
    return hashlib.sha256(st.read(name)).digest()


def parse(st, name):
    data = st.read(name)
    hlen = int.from_bytes(data[8:12], "little")
    return bson.decode(data[12:12 + hlen]), data[12 + hlen:]


def write_head_v1(st, seq):
    """What anyone can compute: the old head format, a plain SHA-256 of the segment."""
    doc = {"format": 1, "seq": Int64(seq), "digest": Binary(sha(st, seg_name(seq)))}
    st.write("oplog.head", bson.encode(doc))


def write_head_v2_copy(st, seq):
    """The current head's fields kept (store, run, MAC), seq and digest recomputed."""
    old = bson.decode(st.read("oplog.head"))
    old["seq"] = Int64(seq)
    old["digest"] = Binary(sha(st, seg_name(seq)))
    st.write("oplog.head", bson.encode(old))


def write_head_v2_nomac(st, seq):
    old = bson.decode(st.read("oplog.head"))
    old.pop("mac", None)
    old["seq"] = Int64(seq)
    old["digest"] = Binary(sha(st, seg_name(seq)))
    st.write("oplog.head", bson.encode(old))


def seg_name(seq):
    return "oplog-%012d.seg" % seq


def clear_segment(like, seq, prev, docs):
    """An unencrypted segment (cipher "none") holding docs, as --no-encryption writes one: its
    header copied from a genuine segment `like` where it can be."""
    body = b"".join(d.raw for d in docs)
    hdr = {"format": like.get("format", 1), "kind": "entries", "seq": Int64(seq),
           "run": Binary(os.urandom(16))}
    if "store" in like:
        hdr["store"] = like["store"]
    hdr.update({
        "created": datetime.datetime.now(datetime.timezone.utc),
        "count": Int64(len(docs)),
        "first_ts": docs[0]["ts"], "last_ts": docs[-1]["ts"], "last_t": Int64(1)})
    if hdr["format"] >= 3:
        hdr["compression"] = "none"
    hdr.update({
        "plain_len": Int64(len(body)), "body_len": Int64(len(body)),
        "prev": Binary(prev), "cipher": "none",
        "body_sha256": Binary(hashlib.sha256(body).digest())})
    h = bson.encode(hdr)
    return b"WTKMSOPL" + len(h).to_bytes(4, "little") + h + body


def verify(tool, st, *extra):
    p = tool.run("oplog", "verify", "--store", st.url, "--json", *extra, check=False)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip() else None, p.stderr


def export_refused(tool, st, tmp_path, needle):
    out = tmp_path / "o.bson"
    p = tool.export(st.url, out, check=False)
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert needle in p.stderr, p.stderr
    assert not out.exists()


@pytest.mark.parametrize("head", [write_head_v1, write_head_v2_copy, write_head_v2_nomac],
                         ids=["head-v1", "head-v2-old-mac", "head-v2-no-mac"])
def test_cut_tail_with_recomputed_head(tool, store, tmp_path, head):
    """Delete the newest segment and recompute oplog.head: verify must fail, export refuse."""
    n = len(store.segs())
    store.delete(store.segs()[-1])
    head(store, n - 1)
    rc, j, err = verify(tool, store)
    assert rc == 4, (rc, j, err)
    assert not j["ok"]
    assert any("oplog.head" in p["problem"] for p in j["problems"]), j
    export_refused(tool, store, tmp_path, "oplog.head")


def test_genuine_store_verifies_and_head_is_authenticated(tool, store):
    rc, j, err = verify(tool, store)
    assert rc == 0 and j["ok"], (j, err)
    head = bson.decode(store.read("oplog.head"))
    assert head["format"] == 2 and len(head["mac"]) == 32 and len(head["store"]) == 16


def test_downgraded_segment_in_the_middle(tool, store, tmp_path):
    """A segment rewritten as `cipher: none` (same entries, a forged one added) in the middle
    of an encrypted chain: refused by name, even though it chains to its predecessor."""
    victim = store.segs()[2]
    hdr, _ = parse(store, victim)
    forged = [entry(S, hdr["first_ts"].inc + k) for k in range(hdr["count"])]
    store.write(victim, clear_segment(hdr, hdr["seq"], hdr["prev"], forged))
    rc, j, err = verify(tool, store)
    assert rc == 4, (rc, err)
    assert any(p["seq"] == 3 and "is not encrypted" in p["problem"] for p in j["problems"]), j
    export_refused(tool, store, tmp_path, "is not encrypted")


def test_forged_segment_appended_with_recomputed_head(tool, store, tmp_path):
    """A forged `cipher: none` segment appended after the newest, head recomputed: never
    exported, never verified; --allow-unencrypted is the only way through."""
    last = store.segs()[-1]
    hdr, _ = parse(store, last)
    seq = hdr["seq"] + 1
    forged = [entry(S, N + 1, o={"_id": 999, "v": "forged"})]
    store.write(seg_name(seq), clear_segment(hdr, seq, sha(store, last), forged))
    write_head_v1(store, seq)
    rc, j, err = verify(tool, store)
    assert rc == 4, (rc, err)
    assert any(p["seq"] == seq and "is not encrypted" in p["problem"] for p in j["problems"]), j
    export_refused(tool, store, tmp_path, "is not encrypted")
    # The escape hatch exists and is explicit.
    out = tmp_path / "allowed.bson"
    p = tool.export(store.url, out, "--allow-unencrypted", check=False)
    assert p.returncode == 0, p.stderr


def test_encrypted_tap_never_continues_from_an_unencrypted_segment(tool, oplog_server, store):
    last = store.segs()[-1]
    hdr, _ = parse(store, last)
    seq = hdr["seq"] + 1
    store.write(seg_name(seq), clear_segment(hdr, seq, sha(store, last), [entry(S, N + 1)]))
    write_head_v1(store, seq)
    oplog_server.append([entry(S, i) for i in range(N + 2, N + 10)])
    p = tool.tap_once(oplog_server.uri, store.url, check=False)
    assert p.returncode == 4, p.stderr
    assert "is not encrypted, and this tap run is" in p.stderr
    assert not store.exists(seg_name(seq + 1))


def test_unencrypted_tap_never_continues_an_encrypted_chain(tool, oplog_server, store):
    oplog_server.append([entry(S, i) for i in range(N + 1, N + 10)])
    n = len(store.segs())
    p = tool.tap_once(oplog_server.uri, store.url, "--no-encryption", check=False, key=False)
    assert p.returncode == 4 and "is encrypted, and this tap run is not" in p.stderr, p.stderr
    assert len(store.segs()) == n


def test_segment_moved_from_another_store(tool, oplog_server, store, make_store):
    """A genuine segment of another store (same key, same entries, same seq) copied in."""
    other = make_store("other")
    tool.tap_once(oplog_server.uri, other.url, "--segment-bytes", "1500")
    store.write(store.segs()[-1], other.read(other.segs()[-1]))
    rc, j, err = verify(tool, store)
    assert rc == 4, (rc, err)
    assert any("another oplog store" in p["problem"] for p in j["problems"]), j


def test_head_replaced_by_another_stores(tool, oplog_server, store, make_store, tmp_path):
    other = make_store("other")
    tool.tap_once(oplog_server.uri, other.url, "--segment-bytes", "1500")
    store.write("oplog.head", other.read("oplog.head"))
    rc, j, err = verify(tool, store)
    assert rc == 4, (rc, err)
    assert any("oplog.head" in p["problem"] or "another oplog store" in p["problem"]
               for p in j["problems"]), j
    export_refused(tool, store, tmp_path, "")


def test_removed_run_and_rolled_back_head(tool, oplog_server, store, tmp_path):
    """Two tap runs. The second run's segments removed with a recomputed head: detected. With
    the first run's genuine head put back (kept from earlier): only --expect-last, a record kept
    elsewhere, can tell."""
    n1 = len(store.segs())
    saved_head = store.read("oplog.head")
    oplog_server.append([entry(S, i) for i in range(N + 1, N + 40)])
    tool.tap_once(oplog_server.uri, store.url, "--segment-bytes", "1500")
    assert len(store.segs()) > n1
    last_ts = "%d:%d" % (S, N + 39)
    rc, j, err = verify(tool, store, "--expect-last", last_ts)
    assert rc == 0, (j, err)
    for name in store.segs()[n1:]:
        store.delete(name)
    write_head_v2_copy(store, n1)
    rc, j, err = verify(tool, store)
    assert rc == 4 and any("oplog.head" in p["problem"] for p in j["problems"]), j
    # Rolled back to the genuine head of the first run: consistent on its own...
    store.write("oplog.head", saved_head)
    rc, j, err = verify(tool, store)
    assert rc == 0, (j, err)
    # ... but not with what the operator recorded.
    rc, j, err = verify(tool, store, "--expect-last", last_ts)
    assert rc == 4 and any("--expect-last" in p["problem"] for p in j["problems"]), j
    out = tmp_path / "o.bson"
    p = tool.export(store.url, out, "--expect-last", last_ts, check=False)
    assert p.returncode == 4 and "--expect-last" in p.stderr and not out.exists(), p.stderr


def test_removed_first_run(tool, oplog_server, store):
    n1 = len(store.segs())
    oplog_server.append([entry(S, i) for i in range(N + 1, N + 20)])
    tool.tap_once(oplog_server.uri, store.url, "--segment-bytes", "1500")
    for name in store.segs()[:n1]:
        store.delete(name)
    rc, j, err = verify(tool, store)
    assert rc == 4 and any(p["seq"] == 1 and "missing" in p["problem"] for p in j["problems"]), j


def test_unencrypted_store_needs_allow_when_a_key_is_given(tool, oplog_server, make_store):
    oplog_server.append([entry(S, i) for i in range(1, 20)])
    st = make_store("clear").url
    tool.tap_once(oplog_server.uri, st, "--no-encryption", "--segment-bytes", "1500", key=False)
    assert tool.list(st)["list"][0]["encryption_key_id"] == "Not enabled"
    p = tool.run("oplog", "verify", "--store", st, check=False, key=False)
    assert p.returncode == 0, p.stderr
    p = tool.run("oplog", "verify", "--store", st, check=False)
    assert p.returncode == 4 and "is not encrypted" in p.stderr, p.stderr
    p = tool.run("oplog", "verify", "--store", st, "--allow-unencrypted", check=False)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("head", [write_head_v1, write_head_v2_copy],
                         ids=["head-v1", "head-v2-old-mac"])
def test_tap_does_not_continue_a_cut_chain(tool, oplog_server, store, head):
    """Newest segment deleted and oplog.head recomputed: the next tap run refuses to continue,
    which would write a genuine head over the cut and make it look like a clean chain."""
    n = len(store.segs())
    store.delete(store.segs()[-1])
    head(store, n - 1)
    oplog_server.append([entry(S, i) for i in range(N + 1, N + 10)])
    p = tool.tap_once(oplog_server.uri, store.url, check=False)
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert "does not authenticate" in p.stderr or "carries no MAC" in p.stderr, p.stderr
    assert len(store.segs()) == n - 1


def test_tap_resumes_a_genuine_chain_and_after_a_crash_before_the_head(tool, oplog_server,
                                                                        store):
    """The checks do not stop a genuine chain: a normal restart, and a head one segment behind
    (a crash between the segment's write and the head's)."""
    oplog_server.append([entry(S, i) for i in range(N + 1, N + 30)])
    saved = store.read("oplog.head")
    tool.tap_once(oplog_server.uri, store.url, "--segment-bytes", "1500")
    n = len(store.segs())
    # A head one behind, as a crash between the two writes leaves it: the head before the last
    # segment of this run is not kept, so roll back only when the run wrote a single segment.
    oplog_server.append([entry(S, N + 30)])
    before = store.read("oplog.head")
    tool.tap_once(oplog_server.uri, store.url)
    assert len(store.segs()) == n + 1
    store.write("oplog.head", before)
    oplog_server.append([entry(S, N + 31)])
    tool.tap_once(oplog_server.uri, store.url)
    assert len(store.segs()) == n + 2
    rc, j, err = verify(tool, store, "--expect-last", "%d:%d" % (S, N + 31))
    assert rc == 0, (j, err)
    assert saved != before


def test_damaged_head_never_crashes(tool, store, oplog_server):
    """Random damage to oplog.head (bytes flipped, cut, extended, fields of the wrong type):
    verify and the tap report it (exit 4) and never crash; nothing is written by the tap."""
    import random
    rnd = random.Random(int.from_bytes(os.urandom(4), "big"))
    good = store.read("oplog.head")
    doc = bson.decode(good)
    variants = [good[:k] for k in range(0, len(good), 7)] + [good + b"\0" * 9]
    for field, value in (("format", 3), ("format", "2"), ("seq", 0), ("seq", "1"),
                         ("digest", Binary(b"x" * 31)), ("store", Binary(b"")),
                         ("run", 5), ("mac", Binary(b"\1" * 33)), ("mac", None)):
        d = dict(doc)
        d[field] = value
        variants.append(bson.encode(d))
    for _ in range(40):
        b = bytearray(good)
        for _ in range(rnd.randrange(1, 4)):
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        variants.append(bytes(b))
    n = len(store.segs())
    oplog_server.append([entry(S, N + 1)])
    for v in variants:
        store.write("oplog.head", v)
        rc, j, err = verify(tool, store)
        assert rc == 4 and j is not None and not j["ok"], (v, rc, err)
        assert "AddressSanitizer" not in err and "runtime error" not in err
        p = tool.tap_once(oplog_server.uri, store.url, check=False)
        assert p.returncode in (1, 4), (v, p.returncode, p.stderr)
        assert "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr
        assert len(store.segs()) == n
