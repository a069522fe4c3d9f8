# SPDX-License-Identifier: Apache-2.0
"""wtkms as an encryptor of WiredTiger's own Python test suite (copied into it by overlay.py).

Imported by the overlaid test_encrypt modules and by hook_wtkms.py. It teaches the suite's
harness (wttest.py, unchanged) three things:

- where the wtkms extension is: `extlist.extension('encryptors', 'wtkms')` resolves to the
  libwtkms.so named by WTKMS_SUITE_LIB (the harness looks only under the WiredTiger build's
  ext/), and a missing library fails the test instead of skipping it;
- its configuration: a local master key (WTKMS_SUITE_KEY, the project's local provider), given
  as the extension's config=(...) when a test loads wtkms without arguments;
- early_load: the harness appends "=(early_load=true)" after the last extension's own
  arguments, which for wtkms (which always has arguments) gives the invalid
  "libwtkms.so"=(config=(...))=(early_load=true). For any extension list that holds wtkms,
  early_load=true goes inside each extension's own arguments instead, so every extension the
  test loads (wtkms and the compressors) is loaded early, which is what the scenario means.

select() keeps only the wtkms scenarios of a test (WTKMS_SUITE_ALL=1 keeps them all).
"""
import os

import wttest

LIB = os.environ.get("WTKMS_SUITE_LIB", "")
KEY = os.environ.get("WTKMS_SUITE_KEY", "")


def ext_arg():
    """The extension arguments that load wtkms with the suite's local master key."""
    if not KEY:
        raise AssertionError("WTKMS_SUITE_KEY is not set: run the suite with tests/wtsuite/run.sh")
    return '(config=(provider=local,key_file="%s"))' % KEY


def is_wtkms(entry):
    return entry.split("=", 1)[0] == "encryptors/wtkms"


def select(scenarios):
    """The scenarios that involve wtkms (all of them with WTKMS_SUITE_ALL=1)."""
    if os.environ.get("WTKMS_SUITE_ALL") == "1":
        return scenarios
    return [(name, d) for (name, d) in scenarios if "wtkms" in name]


def _fold_early_load(entry):
    """'d/n=(args)' -> 'd/n=(args,early_load=true)'; 'd/n' -> 'd/n=(early_load=true)'."""
    if "=" not in entry:
        return entry + "=(early_load=true)"
    head, arg = entry.split("=", 1)
    if not (arg.startswith("(") and arg.endswith(")")):
        raise AssertionError("extension arguments not in parentheses: " + entry)
    return "%s=%s,early_load=true)" % (head, arg[:-1])


_orig_find = wttest.WiredTigerTestCase.findExtension
_orig_extension = wttest.ExtensionList.extension
_orig_ext_config = wttest.WiredTigerTestCase.extensionsConfig


def _find_extension(dirname, libname):
    if (dirname, libname) == ("encryptors", "wtkms"):
        if not LIB or not os.path.isfile(LIB):
            raise AssertionError("wtkms extension %r does not exist: run scripts/build.sh" % LIB)
        return [LIB]
    return _orig_find(dirname, libname)


def _extension(self, dirname, name, extarg=None):
    if (dirname, name) == ("encryptors", "wtkms") and extarg is None:
        extarg = ext_arg()
    return _orig_extension(self, dirname, name, extarg)


def _extensions_config(self):
    exts = self.conn_extensions
    if callable(exts):
        exts = wttest.ExtensionList()
        self.conn_extensions(exts)
    if not (getattr(exts, "early_load_ext", False) and any(is_wtkms(e) for e in exts)):
        return _orig_ext_config(self)
    fixed = wttest.ExtensionList(_fold_early_load(e) for e in exts)
    fixed.skip_if_missing = getattr(exts, "skip_if_missing", False)
    # The harness reads self.conn_extensions; an instance attribute shadows the method for the
    # one call.
    self.conn_extensions = fixed
    try:
        return _orig_ext_config(self)
    finally:
        del self.conn_extensions


wttest.WiredTigerTestCase.findExtension = staticmethod(_find_extension)
wttest.ExtensionList.extension = _extension
wttest.WiredTigerTestCase.extensionsConfig = _extensions_config
