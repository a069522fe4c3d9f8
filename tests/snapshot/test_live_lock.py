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

import pytest
from bson.timestamp import Timestamp
from mockupdb import MockupDB


class LockingMongod:
    def __init__(self, home=None, lock_delay=0.0, refuse_lock=False):
        self.home = home
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
        s.autoresponds("fsync", self._lock)
        s.autoresponds("fsyncUnlock", self._unlock)

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
    assert p.returncode == 2 and "--fsync-lock needs --uri" in p.stderr, p.stderr
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", tmp_path / "s",
                   "--key-file", snap.key, "--fsync-lock", "--fsync-locked", "--uri",
                   "mongodb://127.0.0.1:1/", check=False)
    assert p.returncode == 2 and "not both" in p.stderr, p.stderr
