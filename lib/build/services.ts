/**
 * The session services a plan needs: registry credentials always; secrets, SSH agents and the content store
 * (local caches, oci-layout contexts) when asked for. Everything that can fail is checked before the build.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { CacheSpec } from "../buildkit/solve.ts";
import type { Attachable } from "../buildkit/session/types.ts";
import { UserError } from "../errors.ts";
import { type Descriptor, indexGet, indexPut } from "./oci_index.ts";
import type { BuildPlan } from "./plan.ts";
import type { SshSpec } from "./specs.ts";

/** Where a build's services report. */
export interface ServiceLog {
  debug(message: string): void;
  warn(message: string): void;
}

/** The services of one build, and what to do once it is over. */
export interface Services {
  attachables: Attachable[];
  cacheImports: CacheSpec[];
  /** After a successful solve: tag the exported local caches in their index.json. */
  finish(exporterResponse: Record<string, string>): void;
  /** Stop what was started for the build (a private ssh-agent). */
  close(): void;
}

/** Make the services for `plan`; throws UserError naming the flag when a secret, agent or cache is missing. */
export async function sessionServices(
  plan: BuildPlan,
  env: Record<string, string | undefined>,
  log: ServiceLog,
): Promise<Services> {
  const { authAttachable } = await import("../buildkit/session/auth.ts");
  const { checkSecrets, parseSecretFlag, secretsAttachable } = await import("../buildkit/session/secrets.ts");
  const secrets = plan.secrets.map(parseSecretFlag);
  await checkSecrets(secrets, env);
  const attachables: Attachable[] = [
    authAttachable({ env, log: (m) => log.debug(m), warn: (m) => log.warn(m) }),
    secretsAttachable(secrets, env, { log: (m) => log.debug(m) }),
  ];

  const closers: (() => void)[] = [];
  if (plan.ssh.length) {
    const { sshAttachable } = await import("../buildkit/session/sshforward.ts");
    const agents = await sshAgents(plan.ssh, env, closers);
    attachables.push(sshAttachable(agents, (m) => log.debug(m)));
  }

  // buildkitd names an oci-layout context's store `oci:ID`.
  const stores: Record<string, string> = {};
  for (const [id, dir] of Object.entries(plan.ociStores)) stores[`oci:${id}`] = dir;
  const cacheImports = localCacheImports(plan.cacheImports, stores, log);
  const exportTags: [string, string][] = [];
  for (const c of plan.cacheExports) {
    if (c.type !== "local") continue;
    try {
      mkdirSync(c.attrs.dest, { recursive: true });
    } catch (err) {
      throw new UserError(`cache export to ${c.attrs.dest}: ${(err as Error).message}`);
    }
    stores[`local:${c.attrs.dest}`] = c.attrs.dest;
    exportTags.push([c.attrs.dest, c.attrs.tag ?? "latest"]);
  }
  if (Object.keys(stores).length) {
    const { contentAttachable } = await import("../buildkit/session/content.ts");
    attachables.push(contentAttachable(stores, { log: (m) => log.debug(m) }));
  }
  return {
    attachables,
    cacheImports,
    finish(res) {
      const manifest = res["cache.manifest"];
      if (!manifest || !exportTags.length) return;
      const desc = JSON.parse(manifest) as Descriptor;
      for (const [dir, tag] of exportTags) indexPut(dir, desc, tag);
    },
    close: () => closers.forEach((c) => c()),
  };
}

// buildctl's rule: a local cache is imported by the digest its index.json tags (default `latest`); a missing
// directory or tag only skips it, with a warning.
function localCacheImports(specs: CacheSpec[], stores: Record<string, string>, log: ServiceLog): CacheSpec[] {
  const out: CacheSpec[] = [];
  for (const c of specs) {
    if (c.type !== "local") {
      out.push(c);
      continue;
    }
    const dir = c.attrs.src;
    const attrs = { ...c.attrs };
    if (!attrs.digest) {
      const tag = attrs.tag ?? "latest";
      let desc: Descriptor | undefined;
      try {
        desc = indexGet(dir, tag);
      } catch (err) {
        log.warn(`local cache import at ${dir} skipped: ${(err as Error).message}`);
        continue;
      }
      if (!desc) {
        log.warn(`local cache import at ${dir} skipped: no digest found for tag ${tag}`);
        continue;
      }
      attrs.digest = desc.digest;
    }
    stores[`local:${dir}`] = dir;
    out.push({ type: c.type, attrs });
  }
  return out;
}

// Each --ssh id's agent socket: $SSH_AUTH_SOCK for a bare id, a socket as given, or a private ssh-agent holding
// the given key files (as buildx loads keys into its own agent).
async function sshAgents(
  specs: SshSpec[],
  env: Record<string, string | undefined>,
  closers: (() => void)[],
): Promise<Record<string, string>> {
  const agents: Record<string, string> = {};
  for (const s of specs) {
    if (!s.paths.length) {
      const sock = env.SSH_AUTH_SOCK;
      if (!sock) throw new UserError(`--ssh ${s.id}: SSH_AUTH_SOCK is not set (no agent to forward)`);
      if (!statSync(sock, { throwIfNoEntry: false })?.isSocket()) {
        throw new UserError(`--ssh ${s.id}: SSH_AUTH_SOCK ${sock} is not a socket (is ssh-agent running?)`);
      }
      agents[s.id] = sock;
      continue;
    }
    const sockets = [];
    const keys = [];
    for (const p of s.paths.map((x) => resolve(x))) {
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) throw new UserError(`--ssh ${s.id}: ${p} not found`);
      if (st.isSocket()) sockets.push(p);
      else if (st.isFile()) keys.push(p);
      else throw new UserError(`--ssh ${s.id}: ${p} is neither an agent socket nor a key file`);
    }
    if (sockets.length > 1 || (sockets.length && keys.length)) {
      throw new UserError(`--ssh ${s.id}: give one agent socket or key files, not both`);
    }
    agents[s.id] = sockets[0] ?? await privateAgent(s.id, keys, closers);
  }
  return agents;
}

async function privateAgent(id: string, keys: string[], closers: (() => void)[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-ssh-"));
  const sock = join(dir, "agent.sock");
  let agent;
  try {
    agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
  } catch (err) {
    throw new UserError(`--ssh ${id}: cannot start ssh-agent for key files: ${(err as Error).message}`);
  }
  const stop = () => {
    agent.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  closers.push(stop);
  const spawnErr = new Promise<Error>((r) => agent.once("error", r));
  const deadline = Date.now() + 5000;
  while (!statSync(sock, { throwIfNoEntry: false })?.isSocket()) {
    const e = await Promise.race([
      spawnErr,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)),
    ]);
    if (e) throw new UserError(`--ssh ${id}: cannot start ssh-agent for key files: ${e.message}`);
    if (Date.now() > deadline) throw new UserError(`--ssh ${id}: ssh-agent did not start within 5s`);
  }
  for (const key of keys) {
    const add = spawn("ssh-add", [key], {
      env: { SSH_AUTH_SOCK: sock },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    add.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => add.kill(), 5000);
    const code = await new Promise<number | null>((r) => {
      add.once("error", (e) => ((err = e.message), r(-1)));
      add.once("exit", r);
    });
    clearTimeout(timer);
    if (code !== 0) throw new UserError(`--ssh ${id}: ssh-add ${key}: ${err.trim() || `exit ${code}`}`);
  }
  return sock;
}
