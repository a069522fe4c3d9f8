# SPDX-License-Identifier: Apache-2.0
"""Our Azure stand-in (tests/peers/azure_peer.py) driven by Microsoft's own Python SDKs.

The azure provider is tested against azure_peer.py because the emulators DESIGN.md names cannot
be installed here. These tests show the stand-in answers the way Key Vault and Entra ID do, as
far as the official clients can tell: azure-keyvault-keys (KeyClient, CryptographyClient) with
azure-identity's ClientSecretCredential (MSAL underneath) pointed at the stand-in's Entra ID.

- Key Vault's challenge flow: the SDK's first request goes without a token, the vault answers
  401 with `WWW-Authenticate: Bearer authorization=".../TENANT",
  resource="https://vault.azure.net"`, the SDK asks Entra ID (OpenID discovery, then the client-credentials token) for the tenant the
  challenge names, and repeats the request with the token.
- A certificate credential (CertificateCredential): MSAL's signed client assertion (x5t padded,
  exp not an integer, the same assertion sent again for the next token) is accepted.
- Keys come back as the SDK's KeyVaultKey (kid, versions, attributes, an RSA JWK it can use);
  wrapkey/unwrapkey with RSA-OAEP-256 round-trip. The SDK wraps locally with the public JWK the
  stand-in served (cryptography's OAEP, MGF1-SHA-256, SHA-256), and the stand-in unwraps that:
  the stand-in's padding is the documented algorithm, not RSA-OAEP (SHA-1), which it refuses
  for the same blob.
- A disabled key version: the SDK raises HttpResponseError, status 403, code Forbidden, inner
  error KeyDisabled, as Key Vault answers. A principal without a role: 403 ForbiddenByRbac, and
  the connection stays usable (the SDK keeps it alive).
- Our provider and the SDK read each other's blobs: the KSK the provider wrapped into a keystore
  (`wtkms keys init`) is unwrapped by the SDK and checked against the keystore's MAC; the SDK
  wraps it again and the provider opens the keystore with that blob (`keys status --verify`).

TLS: the SDK insists on https for Key Vault and Entra ID; the stand-in serves both with a
certificate made for the test, and the SDK is given it as connection_verify. The vault listens
on 127.0.0.1, not NAME.vault.azure.net, so the SDK's check that the challenge's resource is the
vault's domain is turned off (verify_challenge_resource=False, the SDK's documented switch).
"""
import base64
import hashlib
import hmac
import importlib.util
import json
import os
import struct
import uuid
from pathlib import Path

import bson
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import CertificateCredential, ClientSecretCredential
from azure.keyvault.keys import KeyClient, KeyType
from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = Path(__file__).resolve().parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


top = _load("wtkms_conformance_top_az", HERE.parent / "conftest.py")
prov = _load("wtkms_conformance_prov_az", HERE.parent / "providers" / "conftest.py")
wtdb = _load("wtkms_conformance_wtdb_az", HERE.parent / "providers" / "wtdb.py")
free_port, peer = top.free_port, top.peer
make_cert, write_private, PY, PEERS = prov.make_cert, prov.write_private, prov.PY, prov.PEERS

VAULT_RESOURCE = "https://vault.azure.net"


class Azure:
    """A running azure_peer.py, its identities, and the SDK clients for them."""

    def client_credential(self, app):
        a = self.apps[app]
        common = {"authority": self.login, "disable_instance_discovery": True,
                  "connection_verify": str(self.cert)}
        if "cert_file" in a:
            return CertificateCredential(self.tenant, a["client_id"],
                                               certificate_path=str(a["cert_file"]), **common)
        return ClientSecretCredential(self.tenant, a["client_id"], a["secret"], **common)

    def sdk(self):
        return {"api_version": "7.4", "verify_challenge_resource": False,
                "connection_verify": str(self.cert)}

    def keys(self, app):
        return KeyClient(self.vault, self.client_credential(app), **self.sdk())

    def crypto(self, key, app):
        return CryptographyClient(key, self.client_credential(app), **self.sdk())

    def requests(self):
        return [json.loads(l) for l in self.log.read_text().splitlines()] if self.log.exists() \
            else []


