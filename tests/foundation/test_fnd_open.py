# SPDX-License-Identifier: Apache-2.0
"""Opening a home: the wrong master key, a missing, damaged or foreign keystore, bad settings are
refused by wiredtiger_open with a message naming the cause; a read-only open writes nothing.

Each refusal is checked through the C API (fnd_reader) and, where it matters, `wt -C`; the
keystore must come out of every failed open byte for byte as it went in.
"""
import os
import shutil

import pytest

from fnd_util import file_digests, table_config

ROWS = 2000


@pytest.fixture
def filled(fhome):
    """A home with data under keyids system and k1, closed cleanly."""
    fhome.write("table:t", "-c", table_config("k1"), "-n", str(ROWS), "-k")
    return fhome


def refused(h, config, *needles, wt_too=True):
    """Opening with config fails through the C API (and wt), stderr holding every needle."""
    ks_before = h.keystore.read_bytes() if h.keystore.exists() else None
    r = h.read("table:t", config=config, check=False)
    assert r.returncode != 0, r.stdout
    for n in needles:
        assert n in r.stderr, "%r not in: %s" % (n, r.stderr[-3000:])
    if wt_too:
        w = h.wt("list", config=config, check=False)
        assert w.returncode != 0, w.stdout
        for n in needles:
            assert n in w.stderr, "wt: %r not in: %s" % (n, w.stderr[-3000:])
    after = h.keystore.read_bytes() if h.keystore.exists() else None
    assert after == ks_before, "the keystore changed during a refused open"
    return r


def test_wrong_key_file(filled, tmp_path):
    h = filled
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    r = refused(h, h.config(key_file=other), "wtkms", str(other), "original key file",
                "wtkms.keystore")
    # And the right key still opens it, every row intact.
    h.read("table:t", "-s", "0", "-n", str(ROWS))
    assert "Traceback" not in r.stderr


def test_missing_keystore_with_data_is_refused(filled):
    h = filled
    h.keystore.unlink()
    refused(h, h.config(), "wtkms", "holds WiredTiger data but no keystore")
    assert not h.keystore.exists(), "a new keystore was made for a home with data"


def test_damaged_keystore_is_refused(filled):
    h = filled
    data = bytearray(h.keystore.read_bytes())
    data[len(data) // 2] ^= 0x01
    h.keystore.write_bytes(bytes(data))
    refused(h, h.config(), "wtkms", str(h.keystore))
    h.keystore.write_bytes(bytes(data[:-1]))
    refused(h, h.config(), "wtkms", str(h.keystore), "truncated")


def test_foreign_keystore_is_refused(filled, tmp_path):
    """Another home's keystore under the same master key: the metadata does not decrypt."""
    h = filled
    other = h.__class__(h.line, tmp_path / "other", h.key_file)
    other.path.mkdir()
    other.write("table:t", "-c", table_config("k1"), "-n", "10", "-k")
    shutil.copy(other.keystore, h.keystore)
    r = refused(h, h.config(), "wtkms", wt_too=False)
    assert "fails authentication" in r.stderr or "does not hold" in r.stderr, r.stderr[-3000:]


def test_readonly_open_writes_nothing(filled):
    h = filled
    before = file_digests(h.path)
    ks_stat = os.stat(h.keystore)
    ro = h.config(extra="readonly=true", create=False)
    r = h.read("table:t", "-s", "0", "-n", str(ROWS), config=ro)
    assert "read %d rows" % ROWS in r.stdout
    w = h.wt("dump", "table:t", config=ro)
    assert sum(1 for l in w.stdout.split("\n") if l.startswith("WTKMSCANARYK-")) == ROWS
    assert file_digests(h.path) == before, "a read-only open changed files"
    st = os.stat(h.keystore)
    assert (st.st_ino, st.st_mtime_ns, st.st_size) == (ks_stat.st_ino, ks_stat.st_mtime_ns,
                                                        ks_stat.st_size)


@pytest.mark.parametrize("settings, needles", [
    ('provider=local,key_file="{key}",bogus=1', ["unknown setting 'bogus'"]),
    ("provider=local", ["setting 'key_file' is required"]),
    ("provider=nosuch,key_file=\"{key}\"", ["provider=nosuch"]),
    ('provider=local,key_file="{key}",secret_access_key=HUSH42', ["secret_access_key",
                                                                  "environment"]),
    ('provider=local,key_file="{key}",password=HUSH42', ["password"]),
    ('provider=local,key_file="{missing}"', ["generate-local"]),
])
def test_bad_settings_name_the_setting(fhome, tmp_path, settings, needles):
    h = fhome
    s = settings.format(key=h.key_file, missing=tmp_path / "absent.key")
    config = h.config(settings=s)
    r = h.read("table:t", config=config, check=False)
    assert r.returncode != 0
    for n in needles + ["wtkms"]:
        assert n in r.stderr, "%r not in: %s" % (n, r.stderr[-2000:])
    assert "HUSH42" not in r.stderr, "the message echoes a secret"
    assert not (h.path / "wtkms.keystore").exists()


def test_exposed_or_malformed_key_file(fhome, tmp_path):
    h = fhome
    key = tmp_path / "k.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o640)
    r = h.read("table:t", config=h.config(key_file=key), check=False)
    assert r.returncode != 0 and "chmod 600" in r.stderr and str(key) in r.stderr, r.stderr
    for content in (os.urandom(31), os.urandom(33), b"not*base64" * 4 + b"abcd"):
        key.write_bytes(content)
        key.chmod(0o600)
        r = h.read("table:t", config=h.config(key_file=key), check=False)
        assert r.returncode != 0 and "exactly 32 raw bytes or their base64" in r.stderr, r.stderr
    assert not (h.path / "wtkms.keystore").exists()


def test_config_file_form(fhome, tmp_path):
    """config=(config_file=PATH), the form for mongod: works, and its errors name the file."""
    h = fhome
    conf = tmp_path / "wtkms.conf"
    conf.write_text("# wtkms\nprovider=local\nkey_file=%s\n" % h.key_file)
    conf.chmod(0o600)
    config = h.config(settings='config_file="%s"' % conf)
    h.write("table:t", "-c", table_config("k1"), "-n", "100", "-k", config=config)
    h.read("table:t", "-s", "0", "-n", "100", config=config)
    assert str(h.key_file) not in (h.path / "WiredTiger.basecfg").read_text()
    conf.write_text("provider=local\nkey_file=%s\ntypo_setting=1\n" % h.key_file)
    r = h.read("table:t", config=config, check=False)
    assert r.returncode != 0 and "typo_setting" in r.stderr and str(conf) in r.stderr, r.stderr
    conf.write_text("provider=local\nkey_file=%s\n" % h.key_file)
    conf.chmod(0o666)
    r = h.read("table:t", config=config, check=False)
    assert r.returncode != 0 and "chmod go-w" in r.stderr, r.stderr


def test_connection_secretkey_is_refused(filled):
    """encryption=(secretkey=...) would be silently unused (wtkms's keys come from the keystore):
    the open is refused, naming the setting, without echoing the secret."""
    h = filled
    config = h.config(encryption=False,
                      extra="encryption=(name=wtkms,keyid=system,secretkey=HUSH42)")
    r = refused(h, config, "wtkms", "secretkey", "is refused")
    assert "HUSH42" not in r.stderr, "the message echoes the secret key"
    h.read("table:t", "-s", "0", "-n", str(ROWS))
