// ioredis 5 and node-redis 4 cells of the client matrix (redis-compat/matrix.sh) and their
// failover checks; both libraries are found through NODE_PATH.
//   node matrix.js cells NAME:PORT:EXPECT ...
//     per target: ioredis Redis and node-redis createClient (SET/GET/INCR, a pipeline, MULTI/EXEC),
//     ioredis Redis.Cluster (also scaleReads 'slave') and node-redis createCluster (also
//     useReplicas) seeded with that node. EXPECT "ok": a plain client is served; "moved"
//     (follower-mode moved): every plain command answers -MOVED, MULTI ends in EXECABORT.
//   node matrix.js failover ioredis|noderedis P1,P2,P3 DIR
//     the cluster client (scaleReads 'slave' / useReplicas) writes and reads back; DIR/NAME.ready
//     after 100 acknowledged writes; after DIR/killed appears, 100 more; DIR/NAME.acked lists
//     every acknowledged pair, all read back at the end.
// Prints "ok - name" / "not ok - name: reason" lines; exits 1 if any failed.
"use strict";
const fs = require("fs");
const path = require("path");
const Redis = require("ioredis");
const { createClient, createCluster } = require("redis");

const HOST = "127.0.0.1";
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
let failed = 0;

async function run(name, fn) {
  try {
    const note = await fn();
    console.log(`ok - ${name}${note ? " # " + note : ""}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e && e.message ? e.message : e}`.replace(/\n/g, " "));
  }
}

function assertEq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

// fn() must fail with an error whose message (or a previous error's, for EXECABORT) says MOVED.
async function expectMoved(fn, what) {
  let got;
  try {
    got = await fn();
  } catch (e) {
    const msgs = [String(e.message)].concat((e.previousErrors || []).map((p) => String(p.message)));
    if (e.replies) msgs.push(...e.replies.filter((r) => r instanceof Error).map((r) => String(r.message)));
    if (msgs.some((m) => m.startsWith("MOVED ") || m.includes("MOVED "))) return;
    throw new Error(`${what}: expected MOVED, got ${msgs.join(" / ")}`);
  }
  // ioredis pipelines resolve to [[err, reply], ...]
  if (Array.isArray(got) && got.length && got.every((x) => Array.isArray(x) && x[0] &&
      String(x[0].message).startsWith("MOVED "))) return;
  throw new Error(`${what}: expected MOVED, got the reply ${JSON.stringify(got)}`);
}

// ---- ioredis ----

// A plain client R: SET, GET, two INCR on keys K:...; with MOVED, each must answer -MOVED.
async function plainSetGetIncr(r, k, moved) {
  if (moved) {
    await expectMoved(() => r.set(`${k}:k`, "v"), "SET");
    await expectMoved(() => r.get(`${k}:k`), "GET");
    return expectMoved(() => r.incr(`${k}:n`), "INCR");
  }
  assertEq(await r.set(`${k}:k`, "v1"), "OK", "SET");
  assertEq(await r.get(`${k}:k`), "v1", "GET");
  assertEq(await r.incr(`${k}:n`), 1, "INCR");
  assertEq(await r.incr(`${k}:n`), 2, "INCR");
}

async function ioredisPlain(name, port, expect) {
  const moved = expect === "moved" ? " (MOVED)" : "";
  const r = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, lazyConnect: true });
  r.on("error", () => {});
  await r.connect();
  const k = `io:${name}`;
  await run(`ioredis ${name} set_get_incr${moved}`, () => plainSetGetIncr(r, k, moved));
  await run(`ioredis ${name} pipeline${moved}`, async () => {
    const p = () => r.pipeline().set(`${k}:p`, "a").get(`${k}:p`).incr(`${k}:pn`).exec();
    if (moved) return expectMoved(p, "pipeline");
    assertEq(await p(), [[null, "OK"], [null, "a"], [null, 1]], "pipeline");
  });
  await run(`ioredis ${name} multi_exec${moved}`, async () => {
    const m = () => r.multi().set(`${k}:m`, "b").incr(`${k}:mn`).get(`${k}:m`).exec();
    if (moved) return expectMoved(m, "MULTI/EXEC");
    assertEq(await m(), [[null, "OK"], [null, 1], [null, "b"]], "MULTI/EXEC");
  });
  r.disconnect();
}

