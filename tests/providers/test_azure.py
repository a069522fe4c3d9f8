# SPDX-License-Identifier: Apache-2.0
"""The azure provider against Key Vault and Entra ID on 127.0.0.1.

The peer is tests/peers/azure_peer.py, a faithful stand-in for Key Vault (REST 7.4) and Entra ID:
the third-party emulators DESIGN.md names could not be installed here (the Go module proxy
answers 403 for calvinchengx/azure-keyvault-emulator and entra-emulator; Lowkey Vault's app jar is
not on Maven Central). It verifies what the real services verify: client secrets, certificate
client assertions (signature, x5t, audience, jti), bearer tokens (signature, audience, expiry),
RBAC, key versions and their enabled state.

On both WiredTiger lines: a database under a Key Vault key closes, reopens and reads back every
row; a disabled key version is refused with Key Vault's reason and how to enable it, and opens
again once enabled; a new key version plus `wtkms keys rotate` moves the keystore to it with no
data file changed; calls are counted at the peer (one token and one unwrapkey per open, none per
byte written); every credential source works (secret file, certificate, environment, IMDS, App
Service identity); refusals name their cause; secrets never reach a file or an output.
"""
import base64
import contextlib
import hashlib
import json
import os
import ssl
import urllib.request
import uuid

import pytest

import exit_classes
from conftest import PEERS, PY, assert_no_secret, free_port, make_cert, peer, write_private
from wtdb import (assert_all_rows, clean_env, data_files, make_db, pem_body_lines, read_all,
                  write_config)


class Azure:
    """A running azure_peer.py and the identities registered in it."""

    def __init__(self, d, cert, key, conf, vault_port, login_port, identity_port, log):
        self.d, self.cert, self.key, self.conf, self.log = d, cert, key, conf, log
        self.vault = "https://127.0.0.1:%d" % vault_port
        self.login = "https://127.0.0.1:%d" % login_port
        self.identity = "http://127.0.0.1:%d" % identity_port
        self.tenant = conf["tenant"]

    def token(self, app):
        body = ("grant_type=client_credentials&client_id=%s&scope=https%%3A%%2F%%2Fvault.azure.net"
                "%%2F.default&client_secret=%s" % (app["client_id"], app["secret"])).encode()
        r = self._call(self.login + "/%s/oauth2/v2.0/token" % self.tenant, "POST", body,
                       "application/x-www-form-urlencoded")
        return r["access_token"]

    def _call(self, url, method="GET", body=None, ctype="application/json", token=None):
        req = urllib.request.Request(url, data=body, method=method)
        req.add_header("Content-Type", ctype)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        ctx = ssl.create_default_context(cafile=str(self.cert))
        with urllib.request.urlopen(req, context=ctx, timeout=20) as r:
            return json.loads(r.read() or b"{}")

    def admin(self, method, path, data=None):
        return self._call(self.vault + path + "?api-version=7.4", method,
                          json.dumps(data).encode() if data is not None else None,
                          token=self.token(self.apps["admin"]))

    def create_key(self, name):
        """A new key, or a new current version of an existing one; returns the version."""
        kid = self.admin("POST", "/keys/%s/create" % name, {"kty": "RSA", "key_size": 2048})
        return kid["key"]["kid"].rsplit("/", 1)[1]

    def set_enabled(self, name, version, enabled):
        self.admin("PATCH", "/keys/%s/%s" % (name, version), {"attributes": {"enabled": enabled}})

    def calls(self):
        """Requests the peer answered, by service and kind."""
        out = {}
        if self.log.exists():
            for line in self.log.read_text().splitlines():
                e = json.loads(line)
                kind = e["path"].rsplit("/", 1)[-1] if e["service"] == "vault" else e["service"]
                if e["service"] == "vault" and e["method"] == "GET":
                    kind = "get"
                out[kind] = out.get(kind, 0) + 1
        return out

    def settings(self, name, app="crypto", **extra):
        s = {"provider": "azure", "vault_url": self.vault, "key_name": name,
             "ca_file": self.cert, "tenant_id": self.tenant, "authority_host": self.login,
             "max_retries": 2,
             "deadline_ms": 20000}
        if app is not None:
            a = self.apps[app]
            s["client_id"] = a["client_id"]
            if "secret_file" in a:
                s["client_secret_file"] = a["secret_file"]
            else:
                s["client_certificate_file"] = a["cert_file"]
        s.update(extra)
        return {k: v for k, v in s.items() if v is not None}

    def secrets(self):
        out = [a["secret"] for a in self.apps.values() if "secret" in a]
        for a in self.apps.values():
            if "cert_file" in a:
                out += pem_body_lines(a["cert_file"])
        return out + [self.identity_header]


