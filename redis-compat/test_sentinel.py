#!/usr/bin/env python3
"""redis-py's Sentinel client (python3-redis 4.x) against a 3-node ConcordKV cluster whose
every node answers SENTINEL: discovery of the master (the raft leader) and its replicas,
master_for / slave_for, and writes through a SIGKILL of the leader with no acknowledged
write lost, the new master announced by +switch-master on a surviving node.

Usage: test_sentinel.py --ports P1,P2,P3 --pids PID1,PID2,PID3 [--name mymaster]
The pids are the nodes' (same order as the ports); the leader's is killed with SIGKILL.
Prints one "ok - name" or "not ok - name: reason" line per check; exits 0 only if none failed.
"""
import argparse
import os
import signal
import time
import traceback

import redis
from redis.sentinel import Sentinel

HOST = "127.0.0.1"
RESULTS = {"passed": 0, "failed": 0}
DEADLINE_S = 60


def wait_until(pred, timeout=20.0):
    """Poll pred every 20 ms until it is true (returns it) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            v = None
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(0.02)


def role_of(port):
    try:
        return redis.Redis(host=HOST, port=port, socket_timeout=2).info("replication")["role"]
    except (redis.ConnectionError, redis.TimeoutError):
        return None


def leader_port(ports):
    masters = [p for p in ports if role_of(p) == "master"]
    return masters[0] if len(masters) == 1 else None


def run(name, fn, *args):
    try:
        note = fn(*args)
    except Exception as exc:  # one failed check must not hide the others
        RESULTS["failed"] += 1
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print("not ok - %s: %s: %s (line %d)" % (name, type(exc).__name__, exc, where.lineno), flush=True)
        return False
    RESULTS["passed"] += 1
    print("ok - %s%s" % (name, " # " + note if note else ""), flush=True)
    return True


def discovery(st):
    """discover_master is the leader every node agrees on; discover_slaves the two others."""
    leader = wait_until(lambda: leader_port(st.ports))
    assert leader, "no single leader"
    sentinel = st.sentinel
    got = wait_until(lambda: sentinel.discover_master(st.name) == (HOST, leader))
    assert got, "discover_master: %r, leader %d" % (sentinel.discover_master(st.name), leader)
    want = sorted((HOST, p) for p in st.ports if p != leader)
    assert wait_until(lambda: sorted(sentinel.discover_slaves(st.name)) == want), \
        "discover_slaves: %r, want %r" % (sentinel.discover_slaves(st.name), want)
    def all_announced(port):
        m = redis.Redis(host=HOST, port=port, socket_timeout=2).sentinel_master(st.name)
        return m["num-slaves"] == 2 and m["num-other-sentinels"] == 2
    for port in st.ports:  # the followers announce their addresses through the log after start
        assert wait_until(lambda: all_announced(port)), "node %d does not know every address" % port
    for port in st.ports:
        r = redis.Redis(host=HOST, port=port, socket_timeout=2, decode_responses=True)
        masters = r.sentinel_masters()
        assert list(masters) == [st.name], masters
        m = masters[st.name]
        assert m["is_master"] and not m["is_sdown"] and m["port"] == leader, m
        assert m["num-slaves"] == 2 and m["num-other-sentinels"] == 2 and m["quorum"] == 2, m
        assert r.sentinel_get_master_addr_by_name(st.name) == (HOST, leader)
        assert len(r.sentinel_sentinels(st.name)) == 2
        assert r.sentinel_get_master_addr_by_name("nosuch") is None
        try:
            r.sentinel_master("nosuch")
            raise AssertionError("SENTINEL MASTER nosuch did not fail")
        except redis.ResponseError as e:
            assert "No such master with that name" in str(e), e
    st.leader = leader


def master_for(st):
    m = st.sentinel.master_for(st.name, socket_timeout=2)
    assert m.set("sentinel:py", "v1") is True
    assert m.get("sentinel:py") == b"v1"
    assert m.connection_pool.get_master_address() == (HOST, st.leader)


def slave_for(st):
    """A replica connection: its reads are a follower's (served, or MOVED on a build where
    followers redirect plain clients)."""
    s = st.sentinel.slave_for(st.name, socket_timeout=2)
    try:
        got = s.get("sentinel:py")
    except redis.ResponseError as e:
        assert str(e).startswith("MOVED"), e
        return "the follower answered %s: plain reads on a follower are not served by this build" % e
    assert got == b"v1", got
    return None


def read_retrying(m, key, timeout=10.0):
    """GET through master_for, tried again while the connection or the cluster fails."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return m.get(key)
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def failover(st):
    """SET in a loop through master_for; SIGKILL the leader after 100 acknowledged writes;
    the client finds the new leader; 100 more; every acknowledged key is there at the end."""
    follower = next(p for p in st.ports if p != st.leader)
    sub = redis.Redis(host=HOST, port=follower, socket_timeout=2).pubsub(ignore_subscribe_messages=True)
    sub.subscribe("+switch-master")
    assert wait_until(lambda: redis.Redis(host=HOST, port=follower).pubsub_numsub("+switch-master")[0][1] == 1)
    m = st.sentinel.master_for(st.name, socket_timeout=2)
    acked, errors, killed_at = {}, [], None
    start = time.monotonic()
    i = 0
    while len(acked) < 200:
        assert time.monotonic() - start < DEADLINE_S, \
            "%d acknowledged writes in %d s; last errors %r" % (len(acked), DEADLINE_S, errors[-3:])
        key, val = "sentinel:k%d" % i, "v%d" % i
        try:
            if m.set(key, val) is True:
                acked[key] = val
                i += 1
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as e:
            errors.append("%s: %s" % (type(e).__name__, e))  # not acknowledged: tried again
            time.sleep(0.02)
        if killed_at is None and len(acked) == 100:
            os.kill(st.pids[st.ports.index(st.leader)], signal.SIGKILL)
            killed_at = len(acked)
    survivors = [p for p in st.ports if p != st.leader]
    new = wait_until(lambda: leader_port(survivors))
    assert new, "no new leader among %r" % survivors
    assert m.connection_pool.get_master_address() == (HOST, new)
    missing = [k for k, v in acked.items() if read_retrying(m, k) != v.encode()]
    assert not missing, "%d acknowledged keys lost, e.g. %r" % (len(missing), missing[:5])
    want = "%s %s %d %s %d" % (st.name, HOST, st.leader, HOST, new)
    msg = None
    deadline = time.monotonic() + 20
    while msg is None and time.monotonic() < deadline:
        msg = sub.get_message(timeout=1.0)
    assert msg is not None, "no +switch-master on the follower %d" % follower
    assert msg["channel"] == b"+switch-master" and msg["data"] == want.encode(), msg
    sub.close()
    return "%d writes acknowledged, %d failed and retried during the failover" % (len(acked), len(errors))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--pids", required=True)
    ap.add_argument("--name", default="mymaster")
    args = ap.parse_args()

    class State:
        pass
    st = State()
    st.ports = [int(p) for p in args.ports.split(",")]
    st.pids = [int(p) for p in args.pids.split(",")]
    st.name = args.name
    st.sentinel = Sentinel([(HOST, p) for p in st.ports], socket_timeout=2)
    if run("sentinel_discovery", discovery, st):
        run("sentinel_master_for", master_for, st)
        run("sentinel_slave_for", slave_for, st)
        run("sentinel_failover_sigkill", failover, st)
    print("python sentinel: %d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
