#!/usr/bin/python3
"""Run one chaos scenario: start a cluster behind the raft proxies, run the workload driver
(registers, appends and a job queue) and the scenario's nemeses for --duration seconds, heal,
read every key and the queue's lists, wait for the replicas to converge (DEBUG DIGEST), check
the history, and write result.json under --out.

Usage: run.py --scenario NAME --duration SECONDS --out DIR [--server PATH] [--keep]
       run.py --list
Exit status: 0 pass, 1 violation or failure, 77 skipped (no python3-redis / no gcc).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import redis  # noqa: F401
except ImportError:
    print("run.py: python3-redis is missing (use /usr/bin/python3)", file=sys.stderr)
    sys.exit(77)

import checker  # noqa: E402
from cluster import Cluster, dump_json  # noqa: E402
from common import PYTHON, mono  # noqa: E402
import driver  # noqa: E402
from nemesis import GENERATORS, Scheduler  # noqa: E402

# name: (nemeses, with repeats as weights), max faults at once, interval, hold, extra opts
SCENARIOS = {
    "kill-leader": dict(gens=["kill-leader"], interval=(4, 7), hold=(1, 3)),
    # Small snapshot threshold: restarted nodes recover from snapshots plus log tails.
    "kill-random": dict(gens=["kill-random", "kill-random", "kill-majority", "kill-all"],
                        interval=(3, 6), hold=(1, 4),
                        opts={"snapshot_threshold": 128, "snapshot_trailing": 32}),
    "pause": dict(gens=["pause-leader", "pause-random"], interval=(3, 6), hold=(2, 6)),
    "partition-leader": dict(gens=["partition-leader"], interval=(3, 6), hold=(3, 6)),
    "partition": dict(gens=["partition-leader", "partition-split", "partition-bridge",
                            "partition-oneway"], interval=(3, 6), hold=(3, 8)),
    # New nodes catch up through snapshot installs.
    "membership": dict(gens=["member", "member", "transfer"], interval=(2, 4), hold=(2, 5),
                       opts={"snapshot_threshold": 256, "snapshot_trailing": 64}),
    # One node's disk failing must cost that node's availability at most: the rest of the
    # cluster keeps serving (no gap longer than max_gap seconds without an acknowledged op).
    "disk": dict(gens=["disk-leader", "disk-random"], interval=(3, 6), hold=(3, 8), disk=True,
                 max_gap=20),
    "combined": dict(gens=["kill-random", "kill-leader", "kill-majority", "pause-random", "pause-leader",
                           "partition-leader", "partition-split", "partition-bridge",
                           "partition-oneway", "member", "transfer", "disk-random",
                           "disk-leader"],
                     interval=(1, 4), hold=(2, 8), max_active=3, disk=True),
    # follower-mode proxy: no node answers MOVED, so the clients stay on whichever node they
    # picked, mostly followers, which forward their commands (MULTI/WATCH and BLMOVE on pinned
    # connections) to the leader; leaders killed, paused and cut off under them.
    "proxy": dict(gens=["kill-leader", "pause-leader", "partition-leader"], interval=(3, 6),
                  hold=(2, 5), server_args=["--follower-mode", "proxy"]),
}


def find_server(arg):
    for p in [arg, os.environ.get("CONCORDKV_SERVER"),
              os.path.join(HERE, "..", "..", "concordkv-server")]:
        if p and os.access(p, os.X_OK):
            return os.path.abspath(p)
    return None


def build_faultfs(workdir):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return None
    out = os.path.join(workdir, "faultfs.so")
    r = subprocess.run([gcc, "-O2", "-shared", "-fPIC", "-o", out,
                        os.path.join(HERE, "faultfs.c"), "-ldl"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if r.returncode != 0:
        print(r.stdout.decode(errors="replace"), file=sys.stderr)
        return None
    return out


class Runner:
    def __init__(self, a):
        self.a = a
        self.sc = dict(SCENARIOS[a.scenario])
        if a.nemeses:
            self.sc["gens"] = a.nemeses.split(",")
        self.cl = None
        self.driver = None
        self.workdir = None

    def cleanup(self, *_):
        if self.driver is not None and self.driver.poll() is None:
            self.driver.kill()
        if self.cl is not None:
            self.cl.kill_everything()

    def run(self):
        a, sc = self.a, self.sc
        seed = a.seed if a.seed is not None else random.randrange(1 << 30)
        rng = random.Random(seed)
        os.makedirs(a.out, exist_ok=True)
        self.workdir = tempfile.mkdtemp(prefix="chaos-%s-" % a.scenario,
                                        dir=os.environ.get("TMPDIR") or "/tmp")
        preload = None
        if sc.get("disk"):
            preload = build_faultfs(self.workdir)
            if preload is None:
                print("run.py: no C compiler for faultfs.c: skipping %s" % a.scenario)
                return 77
        result = {"scenario": a.scenario, "seed": seed, "duration": a.duration,
                  "nodes": a.nodes, "nemeses": sc["gens"], "workdir": self.workdir,
                  "command": " ".join([PYTHON] + sys.argv)}
        t_start = mono()
        opts = dict(sc.get("opts", {}))
        if a.snapshot_threshold:
            opts["snapshot_threshold"] = a.snapshot_threshold
        self.cl = cl = Cluster(self.workdir, a.server, size=a.nodes, opts=opts, preload=preload,
                               extra_args=a.server_arg + sc.get("server_args", []))
        result["options"] = cl.opts
        problems = []
        hist_path = os.path.join(self.workdir, "history.jsonl")
        try:
            cl.start(timeout=40)
            seeds = ",".join(cl.nodes[i].resp for i in cl.members)
            drv_log = open(os.path.join(self.workdir, "driver.log"), "w")
            self.driver = subprocess.Popen(
                [PYTHON, os.path.join(HERE, "driver.py"), "--nodes", seeds, "--nodes-file",
                 cl.nodes_file, "--out", hist_path, "--duration", str(a.duration),
                 "--clients", str(a.clients), "--seed", str(seed), "--rotate", str(a.rotate),
                 "--think", str(a.think), "--consumers", str(a.consumers),
                 "--readonly-clients", str(a.readonly_clients)], stdout=drv_log, stderr=subprocess.STDOUT)
            nem = Scheduler(cl, sc["gens"], rng, interval=sc["interval"], hold=sc["hold"],
                            max_active=sc.get("max_active", 1))
            nem.start()
            t_end = mono() + a.duration
            while mono() < t_end and self.driver.poll() is None:
                time.sleep(0.5)
            result["faults"] = nem.stop()
            try:
                self.driver.wait(60)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                problems.append("the driver did not stop in time")
            drv_log.close()
            lid = cl.heal_all(ready_timeout=60)
            if lid is None:
                problems.append("no leader within 60 s after healing")
            missing = driver.final_reads(seeds.split(","), driver.keys_in(hist_path), hist_path,
                                         cl.nodes_file, timeout=30 if lid is None else 60)
            if missing:
                problems.append("%d keys could not be read after healing" % missing)
            if not driver.final_queue_read(seeds.split(","), hist_path, cl.nodes_file,
                                           timeout=30 if lid is None else 60):
                problems.append("the queue's lists could not be read after healing")
            ok, digests = cl.converge(timeout=60)
            result["digests"] = digests
            result["converged"] = ok
            if not ok:
                problems.append("replicas did not converge: %s" % digests)
            result["read_paths"] = cl.read_paths()
            cl.check_crashes()
            result["final_members"] = list(cl.members)
        finally:
            self.cleanup_processes()
        result["events"] = count_events(cl.events.path)
        history = checker.load(hist_path)
        t_check = mono()
        verdict = checker.check(history)
        result["check_seconds"] = round(mono() - t_check, 1)
        result["ops"] = verdict["ops"]
        result["register"] = strip(verdict["register"])
        result["append"] = strip(verdict["append"])
        result["queue"] = strip(verdict["queue"])
        ok_writes = sum(n for f, d in verdict["ops"].items() if f in ("set", "getset", "cas", "append")
                        for t, n in d.items() if t == "ok")
        gap, gap_at = availability_gap(history)
        result["max_gap_seconds"] = round(gap, 1)
        if sc.get("max_gap") and gap > sc["max_gap"]:
            problems.append("the cluster acknowledged nothing for %.1f s (from t=%.1f): one "
                            "node's fault cost the whole cluster's availability" % (gap, gap_at))
        if ok_writes < a.min_ok:
            problems.append("only %d acknowledged writes: the run proves little" % ok_writes)
        crashes = [e for e in read_events(cl.events.path) if e["kind"] == "unexpected-exit"]
        # A node whose disk failed may stop (availability); any other exit is a bug.
        hard = [e for e in crashes if not e.get("disk_faulted")]
        if hard:
            problems.append("nodes exited on their own: %s" % [
                {k: e.get(k) for k in ("node", "returncode", "t")} for e in hard])
        result["unexpected_exits"] = crashes
        result["problems"] = problems
        result["valid"] = verdict["valid"]
        result["inconclusive"] = verdict["inconclusive"]
        result["pass"] = verdict["valid"] and not problems
        result["wall_seconds"] = round(mono() - t_start, 1)
        saved = []
        if not result["pass"]:
            keep = os.path.join(a.out, "failed-%s-%d" % (a.scenario, seed))
            os.makedirs(keep, exist_ok=True)
            for name in os.listdir(self.workdir):
                p = os.path.join(self.workdir, name)
                if os.path.isfile(p) and not name.endswith(".so"):
                    shutil.copy(p, keep)
            if not verdict["valid"]:
                saved = checker.save_windows(verdict, os.path.join(keep, "windows"))
            with open(os.path.join(keep, "verdict.json"), "w") as f:
                json.dump(verdict, f, indent=1, default=str)
            result["saved"] = keep
            result["windows"] = saved
        dump_json(os.path.join(a.out, "result-%s.json" % a.scenario), result)
        if result["pass"] and not a.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        print_summary(result)
        return 0 if result["pass"] else 1

    def cleanup_processes(self):
        if self.driver is not None and self.driver.poll() is None:
            self.driver.kill()
            self.driver.wait(10)
        if self.cl is not None:
            self.cl.shutdown()


def strip(v):
    """A verdict without the (possibly long) window op lists, for result.json."""
    v = dict(v)
    out = []
    for viol in v.get("violations", []):
        viol = dict(viol)
        if "window" in viol:
            viol["window"] = {"from": viol["window"]["from"], "to": viol["window"]["to"],
                              "ops": len(viol["window"]["ops"])}
        if "ops" in viol and isinstance(viol["ops"], list):
            viol["ops"] = [o.get("id") for o in viol["ops"]]
        out.append(viol)
    v["violations"] = out
    return v


def availability_gap(history):
    """The longest time without an acknowledged operation during the workload (final reads
    excluded), and when it began."""
    ops = [o for o in history if not o.get("final")
           and not (o["f"] == "dequeue" and o["result"] is None)]  # a BLMOVE timeout acks nothing
    if not ops:
        return 0.0, 0.0
    start = min(o["inv"] for o in ops)
    end = max(o["comp"] for o in ops)
    done = sorted(o["comp"] for o in ops if o["type"] == "ok")
    best, at, prev = 0.0, start, start
    for t in done + [end]:
        if t - prev > best:
            best, at = t - prev, prev
        prev = max(prev, t)
    return best, at - start


def read_events(path):
    try:
        with open(path) as f:
            return [json.loads(x) for x in f if x.strip()]
    except OSError:
        return []


def count_events(path):
    c = {}
    for e in read_events(path):
        c[e["kind"]] = c.get(e["kind"], 0) + 1
    return c


def print_summary(r):
    ops = r.get("ops", {})
    tot = {}
    for d in ops.values():
        for t, n in d.items():
            tot[t] = tot.get(t, 0) + n
    q = r.get("queue", {})
    print("%s: %s in %.0fs (seed %d): ops ok %d / fail %d / unknown %d; faults %s; "
          "max gap %.1fs; register %s, append %s, queue %s, converged %s%s" % (
              r["scenario"], "PASS" if r["pass"] else "FAIL", r["wall_seconds"], r["seed"],
              tot.get("ok", 0), tot.get("fail", 0), tot.get("unknown", 0),
              json.dumps(r.get("faults", {}), sort_keys=True), r.get("max_gap_seconds", 0),
              {True: "linearizable", False: "VIOLATION", None: "inconclusive"}[r["register"]["valid"]],
              "valid" if r["append"]["valid"] else "VIOLATION",
              "valid" if q.get("valid") else "VIOLATION", r.get("converged"),
              ("; problems: " + "; ".join(r["problems"])) if r["problems"] else ""))
    if q:
        print("  queue: pushed %d ok / %d unknown, delivered %d, completed %d, left queued %d, "
              "left in flight %d; BLMOVE timeouts %d, unknown %d" % (
                  q["pushed_ok"], q["pushed_unknown"], q["delivered"], q["completed"],
                  q["left_queued"], q["left_in_flight"], q["dequeue_timeouts"],
                  q["dequeue_unknown"]))
        for viol in q.get("violations", [])[:10]:
            print("  queue violation: %s" % viol["what"])
    rp = r.get("read_paths")
    if rp:
        print("  reads confirmed: %d by %d ReadIndex rounds (%d retried, %d under a lease); "
              "%d barriers" % (rp["read_index_reads"], rp["read_index_rounds"],
                               rp["read_index_retries"], rp["read_lease_reads"],
                               rp["raft_barriers"]))
        print("  follower reads (READONLY): %d, by %d index requests to the leader" % (
              rp.get("follower_reads", 0), rp.get("follower_read_index_requests", 0)))
    if r.get("saved"):
        print("  history and windows saved in %s" % r["saved"])


def main():
    ap = argparse.ArgumentParser(description="run one chaos scenario")
    ap.add_argument("--scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--duration", type=float, default=25)
    ap.add_argument("--out", default="chaos-results")
    ap.add_argument("--server")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rotate", type=float, default=20)
    ap.add_argument("--think", type=float, default=0.01)
    ap.add_argument("--consumers", type=int, default=2, help="queue consumers besides --clients")
    ap.add_argument("--readonly-clients", type=int, default=2,
                    help="of --clients, how many read their registers from any node after READONLY")
    ap.add_argument("--snapshot-threshold", type=int, default=0)
    ap.add_argument("--min-ok", type=int, default=50)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--keep", action="store_true", help="keep the work dir even on success")
    ap.add_argument("--nemeses", help="comma-separated nemeses replacing the scenario's (%s)"
                    % ",".join(sorted(GENERATORS)))
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra server argument (repeat), e.g. --server-arg=--read-consistency "
                         "--server-arg=stale to see the checkers catch stale reads")
    a = ap.parse_args()
    if a.list:
        print("\n".join(sorted(SCENARIOS)))
        return 0
    if not a.scenario:
        ap.error("--scenario is required")
    a.server = find_server(a.server)
    if a.server is None:
        print("run.py: concordkv-server not found (build it, or set CONCORDKV_SERVER)")
        return 77
    r = Runner(a)

    def on_signal(signum, _frame):
        r.cleanup()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return r.run()
    except BaseException:
        r.cleanup()
        raise


if __name__ == "__main__":
    sys.exit(main())
