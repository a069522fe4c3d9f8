# SPDX-License-Identifier: Apache-2.0
"""The aws provider against real peers on 127.0.0.1, on both WiredTiger lines.

- moto server with signature checks on (keys made through its IAM): signing, the credential
  chain (credentials file, environment, shared file and profile, assumed role, instance and
  container credentials served by our metadata peer with moto-issued session credentials),
  access denied, a proxy, TLS with a test CA, KMS calls per open.
- tests/peers/aws_kms_mock.py (SigV4 checked with botocore) for what moto does not do: disabled
  keys, pending deletion, deleted keys, web identity, rotation with the old key disabled.
- tests/peers/faultproxy.py between us and the peer: delays, resets, throttling, 5xx, garbage;
  the proxy counts the attempts.
Every test ends with a scan of every file it produced (homes, WiredTiger.basecfg, keystores, peer
logs) and of every output it captured for the secrets it used.
"""
import contextlib
import json
import os
import re
import time
from pathlib import Path

import pytest

import exit_classes
from conftest import AWS_REGION, assert_no_secret, free_port, make_cert, write_private

ENC = "TrentService.Encrypt"
DEC = "TrentService.Decrypt"


def aws_settings(endpoint, key_id, creds=None, **extra):
    """The extension's / command's settings for provider=aws."""
    s = ['provider=aws', 'key_id="%s"' % key_id, "region=%s" % AWS_REGION,
         'endpoint="%s"' % endpoint]
    if creds is not None:
        s.append('credentials_file="%s"' % creds)
    for k, v in extra.items():
        s.append('%s="%s"' % (k, v))
    return ",".join(s)


def open_config(line, settings, create=False):
    parts = (["create"] if create else []) + [
        "log=(enabled=true)", line.ext_config(settings), "encryption=(name=wtkms,keyid=system)"]
    return ",".join(parts)


def rows(line, home, settings, action, first, count, create=False, check=True, env=None,
         timeout=120):
    prog = line.progs / "lines_rows"
    if not prog.exists():
        pytest.fail("%s is not built: run scripts/build.sh" % prog)
    return line.run([prog, home, open_config(line, settings, create), action, "t:system", first,
                     count], check=check, env=env, timeout=timeout)


def cli_flags(prefix, endpoint, key_id, creds=None, **extra):
    """The same settings as wtkms command flags (--key-id ..., or --new-key-id ...)."""
    f = ["--%sprovider" % prefix, "aws", "--%skey-id" % prefix, key_id,
         "--%sregion" % prefix, AWS_REGION, "--%sendpoint" % prefix, endpoint]
    if creds is not None:
        f += ["--%scredentials-file" % prefix, creds]
    for k, v in extra.items():
        f += ["--%s%s" % (prefix, k.replace("_", "-")), v]
    return f


class Leaks:
    """Collects the secrets a test used and the output it captured; scans at teardown."""

    def __init__(self, root):
        self.root = root
        self.secrets = []
        self.exclude = []
        self.outputs = []

    def secret(self, *s):
        self.secrets.extend(s)

    def holds(self, *paths):
        """Files that hold a secret on purpose (credentials files, the mock's user table)."""
        self.exclude.extend(paths)

    def out(self, p):
        self.outputs += [p.stdout or "", p.stderr or ""]
        return p


@pytest.fixture
def leaks(tmp_path):
    lk = Leaks(tmp_path)
    yield lk
    # Every file under the test's directory (homes, WiredTiger.basecfg, keystores, peer logs),
    # except those that hold a secret on purpose.
    excl = list(lk.exclude) + [p for p in tmp_path.rglob("users.json")] + \
        [p for p in tmp_path.rglob("serve.json")] + [p for p in tmp_path.rglob("web-token")]
    n = assert_no_secret([tmp_path], lk.secrets, exclude=excl, texts=lk.outputs)
    assert n > 0 or not lk.secrets


def kms_key(moto):
    md = moto.new_key()
    return md["KeyId"], md["Arn"]


# --- moto: signing, credentials, calls per open -----------------------------------------------

