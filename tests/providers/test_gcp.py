# SPDX-License-Identifier: Apache-2.0
"""The gcp provider against Cloud KMS and Google's OAuth token endpoint on 127.0.0.1.

Peers: tests/peers/gcp_token.py, our token endpoint, which verifies the RS256 JWT bearer grant
(iss, aud, iat/exp, scope, and the signature against the public key this test registered for the
service account) and issues tokens; it also serves the GCE metadata server's token path. And
tests/peers/gcp_kms.py, a faithful stand-in for the Cloud KMS REST API, because the emulator
DESIGN.md names (blackwell-systems/gcp-kms-emulator) could not be installed here: the Go module
proxy answers 403 for it. The KMS peer checks the tokens the token endpoint issued and IAM
permissions, and keeps key versions and their states.

On both WiredTiger lines: a database under a Cloud KMS key closes, reopens and reads back every
row; a disabled version is refused with FAILED_PRECONDITION named and the command that enables it,
and opens again once enabled; a version scheduled for destruction is named as such; a new primary
version plus `wtkms keys rotate` moves the keystore to it with no data file changed; calls are
counted at the peers (one token and one decrypt per open, none per byte written); the key file,
GOOGLE_APPLICATION_CREDENTIALS and the metadata server all work; refusals name their cause;
the service account's private key never reaches a file or an output.
"""
import base64
import contextlib
import json
import ssl
import time
import urllib.parse
import urllib.request
import uuid

import pytest

import exit_classes
from conftest import PEERS, PY, assert_no_secret, free_port, make_cert, peer, wait_port, write_private
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from wtdb import (assert_all_rows, clean_env, data_files, make_db, pem_body_lines, read_all,
                  write_config)

PROJECT = "wtkms-test"
LOCATION = "europe-west1"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Account:
    def __init__(self, d, name, token_uri):
        self.email = "%s@%s.iam.gserviceaccount.com" % (name, PROJECT)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        self.file = write_private(d / ("%s.json" % name), json.dumps({
            "type": "service_account", "project_id": PROJECT, "private_key_id": self.kid,
            "private_key": pem, "client_email": self.email, "client_id": str(uuid.uuid4().int),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri}))
        self.pem_file = write_private(d / ("%s.pem" % name), pem)

    def public_pem(self):
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def grant(self, token_uri):
        # aud is Google's token URL whatever token_uri the grant is sent to, as google-auth does.
        del token_uri
        now = int(time.time())
        h = b64u(json.dumps({"alg": "RS256", "typ": "JWT", "kid": self.kid}).encode())
        c = b64u(json.dumps({"iss": self.email, "aud": "https://oauth2.googleapis.com/token", "iat": now, "exp": now + 600,
                             "scope": "https://www.googleapis.com/auth/cloudkms"}).encode())
        s = self.key.sign((h + "." + c).encode(), padding.PKCS1v15(), hashes.SHA256())
        return h + "." + c + "." + b64u(s)


