# SPDX-License-Identifier: Apache-2.0
"""No crash on any input: random damage to a manifest and to objects never makes list, show,
verify or restore crash (ASan/UBSan runs this too); each run ends with a documented exit code,
and restore never leaves a target behind. WTKMS_SOAK=1 runs many more rounds. The parsing is the
same on every WiredTiger line, so this runs on the first one only."""
import os
import random
import shutil

import pytest

from conftest import Snap, leftovers, manifest_path, objects

ROUNDS = 400 if os.environ.get("WTKMS_SOAK") == "1" else 15
OK_CODES = {0, 2, 3, 4, 5}


def mutate(data, rnd):
    data = bytearray(data)
    kind = rnd.randrange(4)
    if kind == 0 and data:
        for _ in range(rnd.randrange(1, 8)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    elif kind == 1:
        del data[rnd.randrange(len(data) + 1):]
    elif kind == 2:
        at = rnd.randrange(len(data) + 1)
        data[at:at] = os.urandom(rnd.randrange(1, 64))
    elif data:
        a = rnd.randrange(len(data))
        b = rnd.randrange(a, min(len(data), a + 256) + 1)
        c = rnd.randrange(len(data))
        data[c:c] = data[a:b]
    return bytes(data)


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "clear"])
def test_random_damage_never_crashes(line32, tmp_path, local_key, encrypted):
    snap = Snap(line32, tmp_path, local_key)
    home = snap.make_home(rows=300, vlen=300)
    clean = tmp_path / "clean"
    extra = () if encrypted else ("--no-encryption",)
    sid = snap.create(home, clean, *extra)
    # The clear snapshot is ours: let it through the no-downgrade rule, so its parsing is fuzzed.
    allow = () if encrypted else ("--allow-unencrypted",)
    rnd = random.Random(int.from_bytes(os.urandom(4), "big"))
    seed_note = "seed state %r" % (rnd.getstate()[1][:2],)
    for r in range(ROUNDS):
        store = tmp_path / "store"
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(clean, store)
        victim = manifest_path(store, sid) if r % 2 == 0 else rnd.choice(objects(store, sid))
        victim.write_bytes(mutate(victim.read_bytes(), rnd))
        for args in (["snapshot", "list", "--store", store],
                     ["snapshot", "show", sid, "--store", store, "--json"],
                     ["snapshot", "verify", sid, "--store", store, "--key-file", snap.key,
                      *allow]):
            p = snap.wtkms(*args, check=False)
            assert p.returncode in OK_CODES, (r, args, p.returncode, p.stderr, seed_note)
            assert "AddressSanitizer" not in p.stderr and "runtime error" not in p.stderr
        if r % 5 == 0:
            target = tmp_path / "t"
            p = snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target,
                           "--key-file", snap.key, *allow, check=False)
            assert p.returncode in OK_CODES, (r, p.returncode, p.stderr, seed_note)
            if p.returncode != 0:
                assert not target.exists() and leftovers(tmp_path, "t") == []
            shutil.rmtree(target, ignore_errors=True)
