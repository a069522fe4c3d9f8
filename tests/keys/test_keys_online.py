# SPDX-License-Identifier: Apache-2.0
"""Key management while the database runs: a live WiredTiger process (tests/progs/ks_writer,
holding the home open as mongod does) adds keyids before, during and after `wtkms keys rotate`,
in both interleavings, through a loop of rotations, and with either side killed (SIGKILL) at every
step of the keystore update. Afterwards the keystore is complete, names the master key it was
last rotated to, and opens; the rotation alert of a long-running process repeats while overdue.

The interleavings are made exact with the keystore's test points (docs/FORMATS.md):
WTKMS_TEST_KS_PAUSE=STEP:MS holds a process at STEP and says so on stderr, WTKMS_TEST_KS_KILL=STEP
kills it there."""
import json
import os
import random
import time

import pytest

from ksutil import (STEPS, Writer, assert_home, rotate, rotate_async, status,
                    wait_test_point)

def test_rotate_then_first_write_of_a_new_keyid(wtline, tmp_path, keys):
    """The measured loss: rotate beside a running process, which then writes a new keyid. Its
    keystore write must keep the new master key, so the old one can be deleted."""
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(wtline, home, a)
    w.do("add k1")
    out = json.loads(rotate(wtline, home, a, b).stdout)
    assert out["from"] != out["to"]
    w.do("add k2")
    w.do("put k1")
    w.quit()
    assert_home(wtline, home, b, ["k1", "k2"], other=a)
    a.unlink()  # the old master key is deleted, which is the point of rotating
    assert_home(wtline, home, b, ["k1", "k2"])


def test_new_keyid_while_rotation_is_in_flight(wtline, tmp_path, keys):
    """The other interleaving: the rotation has read the keystore and wrapped its key; the
    running process adds a data key; then the rotation writes. The data key must survive."""
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(wtline, home, a)
    w.do("add k1")
    r = rotate_async(wtline, home, a, b, {"WTKMS_TEST_KS_PAUSE": "wrapped:3000"})
    wait_test_point(r, "wrapped")
    w.do("add k2")  # while the rotation holds its (stale) copy
    assert r.poll() is None, "the rotation finished before the writer wrote"
    out, err = r.communicate(timeout=60)
    assert r.returncode == 0, err
    w.do("add k3")
    w.quit()
    assert_home(wtline, home, b, ["k1", "k2", "k3"], other=a)


def test_rotation_waits_for_a_writer_inside_its_update(wtline, tmp_path, keys):
    """The running process holds the lock in the middle of its update: the rotation waits for
    it, then merges what it wrote."""
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    home.mkdir()
    # Its third keystore update (after the open record and k1) holds at "merged".
    w = Writer(wtline, home, a, env={"WTKMS_TEST_KS_PAUSE": "merged:2000:3"})
    w.do("add k1")
    w.send("add k2")
    wait_test_point(w.p, "merged")
    t0 = time.time()
    rotate(wtline, home, a, b)
    assert time.time() - t0 >= 0.5, "the rotation did not wait for the lock"
    assert w.answer() == "ok"
    w.quit()
    assert_home(wtline, home, b, ["k1", "k2"], other=a)


def test_many_rotations_beside_a_busy_writer(line32, tmp_path, keys):
    """16 rotations through three master keys while the writer adds 32 keyids, with random
    pauses on both sides: no data key and no rotation is lost. (The keystore code is the same on
    every line, so the long tests here run on one; the interleavings above run on each.)"""
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(line32, home, keys[0])
    added = []
    cur = 0
    for i in range(16):
        nxt = (cur + 1) % 3
        r = rotate_async(line32, home, keys[cur], keys[nxt],
                         {"WTKMS_TEST_KS_PAUSE": "%s:%d" % (rng.choice(("wrapped",) + STEPS),
                                                            rng.randint(0, 60))})
        for _ in range(2):
            time.sleep(rng.uniform(0, 0.05))
            k = "k%02d" % len(added)
            w.do("add " + k)
            added.append(k)
        out, err = r.communicate(timeout=120)
        assert r.returncode == 0, "rotation %d: %s" % (i, err)
        cur = nxt
    w.quit()
    assert_home(line32, home, keys[cur], added, other=keys[(cur + 1) % 3])
    assert status(line32, home)["generation"] >= 16 + 17


@pytest.mark.parametrize("step", ("wrapped",) + STEPS)
def test_rotation_killed_at_every_step(line32, tmp_path, keys, step):
    """kill -9 of the rotation at each step: the keystore is the old one or the new one, whole,
    and the running process carries on writing to it."""
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(line32, home, a)
    w.do("add k1")
    p = rotate(line32, home, a, b, env={"WTKMS_TEST_KS_KILL": step}, check=False)
    assert p.returncode == -9, (p.returncode, p.stderr)
    w.do("add k2")
    w.quit()
    now = b if step == "written" else a
    assert_home(line32, home, now, ["k1", "k2"], other=b if now == a else a)
    assert not [f for f in os.listdir(home) if ".tmp" in f], os.listdir(home)


