#!/usr/bin/env python3
"""Black-box checks of ConcordKV through redis-py (python3-redis 4.x).

Usage: test_python.py --port P [--auth-port P2 --password PW]
Prints one "ok - name" or "not ok - name: reason" line per check, then
"python: N passed, M failed"; exits 0 only if nothing failed.
"""
import argparse
import threading
import time
import traceback

import redis

RESULTS = {"passed": 0, "failed": 0}
CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def expect_error(exc_class, fn, *args, text=None, **kwargs):
    """Call fn and require exc_class (and text in its message, if given)."""
    try:
        fn(*args, **kwargs)
    except exc_class as e:
        if text is not None and text not in str(e):
            raise AssertionError("%s raised %r, expected text %r" % (fn.__name__, str(e), text))
        return e
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), exc_class))


def wait_until(pred, timeout=5.0):
    """Poll pred every 10 ms until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return pred()
        time.sleep(0.01)


@check
def set_get_basic(r, args):
    assert r.set("py:str", "value") is True
    assert r.get("py:str") == b"value"
    assert r.get("py:missing") is None
    assert r.exists("py:str", "py:missing") == 1
    assert r.delete("py:str", "py:missing") == 1
    assert r.get("py:str") is None


@check
def binary_values_and_keys(r, args):
    value = bytes(range(256)) * 4 + b"\r\n\x00end"
    key = b"py:bin\x00\xff\r\nkey"
    assert r.set(key, value)
    assert r.get(key) == value
    assert r.strlen(key) == len(value)
    big = bytes((i * 131) & 0xFF for i in range(512 * 1024))
    assert r.set("py:big", big)
    assert r.get("py:big") == big


@check
def unicode_with_decode_responses(r, args):
    d = redis.Redis(port=args.port, host="127.0.0.1", decode_responses=True)
    d.set("py:uni", "h\u00e9llo \u4e16\u754c")
    assert d.get("py:uni") == "h\u00e9llo \u4e16\u754c"
    assert r.strlen("py:uni") == len("h\u00e9llo \u4e16\u754c".encode())
    d.close()


@check
def set_options_nx_xx_get(r, args):
    r.delete("py:nx")
    assert r.set("py:nx", "1", nx=True) is True
    assert r.set("py:nx", "2", nx=True) is None
    assert r.set("py:nx", "3", xx=True) is True
    assert r.set("py:nx-missing", "3", xx=True) is None
    assert r.set("py:nx", "4", get=True) == b"3"
    assert r.get("py:nx") == b"4"
    assert r.setnx("py:nx", "5") is False
    assert r.getset("py:nx", "6") == b"4"


@check
def incr_family(r, args):
    r.delete("py:n")
    assert r.incr("py:n") == 1
    assert r.incrby("py:n", 10) == 11
    assert r.decr("py:n") == 10
    assert r.decrby("py:n", 20) == -10
    assert r.get("py:n") == b"-10"
    r.set("py:n", "9223372036854775807")
    expect_error(redis.ResponseError, r.incr, "py:n", text="increment or decrement would overflow")
    r.set("py:n", "abc")
    expect_error(redis.ResponseError, r.incr, "py:n", text="value is not an integer or out of range")


@check
def incrbyfloat(r, args):
    r.delete("py:f")
    assert r.incrbyfloat("py:f", 1.5) == 1.5
    assert r.incrbyfloat("py:f", 2.25) == 3.75
    assert r.get("py:f") == b"3.75"
    r.set("py:f", "10")
    assert r.incrbyfloat("py:f", -0.5) == 9.5
    r.set("py:f", "abc")
    expect_error(redis.ResponseError, r.incrbyfloat, "py:f", 1.0, text="value is not a valid float")


@check
def mset_mget(r, args):
    mapping = {"py:m:%d" % i: "v%d" % i for i in range(100)}
    assert r.mset(mapping) is True
    keys = list(mapping) + ["py:m:missing"]
    values = r.mget(keys)
    assert values[:100] == [("v%d" % i).encode() for i in range(100)]
    assert values[100] is None
    assert r.msetnx({"py:m:0": "x", "py:m:new": "y"}) is False
    assert r.get("py:m:new") is None


@check
def append_strlen_getrange(r, args):
    r.delete("py:s")
    assert r.append("py:s", "hello") == 5
    assert r.append("py:s", " world") == 11
    assert r.strlen("py:s") == 11
    assert r.getrange("py:s", 0, 4) == b"hello"
    assert r.getrange("py:s", -5, -1) == b"world"


@check
def expiry_ex_px_ttl(r, args):
    r.set("py:ex", "v", ex=100)
    assert 0 < r.ttl("py:ex") <= 100
    r.set("py:px", "v", px=100000)
    assert 0 < r.pttl("py:px") <= 100000
    assert r.ttl("py:missing") == -2
    r.set("py:plain", "v")
    assert r.ttl("py:plain") == -1
    assert r.expire("py:plain", 50) is True
    assert 0 < r.ttl("py:plain") <= 50
    assert r.persist("py:plain") is True
    assert r.ttl("py:plain") == -1
    assert r.expire("py:missing", 10) is False


@check
def expiry_keepttl(r, args):
    r.set("py:keep", "a", ex=100)
    r.set("py:keep", "b", keepttl=True)
    assert r.get("py:keep") == b"b"
    assert 0 < r.ttl("py:keep") <= 100
    r.set("py:keep", "c")
    assert r.ttl("py:keep") == -1


@check
def expiry_happens(r, args):
    start = time.monotonic()
    r.set("py:short", "v", px=50)
    assert wait_until(lambda: r.get("py:short") is None, 5.0), "the key never expired"
    assert time.monotonic() - start >= 0.05, "the key expired early"
    assert r.exists("py:short") == 0


@check
def response_errors(r, args):
    expect_error(redis.ResponseError, r.expire, "py:k", "abc",
                 text="value is not an integer or out of range")
    expect_error(redis.ResponseError, r.set, "py:k", "v", ex=0,
                 text="invalid expire time in 'set' command")
    expect_error(redis.ResponseError, r.execute_command, "GET",
                 text="wrong number of arguments for 'get' command")
    e = expect_error(redis.ResponseError, r.execute_command, "NOSUCHCMD", "a",
                     text="unknown command 'NOSUCHCMD'")
    assert not isinstance(e, redis.exceptions.AuthenticationError)
    expect_error(redis.ResponseError, r.execute_command, "SET", "a", "b", "NX", "XX",
                 text="syntax error")
    # The connection is still usable after errors.
    assert r.ping() is True


@check
def data_error_client_side(r, args):
    expect_error(redis.DataError, r.set, "py:k", {"a": 1})
    expect_error(redis.DataError, r.set, "py:k", None)


@check
def connection_pool_threads(r, args):
    pool = redis.ConnectionPool(host="127.0.0.1", port=args.port, max_connections=8)
    client = redis.Redis(connection_pool=pool)
    client.delete("py:pool")
    errors = []

    def worker():
        try:
            for _ in range(200):
                client.incr("py:pool")
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert client.get("py:pool") == b"1600"
    assert pool._created_connections <= 8
    pool.disconnect()


@check
def pipeline_transaction(r, args):
    r.delete("py:tx")
    pipe = r.pipeline(transaction=True)
    pipe.set("py:tx", 1).incr("py:tx").incrby("py:tx", 5).get("py:tx")
    assert pipe.execute() == [True, 2, 7, b"7"]


@check
def pipeline_no_transaction(r, args):
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set("py:pl:%d" % i, i)
    for i in range(1000):
        pipe.get("py:pl:%d" % i)
    res = pipe.execute()
    assert res[:1000] == [True] * 1000
    assert res[1000:] == [str(i).encode() for i in range(1000)]


@check
def pipeline_errors_in_place(r, args):
    r.set("py:notint", "abc")
    pipe = r.pipeline(transaction=False)
    pipe.set("py:pe", "1").incr("py:notint").get("py:pe")
    res = pipe.execute(raise_on_error=False)
    assert res[0] is True and res[2] == b"1"
    assert isinstance(res[1], redis.ResponseError)


@check
def watch_aborts_transaction(r, args):
    other = redis.Redis(host="127.0.0.1", port=args.port)
    r.set("py:w", "1")
    with r.pipeline() as pipe:
        pipe.watch("py:w")
        other.set("py:w", "2")
        pipe.multi()
        pipe.set("py:w", "3")
        expect_error(redis.WatchError, pipe.execute)
    assert r.get("py:w") == b"2"

    def txn(p):
        value = int(p.get("py:w"))
        p.multi()
        p.set("py:w", value + 1)

    assert r.transaction(txn, "py:w") == [True]
    assert r.get("py:w") == b"3"
    other.close()


@check
def transaction_with_queued_error(r, args):
    r.set("py:q", "0")
    pipe = r.pipeline(transaction=True)
    pipe.set("py:q", "1")
    pipe.execute_command("NOSUCHCMD")
    # redis-py reports the queued command's error rather than EXECABORT.
    expect_error(redis.ResponseError, pipe.execute, text="unknown command 'NOSUCHCMD'")
    assert r.get("py:q") == b"0"


@check
def scan_iter_finds_all(r, args):
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set("py:scan:%d" % i, "x")
    pipe.execute()
    found = set(r.scan_iter(match="py:scan:*", count=100))
    assert found == {("py:scan:%d" % i).encode() for i in range(1000)}, len(found)
    assert set(r.keys("py:scan:99*")) == {b"py:scan:99"} | {
        ("py:scan:99%d" % i).encode() for i in range(10)}


@check
def dbsize_and_type(r, args):
    r.set("py:t", "v")
    assert r.type("py:t") == b"string"
    assert r.type("py:missing") == b"none"
    assert r.dbsize() > 0


@check
def hash_mapping_and_getall(r, args):
    assert r.hset("py:h", mapping={"a": "1", "b": "2", "c": "3"}) == 3
    assert r.hset("py:h", "a", "10") == 0
    assert r.hgetall("py:h") == {b"a": b"10", b"b": b"2", b"c": b"3"}
    assert r.hget("py:h", "b") == b"2"
    assert r.hmget("py:h", ["a", "zz"]) == [b"10", None]
    assert r.hlen("py:h") == 3
    assert r.hexists("py:h", "c") is True
    assert r.hkeys("py:h") == [b"a", b"b", b"c"]
    assert r.type("py:h") == b"hash"
    assert r.hdel("py:h", "a", "b", "c") == 3
    assert r.exists("py:h") == 0
    r.set("py:hs", "v")
    expect_error(redis.ResponseError, r.hget, "py:hs", "a", text="WRONGTYPE")
    r.hset("py:hw", "f", "v")
    expect_error(redis.ResponseError, r.get, "py:hw", text="WRONGTYPE")


@check
def hash_hincrbyfloat(r, args):
    r.delete("py:hf")
    assert r.hincrbyfloat("py:hf", "x", 10.5) == 10.5
    assert r.hincrbyfloat("py:hf", "x", 0.1) == 10.6
    assert r.hget("py:hf", "x") == b"10.6"
    assert r.hincrby("py:hf", "n", 5) == 5
    expect_error(redis.ResponseError, r.hincrby, "py:hf", "x", 1,
                 text="hash value is not an integer")


@check
def hash_hscan_iter(r, args):
    r.delete("py:hscan")
    # past hash-max-listpack-entries (ours 128, Redis 7.0's 512): a hashtable, scanned in steps
    r.hset("py:hscan", mapping={"f%d" % i: str(i) for i in range(1000)})
    assert r.object("encoding", "py:hscan") == b"hashtable"
    found = dict(r.hscan_iter("py:hscan", count=20))
    assert found == {("f%d" % i).encode(): str(i).encode() for i in range(1000)}, len(found)
    assert dict(r.hscan_iter("py:hscan", match="f99?")) == {
        ("f99%d" % i).encode(): str(990 + i).encode() for i in range(10)}


@check
def pipeline_strings_and_hashes(r, args):
    r.delete("py:ph", "py:ps")
    pipe = r.pipeline(transaction=False)
    pipe.set("py:ps", "1")
    pipe.hset("py:ph", "f", "1")
    pipe.incr("py:ps")
    pipe.hincrby("py:ph", "f", 2)
    pipe.hget("py:ph", "f")
    pipe.get("py:ps")
    pipe.hgetall("py:ph")
    assert pipe.execute() == [True, 1, 2, 3, b"3", b"2", {b"f": b"3"}]
    pipe = r.pipeline(transaction=True)
    pipe.hset("py:ph", "g", "x")
    pipe.get("py:ph")
    pipe.hlen("py:ph")
    res = pipe.execute(raise_on_error=False)
    assert res[0] == 1 and isinstance(res[1], redis.ResponseError) and res[2] == 2, res


@check
def zset_zadd_options(r, args):
    r.delete("py:z", "py:zs")
    assert r.zadd("py:z", {"a": 1, "b": 2, "c": 3}) == 3
    assert r.zadd("py:z", {"a": 5}, nx=True) == 0
    assert r.zadd("py:z", {"a": 5, "d": 4}, xx=True, ch=True) == 1
    assert r.zadd("py:z", {"a": 0}, gt=True, ch=True) == 0
    assert r.zadd("py:z", {"a": 0.5}, lt=True, ch=True) == 1
    assert r.zadd("py:z", {"a": 2.25}, incr=True) == 2.75
    assert r.zincrby("py:z", 0.1, "b") == 2.1
    assert r.zscore("py:z", "b") == 2.1
    assert r.zcard("py:z") == 3 and r.type("py:z") == b"zset"
    assert r.zrank("py:z", "c") == 2 and r.zrevrank("py:z", "c") == 0
    assert r.zmscore("py:z", ["a", "nope"]) == [2.75, None]
    # redis-py refuses these combinations itself: send them raw
    expect_error(redis.ResponseError, r.execute_command, "ZADD", "py:z", "NX", "XX", 1, "a",
                 text="XX and NX options at the same time are not compatible")
    expect_error(redis.ResponseError, r.execute_command, "ZADD", "py:z", "GT", "LT", 1, "a",
                 text="GT, LT, and/or NX options at the same time are not compatible")
    assert r.zadd("py:z", {"x": float("inf")}) == 1
    expect_error(redis.ResponseError, r.zincrby, "py:z", float("-inf"), "x",
                 text="resulting score is not a number (NaN)")
    r.set("py:zs", "v")
    expect_error(redis.ResponseError, r.zadd, "py:zs", {"a": 1}, text="WRONGTYPE")


@check
def zset_zrange_variants(r, args):
    r.delete("py:zr", "py:zr2", "py:zl")
    r.zadd("py:zr", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.zrange("py:zr", 0, -1) == [b"a", b"b", b"c", b"d"]
    assert r.zrange("py:zr", 0, 1, desc=True, withscores=True) == [(b"d", 4.0), (b"c", 3.0)]
    assert r.zrangebyscore("py:zr", "(1", 3) == [b"b", b"c"]
    assert r.zrevrangebyscore("py:zr", "+inf", 2, start=1, num=2) == [b"c", b"b"]
    assert r.zrange("py:zr", 2, 4, byscore=True, offset=1, num=5) == [b"c", b"d"]
    assert r.zrangestore("py:zr2", "py:zr", 1, 2) == 2
    assert r.zrange("py:zr2", 0, -1, withscores=True) == [(b"b", 2.0), (b"c", 3.0)]
    r.zadd("py:zl", {"a": 0, "b": 0, "c": 0})
    assert r.zrangebylex("py:zl", "(a", "+") == [b"b", b"c"]
    assert r.zlexcount("py:zl", "-", "[b") == 2
    assert r.zcount("py:zr", 2, "+inf") == 3
    assert r.zremrangebyscore("py:zr", "-inf", 1) == 1
    assert r.zpopmin("py:zr") == [(b"b", 2.0)]
    assert r.zpopmax("py:zr", 5) == [(b"d", 4.0), (b"c", 3.0)]
    assert r.exists("py:zr") == 0


@check
def zset_blocking_pops(r, args):
    r.delete("py:bz", "py:bz2")
    assert r.bzpopmin(["py:bz", "py:bz2"], timeout=0.1) is None
    r.zadd("py:bz2", {"a": 1, "b": 2})
    assert r.bzpopmax(["py:bz", "py:bz2"], timeout=1) == (b"py:bz2", b"b", 2.0)
    got = []
    other = redis.Redis(host="127.0.0.1", port=args.port)
    t = threading.Thread(target=lambda: got.append(other.bzpopmin("py:bz", timeout=10)))
    t.start()
    assert wait_until(lambda: r.info("clients")["blocked_clients"] == 1)
    r.zadd("py:bz", {"x": 5})
    t.join()
    assert got == [(b"py:bz", b"x", 5.0)], got
    assert r.execute_command("BZMPOP", 1, 1, "py:bz2", "MIN") == [b"py:bz2", [[b"a", b"1"]]]
    expect_error(redis.ResponseError, r.bzpopmin, "py:bz", timeout=-1,
                 text="timeout is negative")


@check
def list_blocking_pops(r, args):
    r.delete("py:bl", "py:bl2", "py:bwork")
    assert r.blpop(["py:bl", "py:bl2"], timeout=0.1) is None
    assert r.blmove("py:bl", "py:bwork", 0.1, "RIGHT", "LEFT") is None
    got = []
    other = redis.Redis(host="127.0.0.1", port=args.port)
    t = threading.Thread(target=lambda: got.append(
        other.blmove("py:bl", "py:bwork", 10, "RIGHT", "LEFT")))
    t.start()
    assert wait_until(lambda: r.info("clients")["blocked_clients"] == 1)
    r.rpush("py:bl", "job1", "job2")
    t.join()
    assert got == [b"job2"], got
    assert r.lrange("py:bwork", 0, -1) == [b"job2"]
    assert r.brpop("py:bl", timeout=1) == (b"py:bl", b"job1")
    r.rpush("py:bl2", "a", "b")
    assert r.blmpop(1, 1, "py:bl2", direction="LEFT", count=5) == [b"py:bl2", [b"a", b"b"]]
    assert r.brpoplpush("py:bwork", "py:bl", 1) == b"job2"
    expect_error(redis.ResponseError, r.blpop, "py:bl", timeout=-1, text="timeout is negative")


@check
def zset_setops_and_zscan_iter(r, args):
    r.delete("py:za", "py:zb", "py:zu", "py:zbig")
    r.zadd("py:za", {"x": 1, "y": 2})
    r.zadd("py:zb", {"y": 10, "z": 20})
    assert r.zunionstore("py:zu", {"py:za": 2, "py:zb": 1}) == 3
    assert r.zrange("py:zu", 0, -1, withscores=True) == [(b"x", 2.0), (b"y", 14.0),
                                                         (b"z", 20.0)]
    assert r.zinter(["py:za", "py:zb"], aggregate="MAX", withscores=True) == [(b"y", 10.0)]
    assert r.zdiff(["py:za", "py:zb"]) == [b"x"]
    r.zadd("py:zbig", {"m%d" % i: i for i in range(300)})
    assert r.object("encoding", "py:zbig") == b"skiplist"
    found = dict(r.zscan_iter("py:zbig", count=20))
    assert found == {("m%d" % i).encode(): float(i) for i in range(300)}, len(found)
    assert len(r.zrandmember("py:zbig", 5)) == 5
    pipe = r.pipeline(transaction=True)
    pipe.zadd("py:za", {"w": 0})
    pipe.hset("py:zh", "f", "1")
    pipe.zrange("py:za", 0, 0)
    pipe.zcard("py:za")
    assert pipe.execute() == [1, 1, [b"w"], 3]


@check
def lists_in_a_pipeline_mixing_types(r, args):
    r.delete("py:l", "py:l2", "py:lh", "py:ls")
    pipe = r.pipeline(transaction=False)
    pipe.rpush("py:l", "a", "b", "c")
    pipe.lpush("py:l", "z")
    pipe.set("py:ls", "v")
    pipe.lrange("py:l", 0, -1)
    pipe.hset("py:lh", "f", "1")
    pipe.lpos("py:l", "b")
    pipe.lmove("py:l", "py:l2", "RIGHT", "LEFT")
    pipe.lpush("py:ls", "x")
    pipe.lrange("py:l2", 0, -1)
    pipe.lpos("py:l", "z", count=0)
    pipe.type("py:l")
    res = pipe.execute(raise_on_error=False)
    assert res[:7] == [3, 4, True, [b"z", b"a", b"b", b"c"], 1, 2, b"c"], res
    assert isinstance(res[7], redis.ResponseError) and "WRONGTYPE" in str(res[7]), res
    assert res[8:] == [[b"c"], [0], b"list"], res
    assert r.lpop("py:l", 2) == [b"z", b"a"]
    assert r.rpoplpush("py:l", "py:l2") == b"b"
    assert r.exists("py:l") == 0
    assert r.lmpop(1, "py:l2", direction="RIGHT", count=5) == [b"py:l2", [b"c", b"b"]]
    expect_error(redis.ResponseError, r.lpos, "py:l", "x", rank=0, text="RANK can't be zero")
    r.rpush("py:l", *range(3000))
    assert r.object("encoding", "py:l") == b"quicklist" and r.llen("py:l") == 3000
    assert r.lindex("py:l", -1) == b"2999" and r.sort("py:l", start=0, num=2, desc=True) == [
        b"2999", b"2998"]


@check
def object_and_memory_introspection(r, args):
    r.set("py:obj", "hello")
    r.set("py:objn", "42")
    r.hset("py:objh", mapping={"a": "1"})
    assert r.object("refcount", "py:objn") == 2147483647
    assert r.object("refcount", "py:obj") == 1
    assert r.object("idletime", "py:obj") >= 0
    expect_error(redis.ResponseError, r.object, "freq", "py:obj",
                 text="An LFU maxmemory policy is not selected")
    assert r.object("encoding", "py:nokey") is None
    used = r.memory_usage("py:obj")
    assert isinstance(used, int) and 16 < used < 200, used
    assert r.memory_usage("py:objh", samples=0) > 0
    assert r.memory_usage("py:nokey") is None
    assert int(r.info("memory")["used_memory"]) > 0
    assert "lazyfree_pending_objects" in r.info("memory")


@check
def auth_errors(r, args):
    if not args.auth_port:
        raise AssertionError("no --auth-port given")
    noauth = redis.Redis(host="127.0.0.1", port=args.auth_port)
    expect_error(redis.exceptions.AuthenticationError, noauth.get, "a",
                 text="Authentication required")
    wrong = redis.Redis(host="127.0.0.1", port=args.auth_port, password="wrong-" + args.password)
    # redis-py 4.3 maps NOAUTH to AuthenticationError but leaves WRONGPASS a ResponseError.
    expect_error((redis.exceptions.AuthenticationError, redis.ResponseError), wrong.ping,
                 text="WRONGPASS invalid username-password pair or user is disabled.")
    good = redis.Redis(host="127.0.0.1", port=args.auth_port, password=args.password)
    assert good.ping() is True
    assert good.set("py:auth", "yes") is True
    assert good.get("py:auth") == b"yes"
    # AUTH against a server without a password is a plain ResponseError.
    expect_error(redis.ResponseError, r.execute_command, "AUTH", "x",
                 text="called without any password configured")
    for c in (noauth, wrong, good):
        c.close()


@check
def acl_users(r, args):
    assert r.execute_command("ACL", "SETUSER", "py-reader", "on", ">pypw", "~py:acl:*", "+@read",
                             "+acl|whoami") in (b"OK", True)
    r.set("py:acl:1", "v")
    u = redis.Redis(host="127.0.0.1", port=args.port, username="py-reader", password="pypw")
    assert u.execute_command("ACL", "WHOAMI") == b"py-reader"
    assert u.get("py:acl:1") == b"v"
    expect_error(redis.exceptions.NoPermissionError, u.set, "py:acl:1", "x",
                 text="this user has no permissions to run the 'set' command")
    expect_error(redis.exceptions.NoPermissionError, u.get, "py:other",
                 text="this user has no permissions to access one of the keys used as arguments")
    bad = redis.Redis(host="127.0.0.1", port=args.port, username="py-reader", password="nope")
    expect_error((redis.exceptions.AuthenticationError, redis.ResponseError), bad.ping,
                 text="WRONGPASS")
    log = r.execute_command("ACL", "LOG", "1")
    assert len(log) == 1 and b"py-reader" in log[0], log
    assert r.execute_command("ACL", "DELUSER", "py-reader") == 1
    for c in (u, bad):
        c.close()


def next_message(p, timeout=5.0):
    """The next pushed message of PubSub p (subscribe confirmations included), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.1)
        if m is not None:
            return m
    return None


