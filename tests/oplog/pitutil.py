# SPDX-License-Identifier: Apache-2.0
"""Point-in-time restore fixtures shared by the pit tests: a snapshot of a small home taken at an
oplog time T0, and an oplog store tapped from the scripted server holding the given entries."""
import json

from oplogutil import read_bson


def make_pit(tool, server, tmp_path, entries, t0, name="pit", snapshot_uri=None):
    """entries: RawBSONDocuments in ts order; t0: (secs, inc). With snapshot_uri the snapshot
    reads its oplog time (and term) from that fsync-locked server instead of --oplog-ts."""
    line = tool.line
    base = tmp_path / name
    base.mkdir()
    home = base / "home"
    home.mkdir()
    line.run([line.wt, "-h", home, "-C", "create", "create", "-c",
              "key_format=S,value_format=S", "table:t"])
    snaps = base / "snaps"
    how = ["--fsync-locked", "--uri", snapshot_uri] if snapshot_uri else \
        ["--oplog-ts", "%d:%d" % t0]
    sid = json.loads(tool.run("snapshot", "create", "--home", home, "--store", snaps, *how,
                              "--json").stdout)["id"]
    server.append(entries)
    ostore = base / "oplog"
    tool.tap_once(server.uri, ostore, "--segment-bytes", "2K")
    return {"sid": sid, "snaps": snaps, "ostore": ostore, "base": base}


def restore(tool, pit, until, *extra, check=True):
    return tool.run("pit", "restore", "--snapshot", pit["sid"], "--store", pit["snaps"],
                    "--oplog-store", pit["ostore"], "--until", until, *extra, check=check)


def restore_to(tool, pit, until, *extra):
    """--to: the oplog.bson written beside the restored home, as raw documents."""
    to = pit["base"] / ("r-" + until.replace(":", "-") + "-%d" % len(list(pit["base"].iterdir())))
    p = restore(tool, pit, until, "--to", to, "--json", *extra)
    return json.loads(p.stdout), read_bson(to.parent / (to.name + "-oplog") / "oplog.bson")
