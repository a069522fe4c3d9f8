# SPDX-License-Identifier: Apache-2.0
"""A home whose keystore key is under two master keys: its snapshots record both (manifest field
keystore_master_keys), `keys usage` finds the snapshot through either, and the snapshot restores
with the keystore opened by either key."""
import json
import os


def test_snapshot_records_both_keystore_master_keys(snap, tmp_path):
    home = snap.make_home(rows=300)  # keystore under snap.key (K1)
    k2 = tmp_path / "k2.key"
    k2.write_bytes(os.urandom(32))
    k2.chmod(0o600)
    snap.wtkms("keys", "add-master-key", "--home", home, "--key-file", snap.key,
               "--new-key-file", k2)
    st = json.loads(snap.wtkms("keys", "status", "--home", home, "--json").stdout)
    ids = [m["key"]["key_id"] for m in st["master_keys"]]
    assert len(ids) == 2

    store = tmp_path / "store"
    sid = snap.create(home, store)  # snapshot key under K1
    entry = snap.list(store)[0]
    assert [k["key_id"] for k in entry["keystore_master_keys"]] == ids
    assert entry["keystore_master_key"]["key_id"] == ids[0]

    out = json.loads(snap.wtkms("keys", "usage", ids[1], "--store", store, "--json",
                                check=False).stdout)
    assert [(d["id"], d["via"]) for d in out["dependents"]] == [
        (sid, "keystore inside snapshot (one of its master keys)")]

    # Restore: the snapshot key under K1, the keystore inside opened with K2.
    home_cfg = tmp_path / "home.conf"
    home_cfg.write_text("provider=local\nkey_file=%s\n" % k2)
    home_cfg.chmod(0o600)
    target = tmp_path / "restored"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file",
               snap.key, "--home-config", home_cfg)
    snap.check_rows(target, rows=300, key=k2)
    snap.check_rows(target, rows=300)  # and K1 still opens it
