# SPDX-License-Identifier: Apache-2.0
"""Encrypted WiredTiger databases for the provider tests (kmip, azure, gcp): made, reopened and
read through the `wt` utility of a WiredTiger line, with the extension configured by a wtkms
config file (config_file=PATH, the form mongod uses)."""
import os
from pathlib import Path

ROWS = 300


def write_config(path, settings):
    """A wtkms config file, mode 600: one key="value" per line."""
    path = Path(path)
    path.write_text("".join('%s="%s"\n' % (k, v) for k, v in settings.items()))
    path.chmod(0o600)
    return path


def conn(line, cfg, create=False):
    return (("create," if create else "") + line.ext_config("config_file=%s" % cfg)
            + ",encryption=(name=wtkms,keyid=system)")


def rows(n=ROWS):
    out = []
    for i in range(n):
        out += ["key%05d" % i, "value %05d %s" % (i, "v" * (i % 50))]
    return out


def make_db(line, home, cfg, n=ROWS, env=None):
    """Create the home (one open: the keystore is created, one wrap) and write n rows (a second
    open: one unwrap)."""
    home = Path(home)
    home.mkdir(exist_ok=True)
    line.run([line.wt, "-h", home, "-C", conn(line, cfg, create=True), "create", "-c",
              "key_format=S,value_format=S,encryption=(name=wtkms,keyid=tbl)", "table:t"],
             env=env)
    line.run([line.wt, "-h", home, "-C", conn(line, cfg), "write", "table:t"] + rows(n), env=env)


def read_all(line, home, cfg, check=True, env=None):
    return line.run([line.wt, "-h", home, "-C", conn(line, cfg), "dump", "table:t"], check=check,
                    env=env)


def assert_all_rows(p, n=ROWS):
    data = p.stdout.split("Data\n", 1)[1].split("\n")
    got = {data[i].removesuffix("\\00"): data[i + 1].removesuffix("\\00")
           for i in range(0, len(data) - 1, 2)}
    want = rows(n)
    assert len(got) == n
    for i in range(0, len(want), 2):
        assert got[want[i]] == want[i + 1]


def data_files(home):
    """Every file of the home but the keystore and its lock file (which names the last process
    that changed the keystore), with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(Path(home).iterdir())
            if p.is_file() and p.name not in ("wtkms.keystore", "wtkms.keystore.lock")}


def pem_body_lines(path):
    """The base64 lines of a PEM file's private key: any of them in a file is a leak."""
    out, inside = [], False
    for l in Path(path).read_text().splitlines():
        if l.startswith("-----BEGIN") and "PRIVATE KEY" in l:
            inside = True
        elif l.startswith("-----END"):
            inside = False
        elif inside and l:
            out.append(l)
    return out


def clean_env(monkeypatch, prefixes):
    """No credential variables from the machine: each test sets the ones it uses."""
    for k in list(os.environ):
        if any(k.startswith(p) for p in prefixes) or k.lower() in (
                "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(k, raising=False)
