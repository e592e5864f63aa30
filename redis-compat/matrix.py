#!/usr/bin/env python3
"""redis-py's cells of the client matrix (redis-compat/matrix.sh) and its failover check.

  matrix.py cells --target NAME:PORT:EXPECT ...
      For each target: a plain Redis client (SET/GET/INCR, a pipeline, MULTI/EXEC as
      pipeline(transaction=True)) and RedisCluster seeded with that node only, with and without
      read_from_replicas (SET/GET/INCR, a ClusterPipeline). EXPECT is "ok" (a plain client is
      served) or "moved" (follower-mode moved: each plain command answers -MOVED, a MULTI
      block ends in EXECABORT after a MOVED). Cluster clients must work on every target.
  matrix.py failover --seeds P1,P2,P3 --dir DIR --name NAME [--replicas] [--xfail-slow WHY]
      RedisCluster writes key/value pairs, reading each back through the client; after 100
      acknowledged writes it creates DIR/NAME.ready, and once DIR/killed exists (the shell
      SIGKILLed the leader) it goes on until 100 more are acknowledged (within --after-kill
      seconds; with --xfail-slow, fewer is an expected failure, printed with WHY). Every
      acknowledged pair is appended to DIR/NAME.acked (checked against the new leader by the
      shell) and read back from the master at the end.
Prints "ok - name" / "not ok - name: reason" (and "xfail - name: reason") lines; exits 1 if
any failed.
"""
import argparse
import copy
import os
import time
import traceback
import types

import redis
from redis.cluster import ClusterNode, RedisCluster

HOST = "127.0.0.1"
FAILED = []


def run(name, fn, *args):
    try:
        note = fn(*args)
    except Exception as exc:  # one failed cell must not hide the others
        FAILED.append(name)
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print("not ok - %s: %s: %s (line %d)" % (name, type(exc).__name__, exc, where.lineno),
              flush=True)
        return
    print("ok - %s%s" % (name, " # " + note if note else ""), flush=True)


def expect_moved(fn):
    """fn() must raise a ResponseError that is a -MOVED (redis-py prefixes a pipeline's with
    "Command # n (...) of pipeline caused error: ")."""
    try:
        got = fn()
    except redis.ResponseError as e:
        msg = str(e)
        assert msg.startswith("MOVED ") or "caused error: MOVED " in msg, \
            "expected MOVED, got %r" % msg
        return
    raise AssertionError("expected MOVED, got the reply %r" % (got,))


# ---- plain client ----

def plain_basic(port, tag, expect):
    r = redis.Redis(host=HOST, port=port, socket_timeout=10)
    if expect == "moved":
        expect_moved(lambda: r.set("py:%s:k" % tag, "v"))
        expect_moved(lambda: r.get("py:%s:k" % tag))
        expect_moved(lambda: r.incr("py:%s:n" % tag))
        return
    assert r.set("py:%s:k" % tag, "v1") is True
    assert r.get("py:%s:k" % tag) == b"v1"
    assert r.incr("py:%s:n" % tag) == 1
    assert r.incr("py:%s:n" % tag) == 2


def plain_pipeline(port, tag, expect):
    r = redis.Redis(host=HOST, port=port, socket_timeout=10)
    p = r.pipeline(transaction=False)
    p.set("py:%s:p" % tag, "a").get("py:%s:p" % tag).incr("py:%s:pn" % tag).incr("py:%s:pn" % tag)
    if expect == "moved":
        expect_moved(p.execute)
        return
    assert p.execute() == [True, b"a", 1, 2]


def plain_multi(port, tag, expect):
    r = redis.Redis(host=HOST, port=port, socket_timeout=10)
    p = r.pipeline(transaction=True)
    p.set("py:%s:m" % tag, "b").incr("py:%s:mn" % tag).get("py:%s:m" % tag)
    if expect == "moved":
        # redis-py raises the first queued command's error when EXEC answers EXECABORT.
        expect_moved(p.execute)
        return
    assert p.execute() == [True, 1, b"b"]


# ---- RedisCluster ----

def cluster_basic(port, tag, replicas):
    rc = RedisCluster(host=HOST, port=port, socket_timeout=10, read_from_replicas=replicas)
    for i in range(20):
        assert rc.set("py:%s:c%d" % (tag, i), "v%d" % i) is True
        got = rc.get("py:%s:c%d" % (tag, i))
        assert got == b"v%d" % i, "read %r after writing v%d" % (got, i)
    assert rc.incr("py:%s:cn" % tag) == 1
    assert rc.incr("py:%s:cn" % tag) == 2
    rc.close()


def cluster_pipeline(port, tag, replicas):
    rc = RedisCluster(host=HOST, port=port, socket_timeout=10, read_from_replicas=replicas)
    p = rc.pipeline()
    p.set("py:%s:cp" % tag, "x").get("py:%s:cp" % tag).incr("py:%s:cpn" % tag)
    assert p.execute() == [True, b"x", 1]
    rc.close()


def cells(args):
    for target in args.target:
        name, port, expect = target.split(":")
        port = int(port)
        for what, fn in (("set_get_incr", plain_basic), ("pipeline", plain_pipeline),
                         ("multi_exec", plain_multi)):
            run("py-plain %s %s%s" % (name, what, " (MOVED)" if expect == "moved" else ""),
                fn, port, "%s:%s" % (name, what), expect)
        for replicas in (False, True):
            client = "py-cluster%s" % ("+replicas" if replicas else "")
            tag = "%s:%s" % (name, "r" if replicas else "p")
            run("%s %s set_get_incr" % (client, name), cluster_basic, port, tag, replicas)
            run("%s %s pipeline" % (client, name), cluster_pipeline, port, tag, replicas)
        print("ok - py-cluster %s multi_exec # N/A: redis-py 4.3's RedisCluster has no "
              "transactions (pipeline(transaction=True) is refused by the library)" % name,
              flush=True)


