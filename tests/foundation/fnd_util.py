# SPDX-License-Identifier: Apache-2.0
"""Helpers of the foundation suite: an encrypted WiredTiger home on the line under test.

FndHome is a home directory and a local master key, with the connection string that loads this
line's wtkms build, and helpers that run this line's test programs (tests/progs/fnd_writer.c,
fnd_reader.c) and `wt`.
"""
import hashlib
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))


class FndHome:
    def __init__(self, line, path, key_file):
        self.line = line
        self.path = Path(path)
        self.key_file = Path(key_file)

    # Small log files, none preallocated (WiredTiger's default is 100 MB each), all kept: the
    # nonce check reads every log record ever written. 11.x renamed archive to remove (3.2 and
    # 10.0 know only archive).
    @property
    def log_config(self):
        keep = "remove=false" if self.line.name.startswith("11.") else "archive=false"
        return "log=(enabled=true,%s,file_max=2MB,prealloc=false)" % keep

    def ext_settings(self, key_file=None):
        return 'provider=local,key_file="%s"' % (key_file or self.key_file)

    def config(self, extra="", key_file=None, settings=None, encryption=True, create=True):
        """The wiredtiger_open configuration of this home."""
        parts = []
        if create:
            parts.append("create")
        parts.append(self.line.ext_config(settings or self.ext_settings(key_file)))
        if encryption:
            parts.append("encryption=(name=wtkms,keyid=system)")
        parts.append(self.log_config)
        if extra:
            parts.append(extra)
        return ",".join(parts)

    def prog(self, name):
        return self.line.progs / name

    def write(self, uri, *args, config=None, check=True, home=None, **kw):
        """fnd_writer -h HOME -C CONFIG -t URI ARGS..."""
        return self.line.run([self.prog("fnd_writer"), "-h", home or self.path,
                              "-C", config or self.config(), "-t", uri] + list(args),
                             check=check, **kw)

    def read(self, uri, *args, config=None, check=True, home=None, **kw):
        """fnd_reader -h HOME -C CONFIG -t URI ARGS..."""
        return self.line.run([self.prog("fnd_reader"), "-h", home or self.path,
                              "-C", config or self.config(), "-t", uri] + list(args),
                             check=check, **kw)

    def wt(self, *args, config=None, check=True, home=None):
        return self.line.wtcmd(home or self.path, config or self.config(), *args, check=check)

    def copy(self, dest):
        """Copy the (closed) home, as a backup or a restore on another host would."""
        shutil.copytree(self.path, dest)
        return FndHome(self.line, dest, self.key_file)

    @property
    def keystore(self):
        return self.path / "wtkms.keystore"


TABLE = "key_format=S,value_format=S,encryption=(name=wtkms,keyid=%s)"


def table_config(keyid, extra=""):
    return TABLE % keyid + ("," + extra if extra else "")


def file_digests(home):
    """{name: (size, sha256)} of every file of a home."""
    out = {}
    for dirpath, _d, files in os.walk(home):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, home)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out
