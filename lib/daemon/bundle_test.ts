import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context } from "../config/types.ts";
import { bundleConfig } from "./bundle.ts";

const base: Context = { name: "c", builder: "docker-container", builderAddress: "bk", runner: "docker" };

Deno.test("bundleConfig reads the named files and hashes config, file contents and arguments", () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-bundle-"));
  try {
    writeFileSync(join(dir, "ca.pem"), "CA1");
    const ctx: Context = { ...base, registry: { "r.example": { ca: [join(dir, "ca.pem")] } } };
    const a = bundleConfig(ctx, "/etc/buildkit", []);
    assert.deepEqual(a.files.map((f) => [f.target, f.data.toString()]), [[
      "/etc/buildkit/registry/r.example/ca-0.pem",
      "CA1",
    ]]);
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    assert.equal(bundleConfig(ctx, "/etc/buildkit", []).hash, a.hash, "stable");
    assert.notEqual(bundleConfig(ctx, "/etc/buildkit", ["--debug"]).hash, a.hash, "arguments count");
    writeFileSync(join(dir, "ca.pem"), "CA2");
    assert.notEqual(bundleConfig(ctx, "/etc/buildkit", []).hash, a.hash, "file contents count");
    assert.notEqual(
      bundleConfig({ ...base, buildkitd: { worker: { oci: { gc: false } } } }, "/etc/buildkit", []).hash,
      a.hash,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("bundleConfig names the key and path of a file it cannot read", () => {
  const ctx: Context = {
    ...base,
    registry: { "r.example": { keypair: [{ key: "/nonexistent/k.pem", cert: "/nonexistent/c.pem" }] } },
  };
  assert.throws(
    () => bundleConfig(ctx, "/etc/buildkit", []),
    /^UserError: context "c": cannot read registry\."r\.example"\.keypair\[0\]\.key "\/nonexistent\/k\.pem": ENOENT/,
  );
});