@check
def pubsub_get_message(r, args):
    p = r.pubsub()
    p.subscribe("py:ch1", "py:ch2")
    assert next_message(p) == {"type": "subscribe", "pattern": None, "channel": b"py:ch1", "data": 1}
    assert next_message(p)["data"] == 2
    assert r.pubsub_numsub("py:ch1", "py:none") == [(b"py:ch1", 1), (b"py:none", 0)]
    assert b"py:ch2" in r.pubsub_channels("py:*")
    assert r.publish("py:ch1", "hello") == 1
    assert r.publish("py:ch2", b"\x00bin") == 1
    assert next_message(p) == {"type": "message", "pattern": None, "channel": b"py:ch1",
                               "data": b"hello"}
    assert next_message(p)["data"] == b"\x00bin"
    # subscribed mode: redis-py's own PING works, other commands are refused by the server
    p.ping()
    m = next_message(p)
    assert m["type"] == "pong", m
    p.unsubscribe()
    kinds = sorted(next_message(p)["channel"] for _ in range(2))
    assert kinds == [b"py:ch1", b"py:ch2"], kinds
    assert r.publish("py:ch1", "nobody") == 0
    p.close()


@check
def pubsub_patterns(r, args):
    p = r.pubsub(ignore_subscribe_messages=True)
    p.psubscribe("py:news.*", "py:h?llo")
    got = []
    p.get_message(timeout=0.5)  # the confirmations are skipped
    assert r.pubsub_numpat() == 2
    assert r.publish("py:news.tech", "a") == 1
    assert r.publish("py:hallo", "b") == 1
    assert r.publish("py:other", "c") == 0
    while len(got) < 2:
        m = next_message(p)
        assert m is not None, got
        got.append((m["type"], m["pattern"], m["channel"], m["data"]))
    assert got == [("pmessage", b"py:news.*", b"py:news.tech", b"a"),
                   ("pmessage", b"py:h?llo", b"py:hallo", b"b")], got
    p.punsubscribe()
    p.close()


