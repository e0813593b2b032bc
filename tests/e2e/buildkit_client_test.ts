/** The BuildKit client against the real buildkitd from `scripts/daemons start` (tcp, unix, mTLS). */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BuildkitClient, connect } from "../../lib/buildkit/client.ts";
import { BuildkitError } from "../../lib/buildkit/errors.ts";
import { Health } from "../../lib/buildkit/gen/grpc/health/v1/health_pb.ts";
import { grpcService } from "../../lib/buildkit/grpc_service.ts";
import { UserError } from "../../lib/errors.ts";
import type { Endpoint } from "../../lib/transport/types.ts";
import { daemons } from "../helpers/daemons.ts";
import { buildctlBuildArgs } from "../helpers/buildctl.ts";
import { callToDuplex } from "../helpers/session_call.ts";

const peers = daemons();
const tcp: Endpoint = { kind: "address", target: peers.buildkitTcp, display: `tcp://${peers.buildkitTcp}` };
const unix: Endpoint = {
  kind: "address",
  target: `unix://${peers.buildkitUnix}`,
  display: `unix://${peers.buildkitUnix}`,
};
const pem = (path: string) => readFileSync(path);
const mtls = (overrides: { ca?: string; servername?: string; clientCert?: boolean } = {}): Endpoint => ({
  kind: "address",
  target: peers.buildkitTls.address,
  display: `tcp://${peers.buildkitTls.address}`,
  tls: {
    ca: pem(overrides.ca ?? peers.buildkitTls.ca),
    ...(overrides.clientCert === false
      ? {}
      : { cert: pem(peers.buildkitTls.cert), key: pem(peers.buildkitTls.key) }),
    ...(overrides.servername ? { servername: overrides.servername } : {}),
  },
});