def _app(d, name, roles, cert=False):
    cid = str(uuid.uuid4())
    a = {"client_id": cid, "object_id": str(uuid.uuid4()), "roles": roles}
    if cert:
        c, k = make_cert(d, "app-" + name, "DNS:%s.example" % name)
        combined = write_private(d / ("app-%s-combined.pem" % name), c.read_text() + k.read_text())
        a.update(cert_pem=c.read_text(), cert_file=combined)
    else:
        secret = base64.urlsafe_b64encode(os.urandom(30)).decode()
        a.update(secret=secret, secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
                 secret_file=write_private(d / ("app-%s.secret" % name), secret + "\n"))
    return a


@pytest.fixture(scope="module")
def azure_peer(tmp_path_factory):
    """Factory: start an azure_peer.py (vault_plain: the vault speaks HTTP, for the fault proxy)."""
    with contextlib.ExitStack() as stack:
        def start(vault_plain=False):
            d = tmp_path_factory.mktemp("azure")
            cert, key = make_cert(d, "server", "IP:127.0.0.1")
            apps = {"crypto": _app(d, "crypto", ["crypto"]),
                    "cert": _app(d, "cert", ["crypto"], cert=True),
                    "admin": _app(d, "admin", ["admin"]),
                    "norole": _app(d, "norole", [])}
            ih = base64.urlsafe_b64encode(os.urandom(24)).decode()
            conf = {"tenant": str(uuid.uuid4()),
                    "apps": [{k: v for k, v in a.items() if k not in ("secret", "secret_file",
                                                                      "cert_file")}
                             for a in apps.values()],
                    "managed_identity": {"client_id": str(uuid.uuid4()),
                                         "object_id": str(uuid.uuid4()), "roles": ["crypto"],
                                         "identity_header": ih}}
            conf_path = write_private(d / "peer.json", json.dumps(conf))
            ports = [free_port() for _ in range(3)]
            log = d / "requests.jsonl"
            cmd = [PY, PEERS / "azure_peer.py", "--config", conf_path, "--tls-cert", cert,
                   "--tls-key", key, "--vault-port", ports[0], "--login-port", ports[1],
                   "--identity-port", ports[2], "--log", log]
            if vault_plain:
                cmd.append("--vault-plain")
            stack.enter_context(peer(cmd, ports[0], d / "peer.out"))
            az = Azure(d, cert, key, conf, *ports, log)
            az.apps = apps
            az.msi = conf["managed_identity"]
            az.identity_header = ih
            return az
        yield start


@pytest.fixture(scope="module")
def azure(azure_peer):
    return azure_peer()


@pytest.fixture
def azenv(monkeypatch):
    clean_env(monkeypatch, ("AZURE_", "IDENTITY_", "IMDS_", "MSI_"))
    # No instance metadata service unless a test points at one: the default is link-local.
    monkeypatch.setenv("IMDS_ENDPOINT", "http://127.0.0.1:9")


def status(line, home):
    p = line.run([line.wtkms, "keys", "status", "--home", home, "--json"])
    return json.loads(p.stdout)


# ---------------------------------------------------------------------------------------------

