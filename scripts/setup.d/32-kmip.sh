#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 32-kmip.sh -- the KMIP peer: PyKMIP's server, from PyPI through tests/requirements.txt (pinned)
# into the project venv. This only checks that it is there and imports, so a broken install fails
# here, with its cause, rather than as a peer that never listens.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
venv=$top/.venv
if [ ! -x "$venv/bin/pykmip-server" ]; then
    "$venv/bin/pip" install -q "$(grep -i '^pykmip==' "$top/tests/requirements.txt")"
fi
PYTHONWARNINGS=ignore "$venv/bin/python" -c 'import kmip.services.server.server, kmip.pie.client' \
    || { echo "32-kmip: PyKMIP does not import in $venv" >&2; exit 1; }
