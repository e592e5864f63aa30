#!/usr/bin/python3
"""Workload driver: N concurrent clients against a ConcordKV cluster for a bounded time.

Register workload on a few keys (GET, SET, GETSET whose old value the checker verifies,
WATCH/GET/MULTI/SET/EXEC compare-and-set) and append workload (APPEND of unique tokens, GET of
the whole value). Keys rotate every --rotate seconds so that each key's history stays short
enough to check. Clients follow -MOVED and re-read the member list from --nodes-file.

Every operation is one JSON line: id, p (process), f, key, value, inv and comp (monotonic
seconds), type (ok; fail = definitely not applied; unknown = may or may not have been
applied), result, node, error.
  f = get | set | getset | cas   (keys "r...")   value: the new value; cas: [expected, new]
  f = append | read              (keys "a...")   value: the token; result: length / value
  f = enqueue                    (key "q")       value: the item; result: the list's length
  f = dequeue                    (key "q")       value: the inflight list; result: item or null
  f = complete                   (key "inflight:P")  value: the item; result: LREM's count
  f = qread (final)              (key "q")       value: the lists read; result: {list: items}

Queue workload (a reliable job queue, Sidekiq/RQ style): every client is also a producer
(RPUSH q of a unique item, --queue-share of its ops); --consumers dedicated clients take items
with BLMOVE q inflight:P RIGHT LEFT 2 (--block-timeout), work on each (--job-time, about what
keeps q short but not always empty, so that BLMOVE both pops at once and blocks) and complete
it with LREM inflight:P 1 item. P is the consumer's process, so an inflight list belongs to one
sequence of ops with at most one unknown outcome, its last.
"""
import argparse
import json
import os
import random
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import threading
import time

try:
    from common import (CONN_ERRORS, Conn, ResponseError, dec, error_kind, mono,
                        moved_target)
except ImportError as e:  # python3-redis missing
    print("driver: %s" % e, file=sys.stderr)
    sys.exit(77)

TOKEN_SEP = ","
FINAL_PROCESS = 10 ** 6
QUEUE = "q"
INFLIGHT = "inflight:"
QUEUE_OPS = ("enqueue", "dequeue", "complete", "qread")


class Topology:
    """Known RESP addresses and the current leader guess, shared by the clients."""

    def __init__(self, seeds, nodes_file=None):
        self.lock = threading.Lock()
        self.addrs = list(seeds)
        self.leader = None
        self.nodes_file = nodes_file
        self.loaded_at = 0.0
        self.down = {}

    def refresh(self):
        if not self.nodes_file or mono() - self.loaded_at < 0.5:
            return
        self.loaded_at = mono()
        try:
            with open(self.nodes_file) as f:
                addrs = json.load(f)
        except (OSError, ValueError):
            return
        with self.lock:
            self.addrs = list(addrs)

    def pick(self, rng):
        self.refresh()
        now = mono()
        with self.lock:
            if self.leader:
                return self.leader
            up = [a for a in self.addrs if self.down.get(a, 0) < now]
            return rng.choice(up or self.addrs) if self.addrs else None

    def moved(self, addr):
        with self.lock:
            self.leader = addr
            if addr not in self.addrs:
                self.addrs.append(addr)

    def suspect(self, addr, down=False):
        with self.lock:
            if self.leader == addr:
                self.leader = None
            if down:  # refused a connection: avoid it for a moment
                self.down[addr] = mono() + 0.5


class Unknown(Exception):
    """The command may or may not have been applied."""


class Failed(Exception):
    """The command was definitely not applied."""


class Redirect(Exception):
    def __init__(self, target):
        Exception.__init__(self, target)
        self.target = target


class History:
    def __init__(self, path):
        self.f = open(path, "a")
        self.lock = threading.Lock()
        self.n = 0

    def log(self, op):
        with self.lock:
            self.n += 1
            op["id"] = self.n
            self.f.write(json.dumps(op) + "\n")
            if self.n % 200 == 0:
                self.f.flush()

    def close(self):
        with self.lock:
            self.f.flush()
            self.f.close()