// A cluster client C: 20 SET and GET (each GET possibly from a replica: it must see the SET),
// two INCR, keys K...
async function clusterSetGetIncr(c, k) {
  for (let i = 0; i < 20; i++) {
    assertEq(await c.set(`${k}${i}`, `v${i}`), "OK", "SET");
    assertEq(await c.get(`${k}${i}`), `v${i}`, "GET after SET");
  }
  assertEq(await c.incr(`${k}n`), 1, "INCR");
  assertEq(await c.incr(`${k}n`), 2, "INCR");
}

async function ioredisCluster(name, port, slave) {
  const client = `ioredis-cluster${slave ? "+slave" : ""}`;
  const c = new Redis.Cluster([{ host: HOST, port }], {
    scaleReads: slave ? "slave" : "master",
    redisOptions: { maxRetriesPerRequest: 1 },
  });
  c.on("error", () => {});
  const k = `{io:${name}:${slave ? "s" : "m"}}`;
  await run(`${client} ${name} set_get_incr`, () => clusterSetGetIncr(c, k));
  await run(`${client} ${name} pipeline`, async () => {
    assertEq(await c.pipeline().set(`${k}p`, "a").get(`${k}p`).incr(`${k}pn`).exec(),
      [[null, "OK"], [null, "a"], [null, 1]], "pipeline");
  });
  await run(`${client} ${name} multi_exec`, async () => {
    assertEq(await c.multi().set(`${k}m`, "b").incr(`${k}mn`).get(`${k}m`).exec(),
      [[null, "OK"], [null, 1], [null, "b"]], "MULTI/EXEC");
  });
  c.disconnect();
}

// ---- node-redis ----

async function nodeRedisPlain(name, port, expect) {
  const moved = expect === "moved" ? " (MOVED)" : "";
  const r = createClient({ socket: { host: HOST, port, reconnectStrategy: false } });
  r.on("error", () => {});
  await r.connect();
  const k = `nr:${name}`;
  await run(`node-redis ${name} set_get_incr${moved}`, () => plainSetGetIncr(r, k, moved));
  // node-redis pipelines the commands issued in one tick; execAsPipeline sends a batch.
  await run(`node-redis ${name} pipeline${moved}`, async () => {
    const p = () => Promise.all([r.set(`${k}:p`, "a"), r.get(`${k}:p`), r.incr(`${k}:pn`)]);
    const q = () => r.multi().set(`${k}:q`, "c").get(`${k}:q`).execAsPipeline();
    if (moved) {
      await expectMoved(p, "pipeline");
      return expectMoved(q, "execAsPipeline");
    }
    assertEq(await p(), ["OK", "a", 1], "pipeline");
    assertEq(await q(), ["OK", "c"], "execAsPipeline");
  });
  await run(`node-redis ${name} multi_exec${moved}`, async () => {
    const m = () => r.multi().set(`${k}:m`, "b").incr(`${k}:mn`).get(`${k}:m`).exec();
    if (moved) {
      // node-redis 4 rejects the whole MULTI with EXEC's error and drops the queued
      // commands' (-MOVED) replies: EXECABORT is what it can show.
      try {
        await m();
      } catch (e) {
        if (String(e.message).startsWith("EXECABORT ")) return "EXECABORT (node-redis hides the queued MOVED)";
        throw new Error(`MULTI/EXEC: expected EXECABORT, got ${e.message}`);
      }
      throw new Error("MULTI/EXEC: expected EXECABORT, got a reply");
    }
    assertEq(await m(), ["OK", 1, "b"], "MULTI/EXEC");
  });
  await r.disconnect();
}

// node-redis createCluster seeded with PORTS.
function nodeRedisClusterClient(ports, replicas) {
  const c = createCluster({
    rootNodes: ports.map((port) => ({ socket: { host: HOST, port } })),
    useReplicas: replicas,
    defaults: { socket: { connectTimeout: 2000, reconnectStrategy: (n) => Math.min(n * 50, 500) } },
  });
  c.on("error", () => {});
  return c;
}

