/**
 * `du` and `prune` print what the real `buildctl du` / `buildctl prune` print, byte for byte, on a private
 * buildkitd (so no other test's build changes the records between the two calls).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildctlBuildArgs } from "../helpers/buildctl.ts";
import { daemons } from "../helpers/daemons.ts";
import { startPrivateBuildkitd } from "../helpers/private_buildkitd.ts";
import { run } from "../helpers/run.ts";

const peers = daemons();

function buildctl(addr: string, args: string[]): string {
  return execFileSync(peers.buildctl, ["--addr", `tcp://${addr}`, ...args], { encoding: "utf8" });
}

/** A build context of a few sizes (bytes, kB, MB records), built by buildctl. */
function buildSome(addr: string, dir: string): void {
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY small /small\nCOPY big /big\n");
  writeFileSync(join(dir, "small"), "x".repeat(1125));
  writeFileSync(join(dir, "big"), Buffer.alloc(3_456_789, 7));
  execFileSync(peers.buildctl, buildctlBuildArgs(`tcp://${addr}`, dir), { stdio: "ignore" });
}

Deno.test("du, du -v and du --filter are byte-identical to buildctl's on the same daemon", async () => {
  const d = await startPrivateBuildkitd();
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-du-"));
  try {
    buildSome(d.address, dir);
    const file = join(dir, "contexts.toml");
    writeFileSync(file, `current = "p"\n[context.p]\nbuilder = "tcp"\nbuilder-address = "${d.address}"\n`);
    const env = { HOME: dir, ENVD_CONTEXTS_FILE: file };
    for (
      const args of [["du"], ["du", "--verbose"], ["du", "--filter", "type==source.local"], [
        "du",
        "-v",
        "--filter",
        "type==regular",
      ]]
    ) {
      const want = buildctl(d.address, args);
      const got = await run(args, { env });
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, want, `envd-lite ${args.join(" ")}`);
    }
    assert.match(buildctl(d.address, ["du"]), /Total:/, "the comparison saw records");
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("prune --all prints what buildctl prune --all prints for the same records", async () => {
  // Two fresh daemons given the same build: one pruned by buildctl, the other by envd-lite.
  const [a, b] = await Promise.all([startPrivateBuildkitd(), startPrivateBuildkitd()]);
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-prune-"));
  try {
    buildSome(a.address, dir);
    buildSome(b.address, dir);
    const file = join(dir, "contexts.toml");
    writeFileSync(file, `current = "p"\n[context.p]\nbuilder = "tcp"\nbuilder-address = "${b.address}"\n`);
    const want = buildctl(a.address, ["prune", "--all"]);
    const got = await run(["prune", "--all"], { env: { HOME: dir, ENVD_CONTEXTS_FILE: file } });
    assert.equal(got.code, 0, got.stderr);
    // Record ids are random per daemon, and the daemon sends deletions in no fixed order.
    const shape = (s: string) => s.replace(/^[a-z0-9]{25}/gm, "ID").split("\n").sort().join("\n");
    assert.equal(shape(got.stdout), shape(want));
    assert.match(want, /^ID\t/, "buildctl listed deleted records");
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
});