def test_roundtrip_disable_enable_rotate(wtline, azure, azenv, tmp_path):
    name = "wt-" + uuid.uuid4().hex[:8]
    v1 = azure.create_key(name)
    cfg = write_config(tmp_path / "wtkms.conf", azure.settings(name))
    home = tmp_path / "db"
    outputs = []

    before = azure.calls()
    make_db(wtline, home, cfg)  # open 1 creates (GET key, wrapkey), open 2 writes (unwrapkey)
    after = azure.calls()
    assert after.get("login", 0) - before.get("login", 0) == 2  # one token per process
    assert after.get("get", 0) - before.get("get", 0) == 1      # the version, resolved once
    assert after.get("wrapkey", 0) - before.get("wrapkey", 0) == 1
    assert after.get("unwrapkey", 0) - before.get("unwrapkey", 0) == 1
    st = status(wtline, home)["master_key"]
    assert st["provider"] == "azure" and st["key_id"] == name and st["key_version"] == v1
    assert st["endpoint"] == azure.vault

    before = azure.calls()
    p = read_all(wtline, home, cfg)
    outputs += [p.stdout, p.stderr]
    assert_all_rows(p)
    after = azure.calls()
    assert after.get("unwrapkey", 0) - before.get("unwrapkey", 0) == 1
    assert after.get("login", 0) - before.get("login", 0) == 1
    assert after.get("wrapkey", 0) == before.get("wrapkey", 0)

    # Disabled: refused with Key Vault's reason and the command that fixes it; enabled: opens.
    azure.set_enabled(name, v1, False)
    p = read_all(wtline, home, cfg, check=False)
    outputs += [p.stdout, p.stderr]
    assert p.returncode != 0
    assert "Azure Key Vault key %s version %s in %s is disabled" % (name, v1, azure.vault) in p.stderr
    assert "KeyDisabled" in p.stderr and "az keyvault key set-attributes" in p.stderr
    s = wtline.run([wtline.wtkms, "--config", cfg, "keys", "status", "--home", home, "--verify"],
                   check=False)
    assert s.returncode == 3 and "is disabled" in s.stderr
    azure.set_enabled(name, v1, True)
    assert_all_rows(read_all(wtline, home, cfg))

    # Rotate: a new key version in the vault, then one unwrap (v1) and one wrap (v2).
    v2 = azure.create_key(name)
    files = data_files(home)
    before = azure.calls()
    p = wtline.run([wtline.wtkms, "--config", cfg, "keys", "rotate", "--home", home])
    outputs += [p.stdout, p.stderr]
    assert "azure:%s@%s -> azure:%s@%s" % (name, v1, name, v2) in p.stdout
    after = azure.calls()
    assert after.get("unwrapkey", 0) - before.get("unwrapkey", 0) == 1
    assert after.get("wrapkey", 0) - before.get("wrapkey", 0) == 1
    assert after.get("login", 0) - before.get("login", 0) == 1  # the token is reused
    assert data_files(home) == files
    assert status(wtline, home)["master_key"]["key_version"] == v2
    # The old version is no longer needed: disabling it changes nothing.
    azure.set_enabled(name, v1, False)
    assert_all_rows(read_all(wtline, home, cfg))

    assert_no_secret([tmp_path, home], azure.secrets(), texts=outputs)


def test_key_version_configured_and_missing_key(line32, azure, azenv, tmp_path):
    name = "wt-" + uuid.uuid4().hex[:8]
    v1 = azure.create_key(name)
    azure.create_key(name)  # a newer current version that the configuration does not use
    cfg = write_config(tmp_path / "c.conf", azure.settings(name, key_version=v1))
    home = tmp_path / "db"
    before = azure.calls()
    make_db(line32, home, cfg)
    assert azure.calls().get("get", 0) == before.get("get", 0)  # nothing to resolve
    assert status(line32, home)["master_key"]["key_version"] == v1
    assert_all_rows(read_all(line32, home, cfg))

    azure.admin("DELETE", "/keys/%s" % name)
    p = read_all(line32, home, cfg, check=False)
    assert p.returncode != 0
    assert "Azure Key Vault key %s version %s in %s does not exist" % (name, v1, azure.vault) \
        in p.stderr
    assert "az keyvault key recover" in p.stderr