# ---- failover ----

def work_around_redis_py_2480():
    """redis-py before 4.4 deep-copies its connection options, which hold a bound method of the
    RedisCluster (and through it a lock), whenever it rediscovers the cluster through a seed
    it has no connection to: after a node fails, every command then raises "cannot pickle
    '_thread.lock' object" (redis/redis-py#2480, fixed in 4.4 by #2377). Deep-copying bound
    methods as themselves is what the fix amounts to. Returns a note, or None on 4.4+."""
    version = tuple(int(x) for x in redis.__version__.split(".")[:2])
    if version >= (4, 4):
        return None
    copy._deepcopy_dispatch[types.MethodType] = lambda method, memo: method
    return "redis-py %s: worked around redis/redis-py#2480" % redis.__version__


def failover(args):
    note = work_around_redis_py_2480()
    seeds = [int(p) for p in args.seeds.split(",")]
    rc = RedisCluster(startup_nodes=[ClusterNode(HOST, p) for p in seeds], socket_timeout=2,
                      read_from_replicas=args.replicas, cluster_error_retry_attempts=1)
    prefix = "fo:%s:" % args.name
    ready = os.path.join(args.dir, args.name + ".ready")
    killed = os.path.join(args.dir, "killed")
    acked = {}
    errors, stale = [], []
    after_kill = lb_resets = 0
    i = 0
    start = time.monotonic()
    killed_at = None
    slow = None
    with open(os.path.join(args.dir, args.name + ".acked"), "w") as log:
        while after_kill < 100:
            now = time.monotonic()
            assert now - start < args.deadline, \
                "%d acknowledged writes (%d after the kill) in %d s; last errors %r" % (
                    len(acked), after_kill, args.deadline, errors[-3:])
            if killed_at is not None and now - killed_at > args.after_kill:
                slow = "only %d acknowledged writes in the %d s after the kill; last errors %r" % (
                    after_kill, args.after_kill, errors[-2:])
                break
            key, val = "%s%d" % (prefix, i), "v%d" % i
            try:
                ok = rc.set(key, val)
            except Exception as e:  # not acknowledged: the next key is tried
                errors.append("%s: %s" % (type(e).__name__, e))
                time.sleep(0.02)
                i += 1
                continue
            i += 1
            if ok is not True:
                errors.append("SET answered %r" % (ok,))
                continue
            acked[key] = val
            log.write("%s %s\n" % (key, val))
            log.flush()
            if killed_at is None and os.path.exists(killed):
                killed_at = time.monotonic()
            if killed_at is not None:
                after_kill += 1
            elif len(acked) == 100:
                open(ready, "w").close()
            try:
                got = rc.get(key)
            except IndexError as e:
                # redis-py 4.3's round-robin over a slot's nodes keeps its index when a MOVED
                # shrinks that slot's node list to the new master alone (NodesManager.
                # update_moved_exception): reset it, as its next full rediscovery would.
                lb_resets += 1
                rc.nodes_manager.read_load_balancer.reset()
                continue
            except Exception as e:
                errors.append("GET %s: %s" % (type(e).__name__, e))
                continue
            if got != val.encode():
                stale.append((key, got))
    assert not stale, "%d reads after an acknowledged SET did not see it, e.g. %r" % (
        len(stale), stale[:3])
    rc.close()
    # Read back from the master (a replica read that misses a write failed above already).
    rc = RedisCluster(startup_nodes=[ClusterNode(HOST, p) for p in seeds], socket_timeout=2)
    missing = []
    for key, val in acked.items():
        deadline = time.monotonic() + 10
        while True:
            try:
                got = rc.get(key)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if got != val.encode():
            missing.append(key)
    assert not missing, "%d acknowledged keys lost, e.g. %r" % (len(missing), missing[:5])
    rc.close()
    if slow and args.xfail_slow:
        print("xfail - %s failover_keeps_writing: %s (expected: %s)" % (args.name, slow,
                                                                    args.xfail_slow), flush=True)
    else:
        assert not slow, slow
    if lb_resets:
        note = (note + ", " if note else "") + \
            "%d reads hit redis-py's IndexError after a MOVED (its load balancer reset)" % lb_resets
    return "%d writes acknowledged (%d after the kill), %d errors retried%s" % (
        len(acked), after_kill, len(errors), "; " + note if note else "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("cells", "failover"))
    parser.add_argument("--seeds", default="")
    parser.add_argument("--target", action="append", default=[])
    parser.add_argument("--dir")
    parser.add_argument("--name")
    parser.add_argument("--replicas", action="store_true")
    parser.add_argument("--deadline", type=float, default=45)
    parser.add_argument("--after-kill", type=float, default=20,
                        help="seconds for the 100 writes after the kill")
    parser.add_argument("--xfail-slow", default="",
                        help="the known reason why fewer writes may get through after the kill")
    args = parser.parse_args()
    if args.mode == "cells":
        cells(args)
    else:
        run("%s failover_sigkill" % args.name, failover, args)
    return 1 if FAILED else 0


if __name__ == "__main__":
    raise SystemExit(main())
