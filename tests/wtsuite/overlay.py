#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""overlay.py -- WiredTiger's own encryption tests with a wtkms scenario, in a copy of its suite.

Usage: overlay.py SRC DEST
  SRC   an unpacked WiredTiger source package (wiredtiger-11.x.y/), left untouched
  DEST  made afresh: DEST/test/{suite,py_utility,3rdparty} copied from SRC, then
        - wtkms_scenario.py, wtkms_damage.py and hook_wtkms.py (beside this file) added to
          DEST/test/suite;
        - to each of test_encrypt01 ... test_encrypt09 a block appended (ADDITIONS below): to
          01, 02, 03, 04 and 06 wtkms scenarios next to rotn and sodium (only those are kept:
          wtkms_scenario.select); to 07, 08 and 09, whose tests are rotn's or sodium's without a
          scenario list of that kind, a subclass test_encrypt0N_wtkms with wtkms's scenarios
          (tests/wtsuite/run.sh names those classes, so the rotn and sodium ones do not run).
The original test code is not edited: every addition is appended after it and reuses the test's
own lists, methods and assertions. Nothing of WiredTiger's is kept in this repository.

The wtkms scenarios: a local master key (the extension's provider=local), keyid=system for the
connection, a keyid of its own for each table; every compressor scenario of the test; early_load
true and false where the test has that dimension.
"""
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# test_encrypt01: basic round trip, every compressor scenario, early_load true and false.
# 'wtkms' encrypts metadata, log and table (each under its own keyid); 'wtkms-none' the metadata
# and log only, as 'rotn-none' does.
E01 = """
test_encrypt01.encrypt = test_encrypt01.encrypt + [
    ('wtkms', dict(sys_encrypt='wtkms', sys_encrypt_args=',keyid=system',
        file_encrypt='wtkms', file_encrypt_args=',keyid=table01')),
    ('wtkms-none', dict(sys_encrypt='wtkms', sys_encrypt_args=',keyid=system',
        file_encrypt='none', file_encrypt_args='')),
]
test_encrypt01.scenarios = wtkms_scenario.select(make_scenarios(test_encrypt01.types,
    test_encrypt01.encrypt, test_encrypt01.compress, test_encrypt01.loadExt))
"""

# test_encrypt02: the round trip, then `wt dump` in a separate process (which loads wtkms from
# WiredTiger.basecfg). Its rotn/sodium scenarios load both those extensions; the wtkms scenario
# loads wtkms. wtkms has no secretkey= (it refuses one: test_encrypt08_wtkms), so there is no
# 'pass' scenario and no `wt -E`.
E02 = """
test_encrypt02.encrypt_type = test_encrypt02.encrypt_type + [
    ('wtkms-keyid', dict(encrypt_args='name=wtkms,keyid=system', secret_arg=None)),
]
test_encrypt02.scenarios = wtkms_scenario.select(make_scenarios(test_encrypt02.encrypt_type))
_e02_conn_extensions = test_encrypt02.conn_extensions
def _e02_wtkms_extensions(self, extlist):
    if 'name=wtkms' in self.encrypt_args:
        extlist.extension('encryptors', 'wtkms')
    else:
        _e02_conn_extensions(self, extlist)
test_encrypt02.conn_extensions = _e02_wtkms_extensions
"""

# test_encrypt03: table encryption without connection encryption is refused.
E03 = """
test_encrypt03.encrypt = test_encrypt03.encrypt + [
    ('wtkms-none', dict(sys_encrypt='none', sys_encrypt_args='',
        file_encrypt='wtkms', file_encrypt_args=',keyid=13')),
]
test_encrypt03.scenarios = wtkms_scenario.select(make_scenarios(test_encrypt03.types,
    test_encrypt03.encrypt))
"""

# test_encrypt04: reopening with another encryption configuration must fail, the same one must
# work. wtkms's counterpart of rotn's keyid/secretkey pairs: the connection's keyid (the
# metadata's blocks are under keyid system's data key: opened as keyid=other they are refused),
# and a table in clear. The master key is the extension's, not part of encryption=(...).
E04 = """
test_encrypt04.encrypt_scen_1 = test_encrypt04.encrypt_scen_1 + [
    ('wtkms_system', dict(name1='wtkms', keyid1='system', secretkey1='')),
    ('wtkms_other', dict(name1='wtkms', keyid1='other', secretkey1='')),
    ('wtkms_system_and_clear', dict(name1='wtkms', keyid1='system', secretkey1='',
        fileinclear1=True)),
]
test_encrypt04.encrypt_scen_2 = test_encrypt04.encrypt_scen_2 + [
    ('wtkms_system', dict(name2='wtkms', keyid2='system', secretkey2='')),
    ('wtkms_other', dict(name2='wtkms', keyid2='other', secretkey2='')),
    ('wtkms_system_and_clear', dict(name2='wtkms', keyid2='system', secretkey2='',
        fileinclear2=True)),
]
test_encrypt04.scenarios = wtkms_scenario.select(make_scenarios(test_encrypt04.encrypt_scen_1,
    test_encrypt04.encrypt_scen_2))
"""

# test_encrypt06: no clear text of keys, values or column names anywhere in the home, for every
# storage type (column groups, indices, LSM).
E06 = """
test_encrypt06.encrypt = test_encrypt06.encrypt + [
    ('wtkms-implied', dict(
        sys_encrypt='wtkms', sys_encrypt_args=',keyid=system',
        table0_encrypt=None, table0_encrypt_args='',
        table1_encrypt=None, table1_encrypt_args='')),
    ('wtkms-all', dict(
        sys_encrypt='wtkms', sys_encrypt_args=',keyid=system',
        table0_encrypt='wtkms', table0_encrypt_args=',keyid=t13',
        table1_encrypt='wtkms', table1_encrypt_args=',keyid=t13')),
    ('wtkms-two-keyids', dict(
        sys_encrypt='wtkms', sys_encrypt_args=',keyid=system',
        table0_encrypt='wtkms', table0_encrypt_args=',keyid=t0',
        table1_encrypt='wtkms', table1_encrypt_args=',keyid=t1')),
    ('wtkms-sys', dict(
        sys_encrypt='wtkms', sys_encrypt_args=',keyid=system',
        table0_encrypt='none', table0_encrypt_args='',
        table1_encrypt='none', table1_encrypt_args='')),
    ('wtkms-table0', dict(
        sys_encrypt='wtkms', sys_encrypt_args=',keyid=system',
        table0_encrypt='wtkms', table0_encrypt_args=',keyid=t13',
        table1_encrypt='none', table1_encrypt_args='')),
]
test_encrypt06.scenarios = wtkms_scenario.select(make_scenarios(test_encrypt06.encrypt,
    test_encrypt06.storagetype))
"""

# test_encrypt07: salvage of an encrypted table (test_salvage01's six tests, every format), with
# block checksums on (WiredTiger's default: a damaged block
# fails WiredTiger's checksum) and checksum=unencrypted (an encrypted block is not checksummed, so
# a damaged one reaches wtkms, which must refuse it with WT_ERROR for salvage to skip it; verify
# then reports wtkms's authentication message instead of WiredTiger's checksum error).
#
# rotn's damage() finds its target by the rot13 of a value, which only an encryptor that leaves
# the plain text's structure on disk allows; AES-GCM leaves none. The wtkms scenario damages one
# byte of the ciphertext of the middle leaf page of the file instead (wtkms_damage.py), which is
# the same damage: one byte of one leaf page, found without the key.
E07 = """
import re
import wtkms_damage

_encrypt07 = test_encrypt07
# What wtkms writes to WiredTiger's error stream for each damaged block it refuses.
_AUTH = re.compile(r'wtkms: keyid table07: block under data key \\d+, open \\d+, nonce \\d+ fails '
                   r'authentication')

class test_encrypt07_wtkms(_encrypt07):
    sys_encrypt = 'wtkms'
    sys_encrypt_args = ',keyid=system'
    checksums = [
        ('wtkms-checksum-on', dict(checksum='on')),
        ('wtkms-checksum-unencrypted', dict(checksum='unencrypted')),
    ]
    # test_salvage01's fail-point dimension only changes its conn_config, which test_encrypt07
    # replaces (rotn's runs of it are pairs of identical tests): one of each pair is kept.
    scenarios = make_scenarios(test_salvage01.test_salvage01.format_values, checksums)

    def moreinit(self):
        test_salvage01.test_salvage01.moreinit(self)
        self.session_params += ',encryption=(name=wtkms,keyid=table07),checksum=' + self.checksum

    def damage(self, tablename):
        self.close_conn()
        wtkms_damage.damage_middle_leaf(self, tablename)
        self.damaged = True

    # checksum=unencrypted: the damaged block reaches wtkms, which refuses it with WT_ERROR (so
    # verify reports it and salvage skips it) and says why. verify's error is then wtkms's
    # message, not WiredTiger's checksum error; salvage's output holds that message for each
    # damaged block it skipped, and nothing else (WiredTiger silences its own messages in
    # salvage, not an extension's).
    def assertRaisesWithMessage(self, exceptionType, expr, message):
        if self.checksum == 'unencrypted' and message == '/read checksum error/':
            message = '/' + _AUTH.pattern + '/'
        return _encrypt07.assertRaisesWithMessage(self, exceptionType, expr, message)

    def test_salvage_api_damaged(self):
        if self.checksum == 'unencrypted':
            self.captureerr.setIgnorePattern(_AUTH)
        return _encrypt07.test_salvage_api_damaged(self)

    def _only_auth_messages(self, filename):
        with open(filename) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        self.assertTrue(lines, filename + ': no wtkms message for the damaged block')
        for l in lines:
            self.assertRegex(l, _AUTH, filename + ': unexpected output')

    def check_empty_file(self, filename):
        if self.checksum == 'unencrypted' and getattr(self, 'damaged', False) and \\
                filename == 'salvageerr.out':
            return self._only_auth_messages(filename)
        return _encrypt07.check_empty_file(self, filename)

    def check_no_error_in_file(self, filename, match='ERROR'):
        if self.checksum == 'unencrypted' and getattr(self, 'damaged', False) and \\
                filename == 'salvageerr.out':
            return self._only_auth_messages(filename)
        return _encrypt07.check_no_error_in_file(self, filename, match)
"""

# test_encrypt08: the encryptor's customize refuses a bad connection configuration with a clear
# message. sodium's cases (no key, keyid given, secretkey not hex ...) become wtkms's: no keyid,
# secretkey= (refused: keys come from the keystore), and an overlong keyid.
E08 = """
class test_encrypt08_wtkms(test_encrypt08):
    encrypt_type = [
        ('wtkms-nokey', dict(sys_encrypt='', msg='/needs a keyid/')),
        ('wtkms-secretkey', dict(sys_encrypt='keyid=system,secretkey=' +
            test_encrypt08.sodium_testkey,
            msg='/secretkey=.... is not used by wtkms and is refused/')),
        ('wtkms-secretkey-only', dict(sys_encrypt='secretkey=' + test_encrypt08.sodium_testkey,
            msg='/needs a keyid/')),
        ('wtkms-longkeyid', dict(sys_encrypt='keyid=' + 'k' * 300, msg='/keyid is longer than/')),
    ]
    scenarios = make_scenarios(encrypt_type)

    def conn_extensions(self, extlist):
        extlist.extension('encryptors', 'wtkms')

    def test_encrypt(self):
        sysconfig = 'encryption=(name=wtkms,{0}),'.format(self.sys_encrypt)
        self.assertRaisesWithMessage(wiredtiger.WiredTigerError,
            lambda: self.reopen_conn(config = sysconfig), self.msg)

"""

# test_encrypt09: the same for a table's encryption=(...): a keyid of its own (created, written,
# reopened and read), no keyid (sodium's nokey case falls back to its connection key; wtkms
# refuses it at create, naming the missing keyid, as README documents: every table names its
# keyid), secretkey= (which WiredTiger itself refuses for a table: 11.3.1 words the message
# "unknown configuration key 'secretkey'", which sodium's pattern in this file predates) and an
# overlong keyid.
E09 = """
class test_encrypt09_wtkms(test_encrypt09):
    encrypt_type = [
        ('wtkms-nokey', dict(file_encrypt='', msg='/needs a keyid/')),
        ('wtkms-keyid', dict(file_encrypt='keyid=table09', msg=None)),
        ('wtkms-twokeys', dict(file_encrypt='keyid=123,secretkey=' + test_encrypt09.sodium_testkey,
            msg='/unknown configuration key .secretkey./')),
        ('wtkms-longkeyid', dict(file_encrypt='keyid=' + 'k' * 300, msg='/keyid is longer than/')),
    ]
    scenarios = make_scenarios(encrypt_type)

    def conn_extensions(self, extlist):
        extlist.extension('encryptors', 'wtkms')

    def conn_config(self):
        return 'encryption=(name=wtkms,keyid=system),'

    def test_encrypt(self):
        params = 'key_format=S,value_format=S,encryption=(name=wtkms,' + self.file_encrypt + ')'
        if self.msg is None:
            self.session.create(self.uri, params)
            c = self.session.open_cursor(self.uri)
            c['k'] = 'v'
            c.close()
            self.reopen_conn()
            c = self.session.open_cursor(self.uri)
            self.assertEqual(c['k'], 'v')
            c.close()
        else:
            self.assertRaisesWithMessage(wiredtiger.WiredTigerError, lambda:
                self.session.create(self.uri, params), self.msg)

"""

ADDITIONS = {
    "test_encrypt01": E01,
    "test_encrypt02": E02,
    "test_encrypt03": E03,
    "test_encrypt04": E04,
    "test_encrypt06": E06,
    "test_encrypt07": E07,
    "test_encrypt08": E08,
    "test_encrypt09": E09,
}

HEADER = """

# ---- added by wtkms tests/wtsuite/overlay.py (not part of WiredTiger) ----
import os
import wiredtiger
import wtkms_scenario
from wtscenario import make_scenarios
"""

OWN_FILES = ("wtkms_scenario.py", "wtkms_damage.py", "hook_wtkms.py")


def overlay(src, dest):
    src, dest = Path(src), Path(dest)
    if not (src / "test" / "suite" / "run.py").is_file():
        sys.exit("overlay: %s is not an unpacked WiredTiger source (no test/suite/run.py)" % src)
    if dest.exists():
        shutil.rmtree(dest)
    for d in ("suite", "py_utility", "3rdparty"):
        shutil.copytree(src / "test" / d, dest / "test" / d, symlinks=True)
    suite = dest / "test" / "suite"
    for name in OWN_FILES:
        shutil.copy(HERE / name, suite / name)
    for module, text in ADDITIONS.items():
        path = suite / (module + ".py")
        if not path.is_file():
            sys.exit("overlay: %s has no %s.py" % (src, module))
        with open(path, "a") as f:
            f.write(HEADER + text)
    return suite


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: overlay.py SRC DEST")
    print(overlay(sys.argv[1], sys.argv[2]))
