#!/usr/bin/python3
"""Reproduction of F1 (docs/SAFETY.md): a leader whose disk fails for a few seconds (EIO at
io_submit) stopped the whole cluster, for good (canonical/raft 0.15 strands its append queue
and keeps heartbeating). 3 nodes; the leader's data dir fails for HOLD seconds (default 3),
then works again; writes go to the leader (following -MOVED) during and for 15 s after.
Expected since the fail-stop mitigation: the faulty leader exits (status 3) and another node
takes over. Exit 1 (REPRODUCED) when no write succeeds in the 15 s after the disk recovered,
0 otherwise, 77 without python3-redis or gcc.
Usage: disk_stall.py [HOLD] [--server PATH]"""
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
try:
    from cluster import Cluster
except ImportError:
    sys.exit(77)
from run import find_server  # noqa: E402


def writes_for(cl, seconds):
    ok, errors = 0, {}
    t = time.monotonic()
    while time.monotonic() - t < seconds:
        _, err = cl.leader_call("SET", "k", str(time.monotonic()), timeout=6, attempts=2)
        if err is None:
            ok += 1
        else:
            errors[err[:70]] = errors.get(err[:70], 0) + 1
        time.sleep(0.01)
    return ok, errors


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    hold = float(args[0]) if args else 3.0
    server = find_server(sys.argv[sys.argv.index("--server") + 1] if "--server" in sys.argv else None)
    if server is None or shutil.which("gcc") is None:
        return 77
    wd = tempfile.mkdtemp(prefix="repro-disk-stall-")
    so = os.path.join(wd, "faultfs.so")
    subprocess.check_call(["gcc", "-O2", "-shared", "-fPIC", "-o", so,
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "faultfs.c"),
                           "-ldl"])
    cl = Cluster(wd, server, size=3, preload=so)
    try:
        cl.start()
        lid = cl.leader_id()
        leader = cl.nodes[lid]
        print("leader is node %d; its disk fails (EIO at submission) for %.1f s" % (lid, hold))
        with open(leader.trigger, "w") as f:
            f.write("es")
        ok, errors = writes_for(cl, hold)
        print("  during the fault: %d writes acknowledged, errors %s" % (ok, errors))
        os.unlink(leader.trigger)
        ok, errors = writes_for(cl, 15)
        print("  15 s after the disk recovered: %d writes acknowledged, errors %s" % (ok, errors))
        print("  leader now %s; node %d reports %s" % (cl.leader_id(), lid, leader.status()))
        reproduced = ok == 0
    finally:
        cl.shutdown()
    print("REPRODUCED: the cluster stays unavailable" if reproduced else "not reproduced")
    print("work dir (node logs): %s" % wd)
    if not reproduced:
        shutil.rmtree(wd, ignore_errors=True)
    return 1 if reproduced else 0


if __name__ == "__main__":
    sys.exit(main())
