# SPDX-License-Identifier: Apache-2.0
"""The S3 store against moto with signature checks on: create (multipart upload for objects
larger than a part) -> list -> verify -> restore -> read every row, delete and prune; a wrong
secret is refused with a message naming the credentials' source and never echoing the secret;
a missing bucket is named; tampering with an object in the bucket is caught."""
import json

import pytest

from conftest import S3_REGION


def s3_flags(moto_s3, creds):
    return ["--s3-endpoint", moto_s3.url, "--s3-region", S3_REGION,
            "--s3-credentials-file", creds, "--s3-part-size", "5"]


def test_s3_round_trip_multipart(snap, tmp_path, moto_s3, s3_env):
    bucket = "wtkms-%s" % tmp_path.name.lower().replace("_", "-")[-40:].strip("-")
    moto_s3.client().create_bucket(Bucket=bucket)
    creds = moto_s3.credentials_file(tmp_path / "s3creds")
    flags = s3_flags(moto_s3, creds)
    # t.wt well over one 5 MiB part: its object goes up as a multipart upload.
    home = snap.make_home(rows=14000, vlen=600)
    store = "s3://%s/team/db1" % bucket
    sid = snap.create(home, store, *flags)
    sid2 = snap.create(home, store, "--no-encryption", *flags)

    listing = json.loads(snap.wtkms("snapshot", "list", "--store", store, "--json", *flags).stdout)
    assert [s["id"] for s in listing] == sorted([sid, sid2])
    by = {s["id"]: s for s in listing}
    assert by[sid]["encryption_key_id"].startswith("local:")
    assert by[sid2]["encryption_key_id"] == "Not enabled"

    s3 = moto_s3.client()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="team/db1/")["Contents"]]
    assert "team/db1/snapshots/%s/manifest" % sid in keys
    show = json.loads(snap.wtkms("snapshot", "show", sid, "--store", store, "--json",
                                 *flags).stdout)
    t_idx = next(i for i, f in enumerate(show["files"]) if f["name"] == "t.wt")
    t_key = "team/db1/snapshots/%s/files/%08d" % (sid, t_idx)
    head = s3.head_object(Bucket=bucket, Key=t_key)
    assert head["ContentLength"] > 5 * 1024 * 1024
    assert "-" in head["ETag"]  # a multipart upload's ETag

    snap.wtkms("snapshot", "verify", sid, "--store", store, "--key-file", snap.key, *flags)
    target = tmp_path / "restored"
    snap.wtkms("snapshot", "restore", sid, "--store", store, "--to", target,
               "--key-file", snap.key, *flags)
    assert "checked 14000 rows" in snap.check_rows(target, rows=14000, vlen=600).stdout

    # Tamper with the object in the bucket: one byte in its second part.
    body = bytearray(s3.get_object(Bucket=bucket, Key=t_key)["Body"].read())
    body[6 * 1024 * 1024] ^= 1
    s3.put_object(Bucket=bucket, Key=t_key, Body=bytes(body))
    v = snap.wtkms("snapshot", "verify", sid, "--store", store, "--key-file", snap.key, *flags,
                   check=False)
    assert v.returncode == 4 and "file t.wt" in v.stderr and "does not authenticate" in v.stderr

    snap.wtkms("snapshot", "delete", sid, "--store", store, *flags)
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="team/db1/snapshots/%s"
                                                 % sid).get("Contents", [])]
    assert left == []
    p = json.loads(snap.wtkms("snapshot", "prune", "--store", store, "--keep-last", "0", "--json",
                              *flags).stdout)
    assert p["deleted"] == [sid2]
    assert json.loads(snap.wtkms("snapshot", "list", "--store", store, "--json",
                                 *flags).stdout) == []


def test_s3_wrong_secret_and_missing_bucket(snap, tmp_path, moto_s3, s3_env):
    bad = moto_s3.credentials_file(tmp_path / "bad", secret="x" * 40)
    home = snap.make_home(rows=10)
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", "s3://nope-bucket/x",
                   "--key-file", snap.key, *s3_flags(moto_s3, bad), check=False)
    assert p.returncode == 3, p.stderr
    assert str(bad) in p.stderr and "x" * 40 not in p.stderr + p.stdout
    good = moto_s3.credentials_file(tmp_path / "good")
    p = snap.wtkms("snapshot", "create", "--home", home, "--store", "s3://nope-bucket/x",
                   "--key-file", snap.key, *s3_flags(moto_s3, good), check=False)
    assert p.returncode == 5 and "bucket nope-bucket does not exist" in p.stderr, p.stderr
    assert moto_s3.secret not in p.stderr + p.stdout
