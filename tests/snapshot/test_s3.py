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


def test_s3_prune_aborts_abandoned_multipart_uploads(snap, tmp_path, moto_s3, s3_env):
    """prune aborts the multipart uploads an interrupted create left under the store's prefix,
    once they are older than --abandoned-after (default 24 h) by the service's clock and by the
    snapshot id's own time (moto reports every upload begun in 2010: the id's time is what keeps
    a running create's upload alive here). Uploads outside the prefix, or under a name no create
    makes, are never touched."""
    import datetime
    import os
    bucket = "wtkms-mpu-%s" % os.urandom(4).hex()
    s3 = moto_s3.client()
    s3.create_bucket(Bucket=bucket)
    flags = s3_flags(moto_s3, moto_s3.credentials_file(tmp_path / "s3creds"))
    store = "s3://%s/team/db1" % bucket
    now = datetime.datetime.now(datetime.timezone.utc)
    live_id = now.strftime("%Y%m%dT%H%M%SZ") + "-0a0b0c0d"
    day_old = (now - datetime.timedelta(hours=30)).strftime("%Y%m%dT%H%M%SZ") + "-1a2b3c4d"
    keys = {
        "abandoned": "team/db1/snapshots/20200101T000000Z-deadbeef/files/00000000",
        "abandoned_day": "team/db1/snapshots/%s/files/00000003" % day_old,
        "live": "team/db1/snapshots/%s/files/00000001" % live_id,
        "other_prefix": "team/db2/snapshots/20200101T000000Z-deadbeef/files/00000000",
        "not_a_create": "team/db1/snapshots/junk",
    }
    uploads = {name: s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]
               for name, k in keys.items()}

    def open_uploads():
        r = s3.list_multipart_uploads(Bucket=bucket)
        return sorted(u["Key"] for u in r.get("Uploads", []))

    p = snap.wtkms("snapshot", "prune", "--store", store, "--keep-last", "1", "--abandoned-after",
                   "30m", *flags, check=False)
    assert p.returncode == 2 and "--abandoned-after 30m" in p.stderr, p.stderr
    dry = json.loads(snap.wtkms("snapshot", "prune", "--store", store, "--keep-last", "1",
                                "--dry-run", "--json", *flags).stdout)
    assert dry["uploads_aborted"] == 2 and open_uploads() == sorted(keys.values()), dry
    # Two days: the create begun 30 hours ago keeps its upload; only the one of 2020 goes.
    p = json.loads(snap.wtkms("snapshot", "prune", "--store", store, "--keep-last", "1",
                              "--abandoned-after", "2d", "--json", *flags).stdout)
    assert p["uploads_aborted"] == 1, p
    assert keys["abandoned"] not in open_uploads()
    p = json.loads(snap.wtkms("snapshot", "prune", "--store", store, "--keep-last", "1",
                              "--json", *flags).stdout)
    assert p["uploads_aborted"] == 1, p
    assert open_uploads() == sorted([keys["live"], keys["other_prefix"], keys["not_a_create"]])
    text = snap.wtkms("snapshot", "prune", "--store", store, "--keep-last", "1", *flags).stdout
    assert "abandoned multipart" not in text, text
    # The live create's upload is still there to complete.
    s3.abort_multipart_upload(Bucket=bucket, Key=keys["live"], UploadId=uploads["live"])
