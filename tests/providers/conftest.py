# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by the provider tests (tests/providers/): the fault proxy, the secret-leak
scan, and the AWS peers (moto with signature checks on, our KMS/STS/metadata mock).

Peers run on 127.0.0.1 only, on ports picked here, and are stopped afterwards; a peer that cannot
start fails the test (tests/conftest.py `peer`). Other providers add their fixtures below their
own heading.
"""
import contextlib
import importlib.util
import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("wtkms_tests_conftest_top", HERE.parent / "conftest.py")
top = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(top)

REPO = top.REPO
free_port = top.free_port
peer = top.peer
wait_port = top.wait_port
PEERS = REPO / "tests" / "peers"
VENV_BIN = REPO / ".venv" / "bin"
PY = VENV_BIN / "python"


# --- generic helpers ------------------------------------------------------------------------

def http_json(url, method="GET", data=None, timeout=10):
    """Call a peer's JSON admin endpoint (TLS peers use certificates the test made: not
    verified here, this is the test talking to its own peer)."""
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    ctx = ssl._create_unverified_context() if url.startswith("https:") else None
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
        raw = r.read()
    return json.loads(raw) if raw else {}


def write_private(path, text):
    """A file only its owner can read (credentials files, tokens)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def assert_no_secret(roots, secrets, exclude=(), texts=()):
    """Every file under roots, and every text given (captured output), must not contain any of
    the secrets (exact bytes). exclude: files that are meant to hold them (credentials files)."""
    secrets = [s.encode() if isinstance(s, str) else s for s in secrets if s]
    exclude = {Path(e).resolve() for e in exclude}
    scanned = 0
    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for p in files:
            if p.resolve() in exclude or p.is_symlink():
                continue
            data = p.read_bytes()
            scanned += 1
            for s in secrets:
                assert s not in data, "secret found in %s" % p
    for t in texts:
        for s in secrets:
            assert s not in (t.encode() if isinstance(t, str) else t), "secret found in output"
    return scanned


class FaultProxy:
    """A running tests/peers/faultproxy.py."""

    def __init__(self, port, tls):
        self.port = port
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", port)

    def stats(self):
        return http_json(self.url + "/_stats")

    def fault(self, mode, count=-1, delay=0):
        http_json(self.url + "/_fault", "POST", {"mode": mode, "count": count, "delay": delay})

    def reset(self):
        http_json(self.url + "/_reset", "POST", {})

    def calls(self, target):
        """How many requests carried X-Amz-Target: target (e.g. "TrentService.Decrypt")."""
        return self.stats()["by_target"].get(target, 0)


@pytest.fixture
def faultproxy(tmp_path):
    """Factory: faultproxy(upstream=URL, tls=(cert, key)) -> FaultProxy, stopped at teardown."""
    with contextlib.ExitStack() as stack:
        def start(upstream="", tls=None):
            port = free_port()
            cmd = [PY, PEERS / "faultproxy.py", "--port", port]
            if upstream:
                cmd += ["--upstream", upstream]
            if tls:
                cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
            stack.enter_context(peer(cmd, port, tmp_path / ("faultproxy-%d.log" % port)))
            fp = FaultProxy(port, bool(tls))
            fp.reset()  # forget the readiness probe's connection
            return fp
        yield start