async function withClient<T>(endpoint: Endpoint, fn: (c: BuildkitClient) => Promise<T>): Promise<T> {
  const client = await connect(endpoint);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function assertDaemon(client: BuildkitClient) {
  const info = await client.info();
  assert.equal(info.version, peers.buildkitVersion);
  assert.equal(info.package, "github.com/moby/buildkit");
  const workers = await client.listWorkers();
  assert.ok(workers.length >= 1);
  const w = workers[0];
  assert.equal(w.labels["org.mobyproject.buildkit.worker.executor"], "oci");
  assert.ok(
    w.platforms.some((p) => p.os === "linux" && p.architecture === "amd64"),
    JSON.stringify(w.platforms),
  );
  assert.ok(w.gcPolicies.length >= 1);
  assert.ok(
    w.gcPolicies.some((p) => p.keepDurationMs === 48 * 3600_000 || p.all),
    JSON.stringify(w.gcPolicies),
  );
  assert.equal(w.buildkitVersion?.version, peers.buildkitVersion);
  JSON.stringify(workers); // no bigint anywhere
}

Deno.test("info() and listWorkers() over tcp", () => withClient(tcp, assertDaemon));

Deno.test("info() and listWorkers() over the unix socket", () => withClient(unix, assertDaemon));

Deno.test("a stream endpoint (a byte pipe we open, as helpers give) carries the calls", async () => {
  let opens = 0;
  const endpoint: Endpoint = {
    kind: "stream",
    display: "stream://buildkitd",
    open: () => (opens++, Promise.resolve(netConnect(peers.buildkitUnix))),
  };
  await withClient(endpoint, assertDaemon);
  assert.equal(opens, 1);
});

Deno.test("mTLS with the right CA and client certificate, by servername and by IP", async () => {
  await withClient(mtls({ servername: peers.buildkitTls.servername }), assertDaemon);
  // No servername: the certificate's IP SAN is checked (Deno and Bun refuse an IP as TLS servername).
  await withClient(mtls(), assertDaemon);
});

Deno.test("mTLS trusting the wrong CA is refused with a TLS reason, without waiting out the timeout", async () => {
  await withClient(mtls({ ca: peers.buildkitTls.wrongCa }), async (client) => {
    const t0 = Date.now();
    await assert.rejects(client.waitReady({ timeoutMs: 5000, timeoutText: "5s" }), (err: Error) => {
      assert.ok(err instanceof BuildkitError, String(err));
      assert.match(
        err.message,
        new RegExp(
          `^cannot connect to buildkitd tcp://${peers.buildkitTls.address}: tls: certificate verify failed`,
        ),
      );
      return true;
    });
    assert.ok(Date.now() - t0 < 2000);
  });
});

Deno.test("mTLS without a client certificate is refused with a TLS reason", async () => {
  await withClient(mtls({ clientCert: false }), async (client) => {
    await assert.rejects(client.info({ timeoutMs: 5000 }), (err: Error) => {
      assert.match(err.message, /^cannot connect to buildkitd tcp:\/\/\S+: tls: /);
      return true;
    });
  });
});

Deno.test("plaintext against the TLS daemon says it may expect TLS", async () => {
  const endpoint: Endpoint = {
    kind: "address",
    target: peers.buildkitTls.address,
    display: `tcp://${peers.buildkitTls.address}`,
  };
  await withClient(endpoint, async (client) => {
    await assert.rejects(client.info({ timeoutMs: 5000 }), /cannot connect to buildkitd .*(expects TLS|tls)/);
  });
});

Deno.test("waitReady() on an unreachable address fails within the timeout, naming the address", async () => {
  const port = await freePort();
  const endpoint: Endpoint = {
    kind: "address",
    target: `127.0.0.1:${port}`,
    display: `tcp://127.0.0.1:${port}`,
  };
  await withClient(endpoint, async (client) => {
    const t0 = Date.now();
    await assert.rejects(client.waitReady({ timeoutMs: 1000, timeoutText: "1s" }), (err: Error) => {
      assert.ok(err instanceof UserError);
      assert.equal(
        err.message,
        `timeout 1s: cannot connect to buildkitd tcp://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
      );
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 950 && took < 1500, `took ${took} ms`);
  });
});

Deno.test("diskUsage() shows a real build's cache and prune() removes exactly it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bk-du-"));
  try {
    await withClient(tcp, async (client) => {
      const before = new Set((await client.diskUsage()).map((r) => r.id));
      // Fresh content so the build makes new records even on a warm daemon.
      writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY f /f\n");
      writeFileSync(join(dir, "f"), randomBytes(4096).toString("hex"));
      execFileSync(peers.buildctl, buildctlBuildArgs(`tcp://${peers.buildkitTcp}`, dir), { stdio: "pipe" });

      const after = await client.diskUsage();
      const fresh = after.filter((r) => !before.has(r.id));
      assert.ok(fresh.length >= 1, "the build left cache records");
      // The COPY's layer is new; the context's source.local snapshot may be an older record reused by sharedkey.
      assert.ok(fresh.some((r) => r.recordType === "regular" && r.size > 0), JSON.stringify(fresh));
      for (const r of fresh) {
        assert.ok(
          r.createdAt instanceof Date && r.createdAt.getTime() > Date.now() - 600_000,
          `createdAt ${r.createdAt}`,
        );
        assert.equal(typeof r.size, "number");
      }
      const filtered = await client.diskUsage({ filters: fresh.map((r) => `id==${r.id}`) });
      assert.deepEqual(filtered.map((r) => r.id).sort(), fresh.map((r) => r.id).sort());

      // Only this test's records: the daemon is shared with the other e2e tests. Prune skips records in use, so
      // wait out any the finished build might still hold.
      const idFilters = fresh.map((r) => `id==${r.id}`);
      for (let i = 0; i < 100 && (await client.diskUsage({ filters: idFilters })).some((r) => r.inUse); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const deleted = await client.prune({ all: true, filters: idFilters });
      // Exactly these, unless a concurrent run against the same daemon pruned some first.
      assert.ok(
        deleted.length >= 1 && deleted.every((d) => fresh.some((f) => f.id === d.id)),
        JSON.stringify(deleted),
      );
      // (Not a count: background GC or another client may add or drop records meanwhile.)
      const left = await client.diskUsage();
      assert.ok(left.every((r) => !deleted.some((d) => d.id === r.id)), "every deleted record is gone");
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("Session: buildkitd sees each exposed method as its own header (a joined value is ignored)", async () => {
  for (const joined of [false, true]) {
    const r = await solveWithProbeSession(joined);
    if (joined) {
      assert.equal(r.diffCopyCalls.length, 0);
      assert.match(r.solveError, /no local sources enabled/);
    } else {
      // The daemon called our FileSync: it matched the second method header.
      assert.equal(r.diffCopyCalls[0]?.["dir-name"], "dockerfile");
      assert.match(r.solveError, /probe: no files here/);
      // Status carried the frontend's vertex and its error.
      assert.ok(
        r.vertexes.some((v) => /load build definition/.test(v.name) && /probe: no files here/.test(v.error)),
        JSON.stringify(r.vertexes),
      );
    }
  }
});

Deno.test("the client works the same under Bun (the shipped binary's runtime) and Deno", () => {
  const probe = resolve(import.meta.dirname!, "_bun_client_probe.ts");
  const bun = resolve(import.meta.dirname!, "../../node_modules/.bin/bun");
  for (const [runtime, args] of [[bun, [probe]], [Deno.execPath(), ["run", "-A", probe]]] as const) {
    const res = spawnSync(runtime, args, {
      env: { ...process.env, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(res.status, 0, `${runtime}: ${res.stderr}`);
    checkProbe(JSON.parse(res.stdout));
  }
});

// deno-lint-ignore no-explicit-any
function checkProbe(out: any): void {
  for (const via of ["tcp", "unix", "stream", "mtlsIp", "mtlsName"]) {
    assert.equal(out[via], peers.buildkitVersion, via);
    assert.equal(out[`${via}Build`], peers.buildkitVersion, `${via} (build connection)`);
  }
  for (const via of ["", "Build"]) {
    assert.match(out[`wrongCa${via}`], /tls: certificate verify failed/, via);
    assert.match(
      out[`unreachable${via}`],
      /^timeout 1s: cannot connect to buildkitd tcp:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/,
      via,
    );
  }
  assert.ok(out.workers >= 1);
}

/** A loopback port with nothing listening. */
function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/**
 * Start a Session serving Health and a FileSync stub that fails, then a dockerfile.v0 Solve on it. The session
 * transport here is a minimal stand-in for lib/buildkit/session (not this module's job).
 */
async function solveWithProbeSession(joined: boolean) {
  const client = await connect(tcp);
  const server = new grpc.Server();
  const diffCopyCalls: Record<string, grpc.MetadataValue>[] = [];
  server.addService(grpcService(Health), {
    check: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: 1 }),
  });
  const raw = (b: Buffer) => b;
  const fileSync = {
    diffCopy: {
      path: "/moby.filesync.v1.FileSync/DiffCopy",
      requestStream: true,
      responseStream: true,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  };
  server.addService(fileSync, {
    diffCopy: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      diffCopyCalls.push(call.metadata.getMap());
      call.emit("error", { code: grpc.status.UNAVAILABLE, details: "probe: no files here" });
    },
  });
  const sessionId = randomUUID();
  const methods = ["/grpc.health.v1.Health/Check", "/moby.filesync.v1.FileSync/DiffCopy"];
  const call = client.session({
    "x-docker-expose-session-uuid": sessionId,
    "x-docker-expose-session-sharedkey": "",
    "x-docker-expose-session-grpc-method": joined ? methods.join(", ") : methods,
  });
  server.createConnectionInjector(grpc.ServerCredentials.createInsecure()).injectConnection(
    callToDuplex(call),
  );
  const ref = randomUUID();
  const vertexes: { name: string; error: string }[] = [];
  const status = (async () => {
    try {
      for await (const s of client.status(ref)) {
        for (const v of s.vertexes) vertexes.push({ name: v.name, error: v.error });
      }
    } catch { /* the failed build ends Status with the same error */ }
  })();
  let solveError = "";
  try {
    await client.solve({ ref, session: sessionId, frontend: "dockerfile.v0" });
  } catch (err) {
    solveError = (err as Error).message;
  }
  await status;
  call.end();
  await client.close();
  server.forceShutdown();
  return { diffCopyCalls, solveError, vertexes };
}