@pytest.mark.parametrize("step", STEPS)
def test_writer_killed_at_every_step(line32, tmp_path, keys, step):
    """kill -9 of the running process inside its keystore update: the home reopens with every
    table written before, and a rotation afterwards works."""
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(line32, home, a)
    w.do("add k1")
    w.quit()
    # The open's first write records the open (update 1); k2's first block adds its data key
    # (update 2): killed there.
    w = Writer(line32, home, a, env={"WTKMS_TEST_KS_KILL": step + ":2"})
    w.send("add k2")
    assert w.answer() is None
    assert w.p.wait(timeout=30) == -9
    st = status(line32, home, a)
    assert ("k2" in {k["keyid"] for k in st["keyids"]}) == (step == "written")
    rotate(line32, home, a, b)
    w = Writer(line32, home, b)
    w.do("add k3")
    w.quit()
    assert_home(line32, home, b, ["k1", "k3"], other=a)


def test_lock_held_too_long_names_the_holder(line32, tmp_path, keys):
    """A keystore change that cannot get the lock in time (30 s; 3 s here through the test
    point WTKMS_TEST_KS_LOCK_TIMEOUT_MS) fails naming the process that holds it, and changes
    nothing."""
    a, b, c = keys
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(line32, home, a)
    w.do("add k1")
    w.quit()
    holder = rotate_async(line32, home, a, b, {"WTKMS_TEST_KS_PAUSE": "locked:20000"})
    wait_test_point(holder, "locked")
    before = (home / "wtkms.keystore").read_bytes()
    p = rotate(line32, home, a, c, check=False, env={"WTKMS_TEST_KS_LOCK_TIMEOUT_MS": "3000"})
    assert p.returncode == 6, p.stderr
    assert "pid %d" % holder.pid in p.stderr and "wtkms.keystore.lock" in p.stderr, p.stderr
    assert (home / "wtkms.keystore").read_bytes() == before
    holder.kill()
    holder.wait()
    assert_home(line32, home, a, ["k1"])


def test_running_process_repeats_the_rotation_alert(line32, tmp_path, keys):
    """A long-running process warns at open and again every rotation_alert_repeat seconds while
    rotation is overdue; an online rotation to a new key silences it."""
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(line32, home, a)
    w.do("add k1")
    w.quit()
    line32.run([line32.progs / "ks_backdate", home, a, 400])
    w = Writer(line32, home, a, extra=",rotation_alert_repeat=1")
    time.sleep(3.5)
    w.do("put k1")
    warned = [m for m in w.messages if "last rotated 400 days ago" in m]
    assert len(warned) >= 3, w.messages  # at open, then about every second
    rotate(line32, home, a, b)
    time.sleep(1.5)  # a check that was already running may still warn once
    w.do("put k1")
    n = len(w.messages)
    time.sleep(2.5)
    w.do("put k1")
    assert w.messages[n:] == [], w.messages[n:]
    w.quit()
    assert_home(line32, home, b, ["k1"])


def test_keys_usage_checks_live_homes_and_is_never_wrongly_safe(wtline, tmp_path, keys):
    """keys usage --home names a live home whose keystore the key wraps; a store that does not
    exist makes the verdict "unknown" (exit 6), never "safe"."""
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    home.mkdir()
    w = Writer(wtline, home, a)
    w.do("add k1")
    kid = status(wtline, home)["master_key"]["key_id"]
    usage = [wtline.wtkms, "keys", "usage", kid, "--json"]
    p = wtline.run(usage + ["--home", home], check=False)
    out = json.loads(p.stdout)
    assert p.returncode == 6 and out["verdict"] == "not safe", p.stdout
    assert [(d["kind"], d["via"]) for d in out["dependents"]] == [
        ("home", "keystore of a live home")]
    p = wtline.run(usage + ["--store", tmp_path / "no-such-store"], check=False)
    out = json.loads(p.stdout)
    assert p.returncode == 6 and out["verdict"] == "unknown" and not out["safe_to_delete"]
    assert "no such directory" in out["unreadable"][0]["error"]
    p = wtline.run(usage + ["--home", tmp_path / "not-a-home"], check=False)
    assert p.returncode == 6 and json.loads(p.stdout)["verdict"] == "unknown"
    # Rotated away (online), the old key is safe as far as this home goes.
    rotate(wtline, home, a, b)
    w.do("add k2")
    p = wtline.run(usage + ["--home", home])
    assert json.loads(p.stdout)["verdict"] == "safe"
    w.quit()
