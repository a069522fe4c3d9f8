# SPDX-License-Identifier: Apache-2.0
"""snapshot create --fsync-lock --uri: wtkms locks the mongod itself (db.fsyncLock()), reads the
oplog time, clones the files with reflinks (FICLONE) where the filesystem has them, unlocks, and
only then encrypts and stores the clones. The write stall is the cloning, reported as lock_ms.

The mongod is scripted (mockupdb): it records lock and unlock, and when unlocked it "resumes
writing" by overwriting every data file of the home, so a snapshot that read the live files after
the unlock would restore garbage. The reflink path runs on a loop-mounted XFS image (root, and
mkfs.xfs from xfsprogs, which scripts/setup-tests.sh installs); elsewhere (ext4) the files cannot
be cloned, and the lock is held until they are read.
"""
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import bson
import pytest
from bson.int64 import Int64
from bson.timestamp import Timestamp
from mockupdb import MockupDB


class LockingMongod:
    def __init__(self, home=None, lock_delay=0.0, refuse_lock=False, backup_cursor=False,
                 getmore_error=None):
        self.home = home
        self.backup_cursor = backup_cursor
        self.getmore_error = getmore_error
        self.listed = {}           # name -> size the backup cursor reported
        self.getmores = 0          # after the listing (keepalives)
        self.killed = []
        self.events = []
        self.locked = False
        self.lock_delay = lock_delay
        self.refuse_lock = refuse_lock
        self.server = MockupDB(auto_ismaster={"ismaster": True, "maxWireVersion": 17,
                                              "minWireVersion": 0, "setName": "rs0",
                                              "hosts": ["placeholder"]})
        s = self.server
        s.run()
        s.autoresponds("hello", ismaster=True, maxWireVersion=17, minWireVersion=0,
                       setName="rs0", hosts=["placeholder"])
        s.autoresponds("currentOp", lambda r: r.ok(inprog=[], fsyncLock=self.locked))
        s.autoresponds({"find": "oplog.rs"}, cursor={
            "id": 0, "ns": "local.oplog.rs",
            "firstBatch": [{"ts": Timestamp(1732570200, 3), "t": 7, "op": "n", "o": {}}]})
        s.autoresponds(self._dispatch)

    def _dispatch(self, r):
        name = (r.command_name or "").lower() if r.is_command else ""
        handler = {"fsync": self._lock, "fsyncunlock": self._unlock,
                   "aggregate": self._aggregate, "getmore": self._getmore,
                   "killcursors": self._kill}.get(name)
        return handler(r) if handler else False

    def _aggregate(self, r):
        if not self.backup_cursor or "$backupCursor" not in r.doc["pipeline"][0]:
            return r.command_err(code=40324,
                                 errmsg="Unrecognized pipeline stage name: '$backupCursor'")
        meta = {"metadata": {"backupId": bson.Binary(b"\x01" * 16, 4),
                             "dbpath": str(self.home),
                             "oplogStart": {"ts": Timestamp(1732570100, 1), "t": Int64(-1)},
                             "oplogEnd": {"ts": Timestamp(1732570300, 9), "t": Int64(8)},
                             "checkpointTimestamp": Timestamp(1732570290, 1),
                             "disableIncrementalBackup": False, "incrementalBackup": False,
                             "blockSize": Int64(16)}}
        files = []
        for dirpath, _, names in os.walk(self.home):
            for n in sorted(names):
                if n in ("WiredTiger.lock", "mongod.lock", "wtkms.keystore", "wtkms.keystore.lock"):
                    continue
                p = os.path.join(dirpath, n)
                size = os.path.getsize(p)
                self.listed[os.path.relpath(p, self.home)] = size
                files.append({"filename": p, "fileSize": Int64(size), "used": True})
        # The first batch holds the metadata and two files; the rest come by getMore.
        self.pending = files[2:]
        return r.ok(cursor={"id": Int64(77), "ns": "admin.$cmd.aggregate",
                            "firstBatch": [meta] + files[:2]})

    def _getmore(self, r):
        if self.pending:
            batch, self.pending = self.pending, []
            return r.ok(cursor={"id": Int64(77), "ns": "admin.$cmd.aggregate",
                                "nextBatch": batch})
        self.getmores += 1
        if self.getmores == 1 and self.home is not None:
            # The server goes on writing after the listing: files grow past fileSize.
            for name in self.listed:
                with open(os.path.join(self.home, name), "ab") as f:
                    f.write(b"\xee" * 4096)
        if self.getmore_error and self.getmores >= 2:    # a keepalive, after the listing
            return r.command_err(code=43, errmsg=self.getmore_error)
        return r.ok(cursor={"id": Int64(77), "ns": "admin.$cmd.aggregate", "nextBatch": []})

    def _kill(self, r):
        self.killed.extend(r.doc.get("cursors", []))
        return r.ok(cursorsKilled=r.doc.get("cursors", []))

    def _lock(self, r):
        if not r.doc.get("lock"):
            return r.command_err(code=2, errmsg="expected lock: true")
        if self.refuse_lock:
            return r.command_err(code=13, errmsg="not authorized on admin to execute command")
        self.events.append("lock")
        self.locked = True
        time.sleep(self.lock_delay)
        return r.ok(info="now locked against writes", lockCount=1)

    def _unlock(self, r):
        self.events.append("unlock")
        self.locked = False
        if self.home is not None:
            # Writes resume: every data file of the home changes under the snapshot's feet.
            for dirpath, _, names in os.walk(self.home):
                for n in names:
                    if n.endswith(".wt") and ".wtkms-clone-" not in dirpath:
                        p = os.path.join(dirpath, n)
                        size = os.path.getsize(p)
                        with open(p, "r+b") as f:
                            f.write(b"\xee" * size)
        return r.ok(info="fsyncUnlock completed", lockCount=0)

    @property
    def uri(self):
        return "mongodb://127.0.0.1:%d/?directConnection=true" % self.server.port

    def stop(self):
        self.server.stop()


