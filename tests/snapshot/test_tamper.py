# SPDX-License-Identifier: Apache-2.0
"""Integrity: a flipped byte in any chunk or in the manifest, a truncated object, a dropped
chunk, two swapped chunks, two swapped objects, appended bytes or a missing object make verify
AND restore fail, naming the snapshot, the file and the chunk (or the manifest); restore leaves
no target behind. Run for encrypted and unencrypted snapshots."""
import json
import shutil

import pytest

from conftest import TAG, Snap, leftovers, manifest_path, objects, records


_base = {}


@pytest.fixture(scope="module")
def tamper_root(tmp_path_factory):
    return tmp_path_factory.mktemp("tamper")


def setup(snap, tmp_path, encrypted, root):
    """A fresh copy of this line's snapshot of a 2000-row home (made once per line and mode:
    every test tampers with its own copy of the store). Uses the key the snapshot was made with."""
    k = (snap.line.name, encrypted)
    if k not in _base:
        d = root / ("%s-%s" % (snap.line.name, "enc" if encrypted else "clear"))
        d.mkdir()
        key = d / "master.key"
        shutil.copy(snap.key, key)
        key.chmod(0o600)
        base = Snap(snap.line, d, key)
        home = base.make_home(rows=2000, vlen=400)
        extra = () if encrypted else ("--no-encryption",)
        sid = base.create(home, d / "store", *extra)
        show = json.loads(base.wtkms("snapshot", "show", sid, "--store", d / "store",
                                     "--json").stdout)
        _base[k] = (d, key, sid, show)
    d, key, sid, show = _base[k]
    store = tmp_path / "store"
    shutil.copytree(d / "store", store)
    if not (tmp_path / "db").exists():
        shutil.copytree(d / "db", tmp_path / "db")
    snap.key = key
    idx = next(i for i, f in enumerate(show["files"]) if f["name"] == "t.wt")
    t = show["files"][idx]
    assert t["chunks"] >= 4
    return store, sid, objects(store, sid)[idx], t


def record(obj, t, i):
    """Offset and length of chunk record i (its word, payload and tag) in t's object."""
    r = records(obj, t["size"])[i]
    return r["off"], r["end"] - r["off"]


def flip(path, off):
    data = bytearray(path.read_bytes())
    data[off] ^= 0x01
    path.write_bytes(bytes(data))


def expect_failure(snap, store, sid, tmp_path, *needles, code=4):
    # --allow-unencrypted: the clear snapshots are ours; what is tested is their damage.
    keyargs = ["--key-file", snap.key, "--allow-unencrypted"]
    v = snap.wtkms("snapshot", "verify", sid, "--store", store, *keyargs, check=False)
    assert v.returncode == code, v.stderr
    for n in needles:
        assert n in v.stderr, (n, v.stderr)
    target = tmp_path / "restored"
    r = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, *keyargs,
                   check=False)
    assert r.returncode == code, r.stderr
    for n in needles:
        assert n in r.stderr, (n, r.stderr)
    assert not target.exists()
    assert leftovers(tmp_path, "restored") == []


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "clear"])
def test_flip_byte_in_chunk(snap, tmp_path, encrypted, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, encrypted, tamper_root)
    off, _ = record(obj, t, 2)
    flip(obj, off + 100)
    expect_failure(snap, store, sid, tmp_path, sid, "file t.wt", "chunk 2 of %d" % t["chunks"],
                   "does not authenticate")


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "clear"])
def test_flip_byte_in_tag_of_final_chunk(snap, tmp_path, encrypted, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, encrypted, tamper_root)
    flip(obj, obj.stat().st_size - 1)
    expect_failure(snap, store, sid, tmp_path, "file t.wt",
                   "chunk %d of %d" % (t["chunks"] - 1, t["chunks"]))


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "clear"])
def test_flip_byte_in_manifest(snap, tmp_path, encrypted, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, encrypted, tamper_root)
    m = manifest_path(store, sid)
    data = m.read_bytes()
    # Inside the body: the digest of t.wt (hex text), so the BSON stays well-formed.
    digest = data.index(b"sha256") + 20
    flip(m, digest)
    expect_failure(snap, store, sid, tmp_path, "manifest of snapshot %s" % sid)


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "clear"])
def test_truncated_object(snap, tmp_path, encrypted, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, encrypted, tamper_root)
    off, _ = record(obj, t, 3)
    with open(obj, "r+b") as f:
        f.truncate(off + 10)
    expect_failure(snap, store, sid, tmp_path, "file t.wt", "chunk 3 of", "ends early")


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "clear"])
def test_dropped_chunk(snap, tmp_path, encrypted, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, encrypted, tamper_root)
    data = obj.read_bytes()
    off, n = record(obj, t, 1)
    obj.write_bytes(data[:off] + data[off + n:])
    expect_failure(snap, store, sid, tmp_path, "file t.wt", "chunk 1 of", "does not authenticate")


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "clear"])
def test_swapped_chunks(snap, tmp_path, encrypted, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, encrypted, tamper_root)
    data = obj.read_bytes()
    o1, n1 = record(obj, t, 1)
    o2, n2 = record(obj, t, 2)
    assert o2 == o1 + n1
    obj.write_bytes(data[:o1] + data[o2:o2 + n2] + data[o1:o2] + data[o2 + n2:])
    expect_failure(snap, store, sid, tmp_path, "file t.wt", "chunk 1 of", "does not authenticate")


