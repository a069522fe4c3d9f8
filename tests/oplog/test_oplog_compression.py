# SPDX-License-Identifier: Apache-2.0
"""Oplog segments are compressed before they are encrypted (segment format 3): list shows size
and stored size; every level and --no-compress export the same entries; the entries' length and
the compression are in the authenticated header, so changing them without the key fails; a store
written before compression (segment format 2) is still read, and a tap continues its chain."""
import shutil
from pathlib import Path

import bson
import pytest
from bson.int64 import Int64

from oplogutil import entry

S = 1700000000
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "pre-compression"


def segs(st):
    return sorted(st.glob("oplog-*.seg"))


def header(path):
    data = path.read_bytes()
    hlen = int.from_bytes(data[8:12], "little")
    return bson.decode(data[12:12 + hlen]), hlen


def fixture_key(tmp_path):
    key = tmp_path / "fixture.key"
    shutil.copy(FIXTURE / "master.key", key)
    key.chmod(0o600)
    return key


@pytest.mark.parametrize("flags", [(), ("--compress-level", "19"), ("--no-compress",)],
                         ids=["default", "19", "off"])
def test_levels(tool, oplog_server, tmp_path, flags):
    docs = [entry(S, i, o={"_id": i, "name": "customer %d" % i, "note": "y" * 200})
            for i in range(1, 201)]
    oplog_server.append(docs)
    st = tmp_path / "store"
    tool.tap_once(oplog_server.uri, st, "--segment-bytes", "20000", *flags)
    j = tool.list(st)
    assert j["entries"] == 200 and j["stored_size"] == j["bytes"]
    assert j["size"] == sum(len(d.raw) for d in docs)
    for s in j["list"]:
        assert s["stored_size"] == (st / s["file"]).stat().st_size == s["bytes"]
        assert s["compression"] == ("none" if flags == ("--no-compress",) else "zstd")
        assert header(st / s["file"])[0]["format"] == 3
    if flags == ("--no-compress",):
        assert j["stored_size"] > j["size"]
    else:
        assert j["stored_size"] < j["size"] // 3
    text = tool.run("oplog", "list", "--store", st, key=False).stdout
    assert "SIZE" in text and "STORED" in text and "stored)" in text
    assert tool.run("oplog", "verify", "--store", st).returncode == 0
    assert [d.raw for d in tool.exported(st)] == [d.raw for d in docs]


@pytest.mark.parametrize("flags,why", [
    (("--compress-level", "0"), "expected a zstd level"),
    (("--compress-level", "99"), "expected a zstd level"),
    (("--compress-level", "2", "--no-compress"), "contradict each other"),
])
def test_bad_flags(tool, oplog_server, tmp_path, flags, why):
    p = tool.tap_once(oplog_server.uri, tmp_path / "store", *flags, check=False)
    assert p.returncode == 2 and why in p.stderr, p.stderr


def test_entries_length_bound_to_the_tag(tool, oplog_server, tmp_path):
    """Without the key, give a compressed segment a larger entries length (decompression would be
    bounded by a forged number), or call it uncompressed: its tag fails, verify names it."""
    oplog_server.append([entry(S, i) for i in range(1, 61)])
    st = tmp_path / "store"
    tool.tap_once(oplog_server.uri, st, "--segment-bytes", "1500")
    victim = segs(st)[2]
    h, hlen = header(victim)
    assert h["compression"] == "zstd" and h["plain_len"] > h["body_len"]
    data = victim.read_bytes()
    for change in ({"plain_len": Int64(h["plain_len"] + 1)},
                   {"compression": "none", "plain_len": h["body_len"]}):
        forged = dict(h, **change)
        nh = bson.encode(forged)
        victim.write_bytes(data[:8] + len(nh).to_bytes(4, "little") + nh + data[12 + hlen:])
        p = tool.run("oplog", "verify", "--store", st, check=False)
        assert p.returncode == 4 and victim.name in p.stderr, p.stderr
        assert "fail authentication" in p.stderr, p.stderr
    victim.write_bytes(data)
    assert tool.run("oplog", "verify", "--store", st).returncode == 0


def test_format2_store_still_read_and_continued(tool, oplog_server, tmp_path):
    """A store written before compression (5 segments of format 2, by the code of the commit
    before it): list, verify and export read it; a tap under the same key continues its chain
    with format 3 segments, and the mixed chain verifies and exports whole."""
    st = tmp_path / "store"
    shutil.copytree(FIXTURE / "oplogstore", st)
    tool.key = fixture_key(tmp_path)
    j = tool.list(st)
    assert j["entries"] == 40 and j["segments"] == 5
    assert {header(p)[0]["format"] for p in segs(st)} == {2}
    assert all(s["compression"] == "none" and s["size"] < s["stored_size"] for s in j["list"])
    assert tool.run("oplog", "verify", "--store", st).returncode == 0
    old = tool.exported(st)
    assert len(old) == 40
    docs = [entry(S, i, o={"_id": i, "v": "x" * 40}) for i in range(1, 41)]
    assert [d.raw for d in old] == [d.raw for d in docs]
    more = [entry(S, i, o={"_id": i, "v": "x" * 40}) for i in range(41, 61)]
    oplog_server.append(docs + more)
    tool.tap_once(oplog_server.uri, st, "--segment-bytes", "1500")
    formats = [header(p)[0]["format"] for p in segs(st)]
    assert formats[:5] == [2] * 5 and set(formats[5:]) == {3}, formats
    assert tool.run("oplog", "verify", "--store", st).returncode == 0
    assert [d.raw for d in tool.exported(st)] == [d.raw for d in docs + more]