def test_roundtrip_one_kms_call_per_open(wtline, tmp_path, aws_env, moto, faultproxy, leaks):
    """Create, write, close, reopen, read every row; count KMS calls at the peer: the create
    costs one Encrypt, each later open one Decrypt, writing costs none."""
    key, arn = kms_key(moto)
    creds = moto.credentials_file(tmp_path / "aws-credentials")
    leaks.secret(moto.secret)
    leaks.holds(creds)
    fp = faultproxy(upstream=moto.url)
    s = aws_settings(fp.url, key, creds)
    home = tmp_path / "db"
    home.mkdir()

    leaks.out(rows(wtline, home, s, "write", 0, 200, create=True))
    st = fp.stats()["by_target"]
    assert (st.get(ENC, 0), st.get(DEC, 0)) == (1, 0), st
    leaks.out(rows(wtline, home, s, "verify", 0, 200))
    assert fp.calls(DEC) == 1

    # More data in one open: still exactly one Decrypt, no Encrypt, whatever the volume.
    # WTKMS_AWS_ROWS raises the volume for a measurement run (10 million rows ~ 1 GB of rows).
    n = int(os.environ.get("WTKMS_AWS_ROWS", "20000"))
    fp.reset()
    t0 = time.time()
    leaks.out(rows(wtline, home, s, "write", 200, n, timeout=120 + n // 5000))
    st = fp.stats()
    print("KMS calls for one open writing %d rows (%.1f MB of keys and values, table file %.1f "
          "MB, %.1f s): %s" % (n, n * 112 / 1e6, (home / "t.wt").stat().st_size / 1e6,
                               time.time() - t0, st["by_target"]))
    assert st["by_target"] == {DEC: 1}, st
    fp.reset()
    leaks.out(rows(wtline, home, s, "verify", 0, 200 + n, timeout=120 + n // 5000))
    assert fp.stats()["by_target"] == {DEC: 1}

    # The keystore records the key as configured and the ARN KMS answered; no cleartext rows.
    ks = json.loads(leaks.out(wtline.run([wtline.wtkms, "keys", "status", "--home", home,
                                          "--json"])).stdout)
    assert ks["master_key"]["provider"] == "aws"
    assert ks["master_key"]["key_id"] == key
    assert ks["master_key"]["key_version"] == arn
    assert ks["master_key"]["region"] == AWS_REGION
    for p in home.iterdir():
        if p.is_file():
            assert b"canary-value" not in p.read_bytes(), p


def test_alias_and_arn(wtline, tmp_path, aws_env, moto, leaks):
    """key_id may be an alias or an ARN; an ARN gives the region, so region= may be left out."""
    key, arn = kms_key(moto)
    moto.client("kms").create_alias(AliasName="alias/wtkms-%s" % key[:8], TargetKeyId=key)
    creds = moto.credentials_file(tmp_path / "c")
    leaks.secret(moto.secret)
    leaks.holds(creds)
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(moto.url, "alias/wtkms-%s" % key[:8], creds)
    leaks.out(rows(wtline, home, s, "write", 0, 10, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 10))
    home2 = tmp_path / "db2"
    home2.mkdir()
    s2 = 'provider=aws,key_id="%s",endpoint="%s",credentials_file="%s"' % (arn, moto.url, creds)
    leaks.out(rows(wtline, home2, s2, "write", 0, 10, create=True))
    leaks.out(rows(wtline, home2, s2, "verify", 0, 10))


def test_wrong_secret_fails_at_once_naming_the_source(wtline, tmp_path, aws_env, moto,
                                                      faultproxy, leaks):
    key, _ = kms_key(moto)
    good = moto.credentials_file(tmp_path / "good")
    bad = moto.credentials_file(tmp_path / "bad", secret="0" * 40)
    leaks.secret(moto.secret)
    leaks.holds(good, bad)
    fp = faultproxy(upstream=moto.url)
    home = tmp_path / "db"
    home.mkdir()
    leaks.out(rows(wtline, home, aws_settings(fp.url, key, good), "write", 0, 5, create=True))
    fp.reset()
    t0 = time.time()
    p = leaks.out(rows(wtline, home, aws_settings(fp.url, key, bad), "verify", 0, 5, check=False))
    assert p.returncode != 0
    assert "rejected the credentials from credentials file %s" % bad in p.stderr, p.stderr
    assert fp.calls(DEC) == 1, "an authentication failure must not be retried"
    assert time.time() - t0 < 10
    # The wrong secret is not a secret worth hiding, but the right one never shows.
    assert moto.secret not in p.stderr


def test_access_denied_names_the_permission(wtline, tmp_path, aws_env, moto, leaks):
    """A user allowed kms:Encrypt only: the database is created, reopening is denied."""
    key, _ = kms_key(moto)
    creds = moto.credentials_file(tmp_path / "c", access_key=moto.limited[0],
                                  secret=moto.limited[1])
    leaks.secret(moto.limited[1])
    leaks.holds(creds)
    home = tmp_path / "db"
    home.mkdir()
    leaks.out(rows(wtline, home, aws_settings(moto.url, key, creds), "write", 0, 5, create=True))
    p = leaks.out(rows(wtline, home, aws_settings(moto.url, key, creds), "verify", 0, 5,
                       check=False))
    assert p.returncode != 0
    assert "access denied" in p.stderr and "kms:Decrypt" in p.stderr, p.stderr


def test_environment_credentials(wtline, tmp_path, aws_env, moto, monkeypatch, leaks):
    key, _ = kms_key(moto)
    leaks.secret(moto.secret)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.secret)
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(moto.url, key)
    leaks.out(rows(wtline, home, s, "write", 0, 10, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 10))
    # Half a pair is an error that says so, not a silent fall-through to another source.
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    p = leaks.out(rows(wtline, home, s, "verify", 0, 10, check=False))
    assert p.returncode != 0 and "AWS_ACCESS_KEY_ID but not AWS_SECRET_ACCESS_KEY" in p.stderr
    # The configured credentials file comes first in the chain: wrong env credentials are unused.
    creds = moto.credentials_file(tmp_path / "c")
    leaks.holds(creds)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    leaks.out(rows(wtline, home, aws_settings(moto.url, key, creds), "verify", 0, 10))


def test_shared_credentials_file_and_profile(wtline, tmp_path, aws_env, moto, monkeypatch,
                                            leaks):
    key, _ = kms_key(moto)
    leaks.secret(moto.secret)
    shared = write_private(tmp_path / "shared", "[default]\naws_access_key_id = AKIAWRONG\n"
                           "aws_secret_access_key = wrong\n\n[prod]\naws_access_key_id = %s\n"
                           "aws_secret_access_key = %s\n" % (moto.access_key, moto.secret))
    leaks.holds(shared)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_PROFILE", "prod")
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(moto.url, key)
    leaks.out(rows(wtline, home, s, "write", 0, 10, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 10))
    # ~/.aws/credentials when no variable names a file; profile= in the settings wins.
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    monkeypatch.delenv("AWS_PROFILE")
    (aws_env / ".aws").mkdir()
    os.link(shared, aws_env / ".aws" / "credentials")
    leaks.holds(aws_env / ".aws" / "credentials")
    leaks.out(rows(wtline, home, aws_settings(moto.url, key, profile="prod"), "verify", 0, 10))
    # A profile that is asked for but absent is an error naming it.
    monkeypatch.setenv("AWS_PROFILE", "staging")
    p = leaks.out(rows(wtline, home, s, "verify", 0, 10, check=False))
    assert p.returncode != 0 and "AWS profile staging (from AWS_PROFILE)" in p.stderr, p.stderr


def test_assumed_role(wtline, tmp_path, aws_env, moto, faultproxy, leaks):
    """role_arn= on top of the chain: STS AssumeRole (signed with the user's key) at
    sts_endpoint=, then KMS with the role's session credentials (moto checks the token)."""
    key, _ = kms_key(moto)
    creds = moto.credentials_file(tmp_path / "c")
    leaks.secret(moto.secret)
    leaks.holds(creds)
    fp = faultproxy(upstream=moto.url)
    s = aws_settings(moto.url, key, creds, role_arn=moto.role_arn, external_id="wtkms-ext-1",
                     role_session_name="wtkms-test", sts_endpoint=fp.url)
    home = tmp_path / "db"
    home.mkdir()
    leaks.out(rows(wtline, home, s, "write", 0, 10, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 10))
    assert fp.stats()["by_target"] == {"POST /": 2}, "one AssumeRole per process"
    # A role we may not assume: the STS refusal is named.
    bad = aws_settings(moto.url, key, creds, role_arn=moto.untrusted_role_arn,
                       sts_endpoint=moto.url)
    p = leaks.out(rows(wtline, home, bad, "verify", 0, 10, check=False))
    assert p.returncode != 0 and "AWS STS AssumeRole" in p.stderr, p.stderr


def session_creds(moto):
    """Temporary credentials from moto's STS (a real session token moto will check)."""
    c = moto.client("sts").assume_role(RoleArn=moto.role_arn,
                                       RoleSessionName="instance")["Credentials"]
    return {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
            "Token": c["SessionToken"]}


def test_ec2_instance_metadata_imdsv2(wtline, tmp_path, aws_env, moto, aws_mock, monkeypatch,
                                      leaks):
    """IMDSv2 (token first, then role name and credentials) at AWS_EC2_METADATA_SERVICE_ENDPOINT,
    served by our peer with moto session credentials; KMS calls signed with the token."""
    key, _ = kms_key(moto)
    sc = session_creds(moto)
    leaks.secret(moto.secret, sc["SecretAccessKey"], sc["Token"])
    md = aws_mock(serve_creds=sc)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", md.url + "/")
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(moto.url, key)
    leaks.out(rows(wtline, home, s, "write", 0, 10, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 10))
    st = md.stats()
    assert st == {"IMDS:token": 2, "IMDS:credentials": 4}, st


def test_ecs_container_credentials(wtline, tmp_path, aws_env, moto, aws_mock, monkeypatch,
                                   leaks):
    key, _ = kms_key(moto)
    sc = session_creds(moto)
    ecs_token = "ecs-auth-" + os.urandom(8).hex()
    leaks.secret(moto.secret, sc["SecretAccessKey"], sc["Token"], ecs_token)
    md = aws_mock(serve_creds=sc, ecs_token=ecs_token)
    tokfile = write_private(tmp_path / "ecs-token", ecs_token + "\n")
    leaks.holds(tokfile)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", md.url + "/ecs/creds")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(tokfile))
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(moto.url, key)
    leaks.out(rows(wtline, home, s, "write", 0, 10, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 10))
    assert md.stats() == {"ECS:credentials": 2}
    # A wrong authorization token: refused, and said so.
    write_private(tokfile, "wrong-token")
    p = leaks.out(rows(wtline, home, s, "verify", 0, 10, check=False))
    assert p.returncode != 0 and "container credentials" in p.stderr and "HTTP 401" in p.stderr


def test_web_identity(wtline, tmp_path, aws_env, aws_mock, monkeypatch, leaks):
    """AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: AssumeRoleWithWebIdentity at sts_endpoint
    (our mock: moto cannot answer unsigned STS calls with its signature checks on)."""
    token = "eyJ-web-identity-" + os.urandom(12).hex()
    m = aws_mock(web_identity_token=token)
    key = m.client().create_key()["KeyMetadata"]["KeyId"]
    tokfile = write_private(tmp_path / "web-identity", token)
    leaks.secret(token, m.secret)
    leaks.holds(tokfile)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tokfile))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/eks-wtkms")
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(m.url, key, sts_endpoint=m.url)
    leaks.out(rows(wtline, home, s, "write", 0, 10, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 10))
    st = m.stats()
    assert st["STS:AssumeRoleWithWebIdentity"] == 2 and st["Decrypt"] == 1, st
    write_private(tokfile, "not-the-token")
    p = leaks.out(rows(wtline, home, s, "verify", 0, 10, check=False))
    assert p.returncode != 0 and "InvalidIdentityToken" in p.stderr, p.stderr


def test_no_credentials_anywhere(line32, tmp_path, aws_env, moto, leaks):
    key, _ = kms_key(moto)
    home = tmp_path / "db"
    home.mkdir()
    t0 = time.time()
    p = leaks.out(rows(line32, home, aws_settings(moto.url, key), "write", 0, 1, create=True,
                       check=False))
    assert p.returncode != 0 and "no AWS credentials found" in p.stderr, p.stderr
    assert time.time() - t0 < 10
    # Secrets are never accepted inline: the config string is logged and stored in clear.
    p = leaks.out(rows(line32, home, aws_settings(moto.url, key) + ",secret_access_key=abc",
                       "write", 0, 1, create=True, check=False))
    assert p.returncode != 0 and "would put a secret in a configuration" in p.stderr, p.stderr


# --- our mock: key states, rotation ----------------------------------------------------------

def test_key_states(wtline, tmp_path, aws_env, aws_mock, leaks):
    m = aws_mock()
    kms = m.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    creds = m.credentials_file(tmp_path / "c")
    leaks.secret(m.secret)
    leaks.holds(creds)
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(m.url, key, creds)
    leaks.out(rows(wtline, home, s, "write", 0, 50, create=True))

    kms.disable_key(KeyId=key)
    p = leaks.out(rows(wtline, home, s, "verify", 0, 50, check=False))
    assert p.returncode != 0
    assert "AWS KMS key %s (region %s, endpoint %s) is disabled: enable it" % (
        key, AWS_REGION, m.url) in p.stderr, p.stderr
    st = leaks.out(wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--verify"]
                              + cli_flags("", m.url, key, creds), check=False))
    assert st.returncode == 3 and "is disabled" in st.stderr, st.stderr

    kms.enable_key(KeyId=key)
    leaks.out(rows(wtline, home, s, "verify", 0, 50))

    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    p = leaks.out(rows(wtline, home, s, "verify", 0, 50, check=False))
    assert p.returncode != 0 and "is pending deletion: cancel the deletion" in p.stderr, p.stderr
    kms.cancel_key_deletion(KeyId=key)
    kms.enable_key(KeyId=key)
    leaks.out(rows(wtline, home, s, "verify", 0, 50))

    m.delete_key(key)
    p = leaks.out(rows(wtline, home, s, "verify", 0, 50, check=False))
    assert p.returncode != 0 and "does not exist" in p.stderr, p.stderr
    # Each failed open cost exactly one Decrypt: key-state errors are not retried.
    assert m.stats()["Decrypt"] == 6, m.stats()