@pytest.fixture
def xfs(tmp_path):
    """A loop-mounted XFS filesystem with reflinks."""
    if os.geteuid() != 0:
        pytest.skip("mounting a loop XFS image needs root; the reflink path is untested here")
    mkfs = shutil.which("mkfs.xfs") or "/sbin/mkfs.xfs"
    if not os.path.exists(mkfs):
        pytest.fail("mkfs.xfs is missing: run scripts/setup-tests.sh (installs xfsprogs)")
    img = tmp_path / "xfs.img"
    with open(img, "wb") as f:
        f.truncate(320 * 1024 * 1024)
    subprocess.run([mkfs, "-q", "-m", "reflink=1", str(img)], check=True)
    mnt = tmp_path / "xfs"
    mnt.mkdir()
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def create(snap, home, store, mongod, *extra, check=True):
    args = ["snapshot", "create", "--home", home, "--store", store, "--json", "--key-file",
            snap.key, "--fsync-lock", "--uri", mongod.uri] + list(extra)
    return snap.wtkms(*args, check=check)


def restore_and_check(snap, store, sid, target, rows):
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key)
    assert ("checked %d rows" % rows) in snap.check_rows(target, rows=rows).stdout


@pytest.mark.parametrize("where", ["inside", "mount-root"])
def test_reflink_unlocks_before_reading(snap, tmp_path, xfs, where):
    """On XFS: locked, cloned, unlocked, then read. The server's writes right after the unlock
    do not reach the snapshot."""
    snap.tmp = xfs
    if where == "inside":
        home = snap.make_home(rows=300)
    else:
        snap.tmp = xfs.parent
        xfs_home = snap.make_home(name="seed", rows=300)
        for p in xfs_home.iterdir():      # the home is the filesystem's root
            shutil.move(str(p), str(xfs / p.name))
        xfs_home.rmdir()
        home = xfs
    mongod = LockingMongod(home=home)
    try:
        store = tmp_path / "store"
        p = create(snap, home, store, mongod)
        j = json.loads(p.stdout)
        assert mongod.events == ["lock", "unlock"] and not mongod.locked
        assert j["source"]["method"] == "fsync_lock_reflink", j
        assert isinstance(j["lock_ms"], int) and j["lock_ms"] >= 0
        assert j["oplog_ts"] == {"t": 1732570200, "i": 3}
        # No clone left behind, beside or inside the home.
        assert not [x for x in list(xfs.iterdir()) + list(home.iterdir())
                    if x.name.startswith(".wtkms-clone-")]
        restore_and_check(snap, store, j["id"], tmp_path / "r", 300)
    finally:
        mongod.stop()


def test_without_reflinks_the_lock_covers_the_copy(snap, tmp_path):
    """On ext4 (no FICLONE) the files are read under the lock, and the summary says so."""
    home = snap.make_home(rows=300)
    mongod = LockingMongod(home=home)
    try:
        store = tmp_path / "store"
        p = create(snap, home, store, mongod)
        j = json.loads(p.stdout)
        assert mongod.events == ["lock", "unlock"] and not mongod.locked
        assert j["source"]["method"] == "fsync_lock", j
        restore_and_check(snap, store, j["id"], tmp_path / "r", 300)
        # And the human summary says why the lock was held during the copy.
        mongod.home = None
        mongod.events.clear()
        p = snap.wtkms("snapshot", "create", "--home", tmp_path / "r", "--store", store,
                       "--key-file", snap.key, "--fsync-lock", "--uri", mongod.uri)
        assert "could not be cloned" in p.stderr and "blocked for" in p.stderr, p.stderr
    finally:
        mongod.stop()


def test_unlocked_after_a_failure(snap, tmp_path):
    """A snapshot that fails after the lock (here: the store cannot be written) unlocks."""
    home = snap.make_home(rows=20)
    mongod = LockingMongod()
    try:
        store = tmp_path / "store-is-a-file"
        store.write_text("x")
        p = create(snap, home, store, mongod, check=False)
        assert p.returncode != 0
        assert mongod.events == ["lock", "unlock"] and not mongod.locked, mongod.events
    finally:
        mongod.stop()


