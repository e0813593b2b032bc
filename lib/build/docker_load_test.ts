/** The docker-load writer never waits forever: an unreachable Docker and one that accepts but stalls both fail. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerApi } from "../transport/docker_api.ts";
import { dockerLoadWriter } from "./docker_load.ts";

/** Write 32 MiB (far more than any buffer) into the writer; resolves with the error it failed with. */
async function feed(w: ReturnType<typeof dockerLoadWriter>): Promise<Error | undefined> {
  const chunk = Buffer.alloc(1024 * 1024);
  return await new Promise((resolve) => {
    w.once("error", resolve);
    w.once("finish", () => resolve(undefined));
    (async () => {
      for (let i = 0; i < 32; i++) {
        if (!w.write(chunk)) await new Promise((r) => w.once("drain", r));
        if (w.destroyed) return;
      }
      w.end();
    })();
  });
}

Deno.test("docker load to an unreachable Docker fails at once, naming it and the cause", async () => {
  const api = dockerApi({ DOCKER_HOST: "unix:///nonexistent/docker.sock" });
  const t0 = Date.now();
  const err = await feed(dockerLoadWriter(api, () => {}, 60_000));
  assert.ok(Date.now() - t0 < 5000);
  assert.match(
    String(err?.message),
    /^docker load \(Docker at unix:\/\/\/nonexistent\/docker\.sock\): .*ENOENT/,
  );
});

Deno.test("docker load to a Docker that accepts and never reads fails after the idle limit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-stall-"));
  const sock = join(dir, "docker.sock");
  const held: Socket[] = [];
  const server = createServer((c) => {
    c.pause();
    held.push(c);
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const t0 = Date.now();
    const err = await feed(dockerLoadWriter(dockerApi({ DOCKER_HOST: `unix://${sock}` }), () => {}, 500));
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    assert.match(String(err?.message), /Docker at unix:\/\/.*did not read or answer for 0.5s/);
  } finally {
    held.forEach((c) => c.destroy());
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
