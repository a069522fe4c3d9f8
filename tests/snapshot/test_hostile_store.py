# SPDX-License-Identifier: Apache-2.0
"""A store someone else can write, or an S3 endpoint that lies, cannot hang or crash `snapshot
list` (which reads every manifest without a key) or make it grow without bound:

- an endpoint that answers IsTruncated=true for ever (new tokens, or the same one) stops with a
  clear error after a bounded number of pages;
- a planted manifest of 300,000 entries is read in bounded time (the duplicate-name check is
  O(n log n): the old pairwise check took minutes), its duplicate found at the very end;
- file sizes that would overflow a signed 64-bit sum are refused by name (UBSan aborted);
- a file_count over the documented limit is refused.
The planted manifests are unencrypted ones with a correct checksum: what anyone can write.
"""
import hashlib
import sys
from pathlib import Path

import bson
from bson.raw_bson import RawBSONDocument
import pytest

from conftest import S3_REGION, Snap, manifest_path, write_private

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "peers"))
from s3_endless import EndlessListing  # noqa: E402


def replant(path, edit):
    """Decode a manifest, let edit() change its body, re-encode with a correct checksum."""
    env = bson.decode(path.read_bytes())
    body = env["body"]
    edit(body)
    raw = bson.encode(body)
    env["body"] = RawBSONDocument(raw)
    env["mac"] = bson.Binary(hashlib.sha256(raw).digest())
    path.write_bytes(bson.encode(env))


def entry(name, size, chunk):
    return {"name": name, "size": bson.Int64(size),
            "chunks": bson.Int64(max(1, -(-size // chunk))), "mode": 0o600, "sha256": "0" * 64}


@pytest.fixture
def clear_snapshot(line32, tmp_path, local_key):
    snap = Snap(line32, tmp_path, local_key)
    home = snap.make_home(rows=50, vlen=50)
    store = tmp_path / "store"
    sid = snap.create(home, store, "--no-encryption")
    return snap, store, sid


def test_huge_manifest_with_duplicate_at_the_end(clear_snapshot):
    snap, store, sid = clear_snapshot
    n = 300000

    def edit(body):
        chunk = body["chunk_size"]
        files = [entry("f%07d.wt" % i, 1, chunk) for i in range(n - 1)]
        files.append(entry("f%07d.wt" % 7, 1, chunk))  # the duplicate, last
        body["files"] = files
        body["file_count"] = n
        body["size"] = bson.Int64(n)
    replant(manifest_path(store, sid), edit)
    p = snap.wtkms("snapshot", "list", "--store", store, "--json", check=False, timeout=60)
    assert p.returncode == 4, p.stderr
    assert "file 'f0000007.wt' is listed twice" in p.stdout + p.stderr


def test_sizes_that_overflow_a_signed_sum(clear_snapshot):
    snap, store, sid = clear_snapshot
    half = (2 ** 63 - 1) // 2

    def edit(body):
        chunk = body["chunk_size"]
        body["files"] = [entry("a.wt", half, chunk), entry("b.wt", half, chunk),
                         entry("c.wt", half, chunk)]
        body["file_count"] = 3
        body["size"] = bson.Int64(half)
    replant(manifest_path(store, sid), edit)
    p = snap.wtkms("snapshot", "show", sid, "--store", store, "--json", check=False)
    assert p.returncode == 4, p.stderr
    assert "the file sizes add up to more than the snapshot size" in p.stderr, p.stderr
    assert "runtime error" not in p.stderr


def test_file_count_over_the_limit(clear_snapshot):
    snap, store, sid = clear_snapshot

    def edit(body):
        body["file_count"] = 1000001
    replant(manifest_path(store, sid), edit)
    p = snap.wtkms("snapshot", "show", sid, "--store", store, "--json", check=False)
    assert p.returncode == 4 and "file_count" in p.stderr, p.stderr


@pytest.mark.parametrize("same_token", [False, True], ids=["new-tokens", "same-token"])
def test_endless_s3_listing_stops(line32, tmp_path, local_key, s3_env, same_token):
    snap = Snap(line32, tmp_path, local_key)
    s3 = EndlessListing(same_token)
    creds = write_private(tmp_path / "creds", "[default]\naws_access_key_id = AKIAEXAMPLE\n"
                          "aws_secret_access_key = %s\n" % ("s" * 40))
    try:
        p = snap.wtkms("snapshot", "list", "--store", "s3://b", "--s3-endpoint", s3.url,
                       "--s3-region", S3_REGION, "--s3-credentials-file", creds, check=False,
                       timeout=300)
    finally:
        s3.close()
    assert p.returncode != 0
    if same_token:
        assert "the same continuation token twice" in p.stderr, p.stderr
        assert s3.pages == 2
    else:
        assert "did not end after 10000 pages" in p.stderr, p.stderr
        assert s3.pages == 10000
