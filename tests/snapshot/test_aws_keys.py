# SPDX-License-Identifier: Apache-2.0
"""A snapshot whose key is an AWS KMS key (tests/peers/aws_kms_mock.py: SigV4 checked with
botocore, key states as AWS answers them), of a home whose keystore is under a local key: the
snapshot depends on both. Disabled -> restore refused before any byte is written, saying to
re-enable the key; re-enabled -> restore works and every row reads; pending deletion -> refused,
saying to cancel the deletion; deleted -> "cannot be recovered"."""
import json
import os
import time

from conftest import leftovers

REGION = "us-east-1"


def test_restore_follows_the_key_state(snap, tmp_path, s3_env, aws_mock):
    m = aws_mock()
    kms = m.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    creds = m.credentials_file(tmp_path / "awscreds")
    aws = ["--provider", "aws", "--key-id", key, "--region", REGION, "--endpoint", m.url,
           "--credentials-file", creds]
    home = snap.make_home(rows=500)
    home_cfg = tmp_path / "home.conf"
    home_cfg.write_text("provider=local\nkey_file=%s\n" % snap.key)
    home_cfg.chmod(0o600)
    store = tmp_path / "store"
    sid = snap.create(home, store, "--home-config", home_cfg, *aws, keyflags=False)

    entry = snap.list(store)[0]
    assert entry["master_key"]["provider"] == "aws" and entry["master_key"]["key_id"] == key
    assert entry["encryption_key_id"].startswith("aws:%s" % key)
    assert entry["keystore_master_key"]["provider"] == "local"
    assert m.secret not in (store / "snapshots" / sid / "manifest").read_bytes().decode("latin1")

    target = tmp_path / "restored"

    def restore(check=True):
        before = os.stat(tmp_path).st_mtime_ns
        time.sleep(0.02)
        p = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, *aws,
                       "--home-config", home_cfg, check=check)
        if p.returncode != 0:  # refused: not even a temporary directory came and went
            assert os.stat(tmp_path).st_mtime_ns == before
        return p

    def refused(p, *needles):
        assert p.returncode == 3, p.stderr
        for n in needles:
            assert n in p.stderr, (n, p.stderr)
        assert "nothing was written" in p.stderr
        assert not target.exists() and leftovers(tmp_path, "restored") == []

    kms.disable_key(KeyId=key)
    refused(restore(check=False), "is disabled", "re-enable key %s" % key)
    v = snap.wtkms("snapshot", "verify", sid, "--store", store, *aws, "--home-config", home_cfg,
                   check=False)
    assert v.returncode == 3 and "is disabled" in v.stderr

    kms.enable_key(KeyId=key)
    restore()
    assert "checked 500 rows" in snap.check_rows(target, rows=500).stdout

    target2 = tmp_path / "restored2"
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    p = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target2, *aws,
                   "--home-config", home_cfg, check=False)
    assert p.returncode == 3 and "pending deletion" in p.stderr and "cancel" in p.stderr
    assert not target2.exists()
    kms.cancel_key_deletion(KeyId=key)
    kms.enable_key(KeyId=key)
    snap.wtkms("snapshot", "verify", sid, "--store", store, *aws, "--home-config", home_cfg)

    u = snap.wtkms("keys", "usage", key, "--store", store, "--json", check=False)
    assert u.returncode == 6
    assert [(d["id"], d["via"]) for d in json.loads(u.stdout)["dependents"]] == [
        (sid, "snapshot key")]

    m.delete_key(key)
    p = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target2, *aws,
                   "--home-config", home_cfg, check=False)
    assert p.returncode == 3 and "was deleted: this snapshot cannot be recovered" in p.stderr
    assert not target2.exists()
