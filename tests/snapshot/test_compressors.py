# SPDX-License-Identifier: Apache-2.0
"""Snapshots of a stopped mongod's home with mongod's default compression: the journal in
journal/ compressed with snappy, the tables with block_compressor=snappy.

`snapshot create` loads WiredTiger's compressor extensions found beside the libwiredtiger it runs
(Debian's libwiredtiger0 ships snappy and zlib; scripts/build-wt-compressors.sh builds snappy,
zlib and zstd for the lines built from source), so the README's command for a stopped mongod
works as written, and `snapshot restore` loads them too for the recovery it runs on the restored
copy (snappy tables). Runs on every line.
"""
import json
import subprocess
from pathlib import Path

import pytest

LOG = "log=(enabled=true,path=journal,compressor=snappy)"
README_WT_CONFIG = "encryption=(name=wtkms,keyid=system)," + LOG
TABLE = "encryption=(name=wtkms,keyid=tbl),block_compressor=snappy"
ROWS, VLEN = 3000, 300


def snappy_ext(line):
    if line.libdir is None:
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "wiredtiger"],
                                capture_output=True, text=True, check=True).stdout.strip()
    else:
        libdir = line.libdir
    path = Path(libdir) / "libwiredtiger_snappy.so"
    if not path.exists():
        pytest.fail("%s is missing: run scripts/build.sh (scripts/build-wt-compressors.sh)" % path)
    return path


def conn(snap, compressor=True, create=False):
    """mongod's layout: the wtkms extension and (unless compressor=False) snappy, the journal."""
    exts = ["%s=(config=(provider=local,key_file=%s))" % (snap.line.ext, snap.key)]
    if compressor:
        exts.append(str(snappy_ext(snap.line)))
    return "%sextensions=[%s],encryption=(name=wtkms,keyid=system),%s" % (
        "create," if create else "", ",".join(exts), LOG)


@pytest.fixture
def mongod_home(snap, tmp_path):
    home = tmp_path / "db"
    (home / "journal").mkdir(parents=True)
    snap.line.run([snap.rows_prog, "write", home, conn(snap, create=True), TABLE, ROWS, VLEN])
    return home


def test_snapshot_of_a_snappy_journal(snap, mongod_home, tmp_path):
    home = mongod_home
    # What failed before: WiredTiger cannot open this home without the snappy extension.
    p = snap.line.wtcmd(home, conn(snap, compressor=False), "list", check=False)
    assert p.returncode != 0 and "snappy" in p.stderr, p.stderr[-2000:]

    store = tmp_path / "store"
    sid = snap.create(home, store, "--wt-config", README_WT_CONFIG)
    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json").stdout)
    logs = [f["name"] for f in show["files"] if "WiredTigerLog." in f["name"]]
    assert logs and all(n.startswith("journal/") for n in logs), logs

    target = tmp_path / "restored"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target, "--key-file", snap.key)
    p = snap.line.run([snap.rows_prog, "check", target, conn(snap), ROWS, VLEN])
    assert "checked %d rows" % ROWS in p.stdout


def test_unknown_compressor_is_named(snap, mongod_home, tmp_path):
    p = snap.wtkms("snapshot", "create", "--home", mongod_home, "--store", tmp_path / "store",
                   "--key-file", snap.key, "--wt-config",
                   "encryption=(name=wtkms,keyid=system),log=(enabled=true,compressor=nosuch)",
                   check=False)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "compressor 'nosuch'" in p.stderr and "extensions=[...]" in p.stderr, p.stderr
    assert not (tmp_path / "store" / "snapshots").exists() or \
        not any((tmp_path / "store" / "snapshots").iterdir())
