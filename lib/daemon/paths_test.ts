import assert from "node:assert/strict";
import { socketPath, stateDir } from "./paths.ts";

Deno.test("stateDir: $XDG_STATE_HOME, else ~/.local/state", () => {
  assert.equal(stateDir({ XDG_STATE_HOME: "/x/state", HOME: "/h" }), "/x/state/envd-lite");
  assert.equal(stateDir({ HOME: "/h" }), "/h/.local/state/envd-lite");
  assert.equal(stateDir({ XDG_STATE_HOME: "relative", HOME: "/h" }), "/h/.local/state/envd-lite");
});

Deno.test("socketPath: absolute as is; a bare name under <runtime dir>/buildkit (root: /run)", () => {
  assert.equal(socketPath("/tmp/bk.sock", {}, 1000), "/tmp/bk.sock");
  assert.equal(socketPath("unix:///tmp/bk.sock", {}, 1000), "/tmp/bk.sock");
  assert.equal(
    socketPath("bk.sock", { XDG_RUNTIME_DIR: "/run/user/1000" }, 1000),
    "/run/user/1000/buildkit/bk.sock",
  );
  assert.equal(socketPath("bk.sock", { XDG_RUNTIME_DIR: "/run/user/1000" }, 0), "/run/buildkit/bk.sock");
  assert.throws(
    () => socketPath("bk.sock", {}, 4242),
    /XDG_RUNTIME_DIR is not set and \/run\/user\/4242 does not exist/,
  );
  assert.throws(
    () => socketPath("/" + "s".repeat(120), {}, 0),
    /socket path too long for a unix socket \(121 > 102 bytes\)/,
  );
});