def _app(d, name, roles, cert=False):
    a = {"client_id": str(uuid.uuid4()), "object_id": str(uuid.uuid4()), "roles": roles}
    if cert:
        c, k = make_cert(d, "app-" + name, "DNS:%s.example" % name)
        a.update(cert_pem=c.read_text(), cert_file=write_private(
            d / ("app-%s-combined.pem" % name), c.read_text() + k.read_text()))
    else:
        secret = base64.urlsafe_b64encode(os.urandom(30)).decode()
        a.update(secret=secret, secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
                 secret_file=write_private(d / ("app-%s.secret" % name), secret + "\n"))
    return a


@pytest.fixture(scope="module")
def azure(tmp_path_factory):
    """azure_peer.py started as tests/providers/test_azure.py starts it."""
    d = tmp_path_factory.mktemp("azure-conformance")
    cert, key = make_cert(d, "server", "IP:127.0.0.1")
    apps = {"crypto": _app(d, "crypto", ["crypto"]), "admin": _app(d, "admin", ["admin"]),
            "norole": _app(d, "norole", []), "cert": _app(d, "cert", ["crypto"], cert=True)}
    conf = {"tenant": str(uuid.uuid4()),
            "apps": [{k: v for k, v in a.items() if k not in ("secret", "secret_file",
                                                              "cert_file")}
                     for a in apps.values()]}
    ports = [free_port() for _ in range(3)]
    log = d / "requests.jsonl"
    conf_path = write_private(d / "peer.json", json.dumps(conf))
    cmd = [PY, PEERS / "azure_peer.py", "--config", conf_path, "--tls-cert", cert, "--tls-key",
           key, "--vault-port", ports[0], "--login-port", ports[1], "--identity-port", ports[2],
           "--log", log]
    with peer(cmd, ports[0], d / "peer.out"):
        az = Azure()
        az.cert, az.apps, az.tenant, az.log = cert, apps, conf["tenant"], log
        az.vault = "https://127.0.0.1:%d" % ports[0]
        az.login = "https://127.0.0.1:%d" % ports[1]
        yield az


@pytest.fixture(autouse=True)
def azenv(monkeypatch):
    """No Azure settings or proxies from the machine."""
    wtdb.clean_env(monkeypatch, ("AZURE_", "IDENTITY_", "IMDS_", "MSI_", "REQUESTS_CA_BUNDLE",
                                 "CURL_CA_BUNDLE", "SSL_CERT"))
    monkeypatch.setenv("IMDS_ENDPOINT", "http://127.0.0.1:9")


def new_key(az):
    name = "conf-" + uuid.uuid4().hex[:8]
    return az.keys("admin").create_rsa_key(name, size=2048)


# ---------------------------------------------------------------------------------------------

def test_challenge_flow_and_key_shape(azure):
    start = len(azure.requests())
    name = "conf-" + uuid.uuid4().hex[:8]
    key = azure.keys("admin").create_rsa_key(name, size=2048)
    seen = [(r["service"], r["method"], r["path"], r["status"]) for r in azure.requests()[start:]]
    create = "/keys/%s/create" % name
    assert seen == [
        ("vault", "POST", create, 401),  # no token yet: the challenge
        ("login", "GET", "/%s/v2.0/.well-known/openid-configuration" % azure.tenant, 200),
        ("login", "POST", "/%s/oauth2/v2.0/token" % azure.tenant, 200),
        ("vault", "POST", create, 200),  # again, with the token for the challenge's tenant
    ], seen

    # The answer parses into the SDK's model: identifiers, attributes, a usable RSA JWK.
    version = key.properties.version
    assert key.id == "%s/keys/%s/%s" % (azure.vault, name, version) and len(version) == 32
    assert key.name == name and key.properties.vault_url == azure.vault
    assert key.key_type == KeyType.rsa and key.properties.enabled is True
    assert key.properties.created_on is not None and key.properties.updated_on is not None
    assert key.properties.recovery_level == "Recoverable+Purgeable"
    assert len(key.key.n) == 256 and key.key.e == b"\x01\x00\x01"
    assert {"wrapKey", "unwrapKey"} <= set(key.key_operations)

    # Reading it back (latest and by version) with the crypto role; a missing key is the SDK's
    # ResourceNotFoundError with Key Vault's code.
    kc = azure.keys("crypto")
    for got in (kc.get_key(name), kc.get_key(name, version)):
        assert got.id == key.id and got.key.n == key.key.n and got.properties.enabled is True
    with pytest.raises(ResourceNotFoundError) as e:
        kc.get_key("no-such-" + name)
    assert e.value.status_code == 404 and e.value.error.code == "KeyNotFound"