class Gcp:
    """Running token endpoint + KMS peer, their accounts, and admin helpers."""

    def call(self, url, method="GET", data=None, ctype="application/json", token=None):
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", ctype)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        ctx = ssl.create_default_context(cafile=str(self.cert)) if url.startswith("https") else None
        with urllib.request.urlopen(req, context=ctx, timeout=20) as r:
            return json.loads(r.read() or b"{}")

    def admin_token(self):
        form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                       "assertion": self.accounts["admin"].grant(self.token_uri)})
        return self.call(self.token_uri, "POST", form.encode(),
                         "application/x-www-form-urlencoded")["access_token"]

    def kms(self, method, path, data=None):
        return self.call(self.kms_direct + "/v1/" + path, method,
                         json.dumps(data or {}).encode(), token=self.admin_token())

    def create_key(self):
        kid = "k" + uuid.uuid4().hex[:8]
        ring = "projects/%s/locations/%s/keyRings/ring" % (PROJECT, LOCATION)
        self.kms("POST", ring + "/cryptoKeys?cryptoKeyId=" + kid, {"purpose": "ENCRYPT_DECRYPT"})
        return ring + "/cryptoKeys/" + kid

    def new_primary(self, key):
        v = self.kms("POST", key + "/cryptoKeyVersions")["name"].rsplit("/", 1)[1]
        self.kms("POST", key + ":updatePrimaryVersion", {"cryptoKeyVersionId": v})
        return v

    def set_state(self, key, version, state):
        self.kms("PATCH", "%s/cryptoKeyVersions/%s?updateMask=state" % (key, version),
                 {"state": state})

    def version_verb(self, key, version, verb):
        self.kms("POST", "%s/cryptoKeyVersions/%s:%s" % (key, version, verb))

    def calls(self):
        out = {}
        for log in (self.token_log, self.kms_log):
            if log.exists():
                for line in log.read_text().splitlines():
                    e = json.loads(line)
                    kind = e["service"] if e["service"] != "kms" else e["path"].rsplit(":", 1)[-1]
                    out[kind] = out.get(kind, 0) + 1
        return out

    def settings(self, key, account="user", **extra):
        s = {"provider": "gcp", "key_name": key, "endpoint": self.kms_url, "ca_file": self.cert,
             "max_retries": 2, "deadline_ms": 20000}
        if account:
            s["service_account_file"] = self.accounts[account].file
        s.update(extra)
        return {k: v for k, v in s.items() if v is not None}

    def secrets(self):
        out = []
        for a in self.accounts.values():
            out += pem_body_lines(a.pem_file)
        return out


@pytest.fixture(scope="module")
def gcp_peer(tmp_path_factory):
    """Factory: start the token endpoint (with a metadata server) and the KMS peer (kms_plain:
    the KMS speaks HTTP, behind the tests' TLS fault proxy)."""
    with contextlib.ExitStack() as stack:
        def start(kms_plain=False):
            d = tmp_path_factory.mktemp("gcp")
            g = Gcp()
            g.cert, key = make_cert(d, "server", "IP:127.0.0.1")
            tport, mport, kport = free_port(), free_port(), free_port()
            g.token_uri = "https://127.0.0.1:%d/token" % tport
            g.metadata_host = "127.0.0.1:%d" % mport
            g.accounts = {n: Account(d, n, g.token_uri) for n in ("user", "admin", "noperm",
                                                                  "unregistered")}
            g.vm_email = "vm@%s.iam.gserviceaccount.com" % PROJECT
            accounts = [{"client_email": a.email, "keys": {a.kid: a.public_pem()}}
                        for n, a in g.accounts.items() if n != "unregistered"]
            # "unregistered" signs with a key the endpoint does not know for it.
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            accounts.append({"client_email": g.accounts["unregistered"].email, "keys": {
                g.accounts["unregistered"].kid: stranger.public_key().public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo).decode()}})
            g.token_log, g.kms_log = d / "token.jsonl", d / "kms.jsonl"
            pub = d / "token-signing.pem"
            stack.enter_context(peer(
                [PY, PEERS / "gcp_token.py", "--port", tport, "--tls-cert", g.cert, "--tls-key",
                 key, "--accounts", write_private(d / "accounts.json", json.dumps(accounts)),
                 "--public-key-out", pub, "--log", g.token_log, "--metadata-port", mport,
                 "--metadata-account", g.vm_email], tport, d / "token.out"))
            wait_port(mport)
            iam = {g.accounts["user"].email: ["useToEncrypt", "useToDecrypt"],
                   g.accounts["admin"].email: ["admin"],
                   g.vm_email: ["useToEncrypt", "useToDecrypt"]}
            cmd = [PY, PEERS / "gcp_kms.py", "--port", kport, "--token-public-key", pub,
                   "--iam", write_private(d / "iam.json", json.dumps(iam)), "--log", g.kms_log]
            cmd += ["--plain"] if kms_plain else ["--tls-cert", g.cert, "--tls-key", key]
            stack.enter_context(peer(cmd, kport, d / "kms.out"))
            g.kms_direct = "%s://127.0.0.1:%d" % ("http" if kms_plain else "https", kport)
            g.kms_url = g.kms_direct
            return g
        yield start