@check
def pubsub_handler_thread(r, args):
    seen = []
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe(**{"py:thr": lambda m: seen.append(m["data"])})
    t = p.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        assert wait_until(lambda: r.pubsub_numsub("py:thr")[0][1] == 1)
        for i in range(20):
            r.publish("py:thr", str(i))
        assert wait_until(lambda: len(seen) == 20), seen
        assert seen == [str(i).encode() for i in range(20)]
    finally:
        t.stop()  # the worker closes the PubSub as it ends
        t.join(5)


@check
def subscribed_mode_refuses_other_commands(r, args):
    c = redis.Redis(host="127.0.0.1", port=args.port, single_connection_client=True)
    assert c.execute_command("SUBSCRIBE", "py:mode")[0] == b"subscribe"
    expect_error(redis.ResponseError, c.execute_command, "GET", "x",
                 text="Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                      "RESET are allowed in this context")
    def raw(*argv):  # no response callback: the reply as the server sent it
        c.connection.send_command(*argv)
        return c.connection.read_response()
    assert raw("PING") == [b"pong", b""]
    assert raw("PING", "hi") == [b"pong", b"hi"]
    assert raw("RESET") == b"RESET"
    assert raw("PING") == b"PONG"
    c.close()


@check
def reset_returns_to_default_user(r, args):
    assert r.execute_command("ACL", "SETUSER", "py-reset", "on", ">rpw", "~*", "+@all") in (b"OK", True)
    c = redis.Redis(host="127.0.0.1", port=args.port, username="py-reset", password="rpw",
                    single_connection_client=True)
    c.client_setname("py-named")
    assert c.execute_command("ACL", "WHOAMI") == b"py-reset"
    c.connection.send_command("RESET")
    assert c.connection.read_response() == b"RESET"
    assert c.execute_command("ACL", "WHOAMI") == b"default"
    assert c.client_getname() is None
    c.close()
    assert r.execute_command("ACL", "DELUSER", "py-reset") == 1


@check
def keyspace_notifications(r, args):
    old = r.config_get("notify-keyspace-events")["notify-keyspace-events"]
    assert r.config_set("notify-keyspace-events", "KEA") is True
    assert r.config_get("notify-keyspace-events")["notify-keyspace-events"] == "AKE"
    expect_error(redis.ResponseError, r.config_set, "notify-keyspace-events", "Q",
                 text="Invalid event class character")
    p = r.pubsub(ignore_subscribe_messages=True)
    p.psubscribe("__keyspace@0__:py:ks*", "__keyevent@0__:*")
    p.get_message(timeout=0.5)
    try:
        r.set("py:ks", "1")
        r.incrby("py:ks", 2)
        r.hset("py:ksh", "f", "v")
        r.delete("py:ks")
        r.set("py:ksx", "1", px=50)
        want = [(b"__keyspace@0__:py:ks", b"set"), (b"__keyevent@0__:set", b"py:ks"),
                (b"__keyspace@0__:py:ks", b"incrby"), (b"__keyevent@0__:incrby", b"py:ks"),
                (b"__keyspace@0__:py:ksh", b"hset"), (b"__keyevent@0__:hset", b"py:ksh"),
                (b"__keyspace@0__:py:ks", b"del"), (b"__keyevent@0__:del", b"py:ks"),
                (b"__keyspace@0__:py:ksx", b"set"), (b"__keyevent@0__:set", b"py:ksx"),
                (b"__keyspace@0__:py:ksx", b"expire"), (b"__keyevent@0__:expire", b"py:ksx"),
                (b"__keyspace@0__:py:ksx", b"expired"), (b"__keyevent@0__:expired", b"py:ksx")]
        got = []
        while len(got) < len(want):
            m = next_message(p)
            assert m is not None, got
            if m["data"].startswith(b"py:ks") or m["channel"].startswith(b"__keyspace@0__:py:ks"):
                got.append((m["channel"], m["data"]))  # not other checks' keys expiring meanwhile
        assert got == want, got
    finally:
        r.config_set("notify-keyspace-events", old)
        p.close()


@check
def maxmemory_policies(r, args):
    old = r.config_get("maxmemory*")
    assert set(old) >= {"maxmemory", "maxmemory-policy", "maxmemory-samples"}, old
    try:
        assert r.config_set("maxmemory-policy", "allkeys-lfu") is True
        r.set("py:mm", "v")
        assert r.object("freq", "py:mm") >= 0
        expect_error(redis.ResponseError, r.config_set, "maxmemory-policy", "lru",
                     text="argument(s) must be one of the following: volatile-lru")
        assert r.config_set("maxmemory-policy", "noeviction") is True
        assert r.config_set("maxmemory", "1") is True
        expect_error(redis.ResponseError, r.set, "py:mm2", "v",
                     text="command not allowed when used memory > 'maxmemory'")
        assert r.get("py:mm") == b"v" and r.delete("py:mm") == 1
        assert r.info("memory")["maxmemory_policy"] == "noeviction"
    finally:
        for name in ("maxmemory", "maxmemory-policy", "maxmemory-samples"):
            r.config_set(name, old[name])


def cluster_pubsub(args):
    """redis-py pubsub() unmodified on every node of a 3-node cluster: the same messages in the
    same order on the leader and on both followers; PUBLISH on a follower answers MOVED to a
    cluster-aware connection."""
    ports = [int(p) for p in args.cluster_ports.split(",")]
    subs = []
    for port in ports:
        p = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10).pubsub(
            ignore_subscribe_messages=True)
        p.subscribe("py:cl")
        p.psubscribe("py:c*")
        subs.append(p)
    leader = redis.Redis(host="127.0.0.1", port=args.leader_port, socket_timeout=10)
    for port in ports:
        assert wait_until(lambda: redis.Redis(host="127.0.0.1", port=port).pubsub_numsub(
            "py:cl")[0][1] == 1), port
    follower = next(p for p in ports if p != args.leader_port)
    # a cluster-aware connection (it asked for CLUSTER SLOTS) is redirected; a plain one
    # would have its PUBLISH forwarded to the leader (follower-mode auto)
    aware = redis.Redis(host="127.0.0.1", port=follower, single_connection_client=True)
    aware.execute_command("CLUSTER", "SLOTS")
    expect_error(redis.ResponseError, aware.publish, "py:cl", "x", text="MOVED")
    aware.close()
    pipe = leader.pipeline(transaction=False)
    for i in range(100):
        pipe.publish("py:cl", "m%d" % i)
    assert pipe.execute() == [2] * 100  # the leader's own receivers: a channel and a pattern
    seqs = []
    for p in subs:
        got = []
        while len(got) < 200:
            m = next_message(p)
            assert m is not None, (len(got), got[-3:])
            got.append((m["type"], m["data"]))
        seqs.append(got)
        p.close()
    assert seqs[0] == seqs[1] == seqs[2], "orders differ"
    msgs = [d for t, d in seqs[0] if t == "message"]
    assert msgs == [b"m%d" % i for i in range(100)], msgs[:5]