def make_cert(directory, name, san):
    """A self-signed certificate (its own CA) for host names / IPs in san, e.g.
    "IP:127.0.0.1" or "DNS:example.com". Returns (cert, key)."""
    directory = Path(directory)
    cert, key = directory / (name + ".pem"), directory / (name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=wtkms test %s" % name, "-addext", "subjectAltName=" + san,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


# --- AWS ------------------------------------------------------------------------------------

AWS_REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """No AWS settings from the machine: every credential source a test uses is explicit. HOME
    points at an empty directory (no ~/.aws), instance metadata is off unless a test turns it on."""
    for k in list(os.environ):
        if k.startswith("AWS_") or k.lower() in ("http_proxy", "https_proxy", "all_proxy",
                                                 "no_proxy"):
            monkeypatch.delenv(k, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home


class Moto:
    """A moto server with signature checks on, an IAM user made through its IAM API, a KMS key."""

    def __init__(self, port, log):
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.log = log
        self.account = "123456789012"

    def client(self, service, access_key=None, secret=None, token=None):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name=AWS_REGION,
                            aws_access_key_id=access_key or self.access_key,
                            aws_secret_access_key=secret or self.secret,
                            aws_session_token=token)

    def credentials_file(self, path, profile="default", access_key=None, secret=None, token=None):
        text = "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (
            profile, access_key or self.access_key, secret or self.secret)
        if token:
            text += "aws_session_token = %s\n" % token
        return write_private(path, text)

    def new_key(self):
        return self.client("kms").create_key(Description="wtkms test")["KeyMetadata"]


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """moto_server on 127.0.0.1 with INITIAL_NO_AUTH_ACTION_COUNT=0 (every request's SigV4
    signature is checked against IAM). Bootstrap: moto's own reset-auth endpoint allows exactly
    three unsigned calls (CreateUser, PutUserPolicy, CreateAccessKey); everything after is signed
    with the access key they made. A request with a wrong secret must then fail, or the fixture
    fails: the tests would prove nothing about signing otherwise."""
    import boto3
    from botocore.exceptions import ClientError

    d = tmp_path_factory.mktemp("moto")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    with peer([VENV_BIN / "moto_server", "-H", "127.0.0.1", "-p", port], port, d / "moto.log",
              env=env) as proc:
        m = Moto(port, d / "moto.log")
        m.proc = proc
        http_json(m.url + "/moto-api/reset-auth", "POST", 3)
        boot = boto3.client("iam", endpoint_url=m.url, region_name=AWS_REGION,
                            aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        boot.create_user(UserName="wtkms-admin")
        boot.put_user_policy(UserName="wtkms-admin", PolicyName="admin", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["kms:*", "iam:*", "sts:*"], "Resource": "*"}]}))
        k = boot.create_access_key(UserName="wtkms-admin")["AccessKey"]
        m.access_key, m.secret = k["AccessKeyId"], k["SecretAccessKey"]
        try:
            m.client("kms", secret="not-the-secret").list_keys()
            pytest.fail("moto accepted a request signed with a wrong secret: signature checks "
                        "are off, the AWS tests would prove nothing")
        except ClientError:
            pass
        iam = m.client("iam")
        # A role for role_arn= (AssumeRole with an external id) and a user who may not Decrypt.
        iam.create_role(RoleName="wtkms-role", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"AWS": "arn:aws:iam::%s:user/wtkms-admin" % m.account}}]}))
        iam.put_role_policy(RoleName="wtkms-role", PolicyName="kms", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
                 "Resource": "*"}]}))
        m.role_arn = "arn:aws:iam::%s:role/wtkms-role" % m.account
        iam.create_role(RoleName="wtkms-untrusted", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}]}))
        m.untrusted_role_arn = "arn:aws:iam::%s:role/wtkms-untrusted" % m.account
        iam.create_user(UserName="wtkms-encrypt-only")
        iam.put_user_policy(UserName="wtkms-encrypt-only", PolicyName="enc", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": "*"}]}))
        k2 = iam.create_access_key(UserName="wtkms-encrypt-only")["AccessKey"]
        m.limited = (k2["AccessKeyId"], k2["SecretAccessKey"])
        m.secrets = [m.secret, k2["SecretAccessKey"]]
        yield m


class AwsMock:
    """A running tests/peers/aws_kms_mock.py with one user and helpers."""

    def __init__(self, port, access_key, secret):
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.access_key = access_key
        self.secret = secret

    def client(self, service="kms"):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name=AWS_REGION,
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret)

    def credentials_file(self, path, profile="default"):
        return write_private(path, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                             % (profile, self.access_key, self.secret))

    def stats(self):
        return http_json(self.url + "/_admin/stats")

    def reset_stats(self):
        http_json(self.url + "/_admin/reset-stats", "POST", {})

    def delete_key(self, key_id):
        http_json(self.url + "/_admin/delete-key?key=" + key_id, "POST", {})


@pytest.fixture
def aws_mock(tmp_path):
    """Factory: aws_mock(**options) -> AwsMock. Options: web_identity_token (str),
    serve_creds (dict AccessKeyId/SecretAccessKey/Token), serve_expiration (s), ecs_token."""
    with contextlib.ExitStack() as stack:
        def start(web_identity_token=None, serve_creds=None, serve_expiration=None,
                  ecs_token=None):
            port = free_port()
            d = tmp_path / ("awsmock-%d" % port)
            d.mkdir()
            ak = "AKIA" + os.urandom(8).hex().upper()
            secret = os.urandom(30).hex()
            users = write_private(d / "users.json", json.dumps(
                {ak: {"secret": secret, "token": None, "allow": ["kms:*", "sts:AssumeRole"]}}))
            cmd = [PY, PEERS / "aws_kms_mock.py", "--port", port, "--users", users,
                   "--region", AWS_REGION]
            if web_identity_token:
                cmd += ["--web-identity-token-file",
                        write_private(d / "web-token", web_identity_token)]
            if serve_creds:
                cmd += ["--serve-creds", write_private(d / "serve.json", json.dumps(serve_creds))]
            if serve_expiration is not None:
                cmd += ["--serve-expiration", serve_expiration]
            if ecs_token:
                cmd += ["--ecs-token", ecs_token]
            stack.enter_context(peer(cmd, port, d / "mock.log"))
            return AwsMock(port, ak, secret)
        yield start


# --- a scripted HTTP(S) service ---------------------------------------------------------------

class Scripted:
    """A tiny HTTP(S) server on 127.0.0.1 that answers what the test says and records what it
    was asked: for services that lie (a token with CR/LF, an endless listing, a 503 forever).
    answer(method, path, headers, body) -> (status, {header: value}, body bytes)."""

    def __init__(self, answer, tls=None):
        import http.server
        import threading

        outer = self
        self.requests = []
        self.answer = answer

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer.requests.append({"method": self.command, "path": self.path,
                                       "headers": dict(self.headers.items()), "body": body})
                status, hdrs, data = outer.answer(self.command, self.path, self.headers, body)
                self.send_response(status)
                for k, v in (hdrs or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted():
    """Factory: scripted(answer, tls=(cert, key)) -> Scripted, stopped at teardown."""
    servers = []

    def start(answer, tls=None):
        s = Scripted(answer, tls)
        servers.append(s)
        return s
    yield start
    for s in servers:
        s.close()
