/** Writes schema/envd.contexts.schema.json from lib/config/schema.ts; `--check` fails when the file is stale. */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { FILE_SPEC, type KeySpec } from "../lib/config/schema.ts";

// Regexes mirroring lib/config/values.ts, written independently so the schema test cross-checks them.
const SIZE = "^([0-9]+%|[0-9]+(\\.[0-9]+)?\\s*[kKmMgGtTpP]?[iI]?[bB]?)$";
// A string of digits is seconds, as buildkitd reads it.
const DURATION = "^([0-9]+|[+]?(0|(([0-9]+\\.?[0-9]*|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+))$";

function toSchema(spec: KeySpec): Record<string, unknown> {
  const d = { description: spec.doc };
  switch (spec.kind) {
    case "string":
      if (spec.enum) return { ...d, type: "string", enum: spec.enum };
      return { ...d, type: "string", ...(spec.pattern ? { pattern: spec.pattern } : {}) };
    case "bool":
      return { ...d, type: "boolean" };
    case "int":
      return { ...d, type: "integer", ...(spec.min !== undefined ? { minimum: spec.min } : {}) };
    case "size":
      return { ...d, anyOf: [{ type: "string", pattern: SIZE }, { type: "integer", minimum: 0 }] };
    case "duration":
      return { ...d, anyOf: [{ type: "string", pattern: DURATION }, { type: "integer", minimum: 0 }] };
    case "strings":
      return {
        ...d,
        type: "array",
        items: { type: "string", ...(spec.pattern ? { pattern: spec.pattern } : {}) },
      };
    case "any":
      return { ...d, type: "object" };
    case "table":
    case "tables": {
      const obj = {
        type: "object",
        properties: Object.fromEntries(Object.entries(spec.keys).map(([k, v]) => [k, toSchema(v)])),
        additionalProperties: false,
        ...(spec.required ? { required: spec.required } : {}),
      };
      return spec.kind === "table" ? { ...d, ...obj } : { ...d, type: "array", items: obj };
    }
    case "map":
      return {
        ...d,
        type: "object",
        ...(spec.keyPattern ? { propertyNames: { pattern: spec.keyPattern } } : {}),
        additionalProperties: toSchema(spec.value),
      };
  }
}

/** The JSON Schema document, as published. */
export function contextsSchema(): Record<string, unknown> {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "envd-lite contexts file (envd.contexts.toml)",
    ...toSchema(FILE_SPEC),
  };
}

if (import.meta.main) {
  const out = resolve(import.meta.dirname!, "../schema/envd.contexts.schema.json");
  const text = JSON.stringify(contextsSchema(), null, 2) + "\n";
  if (process.argv.includes("--check")) {
    if (readFileSync(out, "utf8") !== text) {
      console.error("schema/envd.contexts.schema.json is stale: run deno run -A scripts/gen_schema.ts");
      process.exit(1);
    }
  } else writeFileSync(out, text);
}
