# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the snapshot tests (tests/snapshot/): homes with rows written through the
line's WiredTiger and our extension, the wtkms snapshot commands, and store tampering helpers.

Rows are written and checked with build[/wt-X.Y]/tests/snap_rows (tests/progs/snap_rows.c), so
every test runs on both WiredTiger lines (`wtline`).
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

CHUNK = 65536  # small chunks: a home of ~1 MiB makes objects of many chunks


class Snap:
    """One line's wtkms and snap_rows, with a local master key, in a test's tmp_path."""

    def __init__(self, line, tmp_path, key):
        self.line = line
        self.tmp = tmp_path
        self.key = key
        self.rows_prog = line.progs / "snap_rows"
        if not self.rows_prog.exists():
            pytest.fail("%s is not built: run scripts/build.sh" % self.rows_prog)

    def conn_config(self, key=None, create=False, encrypted=True):
        if not encrypted:
            return "create" if create else ""
        cfg = self.line.ext_config("provider=local,key_file=%s" % (key or self.key))
        cfg += ",encryption=(name=wtkms,keyid=system)"
        return ("create," if create else "") + cfg

    def make_home(self, name="db", rows=2000, vlen=400, encrypted=True, key=None):
        home = self.tmp / name
        home.mkdir()
        tcfg = "encryption=(name=wtkms,keyid=tbl)" if encrypted else ""
        self.line.run([self.rows_prog, "write", home,
                       self.conn_config(key, create=True, encrypted=encrypted), tcfg, rows, vlen])
        return home

    def check_rows(self, home, rows=2000, vlen=400, encrypted=True, key=None, check=True):
        return self.line.run([self.rows_prog, "check", home,
                              self.conn_config(key, encrypted=encrypted), rows, vlen],
                             check=check)

    def wtkms(self, *args, check=True, env=None, timeout=600):
        return self.line.run([self.line.wtkms] + list(args), check=check, env=env,
                             timeout=timeout)

    def create(self, home, store, *extra, key=None, keyflags=True):
        """snapshot create --json; returns the id. The key file is given unless keyflags is
        False (it also opens an encrypted home, so --no-encryption snapshots need it too)."""
        args = ["snapshot", "create", "--home", home, "--store", store, "--json",
                "--chunk-size", CHUNK] + list(extra)
        if keyflags:
            args += ["--key-file", key or self.key]
        return json.loads(self.wtkms(*args).stdout)["id"]

    def list(self, store):
        return json.loads(self.wtkms("snapshot", "list", "--store", store, "--json").stdout)


@pytest.fixture
def snap(wtline, tmp_path, local_key):
    return Snap(wtline, tmp_path, local_key)


def objects(store, sid):
    """The object files of snapshot sid in a local store, in file order."""
    return sorted((Path(store) / "snapshots" / sid / "files").iterdir())


def manifest_path(store, sid):
    return Path(store) / "snapshots" / sid / "manifest"


HDR, TAG, WORD = 24, 16, 4  # object header, chunk tag, format 2 record word (chunk.h)


def records(obj, size, chunk=CHUNK):
    """The chunk records of a format 2 object (bytes, or a path) of a file of `size` bytes, as
    anyone can read them without the key: dicts of off (the record word), end (past the tag),
    payload (offset), stored, plain and compressed."""
    data = obj if isinstance(obj, (bytes, bytearray)) else Path(obj).read_bytes()
    assert data[8] == 2, "format %d object" % data[8]
    n = max(1, -(-size // chunk))
    out, off = [], HDR
    for i in range(n):
        w = int.from_bytes(data[off:off + WORD], "big")
        stored = w & 0x7FFFFFFF
        out.append({"off": off, "payload": off + WORD, "stored": stored,
                    "compressed": bool(w >> 31), "end": off + WORD + stored + TAG,
                    "plain": chunk if i + 1 < n else size - i * chunk})
        off = out[-1]["end"]
    assert off == len(data), "records end at %d of %d" % (off, len(data))
    return out


def clear_aad(sid, fi, i, final, rec):
    """Format 2 additional data of a chunk (chunk.h), for rewriting a clear chunk's check value
    as anyone can."""
    return (b"WTKMSSN2" + sid.encode().ljust(32, b"\0") + fi.to_bytes(4, "big") +
            i.to_bytes(8, "big") + bytes([final, rec["compressed"]]) +
            rec["stored"].to_bytes(4, "big") + rec["plain"].to_bytes(4, "big"))


def leftovers(parent, base):
    """Temporary restore directories beside a target."""
    return [p for p in Path(parent).iterdir() if p.name.startswith("." + base + ".wtkms-restore.")]


# --- S3 (moto) ------------------------------------------------------------------------------

import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import urllib.request  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "wtkms_tests_conftest_top_snap", Path(__file__).resolve().parent.parent / "conftest.py")
_top = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_top)
REPO = _top.REPO
VENV_BIN = REPO / ".venv" / "bin"
S3_REGION = "us-east-1"


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class MotoS3:
    """moto_server with signature checks on; an IAM user allowed s3:* made through its IAM."""

    def __init__(self, port):
        self.port = port
        self.url = "http://127.0.0.1:%d" % port

    def client(self, service="s3", secret=None):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name=S3_REGION,
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=secret or self.secret)

    def credentials_file(self, path, secret=None):
        return write_private(path, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                             % (self.access_key, secret or self.secret))


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory):
    """A moto server on 127.0.0.1 that checks every request's SigV4 signature (a request signed
    with a wrong secret must fail, or the fixture fails: the S3 tests would prove nothing)."""
    import boto3
    from botocore.exceptions import ClientError

    d = tmp_path_factory.mktemp("moto-s3")
    port = _top.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    with _top.peer([VENV_BIN / "moto_server", "-H", "127.0.0.1", "-p", port], port,
                   d / "moto.log", env=env):
        m = MotoS3(port)
        req = urllib.request.Request(m.url + "/moto-api/reset-auth", data=b"3", method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
        boot = boto3.client("iam", endpoint_url=m.url, region_name=S3_REGION,
                            aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        boot.create_user(UserName="wtkms-s3")
        boot.put_user_policy(UserName="wtkms-s3", PolicyName="s3", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]}))
        k = boot.create_access_key(UserName="wtkms-s3")["AccessKey"]
        m.access_key, m.secret = k["AccessKeyId"], k["SecretAccessKey"]
        try:
            m.client(secret="not-the-secret").list_buckets()
            pytest.fail("moto accepted a request signed with a wrong secret: signature checks "
                        "are off")
        except ClientError:
            pass
        yield m


@pytest.fixture
def s3_env(monkeypatch, tmp_path):
    """No AWS settings from the machine: credentials come only from what a test names."""
    for k in list(os.environ):
        if k.startswith("AWS_") or k.lower() in ("http_proxy", "https_proxy", "all_proxy",
                                                 "no_proxy"):
            monkeypatch.delenv(k, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home


# --- AWS KMS key states (tests/peers/aws_kms_mock.py, shared with tests/providers) ------------

_pspec = importlib.util.spec_from_file_location(
    "wtkms_tests_providers_conftest_snap",
    Path(__file__).resolve().parent.parent / "providers" / "conftest.py")
_providers = importlib.util.module_from_spec(_pspec)
_pspec.loader.exec_module(_providers)
aws_mock = _providers.aws_mock  # the fixture, registered here too