def test_rotate_to_new_key(wtline, tmp_path, aws_env, aws_mock, leaks):
    """keys rotate --new-provider aws: one Decrypt under the old key, one Encrypt under the new;
    data files unchanged; the new key opens, the old one does not, even when re-enabled; the old
    key can be disabled without affecting the home."""
    m = aws_mock()
    kms = m.client()
    old = kms.create_key()["KeyMetadata"]["KeyId"]
    new = kms.create_key()["KeyMetadata"]
    creds = m.credentials_file(tmp_path / "c")
    leaks.secret(m.secret)
    leaks.holds(creds)
    home = tmp_path / "db"
    home.mkdir()
    leaks.out(rows(wtline, home, aws_settings(m.url, old, creds), "write", 0, 300, create=True))
    data = {p.name: p.read_bytes() for p in home.iterdir()
            if p.is_file() and p.name.endswith(".wt") and not p.name.startswith("WiredTiger")}
    assert data, "no data files"
    m.reset_stats()
    out = leaks.out(wtline.run([wtline.wtkms, "keys", "rotate", "--home", home, "--json"]
                               + cli_flags("", m.url, old, creds)
                               + cli_flags("new-", m.url, new["KeyId"], creds)))
    r = json.loads(out.stdout)
    assert r["to"] == "aws:%s@%s" % (new["KeyId"], new["Arn"]), r
    assert m.stats() == {"Decrypt": 1, "Encrypt": 1}, m.stats()
    for name, before in data.items():
        assert (home / name).read_bytes() == before, "%s was rewritten by rotation" % name

    kms.disable_key(KeyId=old)
    leaks.out(rows(wtline, home, aws_settings(m.url, new["KeyId"], creds), "verify", 0, 300))
    kms.enable_key(KeyId=old)
    p = leaks.out(rows(wtline, home, aws_settings(m.url, old, creds), "verify", 0, 300,
                       check=False))
    assert p.returncode != 0 and "this was made under AWS KMS key %s" % new["KeyId"] in p.stderr \
        and "configuration says key_id=%s" % old in p.stderr, p.stderr


