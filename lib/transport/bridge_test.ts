import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { openBridge } from "./bridge.ts";

const socketPath = (target: string) => fileURLToPath(target.replace(/^unix:\/\//, "file://"));

/** Send `text`, half-close, and collect the reply until the bridge closes the connection (reset or not). */
function roundTrip(path: string, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(path, () => s.end(text));
    let out = "";
    s.on("data", (d) => (out += d));
    s.on("close", () => resolve(out));
    s.on("error", () => {});
  });
}

Deno.test("openBridge() pipes each accepted connection to a fresh stream, and close() removes the socket", async () => {
  // An echo server stands in for buildkitd behind `dial-stdio`.
  const peers: Socket[] = [];
  const echo = createServer((s) => (peers.push(s), s.pipe(s)));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  const port = (echo.address() as { port: number }).port;
  let opens = 0;
  const bridge = await openBridge(() => (opens++, Promise.resolve(connect(port, "127.0.0.1"))));
  const path = socketPath(bridge.target);
  try {
    assert.equal(await roundTrip(path, "ping"), "ping");
    assert.equal(await roundTrip(path, "pong"), "pong");
    assert.equal(opens, 2);
    assert.equal(bridge.lastError, undefined);
  } finally {
    await bridge.close();
    await new Promise((r) => echo.close(r));
  }
  assert.equal(existsSync(path), false);
});

Deno.test("openBridge() records why open() failed and drops the connection", async () => {
  const bridge = await openBridge(() => Promise.reject(new Error("container x is not running")));
  try {
    assert.equal(await roundTrip(socketPath(bridge.target), "hello"), "");
    assert.equal(bridge.lastError?.message, "container x is not running");
  } finally {
    await bridge.close();
  }
});
