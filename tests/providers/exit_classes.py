# SPDX-License-Identifier: Apache-2.0
"""The failure classes every provider reports the same way (docs/CLI.md, "Failure classes"): the
exit code each class gives, whichever provider meets it. Each provider's test file runs one test
per class (test_exit_code_per_failure_class) against its peers and checks the code here;
test_exit_classes.py checks that docs/CLI.md's table says the same, and runs the local provider's.
"""
import re
import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# class -> (the words docs/CLI.md's table starts the row with, exit code)
CLASSES = {
    "key_state": ("key disabled, pending deletion or destroyed", 3),
    "access_denied": ("access denied", 3),
    "credentials_rejected": ("credentials rejected", 3),
    "unavailable": ("service unavailable after retries", 3),
    "unreachable": ("unreachable", 3),
    "tls": ("TLS verification failed", 3),
    "malformed": ("answer malformed", 1),
    "wrong_key": ("wrong key", 3),
}
EXIT = {k: v[1] for k, v in CLASSES.items()}

# Classes that do not change on a retry: the peer must see exactly one attempt.
FINAL = {"key_state", "access_denied", "credentials_rejected", "tls", "malformed", "wrong_key"}

# The local provider has no service: only these classes exist for it.
LOCAL = ["key_state", "access_denied", "malformed", "wrong_key"]


class ClosedPort:
    """A port bound on 127.0.0.1 but not listening: connections are refused, and no other
    process can take it meanwhile."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        return self

    def __exit__(self, *exc):
        self.sock.close()


def doc_table():
    """docs/CLI.md's failure-class table: {first column: {column: cell}}."""
    text = (REPO / "docs" / "CLI.md").read_text()
    m = re.search(r"^## Failure classes\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, "docs/CLI.md has no '## Failure classes' section"
    rows = [l for l in m.group(1).splitlines() if l.startswith("|")]
    head = [c.strip() for c in rows[0].strip("|").split("|")]
    out = {}
    for r in rows[2:]:
        cells = [c.strip() for c in r.strip("|").split("|")]
        out[cells[0]] = dict(zip(head, cells))
    return out


def run_class(line, tmp_path, home, settings, cls, calls):
    """Run the command that meets failure class cls with the provider settings given, against
    home (or, for "unreachable", a new home: another endpoint is another key, refused before any
    call, so only a new home's first wrap reaches the service). calls() counts the peer's calls;
    returns the process and the counts before and after."""
    from wtdb import write_config  # the providers suite's helper, beside this file
    before = calls()
    if cls == "unreachable":
        home = tmp_path / "new"
        home.mkdir()
        cmd = ["keys", "init", "--home", home]
    else:
        cmd = ["keys", "status", "--home", home, "--verify"]
    p = line.run([line.wtkms, "--config", write_config(tmp_path / "bad.conf", settings)] + cmd,
                 check=False, timeout=60)
    return p, before, calls()


def check_class(p, cls, words, before, after, fp=None):
    """The documented exit code and cause; a failure that cannot change on retry is tried once."""
    assert p.returncode == EXIT[cls], p.stderr
    assert words[cls] in p.stderr, p.stderr
    assert " )" not in p.stderr, p.stderr  # "HTTP 503 )" when the answer had no error code
    if cls in FINAL:
        assert all(after.get(k, 0) - before.get(k, 0) <= 1 for k in after), (before, after)
        if fp is not None:
            assert fp.stats()["requests"] == 1, fp.stats()
