# SPDX-License-Identifier: Apache-2.0
"""kill -9 of a writer mid-run: every row it acknowledged is there after the reopen.

The writer (tests/progs/fnd_writer.c -S) commits one row per transaction with sync=on and prints
the row's key only after the commit returned. The test kills it with SIGKILL at a random point,
five times (the first right after it starts, while it opens, recovers and records its open in the
keystore), and after each kill reopens the home (recovery decrypts the journal) and checks every
acknowledged key and its value. Each run is a new writing open, so each adds a keystore record
that must be durable before the journal names it.
"""
import os
import random
import signal
import subprocess
import time

from fnd_util import table_config

RUNS = 5


def test_kill9_acknowledged_rows_survive(fhome, tmp_path):
    h = fhome
    h.write("table:t", "-c", table_config("k1"), "-n", "10", "-b", "10", "-k")
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    keys_file = tmp_path / "acked.txt"
    acked = ["WTKMSCANARYK-%010d" % i for i in range(10)]
    for run in range(RUNS):
        want = 0 if run == 0 else rng.randint(50, 600)
        p = subprocess.Popen(
            [str(h.prog("fnd_writer")), "-h", str(h.path), "-C", h.config(), "-t", "table:t",
             "-s", str((run + 1) * 1_000_000), "-n", "1000000", "-S"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.line.env())
        got = []
        if want == 0:
            time.sleep(rng.uniform(0.01, 0.2))
        while len(got) < want:
            line = p.stdout.readline()
            if not line:
                break
            got.append(line.decode().strip())
        os.kill(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=60)
        # Whatever reached the pipe before the kill was acknowledged too.
        got += [l for l in out.decode().split("\n") if l]
        assert p.returncode == -signal.SIGKILL, (p.returncode, err.decode()[-2000:])
        if want > 0:
            assert len(got) >= want, "writer stopped early (seed %d): %s" % (seed, err.decode())
        acked += got
        keys_file.write_text("\n".join(acked) + "\n")

        # Reopen (recovery) and find every acknowledged row, with its exact value.
        r = h.read("table:t", "-K", str(keys_file), check=False)
        assert r.returncode == 0, "run %d (seed %d): %s\n%s" % (run, seed, r.stdout[-3000:],
                                                                 r.stderr[-3000:])
        assert "MISSING" not in r.stdout and "MISMATCH" not in r.stdout
        assert "%d listed keys searched" % len(acked) in r.stdout

    # Sanity: the runs wrote through the journal under fresh open records.
    assert len(acked) > 10 + (RUNS - 1) * 50
    # `wt` with recovery reads the table after the last kill too.
    r = h.wt("-R", "verify", "table:t", check=False)
    assert r.returncode == 0, r.stderr
