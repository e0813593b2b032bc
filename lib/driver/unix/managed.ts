/**
 * A unix context with a `[daemon]` table: envd-lite runs buildkitd on this machine itself, as the invoking user
 * (`rootlesskit buildkitd` when rootless, plain `buildkitd` as root), with its socket at the builder address.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { spawnSync } from "node:child_process";
import type { Context } from "../../config/types.ts";
import { bundleConfig, type ConfigBundle } from "../../daemon/bundle.ts";
import {
  daemonStatus,
  type HostDaemon,
  isAlive,
  logFile,
  logTail,
  startDaemon,
  stopDaemon,
} from "../../daemon/host_process.ts";
import { runtimeDir, socketPath, stateDir } from "../../daemon/paths.ts";
import { tellingLines } from "../../daemon/log_lines.ts";
import { hostProcMasked } from "../../daemon/proc_sandbox.ts";
import { envTimeout } from "../../daemon/timeouts.ts";
import { workerFlags } from "../../daemon/workers.ts";
import { UserError } from "../../errors.ts";
import type { BootstrapOptions, BootstrapResult, ControlResult, DriverEnv } from "../types.ts";

/** Everything about one host daemon, derived from the context and this user. */
export interface HostPlan {
  socket: string;
  daemon: HostDaemon;
  root: string;
  configFile: string;
  command: string;
  args: string[];
  rootless: boolean;
  /** The rendered config and the files it names; read on first use, so stop and rm work when a file is gone. */
  bundle(): ConfigBundle;
}

const uid = () => process.getuid?.() ?? 0;

/** The socket a managed unix context's daemon listens on. */
export function managedSocket(context: Context, env: DriverEnv): string {
  return socketPath(context.builderAddress, env.env, uid());
}

/** The daemon, files and command line for `context`; reads the files its config names. */
export function planHost(context: Context, env: DriverEnv): HostPlan {
  const rootless = context.daemon?.rootless ?? false;
  if (rootless && uid() === 0) {
    throw new UserError(
      `context "${context.name}": rootless = true runs buildkitd as a non-root user, but this is root; set rootless = false or run as a user`,
    );
  }
  if (!rootless && uid() !== 0) {
    throw new UserError(
      `context "${context.name}": rootless = false starts buildkitd as root; run as root, or set rootless = true in [context.${context.name}.daemon]`,
    );
  }
  const dir = join(stateDir(env.env), "daemons", context.name);
  const state = context.daemon?.state;
  const root = state ? (isAbsolute(state) ? state : join(dir, state)) : join(dir, "root");
  const configFile = join(dir, "buildkitd.toml");
  const socket = managedSocket(context, env);
  // buildkitd's default OTEL socket is one per user (or /run/buildkit for root): two daemons would take it from each other.
  const args = [
    "--addr",
    `unix://${socket}`,
    "--otel-socket-path",
    `${socket}.otel`,
    "--root",
    root,
    "--config",
    configFile,
  ];
  args.push(...workerFlags(context));
  if (rootless) {
    const masked = hostProcMasked();
    if (masked) {
      env.debug?.(
        `${masked} is masked, so build steps cannot get their own /proc: adding --oci-worker-no-process-sandbox`,
      );
      args.push("--oci-worker-no-process-sandbox");
    }
  }
  args.push(...(context.daemon?.flags ?? []));
  let bundle: ConfigBundle | undefined;
  return {
    socket,
    daemon: { dir, marker: configFile },
    root,
    configFile,
    command: rootless ? "rootlesskit" : "buildkitd",
    args: rootless ? ["buildkitd", ...args] : args,
    rootless,
    bundle: () => (bundle ??= bundleConfig(context, join(dir, "files"), args)),
  };
}

/** True when something accepts connections on the socket. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function which(name: string, env: Record<string, string | undefined>): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch { /* next */ }
  }
  return undefined;
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n");
  } catch {
    return [];
  }
}

// By uid from /etc/passwd: os.userInfo() trusts $USER under Bun, which a clean environment may lack.
function userName(): string | undefined {
  return readLines("/etc/passwd").find((l) => l.split(":")[2] === String(uid()))?.split(":")[0];
}