def test_certificate_credential(wtline, azure, azenv, tmp_path):
    name = "wt-" + uuid.uuid4().hex[:8]
    azure.create_key(name)
    cfg = write_config(tmp_path / "c.conf", azure.settings(name, app="cert"))
    home = tmp_path / "db"
    make_db(wtline, home, cfg)
    p = read_all(wtline, home, cfg)
    assert_all_rows(p)
    # A certificate Entra does not know for this application: its refusal, named.
    c, k = make_cert(tmp_path, "stranger", "DNS:stranger.example")
    other = write_private(tmp_path / "stranger-combined.pem", c.read_text() + k.read_text())
    bad = write_config(tmp_path / "bad.conf", azure.settings(name, app="cert",
                                                              client_certificate_file=other))
    q = read_all(wtline, home, bad, check=False)
    assert q.returncode != 0
    assert "Entra ID token request for application %s" % azure.apps["cert"]["client_id"] in q.stderr
    assert "AADSTS700027" in q.stderr
    assert_no_secret([tmp_path, home], azure.secrets() + pem_body_lines(other),
                     exclude=[other, k], texts=[p.stdout, p.stderr, q.stderr])


def test_environment_credentials(line32, azure, azenv, tmp_path, monkeypatch):
    name = "wt-" + uuid.uuid4().hex[:8]
    azure.create_key(name)
    app = azure.apps["crypto"]
    monkeypatch.setenv("AZURE_TENANT_ID", azure.tenant)
    monkeypatch.setenv("AZURE_CLIENT_ID", app["client_id"])
    monkeypatch.setenv("AZURE_CLIENT_SECRET", app["secret"])
    cfg = write_config(tmp_path / "c.conf", azure.settings(name, app=None, tenant_id=None))
    home = tmp_path / "db"
    make_db(line32, home, cfg)
    p = read_all(line32, home, cfg)
    assert_all_rows(p)
    assert_no_secret([tmp_path, home], [app["secret"]], texts=[p.stdout, p.stderr])


@pytest.mark.parametrize("flavor", ["imds", "app_service"])
def test_managed_identity(wtline, azure, azenv, tmp_path, monkeypatch, flavor):
    name = "wt-" + uuid.uuid4().hex[:8]
    azure.create_key(name)
    if flavor == "imds":
        monkeypatch.setenv("IMDS_ENDPOINT", azure.identity)
    else:
        monkeypatch.setenv("IDENTITY_ENDPOINT", azure.identity + "/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", azure.identity_header)
    cfg = write_config(tmp_path / "c.conf", azure.settings(name, app=None, tenant_id=None))
    home = tmp_path / "db"
    before = azure.calls()
    make_db(wtline, home, cfg)
    p = read_all(wtline, home, cfg)
    assert_all_rows(p)
    assert azure.calls().get("identity", 0) - before.get("identity", 0) == 3
    if flavor == "app_service":
        monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
        q = read_all(wtline, home, cfg, check=False)
        assert q.returncode != 0
        assert "Azure managed identity token request for the App Service managed identity" in q.stderr
        assert "HTTP 401" in q.stderr
    assert_no_secret([tmp_path, home], [azure.identity_header], texts=[p.stdout, p.stderr])


