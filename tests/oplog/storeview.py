# SPDX-License-Identifier: Apache-2.0
"""An oplog store seen as its files, whichever kind it is: a local directory, or an S3 prefix in
moto. What someone with write access to the store can do: list, read, write, delete objects.
The tests that tamper with a store use this, so they run against both kinds."""
import itertools
from pathlib import Path

_n = itertools.count()


class LocalStore:
    kind = "local"

    def __init__(self, path):
        self.path = Path(path)
        self.url = str(self.path)
        self.flags = []

    def segs(self):
        return sorted(p.name for p in self.path.glob("oplog-*.seg"))

    def read(self, name):
        return (self.path / name).read_bytes()

    def write(self, name, data):
        (self.path / name).write_bytes(data)

    def delete(self, name):
        (self.path / name).unlink()

    def exists(self, name):
        return (self.path / name).exists()

    def sibling(self, name):
        return LocalStore(self.path.parent / name)


class S3Store:
    kind = "s3"

    def __init__(self, moto, bucket, prefix, flags):
        self.moto = moto
        self.s3 = moto.client()
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = "s3://%s/%s" % (bucket, self.prefix)
        self.flags = list(flags)

    def key(self, name):
        return "%s/%s" % (self.prefix, name)

    def keys(self):
        out, token = [], None
        while True:
            kw = {"Bucket": self.bucket, "Prefix": self.prefix + "/"}
            if token:
                kw["ContinuationToken"] = token
            r = self.s3.list_objects_v2(**kw)
            out += [o["Key"][len(self.prefix) + 1:] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return out
            token = r["NextContinuationToken"]

    def segs(self):
        return sorted(k for k in self.keys() if k.startswith("oplog-") and k.endswith(".seg"))

    def read(self, name):
        return self.s3.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()

    def write(self, name, data):
        self.s3.put_object(Bucket=self.bucket, Key=self.key(name), Body=data)

    def delete(self, name):
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(name))

    def exists(self, name):
        return name in self.keys()

    def sibling(self, name):
        return S3Store(self.moto, self.bucket, "%s-%s" % (self.prefix, name), self.flags)


def s3_bucket(moto, tmp_path):
    """A fresh bucket for one test, named after it."""
    bucket = "wtkms-%d-%s" % (next(_n), tmp_path.name.lower().replace("_", "-")[-30:].strip("-"))
    moto.client().create_bucket(Bucket=bucket)
    return bucket


def s3_flags(moto, creds, endpoint=None):
    return ["--s3-endpoint", endpoint or moto.url, "--s3-region", "us-east-1",
            "--s3-credentials-file", str(creds)]
