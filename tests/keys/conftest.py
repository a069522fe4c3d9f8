# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the keys suite (helpers in ksutil.py)."""
import pytest

from ksutil import new_key


@pytest.fixture
def keys(line32, tmp_path, local_key):
    """Three local master keys (the first is local_key)."""
    kdir = tmp_path / "keys"
    kdir.mkdir()
    return [local_key] + [new_key(line32, kdir / ("k%d.key" % i)) for i in range(1, 3)]
