# SPDX-License-Identifier: Apache-2.0
"""The `wtkms keys` commands with the local provider, on both WiredTiger lines: init, status
(with and without --verify, text and --json), rotate, generate-local, the 365-day rotation
warning, and the exit codes docs/CLI.md promises."""
import json
import os
import stat

import pytest


def conn_config(line, key, create=False):
    cfg = line.ext_config("provider=local,key_file=%s" % key)
    cfg += ",encryption=(name=wtkms,keyid=system)"
    return ("create," if create else "") + cfg


def make_db(line, home, key, rows=("k1", "v1", "k2", "v2")):
    home.mkdir(exist_ok=True)
    line.wtcmd(home, conn_config(line, key, create=True), "create", "-c",
               "key_format=S,value_format=S,encryption=(name=wtkms,keyid=tbl)", "table:t")
    line.wtcmd(home, conn_config(line, key), "write", "table:t", *rows)


def dump(line, home, key, check=True):
    return line.wtcmd(home, conn_config(line, key), "dump", "table:t", check=check)


def test_generate_local_mode_and_no_overwrite(wtline, tmp_path):
    key = tmp_path / "k"
    wtline.run([wtline.wtkms, "keys", "generate-local", "--key-file", key])
    assert key.stat().st_size == 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    p = wtline.run([wtline.wtkms, "keys", "generate-local", "--key-file", key], check=False)
    assert p.returncode == 6 and "refusing to overwrite" in p.stderr
    assert key.read_bytes() == before
    b64 = tmp_path / "k64"
    wtline.run([wtline.wtkms, "keys", "generate-local", "--key-file", b64, "--format", "base64"])
    assert len(b64.read_text().strip()) == 44


def test_init_then_database_opens(wtline, tmp_path, local_key):
    home = tmp_path / "db"
    home.mkdir()
    p = wtline.run([wtline.wtkms, "keys", "init", "--home", home, "--key-file", local_key,
                    "--json"])
    out = json.loads(p.stdout)
    assert out["master_key"].startswith("local:local-")
    assert (home / "wtkms.keystore").exists()
    p = wtline.run([wtline.wtkms, "keys", "init", "--home", home, "--key-file", local_key],
                   check=False)
    assert p.returncode == 6 and "already has a keystore" in p.stderr
    make_db(wtline, home, local_key)
    assert "v2" in dump(wtline, home, local_key).stdout


def test_status_json_shape(wtline, tmp_path, local_key):
    home = tmp_path / "db"
    make_db(wtline, home, local_key)
    # Without --verify: no key needed.
    st = json.loads(wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--json"]).stdout)
    assert st["verified"] is False
    assert st["master_key"]["provider"] == "local"
    assert {k["keyid"] for k in st["keyids"]} == {"system", "tbl"}
    assert all(k["data_keys"] == 1 for k in st["keyids"])
    assert st["writing_opens"] >= 1 and st["rotation_overdue"] is False
    for field in ("keystore", "format_version", "created", "rotated", "rotation_age_days",
                  "last_writing_open"):
        assert field in st
    st = json.loads(wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--json",
                                "--verify", "--key-file", local_key]).stdout)
    assert st["verified"] is True
    text = wtline.run([wtline.wtkms, "keys", "status", "--home", home]).stdout
    assert "tbl" in text and "master key:" in text


def test_status_exit_codes(wtline, tmp_path, local_key):
    home = tmp_path / "db"
    home.mkdir()
    p = wtline.run([wtline.wtkms, "keys", "status", "--home", home], check=False)
    assert p.returncode == 5 and "keystore" in p.stderr and "missing" in p.stderr
    make_db(wtline, home, local_key)
    p = wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--bogus", "x"], check=False)
    assert p.returncode == 2 and "--bogus" in p.stderr
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    p = wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--verify", "--key-file",
                    other], check=False)
    assert p.returncode == 3 and "use the original key file" in p.stderr
    ks = home / "wtkms.keystore"
    data = bytearray(ks.read_bytes())
    data[len(data) // 2] ^= 1
    ks.write_bytes(bytes(data))
    p = wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--verify", "--key-file",
                    local_key], check=False)
    assert p.returncode == 4, p.stderr
    assert str(ks) in p.stderr