class Client:
    def __init__(self, idx, nclients, topo, hist, args, rng):
        self.idx = idx
        self.nclients = nclients
        self.proc = idx
        self.topo = topo
        self.hist = hist
        self.args = args
        self.rng = rng
        self.conn = None
        self.seq = 0
        self.stop_at = float("inf")
        # A follower reader: its GETs go to any node after READONLY (follower reads).
        self.readonly = idx < getattr(args, "readonly_clients", 0)
        self.ro_conn = None

    # ---- connection ----

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.ro_conn is not None:
            self.ro_conn.close()
            self.ro_conn = None

    def connect(self, addr):
        if self.conn is not None and self.conn.addr == addr:
            return self.conn
        self.close()
        try:
            self.conn = Conn(addr, timeout=self.args.op_timeout, connect_timeout=1.0)
        except CONN_ERRORS as e:
            self.topo.suspect(addr, down=True)
            raise Failed("connect %s: %s" % (addr, e))  # nothing was sent
        return self.conn

    def new_process(self):
        """After an unknown outcome this client's op may still be in flight: the next ops
        belong to a new process (Jepsen's convention)."""
        self.proc += self.nclients
        self.close()

    def call(self, conn, *args):
        """One command; raises Redirect, Failed or Unknown; returns the reply."""
        try:
            return conn.call(*args)
        except ResponseError as e:
            msg = str(e)
            target = moved_target(msg)
            if target:
                self.topo.moved(target)
                raise Redirect(target)
            if error_kind(msg) == "fail":
                self.topo.suspect(conn.addr)
                raise Failed(msg)
            raise Unknown(msg)
        except CONN_ERRORS as e:
            self.topo.suspect(conn.addr)
            raise Unknown("connection: %s" % e)

    # ---- one logged operation, with redirects ----

    def run_op(self, f, key, value, body, extra=None):
        """Run BODY(conn, op) -> result, following up to 5 redirects; log the operation.
        BODY sets op["_unsent"] while nothing that could write has been sent yet: an unknown
        outcome then is a failure."""
        op = {"p": self.proc, "f": f, "key": key, "value": value, "inv": mono()}
        if extra:
            op.update(extra)
        addr = self.topo.pick(self.rng)
        outcome, result, err = "fail", None, None
        for attempt in range(6):
            if attempt >= 2:
                time.sleep(0.02 * attempt)  # redirect loops while a leader is elected
            if addr is None:
                err = "no known node"
                break
            try:
                conn = self.connect(addr)
                result = body(conn, op)
                outcome = "ok"
                err = None
                break
            except Redirect as r:
                addr = r.target
                err = "MOVED"
                self.close()  # WATCH state and the like belong to the old connection
                continue
            except Failed as e:
                err = str(e)
                self.close() if err.startswith("connect") else None
                if err.startswith("connect"):
                    addr = self.topo.pick(self.rng)
                    continue
                break
            except Unknown as e:
                outcome, err = "unknown", str(e)
                break
        op["comp"] = mono()
        if op.pop("_unsent", False) and outcome == "unknown":
            outcome = "fail"
        op["type"] = outcome
        op["result"] = result
        op["node"] = addr
        if err:
            op["error"] = err[:200]
        self.hist.log(op)
        if outcome == "unknown":
            self.new_process()
        elif outcome == "fail":
            time.sleep(0.05)  # no leader / redirect storm: do not spin
        return op

    # ---- workloads ----

    def unique(self):
        self.seq += 1
        return "%d-%d" % (self.idx, self.seq)

    def op_get(self, key):
        if self.readonly:
            return self.op_get_anywhere(key)
        return self.run_op("get", key, None, lambda c, op: dec(self.call(c, "GET", key)))

    def op_get_anywhere(self, key):
        """GET on a random node after READONLY: a follower serves it itself (linearizable by
        default), so it goes into the same register history as the leader's reads."""
        op = {"p": self.proc, "f": "get", "key": key, "value": None, "inv": mono(), "ro": True}
        self.topo.refresh()
        with self.topo.lock:
            addrs = list(self.topo.addrs)
        if self.ro_conn is None and addrs:
            addr = self.rng.choice(addrs)
            try:
                self.ro_conn = Conn(addr, timeout=self.args.op_timeout, connect_timeout=1.0)
                self.ro_conn.call("READONLY")
            except (ResponseError,) + CONN_ERRORS:
                self.close()
        outcome, result, err = "fail", None, None
        if self.ro_conn is None:
            err = "no node to read from"
        else:
            try:
                result = dec(self.call(self.ro_conn, "GET", key))
                outcome = "ok"
            except Redirect:
                err = "MOVED"
            except Failed as e:
                err = str(e)
            except Unknown as e:
                outcome, err = "unknown", str(e)
        op["comp"] = mono()
        op["type"] = outcome
        op["result"] = result
        op["node"] = self.ro_conn.addr if self.ro_conn else None
        if err:
            op["error"] = err[:200]
        self.hist.log(op)
        if outcome != "ok":
            self.new_process()  # closes the connection: the next read picks a node again
            time.sleep(0.05)
        return op

    def op_set(self, key):
        v = self.unique()

        def body(c, op):
            r = dec(self.call(c, "SET", key, v))
            if r not in ("OK", True):
                raise Unknown("unexpected SET reply %r" % (r,))
            return "OK"
        return self.run_op("set", key, v, body)

    def op_getset(self, key):
        v = self.unique()
        return self.run_op("getset", key, v, lambda c, op: dec(self.call(c, "GETSET", key, v)))

    def op_cas(self, key):
        """WATCH key; GET key (logged as its own read); MULTI; SET key new; EXEC.
        EXEC nil means the watched key changed: the CAS did not happen (fail)."""
        v = self.unique()

        def body(c, op):
            op["_unsent"] = True
            self.call(c, "WATCH", key)
            rinv = mono()
            cur = dec(self.call(c, "GET", key))
            self.hist.log({"p": self.proc, "f": "get", "key": key, "value": None, "inv": rinv,
                           "comp": mono(), "type": "ok", "result": cur, "node": c.addr,
                           "via": "cas"})
            op["value"] = [cur, v]
            op["inv"] = mono()  # the CAS itself starts at MULTI
            self.call(c, "MULTI")
            q = dec(self.call(c, "SET", key, v))
            if q != "QUEUED":
                raise Unknown("unexpected reply to queued SET: %r" % (q,))
            op.pop("_unsent", None)
            r = self.call(c, "EXEC")
            if r is None:
                raise Failed("EXEC nil: watched key changed")
            r = dec(r)
            if isinstance(r, list) and len(r) == 1 and r[0] in ("OK", True):
                return "OK"
            if isinstance(r, list) and r and isinstance(r[0], Exception):
                msg = str(r[0])
                if error_kind(msg) == "fail":
                    raise Failed(msg)
                raise Unknown(msg)
            raise Unknown("unexpected EXEC reply %r" % (r,))
        return self.run_op("cas", key, [None, v], body)

    def op_append(self, key):
        tok = "%d.%d" % (self.idx, self.seq + 1)
        self.seq += 1

        def body(c, op):
            r = self.call(c, "APPEND", key, tok + TOKEN_SEP)
            if not isinstance(r, int):
                raise Unknown("unexpected APPEND reply %r" % (r,))
            return r
        return self.run_op("append", key, tok, body)

    def op_read(self, key):
        return self.run_op("read", key, None, lambda c, op: dec(self.call(c, "GET", key)))

    def op_enqueue(self):
        self.seq += 1
        item = "p%d-%d" % (self.idx, self.seq)

        def body(c, op):
            r = self.call(c, "RPUSH", QUEUE, item)
            if not isinstance(r, int):
                raise Unknown("unexpected RPUSH reply %r" % (r,))
            return r
        return self.run_op("enqueue", QUEUE, item, body)

    def op_dequeue(self):
        """BLMOVE q inflight:P RIGHT LEFT timeout; then LREM inflight:P 1 item, retried while
        it definitely failed (a worker completes the job it holds). P is fixed before the op:
        after an unknown outcome the next op belongs to a new process and a new list."""
        dest = INFLIGHT + str(self.proc)
        timeout = "%g" % self.args.block_timeout
        op = self.run_op("dequeue", QUEUE, dest, lambda c, op: dec(
            self.call(c, "BLMOVE", QUEUE, dest, "RIGHT", "LEFT", timeout)))
        if op["type"] != "ok" or op["result"] is None:
            return op
        item = op["result"]
        if self.args.job_time > 0:  # the job itself: items wait in q and in flight meanwhile
            time.sleep(self.rng.expovariate(1.0 / self.args.job_time))

        def body(c, op):
            r = self.call(c, "LREM", dest, 1, item)
            if not isinstance(r, int):
                raise Unknown("unexpected LREM reply %r" % (r,))
            return r
        deadline = min(mono() + 30, self.stop_at + 5)
        while True:
            done = self.run_op("complete", dest, item, body)
            if done["type"] != "fail" or mono() > deadline:
                return done

    def run_consumer(self, end):
        self.stop_at = end
        while mono() < end:
            self.op_dequeue()
        self.close()

    def run(self, t0, end):
        a = self.args
        while mono() < end:
            gen = int((mono() - t0) / a.rotate)
            if self.rng.random() < a.queue_share:
                self.op_enqueue()
            elif self.rng.random() < a.register_share:
                key = "r%d.%d" % (gen, self.rng.randrange(a.registers))
                x = self.rng.random()
                if x < 0.35:
                    self.op_get(key)
                elif x < 0.6:
                    self.op_set(key)
                elif x < 0.8:
                    self.op_getset(key)
                else:
                    self.op_cas(key)
            else:
                key = "a%d.%d" % (gen, self.rng.randrange(a.append_keys))
                if self.rng.random() < 0.7:
                    self.op_append(key)
                else:
                    self.op_read(key)
            if a.think > 0:
                time.sleep(self.rng.uniform(0, 2 * a.think))
        self.close()


