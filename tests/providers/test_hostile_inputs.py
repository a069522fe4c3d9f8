# SPDX-License-Identifier: Apache-2.0
"""Files someone else can plant and services that lie, met by the providers' shared code:

- the atomic write of a key file or keystore never follows a link or reuses a file planted at
  its temporary name (the name was <path>.tmp.<pid>: predictable), and the result has mode 600;
- credentials_file= must be mode 600 (0640 was accepted) and owned by this user or root;
- an http:// endpoint to a host that is not this machine is refused before any request
  (endpoint=, sts_endpoint=, s3_endpoint=, and a container-credentials URL that only looks
  like loopback);
- an IMDSv2 session token carrying CR/LF is refused before it goes into a header;
- a 200 answer that carries an AWS error (__type, Message) is reported as that error;
- an unreachable metadata service is named by the variable that points at it, not as "the
  endpoint setting";
- a credentials answer whose Expiration has a one-digit zone offset is refused (it was read
  past its end: ASan, in the sanitizer run).
"""
import json
import os
import stat

import pytest

import exit_classes
from conftest import AWS_REGION, write_private


def run_as_planted(wtkms, args, plant):
    """Run wtkms after plant(pid) prepared files for the pid it will run under (fork, plant,
    exec: the pid stays the same). Returns the exit code."""
    pid = os.fork()
    if pid == 0:
        try:
            plant(os.getpid())
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execv(str(wtkms), [str(wtkms)] + [str(a) for a in args])
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_atomic_write_ignores_what_is_planted_at_the_old_temporary_name(line32, tmp_path,
                                                                       local_key):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    key = tmp_path / "new.key"
    rc = run_as_planted(line32.wtkms, ["keys", "generate-local", "--key-file", key],
                        lambda pid: os.symlink(victim, "%s.tmp.%d" % (key, pid)))
    assert rc == 0
    assert victim.read_bytes() == b"precious", "the write followed a planted symlink"
    assert key.is_file() and not key.is_symlink() and key.stat().st_size == 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    # A planted file with a loose mode at the keystore's old temporary name: not reused.
    home = tmp_path / "db"
    home.mkdir()

    def plant(pid):
        p = home / ("wtkms.keystore.tmp.%d" % pid)
        p.write_bytes(b"junk")
        p.chmod(0o666)
    rc = run_as_planted(line32.wtkms, ["keys", "init", "--home", home, "--key-file", local_key],
                        plant)
    assert rc == 0
    ks = home / "wtkms.keystore"
    assert stat.S_IMODE(ks.stat().st_mode) == 0o600
    assert not ks.read_bytes().startswith(b"junk")


def aws_flags(endpoint, creds, **extra):
    f = ["--provider", "aws", "--key-id", "alias/x", "--region", AWS_REGION, "--endpoint",
         endpoint, "--credentials-file", creds, "--max-retries", "0", "--deadline-ms", "3000"]
    for k, v in extra.items():
        f += ["--" + k.replace("_", "-"), v]
    return f


@pytest.fixture
def dummy_creds(tmp_path):
    return write_private(tmp_path / "creds", "[default]\naws_access_key_id = AKIAEXAMPLE\n"
                         "aws_secret_access_key = %s\n" % ("s" * 40))


def test_credentials_file_mode_and_owner(line32, tmp_path, aws_env, dummy_creds, scripted):
    kms = scripted(lambda *a: (500, {}, b""))
    home = tmp_path / "db"
    home.mkdir()
    dummy_creds.chmod(0o640)
    p = line32.run([line32.wtkms, "keys", "init", "--home", home]
                   + aws_flags(kms.url, dummy_creds), check=False)
    assert p.returncode == 3 and "chmod 600" in p.stderr and str(dummy_creds) in p.stderr, p.stderr
    dummy_creds.chmod(0o600)
    os.chown(dummy_creds, 4242, 4242)
    p = line32.run([line32.wtkms, "keys", "init", "--home", home]
                   + aws_flags(kms.url, dummy_creds), check=False)
    assert p.returncode == 3 and "owned by uid 4242" in p.stderr, p.stderr
    assert kms.requests == []


@pytest.mark.parametrize("where", ["endpoint", "sts_endpoint", "s3_endpoint", "ecs"])
def test_plain_http_only_to_this_machine(line32, tmp_path, aws_env, dummy_creds, monkeypatch,
                                         where):
    home = tmp_path / "db"
    home.mkdir()
    if where == "s3_endpoint":
        cmd = ["snapshot", "list", "--store", "s3://b", "--s3-endpoint", "http://10.255.0.1:9000",
               "--s3-credentials-file", dummy_creds]
    elif where == "ecs":
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           "http://127.0.0.1.example.com/creds")
        cmd = ["keys", "init", "--home", home, "--provider", "aws", "--key-id", "alias/x",
               "--region", AWS_REGION, "--endpoint", "http://127.0.0.1:9"]
    elif where == "sts_endpoint":
        cmd = ["keys", "init", "--home", home] + aws_flags(
            "http://127.0.0.1:9", dummy_creds, role_arn="arn:aws:iam::1:role/r",
            sts_endpoint="http://sts.example.com/")
    else:
        cmd = ["keys", "init", "--home", home] + aws_flags("http://10.255.0.1:4566", dummy_creds)
    p = line32.run([line32.wtkms] + cmd, check=False, timeout=30)
    if where == "ecs":
        assert p.returncode == 3 and "refusing http://127.0.0.1.example.com" in p.stderr, p.stderr
    else:
        assert p.returncode == 2, p.stderr
        assert "%s=http://" % where in p.stderr and "only to this machine" in p.stderr, p.stderr


