#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build-wt10.sh -- WiredTiger 10.0.0 (MongoDB 4.4 to 6.0): scripts/build-wt.sh 10.0.0, kept for
# the scripts and habits that call it by this name. Usage: scripts/build-wt10.sh [CACHE_DIR]
exec "$(dirname "$0")/build-wt.sh" 10.0.0 "$@"
