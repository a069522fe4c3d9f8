# SPDX-License-Identifier: Apache-2.0
"""Round trip and canary scan: system and table encryption with two keyids, through the C API and
through `wt -C`, on both WiredTiger lines.

100k rows go into table c1 (keyid k1) through the C API, 20k rows into c2 (keyid k2) through
`wt create` and `wt load`, a few more with sync=on (journal records of both keyids); then every row
is read back after a reopen, by the C API and by `wt dump`, and `wt verify` checks both tables.
Every row carries a canary in key and value: none may appear in any file of the home (the clear
files WiredTiger.turtle, WiredTiger.basecfg, WiredTiger and WiredTiger.lock included), and the
scan must find wtkms blocks in the metadata, both tables and the journal, under the right keys.
"""
import re
from pathlib import Path

import wtkms_scan as scan
from fnd_util import table_config

ROWS = 100_000
WT_ROWS = 20_000
P2, T2 = "WTKMSCANARYW-", "WTKMSCANARYX"  # c2's key prefix and value tag


def fnd_key(prefix, i):
    return "%s%010d" % (prefix, i)


def fnd_value(tag, key, i, vlen=100):
    """Python twin of fnd_value() in tests/progs/fnd_rows.h."""
    s = "%s-v-%s-" % (tag, key)
    return s + "".join(chr(ord("a") + (i * 7 + n) % 26) for n in range(len(s), vlen))


def parse_dump(text):
    """The key/value pairs of a `wt dump` (print format) of a table with string keys/values."""
    lines = text.split("\n")
    data = lines.index("Data")
    body = [l[:-3] if l.endswith("\\00") else l for l in lines[data + 1:] if l != ""]
    assert len(body) % 2 == 0, "odd number of data lines in the dump"
    return dict(zip(body[0::2], body[1::2]))


def test_canary_round_trip(fhome, tmp_path):
    h = fhome
    # C API: c1 under k1, committed 1000 rows at a time, then a checkpoint.
    r = h.write("table:c1", "-c", table_config("k1"), "-n", str(ROWS), "-b", "1000", "-k")
    assert "wrote %d rows" % ROWS in r.stdout

    # wt -C: c2 under k2, created by `wt create` and filled by `wt load`.
    h.wt("create", "-c", table_config("k2"), "table:c2")
    dump = tmp_path / "c2.dump"
    with open(dump, "w") as f:
        f.write("WiredTiger Dump (WiredTiger Version %s)\nFormat=print\nHeader\ntable:c2\n"
                "key_format=S,value_format=S\nData\n" % h.line.name)
        for i in range(WT_ROWS):
            k = fnd_key(P2, i)
            # In the print format an S item carries its terminating NUL as "\00".
            f.write("%s\\00\n%s\\00\n" % (k, fnd_value(T2, k, i)))
    h.wt("load", "-f", str(dump))
    dump.unlink()

    # Journal records of both keyids, each acknowledged after a synced commit.
    r = h.write("table:c1", "-s", str(ROWS), "-n", "20", "-S")
    assert len(r.stdout.split()) == 20
    r = h.write("table:c2", "-s", str(WT_ROWS), "-n", "20", "-S", "-p", P2, "-T", T2)
    assert len(r.stdout.split()) == 20

    # Reopen and read every row back through the C API ...
    r = h.read("table:c1", "-s", "0", "-n", str(ROWS + 20))
    assert "read %d rows (%d with prefix)" % (ROWS + 20, ROWS + 20) in r.stdout, r.stdout
    r = h.read("table:c2", "-p", P2, "-T", T2, "-s", "0", "-n", str(WT_ROWS + 20))
    assert "read %d rows" % (WT_ROWS + 20) in r.stdout, r.stdout
    # ... and through wt dump, byte for byte, and wt verify.
    rows = parse_dump(h.wt("dump", "table:c2").stdout)
    assert len(rows) == WT_ROWS + 20
    for i in range(WT_ROWS + 20):
        k = fnd_key(P2, i)
        assert rows[k] == fnd_value(T2, k, i), k
    rows = parse_dump(h.wt("dump", "table:c1").stdout)
    assert len(rows) == ROWS + 20
    for i in range(0, ROWS + 20, 997):
        k = fnd_key("WTKMSCANARYK-", i)
        assert rows[k] == fnd_value("WTKMSCANARYV", k, i), k
    h.wt("verify", "table:c1")
    h.wt("verify", "table:c2")

    # Not one canary anywhere on disk, nor the master key.
    names = sorted(p.name for p in h.path.iterdir())
    for clear in ("WiredTiger.turtle", "WiredTiger.basecfg", "WiredTiger", "WiredTiger.lock"):
        assert clear in names
    needles = [b"WTKMSCANARY", b"CANARYK-00000", b"CANARYV-v-", P2.encode(), T2.encode(),
               h.key_file.read_bytes()]
    hits = scan.find_needles(h.path, needles)
    assert not hits, "cleartext found on disk: %s" % [(Path(p).name, n[:20], o) for p, n, o in hits]

    # And it is wtkms that encrypted them: our blocks in the metadata, both tables and the
    # journal, each under the data key of its own keyid, every header mapped by the keystore.
    ks, blocks, unmapped = scan.scan_home(h.path)
    assert not unmapped, unmapped[:5]
    by_file = {}
    for b in blocks:
        by_file.setdefault(Path(b.path).name, set()).add(ks.roots[b.root]["keyid"])
    logs = [n for n in by_file if n.startswith("WiredTigerLog.")]
    assert logs, "no wtkms blocks in the journal: %s" % sorted(by_file)
    assert by_file.get("WiredTiger.wt") == {"system"}, by_file
    assert by_file.get("c1.wt") == {"k1"}, by_file
    assert by_file.get("c2.wt") == {"k2"}, by_file
    assert set().union(*(by_file[n] for n in logs)) == {"system"}
    # Every file other than the clear ones and the keystore is made of wtkms blocks only.
    for n in names:
        if n.endswith(".wt") and n not in by_file:
            data = (h.path / n).read_bytes()
            # An empty table file holds only WiredTiger's descriptor block.
            assert len(data) <= 4096 * 2, "%s has no wtkms block" % n
    assert not re.search(rb"WTKMSCANARY", (h.path / "WiredTiger.basecfg").read_bytes())