def test_rotate_from_local_to_aws_and_back(wtline, tmp_path, aws_env, aws_mock, local_key, leaks):
    m = aws_mock()
    key = m.client().create_key()["KeyMetadata"]["KeyId"]
    creds = m.credentials_file(tmp_path / "c")
    leaks.secret(m.secret)
    leaks.holds(creds, local_key)
    home = tmp_path / "db"
    home.mkdir()
    local = 'provider=local,key_file="%s"' % local_key
    leaks.out(rows(wtline, home, local, "write", 0, 20, create=True))
    leaks.out(wtline.run([wtline.wtkms, "keys", "rotate", "--home", home, "--key-file", local_key]
                         + cli_flags("new-", m.url, key, creds)))
    leaks.out(rows(wtline, home, aws_settings(m.url, key, creds), "verify", 0, 20))
    p = leaks.out(rows(wtline, home, local, "verify", 0, 20, check=False))
    assert p.returncode != 0


# --- faults ------------------------------------------------------------------------------------

FAST = dict(max_retries="2", retry_base_ms="20", retry_cap_ms="100", timeout_ms="1500",
            connect_timeout_ms="1000", deadline_ms="8000")


@pytest.fixture
def fault_home(line32, tmp_path, aws_mock, faultproxy, leaks):
    """A home under a mock key, reached through a fault proxy; (line, home, settings, proxy)."""
    m = aws_mock()
    key = m.client().create_key()["KeyMetadata"]["KeyId"]
    creds = m.credentials_file(tmp_path / "c")
    leaks.secret(m.secret)
    leaks.holds(creds)
    fp = faultproxy(upstream=m.url)
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(fp.url, key, creds, **FAST)
    leaks.out(rows(line32, home, s, "write", 0, 5, create=True))
    fp.reset()
    return line32, home, s, fp


