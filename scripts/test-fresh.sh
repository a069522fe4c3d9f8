#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test-fresh.sh -- the README's first command, exactly as written, on a fresh Debian system.
#
# A minimal Debian root (mmdebstrap --variant=minbase: dpkg, apt and the essential packages, no
# compiler, no build tool) is built once from this machine's Debian release and apt sources and
# cached as CACHE/fresh/root-SUITE-TAG.tar (CACHE: WTKMS_CACHE or .cache; TAG: a digest of the
# apt sources). Each run unpacks it into a tmpfs in a private mount namespace, copies the tracked
# tree into /root/wtkms (git ls-files: no build/, no .cache/, no venv), and runs the first line
# of the README's first code block there, as root, with `chroot`. The packages apt downloads
# inside are kept in CACHE/fresh/apt-archives, so later runs install the same packages without
# downloading them again (apt checks each cached file against the signed index it fetches first).
#
# Needs root (it re-runs itself through sudo) and mmdebstrap (scripts/setup-tests.sh installs it).
# Anything that stops the check (no root, no mmdebstrap, no network for the first bootstrap) fails
# it: nothing here is skipped.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env=WTKMS_CACHE "$0" "$@"
fi
cache=${WTKMS_CACHE:-$top/.cache}/fresh
mkdir -p "$cache/apt-archives/partial"
command -v mmdebstrap >/dev/null ||
    { echo "test-fresh: mmdebstrap is missing: run scripts/setup-tests.sh" >&2; exit 1; }

# The README's first command: the first line of its first ```sh block.
cmd=$(awk '/^```sh$/ { inblock = 1; next } inblock { print; exit }' "$top/README.md")
[ -n "$cmd" ] || { echo "test-fresh: README.md has no \`\`\`sh block" >&2; exit 1; }

suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || { echo "test-fresh: /etc/os-release names no Debian release" >&2; exit 1; }
# The sources this machine's apt uses (a fresh install of the same release has the same mirror).
sources=()
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -f "$f" ] && grep -qE '^[[:space:]]*(deb|Types:)' "$f" && sources+=("$f")
done
tag=$(cat "${sources[@]}" /dev/null | sha256sum | cut -c1-12)
root_tar=$cache/root-$suite-$tag.tar

t0=$SECONDS
if [ ! -f "$root_tar" ]; then
    echo "test-fresh: building a minimal $suite root (mmdebstrap --variant=minbase)" >&2
    rm -f "$cache"/root-"$suite"-*.tar
    mmdebstrap --quiet --variant=minbase --mode=root --format=tar "$suite" "$root_tar.tmp" \
        "${sources[@]}"
    mv "$root_tar.tmp" "$root_tar"
    echo "test-fresh: root built in $((SECONDS - t0)) s" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/wtkms-fresh.XXXXXX")
trap 'rm -rf "$work"' EXIT
git -C "$top" ls-files -z | tar -C "$top" --null -T - -cf "$work/tree.tar"

echo "test-fresh: running in a fresh $suite root: $cmd" >&2
t1=$SECONDS
# A private mount namespace: the root lives in a tmpfs there (dpkg's fsyncs cost nothing, and
# the whole root is gone the moment the command ends, whatever happens to it), with the mounts.
status=0
unshare --mount --propagation private -- /bin/bash -c '
    set -e
    work=$1 root_tar=$2 archives=$3 cmd=$4
    root=$work/root
    mkdir "$root"
    mount -t tmpfs -o size=4G,mode=755 fresh "$root"
    tar -C "$root" -xf "$root_tar"
    mkdir -p "$root/root/wtkms"
    tar -C "$root/root/wtkms" -xf "$work/tree.tar"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc"
    mount --bind /dev "$root/dev"
    mount --bind "$archives" "$root/var/cache/apt/archives"
    exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /root/wtkms && $cmd"
' fresh "$work" "$root_tar" "$cache/apt-archives" "$cmd" || status=$?
if [ "$status" -ne 0 ]; then
    echo "test-fresh: FAILED (exit $status) after $((SECONDS - t1)) s: the README's first command" \
        "does not work on a fresh $suite" >&2
    exit 1
fi
echo "test-fresh: OK: the README's first command works on a fresh $suite" \
    "(root ready in $((t1 - t0)) s, then unpacked and the command run in $((SECONDS - t1)) s)" >&2
