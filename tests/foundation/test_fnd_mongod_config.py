# SPDX-License-Identifier: Apache-2.0
"""wtkms under the WiredTiger configuration mongod uses, with each of its compressors.

The connection string is what mongod passes to wiredtiger_open (WiredTigerKVEngine's constructor
in the mongo sources, src/mongo/db/storage/wiredtiger/wiredtiger_kv_engine.cpp): no base config
file, 33000 sessions, four eviction threads, fast statistics, the journal in journal/ compressed
with --wiredTigerJournalCompressor (snappy by default; zstd, zlib or none), file-manager sweeps;
without its verbose=[...] list, which only picks messages, and with this test's cache size.
Tables use mongod's configurations (WiredTigerRecordStore::generateCreateString and
WiredTigerIndex::generateCreateString): collections, the _mdb_catalog and the sizeStorer with
block_compressor set by --wiredTigerCollectionBlockCompressor; indexes with prefix compression
and no block compressor. The test programs write string keys and values, so key_format and
value_format are S instead of mongod's q/u. Encryption is wtkms's, under mongod's own
--wiredTigerEngineConfigString / --wiredTigerCollectionConfigString placement (system for the
connection, a keyid per table).

Each compressor (zstd not on 3.2: Debian's libwiredtiger0 ships snappy and zlib only) gets:
a round trip through a reopen and `wt verify`; a scan of every file of the home for the rows'
canary strings; kill -9 of a writer committing with sync=on, then recovery through the
compressed, encrypted journal; and the collection file's size against the same rows without
encryption (WiredTiger compresses before it encrypts, so compression must still pay).
"""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import wtkms_scan as scan

ROWS = 10_000
VLEN = 600

COLLECTION = ("type=file,memory_page_max=10m,split_pct=90,leaf_value_max=64MB,checksum=on,"
              "block_compressor=%s,key_format=S,value_format=S,app_metadata=(formatVersion=1),"
              "log=(enabled=true)")
INDEX = ("type=file,internal_page_max=16k,leaf_page_max=16k,checksum=on,prefix_compression=true,"
         "block_compressor=,key_format=S,value_format=S,app_metadata=(formatVersion=8),"
         "log=(enabled=true)")
TABLES = {
    "table:_mdb_catalog": COLLECTION,
    "table:sizeStorer": COLLECTION,
    "table:collection-0-1234": COLLECTION,
    "table:index-1-1234": INDEX,
}


def compressors_for(line):
    return ["snappy", "zlib", "none"] + ([] if line.name == "3.2" else ["zstd"])


def line_has(line, compressor):
    if compressor not in compressors_for(line):
        pytest.skip("WiredTiger %s: Debian's libwiredtiger0 ships no %s extension" % (line.name,
                                                                                    compressor))


def compressor_libdir(line):
    if line.libdir is not None:
        return Path(line.libdir)
    return Path(subprocess.run(["pkg-config", "--variable=libdir", "wiredtiger"],
                               capture_output=True, text=True, check=True).stdout.strip())


class MongodHome:
    def __init__(self, line, path, key_file, compressor, encrypted=True):
        self.line, self.path, self.key_file = line, Path(path), key_file
        self.compressor, self.encrypted = compressor, encrypted
        (self.path / "journal").mkdir(parents=True, exist_ok=True)

    def config(self):
        exts = []
        if self.encrypted:
            exts.append('%s=(config=(provider=local,key_file="%s"))' % (self.line.ext,
                                                                       self.key_file))
        for name in ("snappy", "zlib", "zstd"):
            lib = compressor_libdir(self.line) / ("libwiredtiger_%s.so" % name)
            if name in compressors_for(self.line):
                assert lib.exists(), "%s is missing: run scripts/build.sh" % lib
                exts.append(str(lib))
        remove = "remove" if self.line.name.startswith("11.") else "archive"
        journal = "" if self.compressor == "none" else self.compressor
        parts = ["create", "cache_size=256M", "session_max=33000",
                 "eviction=(threads_min=4,threads_max=4)", "config_base=false",
                 "statistics=(fast)",
                 "log=(enabled=true,%s=true,path=journal,compressor=%s)" % (remove, journal),
                 "file_manager=(close_idle_time=600,close_scan_interval=10,"
                 "close_handle_minimum=250)",
                 "statistics_log=(wait=0)",
                 "extensions=[%s]" % ",".join(exts)]
        if self.encrypted:
            parts.append("encryption=(name=wtkms,keyid=system)")
        return ",".join(parts)

    def table_config(self, uri, keyid):
        block = "" if self.compressor == "none" else self.compressor
        cfg = TABLES[uri] % block if "%s" in TABLES[uri] else TABLES[uri]
        if self.encrypted:
            cfg += ",encryption=(name=wtkms,keyid=%s)" % keyid
        return cfg

    def run(self, prog, *args, check=True, **kw):
        return self.line.run([self.line.progs / prog, "-h", self.path, "-C", self.config()]
                             + list(args), check=check, **kw)

    def fill(self, rows=ROWS):
        for n, uri in enumerate(sorted(TABLES)):
            self.run("fnd_writer", "-t", uri, "-c", self.table_config(uri, "k%d" % n),
                     "-n", str(rows), "-l", str(VLEN), "-k")


