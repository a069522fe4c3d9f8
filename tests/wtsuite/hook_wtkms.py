# SPDX-License-Identifier: Apache-2.0
"""hook_wtkms.py -- run WiredTiger suite tests with wtkms encryption on (run.py --hook wtkms).

Copied into the suite by tests/wtsuite/overlay.py. WiredTiger's hook mechanism (wthooks.py) lets
a hook rewrite API calls: this one turns encryption on for tests written without it, the
backup, salvage and verify tests:

- wiredtiger_open: wtkms is added to the extensions (with the suite's local master key) and,
  unless the test configures encryption itself, encryption=(name=wtkms,keyid=system), so the
  metadata, the log and the history store are encrypted;
- WT_SESSION::create of a table, file or LSM tree without an encryption=(...) of its own gets
  encryption=(name=wtkms,keyid=suite): its pages are under a table keyid, as mongod's are;
- a backup is a home copied by the test from the files a backup cursor lists, which are
  WiredTiger's only: wtkms's keystore (wtkms.keystore) is not among them, and wtkms refuses a
  home that holds data without one. An operator copies the keystore with the backup (README,
  "WiredTiger's own encryption tests"); the hook does the same. When a test copies one of
  WiredTiger's own files (WiredTiger*) out of a home with shutil.copy, as the suite's backup
  helpers do, the home's current keystore goes with it (replacing an older copy: an incremental
  backup needs the keystore of its own time); after `wt backup DIR`, it is copied into DIR.

The `wt` utility the tests run in a subprocess reads the same configuration from
WiredTiger.basecfg, which WiredTiger writes from the (rewritten) wiredtiger_open string.

SKIPPED lists the tests that cannot pass with encryption on as this hook sets it, each with the
reason; the suite reports them as skipped, and tests/wtsuite/run.sh prints the reasons.
"""
import os
import shutil

import wthooks
import wttest
import wtkms_scenario

KEYSTORE = "wtkms.keystore"

# test id prefix -> why it cannot pass with encryption on as this hook sets it.
_PLAIN_TEXT_TARGET = (
    "finds the byte to damage by searching the table's file for a value's plain text, which "
    "encryption leaves nowhere on disk; test_encrypt07_wtkms runs this test on an encrypted "
    "table with the target found by `wt verify -d dump_address`")
_IMPORT_REPAIR = (
    "import with repair=true decrypts the metadata embedded in the table's file with the "
    "connection's encryptor (keyid system), not the table's (WiredTiger's __wt_import_repair "
    "configures the encryptor from the file defaults): under a keyid of its own, as this hook "
    "gives every table, the block is not the system keyid's, and wtkms refuses it as it must")
SKIPPED = {
    "test_salvage01.test_salvage01.test_salvage_api_damaged": _PLAIN_TEXT_TARGET,
    "test_salvage01.test_salvage01.test_salvage_process_damaged": _PLAIN_TEXT_TARGET,
    "test_backup22.test_backup22.test_import_with_open_backup_cursor(import_repair": _IMPORT_REPAIR,
}


def _add_extension(config):
    entry = '"%s"=%s' % (wtkms_scenario.LIB, wtkms_scenario.ext_arg())
    i = config.find("extensions=[")
    if i >= 0:
        j = i + len("extensions=[")
        sep = "" if config[j:j + 1] == "]" else ","
        return config[:j] + entry + sep + config[j:]
    return config + ",extensions=[" + entry + "]"


def _keystore_with(src, dst):
    """After a copy of SRC to DST: a WiredTiger file leaving a home takes the home's keystore."""
    src_dir = os.path.dirname(src) or "."
    if not os.path.basename(src).startswith("WiredTiger"):
        return
    if not os.path.exists(os.path.join(src_dir, KEYSTORE)):
        return
    dst_dir = dst if os.path.isdir(dst) else (os.path.dirname(dst) or ".")
    if os.path.realpath(dst_dir) == os.path.realpath(src_dir):
        return
    # Always the current keystore, even over an older copy: an incremental backup brings blocks
    # that later opens wrote, under open records only the current keystore holds.
    _orig_copy2(os.path.join(src_dir, KEYSTORE), os.path.join(dst_dir, KEYSTORE))


_orig_copy = shutil.copy
_orig_copy2 = shutil.copy2


def _copy(src, dst, *args, **kwargs):
    ret = _orig_copy(src, dst, *args, **kwargs)
    _keystore_with(str(src), str(dst))
    return ret


def _copy2(src, dst, *args, **kwargs):
    ret = _orig_copy2(src, dst, *args, **kwargs)
    _keystore_with(str(src), str(dst))
    return ret


def _run_wt(self, args, *rest, **kwargs):
    """suite_subprocess.runWt, then for `wt [-h HOME] backup ... DIR`: HOME's keystore into DIR."""
    ret = _orig_run_wt(self, args, *rest, **kwargs)
    if "backup" in args:
        i = args.index("backup")
        head = args[:i]
        home = head[head.index("-h") + 1] if "-h" in head else "."
        if os.path.exists(os.path.join(home, KEYSTORE)) and os.path.isdir(args[-1]):
            _orig_copy2(os.path.join(home, KEYSTORE), os.path.join(args[-1], KEYSTORE))
    return ret


_orig_run_wt = None


def _patch_run_wt():
    """Wrap runWt; done at the first open, since importing suite_subprocess at hook load time
    (before the harness's global setup) fails."""
    global _orig_run_wt
    if _orig_run_wt is None:
        import suite_subprocess
        _orig_run_wt = suite_subprocess.suite_subprocess.runWt
        suite_subprocess.suite_subprocess.runWt = _run_wt


def wiredtiger_open_args(ignored_self, args):
    _patch_run_wt()
    args = list(args)
    config = args[1] if len(args) > 1 and args[1] is not None else ""
    config = _add_extension(config)
    if "encryption=" not in config:
        config += ",encryption=(name=wtkms,keyid=system)"
    if len(args) > 1:
        args[1] = config
    else:
        args.append(config)
    return args


def session_create_replace(orig_create, session, uri, config=None):
    config = config or ""
    if uri.split(":", 1)[0] in ("table", "file", "lsm") and "encryption=" not in config:
        config += ",encryption=(name=wtkms,keyid=suite)"
    return orig_create(session, uri, config)


class WtkmsHookCreator(wthooks.WiredTigerHookCreator):
    def __init__(self, arg=None):
        pass

    def register_skipped_tests(self, tests):
        for t in tests:
            for prefix, reason in SKIPPED.items():
                if t.id().startswith(prefix):
                    wttest.register_skipped_test(t, "wtkms", reason)

    def get_platform_api(self):
        # Nothing of the platform changes (wthooks.MultiPlatformAPI needs an object, not None).
        return wthooks.WiredTigerHookPlatformAPI()

    def setup_hooks(self):
        shutil.copy = _copy
        shutil.copy2 = _copy2
        orig_create = self.Session["create"]
        self.wiredtiger["wiredtiger_open"] = (wthooks.HOOK_ARGS, wiredtiger_open_args)
        self.Session["create"] = (wthooks.HOOK_REPLACE, lambda s, uri, config=None:
                                  session_create_replace(orig_create, s, uri, config))


def initialize(arg):
    return [WtkmsHookCreator(arg)]