def test_swapped_objects(snap, tmp_path, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, True, tamper_root)
    objs = objects(store, sid)
    other = next(o for o in objs if o != obj)
    tmp = obj.with_name("swap")
    obj.rename(tmp)
    other.rename(obj)
    tmp.rename(other)
    expect_failure(snap, store, sid, tmp_path, "objects were swapped or renamed")


def test_appended_bytes(snap, tmp_path, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, True, tamper_root)
    with open(obj, "ab") as f:
        f.write(b"x" * 40)
    expect_failure(snap, store, sid, tmp_path, "file t.wt", "after its final chunk")


def test_missing_object(snap, tmp_path, tamper_root):
    store, sid, obj, t = setup(snap, tmp_path, True, tamper_root)
    obj.unlink()
    expect_failure(snap, store, sid, tmp_path, "file t.wt", "object is missing")


def test_chunk_from_another_snapshot(snap, tmp_path, tamper_root):
    """The same home snapshotted twice without encryption: the data of chunk 0 is identical, but
    its check value binds the snapshot id, so a record copied from the other snapshot fails."""
    store, sid, obj, t = setup(snap, tmp_path, False, tamper_root)
    sid2 = snap.create(tmp_path / "db", store, "--no-encryption")
    show2 = json.loads(snap.wtkms("snapshot", "show", sid2, "--store", store, "--json").stdout)
    idx = next(i for i, f in enumerate(show2["files"]) if f["name"] == "t.wt")
    obj2 = objects(store, sid2)[idx]
    off, n = record(obj, t, 0)
    mine, theirs = obj.read_bytes()[off:off + n], obj2.read_bytes()[off:off + n]
    assert mine[:-TAG] == theirs[:-TAG] and mine[-TAG:] != theirs[-TAG:]
    data = bytearray(obj.read_bytes())
    data[off:off + n] = theirs
    obj.write_bytes(bytes(data))
    v = snap.wtkms("snapshot", "verify", sid, "--store", store, "--key-file", snap.key,
                   "--allow-unencrypted", check=False)
    assert v.returncode == 4 and "file t.wt" in v.stderr and "chunk 0 of" in v.stderr, v.stderr


def test_restore_after_damage_in_a_later_file_leaves_no_target(snap, tmp_path, tamper_root):
    """Damage in the last object: earlier files were already written into the temporary
    directory, which is removed; the target never appears."""
    store, sid, obj, t = setup(snap, tmp_path, True, tamper_root)
    last = objects(store, sid)[-1]
    flip(last, last.stat().st_size - 1)
    target = tmp_path / "restored"
    r = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target,
                   "--key-file", snap.key, check=False)
    assert r.returncode == 4 and not target.exists()
    assert leftovers(tmp_path, "restored") == []
