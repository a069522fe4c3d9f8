# SPDX-License-Identifier: Apache-2.0
"""Compression before encryption (zstd, snapshot format 2): a run of zeros (the preallocated
WiredTiger journal) costs next to nothing; every level and --no-compress round-trip; stored size
is real and shown beside size; flags are checked; a chunk whose compressed flag is flipped by
someone without the key fails; snapshots written before compression (format 1) still restore."""
import json
import shutil
from pathlib import Path

import pytest

from conftest import objects, records

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "pre-compression"
FIXTURE_ID = "20261202T124728Z-388dc3bc"


def journal_home(snap, name="db", rows=2):
    """A home of `rows` rows with WiredTiger's journal on: its log files are preallocated
    (100 MiB each), nearly all zeros."""
    home = snap.tmp / name
    home.mkdir()
    cfg = snap.conn_config(create=True) + ",log=(enabled=true)"
    snap.line.run([snap.rows_prog, "write", home, cfg, "encryption=(name=wtkms,keyid=tbl)",
                   rows, 100])
    return home


def stored_bytes(store, sid):
    return sum(p.stat().st_size for p in objects(store, sid))


def show(snap, store, sid):
    return json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)


def test_two_rows_and_a_journal_cost_kilobytes(snap, tmp_path):
    """Issue: a home of two rows made a 100 MiB snapshot (the journal stored byte for byte)."""
    home = journal_home(snap)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    entry = snap.list(store)[0]
    assert entry["size"] >= 100 * 1024 * 1024, entry["size"]
    assert entry["stored_size"] < 512 * 1024, entry["stored_size"]
    assert entry["compression"] == {"algorithm": "zstd", "level": 1}
    # stored_size is what the objects take (plus nothing hidden): the sum of their sizes.
    assert entry["stored_size"] == stored_bytes(store, sid)
    text = snap.wtkms("snapshot", "list", "--store", store).stdout
    assert "STORED" in text and sid in text and "KiB" in text.split(sid)[1], text
    target = tmp_path / "r"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key)
    for f in home.iterdir():
        if f.name.startswith("WiredTigerLog.") or f.name.startswith("WiredTigerPreplog."):
            assert (target / f.name).stat().st_size == f.stat().st_size, f.name
    assert "checked 2 rows" in snap.check_rows(target, rows=2, vlen=100).stdout


@pytest.mark.parametrize("flags", [("--no-compress",), ("--compress-level", "1"),
                                   ("--compress-level", "7"), ("--compress-level", "19")],
                         ids=["off", "1", "7", "19"])
def test_levels_round_trip(snap, tmp_path, flags):
    home = snap.make_home(rows=1500, vlen=300, encrypted=False)
    store = tmp_path / "store"
    sid = snap.create(home, store, *flags)
    s = show(snap, store, sid)
    assert s["format_version"] == 2
    if flags[0] == "--no-compress":
        assert s["compression"] == {"algorithm": "none", "level": 0}
        assert s["stored_size"] > s["size"]  # headers, words and tags, nothing saved
    else:
        assert s["compression"] == {"algorithm": "zstd", "level": int(flags[1])}
        assert s["stored_size"] < s["size"] * 3 // 4  # a plain home's pages and rows compress
    assert s["stored_size"] == stored_bytes(store, sid)
    snap.wtkms("snapshot", "verify", sid, "--store", store, "--key-file", snap.key)
    target = tmp_path / "r"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key)
    assert "checked 1500 rows" in snap.check_rows(target, rows=1500, vlen=300,
                                                  encrypted=False).stdout
    for f in home.iterdir():
        if f.is_file() and f.name not in ("WiredTiger.lock", "WiredTiger.backup"):
            assert (target / f.name).exists(), f.name


