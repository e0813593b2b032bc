/** Docker credential helpers: `docker-credential-<name> get`, server URL on stdin, JSON credentials on stdout. */
import { spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** What a helper returned; `identityToken` is set instead of username/password when it stored a token. */
export interface HelperCredentials {
  username: string;
  password: string;
  identityToken: string;
}

/** Options for {@link helperGet}. */
export interface HelperGetOptions {
  /** Environment of the helper; its PATH is where the helper is looked for. */
  env: Record<string, string | undefined>;
  /** Kill the helper after this long; buildkitd itself gives a credentials call 60 s. */
  timeoutMs?: number;
}

// The helper protocol's fixed strings (docker-credential-helpers): a token is stored under this username, and
// helpers report a missing entry with this message on stdout and a non-zero exit.
const TOKEN_USERNAME = "<token>";
const NOT_FOUND = /credentials not found/i;
const MAX_OUTPUT = 1 << 20;

/** Ask helper `name` for `serverUrl`'s credentials; undefined when it has none. Errors never carry its output's secrets. */
export async function helperGet(
  name: string,
  serverUrl: string,
  opts: HelperGetOptions,
): Promise<HelperCredentials | undefined> {
  const program = `docker-credential-${name}`;
  const path = await findExecutable(program, opts.env.PATH ?? "");
  if (!path) throw new Error(`credential helper ${program} not found in PATH`);
  const res = await run(path, serverUrl, opts);
  if (res.timedOut) throw new Error(`${program} get timed out after ${res.timeoutMs / 1000}s`);
  if (res.error) throw new Error(`${program} get: ${res.error.message}`);
  if (res.code !== 0) {
    if (NOT_FOUND.test(res.stdout) || NOT_FOUND.test(res.stderr)) return undefined;
    const why = firstLine(res.stdout) || firstLine(res.stderr);
    throw new Error(`${program} get failed (exit ${res.code ?? res.signal})${why ? `: ${why}` : ""}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    // Never echo the output: it is meant to hold a secret.
    throw new Error(`${program} get printed something that is not JSON`);
  }
  const o = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, unknown>;
  const username = typeof o.Username === "string" ? o.Username : "";
  const secret = typeof o.Secret === "string" ? o.Secret : "";
  if (username === TOKEN_USERNAME) return { username: "", password: "", identityToken: secret };
  return { username, password: secret, identityToken: "" };
}

/** The first PATH entry holding an executable `program`, or undefined. */
export async function findExecutable(program: string, pathList: string): Promise<string | undefined> {
  for (const dir of pathList.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch { /* next */ }
  }
  return undefined;
}

interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  error?: Error;
  timedOut: boolean;
  timeoutMs: number;
}

// Asynchronous on purpose: a sync spawn would stall the session's health checks while a helper prompts.
function run(path: string, input: string, opts: HelperGetOptions): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 50_000;
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(opts.env).filter(([, v]) => v !== undefined)) as Record<
      string,
      string
    >;
    const child = spawn(path, ["get"], { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (b: Buffer) => {
      size += b.length;
      if (size <= MAX_OUTPUT) into.push(b);
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
      // Its own children may still hold the pipes open; don't wait for them.
      child.stdout.destroy();
      child.stderr.destroy();
      finish(null, "SIGKILL");
    }, timeoutMs);
    let settled = false;
    const finish = (code: number | null, signal: string | null, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text = (bufs: Buffer[]) => Buffer.concat(bufs).toString("utf8");
      resolve({ code, signal, stdout: text(out), stderr: text(err), error, timedOut, timeoutMs });
    };
    // A spawn failure (EACCES, ENOEXEC) may come without a "close"; a normal run always ends with one.
    child.on("error", (e) => finish(null, null, e));
    child.on("close", (code, signal) => finish(code, signal));
    // A helper that exits without reading stdin makes the write fail with EPIPE; its exit status tells the story.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

// One line of a helper's complaint is enough, and a line that looks like a credential record is dropped.
function firstLine(text: string): string {
  const line = text.trim().split("\n", 1)[0].trim();
  if (/secret|password|token/i.test(line) && line.includes("{")) return "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
