/**
 * Latency of the BuildKit client (lib/h2) against the daemons from `scripts/daemons start`, through `connect()`
 * (daemon-managing commands) and a build's connection: cold connect+Info per transport, warm Info, and how soon
 * waitReady() sees a freshly started buildkitd.
 *   node_modules/.bin/deno run -A scripts/bench_client.ts   |   node_modules/.bin/bun scripts/bench_client.ts
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBuildConnection } from "../lib/buildkit/build_connection.ts";
import { type BuildkitClient, connect } from "../lib/buildkit/client.ts";
import type { Endpoint } from "../lib/transport/types.ts";
import { daemons } from "../tests/helpers/daemons.ts";

const peers = daemons();
const RUNS = 20;
const t = peers.buildkitTls;
const endpoints: Record<string, Endpoint> = {
  tcp: { kind: "address", target: peers.buildkitTcp, display: "tcp" },
  unix: { kind: "address", target: `unix://${peers.buildkitUnix}`, display: "unix" },
  "unix as a stream": {
    kind: "stream",
    display: "stream",
    open: () => Promise.resolve(netConnect(peers.buildkitUnix)),
  },
  "tcp mTLS": {
    kind: "address",
    target: t.address,
    display: "mtls",
    tls: {
      ca: readFileSync(t.ca),
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      servername: t.servername,
    },
  },
};

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
console.log(`runtime: ${runtime}; median of ${RUNS} runs`);
const channels: Record<string, (ep: Endpoint) => Promise<BuildkitClient>> = {
  "connect()": (ep) => connect(ep),
  "build": async (ep) => (await openBuildConnection(ep)).client,
};
for (const [name, ep] of Object.entries(endpoints)) {
  for (const [via, open] of Object.entries(channels)) {
    const cold: number[] = [], warm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const c = await open(ep);
      await c.info();
      cold.push(performance.now() - t0);
      const t1 = performance.now();
      await c.info();
      warm.push(performance.now() - t1);
      await c.close();
    }
    console.log(
      `${name.padEnd(16)} ${via.padEnd(12)} connect+info ${median(cold).toFixed(2)} ms, warm info ${
        median(warm).toFixed(2)
      } ms`,
    );
  }
}

// A private buildkitd: poll it with waitReady() from before it starts, and compare with when its socket appeared.
for (let i = 0; i < 6; i++) {
  const via = i % 2 ? "build" : "connect()";
  const dir = mkdtempSync(join(tmpdir(), "bench-bk-"));
  const sock = join(dir, "bk.sock");
  const client = await channels[via]({ kind: "address", target: `unix://${sock}`, display: "bench" });
  let socketAt = 0;
  const watch = setInterval(() => socketAt ||= existsSync(sock) ? performance.now() : 0, 1);
  const t0 = performance.now();
  const child = spawn(peers.buildkitd, [
    "--root",
    join(dir, "root"),
    "--addr",
    `unix://${sock}`,
    "--containerd-worker=false",
  ], {
    stdio: "ignore",
  });
  await client.waitReady({ timeoutMs: 30_000 });
  const ready = performance.now();
  clearInterval(watch);
  console.log(
    `fresh buildkitd, ${via}: ready ${(ready - t0).toFixed(0)} ms after spawn, ${
      (ready - socketAt).toFixed(0)
    } ms after its socket appeared`,
  );
  await client.close();
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
