import assert from "node:assert/strict";
import type { Context } from "../config/types.ts";
import { workerFlags } from "./workers.ts";

const ctx = (worker?: Record<string, unknown>): Context => ({
  name: "c",
  builder: "unix",
  builderAddress: "s",
  runner: "docker",
  ...(worker ? { buildkitd: { worker } } : {}),
});

Deno.test("workerFlags: OCI alone by default; containerd when its table is present; enabled keys decide", () => {
  assert.deepEqual(workerFlags(ctx()), ["--oci-worker=true", "--containerd-worker=false"]);
  assert.deepEqual(workerFlags(ctx({ oci: { gc: true } })), [
    "--oci-worker=true",
    "--containerd-worker=false",
  ]);
  assert.deepEqual(workerFlags(ctx({ containerd: {} })), ["--oci-worker=false", "--containerd-worker=true"]);
  assert.deepEqual(workerFlags(ctx({ containerd: { enabled: false } })), [
    "--oci-worker=true",
    "--containerd-worker=false",
  ]);
  assert.deepEqual(workerFlags(ctx({ containerd: {}, oci: { enabled: true } })), [
    "--oci-worker=true",
    "--containerd-worker=true",
  ]);
});
