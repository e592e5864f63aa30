// ioredis 5 in Sentinel mode (new Redis({sentinels, name})) against a 3-node ConcordKV
// cluster whose every node answers SENTINEL: SET in a loop, SIGKILL of the leader after 100
// acknowledged writes, the client follows the new leader; every acknowledged key is read back.
// Usage: node test_sentinel_ioredis.js <port,port,port> <pid,pid,pid> <leader port> [name]
// (ioredis found through NODE_PATH). Prints "ok - name" / "not ok - name: reason" lines.
"use strict";
const Redis = require("ioredis");

const HOST = "127.0.0.1";
const [portsArg, pidsArg, leaderArg, nameArg] = process.argv.slice(2);
const ports = portsArg.split(",").map(Number);
const pids = pidsArg.split(",").map(Number);
const leader = Number(leaderArg);
const name = nameArg || "mymaster";
// The port of the node the client is connected to now.
const connectedPort = (r) => (r.stream ? r.stream.remotePort : undefined);
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
let failed = 0;

function report(check, err, note) {
  if (err) {
    failed++;
    console.log(`not ok - ${check}: ${err && err.message ? err.message : err}`);
  } else {
    console.log(`ok - ${check}${note ? " # " + note : ""}`);
  }
}

async function main() {
  const r = new Redis({
    sentinels: ports.map((port) => ({ host: HOST, port })),
    name,
    sentinelRetryStrategy: (times) => Math.min(times * 50, 500),
    retryStrategy: (times) => Math.min(times * 50, 500),
    connectTimeout: 2000,
    commandTimeout: 3000,
    maxRetriesPerRequest: 5,
  });
  r.on("error", () => {}); // reconnections are expected during the failover
  const acked = new Map();
  const errors = [];
  const start = Date.now();
  try {
    // Discovery: the first write goes to the leader.
    await r.set("sentinel:js", "v1");
    const port = connectedPort(r);
    if (port !== leader) throw new Error(`connected to ${port}, the leader is ${leader}`);
    if ((await r.get("sentinel:js")) !== "v1") throw new Error("GET after SET");
    report("ioredis_sentinel_connects_to_leader");
  } catch (e) {
    report("ioredis_sentinel_connects_to_leader", e);
    r.disconnect();
    return;
  }
  try {
    let i = 0, killed = false;
    while (acked.size < 200) {
      if (Date.now() - start > 60000)
        throw new Error(`${acked.size} acknowledged writes in 60 s; last errors ${errors.slice(-3)}`);
      const key = `sentinel:js${i}`, val = `v${i}`;
      try {
        if ((await r.set(key, val)) === "OK") {
          acked.set(key, val);
          i++;
        }
      } catch (e) {
        errors.push(String(e.message)); // not acknowledged: tried again
        await sleep(20);
      }
      if (!killed && acked.size === 100) {
        process.kill(pids[ports.indexOf(leader)], "SIGKILL");
        killed = true;
      }
    }
    if (connectedPort(r) === leader) throw new Error("still on the killed leader");
    const missing = [];
    for (const [key, val] of acked) {
      let got, deadline = Date.now() + 10000;
      for (;;) {
        try {
          got = await r.get(key);
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await sleep(20);
        }
      }
      if (got !== val) missing.push(key);
    }
    if (missing.length) throw new Error(`${missing.length} acknowledged keys lost, e.g. ${missing.slice(0, 5)}`);
    report("ioredis_sentinel_failover_sigkill", null,
      `${acked.size} writes acknowledged, ${errors.length} failed and retried; new master ${connectedPort(r)}`);
  } catch (e) {
    report("ioredis_sentinel_failover_sigkill", e);
  }
  r.disconnect();
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  console.log(`not ok - ioredis_sentinel: ${e}`);
  process.exit(1);
});
