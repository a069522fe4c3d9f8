# SPDX-License-Identifier: Apache-2.0
"""wtkms under the WiredTiger configuration mongod uses, per WiredTiger line, with each of its
compressors.

The connection string is the one mongod of each line passes to wiredtiger_open (built by
WiredTigerKVEngine's constructor, src/mongo/db/storage/wiredtiger/wiredtiger_kv_engine.cpp, and
logged by mongod at startup as "wiredtiger_open config" / "Opening WiredTiger"): OPEN below,
one per line, with this test's cache size; the journal in journal/ compressed with
--wiredTigerJournalCompressor (snappy by default; zstd, zlib or none), mongod's session_max,
eviction threads and file-manager sweeps, and on 10.0 and later its zstd level (given to the
loadable zstd extension here, which mongod builds in). Then the extensions and the encryption
settings, which mongod appends from --wiredTigerEngineConfigString. docs/WIREDTIGER.md lists
the strings and where they come from.

Tables use mongod's configurations: collections and the _mdb_catalog
(WiredTigerRecordStore::generateCreateString) with block_compressor set by
--wiredTigerCollectionBlockCompressor; local.oplog.rs the same plus the oplog's own settings
(memory_page_max=10m, oplogKeyExtractionVersion=1); indexes (WiredTigerIndex::
generateCreateString) with prefix compression and no block compressor; the sizeStorer with
WiredTiger's defaults (WiredTigerSizeStorer creates it with no configuration but the
encryption hook's). The test programs write string keys and values, so key_format and
value_format are S instead of mongod's q/u. Encryption is wtkms's, under mongod's own
--wiredTigerEngineConfigString / --wiredTigerCollectionConfigString placement (system for the
connection, a keyid per table). Collections are journaled, as on a standalone mongod (on a
replica set member only the oplog and the local database are).

Each compressor (zstd not on 3.2: Debian's libwiredtiger0 ships snappy and zlib only) gets:
a round trip through a reopen and `wt verify`; a scan of every file of the home for the rows'
canary strings; kill -9 of a writer committing with sync=on to a collection and to the oplog,
then recovery through the compressed, encrypted journal; and the collection file's size against
the same rows without encryption (WiredTiger compresses before it encrypts, so compression must
still pay), printed as a "compression under wtkms" line.
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

# mongod's wiredtiger_open per line, before the extensions and --wiredTigerEngineConfigString.
# 3.2: mongod 4.2. 10.0: mongod 4.4 and 5.0 (6.0's adds json_output and log remove, which
# WiredTiger 10.0.0 does not know). 11.2: mongod 7.0. 11.3: mongod 8.0, which adds prefetch; its
# verbose category "evict" is "eviction" in WiredTiger 11.3.1 (the PyPI release, newer than the
# WiredTiger mongod 8.0 bundles), so the test gives 11.3.1's name.
_V4X = ("create,cache_size=256M,session_max=33000,eviction=(threads_min=4,threads_max=4),"
        "config_base=false,statistics=(fast),")
_V7 = ("log=(enabled=true,remove=true,path=journal,compressor={journal}),"
       "builtin_extension_config=(zstd=(compression_level=6)),"
       "file_manager=(close_idle_time=600,close_scan_interval=10,close_handle_minimum=2000),"
       "statistics_log=(wait=0),json_output=(error,message),"
       "verbose=[recovery_progress:1,checkpoint_progress:1,compact_progress:1,backup:0,"
       "checkpoint:0,compact:0,evict:0,history_store:0,recovery:0,rts:0,salvage:0,tiered:0,"
       "timestamp:0,transaction:0,verify:0,log:0],")
OPEN = {
    "3.2": ("create,cache_size=256M,cache_overflow=(file_max=0M),session_max=33000,"
            "eviction=(threads_min=4,threads_max=4),config_base=false,statistics=(fast),"
            "log=(enabled=true,archive=true,path=journal,compressor={journal}),"
            "file_manager=(close_idle_time=100000,close_scan_interval=10,"
            "close_handle_minimum=250),statistics_log=(wait=0),"
            "verbose=[recovery_progress,checkpoint_progress],"),
    "10.0": (_V4X + "log=(enabled=true,archive=true,path=journal,compressor={journal}),"
             "builtin_extension_config=(zstd=(compression_level=6)),"
             "file_manager=(close_idle_time=600,close_scan_interval=10,"
             "close_handle_minimum=2000),statistics_log=(wait=0),"
             "verbose=[recovery_progress,checkpoint_progress,compact_progress],"),
    "11.2": _V4X + _V7,
    "11.3": (_V4X + _V7).replace(",evict:0,", ",eviction:0,")
    + "prefetch=(available=true,default=false),",
}

COLLECTION = ("type=file,memory_page_max=10m,split_pct=90,leaf_value_max=64MB,checksum=on,"
              "block_compressor={block},key_format=S,value_format=S,"
              "app_metadata=(formatVersion=1),log=(enabled=true)")
OPLOG = ("type=file,memory_page_max=10m,split_pct=90,leaf_value_max=64MB,checksum=on,"
         "block_compressor={block},type=file,memory_page_max=10m,key_format=S,value_format=S,"
         "app_metadata=(formatVersion=1,oplogKeyExtractionVersion=1),log=(enabled=true)")
INDEX = ("type=file,internal_page_max=16k,leaf_page_max=16k,checksum=on,prefix_compression=true,"
         "block_compressor=,key_format=S,value_format=S,app_metadata=(formatVersion=8),"
         "log=(enabled=true)")
SIZE_STORER = "key_format=S,value_format=S"
COLL_URI, OPLOG_URI = "table:collection-0-1234", "table:collection-2-1234"
TABLES = {
    "table:_mdb_catalog": COLLECTION,
    "table:sizeStorer": SIZE_STORER,
    COLL_URI: COLLECTION,
    "table:index-1-1234": INDEX,
    OPLOG_URI: OPLOG,  # local.oplog.rs
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
                # mongod's zstd level, which it sets through builtin_extension_config.
                level = "=(config=(compression_level=6))" if name == "zstd" else ""
                exts.append(str(lib) + level)
        journal = "" if self.compressor == "none" else self.compressor
        cfg = OPEN[self.line.name].format(journal=journal) + "extensions=[%s]" % ",".join(exts)
        if self.encrypted:
            cfg += ",encryption=(name=wtkms,keyid=system)"
        return cfg

    def table_config(self, uri, keyid):
        block = "" if self.compressor == "none" else self.compressor
        cfg = TABLES[uri].format(block=block)
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
    assert {"collection-0-1234.wt", "collection-2-1234.wt", "index-1-1234.wt",
            "_mdb_catalog.wt", "sizeStorer.wt"} <= names, names
    assert any(n.startswith("WiredTigerLog.") for n in names), names


def kill9_and_recover(h, tmp_path, uri, keyid):
    """A writer committing with sync=on is killed after 300 acknowledged rows; every one is
    back after recovery."""
    line = h.line
    h.run("fnd_writer", "-t", uri, "-c", h.table_config(uri, keyid), "-n", "10", "-l", str(VLEN),
          "-k")
    p = subprocess.Popen([str(line.progs / "fnd_writer"), "-h", str(h.path), "-C", h.config(),
                          "-t", uri, "-s", "1000000", "-n", "1000000", "-l", str(VLEN), "-S"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=line.env())
    # WiredTiger's messages (mongod's verbose=[recovery_progress...]) share stdout with the keys.
    prefix = "WTKMSCANARYK-"
    acked = []
    while len(acked) < 300:
        out = p.stdout.readline()
        if not out:
            break
        if out.startswith(prefix.encode()):
            acked.append(out.decode().strip())
    os.kill(p.pid, signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    acked += [l for l in out.decode().split("\n") if l.startswith(prefix)]
    assert p.returncode == -signal.SIGKILL and len(acked) >= 300, err.decode()[-2000:]
    keys = tmp_path / ("acked-%s.txt" % uri.split(":")[1])
    keys.write_text("\n".join(acked) + "\n")
    # Recovery replays the compressed, encrypted journal; every acknowledged row is back.
    r = h.run("fnd_reader", "-t", uri, "-l", str(VLEN), "-K", keys, check=False)
    assert r.returncode == 0 and "MISSING" not in r.stdout and "MISMATCH" not in r.stdout, \
        r.stdout[-2000:] + r.stderr[-2000:]


@pytest.mark.parametrize("compressor", ["snappy", "zlib", "zstd", "none"])
def test_kill9_and_recovery(mongod, wtline, tmp_path, compressor):
    """A collection (journaled, as on a standalone mongod) and the oplog."""
    line_has(wtline, compressor)
    h = mongod(compressor)
    kill9_and_recover(h, tmp_path, COLL_URI, "k1")
    kill9_and_recover(h, tmp_path, OPLOG_URI, "k2")
    assert not scan.find_needles(h.path, [b"WTKMSCANARY"])


# Sizes, not code paths: the sanitizer stage would repeat the same encrypt calls for nothing new.
@pytest.mark.nosanitize
def test_compression_still_pays_under_encryption(mongod, wtline, capsys):
    """The collection file's size, each compressor, with and without wtkms. One line per
    compressor goes to the terminal ("compression under wtkms: ..."), whatever pytest captures."""
    sizes = {}
    for compressor in compressors_for(wtline):
        for encrypted in (True, False):
            h = mongod(compressor, "%s-%s" % (compressor, "enc" if encrypted else "plain"),
                       encrypted=encrypted)
            h.run("fnd_writer", "-t", COLL_URI, "-c", h.table_config(COLL_URI, "k1"),
                  "-n", str(ROWS), "-l", str(VLEN), "-k")
            sizes[compressor, encrypted] = (h.path / "collection-0-1234.wt").stat().st_size
    raw = sizes["none", True]
    for compressor in compressors_for(wtline):
        enc, plain = sizes[compressor, True], sizes[compressor, False]
        with capsys.disabled():
            print("\ncompression under wtkms: WiredTiger %s, mongod's configuration, %s: "
                  "encrypted %d bytes, unencrypted %d (x%.3f), encrypted uncompressed %d (x%.3f)"
                  % (wtline.name, compressor, enc, plain, enc / plain, raw, enc / raw))
        # wtkms adds 40 bytes a block; allocation rounding may add a unit to some blocks.
        assert enc <= plain * 1.10 + 65536, (compressor, enc, plain)
        if compressor != "none":
            assert enc < raw * 0.5, "compression does not pay under encryption: %s %d vs %d" % (
                compressor, enc, raw)
