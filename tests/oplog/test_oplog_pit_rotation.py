# SPDX-License-Identifier: Apache-2.0
"""Point-in-time restore across a master-key rotation, in one step: a snapshot taken under the
old master key, oplog segments under the old key and then under the new one. Each snapshot,
keystore and segment records the key it depends on; the command reads each with the configured
key it records (the provider flags or --config for one key, --key-config FILE for each other).
"""
import json

import pytest

from oplogutil import entry, read_bson

S = 1700000000
T0 = 10
ROTATED_AT = 20   # entries after this were tapped under the new key
LAST = 30


def key_config(path, key):
    path.write_text("provider=local\nkey_file=%s\n" % key)
    path.chmod(0o600)
    return path


@pytest.fixture
def rotated(tool, oplog_server, tmp_path):
    """An encrypted home (keystore under key A) with a snapshot at S:T0 under A; the tap saves
    entries up to ROTATED_AT under A, the home is rotated to key B, and the tap, now configured
    with B, saves the rest."""
    line = tool.line
    key_a = tool.key
    key_b = tmp_path / "b.key"
    line.run([line.wtkms, "keys", "generate-local", "--key-file", key_b])
    home = tmp_path / "home"
    home.mkdir()
    conn = "create,log=(enabled=true),%s,encryption=(name=wtkms,keyid=system)" % \
        line.ext_config("provider=local,key_file=%s" % key_a)
    line.wtcmd(home, conn, "create", "-c",
               "key_format=S,value_format=S,encryption=(name=wtkms,keyid=t)", "table:t")
    line.wtcmd(home, conn, "write", "table:t", "a", "1", "b", "2")
    snaps = tmp_path / "snaps"
    sid = json.loads(tool.run("snapshot", "create", "--home", home, "--store", snaps,
                              "--oplog-ts", "%d:%d" % (S, T0), "--json").stdout)["id"]
    ents = {i: entry(S, i) for i in range(1, LAST + 1)}
    oplog_server.append([ents[i] for i in range(1, ROTATED_AT + 1)])
    ostore = tmp_path / "oplog"
    tool.tap_once(oplog_server.uri, ostore, "--segment-bytes", "1K")
    # The rotation: the home and the tap move to key B.
    tool.run("keys", "rotate", "--home", home, "--new-key-file", key_b)
    oplog_server.append([ents[i] for i in range(ROTATED_AT + 1, LAST + 1)])
    tool.run("oplog", "tap", "--uri", oplog_server.uri, "--store", ostore, "--once",
             "--await-ms", 200, "--segment-bytes", "1K", "--key-file", key_b, key=False)
    return {"sid": sid, "snaps": snaps, "ostore": ostore, "entries": ents, "home": home,
            "key_a": key_a, "key_b": key_b}


def pit(tool, r, to, *keys, until=LAST, check=True):
    return tool.run("pit", "restore", "--snapshot", r["sid"], "--store", r["snaps"],
                    "--oplog-store", r["ostore"], "--until", "%d:%d" % (S, until), "--to", to,
                    "--json", *keys, key=False, check=check)


def test_segments_span_two_keys(tool, rotated):
    segs = tool.list(rotated["ostore"])["list"]
    kids = [s["encryption_key_id"] for s in segs]
    assert len(set(kids)) == 2 and kids == sorted(kids, key=kids.index), kids
    assert sum(s["entries"] for s in segs) == LAST


@pytest.mark.parametrize("order", ["old-as-flags", "new-as-flags"])
def test_one_step_restore_across_rotation(tool, rotated, tmp_path, order):
    r = rotated
    if order == "old-as-flags":
        keys = ("--key-file", r["key_a"], "--key-config", key_config(tmp_path / "b.conf",
                                                                      r["key_b"]))
    else:
        keys = ("--key-file", r["key_b"], "--key-config", key_config(tmp_path / "a.conf",
                                                                      r["key_a"]))
    to = tmp_path / ("r-" + order)
    j = json.loads(pit(tool, r, to, *keys).stdout)
    got = read_bson(to.parent / (to.name + "-oplog") / "oplog.bson")
    want = list(range(T0 + 1, LAST + 1))
    assert [d["ts"].inc for d in got] == want and j["entries"] == len(want)
    assert [d.raw for d in got] == [r["entries"][i].raw for i in want]   # byte for byte
    # The restored home is under its keystore's key (A, the snapshot predates the rotation) and
    # opens with plain wt (no -R): the restore finished WiredTiger's recovery with key A.
    line = tool.line
    conn = line.ext_config("provider=local,key_file=%s" % r["key_a"]) + \
        ",encryption=(name=wtkms,keyid=system)"
    dump = line.wtcmd(to, conn, "dump", "table:t").stdout
    assert "a\\00\n1\\00\nb\\00\n2\\00" in dump, dump


@pytest.mark.parametrize("which", ["old", "new"])
def test_one_key_is_not_enough(tool, rotated, tmp_path, which):
    """Only one of the two keys: refused before anything is written, naming the other key and
    how to give it."""
    r = rotated
    key = r["key_a"] if which == "old" else r["key_b"]
    to = tmp_path / "r"
    p = pit(tool, r, to, "--key-file", key, check=False)
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert not to.exists() and not (tmp_path / "r-oplog").exists()
    assert "oplog-0" in p.stderr or "snapshot" in p.stderr, p.stderr
    # Even up to the rotation: the end of the chain (its newest segment and the head's MAC) is
    # under the new key, and a chain whose end cannot be authenticated may have been cut.
    p = pit(tool, r, tmp_path / "r2", "--key-file", key, until=ROTATED_AT, check=False)
    assert p.returncode == 3, (p.returncode, p.stderr)


def test_verify_and_export_across_rotation(tool, rotated, tmp_path):
    r = rotated
    bconf = key_config(tmp_path / "b.conf", r["key_b"])
    p = tool.run("oplog", "verify", "--store", r["ostore"], "--key-file", r["key_a"], "--json",
                 key=False, check=False)
    assert p.returncode == 3 or p.returncode == 4, (p.returncode, p.stdout, p.stderr)
    j = json.loads(tool.run("oplog", "verify", "--store", r["ostore"], "--key-file", r["key_a"],
                            "--key-config", bconf, "--json", key=False).stdout)
    assert j["ok"] and j["entries"] == LAST, j
    out = tmp_path / "all.bson"
    tool.run("oplog", "export", "--store", r["ostore"], "--out", out, "--key-file", r["key_a"],
             "--key-config", bconf, key=False)
    assert [d["ts"].inc for d in read_bson(out)] == list(range(1, LAST + 1))


def test_key_config_is_checked(tool, rotated, tmp_path):
    """A --key-config file that names an unknown setting or cannot be read is an error naming
    it; nothing is written."""
    r = rotated
    bad = tmp_path / "bad.conf"
    bad.write_text("provider=local\nkey_file=%s\nkey_flie=x\n" % r["key_b"])
    bad.chmod(0o600)
    to = tmp_path / "r"
    p = pit(tool, r, to, "--key-file", r["key_a"], "--key-config", bad, check=False)
    assert p.returncode == 2 and "--key-config %s" % bad in p.stderr and "key_flie" in p.stderr, \
        p.stderr
    p = pit(tool, r, to, "--key-file", r["key_a"], "--key-config", tmp_path / "nope.conf",
            check=False)
    assert p.returncode != 0 and "nope.conf" in p.stderr, p.stderr
    assert not to.exists()