def test_rotate_local_no_data_rewritten(wtline, tmp_path, local_key):
    home = tmp_path / "db"
    make_db(wtline, home, local_key)
    data_files = {f.name: f.read_bytes() for f in home.iterdir()
                  if f.suffix == ".wt" or f.name.startswith("WiredTigerLog")}
    new_key = tmp_path / "new.key"
    wtline.run([wtline.wtkms, "keys", "generate-local", "--key-file", new_key])
    p = wtline.run([wtline.wtkms, "keys", "rotate", "--home", home, "--key-file", local_key,
                    "--new-key-file", new_key, "--json"])
    out = json.loads(p.stdout)
    assert out["from"] != out["to"]
    # No data file changed by the rotation.
    for name, content in data_files.items():
        assert (home / name).read_bytes() == content, name
    # The new key opens and reads; the old key no longer does.
    assert "v1" in dump(wtline, home, new_key).stdout
    p = dump(wtline, home, local_key, check=False)
    assert p.returncode != 0 and "wtkms" in p.stderr
    st = json.loads(wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--json"]).stdout)
    assert st["rotated"] >= st["created"]


def test_rotation_overdue_warning(wtline, tmp_path, local_key):
    home = tmp_path / "db"
    make_db(wtline, home, local_key)
    status = [wtline.wtkms, "keys", "status", "--home", home]
    # Not overdue: --check exits 0.
    assert wtline.run(status + ["--check"]).returncode == 0
    wtline.run([wtline.progs / "ks_backdate", home, local_key, 400])
    st = json.loads(wtline.run(status + ["--json", "--verify", "--key-file", local_key]).stdout)
    assert st["rotation_overdue"] is True and st["rotation_age_days"] >= 400
    assert st["rotation_alert_days"] == 365
    assert "OVERDUE" in wtline.run(status).stdout
    # --check: the documented exit code 8, for cron and monitoring; 0 without --check.
    assert wtline.run(status + ["--check"], check=False).returncode == 8
    # A configurable threshold: overdue only past it; 0 turns the alert off.
    assert wtline.run(status + ["--check", "--rotation-alert-days", "500"]).returncode == 0
    assert wtline.run(status + ["--check", "--rotation-alert-days", "0"]).returncode == 0
    conf = tmp_path / "wtkms.conf"
    conf.write_text("provider=local\nkey_file=%s\nrotation_alert_days=399\n" % local_key)
    p = wtline.run(status + ["--check", "--config", conf], check=False)
    assert p.returncode == 8 and "past 399 days" in p.stdout
    p = dump(wtline, home, local_key)
    assert "last rotated 400 days ago" in p.stdout + p.stderr
    # Rewrapping under the same key and version does not restart the age.
    wtline.run([wtline.wtkms, "keys", "rotate", "--home", home, "--key-file", local_key])
    assert wtline.run(status + ["--check"], check=False).returncode == 8
    p = dump(wtline, home, local_key)
    assert "last rotated 400 days ago" in p.stdout + p.stderr
    # A new master key does: the warning is gone.
    new_key = tmp_path / "new.key"
    wtline.run([wtline.wtkms, "keys", "generate-local", "--key-file", new_key])
    wtline.run([wtline.wtkms, "keys", "rotate", "--home", home, "--key-file", local_key,
                "--new-key-file", new_key])
    assert wtline.run(status + ["--check"]).returncode == 0
    p = dump(wtline, home, new_key)
    assert "last rotated" not in p.stdout + p.stderr


def test_inline_secret_rejected_and_not_written(wtline, tmp_path, local_key):
    home = tmp_path / "db"
    home.mkdir()
    cfg = "create," + wtline.ext_config(
        "provider=local,key_file=%s,secret_access_key=SEKRIT123" % local_key)
    cfg += ",encryption=(name=wtkms,keyid=system)"
    p = wtline.wtcmd(home, cfg, "create", "table:t", check=False)
    assert p.returncode != 0
    assert "secret_access_key" in p.stderr and "credentials file" in p.stderr
    assert not (home / "wtkms.keystore").exists()
