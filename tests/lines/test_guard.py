# SPDX-License-Identifier: Apache-2.0
"""The version guard: a wtkms build refuses to run inside a WiredTiger of another line, before it
makes any call whose layout depends on the line, and says which build to load instead.

Two ways the guard learns the running version (src/encryptor/version_guard.c):
  - the global symbol wiredtiger_version (wt, any program linked with libwiredtiger.so);
  - a scan of every loaded object's read-only segments for "WiredTiger X.Y.Z: (" when the symbol
    is not global: a program linked statically (mongod) or one that loaded libwiredtiger.so with
    RTLD_LOCAL. tests/lines/wt_host.c is such a program, built here both ways.
"""
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lineutil  # noqa: E402

PAIRS = list(itertools.permutations(lineutil.ORDER, 2))
NOTE = "cannot identify the running WiredTiger"


def refused(stderr, built_for, running):
    """The guard's message names the build's line and the running version."""
    return ("built for WiredTiger %s" % built_for in stderr
            and "running WiredTiger is %s" % running in stderr)


@pytest.mark.parametrize("build,running", PAIRS, ids=["%s-in-%s" % p for p in PAIRS])
def test_wrong_build_refused_by_wt(tmp_path, local_key, build, running):
    """The wt of one line loading another line's build: wiredtiger_open fails, names both."""
    b, r = lineutil.line(build), lineutil.line(running)
    home = tmp_path / "home"
    home.mkdir()
    p = r.wtcmd(home, lineutil.open_cfg(b.ext, local_key), "create", "table:t", check=False)
    assert p.returncode > 0, "wt exited %d (a signal, or success)\n%s" % (p.returncode, p.stderr)
    full = lineutil.version(r)
    assert refused(p.stderr, build, full), p.stderr
    # It names the build to load instead when one sits beside it (build/wt-X.Y/ here).
    if running != "3.2":
        assert "load %s/wt-%s/libwtkms.so" % (lineutil.REPO / "build", running) in p.stderr, p.stderr
    # Refused before any line-specific call: get_home was never called, so no keystore exists.
    assert not (home / "wtkms.keystore").exists()


@pytest.mark.parametrize("name", lineutil.ORDER)
def test_own_build_accepted_by_wt(tmp_path, local_key, name):
    """The same line's build loads through the symbol, silently, and encrypts."""
    l = lineutil.line(name)
    home = tmp_path / "home"
    home.mkdir()
    p = l.wtcmd(home, lineutil.open_cfg(l.ext, local_key), "create", "-c",
                "key_format=S,value_format=S,encryption=(name=wtkms,keyid=k1)", "table:t")
    assert NOTE not in p.stderr and "built for" not in p.stderr, p.stderr
    assert (home / "wtkms.keystore").exists()


def build_host(tmp_path, l, dlopen):
    """Compile wt_host.c against the line's headers, statically linked or loading by dlopen."""
    out = tmp_path / ("wt_host_dl" if dlopen else "wt_host_static")
    cmd = ["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1",
           "-I%s" % lineutil.include_dir(l), "-o", str(out), str(lineutil.HERE / "wt_host.c")]
    if dlopen:
        cmd += ["-DHOST_DLOPEN", "-ldl"]
    else:
        static = subprocess.run(["gcc", "-print-file-name=libwiredtiger.a"], capture_output=True,
                                text=True).stdout.strip()
        if not Path(static).is_absolute() or not Path(static).exists():
            pytest.fail("no static libwiredtiger.a for line %s (Debian libwiredtiger-dev ships "
                        "it): install it with scripts/setup-build.sh" % l.name)
        cmd += [static, "-lpthread", "-ldl", "-lm", "-lrt"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def host_run(l, host, lib, home, build, key_file):
    home.mkdir()
    args = [host] + ([lib] if lib else []) + [home, lineutil.open_cfg(build.ext, key_file), "k1"]
    return l.run(args, check=False)


def check_host(tmp_path, local_key, running, host, lib):
    """Every build in a host that hides wiredtiger_version: the image scan must decide."""
    r = lineutil.line(running)
    full = lineutil.version(r)
    for name in lineutil.ORDER:
        b = lineutil.line(name)
        home = tmp_path / ("home-" + name)
        p = host_run(r, host, lib, home, b, local_key)
        assert "global wiredtiger_version: no" in p.stdout, (
            "the host exports wiredtiger_version: this test would not reach the image scan\n"
            + p.stdout)
        assert p.returncode >= 0, "host killed by signal %d\n%s" % (-p.returncode, p.stderr)
        if name == running:
            assert p.returncode == 0 and "ok" in p.stdout, p.stdout + p.stderr
            assert NOTE not in p.stderr, p.stderr
        else:
            # Only the scan can have named the running version: the symbol is not global.
            assert p.returncode == 3, p.stdout + p.stderr
            assert refused(p.stderr, name, full), p.stderr
            assert not (home / "wtkms.keystore").exists()


def test_scan_statically_linked_host(tmp_path, local_key):
    """A program linked statically with WiredTiger 3.2 (as mongod is): no dynamic symbol."""
    l = lineutil.line("3.2")
    host = build_host(tmp_path, l, dlopen=False)
    dynsym = subprocess.run(["nm", "-D", str(host)], capture_output=True, text=True).stdout
    assert "wiredtiger_version" not in dynsym and "wiredtiger_open" not in dynsym
    check_host(tmp_path, local_key, "3.2", host, None)


@pytest.mark.parametrize("running", lineutil.ORDER)
def test_scan_rtld_local_host(tmp_path, local_key, running):
    """libwiredtiger.so loaded with RTLD_LOCAL: the scan must cover objects outside the global
    scope, not only the executable."""
    l = lineutil.line(running)
    host = build_host(tmp_path, l, dlopen=True)
    check_host(tmp_path, local_key, running, host, lineutil.libwiredtiger(l))


@pytest.mark.parametrize("old,new", [p for p in PAIRS if lineutil.ORDER.index(p[0]) <
                                     lineutil.ORDER.index(p[1])],
                         ids=["%s-home-in-%s" % p for p in PAIRS
                              if lineutil.ORDER.index(p[0]) < lineutil.ORDER.index(p[1])])
def test_basecfg_names_old_build(tmp_path, local_key, old, new):
    """WiredTiger.basecfg records the build that created the home. A newer line's wt opening the
    home loads that build: the guard must refuse it; with config_base=false and the newer line's
    build (what mongod does), the home opens."""
    o, n = lineutil.line(old), lineutil.line(new)
    home = tmp_path / "home"
    home.mkdir()
    lineutil.rows(o, home, lineutil.open_cfg(o.ext, local_key, config_base=True), "write",
                  "t:k1", 0, 10)
    assert str(o.ext) in (home / "WiredTiger.basecfg").read_text()
    p = n.run([n.wt, "-h", home, "list"], check=False)
    assert p.returncode > 0, p.stderr
    assert refused(p.stderr, old, lineutil.version(n)), p.stderr
    cfg = lineutil.open_cfg(n.ext, local_key, create=False)
    assert "verified 10 rows" in lineutil.rows(n, home, cfg, "verify", "t:k1", 0, 10).stdout