def final_reads(seeds, keys, out_path, nodes_file=None, timeout=60.0):
    """After the faults are healed: read every key on the leader, retrying until it answers,
    and log the reads with "final": true (the checkers take the last ok one per key).
    Returns the number of keys that could not be read."""
    topo = Topology(seeds, nodes_file)
    hist = History(out_path)
    args = argparse.Namespace(op_timeout=10.0)
    cl = Client(FINAL_PROCESS, 1, topo, hist, args, random.Random(1))
    missing = 0
    for key in sorted(keys):
        f = "read" if key.startswith("a") else "get"
        deadline = mono() + timeout
        while True:
            op = cl.run_op(f, key, None, lambda c, op, k=key: dec(cl.call(c, "GET", k)),
                           extra={"final": True})
            if op["type"] == "ok":
                break
            if mono() > deadline:
                missing += 1
                break
            time.sleep(0.2)
    hist.close()
    return missing


def final_queue_read(seeds, out_path, nodes_file=None, timeout=60.0):
    """After the faults are healed: read q and every inflight list of the history in one
    MULTI/EXEC on the leader (one atomic, linearizable snapshot), retrying until it answers;
    log it as a final qread. Returns True when it was read (or there is no queue)."""
    keys = sorted(queue_lists(out_path), key=lambda k: (k != QUEUE, k))
    if not keys:
        return True
    topo = Topology(seeds, nodes_file)
    hist = History(out_path)
    args = argparse.Namespace(op_timeout=10.0)
    cl = Client(FINAL_PROCESS + 1, 1, topo, hist, args, random.Random(2))

    def body(c, op):
        op["_unsent"] = True
        if dec(cl.call(c, "MULTI")) not in ("OK", True):
            raise Failed("MULTI refused")
        for k in keys:
            if dec(cl.call(c, "LRANGE", k, 0, -1)) != "QUEUED":
                raise Failed("LRANGE not queued")
        op.pop("_unsent", None)
        r = dec(cl.call(c, "EXEC"))
        if not isinstance(r, list) or len(r) != len(keys) or not all(
                isinstance(x, list) for x in r):
            raise Unknown("unexpected EXEC reply %r" % (r,))
        return dict(zip(keys, r))
    deadline = mono() + timeout
    while True:
        op = cl.run_op("qread", QUEUE, keys, body, extra={"final": True})
        if op["type"] == "ok" or mono() > deadline:
            break
        time.sleep(0.2)
    hist.close()
    return op["type"] == "ok"


