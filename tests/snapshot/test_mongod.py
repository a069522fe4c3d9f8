# SPDX-License-Identifier: Apache-2.0
"""snapshot create --fsync-locked --uri: the consistent oplog timestamp is read from the mongod
(a scripted mongod on mockupdb) only while it reports fsyncLock; an unlocked mongod is refused
before anything is copied; a URI carrying a password is refused."""
import base64
import json

import pytest
from bson.timestamp import Timestamp
from mockupdb import MockupDB


@pytest.fixture
def mongod():
    server = MockupDB(auto_ismaster={"ismaster": True, "maxWireVersion": 17,
                                     "minWireVersion": 0, "setName": "rs0",
                                     "hosts": ["placeholder"]})
    server.run()
    # A mongod since 4.4.2 answers "hello" as it answers "isMaster".
    server.autoresponds("hello", ismaster=True, maxWireVersion=17, minWireVersion=0,
                        setName="rs0", hosts=["placeholder"])
    server.locked = True
    server.autoresponds("currentOp", lambda r: r.ok(inprog=[], fsyncLock=server.locked)
                        if server.locked else r.ok(inprog=[]))
    server.autoresponds({"find": "oplog.rs"}, cursor={
        "id": 0, "ns": "local.oplog.rs",
        "firstBatch": [{"ts": Timestamp(1732570200, 3), "op": "n", "o": {}}]})
    yield server
    server.stop()


def uri(server):
    return "mongodb://127.0.0.1:%d/?directConnection=true" % server.port


def test_oplog_ts_from_a_locked_mongod(snap, tmp_path, mongod):
    home = snap.make_home(rows=50)
    store = tmp_path / "store"
    sid = snap.create(home, store, "--fsync-locked", "--uri", uri(mongod))
    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
    assert show["oplog_ts"] == {"t": 1732570200, "i": 3}
    assert show["source"]["method"] == "fsync_locked"
    target = tmp_path / "r"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target,
               "--key-file", snap.key)
    assert "checked 50 rows" in snap.check_rows(target, rows=50).stdout


def test_unlocked_mongod_refused(snap, tmp_path, mongod):
    mongod.locked = False
    home = snap.make_home(rows=10)
    store = tmp_path / "store"
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--key-file", snap.key,
                   "--fsync-locked", "--uri", uri(mongod), check=False)
    assert p.returncode == 6 and "is not fsync-locked" in p.stderr and "db.fsyncLock()" in p.stderr
    assert not store.exists()


def test_uri_needs_fsync_locked_and_no_password(snap, tmp_path, mongod):
    home = snap.make_home(rows=10)
    store = tmp_path / "store"
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--key-file", snap.key,
                   "--uri", uri(mongod), check=False)
    assert p.returncode == 2 and "--fsync-locked" in p.stderr
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--key-file", snap.key,
                   "--fsync-locked", "--uri",
                   "mongodb://admin:hunter2@127.0.0.1:%d/" % mongod.port, check=False)
    assert p.returncode == 2 and "password" in p.stderr and "hunter2" not in p.stderr


def test_uri_file_with_a_password(snap, tmp_path, mongod):
    """--uri-file FILE: a URI with credentials (here PLAIN, which the scripted mongod can answer;
    SCRAM goes the same way) from a private file; the password reaches the server, never the
    output; a file others can read, or both flags at once, are refused."""
    sasl = []

    def sasl_start(r):
        sasl.append(r.doc)
        return r.ok(conversationId=1, done=True, payload=b"")
    mongod.autoresponds("saslStart", sasl_start)
    home = snap.make_home(rows=20)
    secret = tmp_path / "mongod.uri"
    secret.write_text("mongodb://backup:hunter2@127.0.0.1:%d/?directConnection=true"
                      "&authMechanism=PLAIN&authSource=$external\n" % mongod.port)
    secret.chmod(0o644)
    store = tmp_path / "store"
    args = ["snapshot", "create", "--home", home, "--store", store, "--key-file", snap.key,
            "--fsync-locked", "--uri-file", secret]
    p = snap.wtkms(*args, check=False)
    assert p.returncode == 1 and "chmod 600" in p.stderr and "hunter2" not in p.stderr, p.stderr
    assert not sasl and not store.exists()
    p = snap.wtkms(*(args + ["--uri", uri(mongod)]), check=False)
    assert p.returncode == 2 and "not both" in p.stderr, p.stderr

    secret.chmod(0o600)
    p = snap.wtkms(*(args + ["--json"]))
    assert "hunter2" not in p.stdout + p.stderr
    assert sasl and sasl[0]["mechanism"] == "PLAIN", sasl
    payload = sasl[0]["payload"]
    payload = payload if isinstance(payload, bytes) else base64.b64decode(payload)
    assert payload == b"\0backup\0hunter2", payload
    sid = json.loads(p.stdout)["id"]
    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
    assert show["oplog_ts"] == {"t": 1732570200, "i": 3}
