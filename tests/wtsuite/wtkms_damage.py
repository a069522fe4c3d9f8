# SPDX-License-Identifier: Apache-2.0
"""Damage one live leaf page of an encrypted WiredTiger file (copied into the suite by overlay.py).

test_salvage01's damage() (used by test_encrypt07) finds its target by a value's plain text, or
for rotn by its rot13: it needs an encryptor that keeps the plain text's structure on disk.
AES-256-GCM keeps none, so the wtkms scenario finds the target the way WiredTiger itself lists it:
`wt verify -d dump_address` prints the address of every live page of the tree
("[OBJECT: OFFSET-END, SIZE, CHECKSUM] ... row-store leaf", 11.3 adds " write gen: N"). The
middle leaf page in key order is damaged, one byte near the start of its ciphertext (past the 40
bytes of page and block header WiredTiger keeps in clear, its 4-byte length of the encrypted
data and wtkms's 24-byte header: not in the padding after the ciphertext, which nothing reads),
as test_salvage01 damages one byte of one leaf page: the first leaf survives, so salvage has
rows to recover.
"""
import re

ADDR = re.compile(r"\[(?:\d+: )?(\d+)-(\d+), (\d+), [^\]]*\](.*)$")
LEAF_TYPES = ("row-store leaf", "column-store variable-length leaf",
              "column-store fixed-length leaf")
CLEAR_BYTES = 40  # WT_PAGE_HEADER (28) + WT_BLOCK_HEADER (12): WT_BLOCK_ENCRYPT_SKIP
CIPHERTEXT = CLEAR_BYTES + 4 + 24  # + WiredTiger's length of the encrypted data + wtkms's header


def live_leaves(test, tablename):
    """(offset, size) of each live leaf page of table:TABLENAME, in key order."""
    test.runWt(["verify", "-d", "dump_address", "table:" + tablename], outfilename="addresses.out",
               reopensession=False)
    leaves = []
    with open("addresses.out") as f:
        for line in f:
            m = ADDR.search(line)
            if m and any(t in m.group(4) for t in LEAF_TYPES):
                leaves.append((int(m.group(1)), int(m.group(3))))
    return leaves


def damage_middle_leaf(test, tablename):
    leaves = live_leaves(test, tablename)
    # At least two leaves: one to damage, one before it whose rows salvage keeps.
    test.assertGreaterEqual(len(leaves), 2, "table %s has %d leaf pages" % (tablename, len(leaves)))
    offset, size = leaves[len(leaves) // 2]
    pos = offset + CIPHERTEXT + 16
    with open(tablename + ".wt", "r+b") as fp:
        fp.seek(pos)
        b = fp.read(1)
        test.assertEqual(len(b), 1)
        fp.seek(pos)
        fp.write(bytes([b[0] ^ 0x55]))
    return pos
