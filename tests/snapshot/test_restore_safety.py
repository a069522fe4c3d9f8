# SPDX-License-Identifier: Apache-2.0
"""Restore never leaves a half-written target, and stops before writing anything when the
snapshot's key cannot be used: killed midway (SIGKILL) -> no target, a rerun succeeds and
removes the dead run's temporary directory; key file missing or wrong -> refused, nothing
written; no provider settings for an encrypted snapshot -> refused, saying which key."""
import json
import os
import signal
import subprocess
import time

from conftest import leftovers, objects


def test_kill_restore_midway_then_rerun(snap, tmp_path):
    home = snap.make_home(rows=2000)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    objs = objects(store, sid)
    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
    # The last object but the keystore's (restore reads that one first, to check its key).
    idx = max(i for i, f in enumerate(show["files"]) if f["name"] != "wtkms.keystore")
    last = objs[idx]
    saved = last.read_bytes()
    # That object becomes a FIFO nobody writes: the restore blocks reading it after writing
    # every earlier file into its temporary directory. Deterministic, no timing guesswork.
    last.unlink()
    os.mkfifo(last)
    target = tmp_path / "restored"
    proc = subprocess.Popen([str(snap.line.wtkms), "snapshot", "restore", sid, "--store",
                             str(store), "--to", str(target), "--key-file", str(snap.key)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=snap.line.env())
    deadline = time.time() + 60
    tmpdirs = []
    while time.time() < deadline:
        tmpdirs = leftovers(tmp_path, "restored")
        if tmpdirs and len(list(tmpdirs[0].iterdir())) >= idx:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    assert tmpdirs, "the restore never started writing"
    assert not target.exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert not target.exists()
    assert leftovers(tmp_path, "restored") == tmpdirs  # the dead run's directory, only

    last.unlink()
    last.write_bytes(saved)
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target,
               "--key-file", snap.key)
    assert leftovers(tmp_path, "restored") == []
    assert "checked 2000 rows" in snap.check_rows(target).stdout


def restore_untouched(snap, tmp_path, target, *args):
    """Run a restore that must be refused before writing anything: not even a temporary
    directory may appear and vanish again (the parent directory's mtime would change)."""
    before = os.stat(tmp_path).st_mtime_ns
    time.sleep(0.02)
    p = snap.wtkms("snapshot", "restore", *args, "--to", target, check=False)
    assert os.stat(tmp_path).st_mtime_ns == before, "restore wrote beside the target"
    return p


def refused_before_writing(p, target, tmp_path, code, *needles):
    assert p.returncode == code, p.stderr
    for n in needles:
        assert n in p.stderr, (n, p.stderr)
    assert not target.exists()
    assert leftovers(tmp_path, target.name) == []


def test_key_file_missing_refused_before_writing(snap, tmp_path):
    home = snap.make_home(rows=100)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    target = tmp_path / "restored"
    gone = tmp_path / "moved-away.key"
    p = restore_untouched(snap, tmp_path, target, sid, "--store", store, "--key-file", gone)
    refused_before_writing(p, target, tmp_path, 3, "nothing was written", str(gone),
                           "cannot be recovered")


def test_wrong_key_file_refused_before_writing(snap, tmp_path):
    home = snap.make_home(rows=100)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    target = tmp_path / "restored"
    p = restore_untouched(snap, tmp_path, target, sid, "--store", store, "--key-file", other)
    key_id = snap.list(store)[0]["master_key"]["key_id"]
    refused_before_writing(p, target, tmp_path, 3, "nothing was written", key_id)
    v = snap.wtkms("snapshot", "verify", sid, "--store", store, "--key-file", other, check=False)
    assert v.returncode == 3 and key_id in v.stderr


def test_no_provider_settings_names_the_key(snap, tmp_path):
    home = snap.make_home(rows=100)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    target = tmp_path / "restored"
    p = restore_untouched(snap, tmp_path, target, sid, "--store", store)
    key_id = snap.list(store)[0]["master_key"]["key_id"]
    refused_before_writing(p, target, tmp_path, 2, "is encrypted under master key local:" + key_id)


def test_unknown_snapshot_and_bad_ids(snap, tmp_path):
    home = snap.make_home(rows=10)
    store = tmp_path / "store"
    snap.create(home, store)
    p = snap.wtkms("snapshot", "verify", "20200101T000000Z-00000000", "--store", store,
                   "--key-file", snap.key, check=False)
    assert p.returncode == 5 and "holds no snapshot" in p.stderr
    p = snap.wtkms("snapshot", "show", "../../etc", "--store", store, check=False)
    assert p.returncode == 2 and "not a snapshot id" in p.stderr
    p = snap.wtkms("snapshot", "list", "--store", tmp_path / "nowhere", check=False)
    assert p.returncode == 5


def test_deleted_snapshot_disappears(snap, tmp_path):
    home = snap.make_home(rows=10)
    store = tmp_path / "store"
    a = snap.create(home, store)
    b = snap.create(home, store)
    d = json.loads(snap.wtkms("snapshot", "delete", a, "--store", store, "--json").stdout)
    assert d == {"id": a, "deleted": True}
    assert [s["id"] for s in snap.list(store)] == [b]
    p = snap.wtkms("snapshot", "delete", a, "--store", store, check=False)
    assert p.returncode == 5
