#!/usr/bin/python3
"""Reproduction of F2 (docs/SAFETY.md): the leader's disk write fails at completion (the AIO write is reported
failed, EIO) for 0.3 s under a write load. canonical/raft 0.15 then truncates the leader's
in-memory log although the entries were already sent to followers, and keeps going as leader
until ConcordKV's leadership transfer lands. Seen outcomes: SIGSEGV (snapshotClose on an
uninitialized snapshot in sendSnapshotGetCb; log.c refsDecr from a second logTruncate),
"free(): double free detected in tcache 2" (SIGABRT), or the node left in raft state
"unavailable" until restarted. Each attempt: 3 nodes, 8 writers on the leader, fault, 4 s of
load, then the old leader is restarted and the replicas compared (DEBUG DIGEST) and every
acknowledged write read back.
Exit 1 (REPRODUCED) if the faulty node died by a signal, or data was lost or diverged, in
any of ATTEMPTS attempts (default 6); 0 otherwise (a fail-stop exit, status 3, is the
mitigation working); 77 without python3-redis or gcc.
Usage: disk_async.py [ATTEMPTS] [--snapshot-threshold N] [--server PATH]"""
import os
import shutil
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
try:
    from cluster import Cluster
    from common import Conn
except ImportError:
    sys.exit(77)
from run import find_server  # noqa: E402


def attempt(server, so, snap):
    wd = tempfile.mkdtemp(prefix="repro-disk-async-")
    cl = Cluster(wd, server, size=3, preload=so,
                 opts={"snapshot_threshold": snap, "snapshot_trailing": 64})
    acked, stop = {}, threading.Event()
    out = {"workdir": wd}
    try:
        cl.start()
        lid = cl.leader_id()
        leader = cl.nodes[lid]

        def writer(k):
            c, i = None, 0
            while not stop.is_set():
                i += 1
                key, val = "k%d-%d" % (k, i), "v%d-%d" % (k, i)
                try:
                    c = c or Conn(leader.resp, timeout=6)
                    c.call("SET", key, val)
                    acked[key] = val
                except Exception:
                    c = None
                    time.sleep(0.05)
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        time.sleep(1)
        with open(leader.trigger, "w") as f:
            f.write("ea")
        time.sleep(0.3)
        os.unlink(leader.trigger)
        time.sleep(4)
        stop.set()
        for t in threads:
            t.join()
        rc = leader.proc.poll()
        out["leader"] = lid
        out["exit"] = (signal.Signals(-rc).name if rc < 0 else rc) if rc is not None else None
        out["state_after"] = leader.status().get("state") if rc is None else None
        leader.kill()
        leader.start()
        cl.wait_ready(30)
        ok, digests = cl.converge(30)
        out["converged"] = ok
        lost = []
        for k, v in acked.items():
            r, err = cl.leader_call("GET", k)
            if r != v:
                lost.append((k, v, r, err))
        out["acked"] = len(acked)
        out["lost"] = lost[:5]
        out["n_lost"] = len(lost)
    finally:
        stop.set()
        cl.shutdown()
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    attempts = int(args[0]) if args else 6
    snap = int(sys.argv[sys.argv.index("--snapshot-threshold") + 1]) if "--snapshot-threshold" in sys.argv else 1024
    server = find_server(sys.argv[sys.argv.index("--server") + 1] if "--server" in sys.argv else None)
    if server is None or shutil.which("gcc") is None:
        return 77
    so = os.path.join(tempfile.mkdtemp(prefix="repro-faultfs-"), "faultfs.so")
    subprocess.check_call(["gcc", "-O2", "-shared", "-fPIC", "-o", so,
                           os.path.join(HERE, "..", "faultfs.c"), "-ldl"])
    bad = 0
    for n in range(attempts):
        r = attempt(server, so, snap)
        # Exit status 3 is ConcordKV's fail-stop on a storage error (the intended outcome);
        # death by a signal is the bug.
        crashed = isinstance(r.get("exit"), str)
        broken = crashed or r.get("n_lost") or not r.get("converged")
        bad += bool(broken)
        print("attempt %d: leader %s exit=%s state-after=%s acked=%s lost=%s converged=%s%s" % (
            n + 1, r.get("leader"), r.get("exit"), r.get("state_after"), r.get("acked"),
            r.get("n_lost"), r.get("converged"), ("  logs: " + r["workdir"]) if broken else ""))
        if not broken:
            shutil.rmtree(r["workdir"], ignore_errors=True)
    print("REPRODUCED in %d of %d attempts" % (bad, attempts) if bad else "not reproduced")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
