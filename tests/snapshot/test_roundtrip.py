# SPDX-License-Identifier: Apache-2.0
"""Snapshot create -> list -> show -> verify -> restore -> open the restored home and read every
row, on both WiredTiger lines, with the local provider; unencrypted snapshots list "Not
enabled"; the stored objects never hold the data in clear; restore refuses a non-empty target;
the oplog timestamp is recorded; progress bars only on a terminal."""
import json
import os
import pty
import subprocess

import pytest

from conftest import CHUNK, objects


def test_create_list_verify_restore_read(snap, tmp_path):
    home = snap.make_home()
    store = tmp_path / "store"
    sid = snap.create(home, store)

    listing = snap.list(store)
    assert [s["id"] for s in listing] == [sid]
    entry = listing[0]
    assert entry["encryption_key_id"].startswith("local:local-")
    assert entry["size"] > 400 * 2000 and entry["created"].endswith("Z")
    assert entry["master_key"]["provider"] == "local"
    # The home's keystore is under the same local key here.
    assert entry["keystore_master_key"]["key_id"] == entry["master_key"]["key_id"]
    assert entry["source"]["method"] == "backup_cursor"
    assert entry["wiredtiger_version"].startswith("WiredTiger %s" % snap.line.name)

    text = snap.wtkms("snapshot", "list", "--store", store).stdout
    assert sid in text and "local:local-" in text

    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
    names = [f["name"] for f in show["files"]]
    assert "wtkms.keystore" in names and "t.wt" in names and "WiredTiger.backup" in names
    assert show["chunk_size"] == CHUNK
    assert show["authenticated"] is False  # no key was used to read it
    t = next(f for f in show["files"] if f["name"] == "t.wt")
    assert t["chunks"] == (t["size"] + CHUNK - 1) // CHUNK and t["chunks"] >= 4

    v = snap.wtkms("snapshot", "verify", sid, "--store", store, "--key-file", snap.key, "--json")
    assert json.loads(v.stdout)["verified"] is True

    target = tmp_path / "restored"
    r = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target,
                   "--key-file", snap.key, "--json")
    assert json.loads(r.stdout)["to"] == str(target)
    # Every file came back, and restore finished WiredTiger's recovery: WiredTiger.backup was
    # consumed by that open (test_forgery.py opens the result with plain wt).
    restored = {p.name for p in target.iterdir()}
    assert set(names) - {"WiredTiger.backup"} <= restored and "WiredTiger.backup" not in restored
    assert "checked 2000 rows" in snap.check_rows(target).stdout
    # Nothing left beside the target.
    assert [p.name for p in tmp_path.iterdir() if "wtkms-restore" in p.name] == []


def test_restore_into_empty_directory_and_refuse_nonempty(snap, tmp_path):
    home = snap.make_home(rows=200)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    empty = tmp_path / "empty"
    empty.mkdir()
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", empty, "--key-file", snap.key)
    assert "checked 200 rows" in snap.check_rows(empty, rows=200).stdout

    full = tmp_path / "full"
    full.mkdir()
    (full / "precious").write_text("keep me")
    p = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", full,
                   "--key-file", snap.key, check=False)
    assert p.returncode == 6 and "not empty" in p.stderr
    assert [x.name for x in full.iterdir()] == ["precious"]


def test_no_encryption_lists_not_enabled(snap, tmp_path):
    home = snap.make_home(rows=300)
    store = tmp_path / "store"
    sid = snap.create(home, store, "--no-encryption")
    entry = snap.list(store)[0]
    assert entry["encryption_key_id"] == "Not enabled"
    assert entry["master_key"] is None
    # It still depends on the keystore's master key: the data inside is wtkms-encrypted.
    assert entry["keystore_master_key"]["provider"] == "local"
    assert "Not enabled" in snap.wtkms("snapshot", "list", "--store", store).stdout
    # The snapshot layer has no key, but the home inside it has: restore and verify check the
    # keystore's key first, and with a key configured an unencrypted snapshot needs
    # --allow-unencrypted (tests/snapshot/test_forgery.py has the refusals).
    snap.wtkms("snapshot", "verify", sid, "--store", store, "--key-file", snap.key,
               "--allow-unencrypted")
    target = tmp_path / "r"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key, "--allow-unencrypted")
    assert "checked 300 rows" in snap.check_rows(target, rows=300).stdout