@check
def lua_lock_acquire_release_extend(r, args):
    """redis-py's Lock is SET NX PX plus Lua scripts for release, extend and reacquire."""
    from redis.lock import Lock
    r.delete("py:lock")
    lock = Lock(r, "py:lock", timeout=10, blocking_timeout=1)
    assert lock.acquire() is True
    assert lock.owned()
    other = Lock(r, "py:lock", timeout=10, blocking_timeout=0.2)
    assert other.acquire() is False
    assert lock.extend(5) is True
    assert r.pttl("py:lock") > 10000
    assert lock.reacquire() is True
    other.local.token = b"not-the-owner"  # the release script compares tokens server side
    expect_error(redis.exceptions.LockNotOwnedError, other.extend, 5)
    other.local.token = b"not-the-owner"
    expect_error(redis.exceptions.LockNotOwnedError, other.release)
    lock.release()
    assert r.exists("py:lock") == 0
    with Lock(r, "py:lock", timeout=5) as held:
        assert held.locked()
    assert r.exists("py:lock") == 0


@check
def lua_register_script(r, args):
    """register_script runs EVALSHA and falls back to SCRIPT LOAD on NOSCRIPT."""
    r.script_flush()
    incr_by = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    r.delete("py:lua:n")
    assert incr_by(keys=["py:lua:n"], args=[5]) == 5
    assert incr_by(keys=["py:lua:n"], args=[2]) == 7
    assert r.script_exists(incr_by.sha) == [True]
    multi = r.register_script("return {KEYS[1], ARGV[1], redis.call('get', KEYS[1])}")
    assert multi(keys=["py:lua:n"], args=["x"]) == [b"py:lua:n", b"x", b"7"]
    pipe = r.pipeline()
    incr_by(keys=["py:lua:n"], args=[1], client=pipe)
    incr_by(keys=["py:lua:n"], args=[1], client=pipe)
    assert pipe.execute() == [8, 9]
    expect_error(redis.ResponseError, r.eval, "return redis.call('incr', 'py:lua:s')", 0) \
        if r.set("py:lua:s", "x") else None
    expect_error(redis.exceptions.NoScriptError, r.evalsha, "f" * 40, 0)


