#!/usr/bin/python3
"""Partitioning TCP proxy for the raft traffic of a chaos-test cluster.

One process, one listener per node: node i's peers connect to its proxy port (the address
the node advertises with --raft-advertise), the proxy forwards to the node's real raft port.
The raft handshake a connecting node sends first (three little-endian uint64: protocol
version, sender id, address length, then the address) tells which node is connecting, so the
proxy knows each connection's pair (sender -> receiver) and can cut it.

Control: one JSON object per line on a loopback TCP port, answered with one JSON line.
  {"cmd": "add", "id": 4, "listen": 31004, "target": 30004}   start forwarding for node 4
  {"cmd": "remove", "id": 4}                                   stop it (closes its connections)
  {"cmd": "block", "pairs": [[1, 2], [2, 1]], "mode": "reject"|"blackhole"}
        directed pairs (sender, receiver) whose traffic is cut: existing connections are
        closed; new ones are closed after the handshake (reject) or accepted and their bytes
        discarded (blackhole: the sender believes it is sending) until the pair is healed
  {"cmd": "heal"}                                              unblock every pair
  {"cmd": "stats"}                                             counters
  {"cmd": "quit"}
It never touches anything but its own sockets; it exits when its control port is told to, or
when the parent that started it goes away (stdin reaches EOF).
"""
import argparse
import asyncio
import json
import os
import struct
import sys

HANDSHAKE_PEEK = 16  # protocol version + sender id


class Proxy:
    def __init__(self):
        self.nodes = {}      # id -> (server, target_port)
        self.blocked = set() # (sender, receiver)
        self.mode = "reject"
        self.conns = {}      # (sender, receiver) -> set of (reader/writer pairs to close)
        self.stats = {"accepted": 0, "forwarded": 0, "rejected": 0, "blackholed": 0,
                      "cut": 0, "bytes": 0}

    async def add(self, node_id, listen, target):
        if node_id in self.nodes:
            await self.remove(node_id)
        server = await asyncio.start_server(
            lambda r, w: self.handle(node_id, r, w), "127.0.0.1", listen, reuse_address=True)
        self.nodes[node_id] = (server, target)

    async def remove(self, node_id):
        entry = self.nodes.pop(node_id, None)
        if entry:
            entry[0].close()
        for pair in list(self.conns):
            if node_id in pair:
                self.cut(pair)

    def cut(self, pair):
        for w in list(self.conns.get(pair, ())):
            self.stats["cut"] += 1
            try:
                w.transport.abort()
            except Exception:
                pass
        self.conns.pop(pair, None)

    def block(self, pairs, mode):
        self.mode = mode
        for p in pairs:
            p = (int(p[0]), int(p[1]))
            self.blocked.add(p)
            self.cut(p)

    def heal(self):
        # Black-holed connections lost bytes mid-stream: their framing is gone, close them.
        for p in list(self.blocked):
            self.cut(p)
        self.blocked.clear()

    def track(self, pair, writer):
        self.conns.setdefault(pair, set()).add(writer)

    def untrack(self, pair, writer):
        s = self.conns.get(pair)
        if s is not None:
            s.discard(writer)

    async def handle(self, receiver, reader, writer):
        self.stats["accepted"] += 1
        try:
            head = await asyncio.wait_for(reader.readexactly(HANDSHAKE_PEEK), 10)
        except Exception:
            writer.transport.abort()
            return
        _version, sender = struct.unpack("<QQ", head)
        pair = (sender, receiver)
        if pair in self.blocked:
            if self.mode == "blackhole":
                self.stats["blackholed"] += 1
                self.track(pair, writer)
                try:
                    while await reader.read(65536):
                        pass
                except Exception:
                    pass
                self.untrack(pair, writer)
            else:
                self.stats["rejected"] += 1
            writer.transport.abort()
            return
        entry = self.nodes.get(receiver)
        if entry is None:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", entry[1]), 5)
        except Exception:
            writer.transport.abort()
            return
        if pair in self.blocked:  # a partition began while we connected
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self.stats["forwarded"] += 1
        self.track(pair, writer)
        self.track(pair, up_writer)
        up_writer.write(head)
        await asyncio.gather(self.pipe(reader, up_writer), self.pipe(up_reader, writer))
        self.untrack(pair, writer)
        self.untrack(pair, up_writer)

    async def pipe(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                self.stats["bytes"] += len(data)
                writer.write(data)
                await writer.drain()
        except Exception:
            pass
        try:
            writer.transport.abort()
        except Exception:
            pass

    async def control(self, reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                req = json.loads(line)
                cmd = req["cmd"]
                if cmd == "add":
                    await self.add(int(req["id"]), int(req["listen"]), int(req["target"]))
                elif cmd == "remove":
                    await self.remove(int(req["id"]))
                elif cmd == "block":
                    self.block(req["pairs"], req.get("mode", "reject"))
                elif cmd == "heal":
                    self.heal()
                elif cmd == "quit":
                    writer.write(b'{"ok": true}\n')
                    await writer.drain()
                    asyncio.get_running_loop().stop()
                    return
                elif cmd != "stats":
                    raise ValueError("unknown command " + cmd)
                reply = {"ok": True, "stats": self.stats, "blocked": sorted(self.blocked)}
            except Exception as e:  # a bad request must not kill the proxy
                reply = {"ok": False, "error": repr(e)}
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
        writer.close()


async def watch_stdin():
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)
    loop.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--control-port", type=int, required=True)
    args = ap.parse_args()
    proxy = Proxy()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(asyncio.start_server(proxy.control, "127.0.0.1", args.control_port,
                                                 reuse_address=True))
    loop.create_task(watch_stdin())
    print("ready", flush=True)
    loop.run_forever()
    os._exit(0)  # the stdin reader thread may still block


if __name__ == "__main__":
    main()