@pytest.mark.parametrize("mode,attempts,words", [
    ("throttle", 3, "throttled all 3 attempts (ThrottlingException)"),
    ("429", 3, "throttled all 3 attempts (HTTP 429)"),
    ("500", 3, "failed with HTTP 500 KMSInternalException after 3 attempts"),
    ("503", 3, "failed with HTTP 503 after 3 attempts"),
    ("reset", 3, "failed after 3 attempts"),
    ("close", 3, "failed after 3 attempts"),
    ("garbage_http", 3, "the answer was not HTTP"),
    ("garbage_body", 1, "body that is not JSON"),
    ("denied", 1, "access denied"),
])
def test_fault_bounded_retries_then_clear_error(aws_env, fault_home, leaks, mode, attempts,
                                                words):
    line, home, s, fp = fault_home
    fp.fault(mode)
    t0 = time.time()
    p = leaks.out(rows(line, home, s, "verify", 0, 5, check=False))
    took = time.time() - t0
    assert p.returncode != 0
    assert words in p.stderr, p.stderr
    assert fp.stats()["requests"] == attempts, fp.stats()
    assert took < 8, "took %.1f s" % took


def test_fault_delay_past_timeout(aws_env, fault_home, leaks):
    line, home, s, fp = fault_home
    fp.fault("delay", delay=5)
    t0 = time.time()
    p = leaks.out(rows(line, home, s, "verify", 0, 5, check=False))
    took = time.time() - t0
    assert p.returncode != 0 and "timed out" in p.stderr.lower(), p.stderr
    assert fp.stats()["requests"] == 3
    assert 3 * 1.5 - 0.5 < took < 8.5, "took %.1f s" % took