@pytest.fixture(scope="module")
def gcp(gcp_peer):
    return gcp_peer()


@pytest.fixture
def gcpenv(monkeypatch):
    clean_env(monkeypatch, ("GOOGLE_", "GCE_", "CLOUDSDK_"))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # no metadata server unless asked


def status(line, home):
    return json.loads(line.run([line.wtkms, "keys", "status", "--home", home, "--json"]).stdout)


# ---------------------------------------------------------------------------------------------

def test_roundtrip_disable_enable_rotate(wtline, gcp, gcpenv, tmp_path):
    key = gcp.create_key()
    cfg = write_config(tmp_path / "wtkms.conf", gcp.settings(key))
    home = tmp_path / "db"
    outputs = []

    before = gcp.calls()
    make_db(wtline, home, cfg)  # open 1: token + encrypt; open 2: token + decrypt
    after = gcp.calls()
    assert after.get("token", 0) - before.get("token", 0) == 2
    assert after.get("encrypt", 0) - before.get("encrypt", 0) == 1
    assert after.get("decrypt", 0) - before.get("decrypt", 0) == 1
    st = status(wtline, home)["master_key"]
    assert st == {"provider": "gcp", "key_id": key, "key_version": "1", "endpoint": gcp.kms_url,
                  "region": LOCATION}

    before = gcp.calls()
    p = read_all(wtline, home, cfg)
    outputs += [p.stdout, p.stderr]
    assert_all_rows(p)
    after = gcp.calls()
    assert after.get("decrypt", 0) - before.get("decrypt", 0) == 1
    assert after.get("token", 0) - before.get("token", 0) == 1
    assert after.get("encrypt", 0) == before.get("encrypt", 0)

    # Disabled version: FAILED_PRECONDITION, named, with the command that enables it.
    gcp.set_state(key, "1", "DISABLED")
    p = read_all(wtline, home, cfg, check=False)
    outputs += [p.stdout, p.stderr]
    assert p.returncode != 0
    assert "Cloud KMS key %s: the key version is disabled" % key in p.stderr
    assert "FAILED_PRECONDITION" in p.stderr and "current state is: DISABLED" in p.stderr
    assert "gcloud kms keys versions enable" in p.stderr
    s = wtline.run([wtline.wtkms, "--config", cfg, "keys", "status", "--home", home, "--verify"],
                   check=False)
    assert s.returncode == 3 and "is disabled" in s.stderr
    gcp.set_state(key, "1", "ENABLED")
    assert_all_rows(read_all(wtline, home, cfg))

    # Rotate: a new primary version, then one decrypt (v1) and one encrypt (v2).
    v2 = gcp.new_primary(key)
    files = data_files(home)
    before = gcp.calls()
    p = wtline.run([wtline.wtkms, "--config", cfg, "keys", "rotate", "--home", home])
    outputs += [p.stdout, p.stderr]
    assert "gcp:%s@1 -> gcp:%s@%s" % (key, key, v2) in p.stdout
    after = gcp.calls()
    assert after.get("decrypt", 0) - before.get("decrypt", 0) == 1
    assert after.get("encrypt", 0) - before.get("encrypt", 0) == 1
    assert after.get("token", 0) - before.get("token", 0) == 1  # the token is reused
    assert data_files(home) == files
    assert status(wtline, home)["master_key"]["key_version"] == v2
    gcp.set_state(key, "1", "DISABLED")  # no longer needed
    assert_all_rows(read_all(wtline, home, cfg))

    # Scheduled for destruction: named, with the way back.
    gcp.version_verb(key, v2, "destroy")
    p = read_all(wtline, home, cfg, check=False)
    assert p.returncode != 0 and "scheduled for destruction" in p.stderr
    assert "gcloud kms keys versions restore" in p.stderr
    gcp.version_verb(key, v2, "restore")
    gcp.set_state(key, v2, "ENABLED")
    assert_all_rows(read_all(wtline, home, cfg))

    assert_no_secret([tmp_path, home], gcp.secrets(), texts=outputs)