def test_certificate_credential(azure):
    # MSAL's client assertion (RS256, x5t = SHA-1 thumbprint, aud = the discovered token
    # endpoint, a fresh jti each time) is what the stand-in's Entra ID verifies.
    key = new_key(azure)
    start = len(azure.requests())
    got = azure.keys("cert").get_key(key.name)
    assert got.id == key.id
    tokens = [r for r in azure.requests()[start:]
              if r["service"] == "login" and r["method"] == "POST"]
    assert [r["status"] for r in tokens] == [200]
    # MSAL keeps one signed assertion for several minutes and sends it again for the next token
    # request (here: another resource), as Entra ID accepts.
    cred = azure.client_credential("cert")
    for resource in (VAULT_RESOURCE, "https://management.azure.com", "https://storage.azure.com"):
        assert cred.get_token(resource + "/.default").token


def test_wrap_unwrap_rsa_oaep_256(azure):
    key = new_key(azure)
    cc = azure.crypto(key.id, "crypto")
    dek = os.urandom(32)
    start = len(azure.requests())

    # The SDK wraps locally with the JWK the vault served (it fetches the key first), and the
    # vault unwraps: the stand-in's RSA-OAEP-256 is the SDK's (MGF1-SHA-256, SHA-256).
    wrapped = cc.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, dek)
    assert wrapped.key_id == key.id and wrapped.algorithm == KeyWrapAlgorithm.rsa_oaep_256
    assert len(wrapped.encrypted_key) == 256
    out = cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key)
    assert out.key == dek and out.key_id == key.id
    kinds = [(r["method"], r["path"].rsplit("/", 1)[-1], r["status"])
             for r in azure.requests()[start:] if r["service"] == "vault"]
    assert ("POST", "unwrapkey", 200) in kinds and not any(k[1] == "wrapkey" for k in kinds)

    # The vault's own wrapkey, through the operation CryptographyClient.wrap_key calls for a key
    # it has no material for; the SDK parses the answer and the vault unwraps the result.
    res = cc._client.wrap_key(key.name, key.properties.version,
                              cc._models.KeyOperationsParameters(
                                  algorithm=KeyWrapAlgorithm.rsa_oaep_256, value=dek))
    assert res.kid == key.id and len(res.result) == 256 and res.result != wrapped.encrypted_key
    assert cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, res.result).key == dek

    # The algorithm is honoured: the same blob as RSA-OAEP (SHA-1) does not decrypt.
    with pytest.raises(HttpResponseError) as e:
        cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped.encrypted_key)
    assert e.value.status_code == 400 and e.value.error.code == "BadParameter"


