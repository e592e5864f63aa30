"""A ConcordKV cluster of local processes for the chaos tests, with a partitioning proxy in
front of every node's raft port. Every process is started here, tracked by pid and stopped
here; nothing else is ever signalled.
"""
import collections
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

from common import HERE, PYTHON, dec, free_port, mono, moved_target, query


class EventLog:
    """Nemesis and cluster events, one JSON object per line, with monotonic times."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.f = open(path, "a")
        self.counts = collections.Counter()

    def add(self, event, **fields):
        kind = event
        rec = {"t": mono(), "kind": kind}
        rec.update(fields)
        with self.lock:
            self.counts[kind] += 1
            self.f.write(json.dumps(rec) + "\n")
            self.f.flush()
        return rec

    def close(self):
        self.f.close()


class ProxyProcess:
    """tests/chaos/proxy.py in a child process, driven through its control port."""

    def __init__(self, workdir):
        self.port = free_port()
        self.log = open(os.path.join(workdir, "proxy.log"), "w")
        self.proc = subprocess.Popen([PYTHON, os.path.join(HERE, "proxy.py"), "--control-port",
                                      str(self.port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError("proxy did not start")
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.rfile = self.sock.makefile("rb")
        self.lock = threading.Lock()

    def request(self, **req):
        with self.lock:
            self.sock.sendall((json.dumps(req) + "\n").encode())
            reply = json.loads(self.rfile.readline())
        if not reply.get("ok"):
            raise RuntimeError("proxy: %s" % reply.get("error"))
        return reply

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


class Node:
    def __init__(self, cluster, node_id):
        self.cluster = cluster
        self.id = node_id
        self.port = free_port()
        self.raft_port = free_port()
        self.admin_port = free_port()
        self.proxy_port = free_port()
        self.dir = os.path.join(cluster.workdir, "n%d" % node_id)
        self.log_path = os.path.join(cluster.workdir, "n%d.log" % node_id)
        self.trigger = os.path.join(cluster.workdir, "fault-%d" % node_id)
        self.proc = None
        self.paused = False
        self.starts = 0
        self.unexpected_exits = []  # (returncode, time) of exits we did not cause
        self.disk_faulted = False   # a disk fault hit it since its last start

    @property
    def resp(self):
        return "127.0.0.1:%d" % self.port

    @property
    def raft_addr(self):
        return "127.0.0.1:%d" % self.proxy_port

    @property
    def admin(self):
        return "127.0.0.1:%d" % self.admin_port

    def argv(self, initial):
        o = self.cluster.opts
        a = [self.cluster.server, "--id", str(self.id), "--bind", "127.0.0.1",
             "--port", str(self.port), "--raft-port", str(self.raft_port),
             "--admin-port", str(self.admin_port), "--dir", self.dir,
             "--raft-advertise", self.raft_addr,
             "--election-timeout", str(o["election_timeout"]),
             "--heartbeat-timeout", str(o["heartbeat_timeout"]),
             "--request-timeout", str(o["request_timeout"]),
             "--snapshot-threshold", str(o["snapshot_threshold"]),
             "--snapshot-trailing", str(o["snapshot_trailing"])]
        a += self.cluster.extra_args
        if "--cluster-secret" not in a and "--cluster-secret-file" not in a:
            a += ["--cluster-secret", self.cluster.secret]
        if "--follower-mode" not in a:
            a += ["--follower-mode", "moved"]  # the workloads follow MOVED unless told
        if initial:
            a += ["--cluster", initial]
        else:
            a += ["--bootstrap", "no"]
        return a

    def start(self, initial=None):
        """Start the process (a restart keeps the same command line and data dir)."""
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.starts == 0:
            self.initial = initial
        env = dict(os.environ)
        if self.cluster.preload:
            env["LD_PRELOAD"] = self.cluster.preload
            env["FAULTFS_DIR"] = self.dir
            env["FAULTFS_TRIGGER"] = self.trigger
        with open(self.log_path, "a") as log:
            log.write("==== chaos: start #%d at %.3f\n" % (self.starts + 1, mono()))
            log.flush()
            self.proc = subprocess.Popen(self.argv(self.initial), stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, env=env)
        self.starts += 1
        self.paused = False
        self.disk_faulted = False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def check_exit(self):
        """Record an exit we did not cause (a crash or an assertion); returns it or None."""
        if self.proc is not None and self.proc.poll() is not None:
            rc = self.proc.returncode
            self.unexpected_exits.append((rc, mono()))
            self.proc = None
            return rc
        return None

    def kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is not None:
            self.check_exit()
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None
        self.paused = False

    def stop(self, timeout=10):
        """SIGTERM (SIGCONT first if paused), then SIGKILL past TIMEOUT seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if self.paused:
                self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(30)
        elif self.proc.returncode not in (0, -signal.SIGTERM):
            self.unexpected_exits.append((self.proc.returncode, mono()))
        self.proc = None
        self.paused = False

    def pause(self):
        if self.running() and not self.paused:
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.running() and self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def status(self, timeout=2):
        """GET /api/status as a dict ({} when it does not answer)."""
        try:
            with urllib.request.urlopen("http://%s/api/status" % self.admin, timeout=timeout) as r:
                return json.loads(r.read())
        except Exception:
            return {}

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(collections.deque(f, n))
        except OSError:
            return ""


