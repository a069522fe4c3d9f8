# SPDX-License-Identifier: Apache-2.0
"""pit restore against a store someone without the key has written to: a cut tail (newest segment
deleted, oplog.head recomputed), a --no-encryption snapshot while a key is configured, and a
record kept elsewhere (--expect-last) that the store no longer reaches. Each is refused before
anything is written."""
import hashlib
import json

import bson
from bson.binary import Binary
from bson.int64 import Int64

from test_oplog_pit import S, T0, TS, pit, restore  # noqa: F401 (pit is a fixture)


def nothing_written(tmp_path, name):
    assert not (tmp_path / name).exists() and not (tmp_path / (name + "-oplog")).exists()


def test_cut_tail_refused(tool, pit, tmp_path):
    st = pit["ostore"]
    segs = sorted(st.glob("oplog-*.seg"))
    segs[-1].unlink()
    seq = len(segs) - 1
    doc = {"format": 1, "seq": Int64(seq),
           "digest": Binary(hashlib.sha256(segs[-2].read_bytes()).digest())}
    (st / "oplog.head").write_bytes(bson.encode(doc))
    p = restore(tool, pit, "%d:%d" % (S, T0 + 1), "--to", tmp_path / "r", check=False)
    assert p.returncode == 4 and "oplog.head" in p.stderr, p.stderr
    nothing_written(tmp_path, "r")


def test_expect_last_beyond_the_store_refused(tool, pit, tmp_path):
    p = restore(tool, pit, "%d:%d" % (S, TS), "--to", tmp_path / "r", "--expect-last",
                "%d:99" % S, check=False)
    assert p.returncode == 4 and "--expect-last" in p.stderr, p.stderr
    nothing_written(tmp_path, "r")
    restore(tool, pit, "%d:%d" % (S, TS), "--to", tmp_path / "ok", "--expect-last", "%d:41" % S)


def test_unencrypted_snapshot_refused_while_a_key_is_configured(tool, pit, tmp_path):
    snaps = tmp_path / "clear-snaps"
    sid = json.loads(tool.run("snapshot", "create", "--home", pit["home"], "--store", snaps,
                              "--oplog-ts", "%d:%d" % (S, T0), "--no-encryption", "--json",
                              key=False).stdout)["id"]
    args = ["pit", "restore", "--snapshot", sid, "--store", snaps, "--oplog-store",
            pit["ostore"], "--until", "%d:%d" % (S, TS)]
    p = tool.run(*args, "--to", tmp_path / "r", check=False)
    assert p.returncode == 4 and "is not encrypted" in p.stderr, p.stderr
    nothing_written(tmp_path, "r")
    tool.run(*args, "--to", tmp_path / "ok", "--allow-unencrypted")
    dump = tool.line.run([tool.line.wt, "-h", tmp_path / "ok", "dump", "table:t"]).stdout
    assert "Data\na\\00\n1\\00\nb\\00\n2\\00" in dump