@pytest.mark.parametrize("flags,why", [
    (("--compress-level", "0"), "expected a zstd level from 1"),
    (("--compress-level", "20"), "expected a zstd level from 1"),
    (("--compress-level", "fast"), "expected a zstd level from 1"),
    (("--compress-level", "3", "--no-compress"), "contradict each other"),
])
def test_bad_flags(snap, tmp_path, flags, why):
    home = snap.make_home(rows=10)
    store = tmp_path / "store"
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--key-file",
                   snap.key, *flags, check=False)
    assert p.returncode == 2 and why in p.stderr, p.stderr
    assert not (store / "snapshots").exists() or not any((store / "snapshots").iterdir())


def flip_flag(obj, rec):
    data = bytearray(Path(obj).read_bytes())
    data[rec["off"]] ^= 0x80
    Path(obj).write_bytes(bytes(data))


def test_flipped_compressed_flag_fails(snap, tmp_path):
    """Without the key, mark a chunk stored as is as compressed (and a compressed one as stored
    as is): the chunk's tag binds the flag, so verify and restore name the chunk and stop."""
    home = journal_home(snap, rows=300)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    files = show(snap, store, sid)["files"]
    kinds = {}
    for fi, f in enumerate(files):
        for i, r in enumerate(records(objects(store, sid)[fi], f["size"])):
            kinds.setdefault(r["compressed"], (fi, i, r))
    assert set(kinds) == {True, False}, "need both kinds of chunk"
    for compressed, (fi, i, r) in kinds.items():
        bad = tmp_path / ("store-%s" % compressed)
        shutil.copytree(store, bad)
        flip_flag(objects(bad, sid)[fi], r)
        for cmd in (["verify", sid], ["restore", sid, "--to", tmp_path / ("r-%s" % compressed)]):
            p = snap.wtkms("snapshot", *cmd, "--store", bad, "--key-file", snap.key, check=False)
            assert p.returncode == 4, p.stderr
            assert "file %s" % files[fi]["name"] in p.stderr and "chunk %d of" % i in p.stderr
            if not compressed:
                # Flagged compressed, same length: only the tag can tell, and does.
                assert "does not authenticate" in p.stderr, p.stderr
            else:
                # Flagged stored as is, with a compressed length: refused before the tag.
                assert "stored as is" in p.stderr, p.stderr
        assert not (tmp_path / ("r-%s" % compressed)).exists()


def test_format1_snapshot_still_restores(snap, tmp_path):
    """A snapshot written before compression (object and manifest format 1, by the code of the
    commit before it): listed, verified and restored."""
    if snap.line.name != "3.2":
        pytest.skip("the fixture home was written by WiredTiger 3.2")
    store = tmp_path / "store"
    shutil.copytree(FIXTURE / "snapstore", store)
    key = tmp_path / "fixture.key"
    shutil.copy(FIXTURE / "master.key", key)
    key.chmod(0o600)
    entry = snap.list(store)[0]
    assert entry["id"] == FIXTURE_ID and entry["compression"]["algorithm"] == "none"
    s = show(snap, store, FIXTURE_ID)
    assert s["format_version"] == 1
    snap.wtkms("snapshot", "verify", FIXTURE_ID, "--store", store, "--key-file", key)
    target = tmp_path / "r"
    snap.wtkms("snapshot", "restore", FIXTURE_ID, "--store", store, "--to", target,
               "--key-file", key)
    p = snap.line.run([snap.rows_prog, "check", target, "log=(enabled=false)", 50, 100])
    assert "checked 50 rows" in p.stdout
    # A flipped byte in a format 1 chunk still fails as before.
    obj = objects(store, FIXTURE_ID)[0]
    data = bytearray(obj.read_bytes())
    data[24 + 10] ^= 1
    obj.write_bytes(bytes(data))
    p = snap.wtkms("snapshot", "verify", FIXTURE_ID, "--store", store, "--key-file", key,
                   check=False)
    assert p.returncode == 4 and "does not authenticate" in p.stderr, p.stderr
