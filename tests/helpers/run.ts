/** Runs the compiled binary (or `deno run main.ts`) as a user would, in a throw-away HOME. */
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
  /** Another executable to run instead (a peer such as the real envd, or envd-lite under another name). */
  exe?: string;
  /** Sends this signal after the given milliseconds. */
  kill?: { signal: Deno.Signal; afterMs: number };
  timeoutMs?: number;
}

/** Runs envd-lite with `args`; the environment is exactly `env` plus PATH. */
export async function run(args: string[], opts: RunOptions = {}): Promise<Result> {
  const [cmd, pre] = opts.exe
    ? [opts.exe, []]
    : opts.mode === "deno"
    ? [DENO, ["run", "-A", "--quiet", join(ROOT, "main.ts")]]
    : [BIN, []];
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  if (opts.mode === "deno") env.DENO_NO_UPDATE_CHECK = "1";
  // Deno.Command (not node:child_process) reports exit codes after signals faithfully.
  const child = new Deno.Command(cmd, {
    args: [...pre, ...args],
    cwd: opts.cwd ?? ROOT,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const timers = [setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000)];
  if (opts.kill) timers.push(setTimeout(() => child.kill(opts.kill!.signal), opts.kill.afterMs));
  const w = child.stdin.getWriter();
  // With a pending kill the command may be waiting on stdin: keep it open, as a terminal would.
  if (opts.stdin !== undefined || !opts.kill) {
    await w.write(new TextEncoder().encode(opts.stdin ?? "")).catch(() => {});
    await w.close().catch(() => {});
  }
  const out = await output;
  timers.forEach(clearTimeout);
  const dec = new TextDecoder();
  return {
    code: out.signal && out.code === 128 + signalNumber(out.signal) ? null : out.code,
    signal: out.signal as NodeJS.Signals | null,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

function signalNumber(sig: string): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig] ?? 0;
}

/** A fresh HOME with XDG_CONFIG_HOME unset, and the env to use it; `cleanup()` removes it. */
export function tempHome(): {
  home: string;
  env: Record<string, string>;
  configFile: string;
  cleanup(): void;
} {
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

/** What a failed run reported: the `error` of envd's fatal log line (`msg=exit app=… error="…"`), or the text
 * of a usage error's `error: …` line; undefined when stderr holds neither. */
export function errorOf(stderr: string): string | undefined {
  const fatal = /level=fatal msg=exit app=\S+ error=("(?:[^"\\]|\\.)*"|\S*)/.exec(stderr);
  if (fatal) {
    return fatal[1].startsWith('"') ? JSON.parse(fatal[1].replace(/\\x([0-9a-f]{2})/g, "\\u00$1")) : fatal[1];
  }
  return /^error: (.*)$/m.exec(stderr)?.[1];
}
