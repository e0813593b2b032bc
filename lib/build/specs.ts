/** Parsing of `build`'s flag values (buildctl's, envd's and buildx's forms); each error names its flag. */
import type { CacheSpec } from "../buildkit/solve.ts";
import { UsageError } from "../errors.ts";

/** One --output: the exporter, and where its result goes on this side. */
export interface OutputPlan {
  type: string;
  /** Attrs for buildkitd (client-side keys such as `dest` removed). */
  attrs: Record<string, string>;
  /** `-` for stdout, else a path (a file for oci/docker/tar, a directory for local). */
  dest?: string;
  /** type=docker without dest: load the tarball into the runner's Docker. */
  load?: boolean;
}

// `cacheonly` (docker buildx): no export, the result stays in buildkitd's cache.
const OUTPUT_TYPES = ["image", "registry", "docker", "oci", "tar", "local", "cacheonly"];

/** Split a buildctl-style CSV value: commas separate fields, double quotes protect them. */
export function splitCsv(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      if (quoted && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (quoted) throw new UsageError(`unterminated quote in "${text}"`);
  out.push(cur);
  return out;
}

function fields(flag: string, text: string): { attrs: Record<string, string>; bare: string[] } {
  const attrs: Record<string, string> = {};
  const bare: string[] = [];
  for (const f of splitCsv(text)) {
    if (f === "") continue;
    const eq = f.indexOf("=");
    if (eq === -1) bare.push(f);
    else {
      const key = f.slice(0, eq).trim().toLowerCase();
      if (!key) throw new UsageError(`--${flag} "${text}": empty key in "${f}"`);
      attrs[key] = f.slice(eq + 1);
    }
  }
  return { attrs, bare };
}

/** Parse one --output: buildctl's `type=image,name=R/I:T,push=true`, envd's `type=image,R/I:T,push=true`. */
export function parseOutput(text: string): OutputPlan {
  const { attrs, bare } = fields("output", text);
  const type = attrs.type;
  if (!type) throw new UsageError(`--output "${text}": missing type= (one of ${OUTPUT_TYPES.join(", ")})`);
  if (!OUTPUT_TYPES.includes(type)) {
    throw new UsageError(`--output "${text}": unknown type "${type}" (one of ${OUTPUT_TYPES.join(", ")})`);
  }
  delete attrs.type;
  if (bare.length > 1) {
    throw new UsageError(`--output "${text}": more than one value without a key: ${bare.join(", ")}`);
  }
  if (bare.length === 1) {
    if (attrs.name !== undefined) throw new UsageError(`--output "${text}": both name= and a bare name`);
    attrs.name = bare[0];
  }
  const plan: OutputPlan = { type, attrs };
  // docker buildx's `type=registry` is an image pushed.
  if (type === "registry") {
    plan.type = "image";
    attrs.push = "true";
  }
  if (attrs.dest !== undefined) {
    plan.dest = attrs.dest;
    delete attrs.dest;
    if (plan.dest === "") throw new UsageError(`--output "${text}": empty dest=`);
  }
  switch (plan.type) {
    case "local":
      if (!plan.dest || plan.dest === "-") {
        throw new UsageError(`--output "${text}": type=local needs dest=DIR`);
      }
      break;
    case "oci":
    case "tar":
      if (!plan.dest) {
        throw new UsageError(`--output "${text}": type=${type} needs dest=FILE (or dest=- for stdout)`);
      }
      break;
    case "docker":
      if (!plan.dest) plan.load = true;
      break;
    case "cacheonly":
      if (plan.dest || Object.keys(attrs).length) {
        throw new UsageError(`--output "${text}": type=cacheonly takes no options`);
      }
      break;
    case "image":
      if (plan.dest) throw new UsageError(`--output "${text}": type=image takes no dest= (use push=true)`);
      break;
  }
  return plan;
}

/** Parse one --import-cache/--export-cache: `type=registry,ref=R`, or a bare ref meaning a registry cache. */
export function parseCache(flag: string, text: string): CacheSpec {
  const { attrs, bare } = fields(flag, text);
  if (!attrs.type && bare.length === 1 && Object.keys(attrs).length === 0) {
    return { type: "registry", attrs: { ref: bare[0] } };
  }
  if (bare.length) throw new UsageError(`--${flag} "${text}": value without a key: ${bare.join(", ")}`);
  const type = attrs.type;
  if (!type) throw new UsageError(`--${flag} "${text}": missing type= (registry, inline, gha, s3, azblob)`);
  delete attrs.type;
  if (type === "local") {
    const key = flag === "import-cache" || flag === "cache-from" ? "src" : "dest";
    if (!attrs[key]) throw new UsageError(`--${flag} "${text}": type=local needs ${key}=DIR`);
  }
  if (type === "inline" && (flag === "import-cache" || flag === "cache-from")) {
    throw new UsageError(`--${flag} "${text}": inline cache is imported with type=registry,ref=IMAGE`);
  }
  if (type === "registry" && !attrs.ref) {
    throw new UsageError(`--${flag} "${text}": type=registry needs ref=`);
  }
  return { type, attrs };
}

/**
 * A cache flag's values, parsed, with what buildx adds from the environment: gha's url/url_v2/token from the
 * Actions runner's variables (an entry without token and url is dropped, as buildx does), s3's AWS keys.
 */
export function parseCaches(
  flag: string,
  values: string[],
  env: Record<string, string | undefined>,
): CacheSpec[] {
  const out: CacheSpec[] = [];
  for (const v of values) {
    const spec = parseCache(flag, v);
    const a: Record<string, string | undefined> = spec.attrs;
    if (spec.type === "gha") {
      const v2 = (a.version ?? (/^(1|t|true)$/i.test(env.ACTIONS_CACHE_SERVICE_V2 ?? "") ? "2" : "")) === "2";
      a.token ??= env.ACTIONS_RUNTIME_TOKEN;
      if (v2) a.url_v2 ??= env.ACTIONS_RESULTS_URL;
      a.url ??= env.ACTIONS_CACHE_URL ?? env.ACTIONS_RESULTS_URL;
      for (const k of ["token", "url", "url_v2"]) if (a[k] === undefined) delete a[k];
      if (!a.token || !(a.url || a.url_v2)) continue;
    }
    if (spec.type === "s3" && !(a.access_key_id && a.secret_access_key)) {
      a.access_key_id ??= env.AWS_ACCESS_KEY_ID;
      a.secret_access_key ??= env.AWS_SECRET_ACCESS_KEY;
      a.session_token ??= env.AWS_SESSION_TOKEN;
      for (const k of ["access_key_id", "secret_access_key", "session_token"]) {
        if (a[k] === undefined) delete a[k];
      }
    }
    out.push(spec);
  }
  return out;
}

/** `K=V` build args; a bare `K` takes its value from the environment (skipped when unset), as docker build does. */
export function parseBuildArgs(
  values: string[],
  env: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const key = eq === -1 ? v : v.slice(0, eq);
    if (!key) throw new UsageError(`--build-arg "${v}": want KEY=VALUE`);
    if (eq === -1) {
      if (env[key] !== undefined) out[key] = env[key]!;
    } else out[key] = v.slice(eq + 1);
  }
  return out;
}

