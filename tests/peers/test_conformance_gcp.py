# SPDX-License-Identifier: Apache-2.0
"""Our Google Cloud stand-ins (tests/peers/gcp_kms.py, tests/peers/gcp_token.py) driven by
Google's own Python client libraries.

The gcp provider is tested against these stand-ins because the emulator DESIGN.md names cannot
be installed here. These tests show they answer the way Cloud KMS and Google's OAuth token
endpoint do, as far as the official clients can tell: google-cloud-kms
(KeyManagementServiceClient over its REST transport) with google-auth's
service_account.Credentials whose token_uri is our token endpoint.

- The OAuth 2.0 JWT bearer grant google-auth signs (RS256, kid, iss, scope, iat/exp, and
  aud https://oauth2.googleapis.com/token as Google documents it) is verified by gcp_token.py and
  exchanged for a token the KMS stand-in accepts; a grant signed with a key Google does not know
  for the account is refused with google-auth's RefreshError "invalid_grant".
- Admin calls (create key, new version, primary, enable/disable with integer enums, as the REST
  transport sends them) and encrypt/decrypt with additional authenticated data parse into the
  SDK's messages: name, ciphertext, plaintext, protection level, used_primary.
- Statuses: a disabled version is HTTP 400 with status FAILED_PRECONDITION ("... is not enabled,
  current state is: DISABLED."), which the REST transport raises as BadRequest (it maps by HTTP
  status; over gRPC the same status is FailedPrecondition); wrong AAD 400 INVALID_ARGUMENT,
  no permission 403 PERMISSION_DENIED (Forbidden over REST), missing key 404 NOT_FOUND, no
  token 401 UNAUTHENTICATED.
- Our provider and the SDK read each other's blobs: the KSK the provider wrapped into a keystore
  (`wtkms keys init`) is decrypted by the SDK (AAD "wtkms gcp wrap v1") and checked against the
  keystore's MAC; the SDK encrypts it again and the provider opens the keystore with that.

The clients are built with always_use_jwt_access=False, so they take the OAuth grant as our
provider does. (By default the library sends a self-signed JWT straight to the API instead,
which Cloud KMS accepts and our stand-in does not: the provider never does that.) TLS: the
stand-ins serve https with a certificate made for the test, given to the library as
REQUESTS_CA_BUNDLE.
"""
import hashlib
import hmac
import importlib.util
import json
import struct
import uuid
from pathlib import Path

import bson
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.auth.transport.requests import Request
from google.cloud import kms_v1
from google.cloud.kms_v1.services.key_management_service.transports.rest import (
    KeyManagementServiceRestTransport)
from google.oauth2 import service_account
from google.rpc import code_pb2

HERE = Path(__file__).resolve().parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


top = _load("wtkms_conformance_top_gcp", HERE.parent / "conftest.py")
prov = _load("wtkms_conformance_prov_gcp", HERE.parent / "providers" / "conftest.py")
wtdb = _load("wtkms_conformance_wtdb_gcp", HERE.parent / "providers" / "wtdb.py")
free_port, peer, wait_port = top.free_port, top.peer, top.wait_port
make_cert, write_private, PY, PEERS = prov.make_cert, prov.write_private, prov.PY, prov.PEERS

PROJECT = "wtkms-test"
RING = "projects/%s/locations/europe-west1/keyRings/ring" % PROJECT
SCOPE = "https://www.googleapis.com/auth/cloudkms"
AAD = b"wtkms gcp wrap v1"
State = kms_v1.CryptoKeyVersion.CryptoKeyVersionState


class Account:
    def __init__(self, d, name, token_uri):
        self.email = "%s@%s.iam.gserviceaccount.com" % (name, PROJECT)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        self.info = {
            "type": "service_account", "project_id": PROJECT, "private_key_id": self.kid,
            "private_key": self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode(),
            "client_email": self.email, "client_id": str(uuid.uuid4().int),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri}
        self.file = write_private(d / ("%s.json" % name), json.dumps(self.info))

    def public_pem(self, key=None):
        return (key or self.key).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def credentials(self):
        return service_account.Credentials.from_service_account_info(self.info, scopes=[SCOPE])