async function nodeRedisCluster(name, port, replicas) {
  const client = `node-redis-cluster${replicas ? "+replicas" : ""}`;
  const c = nodeRedisClusterClient([port], replicas);
  await c.connect();
  const k = `{nr:${name}:${replicas ? "r" : "m"}}`;
  await run(`${client} ${name} set_get_incr`, () => clusterSetGetIncr(c, k));
  await run(`${client} ${name} pipeline`, async () => {
    assertEq(await Promise.all([c.set(`${k}p`, "a"), c.get(`${k}p`), c.incr(`${k}pn`)]),
      ["OK", "a", 1], "pipeline");
  });
  await run(`${client} ${name} multi_exec`, async () => {
    assertEq(await c.multi(`${k}m`).set(`${k}m`, "b").incr(`${k}mn`).get(`${k}m`).exec(),
      ["OK", 1, "b"], "MULTI/EXEC");
  });
  await c.disconnect();
}

async function cells(targets) {
  for (const t of targets) {
    const [name, portS, expect] = t.split(":");
    const port = Number(portS);
    await ioredisPlain(name, port, expect);
    await nodeRedisPlain(name, port, expect);
    for (const flag of [false, true]) {
      await ioredisCluster(name, port, flag);
      await nodeRedisCluster(name, port, flag);
    }
  }
}

// ---- failover ----

async function failover(which, seeds, dir) {
  const name = which === "ioredis" ? "ioredis-cluster+slave" : "node-redis-cluster+replicas";
  await run(`${name} failover_sigkill`, async () => {
    let c;
    if (which === "ioredis") {
      c = new Redis.Cluster(seeds.map((port) => ({ host: HOST, port })), {
        scaleReads: "slave",
        clusterRetryStrategy: (n) => Math.min(n * 50, 500),
        retryDelayOnClusterDown: 100,
        retryDelayOnFailover: 100,
        redisOptions: { connectTimeout: 2000, commandTimeout: 3000, maxRetriesPerRequest: 2 },
      });
      c.on("error", () => {});
    } else {
      c = nodeRedisClusterClient(seeds, true);
      await c.connect();
    }
    const log = fs.openSync(path.join(dir, `${name}.acked`), "w");
    const killed = path.join(dir, "killed");
    const acked = new Map(), errors = [], stale = [];
    let afterKill = 0, i = 0;
    const start = Date.now();
    const withTimeout = (p) => Promise.race([p, sleep(5000).then(() => { throw new Error("no reply in 5 s"); })]);
    while (afterKill < 100) {
      if (Date.now() - start > 75000) // node-redis waits for the killed node's restart
        throw new Error(`${acked.size} acknowledged writes (${afterKill} after the kill) in 75 s; last errors ${errors.slice(-3)}`);
      const key = `fo:${name}:${i}`, val = `v${i}`;
      i++;
      let ok;
      try {
        ok = await withTimeout(c.set(key, val));
      } catch (e) {
        errors.push(String(e.message)); // not acknowledged: the next key is tried
        await sleep(20);
        continue;
      }
      if (ok !== "OK") { errors.push(`SET answered ${ok}`); continue; }
      acked.set(key, val);
      fs.writeSync(log, `${key} ${val}\n`);
      if (fs.existsSync(killed)) afterKill++;
      else if (acked.size === 100) fs.closeSync(fs.openSync(path.join(dir, `${name}.ready`), "w"));
      try {
        const got = await withTimeout(c.get(key));
        if (got !== val) stale.push(`${key}=${got}`);
      } catch (e) {
        errors.push(`GET ${e.message}`);
      }
    }
    fs.closeSync(log);
    if (stale.length) throw new Error(`${stale.length} reads after an acknowledged SET did not see it, e.g. ${stale.slice(0, 3)}`);
    const missing = [];
    for (const [key, val] of acked) {
      let got;
      for (const deadline = Date.now() + 10000; ;) {
        try {
          got = await withTimeout(c.get(key));
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await sleep(50);
        }
      }
      if (got !== val) missing.push(key);
    }
    if (missing.length) throw new Error(`${missing.length} acknowledged keys lost, e.g. ${missing.slice(0, 5)}`);
    if (which === "ioredis") c.disconnect(); else await c.disconnect();
    return `${acked.size} writes acknowledged (${afterKill} after the kill), ${errors.length} errors retried`;
  });
}

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === "cells") await cells(rest);
  else if (mode === "failover") await failover(rest[0], rest[1].split(",").map(Number), rest[2]);
  else throw new Error(`unknown mode ${mode}`);
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  console.log(`not ok - matrix.js: ${e && e.stack ? e.stack : e}`.replace(/\n/g, " "));
  process.exit(1);
});
