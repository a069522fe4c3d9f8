#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build-wt11.sh -- WiredTiger 11.3.1 (MongoDB 8.0): scripts/build-wt.sh 11.3.1, kept for the
# scripts and habits that call it by this name. Usage: scripts/build-wt11.sh [CACHE_DIR]
exec "$(dirname "$0")/build-wt.sh" 11.3.1 "$@"
