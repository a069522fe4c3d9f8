# SPDX-License-Identifier: Apache-2.0
"""debian/: dpkg-buildpackage builds a .deb from a copy of the tracked tree, with every other
configured WiredTiger line named in WTKMS_WIREDTIGER_DIRS, holding exactly what `scons install
PREFIX=/usr` installs for each line; each line's unpacked extension loads in that line's wt and
encrypts, and the unpacked command runs.
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


# The package is built from the plain sources; building it again under ASan would test nothing new.
@pytest.mark.nosanitize
def test_dpkg_buildpackage(tmp_path, local_key):
    for tool in ("dpkg-buildpackage", "dh"):
        assert shutil.which(tool), "%s is missing: run scripts/setup-tests.sh" % tool
    src = tmp_path / "wtkms"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        if (REPO / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, src / f)
    assert (src / "debian" / "rules").exists(), "debian/ is not tracked"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEB_", "WTKMS_"))}
    others = [lineutil.line(n) for n in lineutil.ORDER[1:]]
    env["WTKMS_WIREDTIGER_DIRS"] = " ".join(str(l.libdir.parent) for l in others)
    p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, capture_output=True,
                       text=True, env=env, timeout=1200)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    debs = sorted(tmp_path.glob("wtkms_*_*.deb"))
    assert len(debs) == 1, list(tmp_path.iterdir())

    info = subprocess.run(["dpkg-deb", "-f", debs[0], "Depends"], capture_output=True, text=True,
                          check=True).stdout
    assert "libwiredtiger0" in info and "libssl3" in info, info
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True)
    got = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                 if p.is_file() or p.is_symlink())
    line = lineutil.ORDER[0]
    want = sorted([
        "usr/bin/wtkms", "usr/include/wtkms/wtkms.h", "usr/lib/pkgconfig/wtkms.pc",
        "usr/lib/wtkms/libwtkms.so",
        "usr/share/doc/wtkms/changelog.gz", "usr/share/doc/wtkms/copyright",
        "usr/share/doc/wtkms/wtkms.conf.example", "usr/share/man/man1/wtkms.1.gz"]
        + ["usr/lib/wtkms/wt-%s/libwtkms.so" % n for n in lineutil.ORDER])
    assert got == want
    assert "prefix=/usr\n" in (root / "usr/lib/pkgconfig/wtkms.pc").read_text()
    # The package states its license (Apache-2.0), in Debian's machine-readable form.
    copyright_text = (root / "usr/share/doc/wtkms/copyright").read_text()
    assert "\nLicense: Apache-2.0\n" in copyright_text, copyright_text
    assert "unspecified" not in copyright_text and "not stated" not in copyright_text

    # Every line's packaged extension loads in that line's wt and encrypts.
    for name in lineutil.ORDER:
        l = lineutil.line(name)
        home = tmp_path / ("home-%s" % name)
        home.mkdir()
        ext = root / ("usr/lib/wtkms/libwtkms.so" if name == line
                      else "usr/lib/wtkms/wt-%s/libwtkms.so" % name)
        l.wtcmd(home, lineutil.open_cfg(ext, local_key), "create", "-c",
                "key_format=S,value_format=S,encryption=(name=wtkms,keyid=k1)", "table:t")
        assert (home / "wtkms.keystore").exists()
    home = tmp_path / ("home-%s" % line)
    p = subprocess.run([root / "usr/bin/wtkms", "keys", "status", "--home", home, "--json"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and '"k1"' in p.stdout, p.stdout + p.stderr
