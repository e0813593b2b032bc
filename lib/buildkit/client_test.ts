import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { mkdtempSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeBuildkitd } from "../../tests/helpers/fake_buildkitd.ts";
import { InterruptedError, UserError } from "../errors.ts";
import { connect } from "./client.ts";
import { BuildkitError } from "./errors.ts";
import { type PruneRequest, UsageRecordSchema } from "./gen/moby/buildkit/v1/control_pb.ts";
import type { WorkerRecord } from "./gen/moby/buildkit/v1/types/worker_pb.ts";

const worker = (version?: string): Partial<WorkerRecord> => ({
  id: "w1",
  labels: { "org.mobyproject.buildkit.worker.executor": "oci" },
  platforms: [{
    $typeName: "pb.Platform",
    os: "linux",
    architecture: "amd64",
    variant: "",
    osVersion: "",
    osFeatures: [],
  }],
  gcPolicy: [],
  ...(version
    ? {
      buildkitVersion: {
        $typeName: "moby.buildkit.v1.types.BuildkitVersion",
        package: "p",
        version,
        revision: "r",
        dockerfileVersion: "",
      },
    }
    : {}),
});

Deno.test("info() falls back to ListWorkers' version when Info is UNIMPLEMENTED (v0.10 daemons)", async () => {
  const fake = await startFakeBuildkitd({
    listWorkers: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { record: [worker("v0.10.9")] }),
  });
  const client = await connect({ kind: "address", target: fake.target, display: "unix://fake" });
  try {
    assert.deepEqual(await client.info(), { package: "p", version: "v0.10.9", revision: "r" });
  } finally {
    await client.close();
    await fake.close();
  }
});

Deno.test("info() prefers Info and keeps dockerfileVersion", async () => {
  const fake = await startFakeBuildkitd({
    info: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, {
        buildkitVersion: { package: "p", version: "v0.30.1", revision: "abc", dockerfileVersion: "1.18.0" },
      }),
  });
  const client = await connect({ kind: "address", target: fake.target, display: "unix://fake" });
  try {
    assert.deepEqual(await client.info(), {
      package: "p",
      version: "v0.30.1",
      revision: "abc",
      dockerfileVersion: "1.18.0",
    });
  } finally {
    await client.close();
    await fake.close();
  }
});

Deno.test("prune() sends durations in ns and sizes as int64, and returns every streamed record", async () => {
  let seen: PruneRequest | undefined;
  const fake = await startFakeBuildkitd({
    prune: (call: grpc.ServerWritableStream<PruneRequest, unknown>) => {
      seen = call.request;
      call.write(create(UsageRecordSchema, { id: "a", size: 10n, recordType: "regular" }));
      call.write({ id: "b", size: 5n, parents: ["a"] });
      call.end();
    },
  });
  const client = await connect({ kind: "address", target: fake.target, display: "unix://fake" });
  try {
    const deleted = await client.prune({
      all: true,
      keepDurationMs: 48 * 3600_000,
      reservedSpace: 512 * 1024 * 1024,
      maxUsedSpace: 2 ** 40,
      filters: ["type==source.local"],
    });
    assert.deepEqual(deleted.map((r) => [r.id, r.size, r.parents]), [["a", 10, []], ["b", 5, ["a"]]]);
    assert.equal(seen?.keepDuration, 172_800_000_000_000n);
    assert.equal(seen?.reservedSpace, 536_870_912n);
    assert.equal(seen?.maxUsedSpace, 1_099_511_627_776n);
    assert.equal(seen?.minFreeSpace, 0n);
    assert.equal(seen?.all, true);
    assert.deepEqual(seen?.filter, ["type==source.local"]);
  } finally {
    await client.close();
    await fake.close();
  }
});