class Gcp:
    def client(self, account):
        transport = KeyManagementServiceRestTransport(
            host=self.kms_host, credentials=self.accounts[account].credentials(),
            always_use_jwt_access=False)
        return kms_v1.KeyManagementServiceClient(transport=transport)

    def requests(self, log):
        return [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []

    def new_key(self):
        kid = "c" + uuid.uuid4().hex[:8]
        return self.client("admin").create_crypto_key(
            parent=RING, crypto_key_id=kid,
            crypto_key={"purpose": kms_v1.CryptoKey.CryptoKeyPurpose.ENCRYPT_DECRYPT})


@pytest.fixture(scope="module")
def gcp(tmp_path_factory):
    """gcp_token.py and gcp_kms.py started as tests/providers/test_gcp.py starts them."""
    d = tmp_path_factory.mktemp("gcp-conformance")
    g = Gcp()
    g.cert, key = make_cert(d, "server", "IP:127.0.0.1")
    tport, mport, kport = free_port(), free_port(), free_port()
    g.token_uri = "https://127.0.0.1:%d/token" % tport
    g.accounts = {n: Account(d, n, g.token_uri) for n in ("user", "admin", "noperm",
                                                          "unregistered")}
    accounts = [{"client_email": a.email, "keys": {a.kid: a.public_pem()}}
                for n, a in g.accounts.items() if n != "unregistered"]
    # "unregistered" signs with a key the endpoint does not know for it.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    accounts.append({"client_email": g.accounts["unregistered"].email,
                     "keys": {g.accounts["unregistered"].kid: g.accounts["unregistered"]
                              .public_pem(stranger)}})
    g.token_log, g.kms_log = d / "token.jsonl", d / "kms.jsonl"
    pub = d / "token-signing.pem"
    iam = {g.accounts["user"].email: ["useToEncrypt", "useToDecrypt"],
           g.accounts["admin"].email: ["admin"]}
    with peer([PY, PEERS / "gcp_token.py", "--port", tport, "--tls-cert", g.cert, "--tls-key",
               key, "--accounts", write_private(d / "accounts.json", json.dumps(accounts)),
               "--public-key-out", pub, "--log", g.token_log, "--metadata-port", mport,
               "--metadata-account", "vm@%s.iam.gserviceaccount.com" % PROJECT],
              tport, d / "token.out"):
        wait_port(mport)
        with peer([PY, PEERS / "gcp_kms.py", "--port", kport, "--token-public-key", pub,
                   "--iam", write_private(d / "iam.json", json.dumps(iam)), "--log", g.kms_log,
                   "--tls-cert", g.cert, "--tls-key", key], kport, d / "kms.out"):
            g.kms_host = "127.0.0.1:%d" % kport
            g.kms_url = "https://" + g.kms_host
            yield g


@pytest.fixture(autouse=True)
def gcpenv(monkeypatch, gcp):
    wtdb.clean_env(monkeypatch, ("GOOGLE_", "GCE_", "CLOUDSDK_", "CURL_CA_BUNDLE", "SSL_CERT"))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(gcp.cert))


# ---------------------------------------------------------------------------------------------

def test_oauth_grant_verified(gcp):
    start = len(gcp.requests(gcp.token_log))
    creds = gcp.accounts["user"].credentials()
    creds.refresh(Request())
    assert creds.token and creds.valid and creds.expiry is not None
    assert [(r["path"], r["status"]) for r in gcp.requests(gcp.token_log)[start:]] == \
        [("/token", 200)]
    # The grant's signature is checked: a key not registered for the account is refused, and
    # google-auth reports Google's error.
    with pytest.raises(auth_exc.RefreshError) as e:
        gcp.accounts["unregistered"].credentials().refresh(Request())
    assert "invalid_grant" in str(e.value) and "Invalid JWT Signature" in str(e.value)


