"""Fixtures for the snapshot tests (tests/snapshot/): homes with rows written through the
line's WiredTiger and our extension, the wtkms snapshot commands, and store tampering helpers.

Rows are written and checked with build[/wt-X.Y]/tests/snap_rows (tests/progs/snap_rows.c), so
every test runs on both WiredTiger lines (`wtline`).
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

CHUNK = 65536  # small chunks: a home of ~1 MiB makes objects of many chunks


class Snap:
    """One line's wtkms and snap_rows, with a local master key, in a test's tmp_path."""

    def __init__(self, line, tmp_path, key):
        self.line = line
        self.tmp = tmp_path
        self.key = key
        self.rows_prog = line.progs / "snap_rows"
        if not self.rows_prog.exists():
            pytest.fail("%s is not built: run scripts/build.sh" % self.rows_prog)

    def conn_config(self, key=None, create=False, encrypted=True):
        if not encrypted:
            return "create" if create else ""
        cfg = self.line.ext_config("provider=local,key_file=%s" % (key or self.key))
        cfg += ",encryption=(name=wtkms,keyid=system)"
        return ("create," if create else "") + cfg

    def make_home(self, name="db", rows=2000, vlen=400, encrypted=True, key=None):
        home = self.tmp / name
        home.mkdir()
        tcfg = "encryption=(name=wtkms,keyid=tbl)" if encrypted else ""
        self.line.run([self.rows_prog, "write", home,
                       self.conn_config(key, create=True, encrypted=encrypted), tcfg, rows, vlen])
        return home

    def check_rows(self, home, rows=2000, vlen=400, encrypted=True, key=None, check=True):
        return self.line.run([self.rows_prog, "check", home,
                              self.conn_config(key, encrypted=encrypted), rows, vlen],
                             check=check)

    def wtkms(self, *args, check=True, env=None, timeout=600):
        return self.line.run([self.line.wtkms] + list(args), check=check, env=env,
                             timeout=timeout)

    def create(self, home, store, *extra, key=None, keyflags=True):
        """snapshot create --json; returns the id. The key file is given unless keyflags is
        False (it also opens an encrypted home, so --no-encryption snapshots need it too)."""
        args = ["snapshot", "create", "--home", home, "--store", store, "--json",
                "--chunk-size", CHUNK] + list(extra)
        if keyflags:
            args += ["--key-file", key or self.key]
        return json.loads(self.wtkms(*args).stdout)["id"]

    def list(self, store):
        return json.loads(self.wtkms("snapshot", "list", "--store", store, "--json").stdout)


@pytest.fixture
def snap(wtline, tmp_path, local_key):
    return Snap(wtline, tmp_path, local_key)


def objects(store, sid):
    """The object files of snapshot sid in a local store, in file order."""
    return sorted((Path(store) / "snapshots" / sid / "files").iterdir())


def manifest_path(store, sid):
    return Path(store) / "snapshots" / sid / "manifest"


def leftovers(parent, base):
    """Temporary restore directories beside a target."""
    return [p for p in Path(parent).iterdir() if p.name.startswith("." + base + ".wtkms-restore.")]
