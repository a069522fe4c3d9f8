# SPDX-License-Identifier: Apache-2.0
"""The include arrows between src/'s parts follow the intended layering.

Each directory of src/ is one part. A quoted #include names a header of some part; that is an
arrow from the including file's part to the header's. The arrows allowed (besides a part's own
headers):

    crypto     nothing: OpenSSL behind it, nothing of ours
    compress   nothing: libzstd behind it (linked into the command only, never the extension)
    common     crypto (secrets are wiped with secure.h)
    kms        common, crypto
    keystore   kms, common, crypto
    encryptor  keystore, kms, common, crypto: the extension loaded into mongod needs nothing of
               snapshot, oplog or tools; and wtkms_ext.c reaches the master key only through the
               keystore (wtkms_keystore_open), never kms.h itself
    s3         kms (its HTTP and AWS credential code), crypto, common: the S3 client that
               snapshot and oplog stores share
    snapshot   s3, keystore, kms, crypto, common, compress
    oplog      s3, keystore, kms, crypto, common, compress
    tools      everything (the command); no other part includes a tools header

A quoted include that names no header of src/ is refused too: the check must see every arrow.
"""
import pathlib
import re

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"

BELOW = {"crypto", "common", "kms"}
ALLOWED = {
    "crypto": set(),
    "compress": set(),
    "common": {"crypto"},
    "kms": {"common", "crypto"},
    "keystore": BELOW,
    "encryptor": BELOW | {"keystore"},
    "s3": BELOW,
    "snapshot": BELOW | {"s3", "keystore", "compress"},
    "oplog": BELOW | {"s3", "keystore", "compress"},
    "tools": BELOW | {"s3", "keystore", "encryptor", "snapshot", "oplog", "compress"},
}
# Files held to less than their part may use: (part, file name) -> parts refused to it.
REFUSED = {("encryptor", "wtkms_ext.c"): {"kms"}}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def arrows(src):
    """(file, its part, included header, the header's part or None) for every quoted include."""
    parts = sorted(p for p in src.iterdir() if p.is_dir())
    home = {}
    for part in parts:
        for h in part.glob("*.h"):
            home.setdefault(h.name, set()).add(part.name)
    for part in parts:
        for f in sorted(part.iterdir()):
            if f.suffix not in (".c", ".h"):
                continue
            for name in INCLUDE.findall(f.read_text(errors="replace")):
                base = pathlib.PurePosixPath(name).name
                owners = home.get(base, set())
                # A header of the file's own part wins; a name two parts share is ambiguous.
                owner = part.name if part.name in owners else (
                    next(iter(owners)) if len(owners) == 1 else None)
                yield f, part.name, name, owner


def violations(src):
    out = []
    parts = {p.name for p in src.iterdir() if p.is_dir()}
    for part in parts - set(ALLOWED):
        out.append("src/%s/ is a part the layering does not know: add it to ALLOWED" % part)
    for f, part, name, owner in arrows(src):
        rel = f.relative_to(src.parent)
        if owner is None:
            out.append('%s includes "%s", which is no single header of src/' % (rel, name))
        elif owner != part and (owner not in ALLOWED.get(part, set())
                                or owner in REFUSED.get((part, f.name), set())):
            out.append('%s includes "%s": %s -> %s breaks the layering' % (rel, name, part, owner))
    return out


def test_include_layering():
    bad = violations(SRC)
    assert not bad, "include arrows against the layering:\n  " + "\n  ".join(bad)


def test_the_check_sees_a_broken_arrow(tmp_path):
    """The check itself fails on each kind of bad arrow (a copy of a small tree)."""
    for part, files in {
        "common": {"err.h": "", "config.c": '#include "err.h"\n#include "secure.h"\n'},
        "crypto": {"secure.h": ""},
        "kms": {"kms.h": '#include "err.h"\n'},
        "keystore": {"keystore.h": '#include "kms.h"\n'},
        "encryptor": {"wtkms_ext.c": '#include "keystore.h"\n'},
        "tools": {"cli.h": '#include "keystore.h"\n'},
    }.items():
        (tmp_path / part).mkdir()
        for name, text in files.items():
            (tmp_path / part / name).write_text(text)
    assert violations(tmp_path) == []
    cases = [
        ("crypto/secure.h", '#include "err.h"\n', "crypto -> common"),
        ("common/config.c", '#include "kms.h"\n', "common -> kms"),
        ("kms/kms.h", '#include "keystore.h"\n', "kms -> keystore"),
        ("keystore/keystore.h", '#include "cli.h"\n', "keystore -> tools"),
        ("encryptor/wtkms_ext.c", '#include "kms.h"\n', "encryptor -> kms"),
        ("kms/kms.h", '#include "nowhere.h"\n', "no single header"),
    ]
    for path, line, words in cases:
        f = tmp_path / path
        before = f.read_text()
        f.write_text(before + line)
        bad = violations(tmp_path)
        f.write_text(before)
        assert len(bad) == 1 and words in bad[0], (path, line, bad)