def test_application_default_credentials(line32, gcp, gcpenv, tmp_path, monkeypatch):
    key = gcp.create_key()
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp.accounts["user"].file))
    cfg = write_config(tmp_path / "c.conf", gcp.settings(key, account=None))
    home = tmp_path / "db"
    make_db(line32, home, cfg)
    p = read_all(line32, home, cfg)
    assert_all_rows(p)
    assert_no_secret([tmp_path, home], gcp.secrets(), texts=[p.stdout, p.stderr])


def test_metadata_server(wtline, gcp, gcpenv, tmp_path, monkeypatch):
    key = gcp.create_key()
    monkeypatch.setenv("GCE_METADATA_HOST", gcp.metadata_host)
    cfg = write_config(tmp_path / "c.conf", gcp.settings(key, account=None))
    home = tmp_path / "db"
    before = gcp.calls()
    make_db(wtline, home, cfg)
    p = read_all(wtline, home, cfg)
    assert_all_rows(p)
    assert gcp.calls().get("metadata", 0) - before.get("metadata", 0) == 3


def test_refusals_named(line32, gcp, gcpenv, tmp_path):
    key = gcp.create_key()
    home = tmp_path / "db"
    home.mkdir()

    def init(k=key, **settings):
        cfg = write_config(tmp_path / "r.conf", gcp.settings(k, **settings))
        return line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home],
                          check=False)

    p = init(account="noperm")
    assert p.returncode == 3 and "PERMISSION_DENIED" in p.stderr
    assert "roles/cloudkms.cryptoKeyEncrypterDecrypter" in p.stderr
    assert "cloudkms.cryptoKeyVersions.useToEncrypt" in p.stderr
    before = gcp.calls()
    p = init(account="unregistered")
    assert p.returncode == 3 and "Invalid JWT Signature" in p.stderr
    assert gcp.calls().get("token", 0) - before.get("token", 0) == 1  # not retried
    p = init(token_uri=gcp.token_uri.replace("/token", "/token/"))
    assert p.returncode != 0
    p = init(k=key.rsplit("/", 1)[0] + "/nokey")
    assert p.returncode == 3 and "does not exist" in p.stderr and "NOT_FOUND" in p.stderr
    p = init(k="projects/p/keyRings/r/cryptoKeys/k")
    assert p.returncode == 2 and "projects/PROJECT/locations/LOCATION" in p.stderr
    p = init(endpoint="http://127.0.0.1:1")
    assert p.returncode == 2 and "https://" in p.stderr
    p = init(ca_file="/etc/ssl/certs/ca-certificates.crt")
    assert p.returncode != 0 and "1 attempt" in p.stderr and "ca_file" in p.stderr
    p = init(account=None)  # no key file, no variable: the metadata server, which is not there
    assert p.returncode == 3 and "metadata server 127.0.0.1:9" in p.stderr
    assert not (home / "wtkms.keystore").exists()


def test_other_key_refused_before_any_call(line32, gcp, gcpenv, tmp_path):
    """A configuration naming another key is refused by the keystore's descriptor check, before
    a token is asked for."""
    k1, k2 = gcp.create_key(), gcp.create_key()
    home = tmp_path / "db"
    make_db(line32, home, write_config(tmp_path / "a.conf", gcp.settings(k1)))
    before = gcp.calls()
    p = read_all(line32, home, write_config(tmp_path / "b.conf", gcp.settings(k2)), check=False)
    assert p.returncode != 0 and "is not the one this was made under" in p.stderr
    assert gcp.calls() == before


