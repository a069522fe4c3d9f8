# SPDX-License-Identifier: Apache-2.0
"""scons install / uninstall: the extension of every line, the command, the man page, the example
configuration, the header and the pkg-config file; into a PREFIX and staged under a DESTDIR.

The install uses the plain builds (scons without --sanitize), whatever WTKMS_SANITIZE says.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lineutil  # noqa: E402

REPO = lineutil.REPO


def scons(*args):
    p = subprocess.run(["scons", "-Q"] + list(args), cwd=REPO, capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, "scons %s failed\n%s\n%s" % (" ".join(args), p.stdout, p.stderr)
    return p


def wt_flags(name):
    """The scons flags that select a line: none for the system line."""
    l = lineutil.line(name)
    return [] if l.libdir is None else ["--wiredtiger=%s" % l.libdir.parent]


def install_all(prefix, destdir=None, uninstall=False):
    for name in lineutil.ORDER:
        args = ["install", "PREFIX=%s" % prefix] + wt_flags(name)
        if destdir:
            args.append("DESTDIR=%s" % destdir)
        if uninstall:
            args.append("--uninstall")
        scons(*args)


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*")
                  if p.is_file() or p.is_symlink())


def expected(prefix_rel):
    out = ["bin/wtkms", "include/wtkms/wtkms.h", "lib/pkgconfig/wtkms.pc",
           "lib/wtkms/libwtkms.so", "share/doc/wtkms/wtkms.conf.example",
           "share/man/man1/wtkms.1"]
    out += ["lib/wtkms/wt-%s/libwtkms.so" % n for n in lineutil.ORDER]
    return sorted(os.path.join(prefix_rel, p) if prefix_rel else p for p in out)


def pkg_config(prefix, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=str(Path(prefix) / "lib" / "pkgconfig"))
    p = subprocess.run(["pkg-config"] + list(args), capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


APP = r"""
#include <stdio.h>
#include <string.h>
#include <wiredtiger.h>
#include <wtkms.h>

