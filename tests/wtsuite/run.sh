#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- WiredTiger's own encryption tests, and its salvage, verify and backup tests with
# encryption on, with wtkms as the encryptor, on each 11.x line (README, "WiredTiger's own
# encryption tests").
#
# Usage: tests/wtsuite/run.sh [VERSION...]    default: $WTKMS_WTSUITE_VERSIONS, else 11.3.1
#
# For each VERSION: builds (once, cached) that line's Python bindings and test extensions
# (scripts/build-wt-python.sh), copies its test/ from the source package and applies
# tests/wtsuite/overlay.py to the copy, makes a fresh local master key, and runs WiredTiger's
# run.py twice against build/wt-X.Y/libwtkms.so (scripts/build.sh builds it):
#   1. test_encrypt01-04, 06-09 (there is no test_encrypt05): the wtkms scenarios only;
#   2. --hook wtkms (tests/wtsuite/hook_wtkms.py: every open and table encrypted with wtkms):
#      test_salvage01, test_salvage02, test_verify, test_verify2 and the backup tests below.
# Prints the counts of each run. Fails when a test fails or errs, when a test is skipped for
# any reason but the ones hook_wtkms.py lists (a compressor or wtkms not found must fail), and
# when a module named below passes no test at all (a scenario list the overlay emptied).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/wtsuite
versions=("$@")
[ ${#versions[@]} -gt 0 ] || read -r -a versions <<<"${WTKMS_WTSUITE_VERSIONS:-11.3.1}"
jobs=${WTKMS_WTSUITE_JOBS:-$(nproc)}

ENCRYPT_TESTS=(test_encrypt01 test_encrypt02 test_encrypt03 test_encrypt04 test_encrypt06
    test_encrypt07.test_encrypt07_wtkms test_encrypt08.test_encrypt08_wtkms
    test_encrypt09.test_encrypt09_wtkms)
HOOK_TESTS=(test_salvage01 test_salvage02 test_verify test_verify2)
# The backup tests: every test_backupNN of the line but test_backup26, whose ten scenarios (about
# 20 s each on 2 cores, a third of this stage) back up 1 to 100 percent of a set of tables: the
# same full and incremental backup paths test_backup01-25 and 27-30 take, so nothing of the
# encryptor's that they do not already exercise. WTKMS_WTSUITE_BACKUP26=1 runs it too.

# summary LOG -- "ran passed failed errors skipped" from run.py's (unittest's) last lines.
summary() {
    python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1], errors="replace").read()
ran = re.findall(r"^Ran (\d+) tests? in", text, re.M)
if not ran:
    print("0 0 0 1 0")
    sys.exit(0)
n = int(ran[-1])
tail = text[text.rfind("\nRan "):]
def count(k):
    m = re.search(k + r"=(\d+)", tail)
    return int(m.group(1)) if m else 0
f, e, s = count("failures"), count("errors"), count("skipped")
if not re.search(r"^(OK|FAILED)\b", tail, re.M):
    e += 1
print(n, n - f - e - s, f, e, s)
EOF
}

# passed_modules LOG -- the test modules with at least one test that ran and was not skipped. With
# -j, the children's lines interleave with the parent's "NAME ... ok", so a test's own line
# "[pid:N]: NAME: S seconds" (every test that ran, failed ones too: the run's counts catch those)
# is taken, less the names a hook skip gives ("skipped "NAME for hook wtkms: ...").
passed_modules() {
    python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1], errors="replace").read()
ran = set(re.findall(r"\[pid:\d+\]: ([^\[\]]+?): \d+\.\d+ seconds", text))
skipped = set(re.findall(r'skipped "([^"]+?) for hook wtkms', text))
print("\n".join(sorted({t.split(".", 1)[0] for t in ran - skipped})))
EOF
}

# skips_ok LOG -- every skip in LOG is one hook_wtkms.py registered ("... for hook wtkms: ...").
skips_ok() {
    python3 - "$1" <<'EOF'
import re, sys
bad = [l for l in open(sys.argv[1], errors="replace")
       if re.search(r"\bskip", l, re.I) and "for hook wtkms:" not in l
       and re.search(r"(skipped|SkipTest|skip) ['\"(]", l)]
for l in bad:
    print("unexpected skip: " + l.rstrip())
sys.exit(1 if bad else 0)
EOF
}

status=0
for v in "${versions[@]}"; do
    line=${v%.*}
    lib=$top/build/wt-$line/libwtkms.so
    [ -f "$lib" ] || { echo "wtsuite: $lib is missing: run scripts/build.sh" >&2; exit 1; }
    wt=$("$top/scripts/build-wt-python.sh" "$v" | tail -1)
    work=$(mktemp -d "${TMPDIR:-/tmp}/wtsuite-$v.XXXXXX")
    python3 "$here/overlay.py" "$wt/wiredtiger-$v" "$work/src" >/dev/null
    head -c 32 /dev/urandom >"$work/master.key"
    chmod 600 "$work/master.key"
    export WT_BUILDDIR=$wt/build WTKMS_SUITE_LIB=$lib WTKMS_SUITE_KEY=$work/master.key
    export LD_LIBRARY_PATH=$wt/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    runpy=$work/src/test/suite/run.py
    failed=0
    for run in encrypt hook; do
        start=$(date +%s)
        if [ $run = encrypt ]; then
            args=("${ENCRYPT_TESTS[@]}")
        else
            args=(--hook wtkms "${HOOK_TESTS[@]}")
            for f in "$work/src/test/suite"/test_backup[0-9]*.py; do
                f=$(basename "$f" .py)
                [ "$f" != test_backup26 ] || [ "${WTKMS_WTSUITE_BACKUP26:-0}" = 1 ] || continue
                args+=("$f")
            done
        fi
        (cd "$work" && python3 "$runpy" -v 2 -j "$jobs" -D "$work/$run" "${args[@]}") \
            >"$work/$run.log" 2>&1 || true
        read -r n pass fail err skip < <(summary "$work/$run.log")
        printf 'wtsuite %s %-7s %4d tests: %4d passed, %d failed, %d errors, %d skipped (%ds)\n' \
            "$v" "$run" "$n" "$pass" "$fail" "$err" "$skip" $(($(date +%s) - start))
        if [ "$fail" -ne 0 ] || [ "$err" -ne 0 ] || [ "$n" -eq 0 ]; then
            failed=1
            grep -E '(^|\]: )(FAIL|ERROR): ' "$work/$run.log" | sort -u | head -40 >&2 || true
        fi
        if [ "$skip" -ne 0 ] && ! skips_ok "$work/$run.log" >&2; then
            failed=1
        fi
        passed=$(passed_modules "$work/$run.log")
        for t in "${args[@]}"; do
            case "$t" in --hook | wtkms | backup) continue ;; esac
            m=${t%%.*}
            if ! grep -qx "$m" <<<"$passed"; then
                echo "wtsuite $v: no test of $t passed" >&2
                failed=1
            fi
        done
        if [ "$skip" -ne 0 ]; then
            grep -oE 'for hook wtkms: [^"]*' "$work/$run.log" | sort | uniq -c >&2 || true
        fi
    done
    if [ $failed -ne 0 ]; then
        echo "wtsuite $v: FAILED; logs and test homes kept in $work" >&2
        status=1
    else
        rm -rf "$work"
    fi
done
exit $status
