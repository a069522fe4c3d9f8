# SPDX-License-Identifier: Apache-2.0
"""Oplog segments in S3-compatible storage (moto with signature checks on, the snapshot tests'
peer): tap -> list -> verify -> export -> keys usage against s3://BUCKET/PREFIX, objects named as
in a directory store; a second tap cannot fork the chain; a tap keeps running through S3 failures
(tests/peers/faultproxy.py between it and moto) and loses no entry."""
import json

import pytest

from oplogutil import entry, read_bson, ts_of
from storeview import S3Store, s3_bucket, s3_flags

S = 1700000000


@pytest.fixture
def s3store(tool, moto_s3, s3_env, tmp_path):
    creds = moto_s3.credentials_file(tmp_path / "s3creds")
    st = S3Store(moto_s3, s3_bucket(moto_s3, tmp_path), "team/oplog-rs0",
                 s3_flags(moto_s3, creds))
    tool.extra = st.flags
    return st


def test_s3_tap_list_verify_export_usage(tool, oplog_server, s3store, tmp_path):
    oplog_server.append([entry(S, i) for i in range(1, 41)])
    tool.tap_once(oplog_server.uri, s3store.url, "--segment-bytes", "1500")
    names = s3store.segs()
    assert len(names) >= 4 and names[0] == "oplog-000000000001.seg"
    assert s3store.exists("oplog.head")
    # Only segments and the head under the prefix: no lock object, no temporary names.
    assert sorted(s3store.keys()) == sorted(names + ["oplog.head"])

    listing = tool.list(s3store.url)
    assert listing["store"] == s3store.url
    assert [s["file"] for s in listing["list"]] == names
    assert listing["list"][0]["encryption_key_id"].startswith("local:")

    p = tool.run("oplog", "verify", "--store", s3store.url, "--json", "--expect-last",
                 "%d:40" % S)
    v = json.loads(p.stdout)
    assert v["ok"] and v["entries"] == 40, v

    docs = tool.exported(s3store.url)
    assert [ts_of(d) for d in docs] == [(S, i) for i in range(1, 41)]

    # A second run continues the chain from the objects.
    oplog_server.append([entry(S, i) for i in range(41, 51)])
    tool.tap_once(oplog_server.uri, s3store.url, "--segment-bytes", "1500")
    assert [ts_of(d) for d in tool.exported(s3store.url)] == [(S, i) for i in range(1, 51)]

    kid = listing["list"][0]["encryption_key_id"]
    p = tool.run("keys", "usage", kid, "--store", s3store.url, "--json", key=False, check=False)
    u = json.loads(p.stdout)
    assert p.returncode == 6 and u["verdict"] == "not safe", (p.returncode, u, p.stderr)
    # One line per tap run: two runs.
    assert [d["kind"] for d in u["dependents"]] == ["oplog", "oplog"], u
    assert u["dependents"][0]["store"] == s3store.url


def test_s3_second_writer_cannot_fork_the_chain(tool, oplog_server, s3store):
    """A tap resumed a chain, then another writer put the next segment: the tap's conditional
    PUT finds the name taken by different bytes and stops, leaving the other object alone (no
    lock file in S3: the segment name is the claim)."""
    oplog_server.append([entry(S, i) for i in range(1, 21)])
    tool.tap_once(oplog_server.uri, s3store.url, "--segment-bytes", "1500")
    names = s3store.segs()
    nxt = "oplog-%012d.seg" % (len(names) + 1)
    tap = tool.start_tap(oplog_server.uri, s3store.url, "--segment-seconds", "3600")
    try:
        tap.wait_for("tailing local.oplog.rs")
        foreign = b"another writer's segment " + s3store.read(names[-1])
        s3store.write(nxt, foreign)
        oplog_server.append([entry(S, i) for i in range(21, 31)])
        tap.wait_for("tailing local.oplog.rs on")
    finally:
        rc, out = tap.stop()
    assert rc == 6, (rc, out)  # refused for safety: another writer
    assert "already holds a different segment %d" % (len(names) + 1) in out, out
    assert s3store.read(nxt) == foreign
    assert s3store.segs() == names + [nxt]


