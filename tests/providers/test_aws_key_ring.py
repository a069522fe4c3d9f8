# SPDX-License-Identifier: Apache-2.0
"""Reading oplog segments written across an AWS master-key rotation with one set of AWS
credentials: the command is configured for the old key, each segment records its key, and the
configured credentials, endpoint and region are used for the new key too (src/kms/kms_ring.h).
A segment rewritten to name another endpoint is refused, and that endpoint is never contacted.
Against moto with signature checks on."""
import socket
import sys
import threading
from pathlib import Path

import pytest

from conftest import AWS_REGION, write_private

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "peers"))
from oplog_mock import OplogServer, entry  # noqa: E402

S = 1700000000


@pytest.fixture
def oplog_server():
    srv = OplogServer().start()
    yield srv
    srv.stop()


def flags(moto, key_id, creds):
    return ["--provider", "aws", "--key-id", key_id, "--region", AWS_REGION, "--endpoint",
            moto.url, "--credentials-file", creds]


def wtkms(line, *args, check=True):
    return line.run([line.wtkms] + [str(a) for a in args], check=check)


class Listener:
    """A TCP port that counts connections (the endpoint a forged segment names)."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            c.close()

    def close(self):
        self.sock.close()


def free_port_like(port):
    """A free port with as many digits as port, so a rewrite keeps the header's length."""
    for p in range(port + 1, 65536):
        if len(str(p)) != len(str(port)):
            continue
        try:
            return Listener(p)
        except OSError:
            continue
    pytest.fail("no free port with %d digits" % len(str(port)))


@pytest.fixture
def store(wtline, moto, aws_env, oplog_server, tmp_path):
    creds = moto.credentials_file(tmp_path / "credentials")
    k1, k2 = moto.new_key()["KeyId"], moto.new_key()["KeyId"]
    ostore = tmp_path / "oplog"
    oplog_server.append([entry(S, i) for i in range(1, 11)])
    tap = ["oplog", "tap", "--uri", oplog_server.uri, "--store", ostore, "--once",
           "--await-ms", 200, "--segment-bytes", "1K"]
    wtkms(wtline, *tap, *flags(moto, k1, creds))
    oplog_server.append([entry(S, i) for i in range(11, 21)])
    wtkms(wtline, *tap, *flags(moto, k2, creds))
    return {"ostore": ostore, "creds": creds, "k1": k1, "k2": k2}


def test_new_key_read_with_the_configured_credentials(wtline, moto, store):
    import json
    p = wtkms(wtline, "oplog", "verify", "--store", store["ostore"], "--json",
              *flags(moto, store["k1"], store["creds"]))
    j = json.loads(p.stdout)
    assert j["ok"] and j["entries"] == 20, j
    segs = json.loads(wtkms(wtline, "oplog", "list", "--store", store["ostore"],
                            "--json").stdout)["list"]
    assert {s["encryption_key_id"].split("@")[0] for s in segs} == \
        {"aws:" + store["k1"], "aws:" + store["k2"]}, segs


def test_forged_endpoint_is_never_contacted(wtline, moto, store):
    """Someone rewrites the new key's segments to name their own endpoint: the command refuses
    them (exit 3), and no connection reaches that endpoint: credentials go only where the
    configuration says."""
    evil = free_port_like(moto.port)
    try:
        old = moto.url.encode()
        new = ("http://127.0.0.1:%d" % evil.sock.getsockname()[1]).encode()
        assert len(old) == len(new)
        forged = 0
        for seg in sorted(store["ostore"].glob("oplog-*.seg")):
            data = seg.read_bytes()
            if store["k2"].encode() in data:
                seg.write_bytes(data.replace(old, new))
                forged += 1
        assert forged >= 1
        for cmd in (["verify"], ["export", "--out", store["ostore"].parent / "x.bson"]):
            p = wtkms(wtline, "oplog", *cmd, "--store", store["ostore"],
                      *flags(moto, store["k1"], store["creds"]), check=False)
            assert p.returncode in (3, 4), (cmd, p.returncode, p.stderr)
        assert evil.accepted == 0
    finally:
        evil.close()