def test_fault_transient_then_success(wtline, tmp_path, aws_env, aws_mock, faultproxy, leaks):
    """Two throttles, then a normal answer: the open succeeds on the third attempt."""
    m = aws_mock()
    key = m.client().create_key()["KeyMetadata"]["KeyId"]
    creds = m.credentials_file(tmp_path / "c")
    leaks.secret(m.secret)
    leaks.holds(creds)
    fp = faultproxy(upstream=m.url)
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(fp.url, key, creds, **FAST)
    fp.fault("500", count=1)
    leaks.out(rows(wtline, home, s, "write", 0, 5, create=True))
    assert fp.calls(ENC) == 2
    fp.reset()
    fp.fault("throttle", count=2)
    leaks.out(rows(wtline, home, s, "verify", 0, 5))
    assert fp.calls(DEC) == 3 and m.stats()["Decrypt"] == 1


def test_unreachable_endpoint(line32, tmp_path, aws_env, moto, leaks):
    key, _ = kms_key(moto)
    creds = moto.credentials_file(tmp_path / "c")
    leaks.secret(moto.secret)
    leaks.holds(creds)
    home = tmp_path / "db"
    home.mkdir()
    port = free_port()
    p = leaks.out(rows(line32, home, aws_settings("http://127.0.0.1:%d" % port, key, creds, **FAST),
                       "write", 0, 1, create=True, check=False))
    assert p.returncode != 0
    assert "AWS KMS Encrypt to 127.0.0.1:%d failed after 3 attempts" % port in p.stderr, p.stderr


def settled(fp):
    """The proxy's counts once its threads have finished with a failed handshake (the client
    has already exited; the proxy's side of the failure is logged a moment later)."""
    deadline = time.time() + 3
    while True:
        st = fp.stats()
        if st["connections"] > 0 or time.time() > deadline:
            return st
        time.sleep(0.05)


def test_tls_certificate_checked(wtline, tmp_path, aws_env, moto, faultproxy, leaks):
    """TLS in front of moto with a test CA: untrusted -> clear error at once, no retry;
    ca_file= that CA -> works; a certificate for another host name -> refused at once."""
    key, _ = kms_key(moto)
    creds = moto.credentials_file(tmp_path / "c")
    leaks.secret(moto.secret)
    leaks.holds(creds)
    cert, ckey = make_cert(tmp_path, "good", "IP:127.0.0.1")
    fp = faultproxy(upstream=moto.url, tls=(cert, ckey))
    home = tmp_path / "db"
    home.mkdir()
    p = leaks.out(rows(wtline, home, aws_settings(fp.url, key, creds, **FAST), "write", 0, 5,
                       create=True, check=False))
    assert p.returncode != 0 and "TLS certificate is not trusted" in p.stderr, p.stderr
    st = settled(fp)
    assert st["connections"] == 1 and st["requests"] == 0, st

    s = aws_settings(fp.url, key, creds, ca_file=cert, **FAST)
    leaks.out(rows(wtline, home, s, "write", 0, 5, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 5))
    assert fp.calls(DEC) == 1

    other, okey = make_cert(tmp_path, "other", "DNS:kms.example.com")
    fp2 = faultproxy(upstream=moto.url, tls=(other, okey))
    p = leaks.out(rows(wtline, home, aws_settings(fp2.url, key, creds, ca_file=other, **FAST),
                       "verify", 0, 5, check=False))
    assert p.returncode != 0 and "not trusted for this host name" in p.stderr, p.stderr
    assert settled(fp2)["connections"] == 1

    # A CA of the same name but another key (a regenerated CA): libcurl reports a generic
    # handshake error, which must still be named a certificate failure and never retried.
    (tmp_path / "regen").mkdir()
    regen, _ = make_cert(tmp_path / "regen", "good", "IP:127.0.0.1")
    fp3 = faultproxy(upstream=moto.url, tls=(cert, ckey))
    p = leaks.out(rows(wtline, home, aws_settings(fp3.url, key, creds, ca_file=regen, **FAST),
                       "verify", 0, 5, check=False))
    assert p.returncode != 0 and "certificate" in p.stderr and "not retried" in p.stderr, p.stderr
    assert "after 1 attempt" in p.stderr, p.stderr
    assert settled(fp3)["connections"] == 1