def test_unencrypted_home_data_never_in_clear_in_store(snap, tmp_path):
    """A plain WiredTiger home: the encrypted snapshot's objects must not contain any row value;
    the --no-encryption --no-compress snapshot of the same home does (so the scan can see
    them)."""
    home = snap.make_home(rows=500, vlen=200, encrypted=False)
    probe = subprocess.run([str(snap.rows_prog)], capture_output=True)  # noqa: F841 (built)
    store = tmp_path / "store"
    enc = snap.create(home, store)
    clear = snap.create(home, store, "--no-encryption", "--no-compress", keyflags=False)
    needle = b"key-00000123"
    assert any(needle in p.read_bytes() for p in (home).iterdir() if p.is_file())
    assert not any(needle in p.read_bytes() for p in objects(store, enc))
    assert any(needle in p.read_bytes() for p in objects(store, clear))
    listing = {s["id"]: s for s in snap.list(store)}
    assert listing[clear]["encryption_key_id"] == "Not enabled"
    assert listing[clear]["keystore_master_key"] is None
    assert listing[enc]["keystore_master_key"] is None
    target = tmp_path / "r"
    snap.wtkms("snapshot", "restore", enc, "--store", store, "--to", target, "--key-file", snap.key)
    assert "checked 500 rows" in snap.check_rows(target, rows=500, vlen=200,
                                                 encrypted=False).stdout


def test_oplog_ts_recorded(snap, tmp_path):
    home = snap.make_home(rows=50)
    store = tmp_path / "store"
    sid = snap.create(home, store, "--oplog-ts", "1700000000:7")
    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
    assert show["oplog_ts"] == {"t": 1700000000, "i": 7}
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--key-file", snap.key,
                   "--oplog-ts", "yesterday", check=False)
    assert p.returncode == 2 and "--oplog-ts" in p.stderr


def test_live_home_refused_unless_fsync_locked(snap, tmp_path):
    home = snap.make_home(rows=100)
    store = tmp_path / "store"
    hold = subprocess.Popen([str(snap.rows_prog), "hold", str(home), snap.conn_config()],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=snap.line.env())
    try:
        assert hold.stdout.readline().strip() == "ready"
        p = snap.wtkms("snapshot", "create", "--home", home, "--store", store,
                       "--key-file", snap.key, check=False)
        assert p.returncode == 6, p.stderr
        assert "in use by process %d" % hold.pid in p.stderr and "--fsync-locked" in p.stderr
        assert not (store / "snapshots").exists() or not list((store / "snapshots").iterdir())
        # The home is idle and checkpointed: its files as they are make a consistent copy.
        sid = snap.create(home, store, "--fsync-locked")
    finally:
        hold.stdin.close()
        hold.wait(60)
    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
    assert show["source"]["method"] == "fsync_locked"
    names = {f["name"] for f in show["files"]}
    assert {"WiredTiger.wt", "WiredTiger.turtle", "t.wt", "wtkms.keystore"} <= names
    target = tmp_path / "r"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file", snap.key)
    assert "checked 100 rows" in snap.check_rows(target, rows=100).stdout


def test_progress_only_on_a_terminal(snap, tmp_path):
    home = snap.make_home(rows=100)
    store = tmp_path / "store"
    args = [str(snap.line.wtkms), "snapshot", "create", "--home", str(home), "--store",
            str(store), "--key-file", str(snap.key)]
    p = snap.line.run(args)
    assert "[" not in p.stderr and "\r" not in p.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=slave, stderr=slave, env=snap.line.env())
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(60) == 0
    assert b"create   [" in out and b"100%" in out


def test_journal_in_a_subdirectory(snap, tmp_path):
    """A home with its log in journal/ (as mongod keeps it): --wt-config opens it with logging,
    the backup cursor's log files are found in journal/ and restored there."""
    home = tmp_path / "db"
    (home / "journal").mkdir(parents=True)
    log = "log=(enabled=true,path=journal)"
    snap.line.run([snap.rows_prog, "write", home, snap.conn_config(create=True) + "," + log,
                   "encryption=(name=wtkms,keyid=tbl)", 300, 200])
    store = tmp_path / "store"
    sid = snap.create(home, store, "--wt-config", "encryption=(name=wtkms,keyid=system)," + log)
    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
    logs = [f["name"] for f in show["files"] if "WiredTigerLog." in f["name"]]
    assert logs and all(n.startswith("journal/") for n in logs)
    target = tmp_path / "r"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file", snap.key)
    # Recovery replayed the log where it is (journal/) before restore renamed the home in.
    assert any(p.name.startswith("WiredTigerLog.") for p in (target / "journal").iterdir())
    p = snap.line.run([snap.rows_prog, "check", target, snap.conn_config() + "," + log, 300, 200])
    assert "checked 300 rows" in p.stdout
