import assert from "node:assert/strict";
import { hostPort } from "./h2_channel.ts";

Deno.test("hostPort() reads every target form the drivers produce", () => {
  assert.deepEqual(hostPort("127.0.0.1:1234"), { host: "127.0.0.1", port: 1234 });
  assert.deepEqual(hostPort("buildkitd.internal:8888"), { host: "buildkitd.internal", port: 8888 });
  assert.deepEqual(hostPort("[::1]:1234"), { host: "::1", port: 1234 });
  assert.deepEqual(hostPort("localhost"), { host: "localhost", port: 443 });
  // A bare IPv6 address has colons but no port.
  assert.deepEqual(hostPort("::1"), { host: "::1", port: 443 });
});
