import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { UsageRecordSchema } from "./gen/moby/buildkit/v1/control_pb.ts";
import { GCPolicySchema, WorkerRecordSchema } from "./gen/moby/buildkit/v1/types/worker_pb.ts";
import { formatPlatform, msToNs, toGcPolicy, toInt64, toUsageRecord, toWorker } from "./records.ts";

Deno.test("toGcPolicy() turns nanoseconds into ms and int64 bytes into numbers", () => {
  const p = toGcPolicy(create(GCPolicySchema, {
    keepDuration: 48n * 3600n * 1_000_000_000n,
    reservedSpace: 10_000_000_000n,
    maxUsedSpace: 100_000_000_000n,
    minFreeSpace: 2n ** 52n,
    filters: ["type==source.local"],
  }));
  assert.deepEqual(p, {
    all: false,
    filters: ["type==source.local"],
    keepDurationMs: 172_800_000,
    reservedSpace: 10_000_000_000,
    maxUsedSpace: 100_000_000_000,
    minFreeSpace: 2 ** 52,
  });
  assert.doesNotThrow(() => JSON.stringify(p));
});

Deno.test("toWorker() keeps labels, platforms and the optional version", () => {
  const w = toWorker(create(WorkerRecordSchema, {
    id: "w",
    labels: { a: "1" },
    platforms: [{ os: "linux", architecture: "arm", variant: "v7" }, { os: "linux", architecture: "amd64" }],
  }));
  assert.deepEqual(w.platforms.map(formatPlatform), ["linux/arm/v7", "linux/amd64"]);
  assert.deepEqual(w.labels, { a: "1" });
  assert.equal(w.buildkitVersion, undefined);
});

Deno.test("toUsageRecord() drops Go zero times and falls back to the single parent", () => {
  const r = toUsageRecord(create(UsageRecordSchema, {
    id: "x",
    size: 4096n,
    parent: "p",
    createdAt: { seconds: -62135596800n },
    lastUsedAt: { seconds: 1_700_000_000n, nanos: 500_000_000 },
    usageCount: 3n,
  }));
  assert.equal(r.createdAt, undefined);
  assert.equal(r.lastUsedAt?.toISOString(), "2023-11-14T22:13:20.500Z");
  assert.deepEqual(r.parents, ["p"]);
  assert.equal(r.size, 4096);
  assert.equal(r.usageCount, 3);
});

Deno.test("msToNs() and toInt64() refuse values the wire cannot carry", () => {
  assert.equal(msToNs(1.5), 1_500_000n);
  assert.equal(msToNs(0), 0n);
  assert.throws(() => msToNs(-1), RangeError);
  assert.throws(() => msToNs(Infinity), RangeError);
  assert.equal(toInt64(2 ** 53 - 1), 9007199254740991n);
  assert.throws(() => toInt64(1.5), RangeError);
});
