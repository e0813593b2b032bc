/**
 * Builders reached through a helper command (kubectl, nerdctl): a helper that is missing or fails with its own
 * error fails the command at once with its reason; a daemon that is only not listening yet is still waited for.
 * The helpers are stand-in executables on PATH (no cluster or containerd here); the retried case dials the
 * real test buildkitd.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daemons } from "../helpers/daemons.ts";
import { errorOf, run } from "../helpers/run.ts";

const peers = daemons();

/** A HOME whose only context uses `builder` at `address`, and a bin dir first on PATH. */
function setup(builder: string, address: string) {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-helper-"));
  const file = join(dir, "contexts.toml");
  writeFileSync(file, `current = "c"\n[context.c]\nbuilder = "${builder}"\nbuilder-address = "${address}"\n`);
  const env = {
    HOME: dir,
    ENVD_CONTEXTS_FILE: file,
    PATH: `${dir}/bin:/usr/bin:/bin`,
    BUILDKIT_CONNECTING_TIMEOUT: "5s",
  };
  return {
    dir,
    env,
    /** A helper script that logs each start, then runs `body`. */
    helper(name: string, body: string) {
      Deno.mkdirSync(join(dir, "bin"), { recursive: true });
      writeFileSync(join(dir, "bin", name), `#!/bin/sh\necho start >> '${dir}/starts'\n${body}\n`, {
        mode: 0o755,
      });
    },
    starts: () => {
      try {
        return readFileSync(join(dir, "starts"), "utf8").split("\n").filter(Boolean).length;
      } catch {
        return 0;
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

for (
  const [builder, command, address] of [["kube-pod", "kubectl", "pod-0"], [
    "nerdctl-container",
    "nerdctl",
    "bk",
  ]]
) {
  Deno.test(`${builder}: a ${command} failing with its own error fails at once, with its reason`, async () => {
    const s = setup(builder, address);
    try {
      s.helper(command, `echo 'Error: no such object: "${address}"' >&2\nexit 1`);
      const t0 = Date.now();
      const r = await run(["bootstrap"], { env: s.env });
      const elapsed = Date.now() - t0;
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        errorOf(r.stderr)!,
        new RegExp(`${command} exited with code 1: Error: no such object: "${address}"`),
      );
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      // Before the fix the helper was spawned about 23 times over the 5 s connect timeout.
      assert.ok(s.starts() <= 2, `${command} started ${s.starts()} times`);
      assert.ok(elapsed < 4000, `took ${elapsed} ms, i.e. waited for the connect timeout`);
    } finally {
      s.cleanup();
    }
  });

  Deno.test(`${builder}: a missing ${command} fails at once, naming it`, async () => {
    const s = setup(builder, address);
    try {
      // This machine has a real kubectl in /usr/bin: a PATH of only the empty helper dir hides it.
      const r = await run(["bootstrap"], { env: { ...s.env, PATH: `${s.dir}/bin` } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(errorOf(r.stderr)!, new RegExp(`cannot run ${command}: not found on PATH`));
      assert.doesNotMatch(r.stderr, /timeout/);
    } finally {
      s.cleanup();
    }
  });
}

Deno.test("kube-pod: buildctl's 'not listening yet' is retried until the daemon answers", async () => {
  const s = setup("kube-pod", "pod-0");
  try {
    // The first two starts fail as `buildctl dial-stdio` does while buildkitd starts; then the real daemon.
    s.helper(
      "kubectl",
      `n=$(wc -l < '${s.dir}/starts')\nif [ "$n" -le 2 ]; then\n` +
        `  echo 'error: dial unix /run/buildkit/buildkitd.sock: connect: connection refused' >&2; exit 1\nfi\n` +
        `exec '${peers.buildctl}' --addr 'unix://${peers.buildkitUnix}' dial-stdio`,
    );
    const r = await run(["bootstrap"], { env: s.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, new RegExp(peers.buildkitVersion.replace(/\./g, "\\.")));
    assert.ok(s.starts() >= 3, `kubectl started ${s.starts()} times`);
  } finally {
    s.cleanup();
  }
});