int main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_SESSION *s;
    char cfg[4096];
    int ret;

    if (argc != 3)
        return 2;
    snprintf(cfg, sizeof(cfg), "create,extensions=[%s=(config=(provider=local,key_file=\"%s\"))],"
      "encryption=(name=" WTKMS_ENCRYPTOR_NAME ",keyid=system)", WTKMS_EXTENSION, argv[2]);
    printf("%s\n", WTKMS_EXTENSION);
    if ((ret = wiredtiger_open(argv[1], NULL, cfg, &conn)) != 0 ||
      (ret = conn->open_session(conn, NULL, NULL, &s)) != 0 ||
      (ret = s->create(s, "table:t", "key_format=S,value_format=S,"
         "encryption=(name=" WTKMS_ENCRYPTOR_NAME ",keyid=k1)")) != 0 ||
      (ret = conn->close(conn, NULL)) != 0) {
        printf("failed: %s\n", wiredtiger_strerror(ret));
        return 1;
    }
    printf("ok\n");
    return 0;
}
"""


def test_install_load_uninstall(tmp_path, local_key):
    prefix = tmp_path / "prefix"
    install_all(prefix)
    assert files_under(prefix) == expected("")
    ext_dir = prefix / "lib" / "wtkms"
    assert os.readlink(ext_dir / "libwtkms.so") == "wt-%s/libwtkms.so" % lineutil.ORDER[0]

    # Every line's installed extension loads in that line's wt and encrypts.
    for name in lineutil.ORDER:
        l = lineutil.line(name)
        for ext in [ext_dir / ("wt-%s" % name) / "libwtkms.so"] + (
                [ext_dir / "libwtkms.so"] if l.libdir is None else []):
            home = tmp_path / ("home-%s-%s" % (name, ext.parent.name))
            home.mkdir()
            l.wtcmd(home, lineutil.open_cfg(ext, local_key), "create", "-c",
                    "key_format=S,value_format=S,encryption=(name=wtkms,keyid=k1)", "table:t")
            assert (home / "wtkms.keystore").exists()

    # An installed build loaded into another line's wt names the installed build to use.
    for build, running in ((lineutil.ORDER[0], lineutil.ORDER[-1]),
                           (lineutil.ORDER[-1], lineutil.ORDER[0])):
        home = tmp_path / ("home-wrong-%s-in-%s" % (build, running))
        home.mkdir()
        p = lineutil.line(running).wtcmd(
            home, lineutil.open_cfg(ext_dir / ("wt-%s" % build) / "libwtkms.so", local_key),
            "list", check=False)
        want = "load %s, the wtkms build for WiredTiger %s" % (
            ext_dir / ("wt-%s" % running) / "libwtkms.so", running)
        assert p.returncode > 0 and want in p.stderr, p.stderr

    # The installed command runs and reads what the installed extension wrote.
    cmd = prefix / "bin" / "wtkms"
    p = subprocess.run([cmd, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "usage: wtkms" in p.stdout, p.stdout + p.stderr
    home = tmp_path / ("home-%s-wtkms" % lineutil.ORDER[0])
    p = subprocess.run([cmd, "keys", "status", "--home", home, "--json"], capture_output=True,
                       text=True)
    assert p.returncode == 0 and '"k1"' in p.stdout, p.stdout + p.stderr

    # The man page renders without warnings.
    p = subprocess.run(["man", "--warnings", "-l", prefix / "share/man/man1/wtkms.1"],
                       capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
    assert p.returncode == 0 and "wtkms" in p.stdout and p.stderr == "", p.stderr

    # The example configuration is valid once it names a real key file.
    conf = tmp_path / "wtkms.conf"
    text = (prefix / "share/doc/wtkms/wtkms.conf.example").read_text()
    assert "key_file=/etc/wtkms/master.key" in text
    conf.write_text(text.replace("/etc/wtkms/master.key", str(local_key)))
    conf.chmod(0o600)
    l = lineutil.line(lineutil.ORDER[0])
    home = tmp_path / "home-conf"
    home.mkdir()
    l.wtcmd(home, "create,extensions=[%s=(config=(config_file=%s))],"
            "encryption=(name=wtkms,keyid=system)" % (ext_dir / "libwtkms.so", conf),
            "create", "table:t")

    # pkg-config, and a WiredTiger program built with it picks the build of its own line.
    flags = pkg_config(prefix, "--cflags", "--libs", "wtkms")
    assert flags == "-I%s" % (prefix / "include" / "wtkms"), flags
    assert pkg_config(prefix, "--variable=extension", "wtkms") == str(ext_dir / "libwtkms.so")
    assert pkg_config(prefix, "--modversion", "wtkms")
    src = tmp_path / "app.c"
    src.write_text(APP)
    for name in lineutil.ORDER:
        l = lineutil.line(name)
        app = tmp_path / ("app-%s" % name)
        libdir = [] if l.libdir is None else ["-L%s" % l.libdir]
        subprocess.run(["gcc", "-Wall", "-Werror", "-o", app, src, "-I%s" % lineutil.include_dir(l)]
                       + flags.split() + libdir + ["-lwiredtiger"], check=True)
        home = tmp_path / ("home-app-%s" % name)
        home.mkdir()
        p = l.run([app, home, local_key])
        assert p.stdout.splitlines() == [str(ext_dir / ("wt-%s" % name) / "libwtkms.so"), "ok"]

    # Uninstall removes every file it installed, and the directories that are wtkms's alone.
    install_all(prefix, uninstall=True)
    assert files_under(prefix) == []
    assert not ext_dir.exists() and not (prefix / "include" / "wtkms").exists()


def test_destdir_stage_and_uninstall_alias(tmp_path):
    """DESTDIR stages the files; their contents name PREFIX. `scons uninstall` removes them."""
    stage = tmp_path / "stage"
    prefix = "/opt/wtkms-staged"
    install_all(prefix, destdir=stage)
    assert files_under(stage) == expected(prefix.lstrip("/"))
    assert not Path(prefix).exists()
    root = stage / prefix.lstrip("/")
    pc = (root / "lib/pkgconfig/wtkms.pc").read_text()
    assert "prefix=%s\n" % prefix in pc and str(stage) not in pc
    h = (root / "include/wtkms/wtkms.h").read_text()
    assert '"%s/lib/wtkms"' % prefix in h and str(stage) not in h
    for name in lineutil.ORDER:
        scons("uninstall", "PREFIX=%s" % prefix, "DESTDIR=%s" % stage, *wt_flags(name))
    assert files_under(stage) == []
