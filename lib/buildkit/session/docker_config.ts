/** Docker's client config (config.json): where registry credentials live, read the way docker/cli reads them. */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** Docker Hub's key in config.json and for credential helpers: a historical URL, not a host. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

// docker.io and index.docker.io are docker's own aliases; registry-1.docker.io is what buildkitd dials.
const HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** One `auths` entry, decoded. An identity token, when present, is used instead of username/password. */
export interface AuthEntry {
  username: string;
  password: string;
  identityToken: string;
}

/** The credential-related part of config.json. */
export interface DockerConfig {
  /** The file it came from (for messages); it need not exist. */
  path: string;
  /** Entries keyed as written (a host, or a legacy URL with scheme and path). */
  auths: Map<string, AuthEntry>;
  credHelpers: Map<string, string>;
  credsStore: string;
}

/** The config.json in use: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: Record<string, string | undefined>): string {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
  return join(dir, "config.json");
}

/** Read config.json; a missing file is an empty config. Throws with the path when it cannot be read or parsed. */
export async function loadDockerConfig(env: Record<string, string | undefined>): Promise<DockerConfig> {
  const path = dockerConfigPath(env);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyConfig(path);
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parseDockerConfig(text, path);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** Parse config.json text. Errors name the key at fault, never a credential. */
export function parseDockerConfig(text: string, path = "config.json"): DockerConfig {
  const config = emptyConfig(path);
  // docker/cli tolerates an empty file.
  if (text.trim() === "") return config;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // JSON.parse's message can quote the text around the fault, which may be a password.
    throw new SyntaxError("not valid JSON");
  }
  if (!isObject(doc)) throw new SyntaxError("not a JSON object");
  // Go's encoding/json matches field names case-insensitively; so do we, to read what docker reads.
  const auths = field(doc, "auths");
  if (auths !== undefined && auths !== null) {
    if (!isObject(auths)) throw new SyntaxError(`"auths" is not an object`);
    for (const [key, raw] of Object.entries(auths)) {
      if (raw === null) continue;
      if (!isObject(raw)) throw new SyntaxError(`auths[${JSON.stringify(key)}] is not an object`);
      config.auths.set(key, parseEntry(key, raw));
    }
  }
  const helpers = field(doc, "credHelpers");
  if (helpers !== undefined && helpers !== null) {
    if (!isObject(helpers)) throw new SyntaxError(`"credHelpers" is not an object`);
    for (const [key, name] of Object.entries(helpers)) {
      config.credHelpers.set(key, str(name, `credHelpers[${JSON.stringify(key)}]`));
    }
  }
  config.credsStore = str(field(doc, "credsStore"), `"credsStore"`);
  return config;
}

/**
 * The key docker files a registry's credentials under: Docker Hub's URL for any of its names, else the bare
 * `host[:port]` (scheme and path stripped).
 */
export function registryKey(hostOrUrl: string): string {
  const host = toHostname(hostOrUrl);
  return HUB_HOSTS.has(host) ? DOCKER_HUB_KEY : host;
}

/** `host[:port]` of a registry URL or host, as written (docker's ConvertToHostname: no case or port rewriting). */
export function toHostname(hostOrUrl: string): string {
  let rest = hostOrUrl;
  const scheme = rest.indexOf("://");
  if (scheme >= 0) {
    rest = rest.slice(scheme + 3);
    rest = rest.split(/[/?#]/, 1)[0];
    // user:pass@host is not a key anyone writes, but a URL parser would drop it: so do we.
    rest = rest.slice(rest.lastIndexOf("@") + 1);
    return rest;
  }
  return rest.split("/", 1)[0];
}

/**
 * The `auths` entry for a key: the exact key first, else the first entry whose key names the same registry
 * (legacy keys such as `https://host/v1/`; for Docker Hub also `docker.io` and `index.docker.io`).
 */
export function findAuth(config: DockerConfig, key: string): AuthEntry | undefined {
  const exact = config.auths.get(key);
  if (exact) return exact;
  for (const [k, entry] of config.auths) {
    if (registryKey(k) === key) return entry;
  }
  return undefined;
}

/** The credential helper (suffix of `docker-credential-`) serving a key: credHelpers[key], else credsStore, else "". */
export function helperFor(config: DockerConfig, key: string): string {
  return config.credHelpers.get(key) ?? config.credsStore;
}

function parseEntry(key: string, raw: Record<string, unknown>): AuthEntry {
  const where = `auths[${JSON.stringify(key)}]`;
  const entry: AuthEntry = {
    username: str(field(raw, "username"), `${where}.username`),
    password: str(field(raw, "password"), `${where}.password`),
    identityToken: str(field(raw, "identitytoken"), `${where}.identitytoken`),
  };
  const auth = str(field(raw, "auth"), `${where}.auth`);
  // As docker: `auth` (base64 "user:password") wins over username/password.
  if (auth !== "") Object.assign(entry, decodeAuth(auth, where));
  return entry;
}

function decodeAuth(auth: string, where: string): { username: string; password: string } {
  // Go's StdEncoding is strict (alphabet and padding); Buffer.from would silently skip bad characters.
  if (auth.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(auth)) {
    throw new SyntaxError(`${where}.auth is not valid base64`);
  }
  const text = Buffer.from(auth, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) throw new SyntaxError(`${where}.auth does not decode to "username:password"`);
  return { username: text.slice(0, colon), password: trimNul(text.slice(colon + 1)) };
}

// Go's strings.Trim(password, "\x00"): some old tools padded the encoded pair with NULs.
function trimNul(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 0) a++;
  while (b > a && s.charCodeAt(b - 1) === 0) b--;
  return s.slice(a, b);
}

function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function str(value: unknown, where: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new SyntaxError(`${where} is not a string`);
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function emptyConfig(path: string): DockerConfig {
  return { path, auths: new Map(), credHelpers: new Map(), credsStore: "" };
}
