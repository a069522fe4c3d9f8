# SPDX-License-Identifier: Apache-2.0
"""The kmip provider against a real KMIP server: PyKMIP's, with mutual TLS and certificates this
test makes.

On both WiredTiger lines: an encrypted database under a KMIP key closes, reopens and reads back
every row; a Pre-Active key is refused until it is activated; a revoked key (Deactivated,
Compromised) and a destroyed key are refused with the state named, and a Deactivated key whose
state the administrator restores opens again; `wtkms keys rotate` moves the database to a new KMIP
key with no data file changed, after which the old key no longer opens it; KMIP calls are counted
at the server: one request message per open, none per byte written. The client's private key never
appears in any file or output of the run. Transport faults (refused, a server that never answers,
one that answers garbage, an untrusted server certificate) end in bounded time with the cause named.
"""
import contextlib
import datetime
import json
import os
import re
import signal
import socket
import sqlite3
import ssl
import threading
import time
import warnings
from pathlib import Path

import pytest

import exit_classes

from conftest import REPO, assert_no_secret, free_port, peer
from wtdb import (ROWS, assert_all_rows, conn, data_files, make_db, pem_body_lines, read_all,
                  write_config)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # PyKMIP imports ciphers that cryptography deprecates
    from kmip.core import enums
    from kmip.pie.client import ProxyKmipClient

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PYKMIP_SERVER = REPO / ".venv" / "bin" / "pykmip-server"


# ---------------------------------------------------------------------------------------------
# Certificates: a CA, the server's certificate for 127.0.0.1, the client's (clientAuth; its common
# name is the identity PyKMIP records as the owner of the keys it creates).