def test_refusals_named(line32, azure, azenv, tmp_path):
    name = "wt-" + uuid.uuid4().hex[:8]
    azure.create_key(name)
    home = tmp_path / "db"
    home.mkdir()

    def init(**settings):
        cfg = write_config(tmp_path / "r.conf", azure.settings(name, **settings))
        return line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home],
                          check=False)

    # No role on the vault: Key Vault's 403 and the role to grant.
    p = init(app="norole")
    assert p.returncode == 3 and "ForbiddenByRbac" in p.stderr
    assert "Key Vault Crypto Service Encryption User" in p.stderr
    # A wrong client secret: Entra's refusal, once (never retried).
    wrong = write_private(tmp_path / "wrong.secret", "not-the-secret\n")
    before = azure.calls()
    p = init(client_secret_file=wrong)
    assert p.returncode == 3 and "AADSTS7000215" in p.stderr
    assert azure.calls().get("login", 0) - before.get("login", 0) == 1
    # A tenant Entra does not know.
    p = init(tenant_id="00000000-0000-0000-0000-000000000000")
    assert p.returncode == 3 and "AADSTS90002" in p.stderr
    # A key that does not exist.
    p = line32.run([line32.wtkms, "--config", write_config(tmp_path / "n.conf", azure.settings(
        "no-such-key")), "keys", "init", "--home", home], check=False)
    assert p.returncode == 3 and "Azure Key Vault key no-such-key in" in p.stderr
    assert "does not exist" in p.stderr
    # The vault's certificate not trusted: at once, not retried.
    p = init(ca_file="/etc/ssl/certs/ca-certificates.crt")
    assert p.returncode != 0 and "1 attempt" in p.stderr and "ca_file" in p.stderr
    # Settings that would leak or mislead are refused before any I/O.
    p = init(vault_url="http://127.0.0.1:1")
    assert p.returncode == 2 and "https://" in p.stderr
    p = line32.run([line32.wtkms, "--config", write_config(tmp_path / "s.conf", azure.settings(
        name)), "keys", "init", "--home", home, "--client-secret", "x"], check=False)
    assert p.returncode == 2 and "secret" in p.stderr
    assert not (home / "wtkms.keystore").exists()


@pytest.mark.parametrize("mode,attempts", [("503", 3), ("429", 3), ("garbage_body", 1)])
def test_faults_bounded(line32, azure_peer, azenv, faultproxy, tmp_path, mode, attempts):
    az = azure_peer(vault_plain=True)
    fcert, fkey = make_cert(tmp_path, "proxy", "IP:127.0.0.1")
    fp = faultproxy(upstream=az.vault.replace("https:", "http:"), tls=(fcert, fkey))
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(az.cert.read_text() + fcert.read_text())
    name = "wt-" + uuid.uuid4().hex[:8]
    # Admin calls go straight to the peer (plain HTTP).
    token = az.token(az.apps["admin"])
    req = urllib.request.Request(az.vault.replace("https:", "http:") + "/keys/%s/create?api-version=7.4"
                                 % name, data=b'{"kty": "RSA"}', method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=20).read()
    cfg = write_config(tmp_path / "f.conf", az.settings(name, vault_url=fp.url, ca_file=bundle,
                                                        max_retries=2, retry_base_ms=20,
                                                        deadline_ms=10000))
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
    # Transient: two failures, then the vault answers; the key is created.
    fp.reset()
    fp.fault("503", count=2)
    line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home])
    assert (home / "wtkms.keystore").exists()


# --- one exit code per failure class (docs/CLI.md, "Failure classes") ---------------------------

CLASS_WORDS = {
    "key_state": "is disabled",
    "access_denied": "ForbiddenByRbac",
    "credentials_rejected": "AADSTS7000215",
    "unavailable": "failed after 3 attempts; retry later",
    "unreachable": "failed after 3 attempts",
    "tls": "not trusted",
    "malformed": "not JSON",
    "wrong_key": "is not the one this was made under",
}


def plain_key(az, name):
    """A key made straight on a plain-HTTP vault peer (the admin helper speaks TLS)."""
    token = az.token(az.apps["admin"])
    req = urllib.request.Request(az.vault.replace("https:", "http:")
                                 + "/keys/%s/create?api-version=7.4" % name,
                                 data=b'{"kty": "RSA"}', method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=20).read()


