# SPDX-License-Identifier: Apache-2.0
"""Someone with write access to the store and no key: the forged snapshot (a --no-encryption
snapshot given an existing encrypted snapshot's id) must not restore or verify while a master key
is configured; a "Not enabled" snapshot of an encrypted home must not restore without the key of
the keystore inside it; that key's state (AWS disabled) stops restore before anything is written;
a restored home opens with plain `wt` (no -R) and keeps its rows."""
import hashlib
import json
import shutil

import bson
import pytest
from bson.binary import Binary

from conftest import TAG, clear_aad, leftovers, manifest_path, records
REGION = "us-east-1"


def reissue(store, old, new):
    """Give unencrypted snapshot `old` the id `new`, as anyone can: rename it, rewrite the id in
    its manifest, recompute the keyless checksum and every chunk's check value (its AAD holds
    the id)."""
    root = store / "snapshots"
    env = bson.decode(manifest_path(store, old).read_bytes())
    body = env["body"]
    assert body["encryption"]["enabled"] is False
    body["id"] = new
    csize = body["chunk_size"]
    for fi, f in enumerate(body["files"]):
        obj = root / old / "files" / ("%08d" % fi)
        data = bytearray(obj.read_bytes())
        recs = records(data, f["size"], csize)
        for i, r in enumerate(recs):
            aad = clear_aad(new, fi, i, i + 1 == len(recs), r)
            p, n = r["payload"], r["stored"]
            data[p + n:p + n + TAG] = hashlib.sha256(aad + data[p:p + n]).digest()[:TAG]
        obj.write_bytes(bytes(data))
    env["body"] = body
    env["mac"] = Binary(hashlib.sha256(bson.encode(body)).digest())
    manifest_path(store, old).write_bytes(bson.encode(env))
    (root / old).rename(root / new)


def test_forged_snapshot_under_an_existing_id(snap, tmp_path):
    home = snap.make_home(rows=300)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    forged_home = snap.make_home(name="forged", rows=40, encrypted=False)
    fid = snap.create(forged_home, store, "--no-encryption", keyflags=False)
    shutil.rmtree(store / "snapshots" / sid)
    reissue(store, fid, sid)

    # Listing needs no key and shows what is there.
    assert [(s["id"], s["encryption_key_id"]) for s in snap.list(store)] == [(sid, "Not enabled")]
    target = tmp_path / "restored"
    for cmd in (["restore", sid, "--to", target], ["verify", sid]):
        p = snap.wtkms("snapshot", *cmd, "--store", store, "--key-file", snap.key, check=False)
        assert p.returncode == 4, (cmd, p.returncode, p.stderr)
        assert "is not encrypted" in p.stderr and "--allow-unencrypted" in p.stderr, p.stderr
    assert not target.exists() and leftovers(tmp_path, "restored") == []
    # Only an explicit --allow-unencrypted lets it through (and then it is what it is).
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key, "--allow-unencrypted")
    assert "checked 40 rows" in snap.check_rows(target, rows=40, encrypted=False).stdout


def test_not_enabled_snapshot_of_an_encrypted_home_needs_its_keystore_key(snap, tmp_path):
    home = snap.make_home(rows=300)
    store = tmp_path / "store"
    sid = snap.create(home, store, "--no-encryption")
    entry = snap.list(store)[0]
    assert entry["encryption_key_id"] == "Not enabled"
    assert entry["keystore_master_key"]["provider"] == "local"
    target = tmp_path / "r"
    for cmd in (["restore", sid, "--to", target], ["verify", sid]):
        p = snap.wtkms("snapshot", *cmd, "--store", store, check=False)
        assert p.returncode == 2, (cmd, p.stderr)
        assert "keystore" in p.stderr and "nothing was written" in p.stderr, p.stderr
    assert not target.exists() and leftovers(tmp_path, "r") == []
    # Another local key than the keystore's: refused by name, before anything is written.
    other = tmp_path / "other.key"
    other.write_bytes(b"\x07" * 32)
    other.chmod(0o600)
    p = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
                   other, "--allow-unencrypted", check=False)
    assert p.returncode == 3 and "keystore" in p.stderr, p.stderr
    assert not target.exists()
    # With the key: still unencrypted, so still refused unless allowed.
    p = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
                   snap.key, check=False)
    assert p.returncode == 4 and "is not encrypted" in p.stderr
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key, "--allow-unencrypted")
    assert "checked 300 rows" in snap.check_rows(target, rows=300).stdout