def test_s3_tap_keeps_running_through_store_failures(tool, oplog_server, moto_s3, s3_env,
                                                     faultproxy, tmp_path):
    """A tap writing through tests/peers/faultproxy.py to moto: every request answered 503, then
    500, then connections reset, then timeouts, then a PUT carried out whose answer is lost. The
    tap keeps its place and its entries, tries again with backoff, and once the faults end the
    chain holds every entry exactly once and verifies against the newest one recorded."""
    fp = faultproxy(upstream=moto_s3.url)
    creds = moto_s3.credentials_file(tmp_path / "s3creds")
    st = S3Store(moto_s3, s3_bucket(moto_s3, tmp_path), "faulty",
                 s3_flags(moto_s3, creds, endpoint=fp.url) + ["--s3-timeout-ms", "1000"])
    tool.extra = st.flags
    oplog_server.append([entry(S, i) for i in range(1, 11)])
    tap = tool.start_tap(oplog_server.uri, st.url, "--segment-bytes", "1500",
                         "--segment-seconds", "1")
    try:
        tap.wait_for("saved segment 1:")
        last = 10
        for mode, delay in (("503", 0), ("500", 0), ("reset", 0), ("delay", 3)):
            fp.fault(mode, -1, delay)
            n = tap.output().count("trying again")
            oplog_server.append([entry(S, i) for i in range(last + 1, last + 16)])
            last += 15
            deadline = 60
            while tap.output().count("trying again") < n + 2 and deadline > 0:
                assert tap.proc.poll() is None, tap.output()
                import time
                time.sleep(0.25)
                deadline -= 0.25
            assert tap.output().count("trying again") >= n + 2, tap.output()
        fp.reset()  # the faults end: the tap catches up
        tap.wait_for(".. %d:%d" % (S, last), timeout=60)
        # The next request (a segment's PUT) is carried out, but its answer never arrives: the
        # request is sent again, finds the name taken (412), and reads the object back to see it
        # is its own.
        fp.fault("lost_answer", 1)
        oplog_server.append([entry(S, i) for i in range(last + 1, last + 11)])
        last += 10
        tap.wait_for(".. %d:%d" % (S, last), timeout=60)
    finally:
        rc, out = tap.stop()
    assert rc == 0, out
    assert "store writes tried again" in out, out
    stats = fp.stats()
    assert stats["faulted"] == 1, stats
    puts = {k: v for k, v in stats["by_target"].items() if k.startswith("PUT ") and ".seg" in k}
    lost = [k for k, v in puts.items() if v == 2]
    assert len(lost) == 1 and stats["by_target"].get(lost[0].replace("PUT", "GET", 1)) == 1, stats
    docs = tool.exported(st.url)
    assert [ts_of(d) for d in docs] == [(S, i) for i in range(1, last + 1)], out
    p = tool.run("oplog", "verify", "--store", st.url, "--expect-last", "%d:%d" % (S, last))
    assert "OK" in p.stdout, p.stdout


