#!/usr/bin/python3
"""Job-queue throughput and push-to-pop latency (utils/bench_queue.sh drives it).

bench_queue.py --port PORT [-n N] [-p PRODUCERS] [-c CONSUMERS] [-P PIPELINE] [--deadline S]
               [--pop brpop|blpop]
CONSUMERS processes loop BRPOP q 1 (--pop blpop: BLPOP q 1) on 127.0.0.1:PORT; then PRODUCERS
processes LPUSH q (with BLPOP: RPUSH q) N items between them, PIPELINE commands at a time: the
producers push at the end the consumers do not pop from, so the list is a FIFO (RQ's and
Celery's LPUSH + BRPOP). An item is "<send ns> <id> " padded with x to 100 bytes: the send time is time.monotonic_ns() (CLOCK_MONOTONIC, one clock for every process of
this machine) and the id is unique. Consumers stop once N items were popped between them, or at
the deadline (S seconds after the start, default 120). Prints one line:
  items_per_s=<popped / (last pop - first push)> p50_us=<..> p99_us=<..> pushed=<acknowledged>
  popped=<..> lost=<pushed, never popped> dup=<popped twice> left=<LLEN q after> wall_s=<..>
the latencies over every popped item. Exits 1 (after the line) on a lost or duplicated item, an
item left in the queue, an item not pushed, an error reply or the deadline."""
import argparse
import multiprocessing as mp
import queue
import socket
import sys
import time

PAYLOAD = 100
QUEUE = b"q"


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def connect(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def item(send_ns, ident):
    head = b"%d %d " % (send_ns, ident)
    return head + b"x" * max(0, PAYLOAD - len(head))


def producer(port, push, first, count, pipeline, start, deadline, q):
    """PUSH (LPUSH or RPUSH) items first..first+count-1; puts (acknowledged, error or None)."""
    acked = 0
    try:
        s = connect(port, 10)
        f = s.makefile("rb")
        start.wait()
        while acked < count:
            if time.monotonic() > deadline:
                raise RuntimeError("deadline reached after %d pushes" % acked)
            k = min(pipeline, count - acked)
            now = time.monotonic_ns()
            s.sendall(b"".join(resp(push, QUEUE, item(now, first + acked + i)) for i in range(k)))
            for _ in range(k):
                line = f.readline()
                if not line.startswith(b":"):
                    raise RuntimeError("%s replied %r" % (push.decode(), line[:200]))
                acked += 1
        q.put((acked, None))
    except Exception as e:  # reported by main, which exits 1
        q.put((acked, "producer: %s" % e))


def consumer(port, pop, total, popped, ready, deadline, q):
    """POP (brpop or blpop) q 1 until TOTAL items were popped by all consumers (the shared
    counter POPPED) or the deadline; puts (ids, latencies in ns, earliest send time among them
    or None, time of the last pop or 0, first error or None)."""
    ids, lat, first, last, err = [], [], None, 0, None
    try:
        s = connect(port, 10)
        f = s.makefile("rb")
        ready.set()
        cmd = resp(pop.upper().encode(), QUEUE, b"1")
        while popped.value < total and time.monotonic() < deadline:
            s.sendall(cmd)
            line = f.readline()
            if line in (b"*-1\r\n", b"$-1\r\n", b"_\r\n"):
                continue  # the 1 s timeout: nothing was pushed meanwhile
            if line != b"*2\r\n":
                raise RuntimeError("%s replied %r" % (pop, line[:200]))
            for want_key in (True, False):
                head = f.readline()
                if not head.startswith(b"$"):
                    raise RuntimeError("%s replied %r" % (pop, head[:200]))
                body = f.read(int(head[1:]) + 2)[:-2]
                if want_key:
                    continue
                now = last = time.monotonic_ns()
                sent, ident = body.split(b" ", 2)[:2]
                sent = int(sent)
                ids.append(int(ident))
                lat.append(now - sent)
                first = sent if first is None or sent < first else first
                with popped.get_lock():
                    popped.value += 1
    except Exception as e:
        err = "consumer: %s" % e
    q.put((ids, lat, first, last, err))


def llen(port):
    s = connect(port, 10)
    s.sendall(resp(b"LLEN", QUEUE))
    line = s.makefile("rb").readline()
    s.close()
    return int(line[1:]) if line.startswith(b":") else -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("-p", type=int, default=4, help="producers")
    ap.add_argument("-c", type=int, default=4, help="consumers")
    ap.add_argument("-P", type=int, default=1, help="pipeline per producer")
    ap.add_argument("--deadline", type=float, default=120.0, help="seconds for the whole run")
    ap.add_argument("--pop", choices=("brpop", "blpop"), default="brpop")
    a = ap.parse_args()
    if a.n < 1 or a.p < 1 or a.c < 1 or a.P < 1:
        raise SystemExit("-n, -p, -c, -P: at least 1")
    deadline = time.monotonic() + a.deadline
    popped = mp.Value("q", 0)
    pq, cq = mp.Queue(), mp.Queue()
    start = mp.Event()
    cons = []
    for _ in range(a.c):
        ready = mp.Event()
        pr = mp.Process(target=consumer, args=(a.port, a.pop, a.n, popped, ready, deadline, cq))
        pr.start()
        if not ready.wait(10):
            raise SystemExit("a consumer did not connect in 10 s")
        cons.append(pr)
    push = b"LPUSH" if a.pop == "brpop" else b"RPUSH"  # the other end: a FIFO
    prods, first = [], 0
    for i in range(a.p):
        count = a.n // a.p + (1 if i < a.n % a.p else 0)
        prods.append(mp.Process(target=producer,
                                args=(a.port, push, first, count, a.P, start, deadline, pq)))
        first += count
    for pr in prods:
        pr.start()
    time.sleep(0.3)  # producers connected; consumers are already blocked in their pop
    t0 = time.monotonic_ns()
    start.set()
    errors, pushed, ids, lat, first, last = [], 0, [], [], None, t0
    # Results first, joins after (a child that put a large result exits once it is read).
    grace = lambda: max(1.0, deadline - time.monotonic() + 5.0)
    try:
        for _ in prods:
            n, err = pq.get(timeout=grace())
            pushed += n
            errors += [err] if err else []
        for _ in cons:
            i, l, f, t, err = cq.get(timeout=grace())
            ids += i
            lat += l
            first = f if first is None or (f is not None and f < first) else first
            last = max(last, t)
            errors += [err] if err else []
    except queue.Empty:
        errors.append("a producer or consumer did not report by the deadline")
    for pr in prods + cons:
        pr.join(5)
        if pr.is_alive():
            pr.terminate()
    left = llen(a.port)
    unique = len(set(ids))
    lost, dup = max(0, pushed - unique), len(ids) - unique  # lost: acknowledged, never popped
    if not lat:
        errors.append("no item popped")
        lat = [0]
    # The wall time runs from the first push (the earliest send time popped) to the last pop.
    wall = max(last - (first if first is not None else t0), 1) / 1e9
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000.0
    print("items_per_s=%d p50_us=%.0f p99_us=%.0f pushed=%d popped=%d lost=%d dup=%d left=%d wall_s=%.2f"
          % (len(ids) / wall, p(0.50), p(0.99), pushed, len(ids), lost, dup, left, wall))
    if pushed != a.n:
        errors.append("%d of %d items pushed" % (pushed, a.n))
    if lost or dup or left:
        errors.append("%d items lost, %d popped twice, %d left in the queue" % (lost, dup, left))
    if errors:
        sys.stdout.flush()
        print("bench_queue.py: " + "; ".join(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