def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(subject_cn, key, issuer_cn, issuer_key, ca=False, san_ip=None, eku=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False,
                                          encipher_only=False, decipher_only=False), critical=True)
    if san_ip:
        import ipaddress
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip))]),
                            critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write_key(path, key):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _load(d):
    ca = x509.load_pem_x509_certificate((d / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key((d / "ca.key").read_bytes(), None)
    return ca, key


def issue_client(pki, cn, out):
    """A client certificate from the test CA, for identity cn, into directory out."""
    out.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _load(pki)
    ca_cn = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    key = _key()
    cert = _cert(cn, key, ca_cn, ca_key, eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    (out / "client.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(out / "client.key", key)
    return out


def make_pki(d, ca_cn="wtkms test CA"):
    d.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _cert(ca_cn, ca_key, ca_cn, ca_key, ca=True)
    skey = _key()
    scert = _cert("127.0.0.1", skey, ca_cn, ca_key, san_ip="127.0.0.1",
                  eku=ExtendedKeyUsageOID.SERVER_AUTH)
    (d / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(d / "ca.key", ca_key)
    (d / "server.pem").write_bytes(scert.public_bytes(serialization.Encoding.PEM))
    _write_key(d / "server.key", skey)
    issue_client(d, "wtkms-client", d)
    return d


# ---------------------------------------------------------------------------------------------
# The KMIP server, one per module, and an administrator's client to it.

class KmipServer:
    def __init__(self, port, pki, log, db):
        self.port, self.pki, self.log, self.db = port, pki, log, db

    def admin(self):
        return ProxyKmipClient(hostname="127.0.0.1", port=self.port,
                               cert=str(self.pki / "client.pem"), key=str(self.pki / "client.key"),
                               ca=str(self.pki / "ca.pem"), ssl_version="PROTOCOL_TLSv1_2",
                               kmip_version=enums.KMIPVersion.KMIP_1_4)

    def create_key(self, activate=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with self.admin() as c:
                uid = c.create(enums.CryptographicAlgorithm.AES, 256,
                               cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                                         enums.CryptographicUsageMask.DECRYPT])
                if activate:
                    c.activate(uid)
        return uid

    def activate(self, uid):
        with self.admin() as c:
            c.activate(uid)

    def revoke(self, uid, compromised=False):
        with self.admin() as c:
            if compromised:
                c.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid,
                         compromise_occurrence_date=int(time.time()))
            else:
                c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)

    def destroy(self, uid):
        with self.admin() as c:
            c.destroy(uid)

    def state(self, uid):
        with self.admin() as c:
            _, attrs = c.get_attributes(uid, ["State"])
        return attrs[0].attribute_value.value

    def restore_active(self, uid):
        """What a KMIP administrator does out of band: KMIP itself has no operation that makes a
        Deactivated key Active again, so set the state in the server's own store."""
        with sqlite3.connect(self.db) as c:
            c.execute("UPDATE crypto_objects SET state=? WHERE uid=?",
                      (enums.State.ACTIVE.value, int(uid)))

    def counts(self):
        """Connections, request messages and operations the server has logged so far."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        ops = {}
        for m in re.finditer(r"Processing operation: (\w+)", text):
            ops[m.group(1)] = ops.get(m.group(1), 0) + 1
        return {"connections": text.count("Receiving incoming connection"),
                "requests": text.count("Received request at time"), "ops": ops}


@pytest.fixture(scope="module")
def kmip(tmp_path_factory):
    if not PYKMIP_SERVER.exists():
        pytest.fail("PyKMIP is not installed in .venv: run scripts/setup-tests.sh")
    d = tmp_path_factory.mktemp("kmip")
    pki = make_pki(d / "pki")
    (d / "policies").mkdir()
    port = free_port()
    conf = d / "server.conf"
    conf.write_text("\n".join([
        "[server]", "hostname=127.0.0.1", "port=%d" % port,
        "certificate_path=%s" % (pki / "server.pem"), "key_path=%s" % (pki / "server.key"),
        "ca_path=%s" % (pki / "ca.pem"), "auth_suite=TLS1.2", "policy_path=%s" % (d / "policies"),
        "enable_tls_client_auth=True", "logging_level=DEBUG", "database_path=%s" % (d / "kmip.db"),
        ""]))
    log = d / "server.log"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    with peer([PYKMIP_SERVER, "-f", conf, "-l", log], port, d / "server.out", env=env) as proc:
        try:
            yield KmipServer(port, pki, log, d / "kmip.db")
        finally:
            # PyKMIP's server starts helper processes (a multiprocessing manager, the policy
            # monitor) that outlive it when only it is stopped; they are in its process group
            # (the peer runs in a session of its own), so stop the group.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---------------------------------------------------------------------------------------------
# Helpers: config files, databases.

def kmip_config(path, server, uid, **extra):
    settings = {"provider": "kmip", "endpoint": "127.0.0.1:%d" % server.port, "key_id": uid,
                "ca_file": server.pki / "ca.pem", "client_cert_file": server.pki / "client.pem",
                "client_key_file": server.pki / "client.key", "max_retries": 1,
                "deadline_ms": 20000}
    settings.update(extra)
    return write_config(path, settings)


def assert_no_leak(root, outputs, secret_path):
    """The client's private key (its base64 lines) in no file under root but itself, and in no
    output."""
    assert_no_secret([root], pem_body_lines(secret_path), exclude=[secret_path], texts=outputs)


# ---------------------------------------------------------------------------------------------
# Tests.

def test_roundtrip_calls_rotate_and_no_leak(wtline, kmip, tmp_path):
    uid = kmip.create_key()
    cfg = kmip_config(tmp_path / "wtkms.conf", kmip, uid)
    home = tmp_path / "db"
    outputs = []

    before = kmip.counts()
    make_db(wtline, home, cfg)  # two opens: create, write
    p = read_all(wtline, home, cfg)  # a third
    outputs += [p.stdout, p.stderr]
    assert_all_rows(p)
    after = kmip.counts()
    # Each open is one TLS connection carrying one request message: GetAttributes + Decrypt,
    # except the creating open, whose one message is GetAttributes + Encrypt.
    assert after["connections"] - before["connections"] == 3
    assert after["requests"] - before["requests"] == 3
    assert after["ops"].get("Decrypt", 0) - before["ops"].get("Decrypt", 0) == 2
    assert after["ops"].get("Encrypt", 0) - before["ops"].get("Encrypt", 0) == 1
    assert (after["ops"].get("GetAttributes", 0) - before["ops"].get("GetAttributes", 0)) == 3

    st = wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--json"])
    assert '"provider" : "kmip"' in st.stdout and '"key_id" : "%s"' % uid in st.stdout

    # Rotate to a new KMIP key: one unwrap under the old, one wrap under the new; no data file
    # changes.
    uid2 = kmip.create_key()
    before_files = data_files(home)
    before = kmip.counts()
    p = wtline.run([wtline.wtkms, "--config", cfg, "keys", "rotate", "--home", home,
                    "--new-provider", "kmip", "--new-endpoint", "127.0.0.1:%d" % kmip.port,
                    "--new-key-id", uid2, "--new-ca-file", kmip.pki / "ca.pem",
                    "--new-client-cert-file", kmip.pki / "client.pem",
                    "--new-client-key-file", kmip.pki / "client.key"])
    outputs += [p.stdout, p.stderr]
    assert "kmip:%s -> kmip:%s" % (uid, uid2) in p.stdout
    after = kmip.counts()
    assert after["requests"] - before["requests"] == 2
    assert data_files(home) == before_files

    cfg2 = kmip_config(tmp_path / "wtkms2.conf", kmip, uid2)
    p = read_all(wtline, home, cfg2)
    outputs += [p.stdout, p.stderr]
    assert_all_rows(p)
    # The old key no longer opens the home: the configuration names another key.
    p = read_all(wtline, home, cfg, check=False)
    outputs += [p.stdout, p.stderr]
    assert p.returncode != 0
    assert "kmip %s" % uid in p.stderr and "kmip %s" % uid2 in p.stderr

    assert_no_leak(tmp_path, outputs, kmip.pki / "client.key")
    assert_no_leak(kmip.log.parent, [], kmip.pki / "client.key")


def test_no_calls_per_byte_written(wtline, kmip, tmp_path):
    """One open writing many megabytes makes one KMIP request, the same as an open that reads."""
    uid = kmip.create_key()
    cfg = kmip_config(tmp_path / "wtkms.conf", kmip, uid)
    home = tmp_path / "db"
    make_db(wtline, home, cfg, n=10)
    mb = int(os.environ.get("WTKMS_KMIP_WRITE_MB", "16"))
    # A dump of the table is a load file; append rows of ~1 KiB until it holds mb megabytes.
    head = read_all(wtline, home, cfg).stdout.split("Data\n", 1)[0] + "Data\n"
    load = tmp_path / "load.dump"
    value = "x" * 1000
    with open(load, "w") as f:
        f.write(head)
        for i in range(mb * 1024):
            f.write("big%08d\\00\n%s\\00\n" % (i, value))
    before = kmip.counts()
    wtline.wtcmd(home, conn(wtline, cfg), "load", "-f", load)
    after = kmip.counts()
    size = sum(p.stat().st_size for p in home.iterdir() if p.is_file())
    assert size > mb * 1024 * 1024 * 0.9
    assert after["requests"] - before["requests"] == 1
    assert after["ops"].get("Decrypt", 0) - before["ops"].get("Decrypt", 0) == 1
    assert after["ops"].get("Encrypt", 0) - before["ops"].get("Encrypt", 0) == 0


def test_key_states(wtline, kmip, tmp_path):
    # Pre-Active: refused with its state named until it is activated.
    uid = kmip.create_key(activate=False)
    cfg = kmip_config(tmp_path / "pre.conf", kmip, uid)
    home = tmp_path / "db"
    home.mkdir()
    p = wtline.wtcmd(home, conn(wtline, cfg, create=True), "list", check=False)
    assert p.returncode != 0
    assert "KMIP key %s on 127.0.0.1:%d is Pre-Active" % (uid, kmip.port) in p.stderr
    assert "activate it" in p.stderr
    assert not (home / "wtkms.keystore").exists()
    kmip.activate(uid)
    make_db(wtline, home, cfg)  # the same home: the refused open left nothing in the way
    assert_all_rows(read_all(wtline, home, cfg))

    # Revoked (cessation of operation): Deactivated. Refused by name, even though KMIP would let
    # a server decrypt under it; the administrator restoring the state opens it again.
    kmip.revoke(uid)
    assert kmip.state(uid) == enums.State.DEACTIVATED
    p = read_all(wtline, home, cfg, check=False)
    assert p.returncode != 0
    assert "KMIP key %s on 127.0.0.1:%d is Deactivated (revoked)" % (uid, kmip.port) in p.stderr
    assert "KMIP administrator" in p.stderr
    st = wtline.run([wtline.wtkms, "--config", cfg, "keys", "status", "--home", home, "--verify"],
                    check=False)
    assert st.returncode == 3 and "Deactivated" in st.stderr
    kmip.restore_active(uid)
    assert_all_rows(read_all(wtline, home, cfg))

    # Compromised.
    kmip.revoke(uid, compromised=True)
    assert kmip.state(uid) == enums.State.COMPROMISED
    p = read_all(wtline, home, cfg, check=False)
    assert p.returncode != 0 and "is Compromised (revoked)" in p.stderr

    # Destroyed: PyKMIP removes the object, so the server answers Item Not Found.
    kmip.destroy(uid)
    p = read_all(wtline, home, cfg, check=False)
    assert p.returncode != 0
    assert "KMIP key %s does not exist on 127.0.0.1:%d" % (uid, kmip.port) in p.stderr
    assert "cannot be recovered" in p.stderr
    st = wtline.run([wtline.wtkms, "--config", cfg, "keys", "status", "--home", home, "--verify"],
                    check=False)
    assert st.returncode == 3


def test_untrusted_server_and_foreign_identity(wtline, kmip, tmp_path):
    uid = kmip.create_key()
    cfg = kmip_config(tmp_path / "a.conf", kmip, uid)
    home = tmp_path / "db"
    make_db(wtline, home, cfg)
    # A CA that did not issue the server's certificate: refused at once, never retried. Also a
    # CA of the same name but another key (a regenerated CA), which OpenSSL reports as a failed
    # handshake rather than a failed verification.
    for name in ("another CA", "wtkms test CA"):
        other = make_pki(tmp_path / name.replace(" ", "_"), ca_cn=name)
        p = read_all(wtline, home, kmip_config(tmp_path / "b.conf", kmip, uid,
                                               ca_file=other / "ca.pem"), check=False)
        assert p.returncode != 0
        assert "not trusted" in p.stderr and "ca_file" in p.stderr, p.stderr
        assert "after 1 attempt " in p.stderr
    # A client the server trusts but which does not own the key: the server's refusal, named.
    stranger = issue_client(kmip.pki, "someone-else", tmp_path / "stranger")
    p = read_all(wtline, home, kmip_config(tmp_path / "c.conf", kmip, uid,
                                           client_cert_file=stranger / "client.pem",
                                           client_key_file=stranger / "client.key"), check=False)
    assert p.returncode != 0
    assert ("KMIP server 127.0.0.1:%d refused GetAttributes on key %s (Permission Denied"
            % (kmip.port, uid)) in p.stderr
    assert "grant the identity of this client certificate" in p.stderr


def test_settings_checked(wtline, kmip, tmp_path):
    uid = kmip.create_key()
    home = tmp_path / "db"
    home.mkdir()
    cfg = kmip_config(tmp_path / "c.conf", kmip, uid)
    kmip_key = kmip.pki / "client.key"
    os.chmod(kmip_key, 0o644)
    try:
        p = wtline.run([wtline.wtkms, "--config", cfg, "keys", "init", "--home", home],
                       check=False)
    finally:
        os.chmod(kmip_key, 0o600)
    assert p.returncode != 0 and "chmod 600" in p.stderr and "client_key_file" in p.stderr
    for flags, words in [
        (["--endpoint", "https://127.0.0.1:5696"], "without a scheme"),
        (["--endpoint", "127.0.0.1:99999"], "port must be"),
    ]:
        p = wtline.run([wtline.wtkms, "--config", cfg, "keys", "init", "--home", home] + flags,
                       check=False)
        assert p.returncode == 2 and words in p.stderr, p.stderr
    # An inline secret is refused before anything else.
    p = wtline.run([wtline.wtkms, "--config", cfg, "keys", "init", "--home", home,
                    "--private-key", "x"], check=False)
    assert p.returncode == 2 and "secret" in p.stderr


# ---------------------------------------------------------------------------------------------
# Transport faults: each ends in bounded time with the cause named.

class FaultServer:
    """A TLS server on 127.0.0.1 (the KMIP server's certificate) that misbehaves."""

    def __init__(self, pki, mode):
        self.mode = mode
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = False
        self.conns = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            # One thread per connection: accept() stays prompt, so every attempt is counted.
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            s = self.ctx.wrap_socket(c, server_side=True)
            s.recv(8)
            if self.mode == "garbage":
                s.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"\xff" * 64)
                s.close()
            elif self.mode == "close":  # a server that is up but fails every request
                s.close()
            else:  # "hang": keep the connection open and say nothing
                self.conns.append(s)
        except (OSError, ssl.SSLError):
            c.close()

    def close(self):
        self.stop = True
        # shutdown() wakes the thread blocked in accept(); close() alone would not, and the next
        # server's socket could reuse the descriptor under it.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(10)
        for s in self.conns:
            s.close()


@pytest.mark.parametrize("mode", ["garbage", "hang", "refused"])
def test_transport_faults(line32, kmip, tmp_path, mode):
    home = tmp_path / "db"
    home.mkdir()
    fs = hold = None
    if mode == "refused":
        # A port bound but not listening: connections are refused, and no other process on this
        # machine can take the port meanwhile (free_port() alone would race).
        hold = socket.socket()
        hold.bind(("127.0.0.1", 0))
        port = hold.getsockname()[1]
    else:
        fs = FaultServer(kmip.pki, mode)
        port = fs.port
    cfg = kmip_config(tmp_path / "f.conf", kmip, "1", endpoint="127.0.0.1:%d" % port,
                      max_retries=2, timeout_ms=700, deadline_ms=5000, retry_base_ms=50)
    t0 = time.time()
    try:
        p = line32.run([line32.wtkms, "--config", cfg, "keys", "init", "--home", home],
                       check=False, timeout=60)
    finally:
        if fs:
            fs.close()
        if hold:
            hold.close()
    elapsed = time.time() - t0
    assert p.returncode != 0 and "127.0.0.1:%d" % port in p.stderr
    assert elapsed < 10
    if mode == "garbage":
        assert "not a KMIP message" in p.stderr
        assert fs.accepted == 1  # not retried: a server that is not KMIP will not become one
    elif mode == "hang":
        assert p.returncode == 3 and "did not answer in time" in p.stderr
        assert "3 attempts" in p.stderr and fs.accepted == 3
    else:
        assert p.returncode == 3 and "3 attempts" in p.stderr and "reachable" in p.stderr
    assert not (home / "wtkms.keystore").exists()


# ---------------------------------------------------------------------------------------------
# One exit code per failure class (docs/CLI.md, "Failure classes").

CLASS_WORDS = {
    "key_state": "is Deactivated (revoked)",
    "access_denied": "Permission Denied",
    "credentials_rejected": "refused this client certificate",
    "unavailable": "failed after 3 attempts",
    "unreachable": "failed after 3 attempts",
    "tls": "not trusted",
    "malformed": "not a KMIP message",
    "wrong_key": "is not the one this was made under",
}


@pytest.mark.parametrize("cls", sorted(exit_classes.CLASSES))
def test_exit_code_per_failure_class(line32, kmip, tmp_path, cls):
    uid = kmip.create_key()
    home = tmp_path / "db"
    home.mkdir()
    fast = dict(max_retries=2, retry_base_ms=20, timeout_ms=2000, deadline_ms=10000)
    line32.run([line32.wtkms, "--config", kmip_config(tmp_path / "good.conf", kmip, uid, **fast),
                "keys", "init", "--home", home])
    extra = dict(fast)
    fs = None
    with contextlib.ExitStack() as stack:
        if cls == "key_state":
            kmip.revoke(uid)
        elif cls == "access_denied":
            stranger = issue_client(kmip.pki, "someone-else", tmp_path / "stranger")
            extra.update(client_cert_file=stranger / "client.pem",
                         client_key_file=stranger / "client.key")
        elif cls == "credentials_rejected":
            # A client certificate from a CA the server does not trust: refused in the handshake.
            other = make_pki(tmp_path / "other", ca_cn="some other CA")
            extra.update(client_cert_file=other / "client.pem",
                         client_key_file=other / "client.key")
        elif cls in ("unavailable", "malformed"):
            fs = FaultServer(kmip.pki, "close" if cls == "unavailable" else "garbage")
            stack.callback(fs.close)
            extra["endpoint"] = "127.0.0.1:%d" % fs.port
        elif cls == "unreachable":
            extra["endpoint"] = "127.0.0.1:%d" % stack.enter_context(
                exit_classes.ClosedPort()).port
        elif cls == "tls":
            extra["ca_file"] = make_pki(tmp_path / "another", ca_cn="another CA") / "ca.pem"
        elif cls == "wrong_key":
            uid = kmip.create_key()
        # Another endpoint is another key to the keystore (refused before any call): a server
        # at another address is met by a new home's first wrap.
        if "endpoint" in extra:
            home = tmp_path / "new"
            home.mkdir()
            cmd = ["keys", "init", "--home", home]
        else:
            cmd = ["keys", "status", "--home", home, "--verify"]
        before = kmip.counts()["connections"]
        p = line32.run([line32.wtkms, "--config", kmip_config(tmp_path / "bad.conf", kmip, uid,
                                                              **extra)] + cmd,
                       check=False, timeout=60)
        if fs is not None:
            accepted = fs.accepted
    assert p.returncode == exit_classes.EXIT[cls], p.stderr
    assert CLASS_WORDS[cls] in p.stderr, p.stderr
    if cls in exit_classes.FINAL:
        assert "after 3 attempts" not in p.stderr, p.stderr
        if fs is not None:
            assert accepted == 1
        elif cls != "wrong_key":
            time.sleep(0.5)  # the server logs a connection a moment after it ends
            assert kmip.counts()["connections"] - before == 1, kmip.counts()
    elif fs is not None:
        assert accepted == 3


def test_snapshot_restore_checks_the_keystore_key(line32, kmip, tmp_path):
    """A "Not enabled" snapshot of a home whose keystore is under a KMIP key: revoked, it stops
    restore and verify with the server's state named before anything is written; restored to
    Active, the home restores and opens with plain wt (no -R)."""
    uid = kmip.create_key()
    cfg = kmip_config(tmp_path / "wtkms.conf", kmip, uid)
    home = tmp_path / "db"
    make_db(line32, home, cfg)
    store = tmp_path / "store"
    p = line32.run([line32.wtkms, "--config", cfg, "snapshot", "create", "--home", home,
                    "--store", store, "--no-encryption", "--json"])
    sid = json.loads(p.stdout)["id"]
    target = tmp_path / "restored"
    kmip.revoke(uid)
    for cmd in (["restore", sid, "--to", target], ["verify", sid]):
        p = line32.run([line32.wtkms, "--config", cfg, "snapshot", *cmd, "--store", store,
                        "--allow-unencrypted"], check=False)
        assert p.returncode == 3, (cmd, p.stderr)
        assert "keystore master key" in p.stderr and "Deactivated (revoked)" in p.stderr, p.stderr
        assert "nothing was written" in p.stderr
    assert not target.exists()
    kmip.restore_active(uid)
    line32.run([line32.wtkms, "--config", cfg, "snapshot", "restore", sid, "--store", store,
                "--to", target, "--allow-unencrypted"])
    assert_all_rows(read_all(line32, target, cfg))
