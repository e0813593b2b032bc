/**
 * `serve`: a context's buildkitd on the builder machine, in the foreground (a systemd unit, a container
 * entrypoint): its buildkitd.toml rendered from the context, `[serve]`'s addresses and server certificates as its
 * `[grpc]`, rootless (rootlesskit buildkitd) by default unless run as root.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { constants as os } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { Context } from "../config/types.ts";
import { UserError } from "../errors.ts";
import { renderBuildkitdToml } from "./buildkitd_toml.ts";
import { runtimeDir, stateDir } from "./paths.ts";
import { hostProcMasked } from "./proc_sandbox.ts";
import { workerFlags } from "./workers.ts";

export const DEFAULT_SERVE_ADDRESS = "tcp://0.0.0.0:8888";

/** Everything `serve` runs: the command line, and the config it writes first. */
export interface ServePlan {
  command: string;
  args: string[];
  dir: string;
  configFile: string;
  configText: string;
  addresses: string[];
  rootless: boolean;
  tls: boolean;
  /** Lines for the user before the daemon starts (e.g. no TLS on a public address). */
  warnings: string[];
  /** The daemon's environment: rootlesskit and buildkitd keep runtime state in XDG_RUNTIME_DIR. */
  env: Env;
}

type Env = Record<string, string | undefined>;

function readable(path: string, what: string): string {
  const abs = resolve(path);
  try {
    accessSync(abs, constants.R_OK);
  } catch (err) {
    throw new UserError(`${what} "${path}" cannot be read: ${(err as Error).message.split("\n")[0]}`);
  }
  return abs;
}

const loopback = (addr: string) => /^tcp:\/\/(127\.[\d.]+|localhost|\[::1\])(:\d+)?$/.test(addr);

/** The plan for serving `ctx` as user `uid`; `addresses` (from --addr) replace `[serve].address`. */
export function planServe(ctx: Context, env: Env, uid: number, addresses?: string[]): ServePlan {
  const serve = ctx.serve ?? {};
  const where = `[context.${ctx.name}.serve]`;
  const rootless = serve.rootless ?? uid !== 0;
  if (rootless && uid === 0) {
    throw new UserError(
      `${where} rootless = true runs buildkitd as a user, but this is root; run serve as a user`,
    );
  }
  if (!rootless && uid !== 0) {
    throw new UserError(
      `${where} rootless = false runs buildkitd as root; run serve as root, or drop the key`,
    );
  }
  const addrs = addresses?.length
    ? addresses
    : serve.address?.length
    ? serve.address
    : [DEFAULT_SERVE_ADDRESS];
  for (const a of addrs) {
    if (!/^(tcp|unix):\/\/./.test(a)) {
      throw new UserError(`serve address "${a}": use tcp://HOST:PORT or unix://PATH`);
    }
  }
  if ((serve.cert === undefined) !== (serve.key === undefined)) {
    throw new UserError(`${where}: cert and key go together (the server's certificate and its key)`);
  }
  if (serve.ca && !serve.cert) throw new UserError(`${where}: ca (client verification) needs cert and key`);
  const tls = {
    cert: serve.cert && readable(serve.cert, `${where} cert`),
    key: serve.key && readable(serve.key, `${where} key`),
    ca: serve.ca && readable(serve.ca, `${where} ca`),
  };
  const warnings: string[] = [];
  const open = addrs.filter((a) => a.startsWith("tcp://") && !loopback(a));
  if (!tls.cert && open.length) {
    warnings.push(
      `serving ${
        open.join(", ")
      } without TLS: anyone who reaches it can run builds; set cert/key/ca in ${where}`,
    );
  } else if (tls.cert && !tls.ca && open.length) {
    warnings.push(
      `no ca in ${where}: clients are not asked for a certificate, so anyone who reaches it can run builds`,
    );
  }
  const dir = serve.state
    ? (isAbsolute(serve.state) ? serve.state : resolve(serve.state))
    : join(stateDir(env), "serve", ctx.name);
  const configFile = join(dir, "buildkitd.toml");
  const configText = renderBuildkitdToml(ctx, null, { address: addrs, tls }).text;
  const args = [
    "--config",
    configFile,
    "--root",
    join(dir, "root"),
    // Its own OTEL socket: buildkitd's default is one per user, which another daemon may hold.
    "--otel-socket-path",
    join(dir, "otel.sock"),
    ...workerFlags(ctx),
  ];
  if (rootless && hostProcMasked()) args.push("--oci-worker-no-process-sandbox");
  args.push(...(serve.flags ?? []));
  return {
    command: rootless ? "rootlesskit" : "buildkitd",
    args: rootless ? ["buildkitd", ...args] : args,
    dir,
    configFile,
    configText,
    addresses: addrs,
    rootless,
    tls: Boolean(tls.cert),
    warnings,
    env: rootless && !env.XDG_RUNTIME_DIR ? { ...env, XDG_RUNTIME_DIR: runtimeDir(env, uid) } : env,
  };
}

/**
 * Writes the config and runs the daemon with this process's stdio until it exits; an abort (SIGINT/SIGTERM to
 * envd-lite) is passed on as SIGTERM. Resolves to the daemon's exit code (128+N after signal N).
 */
export async function runServe(plan: ServePlan, signal: AbortSignal): Promise<number> {
  mkdirSync(join(plan.dir, "root"), { recursive: true, mode: 0o700 });
  writeFileSync(plan.configFile, plan.configText, { mode: 0o600 });
  const child = spawn(plan.command, plan.args, { stdio: ["ignore", "inherit", "inherit"], env: plan.env });
  const stop = () => child.kill("SIGTERM");
  signal.addEventListener("abort", stop, { once: true });
  try {
    return await new Promise<number>((res, rej) => {
      child.once("error", (err) =>
        rej(
          new UserError(
            `cannot run ${plan.command}: ${
              (err as NodeJS.ErrnoException).code === "ENOENT" ? "not on PATH" : err.message
            }`,
          ),
        ));
      child.once("exit", (code, sig) => res(code ?? 128 + (sig ? os.signals[sig] : 0)));
    });
  } finally {
    signal.removeEventListener("abort", stop);
  }
}
