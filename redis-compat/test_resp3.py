#!/usr/bin/env python3
"""RESP3 differential check: the same commands, over raw sockets, to redis-server 7.0 and
to ConcordKV, compared byte for byte (RESP3 after HELLO 3, and RESP2 for HELLO 2 / RESET).

Usage: test_resp3.py --redis-port P --concordkv-port Q
Prints "ok - N: command" or "not ok - N: command" with both replies, then
"resp3: N passed, M failed"; exits 0 only if nothing failed. Replies that differ by nature
(server version, client ids, INFO and CLIENT text) are compared by shape only: their RESP
type markers and the keys of their maps.
"""
import argparse
import re
import shlex
import socket
import sys


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    """A raw RESP connection: reply() returns one whole reply's bytes, unparsed."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def reply(self):
        line = self._line()
        kind, body = line[:1], line[1:-2]
        if kind in b"$=!" and body != b"-1":
            return line + self._exact(int(body) + 2)
        if kind in b"*%~>" and body != b"-1":
            n = int(body) * (2 if kind == b"%" else 1)
            return line + b"".join(self.reply() for _ in range(n))
        return line

    def send(self, args):
        self.sock.sendall(encode(args))


# Each step: (command line, how to compare). "exact": byte for byte; "shape": type markers
# and lengths only (bulk contents masked); "hello": the map's keys and proto; "push N": send,
# then read N replies; "prefix K": the first K bytes; "type": the first byte;
# "verbatim": the type, and "txt:" for a verbatim string.
STEPS = [
    ("HELLO 3", "hello"),
    ("FLUSHALL", "exact"),
    ("SET s v", "exact"),
    ("GET s", "exact"),
    ("GET nokey", "exact"),
    ("MGET s nokey", "exact"),
    ("GETDEL nokey", "exact"),
    ("SET s2 v GET", "exact"),
    ("INCRBYFLOAT f 1.5", "exact"),
    ("STRLEN nokey", "exact"),
    ("HSET h a 1 b 2", "exact"),
    ("HGETALL h", "exact"),
    ("HGETALL nokey", "exact"),
    ("HKEYS h", "exact"),
    ("HVALS h", "exact"),
    ("HGET h nofield", "exact"),
    ("HMGET h a nofield", "exact"),
    ("HINCRBYFLOAT h f 1.5", "exact"),
    ("HRANDFIELD h 5 WITHVALUES", "shape"),
    ("HRANDFIELD h -2 WITHVALUES", "shape"),
    ("HRANDFIELD h 1 WITHVALUES", "shape"),
    ("HRANDFIELD nokey", "exact"),
    ("HSCAN h 0", "exact"),
    ("SADD st a b c", "exact"),
    ("SMEMBERS st", "shape"),
    ("SMEMBERS nokey", "exact"),
    ("SINTER st", "shape"),
    ("SINTER st nokey", "exact"),
    ("SUNION st nokey", "shape"),
    ("SDIFF st nokey", "shape"),
    ("SISMEMBER st a", "exact"),
    ("SMISMEMBER st a x", "exact"),
    ("SRANDMEMBER st 2", "shape"),
    ("SRANDMEMBER st 5", "shape"),
    ("SRANDMEMBER nokey", "exact"),
    ("SPOP st 1", "shape"),
    ("SPOP st 0", "exact"),
    ("SPOP nokey 2", "exact"),
    ("SPOP nokey", "exact"),
    ("ZADD z 1 a 2.5 b 3 c", "exact"),
    ("ZSCORE z a", "exact"),
    ("ZSCORE z nx", "exact"),
    ("ZMSCORE z a nx b", "exact"),
    ("ZINCRBY z 1 a", "exact"),
    ("ZADD z INCR 1 a", "exact"),
    ("ZADD z NX INCR 1 a", "exact"),
    ("ZADD z 0.1 d", "exact"),
    ("ZSCORE z d", "exact"),
    ("ZADD z inf e", "exact"),
    ("ZSCORE z e", "exact"),
    ("ZRANGE z 0 -1", "exact"),
    ("ZRANGE z 0 -1 WITHSCORES", "exact"),
    ("ZRANGE z 0 1 REV WITHSCORES", "exact"),
    ("ZREVRANGE z 0 -1 WITHSCORES", "exact"),
    ("ZRANGEBYSCORE z -inf +inf WITHSCORES", "exact"),
    ("ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 0 2", "exact"),
    ("ZRANDMEMBER z 3 WITHSCORES", "shape"),
    ("ZRANDMEMBER z -3 WITHSCORES", "shape"),
    ("ZRANDMEMBER z 10 WITHSCORES", "shape"),
    ("ZRANK z nx", "exact"),
    ("ZUNION 1 z WITHSCORES", "exact"),
    ("ZINTER 1 z WITHSCORES", "exact"),
    ("ZDIFF 1 z WITHSCORES", "exact"),
    ("ZSCAN z 0", "exact"),
    ("ZPOPMIN z", "exact"),
    ("ZPOPMIN z 2", "exact"),
    ("ZPOPMAX z 1", "exact"),
    ("ZPOPMIN nokey", "exact"),
    ("ZPOPMIN nokey 2", "exact"),
    ("ZADD z2 1 x 2 y", "exact"),
    ("ZMPOP 1 z2 MIN COUNT 2", "exact"),
    ("ZMPOP 1 nokey MIN", "exact"),
    ("ZADD z3 1 x", "exact"),
    ("BZPOPMIN z3 1", "exact"),
    ("BZPOPMIN nokey 0.01", "exact"),
    ("LPUSH l a b", "exact"),
    ("LPOP nolist", "exact"),
    ("LPOP nolist 2", "exact"),
    ("LRANGE l 0 -1", "exact"),
    ("LPOS l zz", "exact"),
    ("BLPOP nolist 0.01", "exact"),
    ("LMPOP 1 nolist LEFT", "exact"),
    ("LMPOP 1 l LEFT COUNT 5", "exact"),
    ("WRONGCMD x", "exact"),
    ("GET", "exact"),
    ("HGETALL s", "exact"),
    ("OBJECT ENCODING nokey", "exact"),
    ("TTL nokey", "exact"),
    ("EXISTS s nokey", "exact"),
    ("CONFIG GET hash-max-listpack-entries", "shape"),
    ("CONFIG GET nosuchoption", "exact"),
    ("MULTI", "exact"),
    ("GET nokey", "exact"),
    ("SET t 1", "exact"),
    ("HGETALL h", "exact"),
    ("ZSCORE z c", "exact"),
    ("EXEC", "exact"),
    ("MULTI", "exact"),
    ("GET nokey", "exact"),
    ("ZRANGE z 0 -1 WITHSCORES", "exact"),
    ("EXEC", "exact"),
    ("EVAL 'return false' 0", "exact"),
    ("EVAL 'return nil' 0", "exact"),
    ("EVAL 'return {1,2,{3,false}}' 0", "exact"),
    ("EVAL \"return redis.call('hgetall','h')\" 0", "exact"),
    ("EVAL \"return redis.call('get','nokey')\" 0", "exact"),
    ("EVAL \"return redis.call('zscore','z','c')\" 0", "exact"),
    ("EVAL \"return {err='boom'}\" 0", "exact"),
    ("ZADD zt 1 a 2 b 3 c", "exact"),
    ("SADD stt x", "exact"),
    ("MULTI", "exact"),
    ("ZPOPMIN zt 2", "exact"),
    ("ZINCRBY zt 1 c", "exact"),
    ("SPOP stt 5", "exact"),
    ("LPOP nolist", "exact"),
    ("EXEC", "exact"),
    ("COMMAND INFO get", "prefix 90"),
    ("COMMAND INFO nosuchcommand", "exact"),
    ("COMMAND DOCS get", "type"),
    ("ACL GETUSER default", "prefix 16"),
    ("ACL GETUSER nosuchuser", "exact"),
    ("ACL LOG", "exact"),
    ("LATENCY DOCTOR", "verbatim"),
    ("CLIENT LIST", "verbatim"),
    ("INFO server", "verbatim"),
    ("CLIENT INFO", "verbatim"),
    ("HELLO 4", "exact"),
    ("HELLO x", "exact"),
    ("HELLO 3 SETNAME 'a b'", "exact"),
    ("HELLO 3 foo", "exact"),
    ("HELLO 3 SETNAME resp3client", "hello"),
    ("CLIENT GETNAME", "exact"),
    ("SUBSCRIBE ch1 ch2", "push 2"),
    ("PING", "exact"),
    ("GET s", "exact"),
    ("HGETALL h", "exact"),
    ("PSUBSCRIBE p*", "exact"),
    ("UNSUBSCRIBE ch1", "exact"),
    ("PUNSUBSCRIBE", "exact"),
    ("UNSUBSCRIBE", "exact"),
    ("UNSUBSCRIBE", "exact"),
    ("HELLO 2", "hello"),
    ("HGETALL h", "exact"),
    ("HGETALL nokey", "exact"),
    ("HRANDFIELD h 5 WITHVALUES", "shape"),
    ("SMEMBERS nokey", "exact"),
    ("ZADD z2 1 x 2 y 3 w", "exact"),
    ("ZRANGE z2 0 -1 WITHSCORES", "exact"),
    ("ZINCRBY z2 0.5 x", "exact"),
    ("ZPOPMIN z2 2", "exact"),
    ("ZPOPMIN nokey 2", "exact"),
    ("SPOP nokey 2", "exact"),
    ("MULTI", "exact"),
    ("ZADD z2 1 x 2 y", "exact"),
    ("ZPOPMAX z2 2", "exact"),
    ("LPOP nolist", "exact"),
    ("BLPOP nolist 0", "exact"),
    ("EXEC", "exact"),
    ("BLPOP nolist 0.01", "exact"),
    ("EVAL 'return false' 0", "exact"),
    ("CONFIG GET hash-max-listpack-entries", "shape"),
    ("COMMAND INFO get", "prefix 90"),
    ("ACL GETUSER default", "prefix 16"),
    ("CLIENT INFO", "verbatim"),
    ("ZSCORE z c", "exact"),
    ("GET nokey", "exact"),
    ("HELLO 3", "hello"),
    ("RESET", "exact"),
    ("HGETALL h", "exact"),
    ("GET nokey", "exact"),
]


def shape(reply):
    """The reply with bulk payloads and numbers masked: types, lengths of aggregates."""
    return re.sub(rb"\$(\d+)\r\n", lambda m: b"$?\r\n", reply)


def mask_bulks(reply):
    out, i = b"", 0
    while i < len(reply):
        j = reply.index(b"\r\n", i) + 2
        line = reply[i:j]
        if line[:1] in (b"$", b"=") and line[1:-2] != b"-1":
            n = int(line[1:-2])
            out += line[:1] + b"?\r\n"
            j += n + 2
        elif line[:1] in (b":", b","):
            out += line[:1] + b"?\r\n"
        else:
            out += line
        i = j
    return out


def hello_key(reply):
    """HELLO's map with version and id masked (they differ by nature)."""
    return re.sub(rb"(\$7\r\nversion\r\n)\$\d+\r\n[^\r]*\r\n", rb"\1V",
                  re.sub(rb"(\$2\r\nid\r\n):\d+\r\n", rb"\1ID", reply))


