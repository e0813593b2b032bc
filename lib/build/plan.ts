/**
 * A build plan made from `build`'s flag values: everything that can be checked before talking to a daemon is
 * checked here, so usage errors come first and name their flag.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { CacheSpec } from "../buildkit/solve.ts";
import { UsageError, UserError } from "../errors.ts";
import {
  type NamedContext,
  type OutputPlan,
  parseAddHosts,
  parseAllow,
  parseAnnotations,
  parseAttests,
  parseBuildArgs,
  parseBuildContext,
  parseCaches,
  parseLabels,
  parseNetwork,
  parseOutput,
  parseShmSize,
  parseSsh,
  parseUlimits,
  type SshSpec,
} from "./specs.ts";

/** `build`'s flag values as given (the CLI fills this; nothing is parsed yet). */
export interface BuildOptions {
  path: string;
  /** `-` reads the Dockerfile from `dockerfileText`. */
  file?: string;
  /** The Dockerfile's text when `file` is `-` (read from stdin by the caller). */
  dockerfileText?: string;
  buildArgs: string[];
  target?: string;
  platforms: string[];
  tags: string[];
  noCache: boolean;
  secrets: string[];
  /** Cache flags by name (`import-cache` and buildx's `cache-from` are the same thing). */
  cacheImports: { flag: string; value: string }[];
  cacheExports: { flag: string; value: string }[];
  outputs: string[];
  push: boolean;
  load: boolean;
  labels: string[];
  annotations: string[];
  buildContexts: string[];
  ssh: string[];
  attest: string[];
  provenance?: string;
  sbom?: string;
  network?: string;
  addHosts: string[];
  allow: string[];
  shmSize?: string;
  ulimits: string[];
  pull: boolean;
  metadataFile?: string;
  iidfile?: string;
  /** `--call`: `build` (the default) or `check` (the frontend's lint, no outputs). */
  call?: string;
}

/** What to build, checked. */
export interface BuildPlan {
  contextDir: string;
  /** The directory holding the Dockerfile (a temporary one for `-f -`, removed by {@link releasePlan}). */
  dockerfileDir: string;
  filename: string;
  /** The Dockerfile as the user named it, for messages. */
  dockerfileDisplay: string;
  /** Explicit outputs; empty means "decide on the node" (docker load when Docker answers). */
  outputs: OutputPlan[];
  tags: string[];
  /** The image's name for every output that takes one (the tags, comma-joined). */
  frontendAttrs: Record<string, string>;
  entitlements: string[];
  cacheImports: CacheSpec[];
  cacheExports: CacheSpec[];
  secrets: string[];
  ssh: SshSpec[];
  /** Named contexts that are local directories, by local name (sent by FileSync like the context). */
  localDirs: Record<string, string>;
  /** OCI layout directories served by the session content store, by store id. */
  ociStores: Record<string, string>;
  /** Image-exporter attrs added to every image/oci/docker output (annotations). */
  exporterAttrs: Record<string, string>;
  metadataFile?: string;
  iidfile?: string;
  /** A frontend subrequest instead of a build (`frontend.lint` for `--call check`): no outputs. */
  subrequest?: string;
  /** Temporary directories to remove when the build is over. */
  temporary: string[];
}

