# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures for wtkms integration tests.

Every test that touches WiredTiger runs once per WiredTiger line (fixture `wtline`): Debian's
3.2.1 (build/), and 10.0.0, 11.2.0 and 11.3.1 built from their source packages by
scripts/build-wt.sh (build/wt-10.0/, build/wt-11.2/, build/wt-11.3/). WTKMS_SANITIZE=1 runs the
same tests against the ASan/UBSan builds (build/asan/, build/wt-X.Y-asan/). WTKMS_LINES=3.2,11.3
runs only the lines named. A line that is not built fails the test; it never skips silently.
"""
import contextlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

# libmongoc (which the wtkms command links) makes a /dev/shm file per process for its debugging
# counters; one left by a process a test killed makes a later process with the same pid print a
# warning on stderr. The counters serve nothing here: keep them in ordinary memory.
os.environ.setdefault("MONGOC_DISABLE_SHM", "1")

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("WTKMS_CACHE", REPO / ".cache"))
SANITIZE = os.environ.get("WTKMS_SANITIZE") == "1"
# The WiredTiger releases scripts/build-wt.sh builds from their source packages (its WT_LINES):
# 10.0.0 (MongoDB 4.4 to 6.0), 11.2.0 (7.0), 11.3.1 (8.0); docs/WIREDTIGER.md says where each
# mapping comes from. The system line (Debian's 3.2.1, MongoDB 4.2) comes first in LINES.
BUILT_LINES = ("10.0.0", "11.2.0", "11.3.1")


class Line:
    """One WiredTiger line's build of wtkms and the WiredTiger it runs in."""

    def __init__(self, name, build, wt, libdir):
        self.name = name            # "3.2", "10.0", "11.2" or "11.3"
        self.build = build          # build directory of this line (and sanitizer variant)
        self.ext = build / "libwtkms.so"
        self.wtkms = build / "wtkms"
        self.progs = build / "tests"
        self.wt = wt                # the wt utility of this line
        self.libdir = libdir        # where this line's libwiredtiger.so is (None: system)

    def env(self, extra=None):
        """Environment for running this line's programs (and wt with our extension)."""
        env = dict(os.environ)
        if self.libdir:
            env["LD_LIBRARY_PATH"] = str(self.libdir) + (
                ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        if SANITIZE:
            # wt itself is not instrumented: preload the runtimes our extension needs.
            asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                                  text=True).stdout.strip()
            ubsan = subprocess.run(["gcc", "-print-file-name=libubsan.so"], capture_output=True,
                                   text=True).stdout.strip()
            env["LD_PRELOAD"] = asan + " " + ubsan
            # WiredTiger's own allocations are not ours to judge; leaks are checked in unit tests.
            env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1")
            env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
        if extra:
            env.update(extra)
        return env

    def ext_config(self, settings):
        """The wiredtiger_open fragment that loads wtkms with `settings` (a key=value string)."""
        return "extensions=[%s=(config=(%s))]" % (self.ext, settings)

    def run(self, args, check=True, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 600)
        env = self.env(kw.pop("env", None))
        p = subprocess.run([str(a) for a in args], env=env, **kw)
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                                 % (args, p.returncode, p.stdout, p.stderr))
        return p

    def wtcmd(self, home, config, *args, check=True):
        """Run this line's wt utility: wt -h HOME -C CONFIG ARGS..."""
        return self.run([self.wt, "-h", home, "-C", config] + list(args), check=check)

    def __repr__(self):
        return "wt-" + self.name


def _lines():
    asan = SANITIZE
    out = []
    b32 = REPO / ("build/asan" if asan else "build")
    out.append(Line("3.2", b32, Path(shutil.which("wt") or "/usr/bin/wt"), None))
    for version in BUILT_LINES:
        name = version.rsplit(".", 1)[0]
        wt = CACHE / ("wt-" + version)
        build = REPO / ("build/wt-%s%s" % (name, "-asan" if asan else ""))
        out.append(Line(name, build, wt / "bin" / "wt", wt / "lib"))
    wanted = os.environ.get("WTKMS_LINES")
    if wanted:
        out = [l for l in out if l.name in wanted.split(",")]
    return out


LINES = _lines()


@pytest.fixture(params=LINES, ids=[repr(l) for l in LINES])
def wtline(request):
    line = request.param
    missing = [p for p in (line.ext, line.wtkms, line.wt) if not Path(p).exists()]
    if missing:
        pytest.fail("WiredTiger line %s is not built (missing %s): run scripts/build.sh"
                    % (line.name, ", ".join(map(str, missing))))
    return line


@pytest.fixture
def line32():
    """The system (3.2) line, for tests that need only one line."""
    return LINES[0]


@pytest.fixture
def local_key(tmp_path):
    """A fresh local master key file, mode 600."""
    path = tmp_path / "master.key"
    path.write_bytes(os.urandom(32))
    path.chmod(0o600)
    return path


def free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60, proc=None):
    """Wait until 127.0.0.1:port accepts; fail (not skip) if the peer dies or never listens."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("peer exited with %s before listening on %d" % (proc.returncode, port))
        with contextlib.closing(socket.socket()) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("peer did not listen on 127.0.0.1:%d within %ds" % (port, timeout))


@contextlib.contextmanager
def peer(cmd, port, log_path, env=None, timeout=60, cwd=None):
    """Start a peer process on 127.0.0.1:port, wait for it, stop it afterwards."""
    log = open(log_path, "wb")
    proc = subprocess.Popen([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd, start_new_session=True)
    try:
        wait_port(port, timeout, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