def test_disabled_key_and_rbac_refusal(azure):
    key = new_key(azure)
    version = key.properties.version
    blob = azure.crypto(key.id, "crypto").wrap_key(KeyWrapAlgorithm.rsa_oaep_256,
                                                   b"k" * 32).encrypted_key
    updated = azure.keys("admin").update_key_properties(key.name, version, enabled=False)
    assert updated.properties.enabled is False and updated.properties.version == version

    cc = azure.crypto(key.id, "crypto")
    for op in ("unwrap", "wrap"):
        with pytest.raises(HttpResponseError) as e:
            if op == "unwrap":
                cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, blob)
            else:
                cc._client.wrap_key(key.name, version, cc._models.KeyOperationsParameters(
                    algorithm=KeyWrapAlgorithm.rsa_oaep_256, value=b"k" * 32))
        err = e.value
        assert err.status_code == 403 and err.error.code == "Forbidden"
        assert err.error.innererror == {"code": "KeyDisabled"}
        assert "not allowed on a disabled key" in err.error.message

    azure.keys("admin").update_key_properties(key.name, version, enabled=True)
    assert cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, blob).key == b"k" * 32

    # No role: ForbiddenByRbac every time, on the same kept-alive connection (the stand-in reads
    # a refused request's body, so the next request on the connection parses).
    nr = azure.crypto(key.id, "norole")
    for _ in range(3):
        with pytest.raises(HttpResponseError) as e:
            nr.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, blob)
        assert e.value.status_code == 403
        assert e.value.error.innererror == {"code": "ForbiddenByRbac"}, e.value.message


def _keystore(path):
    """(raw bytes, body document) of a wtkms.keystore (docs/FORMATS.md)."""
    raw = path.read_bytes()
    assert raw[:8] == b"WTKMSKS\n" and raw[8] == 2
    (blen,) = struct.unpack("<I", raw[12:16])
    assert len(raw) == 16 + blen + 32
    doc = bson.decode(raw[16:16 + blen])
    # Format 2: one wrapping per master key; a fresh keystore has one.
    assert len(doc["wraps"]) == 1
    doc.update(cmk=doc["wraps"][0]["cmk"], ksk=doc["wraps"][0]["ksk"])
    return raw, doc


def _mac_key(ksk, home_id):
    return HKDF(hashes.SHA256(), 32, home_id, b"wtkms keystore mac v1").derive(ksk)


def test_provider_and_sdk_blobs_interchange(line32, azure, tmp_path):
    if not Path(line32.wtkms).exists():
        pytest.fail("%s is not built: run scripts/build.sh" % line32.wtkms)
    key = new_key(azure)
    app = azure.apps["crypto"]
    cfg = wtdb.write_config(tmp_path / "wtkms.conf", {
        "provider": "azure", "vault_url": azure.vault, "key_name": key.name,
        "ca_file": azure.cert, "tenant_id": azure.tenant, "authority_host": azure.login,
        "client_id": app["client_id"], "client_secret_file": app["secret_file"],
        "max_retries": 2, "deadline_ms": 20000})
    home = tmp_path / "db"
    home.mkdir()
    line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home])
    ks = home / "wtkms.keystore"
    raw, doc = _keystore(ks)
    blob = bytes(doc["ksk"])
    assert doc["cmk"]["provider"] == "azure" and doc["cmk"]["key_version"] == key.properties.version
    assert blob[0] == 1 and len(blob) == 257

    # The provider's blob, unwrapped by the SDK, is the KSK: the keystore's MAC checks with it.
    cc = azure.crypto(key.id, "crypto")
    ksk = cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, blob[1:]).key
    assert len(ksk) == 32
    mac_key = _mac_key(ksk, bytes(doc["home_id"]))
    assert hmac.new(mac_key, raw[:-32], hashlib.sha256).digest() == raw[-32:]

    def install(new_blob):
        """The keystore with its ksk replaced by new_blob (same length) and its MAC redone."""
        body = raw[:-32]
        at = body.index(blob[1:])
        body = body[:at] + new_blob + body[at + len(new_blob):]
        ks.write_bytes(body + hmac.new(mac_key, body, hashlib.sha256).digest())

    def verify():
        return line32.run([line32.wtkms, "--config", cfg, "keys", "status", "--home", home,
                           "--verify", "--json"], check=False)

    # The SDK's wrap of the same KSK, opened by the provider.
    install(cc.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, ksk).encrypted_key)
    p = verify()
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verified"] is True
    # Control: an SDK blob of another key is refused, so the check above can fail.
    install(cc.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, os.urandom(32)).encrypted_key)
    p = verify()
    assert p.returncode != 0 and '"verified": true' not in p.stdout
