/** Runs the compiled binary (or `deno run main.ts`) as a user would, in a throw-away HOME. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname!, "../..");
export const BIN = process.env.ENVD_LITE_BIN ?? join(ROOT, "dist/envd-lite");
const DENO = join(ROOT, "node_modules/.bin/deno");

export type Mode = "bin" | "deno";

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  mode?: Mode;
  /** Sends this signal after the given milliseconds. */
  kill?: { signal: NodeJS.Signals; afterMs: number };
  timeoutMs?: number;
}

/** Runs envd-lite with `args`; the environment is exactly `env` plus PATH. */
export function run(args: string[], opts: RunOptions = {}): Promise<Result> {
  const [cmd, pre] = opts.mode === "deno" ? [DENO, ["run", "-A", "--quiet", join(ROOT, "main.ts")]] : [BIN, []];
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  if (opts.mode === "deno") env.DENO_NO_UPDATE_CHECK = "1";
  return new Promise((done, fail) => {
    const child = spawn(cmd, [...pre, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", fail);
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    if (opts.kill) setTimeout(() => child.kill(opts.kill!.signal), opts.kill.afterMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
    else child.stdin.end();
  });
}

/** A fresh HOME with XDG_CONFIG_HOME unset, and the env to use it; `cleanup()` removes it. */
export function tempHome(): { home: string; env: Record<string, string>; configFile: string; cleanup(): void } {
  const home = mkdtempSync(join(tmpdir(), "envd-lite-test-"));
  return {
    home,
    env: { HOME: home },
    configFile: join(home, ".config/envd/contexts.toml"),
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** Both ways a user runs envd-lite: the compiled binary and `deno run main.ts`. */
export const MODES: Mode[] = ["bin", "deno"];