Deno.test("waitReady() notices a daemon that starts after polling began, well before a 1 s sleep would", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wait-ready-"));
  const path = join(dir, "late.sock");
  const client = await connect({ kind: "address", target: `unix://${path}`, display: `unix://${path}` });
  let fake: Awaited<ReturnType<typeof startFakeBuildkitd>> | undefined;
  try {
    const t0 = Date.now();
    let up = 0;
    setTimeout(async () => {
      fake = await startFakeBuildkitd({
        listWorkers: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { record: [worker()] }),
      }, path);
      up = Date.now();
    }, 300);
    const workers = await client.waitReady({ timeoutMs: 5000, timeoutText: "5s" });
    assert.equal(workers.length, 1);
    const lag = Date.now() - up;
    assert.ok(up > t0 && lag < 700, `ready ${lag} ms after the daemon came up`);
  } finally {
    await client.close();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("waitReady() times out naming the address, the timeout as written and the last cause", async () => {
  const client = await connect({ kind: "address", target: "127.0.0.1:9", display: "tcp://127.0.0.1:9" });
  try {
    const t0 = Date.now();
    await assert.rejects(client.waitReady({ timeoutMs: 400, timeoutText: "0.4s" }), (err: Error) => {
      assert.ok(err instanceof UserError);
      assert.equal(
        err.message,
        "timeout 0.4s: cannot connect to buildkitd tcp://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9",
      );
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 380 && took < 1000, `took ${took} ms`);
  } finally {
    await client.close();
  }
});

Deno.test("waitReady() keeps polling a daemon with no workers and says so", async () => {
  const fake = await startFakeBuildkitd({
    listWorkers: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { record: [] }),
  });
  const client = await connect({ kind: "address", target: fake.target, display: "unix://fake" });
  try {
    await assert.rejects(client.waitReady({ timeoutMs: 300, timeoutText: "300ms" }), {
      message: "timeout 300ms: buildkitd unix://fake has no workers yet",
    });
  } finally {
    await client.close();
    await fake.close();
  }
});

Deno.test("waitReady() stops at once when aborted", async () => {
  const client = await connect({ kind: "address", target: "127.0.0.1:9", display: "tcp://127.0.0.1:9" });
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    await assert.rejects(client.waitReady({ timeoutMs: 5000, signal: ac.signal }), InterruptedError);
    assert.ok(Date.now() - t0 < 1000);
  } finally {
    await client.close();
  }
});

Deno.test("a stream endpoint is dialed per connection, and its open() failure is the reported cause", async () => {
  const fake = await startFakeBuildkitd({
    listWorkers: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { record: [worker("v0.29.0")] }),
  });
  let opens = 0;
  const good = await connect({
    kind: "stream",
    display: "docker-container://fake",
    open: () => {
      opens++;
      return Promise.resolve(netConnect(fake.path));
    },
  });
  const bad = await connect({
    kind: "stream",
    display: "docker-container://gone",
    open: () => Promise.reject(new Error("container gone is not running")),
  });
  try {
    assert.equal((await good.info()).version, "v0.29.0");
    assert.equal((await good.listWorkers()).length, 1);
    assert.equal(opens, 1, "one connection carries every call");
    await assert.rejects(bad.listWorkers(), (err: Error) => {
      assert.ok(err instanceof BuildkitError);
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.equal(
        err.message,
        "cannot connect to buildkitd docker-container://gone: container gone is not running",
      );
      return true;
    });
  } finally {
    await good.close();
    await bad.close();
    await fake.close();
  }
});

Deno.test("session() sends array metadata values as separate HTTP/2 header fields", async () => {
  // A raw HTTP/2 server: grpc-js's own server would hand back one comma-joined value either way.
  const dir = mkdtempSync(join(tmpdir(), "session-md-"));
  const path = join(dir, "h2.sock");
  let raw: string[] = [];
  const server = http2.createServer();
  server.on(
    "stream",
    (stream: http2.ServerHttp2Stream, _h: http2.IncomingHttpHeaders, _f: number, rawHeaders: string[]) => {
      raw = rawHeaders;
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end();
    },
  );
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = await connect({ kind: "address", target: `unix://${path}`, display: "unix://h2" });
  try {
    const call = client.session({
      "x-docker-expose-session-uuid": "s1",
      "x-docker-expose-session-grpc-method": [
        "/grpc.health.v1.Health/Check",
        "/moby.filesync.v1.FileSync/DiffCopy",
      ],
    });
    call.end();
    await new Promise((resolve) => {
      call.on("status", resolve);
      call.resume();
    });
    const methods = raw.filter((_, i) => i % 2 === 1 && raw[i - 1] === "x-docker-expose-session-grpc-method");
    assert.deepEqual(methods, ["/grpc.health.v1.Health/Check", "/moby.filesync.v1.FileSync/DiffCopy"]);
  } finally {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("calls after close() fail with a clear error", async () => {
  const client = await connect({ kind: "address", target: "127.0.0.1:9", display: "tcp://127.0.0.1:9" });
  await client.close();
  await client.close();
  await assert.rejects(client.info(), { message: "client for buildkitd tcp://127.0.0.1:9 is closed" });
});