def test_keystore_key_disabled_in_aws(snap, tmp_path, s3_env, aws_mock):
    """The home's keystore is under an AWS KMS key; the snapshot has no key of its own. A
    disabled key stops restore and verify with AWS's reason before anything is written."""
    m = aws_mock()
    kms = m.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    creds = m.credentials_file(tmp_path / "awscreds")
    aws = ["--provider", "aws", "--key-id", key, "--region", REGION, "--endpoint", m.url,
           "--credentials-file", creds]
    settings = ('provider=aws,key_id="%s",region="%s",endpoint="%s",credentials_file="%s"'
                % (key, REGION, m.url, creds))
    home = tmp_path / "db"
    home.mkdir()
    conn = snap.line.ext_config(settings) + ",encryption=(name=wtkms,keyid=system)"
    snap.line.run([snap.rows_prog, "write", home, "create," + conn,
                   "encryption=(name=wtkms,keyid=tbl)", 200, 100])
    store = tmp_path / "store"
    sid = snap.create(home, store, "--no-encryption", *aws, keyflags=False)
    assert snap.list(store)[0]["keystore_master_key"]["key_id"] == key

    target = tmp_path / "restored"
    kms.disable_key(KeyId=key)
    for cmd in (["restore", sid, "--to", target], ["verify", sid]):
        p = snap.wtkms("snapshot", *cmd, "--store", store, "--allow-unencrypted", *aws,
                       check=False)
        assert p.returncode == 3, (cmd, p.stderr)
        assert "keystore master key" in p.stderr and "is disabled" in p.stderr, p.stderr
        assert "re-enable key %s" % key in p.stderr and "nothing was written" in p.stderr
    assert not target.exists() and leftovers(tmp_path, "restored") == []
    kms.enable_key(KeyId=key)
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target,
               "--allow-unencrypted", *aws)
    assert "checked 200 rows" in snap.line.run([snap.rows_prog, "check", target, conn, 200,
                                                100]).stdout


def dump_rows(line, home, config):
    """`wt dump` of table:t without -R: the keys it shows."""
    p = line.run([line.wt, "-h", home, "-C", config, "dump", "table:t"], check=False)
    return p, [ln for ln in p.stdout.splitlines() if ln.startswith("key-")]


def test_restored_home_opens_with_plain_wt(snap, tmp_path):
    """restore finishes WiredTiger's recovery: the first open by `wt` without -R keeps every
    row. Without it, on a home that logs (as mongod's does, in journal/), that open fails with
    "recovery must be run" after consuming WiredTiger.backup, and the home has no tables left."""
    home = tmp_path / "db"
    (home / "journal").mkdir(parents=True)
    log = "log=(enabled=true,path=journal)"
    snap.line.run([snap.rows_prog, "write", home, snap.conn_config(create=True) + "," + log,
                   "encryption=(name=wtkms,keyid=tbl)", 120, 50])
    store = tmp_path / "store"
    sid = snap.create(home, store, "--wt-config", "encryption=(name=wtkms,keyid=system)," + log)
    conn = snap.conn_config()
    target = tmp_path / "restored"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key)
    p, keys = dump_rows(snap.line, target, conn)
    assert p.returncode == 0 and len(keys) == 120, (p.stderr[-2000:], p.stdout[-500:])
    assert not (target / "WiredTiger.backup").exists()
    # A second plain open still sees them, and so does an open with the home's own settings.
    p, keys = dump_rows(snap.line, target, conn)
    assert len(keys) == 120
    p = snap.line.run([snap.rows_prog, "check", target, conn + "," + log, 120, 50])
    assert "checked 120 rows" in p.stdout

    # --no-recover leaves it to the first open, as before: the copy still holds its
    # WiredTiger.backup.
    raw = tmp_path / "raw"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", raw, "--key-file",
               snap.key, "--no-recover")
    assert (raw / "WiredTiger.backup").exists()


def test_restored_plain_home_opens_with_plain_wt(snap, tmp_path):
    home = snap.make_home(rows=60, vlen=30, encrypted=False)
    store = tmp_path / "store"
    sid = snap.create(home, store, keyflags=True)
    target = tmp_path / "restored"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key, "--json")
    p, keys = dump_rows(snap.line, target, "")
    assert p.returncode == 0 and len(keys) == 60, (p.stderr, p.stdout[-500:])
