# SPDX-License-Identifier: Apache-2.0
"""One exit code per failure class, whatever the provider (docs/CLI.md, "Failure classes").

The table in docs/CLI.md must say what exit_classes.py says; the local provider's classes are
tested here (the others in each provider's own test file, against its peers).
"""
import os

import pytest

from exit_classes import CLASSES, EXIT, LOCAL
from exit_classes import doc_table


def test_doc_table_matches():
    """Every class is in the table with the same exit code, and a cell for every provider."""
    table = doc_table()
    for cls, (words, code) in CLASSES.items():
        assert words in table, "docs/CLI.md's failure-class table lacks '%s'" % words
        row = table[words]
        assert row["exit"] == str(code), (words, row)
        for prov in ("local", "aws", "azure", "gcp", "kmip"):
            assert row.get(prov), "no %s cell for '%s'" % (prov, words)
            if prov == "local" and cls not in LOCAL:
                assert row[prov] == "n/a", (words, row[prov])


WORDS = {
    "key_state": "does not exist (create one with",
    "access_denied": "owned by uid 4242",
    "malformed": "it must hold exactly 32 raw bytes",
    "wrong_key": "this was made under key",
}


@pytest.mark.parametrize("cls", LOCAL)
def test_exit_code_per_failure_class(line32, tmp_path, local_key, cls):
    home = tmp_path / "db"
    home.mkdir()
    line32.run([line32.wtkms, "keys", "init", "--home", home, "--key-file", local_key])
    key = local_key
    if cls == "key_state":
        key = tmp_path / "gone.key"  # the key file was destroyed
    elif cls == "access_denied":
        os.chown(local_key, 4242, 4242)  # the tests run as root: another user's file
    elif cls == "malformed":
        key = tmp_path / "short.key"
        key.write_bytes(b"12345")
        key.chmod(0o600)
    elif cls == "wrong_key":
        key = tmp_path / "other.key"
        key.write_bytes(os.urandom(32))
        key.chmod(0o600)
    p = line32.run([line32.wtkms, "keys", "status", "--home", home, "--verify", "--key-file", key],
                   check=False)
    assert p.returncode == EXIT[cls], p.stderr
    assert WORDS[cls] in p.stderr, p.stderr
