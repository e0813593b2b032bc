/** `--metadata-file` and `--iidfile` as buildx writes them, from buildkitd's exporter response. */
import { renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Our own keys in the metadata file live under this prefix (buildx uses `buildx.`). */
export const METADATA_PREFIX = "envd-lite.";

/**
 * buildx's decoding: a value that is base64 of a non-empty JSON object or array becomes that JSON;
 * `result.json` is JSON already; anything else stays the string it was.
 */
export function decodeExporterResponse(res: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(res)) {
    const text = k === "result.json" ? v : base64Text(v);
    out[k] = text === undefined ? v : jsonObjectOrList(text) ?? v;
  }
  return out;
}

function base64Text(v: string): string | undefined {
  // Go's StdEncoding: padded, standard alphabet, nothing else.
  if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  return Buffer.from(v, "base64").toString("utf8");
}

function jsonObjectOrList(text: string): unknown {
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v)) {
      return v.length && v.every((x) => typeof x === "object" && x && !Array.isArray(x)) ? v : undefined;
    }
    return typeof v === "object" && v !== null && Object.keys(v).length ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The metadata file's content: the decoded response plus our build ref. */
export function buildMetadata(res: Record<string, string>, ref: string): Record<string, unknown> {
  return { ...decodeExporterResponse(res), [`${METADATA_PREFIX}build.ref`]: ref };
}

/** The image ID as buildx prints it: the config digest when there is one, else the manifest digest. */
export function imageId(res: Record<string, string>): string {
  return res["containerimage.config.digest"] ?? res["containerimage.digest"] ?? "";
}

/** Write `text` to `path` atomically (a temporary file beside it, then a rename). */
export function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}
