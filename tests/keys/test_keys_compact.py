# SPDX-License-Identifier: Apache-2.0
"""`wtkms keys compact`: keystore records that no block can name any more are removed; nothing a
block names, and nothing a running process may still write under, ever is. Offline and beside a
live WiredTiger process (tests/progs/ks_writer), and killed (SIGKILL) at every step."""
import json

import pytest

from ksutil import STEPS, Writer, assert_home, rotate, status


def compact(line, home, key, *extra, check=True, env=None):
    p = line.run([line.wtkms, "keys", "compact", "--home", home, "--key-file", key, "--json"]
                 + list(extra), check=check, env=env)
    return p if not check else json.loads(p.stdout)


def make(line, home, key, dropped=("k2", "k3", "k4")):
    home.mkdir()
    w = Writer(line, home, key)
    for k in ("k1",) + tuple(dropped):
        w.do("add " + k)
    for k in dropped:
        w.do("drop " + k)
    w.quit()


def test_compact_removes_what_no_block_names(wtline, tmp_path, local_key):
    home = tmp_path / "db"
    make(wtline, home, local_key)
    before = {k["keyid"] for k in status(wtline, home)["keyids"]}
    assert {"k1", "k2", "k3", "k4"} <= before
    dry = compact(wtline, home, local_key, "--dry-run")
    assert dry["dry_run"] is True and dry["removed_data_keys"] == 3, dry
    assert {k["keyid"] for k in status(wtline, home)["keyids"]} == before  # nothing written
    out = compact(wtline, home, local_key)
    assert out["removed_data_keys"] == 3 and out["scanned_files"] > 0, out
    after = {k["keyid"] for k in status(wtline, home)["keyids"]}
    assert after == before - {"k2", "k3", "k4"}
    assert_home(wtline, home, local_key, ["k1"])
    # Idempotent; and a dropped keyid written again gets a fresh data key.
    assert compact(wtline, home, local_key)["removed_data_keys"] == 0
    w = Writer(wtline, home, local_key)
    w.do("add k2")
    w.quit()
    assert_home(wtline, home, local_key, ["k1", "k2"])


def test_compact_beside_a_live_process(line32, tmp_path, keys):
    """With the home open, a keyid's newest data key is kept even if no block names it now (the
    running process may hold it for its next write); the process goes on writing and rotating
    without loss, and once it is gone the unnamed keys go."""
    a, b = keys[0], keys[1]
    home = tmp_path / "db"
    make(line32, home, a)
    w = Writer(line32, home, a)
    w.do("add k5")
    w.do("drop k5")  # k5's key: unnamed, newest of its keyid, the home live: kept
    out = compact(line32, home, a)
    assert out["removed_data_keys"] == 0, out
    assert {"k2", "k5"} <= {k["keyid"] for k in status(line32, home)["keyids"]}
    # Why: the running process still holds k5's key, ready, and writes under it without asking
    # the keystore again when the keyid comes back.
    w.do("add k5")
    w.do("add k6")
    w.do("put k1")
    rotate(line32, home, a, b)
    compact(line32, home, b)
    w.do("add k7")
    w.quit()
    assert compact(line32, home, b)["removed_data_keys"] == 3  # k2, k3, k4
    assert_home(line32, home, b, ["k1", "k5", "k6", "k7"], other=a)


@pytest.mark.parametrize("step", STEPS)
def test_compact_killed_at_every_step(line32, tmp_path, local_key, step):
    home = tmp_path / "db"
    make(line32, home, local_key)
    p = compact(line32, home, local_key, check=False, env={"WTKMS_TEST_KS_KILL": step})
    assert p.returncode == -9, p.stderr
    have = {k["keyid"] for k in status(line32, home, local_key)["keyids"]}
    assert ("k2" in have) == (step != "written")
    assert_home(line32, home, local_key, ["k1"])
