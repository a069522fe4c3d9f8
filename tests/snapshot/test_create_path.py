# SPDX-License-Identifier: Apache-2.0
"""snapshot create's straight path: the settings are parsed once, one provider is built, and the
home's keystore is unlocked once, by the command itself; the home is opened with the command's
own encryptor (a WiredTiger "local" extension), not by loading libwtkms.so with the settings
turned back into a string."""
import json
import os
import shutil


def _lonely_command(snap, tmp_path):
    """A copy of this line's wtkms with no libwtkms.so beside it."""
    d = tmp_path / "bin"
    d.mkdir()
    exe = d / "wtkms"
    shutil.copy2(snap.line.wtkms, exe)
    return exe


def test_create_needs_no_extension_library(snap, tmp_path):
    home = snap.make_home()
    store = tmp_path / "store"
    exe = _lonely_command(snap, tmp_path)
    p = snap.line.run([exe, "snapshot", "create", "--home", home, "--store", store, "--json",
                       "--key-file", snap.key])
    sid = json.loads(p.stdout)["id"]
    # The snapshot is whole: the usual command verifies and restores it, and the rows read back.
    snap.wtkms("snapshot", "verify", sid, "--store", store, "--key-file", snap.key)
    out = tmp_path / "restored"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", out, "--key-file", snap.key)
    snap.check_rows(out)


def test_wrong_key_named_before_any_open(snap, tmp_path):
    """The unlock happens in the command, so a wrong key is reported as the keystore's own error
    (the home and its keystore named), and nothing is written to the store."""
    home = snap.make_home()
    store = tmp_path / "store"
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", store, "--key-file", other,
                   check=False)
    assert p.returncode != 0
    assert "home %s" % home in p.stderr, p.stderr
    assert "keystore" in p.stderr, p.stderr
    assert not (store / "snapshots").exists() or not any((store / "snapshots").iterdir())


def test_extension_path_still_loads_the_library(snap, tmp_path):
    """--extension PATH keeps the extension of the caller's choice: a missing one is named."""
    home = snap.make_home()
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", tmp_path / "store",
                   "--key-file", snap.key, "--extension", tmp_path / "nowhere.so", check=False)
    assert p.returncode != 0
    assert "nowhere.so" in p.stderr, p.stderr


def test_home_config_is_read_as_the_extension_reads_it(snap, tmp_path):
    """--home-config FILE may be the very file mongod's extension reads (config_file=FILE): its
    extension-only settings are accepted, and a config_file naming another file is refused as the
    extension refuses it."""
    home = snap.make_home()
    shared = tmp_path / "wtkms.conf"
    shared.write_text("provider=local\nkey_file=%s\nrotation_alert_days=30\ncreate=false\n"
                      "config_file=%s\n" % (snap.key, shared))
    shared.chmod(0o600)
    sid = snap.create(home, tmp_path / "store", "--home-config", shared)
    snap.wtkms("snapshot", "verify", sid, "--store", tmp_path / "store", "--key-file", snap.key,
               "--home-config", shared)

    other = tmp_path / "other.conf"
    other.write_text("provider=local\nkey_file=%s\n" % snap.key)
    other.chmod(0o600)
    shared.write_text("provider=local\nkey_file=%s\nconfig_file=%s\n" % (snap.key, other))
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", tmp_path / "store2",
                   "--key-file", snap.key, "--home-config", shared, check=False)
    assert p.returncode != 0
    assert "may not name another file" in p.stderr and str(shared) in p.stderr, p.stderr
    assert not (tmp_path / "store2" / "snapshots").exists() or \
        not any((tmp_path / "store2" / "snapshots").iterdir())