def compare(how, a, b):
    if how == "exact":
        return a == b
    if how == "hello":
        return hello_key(a) == hello_key(b)
    if how == "verbatim":  # the text differs by nature; the type and the "txt:" prefix do not
        return a[:1] == b[:1] and (a[:1] != b"=" or
                                   a.split(b"\r\n", 1)[1][:4] == b.split(b"\r\n", 1)[1][:4] == b"txt:")
    if how.startswith("prefix"):  # the rest differs by content (key specs, ACL flags)
        k = int(how.split()[1])
        return a[:k] == b[:k]
    if how == "type":
        return a[:1] == b[:1]
    if how == "shape":
        return mask_bulks(a) == mask_bulks(b)
    raise ValueError(how)


def run_steps(conns):
    passed = failed = 0
    for n, (line, how) in enumerate(STEPS, 1):
        args = shlex.split(line)
        replies = []
        for c in conns:
            c.send(args)
            count = 1
            if how.startswith("push"):
                count = int(how.split()[1])
            replies.append(b"".join(c.reply() for _ in range(count)))
        mode = "exact" if how.startswith("push") else how
        if compare(mode, replies[0], replies[1]):
            passed += 1
            print("ok - %d: %s" % (n, line))
        else:
            failed += 1
            print("not ok - %d: %s\n    redis:     %r\n    concordkv: %r" % (n, line, replies[0], replies[1]))
    return passed, failed