@pytest.mark.parametrize("mode,attempts", [("503", 3), ("429", 3), ("garbage_body", 1)])
def test_faults_bounded(line32, gcp_peer, gcpenv, faultproxy, tmp_path, mode, attempts):
    g = gcp_peer(kms_plain=True)
    fcert, fkey = make_cert(tmp_path, "proxy", "IP:127.0.0.1")
    fp = faultproxy(upstream=g.kms_direct, tls=(fcert, fkey))
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(g.cert.read_text() + fcert.read_text())
    key = g.create_key()
    cfg = write_config(tmp_path / "f.conf", g.settings(key, endpoint=fp.url, ca_file=bundle,
                                                       retry_base_ms=20, deadline_ms=10000))
    home = tmp_path / "db"
    home.mkdir()
    fp.fault(mode)
    p = line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home], check=False,
                   timeout=60)
    st = fp.stats()
    assert p.returncode != 0 and st["faulted"] == attempts, (p.stderr, st)
    if mode == "garbage_body":
        assert "not JSON" in p.stderr
    else:
        assert ("HTTP %s" % mode) in p.stderr and "retry later" in p.stderr
    fp.reset()
    fp.fault("503", count=2)
    line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home])
    assert (home / "wtkms.keystore").exists()


# --- one exit code per failure class (docs/CLI.md, "Failure classes") ---------------------------

CLASS_WORDS = {
    "key_state": "the key version is disabled",
    "access_denied": "PERMISSION_DENIED",
    "credentials_rejected": "Invalid JWT Signature",
    "unavailable": "failed after 3 attempts; retry later",
    "unreachable": "failed after 3 attempts",
    "tls": "not trusted",
    "malformed": "not JSON",
    "wrong_key": "is not the one this was made under",
}


@pytest.fixture(scope="module")
def gcp_plain(gcp_peer):
    return gcp_peer(kms_plain=True)


@pytest.mark.parametrize("cls", sorted(exit_classes.CLASSES))
def test_exit_code_per_failure_class(line32, gcp, gcp_plain, gcpenv, faultproxy, tmp_path, cls):
    home = tmp_path / "db"
    home.mkdir()
    fast = dict(max_retries=2, retry_base_ms=20, deadline_ms=10000)
    fp = None
    with contextlib.ExitStack() as stack:
        if cls in ("unavailable", "malformed"):
            g = gcp_plain
            fcert, fkey = make_cert(tmp_path, "proxy", "IP:127.0.0.1")
            fp = faultproxy(upstream=g.kms_direct, tls=(fcert, fkey))
            bundle = tmp_path / "bundle.pem"
            bundle.write_text(g.cert.read_text() + fcert.read_text())
            key = g.create_key()
            good = g.settings(key, endpoint=fp.url, ca_file=bundle, **fast)
        else:
            g = gcp
            key = g.create_key()
            good = g.settings(key, **fast)
        line32.run([line32.wtkms, "--config", write_config(tmp_path / "good.conf", good),
                    "keys", "init", "--home", home])
        if fp is not None:
            fp.reset()
        bad = dict(good)
        if cls == "key_state":
            g.set_state(key, "1", "DISABLED")
        elif cls == "access_denied":
            bad = g.settings(key, account="noperm", **fast)
        elif cls == "credentials_rejected":
            bad = g.settings(key, account="unregistered", **fast)
        elif cls in ("unavailable", "malformed"):
            fp.fault("503" if cls == "unavailable" else "garbage_body")
        elif cls == "unreachable":
            bad["endpoint"] = "https://127.0.0.1:%d" % stack.enter_context(
                exit_classes.ClosedPort()).port
        elif cls == "tls":
            bad["ca_file"] = "/etc/ssl/certs/ca-certificates.crt"
        elif cls == "wrong_key":
            bad = g.settings(g.create_key(), **fast)
        p, before, after = exit_classes.run_class(line32, tmp_path, home, bad, cls, g.calls)
    exit_classes.check_class(p, cls, CLASS_WORDS, before, after, fp)


