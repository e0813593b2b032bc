/**
 * A context's buildkitd.toml keys ([worker.oci], [worker.containerd], debug, [dns], [history], ...) and its
 * `[registry."host"]` tables rendered as the managed daemon's buildkitd.toml, so the contexts file stays the one
 * source of truth. Pure: files the config names are listed, not read.
 *
 * `[grpc]` is rendered only for `serve` (its `[serve]` addresses and server certificates): a context's `[grpc.tls]`
 * is the client's view of a remote daemon, while managed daemons are reached over a local unix socket (or
 * `buildctl dial-stdio` in their container), where TLS has no meaning and the listening address is a flag.
 */
import { resolve } from "node:path";
import { renderTables } from "../config/render.ts";
import { CONTEXT_SPEC, type KeySpec } from "../config/schema.ts";
import type { Context, RegistryConfig } from "../config/types.ts";

/** A file the rendered config refers to: copied from `source` (a path on this machine) to `target` (the daemon's view). */
export interface DaemonFile {
  source: string;
  target: string;
  /** Key material: readable by the daemon's user only. */
  secret: boolean;
  /** Where it came from, for error messages: `registry."ghcr.io".ca[0]`. */
  origin: string;
}

export interface RenderedConfig {
  text: string;
  files: DaemonFile[];
}

const HEADER =
  "# buildkitd.toml rendered by envd-lite from the contexts file; edit the context, not this file.\n";

const str = (s: string) => JSON.stringify(s); // a JSON string is a valid TOML basic string
const strs = (a: string[]) => `[${a.map(str).join(", ")}]`;

function line(key: string, value: string | undefined): string {
  return value === undefined ? "" : `  ${key} = ${value}\n`;
}

/** The server side `serve` adds: listening addresses and `[grpc.tls]` certificates (paths on this machine). */
export interface ServeGrpc {
  address: string[];
  tls?: { cert?: string; key?: string; ca?: string };
}

// One directory per registry host; `:` (a port) and other odd characters become `_`, clashes get a suffix.
function dirNames(hosts: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const h of hosts) {
    const base = h.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") || "_";
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    out.set(h, name);
  }
  return out;
}

function renderRegistry(host: string, r: RegistryConfig, dir: string | null, files: DaemonFile[]): string {
  const where = `registry.${str(host)}`;
  const add = (source: string, name: string, secret: boolean, origin: string) => {
    const target = dir === null ? resolve(source) : `${dir}/${name}`;
    files.push({ source, target, secret, origin: `${where}.${origin}` });
    return target;
  };
  let out = `\n[registry.${str(host)}]\n`;
  out += line("mirrors", r.mirrors && strs(r.mirrors));
  out += line("http", r.http === undefined ? undefined : String(r.http));
  out += line("insecure", r.insecure === undefined ? undefined : String(r.insecure));
  out += line("ca", r.ca && strs(r.ca.map((p, i) => add(p, `ca-${i}.pem`, false, `ca[${i}]`))));
  (r.keypair ?? []).forEach((kp, i) => {
    out += `\n  [[registry.${str(host)}.keypair]]\n`;
    out += `  ${line("key", str(add(kp.key, `key-${i}.pem`, true, `keypair[${i}].key`)))}`;
    out += `  ${line("cert", str(add(kp.cert, `cert-${i}.pem`, false, `keypair[${i}].cert`)))}`;
  });
  return out;
}

/**
 * Renders buildkitd.toml for `ctx`; files it names are placed under `filesDir` as the daemon sees it, or, with
 * null, named where they are (absolute), for a daemon on this machine (`serve`, `context buildkitd-toml`).
 */
export function renderBuildkitdToml(
  ctx: Context,
  filesDir: string | null,
  serve?: ServeGrpc,
): RenderedConfig {
  const files: DaemonFile[] = [];
  let text = HEADER;
  if (ctx.buildkitd) text += renderTables([], CONTEXT_SPEC as KeySpec, ctx.buildkitd, { indent: "" });
  if (serve) {
    text += `\n[grpc]\n${line("address", strs(serve.address))}`;
    const tls = serve.tls ?? {};
    if (tls.cert || tls.key || tls.ca) {
      text += `\n  [grpc.tls]\n${line("cert", tls.cert && str(tls.cert))}${
        line("key", tls.key && str(tls.key))
      }${line("ca", tls.ca && str(tls.ca))}`;
    }
  }
  const registries = Object.entries(ctx.registry ?? {});
  const dirs = dirNames(registries.map(([h]) => h));
  for (const [host, r] of registries) {
    text += renderRegistry(
      host,
      r,
      filesDir === null ? null : `${filesDir}/registry/${dirs.get(host)}`,
      files,
    );
  }
  return { text, files };
}