def report(section, names, got):
    """Compare GOT[0][i] (redis) with GOT[1][i] (concordkv) for each of NAMES."""
    passed = failed = 0
    for i, what in enumerate(names):
        a, b = got[0][i], got[1][i]
        if a == b:
            passed += 1
            print("ok - %s: %s" % (section, what))
        else:
            failed += 1
            print("not ok - %s: %s\n    redis:     %r\n    concordkv: %r" % (section, what, a, b))
    return passed, failed


def run_pubsub(ports):
    """A RESP3 subscriber receives messages as pushes (> type), pmessages too."""
    got = []
    for port in ports:
        sub, pub = Conn(port), Conn(port)
        sub.send(["HELLO", "3"])
        sub.reply()
        sub.send(["SUBSCRIBE", "news"])
        first = sub.reply()
        sub.send(["PSUBSCRIBE", "ne*"])
        second = sub.reply()
        pub.send(["PUBLISH", "news", "hi"])
        count = pub.reply()
        msgs = sub.reply() + sub.reply()
        sub.send(["PING"])
        pong = sub.reply()
        got.append((first, second, count, msgs, pong))
    return report("pubsub", ["subscribe push", "psubscribe push", "publish count",
                             "message and pmessage pushes", "ping while subscribed"], got)


def run_pipelined_and_blocking(ports):
    """HELLO 3 in the middle of a pipeline switches only the commands after it (writes
    included, whose replies come from apply); a blocked RESP3 BLPOP/BZPOPMIN served by a
    later push answers in RESP3."""
    got = []
    for port in ports:
        c = Conn(port)
        c.send(["DEL", "pz", "pl", "pzb"])
        c.reply()
        pipe = b"".join(encode(a) for a in (
            ["ZADD", "pz", "1", "m"], ["ZINCRBY", "pz", "1", "m"], ["HELLO", "3"],
            ["ZINCRBY", "pz", "1", "m"], ["GET", "pl"], ["HELLO", "2"], ["ZSCORE", "pz", "m"],
            ["GET", "pl"]))
        c.sock.sendall(pipe)
        replies = [c.reply() for _ in range(8)]
        del replies[5]  # HELLO 2
        del replies[2]  # HELLO 3
        waiter, pusher = Conn(port), Conn(port)
        waiter.send(["HELLO", "3"])
        waiter.reply()
        waiter.send(["BZPOPMIN", "pzb", "10"])
        # the waiter is blocked once CLIENT LIST shows flags=b (poll, no sleep-and-hope)
        for _ in range(1000):
            pusher.send(["CLIENT", "LIST"])
            if b"flags=b" in pusher.reply():
                break
        pusher.send(["ZADD", "pzb", "2.5", "x"])
        pusher.reply()
        replies.append(waiter.reply())
        got.append(replies)
    names = ["ZADD", "ZINCRBY before HELLO 3", "ZINCRBY after HELLO 3", "GET nil in RESP3",
             "ZSCORE after HELLO 2", "GET nil in RESP2", "BZPOPMIN woken in RESP3"]
    return report("pipeline", names, got)


