"""Shared pieces of the chaos tests: loopback ports, one RESP connection, outcome rules.

Nothing here starts processes; cluster.py does. Times are time.monotonic() seconds, which is
CLOCK_MONOTONIC: comparable between the driver, nemesis and checker processes on one host.
"""
import fcntl
import os
import random
import socket
import time

import redis
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))

# ---- ports ----

_claimed = set()
_lock_fds = []


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _claim(port):
    """Claim PORT among processes using the same lock directory as tests/lib/fixture.c (an
    flock per port under $TMPDIR/concordkv-fx-ports, held until this process exits)."""
    base = os.environ.get("TMPDIR") or "/tmp"
    d = os.path.join(base, "concordkv-fx-ports")
    old = os.umask(0)
    try:
        os.makedirs(d, mode=0o1777, exist_ok=True)
    except OSError:
        return True
    finally:
        os.umask(old)
    try:
        fd = os.open(os.path.join(d, str(port)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _lock_fds.append(fd)
    return True


def free_port():
    """A loopback port below the kernel's ephemeral range (a killed node's port cannot be taken
    by an outgoing connection meanwhile), bindable now and claimed for this process's life."""
    hi = min(_ephemeral_low(), 40000) - 1
    lo = 20000
    for _ in range(2000):
        p = random.randint(lo, hi)
        if p in _claimed or not _bindable(p):
            continue
        _claimed.add(p)
        if _claim(p):
            return p
    raise RuntimeError("no free loopback port")


# ---- RESP ----

class Conn:
    """One RESP connection (redis-py's Connection, without pools or retries)."""

    def __init__(self, addr, timeout=10.0, connect_timeout=1.0):
        host, port = addr.rsplit(":", 1)
        self.addr = addr
        self.c = Connection(host=host, port=int(port), socket_timeout=timeout,
                            socket_connect_timeout=connect_timeout)
        self.c.connect()

    def call(self, *args):
        """Send one command and return its reply; raises ResponseError for an error reply,
        RedisConnectionError / RedisTimeoutError when the connection fails."""
        self.c.send_command(*args)
        return self.c.read_response()

    def send(self, *args):
        self.c.send_command(*args)

    def read(self):
        return self.c.read_response()

    def close(self):
        try:
            self.c.disconnect()
        except Exception:
            pass


CONN_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, EOFError)

# Error replies that say the command was not applied (SPEC.md, the issue): a follower's
# redirect, no leader, "leadership changed before the command was proposed".
NOT_APPLIED = ("MOVED", "CLUSTERDOWN", "TRYAGAIN")


def error_kind(msg):
    """'fail' when an error reply proves the command was not applied, else 'unknown' (unknown:
    -UNCERTAIN, -TIMEOUT, anything unexpected)."""
    head = str(msg).split(" ", 1)[0]
    return "fail" if head in NOT_APPLIED else "unknown"


def moved_target(msg):
    """The ip:port of a -MOVED error, or None."""
    parts = str(msg).split()
    if len(parts) == 3 and parts[0] == "MOVED":
        return parts[2]
    return None


def dec(v):
    """Decode a reply: bytes to str, recursively; other values unchanged."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v


def query(addr, *args, timeout=2.0):
    """One command on a fresh connection; returns (reply, None) or (None, error string)."""
    c = None
    try:
        c = Conn(addr, timeout=timeout, connect_timeout=min(timeout, 1.0))
        return dec(c.call(*args)), None
    except ResponseError as e:
        return None, str(e)
    except CONN_ERRORS as e:
        return None, "connection: %s" % e
    finally:
        if c is not None:
            c.close()


def mono():
    return time.monotonic()


__all__ = ["Conn", "CONN_ERRORS", "ResponseError", "error_kind", "moved_target", "dec", "query",
           "free_port", "mono", "PYTHON", "HERE", "redis"]
