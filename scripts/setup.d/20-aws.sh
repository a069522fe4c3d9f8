#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 20-aws.sh -- the AWS peers: moto server (signature checks on in the tests) and boto3/botocore,
# from PyPI through tests/requirements.txt (pinned) into the project venv; tests/peers/
# aws_kms_mock.py verifies SigV4 with that botocore; the TLS tests make certificates with the
# openssl command. This installs what is missing and checks it all imports, so a broken install
# fails here with its cause rather than as a peer that never listens.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
venv=$top/.venv
req=$top/tests/requirements.txt
if [ ! -x "$venv/bin/moto_server" ]; then
    "$venv/bin/pip" install -q $(grep -iE '^(moto\[server\]|boto3|botocore)==' "$req")
fi
"$venv/bin/python" -c 'import moto.server, boto3, botocore.auth, cryptography.hazmat.primitives.ciphers.aead' \
    || { echo "20-aws: moto/boto3/botocore do not import in $venv" >&2; exit 1; }
command -v openssl >/dev/null || { echo "20-aws: the openssl command is missing" >&2; exit 1; }
