# SPDX-License-Identifier: Apache-2.0
"""The fuzzing-only build mode never reaches a normal build.

fuzz/build.sh compiles the sources with -DWTKMS_FUZZING, which adds wtkms_fuzz_skip_auth: while
set, every MAC and tag check passes (src/crypto/crypto.h). These tests check that no other build
defines it, that the extension and command of every line carry no trace of it, and that the
source refuses to compile with it outside a clang ASan build.
"""
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent

HOOK = b"wtkms_fuzz_skip_auth"


def test_built_binaries_have_no_fuzzing_hook(wtline):
    for path in (wtline.ext, wtline.wtkms):
        data = path.read_bytes()
        # The control: the symbol table is there (a stripped binary would prove nothing), and
        # the hook's neighbour in crypto.c is in it.
        assert b"wtkms_ct_memcmp" in data, "%s has no symbol table to check" % path
        assert HOOK not in data, "%s was built with WTKMS_FUZZING" % path


def test_only_the_fuzz_build_defines_it():
    files = subprocess.run(["git", "grep", "-l", "WTKMS_FUZZING"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()
    allowed = {"src/crypto/crypto.c", "src/crypto/crypto.h", "fuzz/build.sh",
               "docs/FUZZING.md", "tests/foundation/test_fnd_fuzz_fence.py"}
    assert set(files) <= allowed, "WTKMS_FUZZING appears in %s" % sorted(set(files) - allowed)


def _compile(*defines):
    cc = shutil.which("gcc") or shutil.which("cc")
    flags = subprocess.run(["pkg-config", "--cflags", "libcrypto"], check=True,
                           capture_output=True, text=True).stdout.split()
    return subprocess.run([cc, "-std=c11", "-fsyntax-only", "-D_POSIX_C_SOURCE=200809L",
                           "-D_DEFAULT_SOURCE", "-Isrc/crypto", "-Isrc/common", *flags, *defines,
                           "src/crypto/crypto.c"], cwd=REPO, capture_output=True, text=True)


def test_fuzzing_mode_refuses_a_normal_compiler():
    assert _compile().returncode == 0  # the control: the file compiles as the build has it
    r = _compile("-DWTKMS_FUZZING")
    assert r.returncode != 0 and "only fuzz/build.sh" in r.stderr, r.stderr