def test_encrypt_decrypt_round_trip(gcp):
    key = gcp.new_key()
    assert key.primary.name == key.name + "/cryptoKeyVersions/1"
    assert key.primary.state == State.ENABLED
    user = gcp.client("user")
    pt = bytes(range(32))
    enc = user.encrypt(request={"name": key.name, "plaintext": pt,
                                "additional_authenticated_data": AAD})
    assert enc.name == key.name + "/cryptoKeyVersions/1"
    assert enc.ciphertext and enc.ciphertext != pt
    assert enc.protection_level == kms_v1.ProtectionLevel.SOFTWARE
    dec = user.decrypt(request={"name": key.name, "ciphertext": enc.ciphertext,
                                "additional_authenticated_data": AAD})
    assert dec.plaintext == pt and dec.used_primary is True
    assert dec.protection_level == kms_v1.ProtectionLevel.SOFTWARE

    # AAD is bound: another AAD, or none, is INVALID_ARGUMENT (HTTP 400).
    for other in (b"wtkms gcp wrap v2", b""):
        with pytest.raises(gexc.BadRequest) as e:
            user.decrypt(request={"name": key.name, "ciphertext": enc.ciphertext,
                                  "additional_authenticated_data": other})
        assert e.value.response.json()["error"]["status"] == "INVALID_ARGUMENT"

    # A new primary version: encrypt names it, the old ciphertext still decrypts (not primary).
    admin = gcp.client("admin")
    v2 = admin.create_crypto_key_version(parent=key.name, crypto_key_version={})
    assert v2.name == key.name + "/cryptoKeyVersions/2" and v2.state == State.ENABLED
    ck = admin.update_crypto_key_primary_version(name=key.name, crypto_key_version_id="2")
    assert ck.primary.name == v2.name
    assert user.encrypt(request={"name": key.name, "plaintext": pt,
                                 "additional_authenticated_data": AAD}).name == v2.name
    dec = user.decrypt(request={"name": key.name, "ciphertext": enc.ciphertext,
                                "additional_authenticated_data": AAD})
    assert dec.plaintext == pt and dec.used_primary is False


def test_statuses(gcp):
    key = gcp.new_key()
    user, admin = gcp.client("user"), gcp.client("admin")
    enc = user.encrypt(request={"name": key.name, "plaintext": b"x" * 32,
                                "additional_authenticated_data": AAD})
    v = admin.update_crypto_key_version(
        crypto_key_version={"name": key.primary.name, "state": State.DISABLED},
        update_mask={"paths": ["state"]})
    assert v.state == State.DISABLED

    for call in ("decrypt", "encrypt"):
        with pytest.raises(gexc.GoogleAPICallError) as e:
            if call == "decrypt":
                user.decrypt(request={"name": key.name, "ciphertext": enc.ciphertext,
                                      "additional_authenticated_data": AAD})
            else:
                user.encrypt(request={"name": key.name, "plaintext": b"x",
                                      "additional_authenticated_data": AAD})
        err = e.value
        status = err.response.json()["error"]["status"]
        assert isinstance(err, gexc.BadRequest) and err.code == 400
        assert status == "FAILED_PRECONDITION"
        assert "%s is not enabled, current state is: DISABLED." % key.primary.name in err.message
        # The exception the gRPC transport raises for that status.
        assert type(gexc.from_grpc_status(code_pb2.Code.Value(status), err.message)) \
            is gexc.FailedPrecondition

    v = admin.update_crypto_key_version(
        crypto_key_version={"name": key.primary.name, "state": State.ENABLED},
        update_mask={"paths": ["state"]})
    assert v.state == State.ENABLED
    assert user.decrypt(request={"name": key.name, "ciphertext": enc.ciphertext,
                                 "additional_authenticated_data": AAD}).plaintext == b"x" * 32

    with pytest.raises(gexc.Forbidden) as e:
        gcp.client("noperm").decrypt(request={"name": key.name, "ciphertext": enc.ciphertext})
    assert e.value.response.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "cloudkms.cryptoKeyVersions.useToDecrypt" in e.value.message
    with pytest.raises(gexc.NotFound) as e:
        user.encrypt(request={"name": RING + "/cryptoKeys/no-such-key", "plaintext": b"x"})
    assert e.value.response.json()["error"]["status"] == "NOT_FOUND"
    # No token at all: UNAUTHENTICATED, as the REST API answers it.
    r = requests.post(gcp.kms_url + "/v1/%s:encrypt" % key.name, json={"plaintext": "eA=="},
                      verify=str(gcp.cert), timeout=20)
    assert isinstance(gexc.from_http_response(r), gexc.Unauthorized)
    assert r.json()["error"]["status"] == "UNAUTHENTICATED"