@check
def databases_from_url(r, args):
    d3 = redis.Redis.from_url("redis://127.0.0.1:%d/3" % args.port, socket_timeout=10)
    d4 = redis.Redis.from_url("redis://127.0.0.1:%d/4" % args.port, socket_timeout=10)
    try:
        r.delete("py:db")
        assert d3.set("py:db", "three") is True
        assert d3.get("py:db") == b"three"
        assert r.get("py:db") is None, "database 0 has its own keys"
        assert r.info("keyspace")["db3"]["keys"] >= 1
        assert d3.move("py:db", 4) is True
        assert d3.get("py:db") is None
        assert d4.get("py:db") == b"three"
        with d4.pipeline(transaction=True) as p:
            p.incr("py:db:n")
            p.execute_command("SELECT", 5)
            p.incr("py:db:n")
            assert p.execute()[0] == 1
        assert d4.get("py:db:n") == b"1"
        expect_error(redis.ResponseError, r.execute_command, "SELECT", 16,
                     text="DB index is out of range")
        d4.flushdb()
        assert d4.dbsize() == 0
        assert d3.dbsize() == 0
    finally:
        d3.close()
        d4.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cluster-ports", default="")
    parser.add_argument("--leader-port", type=int, default=0)
    parser.add_argument("--auth-port", type=int, default=0)
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    r = redis.Redis(host="127.0.0.1", port=args.port, socket_timeout=10)
    checks = CHECKS
    if args.cluster_ports:
        checks = [lambda r, args: cluster_pubsub(args)]
        checks[0].__name__ = "cluster_pubsub"
    for fn in checks:
        try:
            fn(r, args)
        except Exception as exc:
            RESULTS["failed"] += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            print("not ok - %s: %s: %s (line %d)" % (fn.__name__, type(exc).__name__, exc,
                                                     where.lineno), flush=True)
        else:
            RESULTS["passed"] += 1
            print("ok - %s" % fn.__name__, flush=True)
    print("python: %d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