def test_s3_pit_restore_from_s3_snapshot_and_oplog_stores(tool, oplog_server, s3store, tmp_path):
    """pit restore with both stores in S3 (one bucket, two prefixes, one set of --s3-* flags):
    the same oplog slice as from directories."""
    from test_oplog_pit import S as PS, T0, TS, timeline
    line = tool.line
    home = tmp_path / "wthome"  # tmp_path/home is the s3_env HOME
    home.mkdir()
    line.run([line.wt, "-h", home, "-C", "create", "create", "-c",
              "key_format=S,value_format=S", "table:t"])
    line.run([line.wt, "-h", home, "write", "table:t", "a", "1"])
    snaps = "s3://%s/team/snaps" % s3store.bucket
    sid = json.loads(tool.run("snapshot", "create", "--home", home, "--store", snaps,
                              "--oplog-ts", "%d:%d" % (PS, T0), "--json").stdout)["id"]
    ents = timeline()
    oplog_server.append(list(ents.values()))
    tool.tap_once(oplog_server.uri, s3store.url, "--segment-bytes", "2K")
    to = tmp_path / "restored"
    j = json.loads(tool.run("pit", "restore", "--snapshot", sid, "--store", snaps,
                            "--oplog-store", s3store.url, "--until", "%d:%d" % (PS, TS),
                            "--to", to, "--json").stdout)
    assert j["until"] == "%d:%d" % (PS, TS)
    got = read_bson(to.parent / "restored-oplog" / "oplog.bson")
    want = [28, 29, 31, 32, 33, 36, 38]
    assert [d.raw for d in got] == [ents[i].raw for i in want]


def test_s3_tap_stopped_during_an_outage_resumes(tool, oplog_server, moto_s3, s3_env, faultproxy,
                                                tmp_path):
    """Every answer lost (the PUTs land, the tap never hears so) until the tap is stopped: the
    next run finds the segment that landed, with the head one behind, continues after it, and
    the chain holds every entry exactly once."""
    fp = faultproxy(upstream=moto_s3.url)
    creds = moto_s3.credentials_file(tmp_path / "s3creds")
    st = S3Store(moto_s3, s3_bucket(moto_s3, tmp_path), "outage",
                 s3_flags(moto_s3, creds, endpoint=fp.url) + ["--s3-timeout-ms", "1000"])
    tool.extra = st.flags
    oplog_server.append([entry(S, i) for i in range(1, 11)])
    tap = tool.start_tap(oplog_server.uri, st.url, "--segment-seconds", "1")
    try:
        tap.wait_for("saved segment 1:")
        fp.fault("lost_answer", -1)
        oplog_server.append([entry(S, i) for i in range(11, 21)])
        tap.wait_for("trying again", timeout=60)
    finally:
        rc, out = tap.stop()
    assert rc in (0, 3), (rc, out)
    fp.reset()
    assert st.segs() == ["oplog-000000000001.seg", "oplog-000000000002.seg"], out
    oplog_server.append([entry(S, i) for i in range(21, 26)])
    p = tool.tap_once(oplog_server.uri, st.url)
    assert "after segment 2" in p.stderr, p.stderr
    assert [ts_of(d) for d in tool.exported(st.url)] == [(S, i) for i in range(1, 26)]
    tool.run("oplog", "verify", "--store", st.url, "--expect-last", "%d:25" % S)


@pytest.mark.parametrize("same_token", [False, True], ids=["new-tokens", "same-token"])
def test_s3_endless_listing_stops(tool, s3_env, tmp_path, same_token):
    """An endpoint whose ListObjectsV2 says IsTruncated=true for ever (the snapshot tests' peer):
    the oplog store's listing stops at the same bounds as the snapshot store's."""
    from s3_endless import EndlessListing
    s3 = EndlessListing(same_token)
    creds = tmp_path / "creds"
    creds.write_text("[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = %s\n"
                     % ("s" * 40))
    creds.chmod(0o600)

    tool.extra = ["--s3-endpoint", s3.url, "--s3-region", "us-east-1", "--s3-credentials-file",
                  creds]
    try:
        p = tool.run("oplog", "list", "--store", "s3://b/oplog", check=False, key=False,
                     timeout=300)
    finally:
        s3.close()
    assert p.returncode == 1, (p.returncode, p.stderr)
    if same_token:
        assert "the same continuation token twice" in p.stderr, p.stderr
        assert s3.pages == 1 + 2  # the bucket check, then two pages
    else:
        assert "did not end after 10000 pages" in p.stderr, p.stderr
        assert s3.pages == 1 + 10000