def _keystore(path):
    raw = path.read_bytes()
    assert raw[:8] == b"WTKMSKS\n" and raw[8] == 2
    (blen,) = struct.unpack("<I", raw[12:16])
    assert len(raw) == 16 + blen + 32
    doc = bson.decode(raw[16:16 + blen])
    # Format 2: one wrapping per master key; a fresh keystore has one.
    assert len(doc["wraps"]) == 1
    doc.update(cmk=doc["wraps"][0]["cmk"], ksk=doc["wraps"][0]["ksk"])
    return raw, doc


def test_provider_and_sdk_blobs_interchange(line32, gcp, tmp_path):
    if not Path(line32.wtkms).exists():
        pytest.fail("%s is not built: run scripts/build.sh" % line32.wtkms)
    key = gcp.new_key()
    cfg = wtdb.write_config(tmp_path / "wtkms.conf", {
        "provider": "gcp", "key_name": key.name, "endpoint": gcp.kms_url, "ca_file": gcp.cert,
        "service_account_file": gcp.accounts["user"].file, "max_retries": 2,
        "deadline_ms": 20000})
    home = tmp_path / "db"
    home.mkdir()
    line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home])
    ks = home / "wtkms.keystore"
    raw, doc = _keystore(ks)
    blob = bytes(doc["ksk"])
    assert doc["cmk"]["provider"] == "gcp" and doc["cmk"]["key_id"] == key.name
    assert doc["cmk"]["key_version"] == "1" and blob[0] == 1

    # The provider's blob, decrypted by the SDK with the provider's AAD, is the KSK: the
    # keystore's MAC checks with it.
    user = gcp.client("user")
    ksk = user.decrypt(request={"name": key.name, "ciphertext": blob[1:],
                                "additional_authenticated_data": AAD}).plaintext
    assert len(ksk) == 32
    mac_key = HKDF(hashes.SHA256(), 32, bytes(doc["home_id"]),
                   b"wtkms keystore mac v1").derive(ksk)
    assert hmac.new(mac_key, raw[:-32], hashlib.sha256).digest() == raw[-32:]

    def install(new_ct):
        body = raw[:-32]
        at = body.index(blob[1:])
        assert len(new_ct) == len(blob) - 1
        body = body[:at] + new_ct + body[at + len(new_ct):]
        ks.write_bytes(body + hmac.new(mac_key, body, hashlib.sha256).digest())

    def verify():
        return line32.run([line32.wtkms, "--config", cfg, "keys", "status", "--home", home,
                           "--verify", "--json"], check=False)

    install(user.encrypt(request={"name": key.name, "plaintext": ksk,
                                  "additional_authenticated_data": AAD}).ciphertext)
    p = verify()
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verified"] is True
    # Control: the SDK's ciphertext without the provider's AAD is refused.
    install(user.encrypt(request={"name": key.name, "plaintext": ksk}).ciphertext)
    p = verify()
    assert p.returncode != 0 and "INVALID_ARGUMENT" in p.stderr, p.stderr
