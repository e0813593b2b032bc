/** A throw-away HOME and context for `envd-lite build` tests, the busybox base image, and registry reads. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { dockerApi } from "../../lib/transport/docker_api.ts";
import { daemons } from "./daemons.ts";
import { run, tempHome } from "./run.ts";

export const peers = daemons();
export const REG = peers.registry;
export const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });
const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

/** A HOME whose current context is a tcp builder at `address`, and a context directory holding `files`. */
export async function workspace(files: Record<string, string | Buffer>, address = peers.buildkitTcp) {
  const h = tempHome();
  const c = await run([
    "context",
    "create",
    "--name",
    "t",
    "--builder",
    "tcp",
    "--builder-address",
    address,
    "--use",
  ], { env: h.env });
  assert.equal(c.code, 0, c.stderr);
  const dir = join(h.home, "ctx");
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  const env = { ...h.env, DOCKER_HOST: peers.dockerHost };
  const build = (args: string[], opts: Parameters<typeof run>[1] = {}) =>
    run(["build", "--path", dir, "--progress", "plain", ...args], {
      timeoutMs: 180_000,
      ...opts,
      env: { ...env, ...opts.env },
    });
  return { home: h.home, dir, env, build, [Symbol.dispose]: h.cleanup };
}

/** The busybox rootfs image pushed to the test registry once, as a FROM for RUN steps. */
let base: Promise<string> | undefined;
export function busybox(): Promise<string> {
  base ??= (async () => {
    const repo = `${REG}/envd-lite-build/busybox`;
    await docker.getImage(peers.busyboxImage).tag({ repo, tag: "1" });
    const stream = await docker.getImage(`${repo}:1`).push({ authconfig: { serveraddress: REG } });
    await new Promise<void>((ok, fail) =>
      docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
        const e = err?.message ?? out.find((o) => o.error)?.error;
        e ? fail(new Error(e)) : ok();
      })
    );
    return `${repo}:1`;
  })();
  return base;
}

export async function manifest(
  repo: string,
  tag: string,
): Promise<{ digest: string; doc: Record<string, unknown> }> {
  const res = await fetch(`http://${REG}/v2/${repo}/manifests/${tag}`, { headers: { Accept: ACCEPT } });
  assert.equal(res.status, 200, `${repo}:${tag}`);
  const body = new Uint8Array(await res.arrayBuffer());
  const digest = res.headers.get("docker-content-digest") ?? "";
  assert.equal(digest, "sha256:" + createHash("sha256").update(body).digest("hex"));
  return { digest, doc: JSON.parse(new TextDecoder().decode(body)) };
}

/** Every regular file under `dir` as relative path → sha256. */
export function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile()) {
        out[relative(dir, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
      }
    }
  };
  walk(dir);
  return out;
}