/** Check every flag value and make the plan; throws UsageError/UserError naming the flag or path. */
export function planBuild(o: BuildOptions, env: Record<string, string | undefined>): BuildPlan {
  const contextDir = resolve(o.path);
  if (!isDir(contextDir)) throw new UserError(`build context "${o.path}" is not a directory`);
  const temporary: string[] = [];
  let dockerfileDir: string;
  let filename: string;
  let dockerfileDisplay: string;
  if (o.file === "-") {
    if (o.dockerfileText === undefined || o.dockerfileText.trim() === "") {
      throw new UsageError("-f -: no Dockerfile on stdin");
    }
    dockerfileDir = stdinDockerfileDir(o.dockerfileText);
    temporary.push(dockerfileDir);
    filename = "Dockerfile";
    dockerfileDisplay = "-";
  } else {
    const dockerfile = o.file ? resolve(o.file) : resolve(contextDir, "Dockerfile");
    const st = statSync(dockerfile, { throwIfNoEntry: false });
    if (!st) throw new UserError(`Dockerfile "${o.file ?? dockerfile}" not found`);
    if (!st.isFile()) throw new UserError(`Dockerfile "${o.file ?? dockerfile}" is not a file`);
    dockerfileDir = dirname(dockerfile);
    filename = basename(dockerfile);
    // The Dockerfile as the user would write it: -f as given, else under --path as given.
    dockerfileDisplay = o.file ?? join(o.path, "Dockerfile");
  }

  const subrequest = parseCall(o.call);
  const tags = o.tags.flatMap((t) => t.split(",")).map((t) => t.trim()).filter(Boolean);
  const outputs = o.outputs.map(parseOutput);
  if (o.push) {
    if (!tags.length && !outputs.some((x) => x.type === "image")) {
      throw new UsageError("--push needs a name: add -t NAME", "envd-lite build");
    }
    const image = outputs.find((x) => x.type === "image");
    if (image) image.attrs.push = "true";
    else outputs.push({ type: "image", attrs: { push: "true" } });
  }
  if (o.load && !outputs.some((x) => x.load)) outputs.push({ type: "docker", attrs: {}, load: true });
  const named = outputs.filter((x) => x.type === "image" || x.type === "docker" || x.type === "oci");
  if (tags.length && outputs.length && named.length === 0 && !outputs.every((x) => x.type === "cacheonly")) {
    throw new UsageError("--tag names an image or docker output, and no --output is one", "envd-lite build");
  }
  for (const x of named) if (tags.length && x.attrs.name === undefined) x.attrs.name = tags.join(",");
  for (const x of outputs) {
    if (x.dest && x.dest !== "-" && x.type !== "local") writableFile("--output", x.dest);
  }
  if (outputs.filter((x) => x.dest === "-").length > 1) {
    throw new UsageError("only one --output may write to stdout (dest=-)", "envd-lite build");
  }
  const exporterAttrs = parseAnnotations(o.annotations);

  const frontendAttrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(parseBuildArgs(o.buildArgs, env))) frontendAttrs[`build-arg:${k}`] = v;
  Object.assign(frontendAttrs, parseLabels(o.labels));
  if (o.target) frontendAttrs.target = o.target;
  const platforms = o.platforms.flatMap((p) => p.split(",")).map((p) => p.trim()).filter(Boolean);
  if (platforms.length) frontendAttrs.platform = platforms.join(",");
  if (o.noCache) frontendAttrs["no-cache"] = "";
  if (o.pull) frontendAttrs["image-resolve-mode"] = "pull";
  const entitlements = parseAllow(o.allow);
  const network = parseNetwork(o.network);
  if (network) {
    frontendAttrs["force-network-mode"] = network;
    if (network === "host" && !entitlements.includes("network.host")) entitlements.push("network.host");
  }
  const hosts = parseAddHosts(o.addHosts);
  if (hosts) frontendAttrs["add-hosts"] = hosts;
  if (o.shmSize !== undefined) {
    const bytes = parseShmSize(o.shmSize);
    if (bytes !== "0") frontendAttrs["shm-size"] = bytes;
  }
  const ulimit = parseUlimits(o.ulimits);
  if (ulimit) frontendAttrs.ulimit = ulimit;
  Object.assign(frontendAttrs, parseAttests(o.attest, o.provenance, o.sbom));

  const localDirs: Record<string, string> = {};
  const ociStores: Record<string, string> = {};
  for (const c of o.buildContexts.map(parseBuildContext)) {
    namedContext(c, frontendAttrs, localDirs, ociStores);
  }

  const cacheImports = o.cacheImports.flatMap((c) => parseCaches(c.flag, [c.value], env));
  const cacheExports = o.cacheExports.flatMap((c) => parseCaches(c.flag, [c.value], env));
  for (const c of cacheImports) if (c.type === "local") c.attrs.src = resolve(c.attrs.src);
  for (const c of cacheExports) if (c.type === "local") c.attrs.dest = resolve(c.attrs.dest);

  return {
    contextDir,
    dockerfileDir,
    filename,
    dockerfileDisplay,
    outputs: subrequest ? [] : outputs,
    tags,
    frontendAttrs,
    entitlements,
    cacheImports,
    cacheExports,
    secrets: o.secrets,
    ssh: o.ssh.map(parseSsh),
    localDirs,
    ociStores,
    exporterAttrs,
    metadataFile: writableFile("--metadata-file", o.metadataFile),
    iidfile: writableFile("--iidfile", o.iidfile),
    subrequest,
    temporary,
  };
}