@pytest.mark.parametrize("cls", sorted(exit_classes.CLASSES))
def test_exit_code_per_failure_class(line32, azure, azure_peer, azenv, faultproxy, tmp_path, cls):
    name = "wt-" + uuid.uuid4().hex[:8]
    home = tmp_path / "db"
    home.mkdir()
    fast = dict(max_retries=2, retry_base_ms=20, deadline_ms=10000)
    fp = None
    with contextlib.ExitStack() as stack:
        if cls in ("unavailable", "malformed"):
            az = azure_peer(vault_plain=True)
            fcert, fkey = make_cert(tmp_path, "proxy", "IP:127.0.0.1")
            fp = faultproxy(upstream=az.vault.replace("https:", "http:"), tls=(fcert, fkey))
            bundle = tmp_path / "bundle.pem"
            bundle.write_text(az.cert.read_text() + fcert.read_text())
            plain_key(az, name)
            good = az.settings(name, vault_url=fp.url, ca_file=bundle, **fast)
        else:
            az = azure
            v1 = az.create_key(name)
            good = az.settings(name, **fast)
        line32.run([line32.wtkms, "--config", write_config(tmp_path / "good.conf", good),
                    "keys", "init", "--home", home])
        if fp is not None:
            fp.reset()
        bad = dict(good)
        if cls == "key_state":
            az.set_enabled(name, v1, False)
        elif cls == "access_denied":
            bad = az.settings(name, app="norole", **fast)
        elif cls == "credentials_rejected":
            bad["client_secret_file"] = write_private(tmp_path / "wrong.secret", "not-it\n")
        elif cls in ("unavailable", "malformed"):
            fp.fault("503" if cls == "unavailable" else "garbage_body")
        elif cls == "unreachable":
            bad["vault_url"] = "https://127.0.0.1:%d" % stack.enter_context(
                exit_classes.ClosedPort()).port
        elif cls == "tls":
            bad["ca_file"] = "/etc/ssl/certs/ca-certificates.crt"
        elif cls == "wrong_key":
            other = "wt-" + uuid.uuid4().hex[:8]
            az.create_key(other)
            bad["key_name"] = other
        p, before, after = exit_classes.run_class(line32, tmp_path, home, bad, cls, az.calls)
    exit_classes.check_class(p, cls, CLASS_WORDS, before, after, fp)


def test_token_service_outage_is_not_a_credential_refusal(line32, azure, azenv, tmp_path,
                                                          scripted):
    """Entra ID answering 503: retried, then reported as an outage (exit 3, retry later), not as
    a refused secret."""
    cert, key = make_cert(tmp_path, "login", "IP:127.0.0.1")
    down = scripted(lambda *a: (503, {"Content-Type": "application/json"},
                                b'{"error": "temporarily_unavailable"}'), tls=(cert, key))
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(azure.cert.read_text() + cert.read_text())
    name = "wt-" + uuid.uuid4().hex[:8]
    azure.create_key(name)
    home = tmp_path / "db"
    home.mkdir()
    cfg = write_config(tmp_path / "c.conf", azure.settings(
        name, authority_host=down.url, ca_file=bundle, max_retries=2, retry_base_ms=20))
    p = line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home], check=False)
    assert p.returncode == 3, p.stderr
    assert "token service at %s failed after 3 attempts (HTTP 503" % down.url in p.stderr
    assert "retry later" in p.stderr and "check tenant_id" not in p.stderr, p.stderr
    assert len(down.requests) == 3


