import assert from "node:assert/strict";
import { targetHost } from "./channel.ts";

Deno.test("targetHost() finds the host of every grpc-js target form", () => {
  assert.equal(targetHost("127.0.0.1:1234"), "127.0.0.1");
  assert.equal(targetHost("buildkitd.internal:8888"), "buildkitd.internal");
  assert.equal(targetHost("[::1]:1234"), "::1");
  assert.equal(targetHost("dns:///example.com:443"), "example.com");
  assert.equal(targetHost("unix:///run/buildkit/buildkitd.sock"), undefined);
  assert.equal(targetHost("localhost"), "localhost");
});
