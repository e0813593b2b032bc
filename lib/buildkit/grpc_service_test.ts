import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Control, PruneRequestSchema, SolveRequestSchema } from "./gen/moby/buildkit/v1/control_pb.ts";
import { Health } from "./gen/grpc/health/v1/health_pb.ts";
import { grpcMethod, grpcService, methodPath } from "./grpc_service.ts";

Deno.test("methodPath() is the wire path buildkitd serves", () => {
  assert.equal(methodPath(Control.method.listWorkers), "/moby.buildkit.v1.Control/ListWorkers");
  assert.equal(methodPath(Health.method.check), "/grpc.health.v1.Health/Check");
});

Deno.test("grpcService() marks streaming directions and keys methods by local name", () => {
  const def = grpcService(Control);
  assert.deepEqual(Object.keys(def).sort(), [
    "diskUsage",
    "info",
    "listWorkers",
    "prune",
    "session",
    "solve",
    "status",
  ]);
  assert.deepEqual([def.prune.requestStream, def.prune.responseStream], [false, true]);
  assert.deepEqual([def.session.requestStream, def.session.responseStream], [true, true]);
  assert.deepEqual([def.info.requestStream, def.info.responseStream], [false, false]);
});

Deno.test("serializers accept plain objects and created messages alike", () => {
  const m = grpcMethod(Control.method.prune);
  const plain = m.requestSerialize({ all: true, keepDuration: 5n, filter: ["a"] });
  const made = m.requestSerialize(create(PruneRequestSchema, { all: true, keepDuration: 5n, filter: ["a"] }));
  assert.ok(Buffer.isBuffer(plain));
  assert.deepEqual(plain, made);
  assert.deepEqual(m.requestDeserialize(plain).filter, ["a"]);
});

Deno.test("SolveRequest puts the fields on the numbers buildkitd reads", () => {
  const bytes = toBinary(
    SolveRequestSchema,
    create(SolveRequestSchema, {
      ref: "r",
      exporterDeprecated: "image",
      session: "s",
      frontend: "dockerfile.v0",
      exporters: [{ type: "image" }],
    }),
  );
  const str = (tag: number, v: string) => [tag, v.length, ...new TextEncoder().encode(v)];
  // tag = field number << 3 | 2 (length-delimited): ref 1, exporter 3, session 5, frontend 6, exporters 13
  const expected = [
    ...str(0x0a, "r"),
    ...str(0x1a, "image"),
    ...str(0x2a, "s"),
    ...str(0x32, "dockerfile.v0"),
    0x6a,
    7,
    ...str(0x0a, "image"),
  ];
  assert.deepEqual([...bytes], expected);
  assert.equal(fromBinary(SolveRequestSchema, bytes).exporters[0].type, "image");
});
