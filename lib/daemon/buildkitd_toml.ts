/**
 * A context's `[worker.oci]` and `[registry."host"]` tables rendered as the managed daemon's buildkitd.toml, so the
 * contexts file stays the one source of truth. Pure: files the config names are listed, not read.
 *
 * No `[grpc]` table is rendered: a context's `[grpc.tls]` is the client's view of a remote daemon, while managed
 * daemons are reached over a local unix socket (or `buildctl dial-stdio` in their container), where TLS has no
 * meaning; listening addresses come from the `--addr` flag, and debug from `[daemon].flags` (`--debug`).
 */
import type { Context, Duration, GcPolicy, OciWorkerConfig, RegistryConfig, Size } from "../config/types.ts";

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
// Digits only means the user wrote a TOML integer (bytes, or seconds); keep it one, as buildkitd reads both.
const sized = (v: Size | Duration) => (/^\d+$/.test(v.text) ? v.text : str(v.text));

function line(key: string, value: string | undefined): string {
  return value === undefined ? "" : `  ${key} = ${value}\n`;
}

function renderOci(oci: OciWorkerConfig): string {
  let body = "";
  body += line("gc", oci.gc === undefined ? undefined : String(oci.gc));
  body += line("gckeepstorage", oci.gckeepstorage && sized(oci.gckeepstorage));
  body += line("reservedSpace", oci.reservedSpace && sized(oci.reservedSpace));
  body += line("maxUsedSpace", oci.maxUsedSpace && sized(oci.maxUsedSpace));
  body += line("minFreeSpace", oci.minFreeSpace && sized(oci.minFreeSpace));
  body += line("snapshotter", oci.snapshotter && str(oci.snapshotter));
  body += line("platforms", oci.platforms && strs(oci.platforms));
  body += line("max-parallelism", oci.maxParallelism === undefined ? undefined : String(oci.maxParallelism));
  let out = body ? `\n[worker.oci]\n${body}` : "";
  for (const p of oci.gcpolicy ?? []) out += `\n[[worker.oci.gcpolicy]]\n${renderPolicy(p)}`;
  return out;
}

function renderPolicy(p: GcPolicy): string {
  return line("all", p.all === undefined ? undefined : String(p.all)) +
    line("filters", p.filters && strs(p.filters)) +
    line("keepDuration", p.keepDuration && sized(p.keepDuration)) +
    line("keepBytes", p.keepBytes && sized(p.keepBytes)) +
    line("reservedSpace", p.reservedSpace && sized(p.reservedSpace)) +
    line("maxUsedSpace", p.maxUsedSpace && sized(p.maxUsedSpace)) +
    line("minFreeSpace", p.minFreeSpace && sized(p.minFreeSpace));
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

function renderRegistry(host: string, r: RegistryConfig, dir: string, files: DaemonFile[]): string {
  const where = `registry.${str(host)}`;
  const add = (source: string, name: string, secret: boolean, origin: string) => {
    const target = `${dir}/${name}`;
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

/** Renders buildkitd.toml for `ctx`; files it names are placed under `filesDir` as the daemon sees it. */
export function renderBuildkitdToml(ctx: Context, filesDir: string): RenderedConfig {
  const files: DaemonFile[] = [];
  let text = HEADER;
  if (ctx.worker?.oci) text += renderOci(ctx.worker.oci);
  const registries = Object.entries(ctx.registry ?? {});
  const dirs = dirNames(registries.map(([h]) => h));
  for (const [host, r] of registries) {
    text += renderRegistry(host, r, `${filesDir}/registry/${dirs.get(host)}`, files);
  }
  return { text, files };
}
