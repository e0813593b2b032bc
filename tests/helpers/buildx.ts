/**
 * The reference peer: the real buildx v0.38.2 (built by scripts/install_peers) with the remote driver against a
 * test buildkitd, no Docker involved, its config in a temporary DOCKER_CONFIG.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Result, ROOT } from "./run.ts";

export const BUILDX = join(ROOT, ".cache/bin/buildx");

/** A buildx with one remote builder `t` at `address`; `build(args)` runs `buildx build --builder t …`. */
export async function buildx(address: string): Promise<{
  build(args: string[], env?: Record<string, string>, cwd?: string): Promise<Result>;
  [Symbol.dispose](): void;
}> {
  if (!existsSync(BUILDX)) throw new Error(`no ${BUILDX}: run scripts/install_peers`);
  const config = mkdtempSync(join(tmpdir(), "envd-lite-buildx-"));
  const base = { PATH: process.env.PATH ?? "/usr/bin:/bin", DOCKER_CONFIG: config, HOME: config };
  const exec = async (args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Result> => {
    const out = await new Deno.Command(BUILDX, {
      args,
      cwd,
      env: { ...base, ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, signal: null, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const c = await exec(["create", "--name", "t", "--driver", "remote", `tcp://${address}`]);
  if (c.code !== 0) throw new Error(`buildx create: ${c.stderr}`);
  return {
    build: (args, env, cwd) => exec(["build", "--builder", "t", ...args], env, cwd),
    [Symbol.dispose]: () => rmSync(config, { recursive: true, force: true }),
  };
}
