# SPDX-License-Identifier: Apache-2.0
"""wtkms_scan -- read wtkms keystores and find wtkms blocks in WiredTiger files, for tests.

Formats (docs/FORMATS.md, src/encryptor/block.h, src/keystore/keystore.c):

keystore  "WTKMSKS\\n" | u32le version | u32le body length | BSON body | 32-byte HMAC-SHA256.
          The body's roots[] hold {n, keyid, fp, ...}, its opens[] hold {n, salt, ...}.
block     u8 version (1) | u8 cipher (1) | u16 flags (0) | u32be data-key number ("root") |
          u32be open number | 12-byte nonce (u32 0 | u64be counter) | ciphertext | 16-byte tag.

WiredTiger puts a 4-byte little-endian length in front of each encrypted payload, after its own
40-byte page and block headers, or after the 16-byte header of a log record; the length counts
those headers and itself too (our block's length + 44, or + 20 in a log). Rather than parse WiredTiger's structures (which differ between lines), the scanner
looks for our 24-byte header anywhere in a file and accepts a hit only when the length before it
fits in the file and the key and open numbers exist in the home's keystore: a random match of
those ~12 fixed bytes in ciphertext is out of reach.

A key is identified across homes by its fingerprint: (data-key fingerprint, open salt, epoch),
epoch = counter >> 32; numbers are local to a home (two copies of one home both add open N).
"""
import collections
import hashlib
import os
import re
import struct

import bson

KS_MAGIC = b"WTKMSKS\n"
HDR_LEN = 24
TAG_LEN = 16
_HDR_RE = re.compile(rb"\x01\x01\x00\x00(.{4})(.{4})\x00\x00\x00\x00(.{8})", re.S)
ALLOC = 4096  # WiredTiger's default allocation size


class Keystore:
    """The parts of a keystore the scanner needs (no keys: the MAC is not checked here)."""

    def __init__(self, path):
        self.path = str(path)
        data = open(path, "rb").read()
        if data[:8] != KS_MAGIC:
            raise ValueError("%s: not a wtkms keystore" % path)
        version, blen = struct.unpack_from("<II", data, 8)
        if version not in (1, 2) or 16 + blen + 32 != len(data):
            raise ValueError("%s: version %d, body %d, size %d" % (path, version, blen, len(data)))
        self.raw = data
        self.doc = bson.decode(data[16:16 + blen])
        self.roots = {int(r["n"]): r for r in self.doc["roots"]}
        self.opens = {int(o["n"]): o for o in self.doc["opens"]}

    def fingerprint(self, root, open_, counter):
        """The identity of the key that sealed a block: independent of local numbering."""
        return (bytes(self.roots[root]["fp"]), bytes(self.opens[open_]["salt"]), counter >> 32)


# offset: of our header in the file; length: of our block (header, ciphertext, tag).
Block = collections.namedtuple("Block", "path offset root open counter length digest")


def iter_files(home):
    for dirpath, _dirs, files in os.walk(home):
        for f in sorted(files):
            yield os.path.join(dirpath, f)


def scan_file(path, ks):
    """Every wtkms block in a file: (blocks, unmapped), unmapped = headers naming numbers the
    keystore lacks (there should be none)."""
    data = open(path, "rb").read()
    is_log = "WiredTigerLog." in os.path.basename(path)
    blocks, unmapped = [], []
    for m in _HDR_RE.finditer(data):
        off = m.start()
        if off < 4:
            continue
        # In a data file a block starts on an allocation unit and our header follows WiredTiger's
        # 40 clear bytes and its 4-byte length. Elsewhere a match is chance: e.g. a block checksum
        # ending in 0x01 followed by the block flags 0x01 and zero padding spells our prefix at
        # unit offset 35, about one block in 256.
        if not is_log and off % ALLOC != 44:
            continue
        length = struct.unpack_from("<I", data, off - 4)[0] - (20 if is_log else 44)
        if length < HDR_LEN + TAG_LEN or off + length > len(data):
            continue
        root, open_ = struct.unpack(">II", m.group(1) + m.group(2))
        counter = struct.unpack(">Q", m.group(3))[0]
        if root == 0 or open_ == 0:
            continue
        if root not in ks.roots or open_ not in ks.opens:
            unmapped.append((path, off, root, open_))
            continue
        # What identifies this block's content: all of it in a log (written once, in order); in a
        # data file only up to the end of its first allocation unit, because WiredTiger may reuse
        # later units of a freed block and leave a stale header in front of newer bytes.
        end = off + length if is_log else min(off + length, (off // ALLOC + 1) * ALLOC)
        digest = hashlib.sha256(data[off:end]).digest()
        blocks.append(Block(path, off, root, open_, counter, length, digest))
    return blocks, unmapped


def scan_home(home, ks=None):
    """All wtkms blocks of every file of a home, mapped through the home's own keystore."""
    ks = ks or Keystore(os.path.join(home, "wtkms.keystore"))
    blocks, unmapped = [], []
    for path in iter_files(home):
        if os.path.basename(path) == "wtkms.keystore":
            continue
        b, u = scan_file(path, ks)
        blocks += b
        unmapped += u
    return ks, blocks, unmapped


def find_repeats(homes):
    """homes: [(keystore, blocks)]. Returns the (key fingerprint, nonce) pairs that seal more than
    one distinct content, each with the blocks involved. Identical bytes found twice (a file
    copied with its home) are one block, not a repeat."""
    seen = collections.defaultdict(dict)
    for ks, blocks in homes:
        for b in blocks:
            key = ks.fingerprint(b.root, b.open, b.counter) + (b.counter,)
            seen[key].setdefault(b.digest, b)
    return [(k, list(v.values())) for k, v in seen.items() if len(v) > 1]


def find_needles(home, needles):
    """(file, needle, offset) for every occurrence of any needle (bytes) in any file of home."""
    hits = []
    for path in iter_files(home):
        data = open(path, "rb").read()
        for n in needles:
            i = data.find(n)
            if i >= 0:
                hits.append((path, n, i))
    return hits


def flip(path, offset, mask=0x01):
    """XOR one byte of a file in place."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


def block_start(b):
    """File offset of the WiredTiger block holding a wtkms block found in a data file: our
    header sits after WiredTiger's 40-byte headers and the 4-byte length."""
    return b.offset - 44