def test_proxy_setting(wtline, tmp_path, aws_env, moto, faultproxy, leaks):
    key, _ = kms_key(moto)
    creds = moto.credentials_file(tmp_path / "c")
    leaks.secret(moto.secret)
    leaks.holds(creds)
    fp = faultproxy()  # forward mode: goes where the request line says
    home = tmp_path / "db"
    home.mkdir()
    s = aws_settings(moto.url, key, creds, proxy=fp.url)
    leaks.out(rows(wtline, home, s, "write", 0, 5, create=True))
    leaks.out(rows(wtline, home, s, "verify", 0, 5))
    assert fp.stats()["by_target"] == {ENC: 1, DEC: 1}
    p = leaks.out(rows(wtline, home, s.replace("proxy=\"http://", "proxy=\"http://u:p@"),
                       "verify", 0, 5, check=False))
    assert p.returncode != 0 and "proxy= carries credentials" in p.stderr


def test_credentials_refreshed_before_expiration(line32, tmp_path, aws_env, moto, aws_mock,
                                                 monkeypatch, leaks):
    """Container credentials expiring within the refresh window (10 minutes) are fetched again
    before the next call; long-lived ones are fetched once per process."""
    key, _ = kms_key(moto)
    sc = session_creds(moto)
    leaks.secret(moto.secret, sc["SecretAccessKey"], sc["Token"])
    home = tmp_path / "db"
    home.mkdir()
    for expiry, fetches in ((120, 2), (6 * 3600, 1)):
        md = aws_mock(serve_creds=sc, serve_expiration=expiry)
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", md.url + "/ecs/creds")
        if not (home / "wtkms.keystore").exists():
            leaks.out(rows(line32, home, aws_settings(moto.url, key), "write", 0, 5, create=True))
            md.reset_stats()
        # Rotation to the same key: one Decrypt and one Encrypt in one process.
        leaks.out(line32.run([line32.wtkms, "keys", "rotate", "--home", home]
                             + cli_flags("", moto.url, key)))
        assert md.stats() == {"ECS:credentials": fetches}, (expiry, md.stats())


