import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tar } from "./tar.ts";

Deno.test("tar: GNU tar lists and extracts what we write (modes, owners, a long path)", () => {
  const long = `etc/buildkit/registry/${"h".repeat(90)}/key-0.pem`;
  const bytes = tar([
    { path: "etc/buildkit/", mode: 0o755 },
    {
      path: "etc/buildkit/buildkitd.toml",
      data: new TextEncoder().encode("[worker.oci]\n"),
      mode: 0o644,
      uid: 1000,
      gid: 1000,
    },
    { path: long, data: new Uint8Array(600).fill(7), mode: 0o600 },
  ], 1_700_000_000);
  assert.equal(bytes.length % 512, 0);
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-tar-"));
  try {
    writeFileSync(join(dir, "a.tar"), bytes);
    const list = execFileSync("tar", ["-tvf", join(dir, "a.tar"), "--numeric-owner"], { encoding: "utf8" });
    assert.match(list, /^drwxr-xr-x 0\/0 +0 2023-11-14 \S+ etc\/buildkit\/$/m);
    assert.match(list, /^-rw-r--r-- 1000\/1000 +13 .* etc\/buildkit\/buildkitd.toml$/m);
    assert.match(list, new RegExp(`^-rw------- 0/0 +600 .* ${long}$`, "m"));
    execFileSync("tar", ["-xf", join(dir, "a.tar"), "-C", dir]);
    assert.equal(readFileSync(join(dir, "etc/buildkit/buildkitd.toml"), "utf8"), "[worker.oci]\n");
    assert.equal(statSync(join(dir, long)).size, 600);
    assert.equal(statSync(join(dir, long)).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("tar: a path that cannot be split is refused", () => {
  assert.throws(() => tar([{ path: "x".repeat(300), mode: 0o644 }]), /path too long/);
});
