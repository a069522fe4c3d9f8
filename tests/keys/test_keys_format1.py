# SPDX-License-Identifier: Apache-2.0
"""A keystore written by an earlier wtkms (format 1: one master key, `cmk`/`ksk`/`rotated` at the
top level) opens, and becomes format 2 at its first write, keeping every data key; an altered
format-1 keystore is still refused. The format-1 file is built from docs/FORMATS.md out of a
format-2 one, with the keystore key unwrapped from the local master key."""
import datetime
import hashlib
import hmac
import json
import struct

import bson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ksutil import Writer, assert_home, rotate, status


def read_ks(path):
    raw = path.read_bytes()
    (blen,) = struct.unpack("<I", raw[12:16])
    return raw, bson.decode(raw[16:16 + blen])


def to_format1(path, key_file):
    """Rewrite a format-2 keystore (one master key) as format 1, MAC and all."""
    raw, doc = read_ks(path)
    assert raw[8] == 2 and len(doc["wraps"]) == 1
    w = doc["wraps"][0]
    blob = bytes(w["ksk"])
    ksk = AESGCM(key_file.read_bytes()).decrypt(blob[1:13], blob[13:], b"wtkms local wrap v1")
    ms = lambda d: datetime.datetime.fromtimestamp(d.timestamp(), datetime.timezone.utc)
    v1 = {"v": 1, "home_id": doc["home_id"], "cmk": w["cmk"], "ksk": w["ksk"],
          "created": ms(doc["created"]), "rotated": ms(w["since"]),
          "roots": doc["roots"],
          "opens": [dict(o, n=i + 1) for i, o in enumerate(doc["opens"])]}
    assert [o["n"] for o in doc["opens"]] == [o["n"] for o in v1["opens"]]
    body = bson.encode(v1)
    head = b"WTKMSKS\n" + bytes([1, 0, 0, 0]) + struct.pack("<I", len(body))
    mac_key = HKDF(hashes.SHA256(), 32, bytes(doc["home_id"]),
                   b"wtkms keystore mac v1").derive(ksk)
    path.write_bytes(head + body + hmac.new(mac_key, head + body, hashlib.sha256).digest())


def test_format1_keystore_opens_and_upgrades(wtline, tmp_path, keys):
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(wtline, home, a)
    w.do("add k1")
    w.do("add k2")
    w.quit()
    ks = home / "wtkms.keystore"
    to_format1(ks, a)
    st = status(wtline, home, a)
    assert st["format_version"] == 1 and st["verified"] is True
    assert_home(wtline, home, a, ["k1", "k2"])
    # The first write stores format 2, every data key kept.
    w = Writer(wtline, home, a)
    w.do("add k3")
    w.quit()
    assert read_ks(ks)[0][8] == 2
    st = status(wtline, home, a)
    assert st["format_version"] == 2 and st["generation"] >= 1
    assert_home(wtline, home, a, ["k1", "k2", "k3"])
    rotate(wtline, home, a, b)
    assert_home(wtline, home, b, ["k1", "k2", "k3"], other=a)


def test_altered_format1_keystore_refused(wtline, tmp_path, keys):
    a = keys[0]
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(wtline, home, a)
    w.do("add k1")
    w.quit()
    ks = home / "wtkms.keystore"
    to_format1(ks, a)
    raw = bytearray(ks.read_bytes())
    raw[raw.index(b"keyid") + 10] ^= 1
    ks.write_bytes(bytes(raw))
    p = wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--verify", "--key-file", a],
                   check=False)
    assert p.returncode == 4 and str(ks) in p.stderr, p.stderr
    assert bytes(raw) == ks.read_bytes()