@pytest.mark.parametrize("flavor", ["imds", "app_service", "app_service_query"])
def test_identity_requests_have_no_empty_query_fields(line32, azenv, tmp_path, monkeypatch,
                                                      scripted, flavor):
    """The token request carries api-version, resource (and client_id) and no empty field: no
    "?&", "&&" or trailing "&" (a strict server refuses them). The endpoint's own query, if any,
    is kept."""
    token = {"access_token": "t0k", "expires_in": 3600}
    ep = scripted(lambda *a: (200, {"Content-Type": "application/json"},
                              json.dumps(token).encode()))
    if flavor == "imds":
        monkeypatch.setenv("IMDS_ENDPOINT", ep.url)
    else:
        monkeypatch.setenv("IDENTITY_ENDPOINT", ep.url + ("/msi/token?x=1" if flavor.endswith(
            "query") else "/msi/token"))
        monkeypatch.setenv("IDENTITY_HEADER", "hdr")
    cfg = write_config(tmp_path / "c.conf", {
        "provider": "azure", "vault_url": "https://127.0.0.1:%d" % free_port(), "key_name": "k",
        "managed_identity_client_id": "cid", "max_retries": 0, "deadline_ms": 3000})
    home = tmp_path / "db"
    home.mkdir()
    line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home], check=False)
    assert ep.requests, "no token request was made"
    path = ep.requests[0]["path"]
    query = path.split("?", 1)[1]
    assert "&&" not in path and "?&" not in path and not path.endswith("&"), path
    fields = [f.split("=", 1)[0] for f in query.split("&")]
    assert all(fields), path
    assert "api-version" in fields and "resource" in fields and "client_id" in fields, path
    if flavor == "app_service_query":
        assert fields[0] == "x", path


def test_access_token_with_line_break_refused(line32, azenv, tmp_path, monkeypatch, scripted):
    """A managed-identity endpoint that answers a token carrying CR/LF: refused before it goes
    into an Authorization header (the vault never sees a request)."""
    ep = scripted(lambda *a: (200, {"Content-Type": "application/json"}, json.dumps(
        {"access_token": "abc\r\nX-Injected: 1", "expires_in": 3600}).encode()))
    vault = scripted(lambda *a: (500, {}, b""))
    monkeypatch.setenv("IMDS_ENDPOINT", ep.url)
    cfg = write_config(tmp_path / "c.conf", {
        "provider": "azure", "vault_url": vault.url.replace("http:", "https:"), "key_name": "k",
        "max_retries": 0})
    home = tmp_path / "db"
    home.mkdir()
    p = line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home], check=False)
    assert p.returncode == 1 and "control characters" in p.stderr, p.stderr
    assert vault.requests == []


def test_snapshot_restore_checks_the_keystore_key(line32, azure, azenv, tmp_path):
    """A "Not enabled" snapshot of a home whose keystore is under a Key Vault key: with that key
    version disabled, restore and verify stop with Key Vault's reason before writing anything;
    enabled again, the restored home opens with plain wt (no -R) and every row reads."""
    name = "wt-" + uuid.uuid4().hex[:8]
    v1 = azure.create_key(name)
    cfg = write_config(tmp_path / "wtkms.conf", azure.settings(name))
    home = tmp_path / "db"
    make_db(line32, home, cfg)
    store = tmp_path / "store"
    p = line32.run([line32.wtkms, "--config", cfg, "snapshot", "create", "--home", home,
                    "--store", store, "--no-encryption", "--json"])
    sid = json.loads(p.stdout)["id"]
    target = tmp_path / "restored"
    azure.set_enabled(name, v1, False)
    for cmd in (["restore", sid, "--to", target], ["verify", sid]):
        p = line32.run([line32.wtkms, "--config", cfg, "snapshot", *cmd, "--store", store,
                        "--allow-unencrypted"], check=False)
        assert p.returncode == 3, (cmd, p.stderr)
        assert "keystore master key" in p.stderr and "is disabled" in p.stderr, p.stderr
        assert "nothing was written" in p.stderr
    assert not target.exists()
    azure.set_enabled(name, v1, True)
    line32.run([line32.wtkms, "--config", cfg, "snapshot", "restore", sid, "--store", store,
                "--to", target, "--allow-unencrypted"])
    assert_all_rows(read_all(line32, target, cfg))
