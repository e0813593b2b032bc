import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context } from "../config/types.ts";
import { planServe } from "./serve.ts";

const base: Context = { name: "s", builder: "tcp", builderAddress: "h:1", runner: "docker" };
const env = { HOME: "/home/u", XDG_RUNTIME_DIR: "/run/user/1000" };

Deno.test("planServe: rootless unless root; root runs plain buildkitd; the other way round is refused", () => {
  const user = planServe(base, env, 1000);
  assert.equal(user.command, "rootlesskit");
  assert.equal(user.args[0], "buildkitd");
  assert.equal(user.rootless, true);
  assert.equal(user.configFile, "/home/u/.local/state/envd-lite/serve/s/buildkitd.toml");
  assert.deepEqual(user.addresses, ["tcp://0.0.0.0:8888"]);
  const root = planServe(base, env, 0);
  assert.equal(root.command, "buildkitd");
  assert.ok(root.args.includes("--oci-worker=true"));
  assert.throws(() => planServe({ ...base, serve: { rootless: true } }, env, 0), /this is root/);
  assert.throws(
    () => planServe({ ...base, serve: { rootless: false } }, env, 1000),
    /runs buildkitd as root/,
  );
});

Deno.test("planServe: --addr wins over [serve].address; TLS files must be readable and paired; warnings", () => {
  const dir = mkdtempSync(join(tmpdir(), "serve-plan-"));
  try {
    for (const f of ["c.pem", "k.pem", "ca.pem"]) writeFileSync(join(dir, f), "x");
    const s = { cert: join(dir, "c.pem"), key: join(dir, "k.pem"), ca: join(dir, "ca.pem") };
    const p = planServe({ ...base, serve: { ...s, address: ["tcp://0.0.0.0:1"] } }, env, 0, [
      "tcp://127.0.0.1:2",
    ]);
    assert.deepEqual(p.addresses, ["tcp://127.0.0.1:2"]);
    assert.match(p.configText, /\[grpc\]\n {2}address = \["tcp:\/\/127\.0\.0\.1:2"\]/);
    assert.match(
      p.configText,
      /\[grpc\.tls\]\n {2}cert = ".*c\.pem"\n {2}key = ".*k\.pem"\n {2}ca = ".*ca\.pem"/,
    );
    assert.deepEqual(p.warnings, []);
    assert.throws(() => planServe({ ...base, serve: { cert: s.cert } }, env, 0), /cert and key go together/);
    assert.throws(
      () => planServe({ ...base, serve: { cert: s.cert, key: join(dir, "nope") } }, env, 0),
      /\[context\.s\.serve\] key ".*nope" cannot be read/,
    );
    assert.match(planServe(base, env, 0).warnings[0], /serving tcp:\/\/0\.0\.0\.0:8888 without TLS/);
    assert.deepEqual(planServe(base, env, 0, ["tcp://127.0.0.1:9"]).warnings, []);
    assert.throws(() => planServe(base, env, 0, ["0.0.0.0:1"]), /use tcp:\/\/HOST:PORT or unix:\/\/PATH/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
