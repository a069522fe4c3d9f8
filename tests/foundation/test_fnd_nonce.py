# SPDX-License-Identifier: Apache-2.0
"""No (key, nonce) pair repeats, even in two copies of one data directory written at once.

A home is written (two keyids, journal kept), closed and copied; both copies are then opened and
written at the same time, each by its own process. Every wtkms block header in every file of both
homes (pages, metadata, journal records) is mapped through its own home's keystore to the
fingerprint of the key that sealed it -- (data-key fingerprint, open salt, epoch) -- and no
(fingerprint, nonce) pair may seal two different contents. Key and open numbers are local to a
home: both copies name their new open with the same number, which is why the check compares
fingerprints. The check itself must fail on a deliberately constructed repeat.
"""
import collections
import os
import struct
import subprocess
from pathlib import Path

import wtkms_scan as scan
from fnd_util import table_config


def writer(h, uri, start, count, batch):
    """Start fnd_writer in the background (small transactions: many journal records)."""
    return subprocess.Popen(
        [str(h.prog("fnd_writer")), "-h", str(h.path), "-C", h.config(), "-t", uri,
         "-s", str(start), "-n", str(count), "-b", str(batch), "-k"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.line.env())


def finish(p):
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err.decode()[-3000:]


def test_copies_never_repeat_key_nonce(fhome, tmp_path):
    a = fhome
    a.write("table:t1", "-c", table_config("k1"), "-n", "20000", "-b", "100", "-k")
    a.write("table:t2", "-c", table_config("k2"), "-n", "5000", "-b", "50")
    b = a.copy(tmp_path / "copy")

    # Both copies open and write at the same time: two processes, both tables, commits that
    # journal, checkpoints that rewrite pages and the metadata.
    procs = [writer(a, "table:t1", 100_000, 4000, 20), writer(b, "table:t1", 100_000, 4000, 20)]
    for p in procs:
        finish(p)
    procs = [writer(a, "table:t2", 100_000, 2000, 10), writer(b, "table:t2", 200_000, 2000, 10)]
    for p in procs:
        finish(p)
    for h in (a, b):
        r = h.read("table:t1")
        assert "read 24000 rows (24000 with prefix)" in r.stdout, r.stdout

    ksa, blocks_a, unmapped_a = scan.scan_home(a.path)
    ksb, blocks_b, unmapped_b = scan.scan_home(b.path)
    assert not unmapped_a and not unmapped_b, (unmapped_a[:3], unmapped_b[:3])

    repeats = scan.find_repeats([(ksa, blocks_a), (ksb, blocks_b)])
    assert not repeats, "(key, nonce) repeats: %s" % [
        (k[3], [(str(Path(x.path).relative_to(tmp_path)), x.offset, x.root, x.open) for x in v])
        for k, v in repeats[:5]]

    # The copies numbered their opens alike (same numbers, different salts) ...
    copied = set(ksa.opens) & set(ksb.opens)
    new = sorted(n for n in copied
                 if bytes(ksa.opens[n]["salt"]) != bytes(ksb.opens[n]["salt"]))
    assert new, "the copies share no open number: nothing tests the collision"
    # ... and each wrote pages and journal records under its own new opens.
    for ks, blocks in ((ksa, blocks_a), (ksb, blocks_b)):
        kinds = collections.Counter(
            "log" if "WiredTigerLog." in b.path else "page" for b in blocks if b.open in new)
        assert kinds["log"] > 0 and kinds["page"] > 0, kinds
    # The blocks from before the copy are in both homes, byte for byte (not repeats).
    shared = {x.digest for x in blocks_a} & {x.digest for x in blocks_b}
    assert shared, "no block common to both copies: the copy did not carry the old data"

    print("%d + %d wtkms blocks in two copies, open numbers %s reused with distinct salts, no "
          "(key, nonce) repeats" % (len(blocks_a), len(blocks_b), new))


def test_nonce_check_fails_on_a_constructed_repeat(fhome, tmp_path):
    """Put into a home a block that reuses the header (key and nonce) of a real block but seals
    other content, the way a nonce-reusing encryptor would: the check must report it."""
    h = fhome
    h.write("table:t1", "-c", table_config("k1"), "-n", "5000", "-b", "100", "-k")
    ks, blocks, unmapped = scan.scan_home(h.path)
    assert not unmapped
    assert not scan.find_repeats([(ks, blocks)])
    pages = [x for x in blocks if x.path.endswith("t1.wt")]
    assert len(pages) >= 2
    x, y = pages[0], pages[-1]
    data_y = Path(y.path).read_bytes()
    body_y = data_y[y.offset + scan.HDR_LEN:y.offset + y.length]
    hdr_x = Path(x.path).read_bytes()[x.offset:x.offset + scan.HDR_LEN]
    # A WiredTiger-looking block: 40 header bytes, our 4-byte length, x's header, y's body.
    fake = bytes(40) + struct.pack("<I", 44 + scan.HDR_LEN + len(body_y)) + hdr_x + body_y
    with open(h.path / "t1.wt", "ab") as f:
        f.write(bytes(-os.path.getsize(h.path / "t1.wt") % 4096) + fake)
    ks, blocks, unmapped = scan.scan_home(h.path)
    repeats = scan.find_repeats([(ks, blocks)])
    assert len(repeats) == 1, repeats
    (fp, salt, epoch, nonce), involved = repeats[0]
    assert nonce == x.counter and len(involved) == 2

    # Across homes as well: the same block header in a copy, over other content.
    c = h.copy(tmp_path / "copy")
    ks2, blocks2, _ = scan.scan_home(c.path)
    assert scan.find_repeats([(ks, blocks), (ks2, blocks2)])
