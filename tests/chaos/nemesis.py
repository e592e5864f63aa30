"""Nemeses: faults injected into a running cluster (cluster.py) and healed on schedule.

Each generator starts one fault and returns a handle whose heal() undoes it:
  kill       SIGKILL a random node, the leader, a random majority or every node; heal:
             restart them
  pause      SIGSTOP a random node or the leader; heal: SIGCONT
  partition  through the raft proxies: leader isolated, random majority/minority split,
             bridge (one node sees both halves, the halves do not see each other), one-way
             (a node's messages to the others are dropped, theirs reach it); heal: reconnect
  member     remove a node (CLUSTER DELNODE, possibly the leader) and stop it; heal: start a
             fresh node with a new id and an empty dir and add it (CLUSTER ADDNODE)
  transfer   CLUSTER TRANSFER to a random member (or raft's choice); nothing to heal
  disk       make one node's disk fail (faultfs.c: EIO or ENOSPC on every write and fsync
             under its dir); heal: clear the fault and restart the node
A node (or the network, or membership) is claimed by one fault at a time. The scheduler starts
faults at random intervals, up to max_active at once, each in its own thread.
"""
import os
import threading
import time

from common import mono, query


class Fault:
    def __init__(self, name, claims, heal, info):
        self.name, self.claims, self._heal, self.info = name, claims, heal, info

    def heal(self, cl):
        try:
            self._heal()
        finally:
            cl.release(self.claims)


def _pick_leader(cl, owner):
    lid = cl.leader_id()
    if lid is None or lid not in cl.free_members():
        return None
    return lid if cl.claim([lid], owner) else None


def _pick_random(cl, rng, owner, k=1):
    free = cl.free_members()
    if len(free) < k:
        return None
    ids = rng.sample(free, k)
    return ids if cl.claim(ids, owner) else None


