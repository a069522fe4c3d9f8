# SPDX-License-Identifier: Apache-2.0
"""Salvage and verify of an encrypted file with a damaged block.

A block whose bytes pass WiredTiger's checksum but fail wtkms's authentication is a damaged block.
WiredTiger's salvage and verify skip a block only when its read fails with WT_ERROR; any other
code from the decrypt callback stops them. So wtkms's decrypt returns WT_ERROR for such a block
(its message still goes to the error stream), and `wt salvage` of the damaged table recovers every
row of the other pages, exactly, and loses the rows of the damaged page.

The table is created with checksum=off (WiredTiger checksums only the first 64 bytes of each
block: the flipped byte, in the ciphertext, is past them), bulk loaded and checkpointed once.
"""
from pathlib import Path

import wtkms_scan as scan
from fnd_util import table_config

ROWS = 3000
VLEN = 1000


def expected_value(key):
    i = int(key[13:])
    s = "WTKMSCANARYV-v-%s-" % key
    return s + "".join(chr(ord("a") + (i * 7 + n) % 26) for n in range(len(s), VLEN))


def dumped_rows(h, home):
    """{key: value} of `wt dump table:t`; the dump must succeed."""
    d = h.wt("dump", "table:t", home=home)
    lines = d.stdout.split("\n")
    body = [l[:-3] if l.endswith("\\00") else l for l in lines[lines.index("Data") + 1:] if l]
    return dict(zip(body[0::2], body[1::2]))


def test_salvage_skips_the_damaged_block(fhome, tmp_path):
    h = fhome
    h.write("table:t", "-c", table_config("k1", "checksum=off"), "-n", str(ROWS), "-l", str(VLEN),
            "-B", "-k")
    _ks, blocks, unmapped = scan.scan_home(h.path)
    assert not unmapped
    pages = [b for b in blocks if Path(b.path).name == "t.wt"]
    # Leaf pages hold ~30 rows of 1 KB each; the one internal page is far smaller.
    leaves = sorted((b for b in pages if b.length > 8192), key=lambda b: b.offset)
    assert len(leaves) >= 20, [b.length for b in pages]
    victim = leaves[len(leaves) // 2]

    copy = tmp_path / "damaged"
    h.copy(copy)
    off = victim.offset + 24 + (victim.length - 40) // 2
    assert off - scan.block_start(victim) >= 64
    scan.flip(copy / "t.wt", off, 0x01)

    # Verify finds the damage and names it through wtkms's message.
    v = h.wt("verify", "table:t", home=copy, check=False)
    assert v.returncode != 0, "verify passed a damaged file:\n%s" % v.stdout
    assert "fails authentication" in v.stderr, v.stderr[-3000:]

    s = h.wt("salvage", "table:t", home=copy, check=False)
    assert s.returncode == 0, "salvage failed:\n%s\n%s" % (s.stdout[-2000:], s.stderr[-3000:])
    assert "fails authentication" in s.stderr, s.stderr[-3000:]

    rows = dumped_rows(h, copy)
    for k, v in rows.items():
        assert k.startswith("WTKMSCANARYK-") and len(k) == 23, k[:80]
        assert v == expected_value(k), "salvage returned altered data for %s" % k
    lost = ROWS - len(rows)
    # The damaged page's rows are gone (their only copy was in it); every other page's are back.
    assert 0 < lost <= ROWS // len(leaves) * 2, (lost, len(leaves))
    keys = sorted(int(k[13:]) for k in rows)
    missing = sorted(set(range(ROWS)) - set(keys))
    assert missing == list(range(missing[0], missing[0] + len(missing))), \
        "the lost rows are not one page's run of keys: %s" % missing[:50]

    # The salvaged table verifies, and the rest of the home still opens with wtkms.
    h.wt("verify", "table:t", home=copy)
