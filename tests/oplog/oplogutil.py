# SPDX-License-Identifier: Apache-2.0
"""Helpers for the oplog tap tests (tests/oplog/): the wtkms command, a tap running in the
background (stopped with SIGTERM), and reading what it saved. A module of its own name, so it
never collides with another directory's conftest.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import importlib.util

import bson
import pytest
from bson.raw_bson import RawBSONDocument

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "peers"))
from oplog_mock import OplogServer, entry  # noqa: E402,F401

_spec = importlib.util.spec_from_file_location("wtkms_tests_conftest_top_oplog",
                                               HERE.parent / "conftest.py")
top = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(top)
free_port = top.free_port
peer = top.peer
REPO = HERE.parent.parent

RAW = bson.CodecOptions(document_class=RawBSONDocument)


class Tool:
    """The wtkms command with a local master key."""

    def __init__(self, line, tmp_path, key):
        self.line = line
        self.tmp = tmp_path
        self.key = key
        self.exe = line.wtkms
        self.extra = []  # flags every command gets (an S3 store's --s3-* settings)
        if not Path(self.exe).exists():
            pytest.fail("%s is not built: run scripts/build.sh" % self.exe)

    def run(self, *args, check=True, key=True, timeout=120):
        argv = [self.exe] + [str(a) for a in args] + [str(a) for a in self.extra]
        if key:
            argv += ["--key-file", str(self.key)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env=self.line.env())
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                                 % (argv, p.returncode, p.stdout, p.stderr))
        return p

    def tap_once(self, uri, store, *extra, check=True, key=True):
        return self.run("oplog", "tap", "--uri", uri, "--store", store, "--once",
                        "--await-ms", 200, *extra, check=check, key=key)

    def start_tap(self, uri, store, *extra, key=True):
        return BackgroundTap(self, uri, store, extra, key)

    def list(self, store):
        return json.loads(self.run("oplog", "list", "--store", store, "--json", key=False).stdout)

    def export(self, store, out, *extra, check=True, key=True):
        return self.run("oplog", "export", "--store", store, "--out", out, "--force", *extra,
                        check=check, key=key)

    def exported(self, store, *extra):
        out = self.tmp / ("export-%d.bson" % time.monotonic_ns())
        self.export(store, out, *extra)
        return read_bson(out)


class BackgroundTap:
    """A tap running until stop() sends SIGTERM."""

    def __init__(self, tool, uri, store, extra, key):
        argv = [str(tool.exe), "oplog", "tap", "--uri", uri, "--store", str(store),
                "--await-ms", "200", "--backoff-max-ms", "500"] + [str(a) for a in extra]
        argv += [str(a) for a in tool.extra]
        if key:
            argv += ["--key-file", str(tool.key)]
        self.log = open(tool.tmp / ("tap-%d.log" % time.monotonic_ns()), "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=tool.line.env())

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def wait_for(self, text, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError("tap exited %s before %r:\n%s"
                                     % (self.proc.returncode, text, self.output()))
            time.sleep(0.05)
        raise AssertionError("tap did not print %r within %ds:\n%s" % (text, timeout, self.output()))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("tap did not stop within %ds of SIGTERM:\n%s"
                                 % (timeout, self.output()))
        return rc, self.output()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def read_bson(path):
    """Raw documents of a BSON file (documents back to back), checked by pymongo's decoder."""
    data = Path(path).read_bytes()
    docs = bson.decode_all(data, RAW)
    assert b"".join(d.raw for d in docs) == data, "trailing bytes in %s" % path
    return docs


def ts_of(doc):
    t = doc["ts"]
    return (t.time, t.inc)


def ts_str(ts):
    return "%d:%d" % ts