def test_imds_token_with_line_break_refused(line32, tmp_path, aws_env, monkeypatch, scripted):
    imds = scripted(lambda m, path, h, b: (200, {"Content-Type": "text/plain"},
                                           b"tok\r\nX-Injected: 1"))
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url)
    home = tmp_path / "db"
    home.mkdir()
    p = line32.run([line32.wtkms, "keys", "init", "--home", home, "--provider", "aws",
                    "--key-id", "alias/x", "--region", AWS_REGION, "--endpoint",
                    "http://127.0.0.1:9"], check=False)
    assert p.returncode == 1 and "control characters" in p.stderr, p.stderr
    assert len(imds.requests) == 1 and imds.requests[0]["method"] == "PUT"


def test_error_inside_a_200_answer(line32, tmp_path, aws_env, dummy_creds, scripted):
    kms = scripted(lambda *a: (200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
        {"__type": "DisabledException", "Message": "arn:aws:kms:... is disabled."}).encode()))
    home = tmp_path / "db"
    home.mkdir()
    p = line32.run([line32.wtkms, "keys", "init", "--home", home]
                   + aws_flags(kms.url, dummy_creds), check=False)
    assert p.returncode == exit_classes.EXIT["key_state"], p.stderr
    assert "is disabled: enable it" in p.stderr and "CiphertextBlob" not in p.stderr, p.stderr


def test_unreachable_metadata_named_by_its_variable(line32, tmp_path, aws_env, monkeypatch):
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    with exit_classes.ClosedPort() as port:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:%d" % port.port)
        home = tmp_path / "db"
        home.mkdir()
        p = line32.run([line32.wtkms, "keys", "init", "--home", home, "--provider", "aws",
                        "--key-id", "alias/x", "--region", AWS_REGION, "--endpoint",
                        "http://127.0.0.1:9"], check=False)
    assert p.returncode == 3, p.stderr
    assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" in p.stderr, p.stderr
    assert "check the endpoint setting" not in p.stderr, p.stderr


def test_expiration_with_one_digit_offset_refused(line32, tmp_path, aws_env, monkeypatch,
                                                  scripted):
    creds = {"Code": "Success", "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s" * 40,
             "Token": "t" * 20, "Expiration": "2-5-1T1:3:5+0:0"}

    def answer(method, path, headers, body):
        if method == "PUT":
            return 200, {}, b"session-token"
        if path.endswith("/security-credentials/"):
            return 200, {}, b"role"
        return 200, {"Content-Type": "application/json"}, json.dumps(creds).encode()
    imds = scripted(answer)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url)
    home = tmp_path / "db"
    home.mkdir()
    p = line32.run([line32.wtkms, "keys", "init", "--home", home, "--provider", "aws",
                    "--key-id", "alias/x", "--region", AWS_REGION, "--endpoint",
                    "http://127.0.0.1:9"], check=False)
    assert p.returncode == 1 and "is not an ISO 8601 time" in p.stderr, p.stderr
    assert "AddressSanitizer" not in p.stderr


@pytest.mark.parametrize("what", ["headers", "body"])
def test_oversized_answers_refused(line32, tmp_path, aws_env, dummy_creds, scripted, what):
    """Answers over the documented limits (docs/FORMATS.md, "Limits": 64 KiB of headers; 64 KiB
    of body for AWS KMS) end the request with a clear error, not retried."""
    big = b"a" * (70 * 1024)
    if what == "headers":
        kms = scripted(lambda *a: (200, {"X-Big-%d" % i: "b" * 8000 for i in range(9)}, b"{}"))
    else:
        kms = scripted(lambda *a: (200, {"Content-Type": "application/json"},
                                   b'{"CiphertextBlob": "' + big + b'"}'))
    home = tmp_path / "db"
    home.mkdir()
    p = line32.run([line32.wtkms, "keys", "init", "--home", home]
                   + aws_flags(kms.url, dummy_creds, max_retries="2"), check=False)
    assert p.returncode == 1, p.stderr
    words = "headers are larger than 64 KiB" if what == "headers" else "larger than any answer"
    assert words in p.stderr, p.stderr
    assert len(kms.requests) == 1
