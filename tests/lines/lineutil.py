# SPDX-License-Identifier: Apache-2.0
"""Helpers for the tests of WiredTiger lines (tests/lines/): every built line by name, the
configuration strings that load wtkms, and the programs the tests drive.

The lines come from tests/conftest.py (loaded here under its own module name, so this module
does not depend on which conftest pytest registered last).
"""
import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("wtkms_tests_conftest", HERE.parent / "conftest.py")
top = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(top)

REPO = top.REPO
CACHE = top.CACHE
SANITIZE = top.SANITIZE
LINES = {l.name: l for l in top.LINES}

# Older line first: the order of mongod's in-place upgrades (4.2 -> 4.4 ... 6.0 -> 7.0/8.0).
ORDER = sorted(LINES, key=lambda n: tuple(int(x) for x in n.split(".")))


def line(name):
    """The named line, failing (never skipping) when it is not built."""
    if name not in LINES:
        pytest.fail("WiredTiger line %s is not configured (WTKMS_LINES=%s)"
                    % (name, os.environ.get("WTKMS_LINES", "")))
    l = LINES[name]
    missing = [p for p in (l.ext, l.wtkms, l.wt) if not Path(p).exists()]
    if missing:
        pytest.fail("WiredTiger line %s is not built (missing %s): run scripts/build.sh"
                    % (name, ", ".join(map(str, missing))))
    return l


def include_dir(l):
    """Where the line's wiredtiger.h is."""
    return Path("/usr/include") if l.libdir is None else l.libdir.parent / "include"


def libwiredtiger(l):
    """The line's shared libwiredtiger."""
    if l.libdir is None:
        out = subprocess.run(["gcc", "-print-file-name=libwiredtiger.so"], capture_output=True,
                             text=True, check=True).stdout.strip()
        return Path(os.path.realpath(out))
    return l.libdir / "libwiredtiger.so"


def version(l):
    """The full version of the line's WiredTiger, from its wt utility ("11.3.1")."""
    out = l.run([l.wt, "-V"]).stdout
    m = re.search(r"WiredTiger (\d+\.\d+\.\d+)", out)
    assert m, "wt -V printed %r" % out
    return m.group(1)


def ext_cfg(ext_path, key_file, extra=""):
    """extensions=[...] loading a wtkms build with the local provider."""
    settings = 'provider=local,key_file="%s"' % key_file
    if extra:
        settings += "," + extra
    return "extensions=[%s=(config=(%s))]" % (ext_path, settings)


def open_cfg(ext_path, key_file, create=True, config_base=False, extra=""):
    """A wiredtiger_open configuration: system encryption through wtkms, the journal on.

    config_base=false is what mongod uses: WiredTiger then neither writes WiredTiger.basecfg nor
    reads one, so the path of the extension build is not recorded in the home.
    """
    parts = []
    if create:
        parts.append("create")
    if not config_base:
        parts.append("config_base=false")
    parts.append("log=(enabled=true)")
    parts.append(ext_cfg(ext_path, key_file))
    parts.append("encryption=(name=wtkms,keyid=system)")
    if extra:
        parts.append(extra)
    return ",".join(parts)


def rows(l, home, config, action, table, first, count, tag="canary", check=True):
    """Run the line's lines_rows program (tests/progs/lines_rows.c)."""
    prog = l.progs / "lines_rows"
    if not prog.exists():
        pytest.fail("%s is not built: run scripts/build.sh" % prog)
    return l.run([prog, home, config, action, table, first, count, tag], check=check)


def scan_for(home, needle):
    """Files under home whose bytes contain needle."""
    hits = []
    for p in sorted(Path(home).rglob("*")):
        if p.is_file() and needle in p.read_bytes():
            hits.append(p.name)
    return hits