def test_token_service_outage_is_not_a_credential_refusal(line32, gcp, gcpenv, tmp_path,
                                                          scripted):
    cert, key = make_cert(tmp_path, "token", "IP:127.0.0.1")
    down = scripted(lambda *a: (503, {"Content-Type": "application/json"},
                                b'{"error": "backend_error"}'), tls=(cert, key))
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(gcp.cert.read_text() + cert.read_text())
    k = gcp.create_key()
    home = tmp_path / "db"
    home.mkdir()
    cfg = write_config(tmp_path / "c.conf", gcp.settings(
        k, token_uri=down.url + "/token", ca_file=bundle, max_retries=2, retry_base_ms=20))
    p = line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home], check=False)
    assert p.returncode == 3, p.stderr
    assert "the token service failed after 3 attempts (HTTP 503" in p.stderr, p.stderr
    assert "retry later" in p.stderr and "create a new key" not in p.stderr, p.stderr
    assert len(down.requests) == 3


def test_metadata_request_has_no_empty_query_fields(line32, gcpenv, tmp_path, monkeypatch,
                                                    scripted):
    md = scripted(lambda *a: (200, {"Content-Type": "application/json", "Metadata-Flavor":
                                    "Google"}, b'{"access_token": "t0k", "expires_in": 3600}'))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:%d" % md.port)
    cfg = write_config(tmp_path / "c.conf", {
        "provider": "gcp", "key_name": "projects/p/locations/l/keyRings/r/cryptoKeys/k",
        "endpoint": "https://127.0.0.1:%d" % free_port(), "max_retries": 0,
        "deadline_ms": 3000})
    home = tmp_path / "db"
    home.mkdir()
    line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home], check=False)
    assert md.requests, "no metadata request"
    path = md.requests[0]["path"]
    assert "?&" not in path and "&&" not in path and not path.endswith("&"), path
    assert path.split("?", 1)[1].startswith("scopes="), path


def test_snapshot_restore_checks_the_keystore_key(line32, gcp, gcpenv, tmp_path):
    """A "Not enabled" snapshot of a home whose keystore is under a Cloud KMS key: a disabled
    version, then one scheduled for destruction, stop restore and verify with Cloud KMS's reason
    before anything is written; restored, the home opens with plain wt (no -R)."""
    key = gcp.create_key()
    cfg = write_config(tmp_path / "wtkms.conf", gcp.settings(key))
    home = tmp_path / "db"
    make_db(line32, home, cfg)
    store = tmp_path / "store"
    p = line32.run([line32.wtkms, "--config", cfg, "snapshot", "create", "--home", home,
                    "--store", store, "--no-encryption", "--json"])
    sid = json.loads(p.stdout)["id"]
    target = tmp_path / "restored"

    def refused(*needles):
        for cmd in (["restore", sid, "--to", target], ["verify", sid]):
            p = line32.run([line32.wtkms, "--config", cfg, "snapshot", *cmd, "--store", store,
                            "--allow-unencrypted"], check=False)
            assert p.returncode == 3, (cmd, p.stderr)
            for n in ("keystore master key", "nothing was written") + needles:
                assert n in p.stderr, (n, p.stderr)
        assert not target.exists()

    gcp.set_state(key, "1", "DISABLED")
    refused("is disabled")
    gcp.set_state(key, "1", "ENABLED")
    gcp.version_verb(key, "1", "destroy")
    refused("scheduled for destruction")
    gcp.version_verb(key, "1", "restore")
    gcp.set_state(key, "1", "ENABLED")
    line32.run([line32.wtkms, "--config", cfg, "snapshot", "restore", sid, "--store", store,
                "--to", target, "--allow-unencrypted"])
    assert_all_rows(read_all(line32, target, cfg))
