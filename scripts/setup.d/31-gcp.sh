#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 31-gcp.sh -- the Google Cloud KMS peers. The Go emulator DESIGN.md names
# (github.com/blackwell-systems/gcp-kms-emulator/cmd/server-rest) cannot be installed here: the Go
# module proxy answers 403 "This module version is not available" for every version. The tests
# use tests/peers/gcp_kms.py (Cloud KMS REST stand-in) and tests/peers/gcp_token.py (our token
# endpoint that verifies the RS256 JWT grant), which need only the pinned `cryptography` from
# tests/requirements.txt: check that it imports, so a broken install fails here with its cause.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
"$top/.venv/bin/python" -c 'import cryptography.hazmat.primitives.ciphers.aead, cryptography.hazmat.primitives.asymmetric.padding' \
    || { echo "31-gcp: the cryptography package does not import in $top/.venv" >&2; exit 1; }
