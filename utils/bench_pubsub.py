#!/usr/bin/python3
"""PUBLISH throughput and publish-to-receive latency (utils/bench_pubsub.sh drives it).

bench_pubsub.py --publish PORT --subscribe PORT[,PORT...] [-n N] [-c CLIENTS] [-P PIPELINE]
One subscriber process per --subscribe port (SUBSCRIBE bench), then CLIENTS publisher processes
on --publish, each sending N/CLIENTS PUBLISH commands in pipelines of PIPELINE whose payload is
the send time (CLOCK_REALTIME ns, same host). Prints one line:
  msgs_per_s=<publishes acknowledged per second> p50_us=<..> p99_us=<..> received=<all subs>
the latencies over every message every subscriber received."""
import argparse
import multiprocessing as mp
import socket
import time


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def subscriber(port, want, ready, q):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(resp("SUBSCRIBE", "bench"))
    buf = b""
    while buf.count(b"\r\n") < 6:
        buf += s.recv(65536)
    buf = b""
    ready.set()
    lat = []
    s.settimeout(30)
    try:
        while len(lat) < want:
            data = s.recv(1 << 20)
            if not data:
                break
            now = time.time_ns()
            buf += data
            # each message: *3 $7 message $5 bench $<n> <payload>
            while True:
                i = buf.find(b"$5\r\nbench\r\n$")
                if i < 0:
                    break
                j = buf.find(b"\r\n", i + 12)
                if j < 0:
                    break
                n = int(buf[i + 12:j])
                if len(buf) < j + 2 + n + 2:
                    break
                lat.append(now - int(buf[j + 2:j + 2 + n]))
                buf = buf[j + 2 + n + 2:]
    except socket.timeout:
        pass
    q.put(lat)


def publisher(port, n, pipeline, start, q):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start.wait()
    sent = 0
    while sent < n:
        k = min(pipeline, n - sent)
        s.sendall(b"".join(resp("PUBLISH", "bench", time.time_ns()) for _ in range(k)))
        got = 0
        buf = b""
        while got < k:
            buf += s.recv(65536)
            got = buf.count(b"\r\n")
        if b"-" in buf[:1] or b"\r\n-" in buf:
            raise SystemExit("PUBLISH failed: %r" % buf[:200])
        sent += k
    q.put(sent)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--publish", type=int, required=True)
    ap.add_argument("--subscribe", required=True)
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("-c", type=int, default=4)
    ap.add_argument("-P", type=int, default=16)
    a = ap.parse_args()
    ports = [int(p) for p in a.subscribe.split(",")]
    per = a.n // a.c
    total = per * a.c
    lq, pq = mp.Queue(), mp.Queue()
    subs = []
    for p in ports:
        ready = mp.Event()
        pr = mp.Process(target=subscriber, args=(p, total, ready, lq))
        pr.start()
        ready.wait(10)
        subs.append(pr)
    start = mp.Event()
    pubs = [mp.Process(target=publisher, args=(a.publish, per, a.P, start, pq)) for _ in range(a.c)]
    for pr in pubs:
        pr.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    start.set()
    done = sum(pq.get() for _ in pubs)
    elapsed = time.monotonic() - t0
    lat = []
    for _ in subs:
        lat += lq.get()
    for pr in pubs + subs:
        pr.join()
    lat.sort()
    if not lat:
        raise SystemExit("no message received")
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000.0
    print("msgs_per_s=%d p50_us=%.0f p99_us=%.0f received=%d/%d" %
          (done / elapsed, p(0.50), p(0.99), len(lat), total * len(ports)))


if __name__ == "__main__":
    main()
