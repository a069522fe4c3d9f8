# SPDX-License-Identifier: Apache-2.0
"""Interoperability across WiredTiger lines: the block and keystore formats are the same on every
line, so mongod's in-place upgrade (4.2 -> 4.4 ... -> 8.0 keeps the data files) keeps working.

A home written through an older line's build is opened by a newer WiredTiger with the newer
line's build: every row reads back, the newer line writes more rows (under a new open record in
the same keystore), everything reads back after a reopen, and no canary is in clear on disk.
Homes are opened with config_base=false as mongod does (test_guard covers WiredTiger.basecfg).
"""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lineutil  # noqa: E402

ROWS = 3000
TABLES = ("a:k1", "b:k2")  # two tables under two keyids, besides the system keyid's journal
UPGRADES = [(o, n) for i, o in enumerate(lineutil.ORDER) for n in lineutil.ORDER[i + 1:]]


def keystore_status(l, home):
    p = l.run([l.wtkms, "keys", "status", "--home", home, "--json"])
    return json.loads(p.stdout)


def write(l, home, key, first, create, tag):
    cfg = lineutil.open_cfg(l.ext, key, create=create)
    for t in TABLES:
        lineutil.rows(l, home, cfg, "write", t, first, ROWS, tag)


def verify(l, home, key, count, tag):
    cfg = lineutil.open_cfg(l.ext, key, create=False)
    for t in TABLES:
        p = lineutil.rows(l, home, cfg, "verify", t, 0, count, tag)
        assert "verified %d rows" % count in p.stdout, p.stdout + p.stderr


def upgrade_through(tmp_path, key, names):
    """Write through names[0], then open, check and write through each later line in turn."""
    home = tmp_path / "home"
    home.mkdir()
    tag = "xq7canary"
    first = lineutil.line(names[0])
    write(first, home, key, 0, True, tag)
    verify(first, home, key, ROWS, tag)
    opens = keystore_status(first, home)["writing_opens"]
    written = ROWS
    for name in names[1:]:
        l = lineutil.line(name)
        verify(l, home, key, written, tag)           # every row the older line wrote
        write(l, home, key, written, False, tag)     # then the newer line writes too
        written += ROWS
        verify(l, home, key, written, tag)
        st = keystore_status(l, home)
        assert st["writing_opens"] > opens, st
        opens = st["writing_opens"]
        assert {k["keyid"] for k in st["keyids"]} >= {"system", "k1", "k2"}, st
    assert lineutil.scan_for(home, tag.encode()) == [], "canary in clear after the upgrade"
    return home


@pytest.mark.parametrize("old,new", UPGRADES, ids=["%s-to-%s" % u for u in UPGRADES])
def test_upgrade(tmp_path, local_key, old, new):
    upgrade_through(tmp_path, local_key, [old, new])


# The sanitizer stage has ASan builds of 3.2 and 11.3 only (scripts/build.sh), so it cannot run
# the chain; the plain stage runs it on all four lines, and test_upgrade covers the pair under ASan.
@pytest.mark.nosanitize
def test_upgrade_chain(tmp_path, local_key):
    """mongod 4.2 -> 4.4/5.0/6.0 -> 7.0 -> 8.0: every configured line in order, one home."""
    if len(lineutil.ORDER) < 3:
        pytest.fail("the chain needs three lines; configured: %s" % ", ".join(lineutil.ORDER))
    upgrade_through(tmp_path, local_key, lineutil.ORDER)


def test_newest_reads_with_wt_dump(tmp_path, local_key):
    """The oldest line writes; the newest line's own wt utility dumps every row through -C."""
    old, new = lineutil.line(lineutil.ORDER[0]), lineutil.line(lineutil.ORDER[-1])
    home = tmp_path / "home"
    home.mkdir()
    lineutil.rows(old, home, lineutil.open_cfg(old.ext, local_key), "write", "d:k1", 0, 500, "dmp")
    p = new.wtcmd(home, lineutil.open_cfg(new.ext, local_key, create=False), "dump", "table:d")
    # wt dump prints a string column's terminating NUL as \00.
    lines = [l.removesuffix("\\00") for l in p.stdout.split("Data\n", 1)[1].splitlines()]
    assert len(lines) == 1000, len(lines)
    assert lines[0] == "key-00000000" and lines[1].startswith("dmp-value-00000000-")
    assert lines[-2] == "key-00000499"


@pytest.mark.parametrize("old,new", UPGRADES, ids=["%s-to-%s" % u for u in UPGRADES])
def test_snapshot_restores_on_newer_line(tmp_path, local_key, old, new):
    """A snapshot made by the older line's wtkms restores with the newer line's wtkms, and the
    newer WiredTiger reads every row of the restored home with its build."""
    o, n = lineutil.line(old), lineutil.line(new)
    home, store, target = tmp_path / "home", tmp_path / "store", tmp_path / "restored"
    home.mkdir()
    cfg = lineutil.open_cfg(o.ext, local_key)
    for t in TABLES:
        lineutil.rows(o, home, cfg, "write", t, 0, 500, "snapcanary")
    p = o.run([o.wtkms, "snapshot", "create", "--home", home, "--store", store, "--json",
               "--key-file", local_key])
    sid = json.loads(p.stdout)["id"]
    n.run([n.wtkms, "snapshot", "restore", sid, "--store", store, "--to", target,
           "--key-file", local_key])
    cfg = lineutil.open_cfg(n.ext, local_key, create=False)
    for t in TABLES:
        p = lineutil.rows(n, target, cfg, "verify", t, 0, 500, "snapcanary")
        assert "verified 500 rows" in p.stdout, p.stdout + p.stderr
    assert lineutil.scan_for(store, b"snapcanary") == []
