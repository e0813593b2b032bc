/**
 * Every wait of `envd-lite build` on a peer ends, with one line naming the peer and the cause: a Docker that is
 * not there, one that accepts and never answers, a buildkitd that never speaks. And no runtime warning (Node's
 * url.parse() deprecation from dockerode with a tcp DOCKER_HOST) ever reaches the user, in either way of running.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busybox, workspace } from "../helpers/build_workspace.ts";
import { errorOf, MODES, run } from "../helpers/run.ts";

/** A server on `where` (a unix socket path or 0 for a loopback TCP port) that accepts and never says a word. */
async function silent(
  where: string | 0,
): Promise<{ address: string; [Symbol.asyncDispose](): Promise<void> }> {
  const held: Socket[] = [];
  const server: Server = createServer((c) => void held.push(c));
  await new Promise<void>((r) => (where === 0 ? server.listen(0, "127.0.0.1", r) : server.listen(where, r)));
  const a = server.address();
  return {
    address: typeof a === "string" ? a : `127.0.0.1:${a!.port}`,
    async [Symbol.asyncDispose]() {
      held.forEach((c) => c.destroy());
      await new Promise((r) => server.close(r));
    },
  };
}

const lastLine = (s: string) => s.trim().split("\n").at(-1)!;

Deno.test("--output type=docker and --load with no Docker fail before building, naming Docker and the cause", async () => {
  const from = await busybox();
  using w = await workspace({ "Dockerfile": `FROM ${from}\nRUN echo big enough to fill any pipe buffer\n` });
  for (const args of [["--output", "type=docker"], ["--load", "-t", "x/y:z"]]) {
    const t0 = Date.now();
    const r = await w.build(args, { env: { DOCKER_HOST: "unix:///nonexistent.sock" }, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 15_000, `${args}: took ${Date.now() - t0} ms`);
    assert.equal(
      errorOf(lastLine(r.stderr)),
      "--output type=docker (load): cannot reach Docker at unix:///nonexistent.sock: connect ENOENT /nonexistent.sock",
    );
  }
});

Deno.test("a Docker that accepts and never answers ends the build within seconds, naming it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-silent-"));
  try {
    await using docker = await silent(join(dir, "docker.sock"));
    using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY Dockerfile /\n" });
    const t0 = Date.now();
    const r = await w.build(["--load"], { env: { DOCKER_HOST: `unix://${docker.address}` } });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    assert.match(
      errorOf(lastLine(r.stderr))!,
      /^--output type=docker \(load\): Docker at unix:\/\/.* did not answer within 5s$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a buildkitd address that accepts and never speaks ends within BUILDKIT_CONNECTING_TIMEOUT, naming it", async () => {
  await using bk = await silent(0);
  using w = await workspace({ "Dockerfile": "FROM scratch\n" }, bk.address);
  const t0 = Date.now();
  const r = await w.build(["--output", "type=cacheonly"], { env: { BUILDKIT_CONNECTING_TIMEOUT: "2s" } });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(errorOf(lastLine(r.stderr))!, new RegExp(`buildkitd.*tcp://${bk.address}`));
});

for (const mode of MODES) {
  Deno.test(`no runtime warning reaches stderr (DOCKER_HOST=tcp://…, ${mode}); --debug shows it as a debug line`, async () => {
    using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY Dockerfile /\n" });
    const env = { DOCKER_HOST: "tcp://127.0.0.1:1" };
    const r = await run(["build", "--path", w.dir, "--progress", "quiet"], {
      env: { ...w.env, ...env },
      mode,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning|trace-warnings|\(node:\d+\)/);
    assert.deepEqual(r.stderr.trim().split("\n").map((l) => /level=(\w+)/.exec(l)?.[1]), ["info"]);
    const d = await run(["build", "--debug", "--path", w.dir, "--progress", "quiet"], {
      env: { ...w.env, ...env },
      mode,
    });
    assert.equal(d.code, 0, d.stderr);
    assert.doesNotMatch(d.stderr, /trace-warnings|\(node:\d+\)/);
    // Bun's runtime warns about url.parse(); Deno's does not.
    if (mode === "bin") {
      assert.match(d.stderr, /level=debug msg="runtime warning: DeprecationWarning: `url.parse\(\)`/);
    }
  });
}