class Kill:
    def __init__(self, target="random"):
        self.target = target
        self.name = "kill-" + target

    def start(self, cl, rng):
        if self.target == "leader":
            lid = _pick_leader(cl, self.name)
            ids = [lid] if lid else None
        elif self.target == "majority":
            ids = _pick_random(cl, rng, self.name, len(cl.members) // 2 + 1)
        elif self.target == "all":
            ids = _pick_random(cl, rng, self.name, len(cl.members))
        else:
            ids = _pick_random(cl, rng, self.name)
        if not ids:
            return None
        with cl.lock:
            for i in ids:
                cl.nodes[i].kill()
        cl.events.add("kill", nodes=ids, target=self.target)

        def heal():
            with cl.lock:
                for i in ids:
                    if i in cl.members:
                        cl.nodes[i].start()
            cl.events.add("restart", nodes=ids)
        return Fault(self.name, ids, heal, {"nodes": ids})


class Pause:
    def __init__(self, target="random"):
        self.target = target
        self.name = "pause-" + target

    def start(self, cl, rng):
        if self.target == "leader":
            lid = _pick_leader(cl, self.name)
            ids = [lid] if lid else None
        else:
            ids = _pick_random(cl, rng, self.name)
        if not ids:
            return None
        with cl.lock:
            for i in ids:
                cl.nodes[i].pause()
        cl.events.add("pause", nodes=ids, target=self.target)

        def heal():
            with cl.lock:
                for i in ids:
                    cl.nodes[i].resume()
            cl.events.add("resume", nodes=ids)
        return Fault(self.name, ids, heal, {"nodes": ids})


def _cut(groups):
    """Directed pairs between nodes of different groups."""
    pairs = []
    for a in range(len(groups)):
        for b in range(len(groups)):
            if a != b:
                pairs += [[i, j] for i in groups[a] for j in groups[b]]
    return pairs


class Partition:
    def __init__(self, kind="split"):
        self.kind = kind
        self.name = "partition-" + kind

    def start(self, cl, rng):
        if not cl.claim(["net"], self.name):
            return None
        with cl.lock:
            ids = list(cl.members)
        rng.shuffle(ids)
        if self.kind == "leader":
            lid = cl.leader_id()
            if lid is None or lid not in ids:
                cl.release(["net"])
                return None
            groups = [[lid], [i for i in ids if i != lid]]
            pairs = _cut(groups)
        elif self.kind == "bridge" and len(ids) >= 3:
            bridge, rest = ids[0], ids[1:]
            half = len(rest) // 2
            groups = [rest[:half], [bridge], rest[half:]]
            pairs = _cut([groups[0], groups[2]])
        elif self.kind == "oneway":
            lid = cl.leader_id()
            src = lid if lid in ids and rng.random() < 0.5 else ids[0]
            groups = [[src], [i for i in ids if i != src]]
            pairs = [[src, j] for j in ids if j != src]
        else:
            k = rng.randint(1, (len(ids) - 1) // 2) if len(ids) > 2 else 1
            groups = [ids[:k], ids[k:]]
            pairs = _cut(groups)
        mode = rng.choice(["reject", "blackhole"])
        cl.proxy.request(cmd="block", pairs=pairs, mode=mode)
        cl.events.add("partition", type=self.kind, groups=groups, mode=mode)

        def heal():
            cl.proxy.request(cmd="heal")
            cl.events.add("heal-partition", type=self.kind)
        return Fault(self.name, ["net"], heal, {"groups": groups, "mode": mode})


def _wait_pong(node, timeout=10):
    deadline = mono() + timeout
    while mono() < deadline:
        r, err = query(node.resp, "PING", timeout=1)
        if r in ("PONG", b"PONG", True):
            return True
        if not node.running():
            return False
        time.sleep(0.1)
    return False


class Member:
    """Remove a node (any, the leader included); on heal add a fresh one under a new id."""
    name = "member"

    def __init__(self, min_members=3, change_timeout=30):
        self.min_members = min_members
        self.change_timeout = change_timeout

    def start(self, cl, rng):
        if not cl.claim(["membership"], self.name):
            return None
        victim = None
        if len(cl.members) > self.min_members:
            ids = _pick_random(cl, rng, self.name)
            victim = ids[0] if ids else None
        if victim is not None:
            self.remove(cl, victim)
        return Fault(self.name, ["membership"] + ([victim] if victim else []),
                     lambda: self.add(cl), {"removed": victim})

    def remove(self, cl, victim):
        cl.events.add("remove-begin", node=victim)
        deadline = mono() + self.change_timeout
        err = None
        while mono() < deadline:
            r, err = cl.leader_call("CLUSTER", "DELNODE", str(victim), timeout=20)
            if err is None or "unknown" in err.lower() or "not a member" in err.lower():
                break
            time.sleep(0.5)
        conf = cl.config()
        removed = (err is None) or (conf is not None and victim not in conf)
        if not removed:
            cl.events.add("remove-failed", node=victim, error=err)
            return False
        with cl.lock:
            if victim in cl.members:
                cl.members.remove(victim)
            cl.write_nodes_file()
            cl.nodes[victim].kill()
        cl.events.add("removed", node=victim, reply_error=err)
        return True

    def add(self, cl):
        if len(cl.members) >= cl.size:
            return
        n = cl.new_node()
        with cl.lock:
            n.start()
        if not _wait_pong(n):
            cl.events.add("add-failed", node=n.id, error="fresh node did not start")
            n.kill()
            return
        cl.events.add("add-begin", node=n.id)
        deadline = mono() + self.change_timeout
        err = None
        while mono() < deadline:
            r, err = cl.leader_call("CLUSTER", "ADDNODE", str(n.id), n.raft_addr, n.resp, n.admin,
                                    timeout=60)
            if err is None or "duplicate" in err.lower() or "already" in err.lower():
                break
            time.sleep(0.5)
        conf = cl.config()
        added = err is None or (conf is not None and n.id in conf)
        ambiguous = not added and conf is None
        if added or ambiguous:
            # An ambiguous outcome is settled at the final heal, from the leader's view.
            with cl.lock:
                cl.members.append(n.id)
                cl.members.sort()
                cl.write_nodes_file()
            cl.events.add("added" if added else "add-ambiguous", node=n.id, reply_error=err)
        else:
            cl.events.add("add-failed", node=n.id, error=err)
            with cl.lock:
                n.kill()


class Transfer:
    """CLUSTER TRANSFER: move leadership to a random member (or let raft choose) under load."""
    name = "transfer"

    def start(self, cl, rng):
        with cl.lock:
            ids = [i for i in cl.members if cl.nodes[i].running() and not cl.nodes[i].paused]
        target = rng.choice(ids + [None])
        args = ["CLUSTER", "TRANSFER"] + ([str(target)] if target else [])
        r, err = cl.leader_call(*args, timeout=15)
        cl.events.add("transfer", target=target, error=err)
        return Fault(self.name, [], lambda: None, {"target": target, "error": err})


class Disk:
    """One node's disk fails (EIO or ENOSPC, at AIO submission or at completion). Heal: the
    disk works again; half the time the node is restarted at once (an operator replacing a
    disk), otherwise it keeps running and is restarted only if it died or raft gave up
    (state "unavailable") within 3 s. The final heal restarts every node that saw a fault."""

    def __init__(self, target="random"):
        self.target = target
        self.name = "disk-" + target

    def start(self, cl, rng):
        if self.target == "leader":
            lid = _pick_leader(cl, self.name)
            ids = [lid] if lid else None
        else:
            ids = _pick_random(cl, rng, self.name)
        if not ids or not cl.preload:
            if ids:
                cl.release(ids)
            return None
        node = cl.nodes[ids[0]]
        err = rng.choice(["eio", "enospc"])
        when = rng.choice(["submit", "complete", "mixed"])
        restart = rng.random() < 0.5
        with open(node.trigger, "w") as f:
            f.write(("n" if err == "enospc" else "e") + {"submit": "s", "complete": "a"}.get(when, "m"))
        node.disk_faulted = True
        cl.events.add("disk-fault", node=node.id, error=err, at=when, restart=restart)

        def heal():
            if os.path.exists(node.trigger):
                os.unlink(node.trigger)
            rc = node.proc.returncode if node.proc is not None and node.proc.poll() is not None else None
            state = None
            if not restart and rc is None:
                time.sleep(3)
                rc = node.proc.returncode if node.proc is not None and node.proc.poll() is not None else None
                state = node.status().get("state") if rc is None else None
            if rc is not None:
                cl.events.add("unexpected-exit", node=node.id, returncode=rc,
                              during=self.name, disk_faulted=True, log=node.log_tail(5))
                node.proc = None
            with cl.lock:
                if restart or rc is not None or state in (None, "unavailable"):
                    node.kill()
                    if node.id in cl.members:
                        node.start()
                    restarted = True
                else:
                    restarted = False
            cl.events.add("disk-heal", node=node.id, exited=rc, state=state, restarted=restarted)
        return Fault(self.name, ids, heal, {"node": node.id, "error": err, "at": when})


GENERATORS = {
    "kill-random": lambda: Kill("random"),
    "kill-leader": lambda: Kill("leader"),
    "kill-majority": lambda: Kill("majority"),
    "kill-all": lambda: Kill("all"),
    "pause-random": lambda: Pause("random"),
    "pause-leader": lambda: Pause("leader"),
    "partition-leader": lambda: Partition("leader"),
    "partition-split": lambda: Partition("split"),
    "partition-bridge": lambda: Partition("bridge"),
    "partition-oneway": lambda: Partition("oneway"),
    "member": lambda: Member(),
    "transfer": lambda: Transfer(),
    "disk-random": lambda: Disk("random"),
    "disk-leader": lambda: Disk("leader"),
}


class Scheduler:
    """Start faults from GENS (names, with repeats as weights) every INTERVAL seconds (a
    (min, max) range), each held for HOLD seconds, at most MAX_ACTIVE at once."""

    def __init__(self, cl, gens, rng, interval=(2, 5), hold=(3, 6), max_active=1, warmup=2,
                 quiet=(1, 3)):
        self.cl = cl
        self.gens = [GENERATORS[g]() for g in gens]
        self.rng = rng
        self.interval, self.hold, self.max_active, self.warmup = interval, hold, max_active, warmup
        # After a heal, leave the cluster QUIET seconds to recover before the next fault, or
        # back-to-back faults only measure how long it takes to elect a leader.
        self.quiet = quiet
        self.calm_until = 0.0
        self.stop_ev = threading.Event()
        self.active = []
        self.lock = threading.Lock()
        self.threads = []
        self.injected = {}
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def start(self):
        self.thread.start()

    def run_fault(self, gen):
        try:
            f = gen.start(self.cl, self.rng)
        except Exception as e:  # a failed injection is logged, never fatal
            self.cl.events.add("nemesis-error", generator=gen.name, error=repr(e))
            f = None
        if f is None:
            with self.lock:
                self.active.remove(gen)
            return
        with self.lock:
            self.injected[f.name] = self.injected.get(f.name, 0) + 1
        self.stop_ev.wait(self.rng.uniform(*self.hold))
        try:
            f.heal(self.cl)
        except Exception as e:
            self.cl.events.add("nemesis-error", generator=gen.name, error="heal: %r" % e)
        with self.lock:
            self.active.remove(gen)
            self.calm_until = max(self.calm_until, mono() + self.rng.uniform(*self.quiet))

    def loop(self):
        if self.stop_ev.wait(self.warmup):
            return
        while not self.stop_ev.is_set():
            for nid, rc in self.cl.check_crashes():
                # A node died on its own: record it (a finding) and bring it back.
                with self.cl.lock:
                    if nid in self.cl.members and nid not in self.cl.claims:
                        self.cl.nodes[nid].start()
            with self.lock:
                can = len(self.active) < self.max_active and (
                    self.active or mono() >= self.calm_until)
                gen = self.rng.choice(self.gens) if can else None
                if gen is not None:
                    self.active.append(gen)
            if gen is not None:
                t = threading.Thread(target=self.run_fault, args=(gen,), daemon=True)
                t.start()
                self.threads.append(t)
            self.stop_ev.wait(self.rng.uniform(*self.interval) if gen is not None else 0.2)

    def stop(self, timeout=120):
        """Stop starting faults and heal the active ones (their threads wake at once)."""
        self.stop_ev.set()
        self.thread.join(timeout)
        deadline = mono() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - mono()))
        return dict(self.injected)


__all__ = ["Scheduler", "GENERATORS", "Kill", "Pause", "Partition", "Member", "Transfer", "Disk"]
