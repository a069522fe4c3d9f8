# SPDX-License-Identifier: Apache-2.0
"""Altered blocks on disk: reads fail with wtkms's message and never return altered data.

The table is created with checksum=off, so WiredTiger checksums only the first 64 bytes of each
block (its own headers, our 4-byte length and the first 20 bytes of our header) and everything
past them is ours to catch: the rest of the nonce, the ciphertext and the tag. It is bulk loaded
and checkpointed once, so every block in its file is live. Each trial flips one byte in a copy of
the closed home and reads the whole table through the C API and through `wt dump`: the read must
fail (WiredTiger may panic the connection: that is its fail-stop behaviour), stderr must carry
wtkms's "fails authentication" message, and no row may come back altered.
"""
from pathlib import Path

import pytest

import wtkms_scan as scan
from fnd_util import table_config

ROWS = 3000
VLEN = 1000


@pytest.fixture
def tampered_home(fhome):
    h = fhome
    h.write("table:t", "-c", table_config("k1", "checksum=off"), "-n", str(ROWS), "-l", str(VLEN),
            "-B", "-k")
    h.read("table:t", "-s", "0", "-n", str(ROWS), "-l", str(VLEN))
    ks, blocks, unmapped = scan.scan_home(h.path)
    assert not unmapped
    pages = [b for b in blocks if Path(b.path).name == "t.wt"]
    # Several leaf pages and at least one internal page.
    assert len(pages) >= 5, len(pages)
    return h, pages


def expect_refused(h, make_copy, what):
    """Reading the table from a tampered copy fails with our message; nothing altered comes back.
    make_copy(name) makes a fresh tampered copy: a panicked connection leaves its home needing
    recovery, so the C API and `wt dump` each get their own."""
    r = h.read("table:t", "-s", "0", "-n", str(ROWS), "-l", str(VLEN), home=make_copy("capi"),
               check=False, timeout=120)
    assert r.returncode != 0, "%s: the read succeeded:\n%s" % (what, r.stdout[-2000:])
    assert "MISMATCH" not in r.stdout and "UNEXPECTED" not in r.stdout, (what, r.stdout[-2000:])
    assert "wtkms" in r.stderr and "fails authentication" in r.stderr, (what, r.stderr[-3000:])
    assert "keyid k1" in r.stderr, (what, r.stderr[-3000:])
    # wt dump: whatever rows it prints before failing must be exact.
    d = h.wt("dump", "table:t", home=make_copy("wt"), check=False)
    assert d.returncode != 0, "%s: wt dump succeeded" % what
    assert "fails authentication" in d.stderr, (what, d.stderr[-3000:])
    lines = d.stdout.split("\n")
    if "Data" in lines:
        body = [l[:-3] if l.endswith("\\00") else l for l in lines[lines.index("Data") + 1:] if l]
        for k, v in zip(body[0::2], body[1::2]):
            assert k.startswith("WTKMSCANARYK-") and len(k) == 23, (what, k[:80])
            i = int(k[13:])
            s = "WTKMSCANARYV-v-%s-" % k
            expect = s + "".join(chr(ord("a") + (i * 7 + n) % 26) for n in range(len(s), VLEN))
            assert v == expect, "%s: wt dump returned altered data for %s" % (what, k)


# Offsets inside our block (0 = first byte of our header), past WiredTiger's 64 checked bytes.
POSITIONS = {
    "nonce (bytes WiredTiger does not checksum)": lambda b: 20,
    "first ciphertext byte": lambda b: 24,
    "middle of the ciphertext": lambda b: 24 + (b.length - 40) // 2,
    "last ciphertext byte": lambda b: b.length - 17,
    "first tag byte": lambda b: b.length - 16,
    "last tag byte": lambda b: b.length - 1,
}


@pytest.mark.parametrize("where", sorted(POSITIONS))
def test_flip_in_every_block(tampered_home, tmp_path, where):
    h, pages = tampered_home

    def make_copy(name):
        copy = tmp_path / name
        h.copy(copy)
        for b in pages:
            off = b.offset + POSITIONS[where](b)
            assert off - scan.block_start(b) >= 64
            scan.flip(copy / "t.wt", off, 0x01)
        return copy

    expect_refused(h, make_copy, where)


def test_flip_in_each_block_alone(tampered_home, tmp_path):
    """One damaged page at a time (first, last and some between): the scan reaches it and stops
    there, after returning only exact rows."""
    h, pages = tampered_home
    picked = sorted({0, len(pages) - 1} | set(range(0, len(pages), max(1, len(pages) // 5))))
    for n in picked:
        b = pages[n]

        def make_copy(name, b=b, n=n):
            copy = tmp_path / ("%s-%d" % (name, n))
            h.copy(copy)
            scan.flip(copy / "t.wt", b.offset + 24 + (b.length - 40) // 3, 0x80)
            return copy

        expect_refused(h, make_copy, "page at offset %d" % scan.block_start(b))