class Cluster:
    DEFAULTS = {"election_timeout": 1000, "heartbeat_timeout": 100, "request_timeout": 5000,
                "snapshot_threshold": 1024, "snapshot_trailing": 256}

    def __init__(self, workdir, server, size=5, opts=None, preload=None, extra_args=None):
        self.workdir = workdir
        self.extra_args = list(extra_args or [])
        # Every node authenticates its raft peers with this secret (--cluster-secret).
        self.secret = os.urandom(16).hex()
        self.server = server
        self.size = size
        self.opts = dict(self.DEFAULTS)
        self.opts.update(opts or {})
        self.preload = preload
        self.lock = threading.RLock()
        self.nodes = {}          # every node ever created, by id
        self.members = []        # ids we believe are in the configuration
        self.claims = {}         # node id or token -> fault name
        self.next_id = size + 1
        self.events = EventLog(os.path.join(workdir, "events.jsonl"))
        self.nodes_file = os.path.join(workdir, "nodes.json")
        self.proxy = None

    # ---- lifecycle ----

    def start(self, timeout=30):
        self.proxy = ProxyProcess(self.workdir)
        for i in range(1, self.size + 1):
            self.nodes[i] = Node(self, i)
        spec = ",".join("%d@%s" % (n.id, n.raft_addr) for n in self.nodes.values())
        for n in self.nodes.values():
            self.proxy.request(cmd="add", id=n.id, listen=n.proxy_port, target=n.raft_port)
        for n in self.nodes.values():
            n.start(initial=spec)
        self.members = sorted(self.nodes)
        self.write_nodes_file()
        self.events.add("cluster-start", nodes=self.members)
        if self.wait_ready(timeout) is None:
            raise RuntimeError("no leader within %ds" % timeout)

    def shutdown(self):
        for n in self.nodes.values():
            try:
                n.stop()
            except Exception:
                n.kill()
        if self.proxy:
            self.proxy.stop()
        self.events.close()

    def kill_everything(self):
        """Last resort (signals, errors): SIGKILL every process this cluster started."""
        for n in self.nodes.values():
            try:
                if n.proc is not None and n.proc.poll() is None:
                    n.proc.kill()
            except Exception:
                pass
        if self.proxy and self.proxy.proc.poll() is None:
            self.proxy.proc.kill()

    def write_nodes_file(self):
        tmp = self.nodes_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump([self.nodes[i].resp for i in self.members], f)
        os.replace(tmp, self.nodes_file)

    # ---- claims: one fault per node at a time ----

    def claim(self, keys, owner):
        with self.lock:
            if any(k in self.claims for k in keys):
                return False
            for k in keys:
                self.claims[k] = owner
            return True

    def release(self, keys):
        with self.lock:
            for k in keys:
                self.claims.pop(k, None)

    def free_members(self):
        """Members running, not paused, not claimed by a fault."""
        with self.lock:
            return [i for i in self.members
                    if i not in self.claims and self.nodes[i].running() and not self.nodes[i].paused]

    # ---- queries ----

    def leader_id(self, timeout=1.0):
        """The leader most reachable members name (CLUSTER LEADER), or None."""
        votes = collections.Counter()
        with self.lock:
            nodes = [self.nodes[i] for i in self.members
                     if self.nodes[i].running() and not self.nodes[i].paused]
        for n in nodes:
            r, err = query(n.resp, "CLUSTER", "LEADER", timeout=timeout)
            if isinstance(r, list) and r and r[0] not in (None, 0, "0"):
                try:
                    votes[int(r[0])] += 1
                except (TypeError, ValueError):
                    pass
        if not votes:
            return None
        lid = votes.most_common(1)[0][0]
        return lid if lid in self.nodes else None

    def leader_call(self, *args, timeout=5.0, attempts=6):
        """Run ARGS on the leader, following -MOVED. Returns (reply, error)."""
        lid = self.leader_id()
        addr = self.nodes[lid].resp if lid else None
        err = "no leader"
        for _ in range(attempts):
            if addr is None:
                time.sleep(0.3)
                lid = self.leader_id()
                addr = self.nodes[lid].resp if lid else None
                continue
            r, err = query(addr, *args, timeout=timeout)
            if err is None:
                return r, None
            target = moved_target(err)
            if target:
                addr = target
                continue
            if err.startswith("CLUSTERDOWN") or err.startswith("connection") or \
                    err.startswith("TRYAGAIN"):
                time.sleep(0.3)
                addr = None
                continue
            return None, err
        return None, err

    def wait_ready(self, timeout=30):
        """Wait until a leader serves a linearizable read; returns the leader id or None."""
        deadline = mono() + timeout
        while mono() < deadline:
            lid = self.leader_id()
            if lid is not None:
                r, err = query(self.nodes[lid].resp, "GET", "__chaos_ready", timeout=2)
                if err is None:
                    return lid
            time.sleep(0.2)
        return None

    def config(self):
        """The leader's view of the configuration: {id: (raft addr, role)} or None."""
        r, err = self.leader_call("CLUSTER", "NODES", timeout=3)
        if err or not isinstance(r, str):
            return None
        out = {}
        for line in r.strip().splitlines():
            f = line.split()
            if len(f) < 3:
                continue
            try:
                nid = int(f[0], 16)
            except ValueError:
                continue
            out[nid] = (f[1], f[2])
        return out

    def digests(self, ids=None):
        res = {}
        for i in ids if ids is not None else self.members:
            n = self.nodes[i]
            if not n.running():
                res[i] = "(not running)"
                continue
            r, err = query(n.resp, "DEBUG", "DIGEST", timeout=3)
            res[i] = r if err is None else "(error: %s)" % err
        return res

    def read_paths(self):
        """How the running members confirmed reads (INFO raft counters, summed; a restarted
        node counts from its restart): ReadIndex rounds and the reads they served, leases,
        barriers, follower reads (READONLY clients) and their index requests."""
        fields = ("read_index_rounds", "read_index_reads", "read_index_retries",
                  "read_lease_reads", "raft_barriers", "follower_reads",
                  "follower_read_index_requests")
        tot = dict.fromkeys(fields, 0)
        for i in self.members:
            n = self.nodes[i]
            if not n.running():
                continue
            r, err = query(n.resp, "INFO", "raft", timeout=3)
            if err is not None:
                continue
            for line in r.splitlines():
                k, _, v = line.partition(":")
                if k in tot and v.strip().isdigit():
                    tot[k] += int(v)
        return tot

    def check_crashes(self):
        """Nodes that died without being told to: a bug worth reporting."""
        out = []
        with self.lock:
            for n in self.nodes.values():
                if n.proc is not None and n.proc.poll() is not None:
                    faulted = n.disk_faulted
                    rc = n.check_exit()
                    self.events.add("unexpected-exit", node=n.id, returncode=rc,
                                    during=self.claims.get(n.id), disk_faulted=faulted,
                                    log=n.log_tail(5))
                    out.append((n.id, rc))
        return out

    # ---- membership ----

    def new_node(self):
        with self.lock:
            nid = self.next_id
            self.next_id += 1
            n = Node(self, nid)
            self.nodes[nid] = n
        self.proxy.request(cmd="add", id=nid, listen=n.proxy_port, target=n.raft_port)
        return n

    def heal_all(self, ready_timeout=60):
        """End of a run: heal the network, resume, clear disk faults, restart every member
        that is not running; wait for a leader that serves reads."""
        self.proxy.request(cmd="heal")
        self.check_crashes()
        with self.lock:
            for n in self.nodes.values():
                n.resume()
                if os.path.exists(n.trigger):
                    os.unlink(n.trigger)
            for i in self.members:
                n = self.nodes[i]
                if n.running() and n.disk_faulted:
                    n.kill()  # its disk failed since it started: the operator restarts it
                    self.events.add("kill", nodes=[i], why="final heal after a disk fault")
                if not n.running():
                    n.start()
                    self.events.add("restart", nodes=[i], why="final heal")
        lid = self.wait_ready(ready_timeout)
        # A member the leader knows but we do not run (an add whose reply was lost), or one we
        # run that it does not know (a removal we could not confirm): follow the leader.
        conf = self.config()
        if conf is not None:
            with self.lock:
                for nid in conf:
                    if nid in self.nodes and nid not in self.members:
                        self.members.append(nid)
                        self.events.add("member-discovered", node=nid)
                        if not self.nodes[nid].running():
                            self.nodes[nid].start()
                for nid in list(self.members):
                    if nid not in conf:
                        self.members.remove(nid)
                        self.events.add("member-gone", node=nid)
                        self.nodes[nid].kill()
                self.members.sort()
                self.write_nodes_file()
            lid = self.wait_ready(ready_timeout)
        return lid

    def converge(self, timeout=60):
        """Wait until every member's DEBUG DIGEST is the same; returns (ok, digests)."""
        deadline = mono() + timeout
        d = {}
        while mono() < deadline:
            d = self.digests()
            vals = set(d.values())
            if len(vals) == 1 and not next(iter(vals)).startswith("("):
                return True, d
            time.sleep(0.5)
        return False, d


def dump_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True, default=str)


__all__ = ["Cluster", "Node", "EventLog", "dump_json", "dec"]