/** `--label K=V` as frontend attrs `label:K`. */
export function parseLabels(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid value "${v}" for flag --label: want KEY=VALUE`);
    out[`label:${v.slice(0, eq)}`] = v.slice(eq + 1);
  }
  return out;
}

const ANNOTATION_TYPES = ["manifest", "manifest-descriptor", "index", "index-descriptor"];

/**
 * `--annotation [TYPE[,TYPE…]:]KEY=VALUE` (TYPE optionally with `[os/arch]`), as exporter attrs in buildkit's
 * form: `annotation.KEY`, `annotation-manifest[linux/amd64].KEY`, `annotation-index.KEY`.
 */
export function parseAnnotations(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const bad = (why: string) => new UsageError(`invalid value "${v}" for flag --annotation: ${why}`);
    const eq = v.indexOf("=");
    if (eq <= 0) throw bad("want [TYPE:]KEY=VALUE");
    const k = v.slice(0, eq);
    const value = v.slice(eq + 1);
    const colon = k.indexOf(":");
    if (colon === -1) {
      out[`annotation.${k}`] = value;
      continue;
    }
    const key = k.slice(colon + 1);
    if (!key) throw bad("empty key");
    for (const tp of k.slice(0, colon).split(",")) {
      const m = /^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$/.exec(tp);
      if (!m) throw bad(`type "${tp}" is not TYPE or TYPE[os/arch]`);
      if (!ANNOTATION_TYPES.includes(m[1])) {
        throw bad(`unknown type "${m[1]}" (one of ${ANNOTATION_TYPES.join(", ")})`);
      }
      // buildkit takes a platform only on manifest-level annotations.
      const platform = m[2] && m[1].startsWith("manifest") ? `[${m[2]}]` : "";
      out[`annotation-${m[1]}${platform}.${key}`] = value;
    }
  }
  return out;
}

/** `--add-host HOST=IP` or `HOST:IP` (IP may be a comma list, IPv6 in brackets) as the frontend's `add-hosts`. */
export function parseAddHosts(values: string[]): string | undefined {
  const hosts: string[] = [];
  for (const v of values) {
    let sep = v.indexOf("=");
    if (sep === -1) sep = v.indexOf(":");
    const host = sep > 0 ? v.slice(0, sep) : "";
    const ips = sep > 0 ? v.slice(sep + 1) : "";
    if (!host || !ips) throw new UsageError(`invalid value "${v}" for flag --add-host: want HOST=IP`);
    for (let ip of ips.split(",")) {
      if (ip.length > 2 && ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
      if (!isIP(ip)) {
        throw new UsageError(`invalid value "${v}" for flag --add-host: "${ip}" is not an IP address`);
      }
      hosts.push(`${host}=${ip}`);
    }
  }
  return hosts.length ? hosts.join(",") : undefined;
}

function isIP(s: string): boolean {
  if (/^(\d{1,3})(\.\d{1,3}){3}$/.test(s)) return s.split(".").every((n) => Number(n) <= 255);
  return s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s);
}

/** `--shm-size 64m` (docker's binary units: b, k, m, g, t, p) as bytes. */
export function parseShmSize(text: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`invalid value "${text}" for flag --shm-size: want a size such as 64m or 1g`);
  const power = "bkmgtp".indexOf((m[2] || "b").toLowerCase());
  return String(Math.floor(Number(m[1]) * 1024 ** power));
}

/** `--ulimit NAME=SOFT[:HARD]` (repeatable) as the frontend's `ulimit` value. */
export function parseUlimits(values: string[]): string | undefined {
  const names = new Map<string, string>();
  for (const v of values) {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
    if (!m) {
      throw new UsageError(
        `invalid value "${v}" for flag --ulimit: want NAME=SOFT[:HARD], e.g. nofile=1024:2048`,
      );
    }
    const hard = m[3] ?? m[2];
    if (Number(m[2]) > Number(hard)) {
      throw new UsageError(`invalid value "${v}" for flag --ulimit: soft limit above the hard limit`);
    }
    names.set(m[1], `${m[1]}=${m[2]}:${hard}`);
  }
  return names.size ? [...names.values()].join(",") : undefined;
}

/** `--network default|none|host` as the frontend's force-network-mode (host also needs its entitlement). */
export function parseNetwork(text: string | undefined): string | undefined {
  if (text === undefined || text === "" || text === "default") return undefined;
  if (text === "none" || text === "host") return text;
  throw new UsageError(`invalid value "${text}" for flag --network: one of default, none, host`);
}

const ENTITLEMENTS = ["network.host", "security.insecure"];

/** `--allow network.host,security.insecure` (repeatable, comma lists). */
export function parseAllow(values: string[]): string[] {
  const out = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  for (const e of out) {
    if (!ENTITLEMENTS.includes(e)) {
      throw new UsageError(`invalid value "${e}" for flag --allow: one of ${ENTITLEMENTS.join(", ")}`);
    }
  }
  return [...new Set(out)];
}

/**
 * `--attest type=T,…`, `--provenance V` and `--sbom V` as frontend attrs `attest:T`. A value of true/false
 * switches one on (defaults) or off; anything else is its CSV options. Later flags of one type win.
 */
export function parseAttests(attests: string[], provenance?: string, sbom?: string): Record<string, string> {
  const byType = new Map<string, string | null>();
  const add = (flag: string, type: string | undefined, text: string) => {
    const { attrs, bare } = fields(flag, text);
    if (bare.length === 1 && Object.keys(attrs).length === 0 && type) {
      if (/^(1|t|true)$/i.test(bare[0])) return void byType.set(type, "");
      if (/^(0|f|false)$/i.test(bare[0])) return void byType.set(type, null);
    }
    if (bare.length) {
      throw new UsageError(`invalid value "${text}" for flag --${flag}: "${bare[0]}" is not KEY=VALUE`);
    }
    const t = type ?? attrs.type;
    if (!t) {
      throw new UsageError(`invalid value "${text}" for flag --${flag}: missing type= (provenance or sbom)`);
    }
    if (t !== "provenance" && t !== "sbom") {
      throw new UsageError(
        `invalid value "${text}" for flag --${flag}: unknown type "${t}" (provenance or sbom)`,
      );
    }
    delete attrs.type;
    if (attrs.mode !== undefined && t === "provenance" && !["min", "max"].includes(attrs.mode)) {
      throw new UsageError(`invalid value "${text}" for flag --${flag}: mode is min or max`);
    }
    if (/^(1|t|true)$/i.test(attrs.disabled ?? "")) return void byType.set(t, null);
    delete attrs.disabled;
    byType.set(t, Object.entries(attrs).map(([k, v]) => `${k}=${v}`).join(","));
  };
  for (const a of attests) add("attest", undefined, a);
  if (provenance !== undefined) add("provenance", "provenance", provenance);
  if (sbom !== undefined) add("sbom", "sbom", sbom);
  const out: Record<string, string> = {};
  for (const [t, v] of byType) if (v !== null) out[`attest:${t}`] = v;
  return out;
}

/** One `--build-context NAME=…`: another image, a URL (git, https) passed on, a local directory or an OCI layout. */
export type NamedContext =
  | { name: string; kind: "ref"; value: string }
  | { name: string; kind: "dir"; dir: string }
  | { name: string; kind: "oci"; dir: string; tag: string; digest?: string };

/** Parse `--build-context NAME=docker-image://REF|oci-layout://DIR[:TAG][@DIGEST]|URL|DIR`. */
export function parseBuildContext(text: string): NamedContext {
  const eq = text.indexOf("=");
  const name = eq > 0 ? text.slice(0, eq) : "";
  const value = eq > 0 ? text.slice(eq + 1) : "";
  if (!name || !value) {
    throw new UsageError(`invalid value "${text}" for flag --build-context: want NAME=VALUE`);
  }
  if (/^(docker-image|target):\/\/./.test(value) || /^(https?:\/\/|git@|git:\/\/|ssh:\/\/)/.test(value)) {
    return { name, kind: "ref", value };
  }
  if (value.startsWith("oci-layout://")) {
    let rest = value.slice("oci-layout://".length);
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at !== -1) [rest, digest] = [rest.slice(0, at), rest.slice(at + 1)];
    if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new UsageError(`invalid value "${text}" for flag --build-context: bad digest "${digest}"`);
    }
    const colon = rest.lastIndexOf(":");
    const tag = colon > rest.lastIndexOf("/") ? rest.slice(colon + 1) : "";
    const dir = tag ? rest.slice(0, colon) : rest;
    if (!dir) {
      throw new UsageError(
        `invalid value "${text}" for flag --build-context: oci-layout:// needs a directory`,
      );
    }
    return { name, kind: "oci", dir, tag: tag || "latest", ...(digest ? { digest } : {}) };
  }
  return { name, kind: "dir", dir: value };
}

/** One `--ssh ID[=SOCKET|KEY[,…]]`: with no paths, `$SSH_AUTH_SOCK`. */
export interface SshSpec {
  id: string;
  paths: string[];
}

/** Parse `--ssh default` / `--ssh ID=PATH[,PATH]`. */
export function parseSsh(text: string): SshSpec {
  const eq = text.indexOf("=");
  const id = eq === -1 ? text : text.slice(0, eq);
  const paths = eq === -1 ? [] : text.slice(eq + 1).split(",").filter(Boolean);
  if (!id || !/^[A-Za-z0-9_.-]+$/.test(id)) {
    throw new UsageError(`invalid value "${text}" for flag --ssh: want default or ID=SOCKET|KEY[,…]`);
  }
  if (eq !== -1 && paths.length === 0) {
    throw new UsageError(`invalid value "${text}" for flag --ssh: no path after "="`);
  }
  return { id, paths };
}
