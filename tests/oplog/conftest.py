# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the oplog tap tests: the wtkms command (system line: the tap does not touch
WiredTiger), the scripted oplog server (tests/peers/oplog_mock.py, on mockupdb)."""
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oplogutil import OplogServer, Tool  # noqa: E402


@pytest.fixture
def tool(line32, tmp_path, local_key):
    return Tool(line32, tmp_path, local_key)


@pytest.fixture
def oplog_server():
    s = OplogServer(batch_size=7)
    try:
        s.start()
    except Exception as e:  # a peer that cannot start fails the test
        pytest.fail("the scripted oplog server (mockupdb) did not start: %s" % e)
    yield s
    s.stop()


@pytest.fixture
def wait_until():
    def wait(cond, timeout=30, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s" % what)
    return wait


# --- S3 (moto), shared with tests/snapshot: the same peer for segments as for snapshots --------

import importlib.util  # noqa: E402

_sspec = importlib.util.spec_from_file_location(
    "wtkms_tests_snapshot_conftest_oplog", Path(__file__).resolve().parent.parent / "snapshot"
    / "conftest.py")
_snapconf = importlib.util.module_from_spec(_sspec)
_sspec.loader.exec_module(_snapconf)
moto_s3 = _snapconf.moto_s3  # the fixtures, registered here too
s3_env = _snapconf.s3_env
S3_REGION = _snapconf.S3_REGION
faultproxy = _snapconf._providers.faultproxy  # tests/peers/faultproxy.py, between tap and moto
