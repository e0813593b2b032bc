/** Parsing of `build`'s --output, --import-cache/--export-cache and --build-arg values (buildctl's and envd's forms). */
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
    throw new UsageError(
      `--${flag} "${text}": type=local needs the session content store, which envd-lite does not serve yet; use type=registry`,
    );
  }
  if (type === "inline" && flag === "import-cache") {
    throw new UsageError(`--import-cache "${text}": inline cache is imported with type=registry,ref=IMAGE`);
  }
  if (type === "registry" && !attrs.ref) {
    throw new UsageError(`--${flag} "${text}": type=registry needs ref=`);
  }
  return { type, attrs };
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