def queue_lists(path):
    """The queue and the inflight lists named by the dequeue ops of the history at PATH (none
    when it has no queue ops)."""
    out = set()
    with open(path) as f:
        for line in f:
            try:
                op = json.loads(line)
            except ValueError:
                continue
            if op.get("f") in ("enqueue", "dequeue"):
                out.add(QUEUE)
            if op.get("f") == "dequeue":
                out.add(op["value"])
    return out


def keys_in(path):
    """The register and append keys of the history at PATH (final_reads reads them)."""
    keys = set()
    with open(path) as f:
        for line in f:
            try:
                op = json.loads(line)
                if op["f"] not in QUEUE_OPS:
                    keys.add(op["key"])
            except (ValueError, KeyError):
                pass
    return keys


def main():
    ap = argparse.ArgumentParser(description="ConcordKV chaos workload driver")
    ap.add_argument("--nodes", required=True, help="comma-separated RESP ip:port seeds")
    ap.add_argument("--nodes-file", help="JSON list of member RESP addresses, re-read often")
    ap.add_argument("--out", required=True, help="history file (JSONL, appended)")
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--registers", type=int, default=3)
    ap.add_argument("--append-keys", type=int, default=2)
    ap.add_argument("--register-share", type=float, default=0.6,
                    help="share of register ops among those that are not enqueues")
    ap.add_argument("--queue-share", type=float, default=0.15, help="share of enqueues")
    ap.add_argument("--consumers", type=int, default=2, help="queue consumers (extra clients)")
    ap.add_argument("--block-timeout", type=float, default=2, help="BLMOVE timeout (s)")
    ap.add_argument("--job-time", type=float, default=0.01,
                    help="mean time a consumer works on an item before completing it (s)")
    ap.add_argument("--rotate", type=float, default=20, help="seconds per key generation")
    ap.add_argument("--think", type=float, default=0.01, help="mean pause between ops (s)")
    ap.add_argument("--op-timeout", type=float, default=10, help="client socket timeout (s)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--readonly-clients", type=int, default=0,
                    help="of --clients, how many send their GETs to any node after READONLY")
    ap.add_argument("--final", action="store_true", help="after the run, read every key")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    topo = Topology(a.nodes.split(","), a.nodes_file)
    hist = History(a.out)
    t0 = mono()
    end = t0 + a.duration
    n = a.clients + a.consumers
    clients = [Client(i, n, topo, hist, a, random.Random(seed * 1000 + i)) for i in range(n)]
    threads = [threading.Thread(target=c.run, args=(t0, end), daemon=True)
               for c in clients[:a.clients]]
    threads += [threading.Thread(target=c.run_consumer, args=(end,), daemon=True)
                for c in clients[a.clients:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.duration + 3 * a.op_timeout + 30)
    hist.close()
    if a.final:
        final_reads(a.nodes.split(","), keys_in(a.out), a.out, a.nodes_file)
        final_queue_read(a.nodes.split(","), a.out, a.nodes_file)
    print("driver: seed %d, %d ops" % (seed, hist.n))


if __name__ == "__main__":
    main()