@pytest.fixture
def mongod(wtline, tmp_path, local_key):
    for p in ("fnd_writer", "fnd_reader"):
        if not (wtline.progs / p).exists():
            pytest.fail("%s is not built: run scripts/build.sh" % (wtline.progs / p))

    def make(compressor, name="db", encrypted=True):
        return MongodHome(wtline, tmp_path / name, local_key, compressor, encrypted)
    return make


@pytest.mark.parametrize("compressor", ["snappy", "zlib", "zstd", "none"])
def test_round_trip_and_canary_scan(mongod, wtline, compressor):
    line_has(wtline, compressor)
    h = mongod(compressor)
    h.fill()
    for uri in TABLES:
        r = h.run("fnd_reader", "-t", uri, "-s", "0", "-n", str(ROWS), "-l", str(VLEN))
        assert "read %d rows" % ROWS in r.stdout, r.stdout
        wtline.wtcmd(h.path, h.config(), "verify", uri)
    hits = scan.find_needles(h.path, [b"WTKMSCANARY", b"-v-WTKMS"])
    assert not hits, "rows in clear on disk: %s" % hits[:5]
    _ks, blocks, unmapped = scan.scan_home(h.path)
    assert not unmapped
    names = {Path(b.path).name for b in blocks}
    assert {"collection-0-1234.wt", "index-1-1234.wt", "_mdb_catalog.wt",
            "sizeStorer.wt"} <= names, names
    assert any(n.startswith("WiredTigerLog.") for n in names), names


@pytest.mark.parametrize("compressor", ["snappy", "zlib", "zstd", "none"])
def test_kill9_and_recovery(mongod, wtline, tmp_path, compressor):
    line_has(wtline, compressor)
    h = mongod(compressor)
    uri = "table:collection-0-1234"
    h.run("fnd_writer", "-t", uri, "-c", h.table_config(uri, "k1"), "-n", "10", "-l", str(VLEN),
          "-k")
    p = subprocess.Popen([str(wtline.progs / "fnd_writer"), "-h", str(h.path), "-C", h.config(),
                          "-t", uri, "-s", "1000000", "-n", "1000000", "-l", str(VLEN), "-S"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=wtline.env())
    acked = []
    while len(acked) < 300:
        line = p.stdout.readline()
        if not line:
            break
        acked.append(line.decode().strip())
    os.kill(p.pid, signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    acked += [l for l in out.decode().split("\n") if l]
    assert p.returncode == -signal.SIGKILL and len(acked) >= 300, err.decode()[-2000:]
    keys = tmp_path / "acked.txt"
    keys.write_text("\n".join(acked) + "\n")
    # Recovery replays the compressed, encrypted journal; every acknowledged row is back.
    r = h.run("fnd_reader", "-t", uri, "-l", str(VLEN), "-K", keys, check=False)
    assert r.returncode == 0 and "MISSING" not in r.stdout and "MISMATCH" not in r.stdout, \
        r.stdout[-2000:] + r.stderr[-2000:]
    assert not scan.find_needles(h.path, [b"WTKMSCANARY"])


# Sizes, not code paths: the sanitizer stage would repeat the same encrypt calls for nothing new.
@pytest.mark.nosanitize
def test_compression_still_pays_under_encryption(mongod, wtline):
    """The collection file's size, each compressor, with and without wtkms. The ratios are in
    the assertion messages; run with -s to print them all."""
    uri = "table:collection-0-1234"
    sizes = {}
    for compressor in compressors_for(wtline):
        for encrypted in (True, False):
            h = mongod(compressor, "%s-%s" % (compressor, "enc" if encrypted else "plain"),
                       encrypted=encrypted)
            h.run("fnd_writer", "-t", uri, "-c", h.table_config(uri, "k1"), "-n", str(ROWS),
                  "-l", str(VLEN), "-k")
            sizes[compressor, encrypted] = (h.path / "collection-0-1234.wt").stat().st_size
    raw = sizes["none", True]
    for compressor in compressors_for(wtline):
        enc, plain = sizes[compressor, True], sizes[compressor, False]
        print("WiredTiger %s, %s: encrypted %d bytes, unencrypted %d (x%.3f), "
              "encrypted uncompressed %d (x%.3f)" % (wtline.name, compressor, enc, plain,
                                                     enc / plain, raw, enc / raw))
        # wtkms adds 40 bytes a block; allocation rounding may add a unit to some blocks.
        assert enc <= plain * 1.10 + 65536, (compressor, enc, plain)
        if compressor != "none":
            assert enc < raw * 0.5, "compression does not pay under encryption: %s %d vs %d" % (
                compressor, enc, raw)