def test_refused_lock_is_named(snap, tmp_path):
    home = snap.make_home(rows=20)
    mongod = LockingMongod(refuse_lock=True)
    try:
        store = tmp_path / "store"
        p = create(snap, home, store, mongod, check=False)
        assert p.returncode != 0 and "fsync with lock" in p.stderr and "not authorized" in p.stderr
        assert not store.exists() or not list(store.rglob("manifest"))
        assert mongod.events == [] and not mongod.locked
    finally:
        mongod.stop()


def test_sigterm_waits_for_the_unlock(snap, tmp_path):
    """SIGTERM while the server is locked: wtkms unlocks before it ends."""
    home = snap.make_home(rows=20)
    mongod = LockingMongod(lock_delay=1.5)
    try:
        store = tmp_path / "store"
        args = [str(snap.line.wtkms), "snapshot", "create", "--home", str(home), "--store",
                str(store), "--key-file", str(snap.key), "--fsync-lock", "--uri", mongod.uri]
        proc = subprocess.Popen(args, env=snap.line.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while "lock" not in mongod.events and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        assert mongod.events == ["lock", "unlock"] and not mongod.locked, mongod.events
    finally:
        mongod.stop()


def test_flag_combinations(snap, tmp_path):
    home = snap.make_home(rows=5)
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", tmp_path / "s",
                   "--key-file", snap.key, "--fsync-lock", check=False)
    assert p.returncode == 2 and "need --uri" in p.stderr, p.stderr
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", tmp_path / "s",
                   "--key-file", snap.key, "--fsync-lock", "--fsync-locked", "--uri",
                   "mongodb://127.0.0.1:1/", check=False)
    assert p.returncode == 2 and "give one of --live, --fsync-lock" in p.stderr, p.stderr


def test_backup_cursor_no_lock(snap, tmp_path):
    """A server with $backupCursor: no lock at all; the files as the cursor listed them (its
    fileSize, although the server appends after the listing), the cursor kept open while copying
    and closed after; the snapshot records oplogEnd and its term."""
    home = snap.make_home(rows=300)
    originals = {p.relative_to(home).as_posix(): p.read_bytes() for p in home.rglob("*")
                 if p.is_file()}
    mongod = LockingMongod(home=home, backup_cursor=True)
    try:
        store = tmp_path / "store"
        p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--json",
                       "--key-file", snap.key, "--live", "--uri", mongod.uri,
                       env={"WTKMS_TEST_BACKUP_KEEPALIVE_MS": "1"})
        j = json.loads(p.stdout)
        assert mongod.events == [] and not mongod.locked
        assert j["source"]["method"] == "mongod_backup_cursor" and j["lock_ms"] == 0, j
        assert j["oplog_ts"] == {"t": 1732570300, "i": 9}, j
        assert mongod.getmores >= 1 and mongod.killed == [77], (mongod.getmores, mongod.killed)
        target = tmp_path / "r"
        snap.wtkms("snapshot", "restore", sid := j["id"], "--store", store, "--to", target,
                   "--key-file", snap.key, "--no-recover")
        for name, size in mongod.listed.items():
            assert (target / name).read_bytes() == originals[name][:size], name
        assert (target / "wtkms.keystore").exists()
        show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
        assert show["oplog_ts"] == {"t": 1732570300, "i": 9}
    finally:
        mongod.stop()


def test_backup_cursor_lost_fails_the_snapshot(snap, tmp_path):
    """The cursor cannot be kept open (the server answers CursorNotFound): the copy may not be
    consistent, so no snapshot is made."""
    home = snap.make_home(rows=300)
    mongod = LockingMongod(home=home, backup_cursor=True, getmore_error="cursor id 77 not found")
    try:
        store = tmp_path / "store"
        p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--json",
                       "--key-file", snap.key, "--live", "--uri", mongod.uri,
                       env={"WTKMS_TEST_BACKUP_KEEPALIVE_MS": "1"}, check=False)
        assert p.returncode != 0 and "could not be kept open" in p.stderr, p.stderr
        assert snap.list(store) == [] if store.exists() else True
    finally:
        mongod.stop()


def test_live_without_backup_cursor_locks(snap, tmp_path):
    """MongoDB Community has no $backupCursor: --live locks instead (here on ext4: the lock
    covers the copy)."""
    home = snap.make_home(rows=50)
    mongod = LockingMongod(home=home)
    try:
        store = tmp_path / "store"
        p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--json",
                       "--key-file", snap.key, "--live", "--uri", mongod.uri)
        j = json.loads(p.stdout)
        assert mongod.events == ["lock", "unlock"] and j["source"]["method"] == "fsync_lock", j
        restore_and_check(snap, store, j["id"], tmp_path / "r", 50)
    finally:
        mongod.stop()