def run_watch(ports):
    """A transaction aborted by WATCH answers RESP3's null; a write transaction's replies
    (produced by apply) are converted one by one."""
    got = []
    for port in ports:
        a, b = Conn(port), Conn(port)
        for cmd in (["HELLO", "3"], ["DEL", "wk", "wz"], ["WATCH", "wk"]):
            a.send(cmd)
            a.reply()
        b.send(["SET", "wk", "1"])
        b.reply()
        out = []
        for cmd in (["MULTI"], ["GET", "wk"], ["EXEC"], ["MULTI"], ["ZADD", "wz", "1", "a"],
                    ["ZPOPMIN", "wz", "1"], ["HGETALL", "nokey"], ["EXEC"]):
            a.send(cmd)
            out.append(a.reply())
        got.append([out[2], out[7]])
    return report("watch", ["EXEC aborted by WATCH", "EXEC of writes"], got)


SCRIPTS = [
    "redis.setresp(3); return redis.call('hgetall', KEYS[1])",
    "redis.setresp(3); local t = redis.call('hgetall', KEYS[1]); return t.map.a",
    "redis.setresp(3); return redis.call('zscore', 'sz', 'a')",
    "redis.setresp(3); local d = redis.call('zscore', 'sz', 'a'); return d.double * 2",
    "redis.setresp(3); return redis.call('get', 'nokey') == nil",
    "redis.setresp(3); return redis.call('smembers', 'ss')",
    "redis.setresp(3); return true",
    "redis.setresp(3); return false",
    "return true",
    "return false",
    "return {double=3.5}",
    "return {big_number='123456789012345678901234'}",
    "return {verbatim_string={format='txt', string='hello'}}",
    "return {map={a=1}}",
    "return {set={x=true}}",
    "redis.setresp(4)",
    "redis.setresp(2); return redis.call('hgetall', KEYS[1])",
]


def run_scripts(ports):
    """Scripts' redis.setresp(3) (redis.call's replies as RESP3 Lua values) and the RESP3
    tables a script may return, to a RESP3 and a RESP2 client."""
    got = []
    for port in ports:
        out = []
        for proto in ("3", "2"):
            c = Conn(port)
            c.send(["HELLO", proto])
            c.reply()
            for cmd in (["DEL", "sh", "sz", "ss"], ["HSET", "sh", "a", "1"],
                        ["ZADD", "sz", "1.5", "a"], ["SADD", "ss", "m"]):
                c.send(cmd)
                c.reply()
            for script in SCRIPTS:
                c.send(["EVAL", script, "1", "sh"])
                out.append(c.reply())
        got.append(out)
    names = ["RESP%s %s" % (proto, script) for proto in ("3", "2") for script in SCRIPTS]
    return report("script", names, got)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--concordkv-port", type=int, required=True)
    args = ap.parse_args()
    ports = [args.redis_port, args.concordkv_port]
    p1, f1 = run_steps([Conn(p) for p in ports])
    p2, f2 = run_pubsub(ports)
    p3, f3 = run_pipelined_and_blocking(ports)
    p4, f4 = run_scripts(ports)
    p5, f5 = run_watch(ports)
    passed, failed = p1 + p2 + p3 + p4 + p5, f1 + f2 + f3 + f4 + f5
    print("resp3: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