// buildx's --call: `check` (alias `lint`) is the Dockerfile frontend's lint subrequest.
function parseCall(text: string | undefined): string | undefined {
  if (text === undefined || text === "build") return undefined;
  if (text === "check" || text === "lint") return "frontend.lint";
  throw new UsageError(
    `invalid value "${text}" for flag --call: build or check (outline and targets are not supported)`,
  );
}

// The frontend's form of each named context (buildx's): `local:NAME` for a dir, the ref as given otherwise.
function namedContext(
  c: NamedContext,
  attrs: Record<string, string>,
  localDirs: Record<string, string>,
  ociStores: Record<string, string>,
): void {
  const key = `context:${c.name}`;
  if (c.kind === "ref") {
    attrs[key] = c.value;
    return;
  }
  const dir = resolve(c.dir);
  if (!isDir(dir)) throw new UserError(`--build-context ${c.name}: "${c.dir}" is not a directory`);
  if (c.kind === "dir") {
    // The frontend's own locals are `context` and `dockerfile`: a named context of that name is renamed.
    const local = c.name === "context" || c.name === "dockerfile" ? `_${c.name}` : c.name;
    localDirs[local] = dir;
    attrs[key] = `local:${local}`;
    attrs[`sharedkey:localdir:${c.name}`] = basename(dir);
    return;
  }
  const digest = c.digest ?? ociTagDigest(dir, c.tag, c.name);
  const store = `oci-${Object.keys(ociStores).length}-${c.name}`.replace(/[^A-Za-z0-9_-]/g, "_");
  ociStores[store] = dir;
  attrs[key] = `oci-layout://${store}:${c.tag}@${digest}`;
}

// The manifest the layout's index.json names by tag (image.name or ref.name annotation).
function ociTagDigest(dir: string, tag: string, name: string): string {
  let index: { manifests?: { digest: string; annotations?: Record<string, string> }[] };
  try {
    index = JSON.parse(readText(join(dir, "index.json")));
  } catch (err) {
    throw new UserError(`--build-context ${name}: ${dir} is not an OCI layout: ${(err as Error).message}`);
  }
  const ms = index.manifests ?? [];
  const m = ms.find((x) => x.annotations?.["io.containerd.image.name"] === tag) ??
    ms.find((x) => x.annotations?.["org.opencontainers.image.ref.name"] === tag) ??
    (tag === "latest" && ms.length === 1 ? ms[0] : undefined);
  if (!m) {
    throw new UserError(`--build-context ${name}: no manifest tagged "${tag}" in ${join(dir, "index.json")}`);
  }
  return m.digest;
}

function readText(p: string): string {
  return readFileSync(p, "utf8");
}

function stdinDockerfileDir(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-dockerfile-"));
  writeFileSync(join(dir, "Dockerfile"), text);
  return dir;
}

/** Remove what the plan made for itself (the stdin Dockerfile's directory). */
export function releasePlan(plan: BuildPlan): void {
  for (const dir of plan.temporary) rmSync(dir, { recursive: true, force: true });
}

// A file the build will write: its directory must be there now, not fail after the build has run.
function writableFile(flag: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const abs = resolve(path);
  if (!isDir(dirname(abs))) throw new UsageError(`${flag} ${path}: directory ${dirname(abs)} does not exist`);
  if (isDir(abs)) throw new UsageError(`${flag} ${path}: is a directory`);
  return abs;
}

function isDir(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
