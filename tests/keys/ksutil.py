# SPDX-License-Identifier: Apache-2.0
"""Helpers of the keys suite: a live WiredTiger process beside which the keystore changes
(tests/progs/ks_writer), the keystore's test points, and the checks every test ends with."""
import json
import select
import subprocess
import time

import pytest

STEPS = ("locked", "merged", "changed", "written")


def conn_config(line, key, extra=""):
    cfg = "create,log=(enabled=true)," + line.ext_config(
        "provider=local,key_file=%s%s" % (key, extra))
    return cfg + ",encryption=(name=wtkms,keyid=system)"


def new_key(line, path):
    line.run([line.wtkms, "keys", "generate-local", "--key-file", path])
    return path


class Writer:
    """A ks_writer process: the live database beside which the keystore changes."""

    def __init__(self, line, home, key, env=None, extra=""):
        prog = line.progs / "ks_writer"
        if not prog.exists():
            pytest.fail("%s is not built: run scripts/build.sh" % prog)
        self.messages = []
        self.p = subprocess.Popen([str(prog), str(home), conn_config(line, key, extra)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=line.env(env))
        assert self.answer(60) == "ready"

    def answer(self, timeout=60):
        """The next protocol line; WiredTiger's messages (also on stdout) are kept aside."""
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                raise AssertionError("ks_writer did not answer in %d s" % timeout)
            line = self.p.stdout.readline()
            if line == "":
                return None  # exited
            line = line.rstrip("\n")
            if line.startswith("wtkms:"):
                self.messages.append(line)
                continue
            return line

    def send(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def do(self, cmd, timeout=60):
        self.send(cmd)
        a = self.answer(timeout)
        assert a == "ok", "%s -> %r; stderr: %s" % (cmd, a, self.stderr())
        return a

    def stderr(self):
        if self.p.poll() is None:
            return "(running)"
        return self.p.stderr.read()

    def quit(self):
        self.send("quit")
        out, err = self.p.communicate(timeout=60)
        self.messages += [m for m in out.splitlines() if m.startswith("wtkms:")]
        assert self.p.returncode == 0, err
        return err


def wait_test_point(p, step, timeout=30):
    """Read p's stderr until the keystore says it holds at step."""
    end = time.time() + timeout
    seen = ""
    while time.time() < end:
        if not select.select([p.stderr], [], [], max(0.0, end - time.time()))[0]:
            break
        line = p.stderr.readline()
        if line == "":
            break
        seen += line
        if "test point %s" % step in line:
            return
    raise AssertionError("never reached test point %s: %s" % (step, seen))


def rotate(line, home, old, new, env=None, check=True):
    return line.run([line.wtkms, "keys", "rotate", "--home", home, "--key-file", old,
                     "--new-key-file", new, "--json"], check=check, env=env)


def rotate_async(line, home, old, new, env):
    return subprocess.Popen([str(line.wtkms), "keys", "rotate", "--home", str(home), "--key-file",
                             str(old), "--new-key-file", str(new)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=line.env(env))


def status(line, home, key=None):
    args = [line.wtkms, "keys", "status", "--home", home, "--json"]
    if key is not None:
        args += ["--verify", "--key-file", key]
    return json.loads(line.run(args).stdout)


def assert_home(line, home, key, keyids, other=None):
    """The keystore names key, opens with it (and not with other), and every keyid's table reads
    back its rows."""
    st = status(line, home, key)  # --verify: unlocks with key, so the keystore is under key
    assert st["verified"] is True and len(st["master_keys"]) == 1
    have = {k["keyid"] for k in st["keyids"]}
    assert set(keyids) <= have, (keyids, have)
    cfg = conn_config(line, key)
    for k in keyids:
        p = line.wtcmd(home, cfg, "dump", "table:" + k)
        assert "value of %s" % k in p.stdout, p.stdout
    if other is not None:
        p = line.wtcmd(home, conn_config(line, other), "list", check=False)
        assert p.returncode != 0 and "wtkms" in p.stderr
