# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the foundation suite (helpers in fnd_util.py)."""
import pytest

from fnd_util import FndHome


@pytest.fixture
def fhome(wtline, tmp_path, local_key):
    for p in ("fnd_writer", "fnd_reader"):
        if not (wtline.progs / p).exists():
            pytest.fail("%s is not built for WiredTiger %s: run scripts/build.sh"
                        % (wtline.progs / p, wtline.name))
    home = tmp_path / "home"
    home.mkdir()
    return FndHome(wtline, home, local_key)