function checkTools(plan: HostPlan, env: Record<string, string | undefined>): void {
  if (!which("buildkitd", env)) {
    throw new UserError(
      "buildkitd is not on PATH: install BuildKit (https://github.com/moby/buildkit/releases)",
    );
  }
  if (!plan.rootless) return;
  if (!which("rootlesskit", env)) {
    throw new UserError(
      "rootlesskit is not on PATH: install it (Debian/Ubuntu: apt install rootlesskit uidmap)",
    );
  }
  const name = userName();
  const names = [String(uid()), ...(name ? [name] : [])];
  const who = name ?? `uid ${uid()}`;
  for (const f of ["/etc/subuid", "/etc/subgid"]) {
    if (!readLines(f).some((l) => names.includes(l.split(":")[0]))) {
      throw new UserError(
        `rootless buildkitd needs subordinate ids for user ${who} in ${f} (e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${
          name ?? "USER"
        })`,
      );
    }
  }
}

function writeConfig(plan: HostPlan): void {
  mkdirSync(plan.daemon.dir, { recursive: true, mode: 0o700 });
  rmSync(join(plan.daemon.dir, "files"), { recursive: true, force: true });
  for (const f of plan.bundle().files) {
    mkdirSync(dirname(f.target), { recursive: true, mode: 0o700 });
    writeFileSync(f.target, f.data, { mode: f.secret ? 0o600 : 0o644 });
  }
  writeFileSync(plan.configFile, plan.bundle().toml, { mode: 0o644 });
  writeFileSync(join(plan.daemon.dir, "config.hash"), plan.bundle().hash + "\n");
}

function startedHash(plan: HostPlan): string | undefined {
  try {
    return readFileSync(join(plan.daemon.dir, "config.hash"), "utf8").trim();
  } catch {
    return undefined;
  }
}

const label = (plan: HostPlan) => (plan.rootless ? "rootless buildkitd" : "buildkitd");

/** Start the daemon unless it runs; see the module comment. */
export async function bootstrapHost(
  context: Context,
  env: DriverEnv,
  opts: BootstrapOptions = {},
): Promise<BootstrapResult> {
  const plan = planHost(context, env);
  const st = daemonStatus(plan.daemon);
  if (st.running) {
    if (!opts.recreate) {
      let hash: string;
      try {
        hash = plan.bundle().hash;
      } catch (err) {
        return {
          created: false,
          started: false,
          message: `cannot compare ${label(plan)} with context "${context.name}": ${(err as Error).message}`,
        };
      }
      if (startedHash(plan) === hash) return { created: false, started: false };
      return {
        created: false,
        started: false,
        message: `${
          label(plan)
        } (pid ${st.pid}) runs with another configuration than context "${context.name}" gives; nothing was changed: run \`envd-lite bootstrap --recreate\` to restart it with the context's (its cache is kept)`,
      };
    }
    env.log(
      `restarting ${
        label(plan)
      } (pid ${st.pid}) with context "${context.name}"'s configuration; its cache is kept`,
    );
    await stopDaemon(plan.daemon);
  } else if (st.stalePid !== undefined) {
    env.debug?.(
      `removing stale pid file ${join(plan.daemon.dir, "pid")} (pid ${st.stalePid} is not our buildkitd)`,
    );
  }
  const answers = await socketAnswers(plan.socket);
  if (!answers && opts.existing && !existsSync(plan.root)) {
    return { created: false, started: false, absent: `${label(plan)} was never started (no ${plan.root})` };
  }
  if (answers) {
    if (opts.recreate) {
      throw new UserError(`a daemon not started by envd-lite listens on ${plan.socket}; stop it first`);
    }
    env.debug?.(`a daemon not started by envd-lite already listens on ${plan.socket}; using it`);
    return { created: false, started: false };
  }
  checkTools(plan, env.env);
  writeConfig(plan);
  mkdirSync(dirname(plan.socket), { recursive: true, mode: 0o700 });
  for (const f of [plan.socket, `${plan.socket}.otel`]) rmSync(f, { force: true }); // a dead daemon's sockets
  mkdirSync(plan.root, { recursive: true, mode: 0o700 });
  env.log(`starting ${label(plan)} at unix://${plan.socket} (log: ${logFile(plan.daemon)})`);
  const childEnv = { ...env.env };
  if (plan.rootless) {
    // rootlesskit and buildkitd keep their runtime state there.
    if (!childEnv.XDG_RUNTIME_DIR) childEnv.XDG_RUNTIME_DIR = runtimeDir(env.env, uid());
    // buildkitd takes its rootless defaults (e.g. the OTEL socket under XDG_RUNTIME_DIR) only when $USER names a non-root user.
    if (!childEnv.USER || childEnv.USER === "root") childEnv.USER = userName() ?? `uid${uid()}`;
  }
  let pid: number;
  try {
    pid = await startDaemon(plan.daemon, plan.command, plan.args, childEnv);
  } catch (err) {
    throw new UserError(`cannot start ${plan.command}: ${(err as Error).message}`, { cause: err });
  }
  await waitListening(plan, pid, envTimeout(env.env, "BUILDKIT_CONNECTING_TIMEOUT", "5s").ms, opts.signal);
  return { created: true, started: true };
}

