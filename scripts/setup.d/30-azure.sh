#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 30-azure.sh -- the Azure peers. The Go emulators DESIGN.md names
# (github.com/calvinchengx/azure-keyvault-emulator and .../entra-emulator) cannot be installed
# here: the Go module proxy answers 403 "This module version is not available" for every version,
# and Lowkey Vault's application jar is not on Maven Central. The tests use
# tests/peers/azure_peer.py instead (Key Vault + Entra ID stand-in), which needs only the pinned
# `cryptography` from tests/requirements.txt: check that it imports, so a broken install fails
# here with its cause.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
"$top/.venv/bin/python" -c 'import cryptography.hazmat.primitives.asymmetric.rsa, cryptography.x509' \
    || { echo "30-azure: the cryptography package does not import in $top/.venv" >&2; exit 1; }
