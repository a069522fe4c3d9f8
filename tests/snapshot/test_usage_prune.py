# SPDX-License-Identifier: Apache-2.0
"""`keys usage` before and after `prune`: a snapshot depends on the key that wraps its snapshot
key AND on the key that wraps the keystore inside it (an unencrypted snapshot of encrypted data
still depends on the latter); deleting a key is reported safe (exit 0) only when nothing in any
store given depends on it, otherwise exit 6."""
import json
import os
import time


def usage(snap, key, *stores, check=False):
    args = ["keys", "usage", key]
    for s in stores:
        args += ["--store", s]
    p = snap.wtkms(*(args + ["--json"]), check=check)
    return p.returncode, json.loads(p.stdout)


def test_keys_usage_through_both_keys_before_and_after_prune(snap, tmp_path):
    home = snap.make_home(rows=100)  # keystore under snap.key (K1)
    k2 = tmp_path / "k2.key"
    k2.write_bytes(os.urandom(32))
    k2.chmod(0o600)
    home_cfg = tmp_path / "home.conf"
    home_cfg.write_text("provider=local\nkey_file=%s\n" % snap.key)
    home_cfg.chmod(0o600)
    store, store2 = tmp_path / "store", tmp_path / "store2"
    store2.mkdir()

    s1 = snap.create(home, store)                                   # K1 + keystore K1
    time.sleep(1.1)
    s2 = snap.create(home, store, "--home-config", home_cfg, key=k2)  # K2 + keystore K1
    time.sleep(1.1)
    s3 = snap.create(home, store, "--no-encryption")                # keystore K1 only
    listing = {s["id"]: s for s in snap.list(store)}
    k1_id = listing[s1]["master_key"]["key_id"]
    k2_id = listing[s2]["master_key"]["key_id"]
    assert k1_id != k2_id and listing[s2]["keystore_master_key"]["key_id"] == k1_id

    code, out = usage(snap, k2_id, store, store2)
    assert code == 6 and out["safe_to_delete"] is False
    assert [(d["id"], d["via"]) for d in out["dependents"]] == [(s2, "snapshot key")]
    code, out = usage(snap, "local:" + k1_id, store, store2)
    assert code == 6
    assert {d["id"]: d["via"] for d in out["dependents"]} == {
        s1: "snapshot key and keystore", s2: "keystore inside snapshot",
        s3: "keystore inside snapshot"}
    text = snap.wtkms("keys", "usage", k1_id, "--store", store, check=False)
    assert text.returncode == 6 and text.stdout.strip().splitlines()[-1].startswith(
        "NOT safe to delete")

    # Keep the newest: s1 and s2 go; K2 is then safe to delete, K1 is not (s3 needs it).
    p = json.loads(snap.wtkms("snapshot", "prune", "--store", store, "--keep-last", "1",
                              "--json").stdout)
    assert sorted(p["deleted"]) == sorted([s1, s2]) and p["kept"] == [s3]
    code, out = usage(snap, k2_id, store, store2)
    assert code == 0 and out["safe_to_delete"] is True and out["dependents"] == []
    text = snap.wtkms("keys", "usage", k2_id, "--store", store, "--store", store2)
    assert text.stdout.strip().splitlines()[-1].startswith("safe to delete")
    code, out = usage(snap, k1_id, store, store2)
    assert code == 6 and [d["id"] for d in out["dependents"]] == [s3]

    # Age-based: nothing is older than a day; everything is older than 0 seconds.
    p = json.loads(snap.wtkms("snapshot", "prune", "--store", store, "--older-than", "1d",
                              "--json").stdout)
    assert p["deleted"] == []
    p = json.loads(snap.wtkms("snapshot", "prune", "--store", store, "--older-than", "0s",
                              "--dry-run", "--json").stdout)
    assert p["deleted"] == [s3] and p["dry_run"] is True
    assert [s["id"] for s in snap.list(store)] == [s3]
    snap.wtkms("snapshot", "prune", "--store", store, "--older-than", "0s")
    assert snap.list(store) == []
    code, out = usage(snap, k1_id, store, store2)
    assert code == 0 and out["safe_to_delete"] is True


def test_keys_usage_unreadable_manifest_is_not_safe(snap, tmp_path):
    home = snap.make_home(rows=10)
    store = tmp_path / "store"
    sid = snap.create(home, store)
    (store / "snapshots" / sid / "manifest").write_bytes(b"garbage")
    p = snap.wtkms("keys", "usage", "local-0000000000000000", "--store", store, check=False)
    assert p.returncode == 6 and "could not be read" in p.stdout
    p = snap.wtkms("snapshot", "list", "--store", store, check=False)
    assert p.returncode == 4 and "damaged" in p.stdout


def test_prune_needs_a_rule(snap, tmp_path):
    p = snap.wtkms("snapshot", "prune", "--store", tmp_path, check=False)
    assert p.returncode == 2 and "--keep-last" in p.stderr
    p = snap.wtkms("snapshot", "prune", "--store", tmp_path, "--older-than", "soon", check=False)
    assert p.returncode == 2
