#!/usr/bin/env python3
"""redis-py's RedisCluster against a 3-node ConcordKV cluster: it starts (INFO cluster,
CLUSTER SLOTS), sets and gets through the leader, and with read_from_replicas=True reads from
the followers too (READONLY), never a stale value after an acknowledged write.
Prints TAP-like "ok - name" / "not ok - name" lines, as test_python.py does.
  python3 test_cluster.py --cluster-ports 7001,7002,7003"""
import argparse
import traceback

import redis
from redis.cluster import RedisCluster


def rediscluster_plain(ports):
    rc = RedisCluster(host="127.0.0.1", port=ports[0], socket_timeout=10)
    for i in range(100):
        assert rc.set("py:rc:%d" % i, "v%d" % i) is True
    assert [rc.get("py:rc:%d" % i) for i in range(100)] == [b"v%d" % i for i in range(100)]
    assert rc.incr("py:rc:n") == 1
    assert len(rc.get_nodes()) == 3
    rc.close()


def rediscluster_read_from_replicas(ports):
    rc = RedisCluster(host="127.0.0.1", port=ports[-1], socket_timeout=10, read_from_replicas=True)
    for i in range(200):
        assert rc.set("py:rr", "v%d" % i) is True
        got = rc.get("py:rr")
        assert got == b"v%d" % i, "read %r after writing v%d" % (got, i)
    rc.close()
    served = 0
    for p in ports:
        info = redis.Redis(host="127.0.0.1", port=p, socket_timeout=10).info("raft")
        served += info.get("follower_reads", 0)
    assert served > 0, "no read was served by a follower"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cluster-ports", required=True)
    args = parser.parse_args()
    ports = [int(p) for p in args.cluster_ports.split(",")]
    failed = 0
    for fn in (rediscluster_plain, rediscluster_read_from_replicas):
        try:
            fn(ports)
        except Exception as exc:
            failed += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            print("not ok - %s: %s: %s (line %d)" % (fn.__name__, type(exc).__name__, exc,
                                                     where.lineno), flush=True)
        else:
            print("ok - %s" % fn.__name__, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