// Until the socket accepts connections, or the daemon dies (an error with its log), or time runs out (then the
// caller's readiness wait reports).
async function waitListening(plan: HostPlan, pid: number, ms: number, signal?: AbortSignal): Promise<void> {
  for (let end = Date.now() + ms, pause = 10; Date.now() < end; pause = Math.min(pause * 2, 100)) {
    signal?.throwIfAborted();
    if (await socketAnswers(plan.socket)) return;
    if (!isAlive(pid)) {
      const tail = tellingLines(logTail(plan.daemon, 200), 4).join(" | ");
      throw new UserError(`${label(plan)} exited at start; last log lines: ${tail || "(none)"}`);
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** `builder stop`: ends the daemon this user started for the context. */
export async function stopHost(context: Context, env: DriverEnv): Promise<ControlResult> {
  const plan = planHost(context, env);
  const st = daemonStatus(plan.daemon);
  if (!(await stopDaemon(plan.daemon))) {
    return { changed: false, message: `${label(plan)} for context "${context.name}" is not running` };
  }
  for (const f of [plan.socket, `${plan.socket}.otel`]) rmSync(f, { force: true });
  return {
    changed: true,
    message: `${label(plan)} (pid ${st.running ? st.pid : "?"}) at unix://${plan.socket} is stopped`,
  };
}

/** `builder rm`: stop, forget the rendered config, and delete the cache unless `keepState`. */
export async function removeHost(
  context: Context,
  env: DriverEnv,
  keepState: boolean,
): Promise<ControlResult> {
  const plan = planHost(context, env);
  const stopped = await stopDaemon(plan.daemon);
  for (const f of [plan.socket, `${plan.socket}.otel`]) rmSync(f, { force: true });
  for (const f of ["buildkitd.toml", "files", "config.hash", "pid"]) {
    rmSync(join(plan.daemon.dir, f), { recursive: true, force: true });
  }
  const what = `${label(plan)} for context "${context.name}" ${
    stopped ? "is stopped and removed" : "is removed"
  }`;
  if (keepState) return { changed: true, message: `${what}; its cache ${plan.root} is kept` };
  removeTree(plan, env);
  return { changed: true, message: `${what}; its cache ${plan.root} is deleted` };
}

// Rootless buildkitd's files belong to the user's subordinate ids: only inside its user namespace can they go.
function removeTree(plan: HostPlan, env: DriverEnv): void {
  const r = plan.rootless
    ? spawnSync("rootlesskit", ["rm", "-rf", "--", plan.root], {
      env: env.env as NodeJS.ProcessEnv,
      encoding: "utf8",
    })
    : undefined;
  if (r && r.status !== 0) {
    throw new UserError(
      `cannot delete ${plan.root}: rootlesskit rm: ${
        (r.stderr || r.error?.message || "").trim().split("\n").pop()
      }`,
    );
  }
  rmSync(plan.root, { recursive: true, force: true });
}

/** Why the daemon may not answer: not running, or its last log lines. */
export function diagnoseHost(context: Context, env: DriverEnv): string | undefined {
  const plan = planHost(context, env);
  const st = daemonStatus(plan.daemon);
  const tail = tellingLines(logTail(plan.daemon, 200), 4).join(" | ");
  const state = st.running ? `${label(plan)} (pid ${st.pid}) runs` : `${label(plan)} is not running`;
  return tail ? `${state}; last log lines (${logFile(plan.daemon)}): ${tail}` : state;
}