def test_two_master_keys_either_opens(wtline, tmp_path, aws_env, aws_mock, local_key, leaks):
    """One keystore key under a local key and an AWS KMS key: with either one disabled or gone,
    the other opens the home; either can be rotated; status shows both."""
    m = aws_mock()
    kms = m.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    key2 = kms.create_key()["KeyMetadata"]["KeyId"]
    creds = m.credentials_file(tmp_path / "c")
    leaks.secret(m.secret)
    leaks.holds(creds, local_key)
    home = tmp_path / "db"
    home.mkdir()
    local = 'provider=local,key_file="%s"' % local_key
    leaks.out(rows(wtline, home, local, "write", 0, 50, create=True))
    p = leaks.out(wtline.run([wtline.wtkms, "keys", "add-master-key", "--home", home, "--json",
                              "--key-file", local_key] + cli_flags("new-", m.url, key, creds)))
    assert json.loads(p.stdout)["to"].startswith("aws:" + key)
    st = json.loads(wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--json"]).stdout)
    assert [k["key"]["provider"] for k in st["master_keys"]] == ["local", "aws"]

    # The AWS key disabled: the local key opens. The local key file gone: AWS opens.
    kms.disable_key(KeyId=key)
    p = leaks.out(rows(wtline, home, aws_settings(m.url, key, creds), "verify", 0, 50,
                       check=False))
    assert p.returncode != 0 and "disabled" in p.stderr, p.stderr
    leaks.out(rows(wtline, home, local, "write", 50, 50))
    kms.enable_key(KeyId=key)
    hidden = tmp_path / "hidden.key"
    local_key.rename(hidden)
    leaks.out(rows(wtline, home, aws_settings(m.url, key, creds), "verify", 0, 100))
    leaks.out(rows(wtline, home, aws_settings(m.url, key, creds), "write", 100, 50))
    hidden.rename(local_key)

    # Rotate the AWS one to another AWS key: the local one still opens, the old AWS one not.
    leaks.out(wtline.run([wtline.wtkms, "keys", "rotate", "--home", home]
                         + cli_flags("", m.url, key, creds)
                         + cli_flags("new-", m.url, key2, creds)))
    st = json.loads(wtline.run([wtline.wtkms, "keys", "status", "--home", home, "--json"]).stdout)
    assert [k["key"]["key_id"] for k in st["master_keys"]][1] == key2
    leaks.out(rows(wtline, home, local, "verify", 0, 150))
    leaks.out(rows(wtline, home, aws_settings(m.url, key2, creds), "verify", 0, 150))
    p = leaks.out(rows(wtline, home, aws_settings(m.url, key, creds), "verify", 0, 150,
                       check=False))
    assert p.returncode != 0
    # Remove the local one: only AWS opens; the last master key cannot be removed.
    kid = st["master_keys"][0]["key"]["key_id"]
    leaks.out(wtline.run([wtline.wtkms, "keys", "remove-master-key", kid, "--home", home]
                         + cli_flags("", m.url, key2, creds)))
    p = leaks.out(rows(wtline, home, local, "verify", 0, 150, check=False))
    assert p.returncode != 0
    p = leaks.out(wtline.run([wtline.wtkms, "keys", "remove-master-key", key2, "--home", home]
                             + cli_flags("", m.url, key2, creds), check=False))
    assert p.returncode == 1 and "only master key" in p.stderr, p.stderr


# --- one exit code per failure class (docs/CLI.md, "Failure classes") ---------------------------

CLASS_WORDS = {
    "key_state": "is disabled: enable it",
    "access_denied": "access denied",
    "credentials_rejected": "AWS rejected the credentials",
    "unavailable": "failed with HTTP 503 after 3 attempts: the service is unavailable; retry later",
    "unreachable": "failed after 3 attempts",
    "tls": "TLS certificate is not trusted",
    "malformed": "body that is not JSON (the answer begins \"??<html>not json at all\")",
    "wrong_key": "this was made under AWS KMS key",
}


@pytest.mark.parametrize("cls", sorted(exit_classes.CLASSES))
def test_exit_code_per_failure_class(line32, tmp_path, aws_env, aws_mock, faultproxy, leaks, cls):
    m = aws_mock()
    kms = m.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    creds = m.credentials_file(tmp_path / "c")
    leaks.secret(m.secret)
    leaks.holds(creds)
    home = tmp_path / "db"
    home.mkdir()
    leaks.out(line32.run([line32.wtkms, "keys", "init", "--home", home]
                         + cli_flags("", m.url, key, creds, **FAST)))
    endpoint, fp = m.url, None
    with contextlib.ExitStack() as stack:
        if cls in ("access_denied", "unavailable", "malformed", "tls"):
            tls = make_cert(tmp_path, "untrusted", "IP:127.0.0.1") if cls == "tls" else None
            fp = faultproxy(upstream=m.url, tls=tls)
            endpoint = fp.url
            if cls != "tls":
                fp.fault({"access_denied": "denied", "unavailable": "503",
                          "malformed": "garbage_body"}[cls])
        elif cls == "key_state":
            kms.disable_key(KeyId=key)
        elif cls == "credentials_rejected":
            creds = write_private(tmp_path / "bad", "[default]\naws_access_key_id = %s\n"
                                  "aws_secret_access_key = %s\n" % (m.access_key, "x" * 40))
        elif cls == "unreachable":
            endpoint = "http://127.0.0.1:%d" % stack.enter_context(exit_classes.ClosedPort()).port
        elif cls == "wrong_key":
            key = kms.create_key()["KeyMetadata"]["KeyId"]
        p = leaks.out(line32.run([line32.wtkms, "keys", "status", "--home", home, "--verify"]
                                 + cli_flags("", endpoint, key, creds, **FAST), check=False))
    assert p.returncode == exit_classes.EXIT[cls], p.stderr
    assert CLASS_WORDS[cls] in p.stderr, p.stderr
    if fp is not None and cls in exit_classes.FINAL:
        st = settled(fp) if cls == "tls" else fp.stats()
        assert st["connections"] == 1 and st["requests"] <= 1, st
