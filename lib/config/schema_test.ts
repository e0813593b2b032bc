import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "smol-toml";
import { validateJsonSchema } from "../../tests/helpers/json_schema.ts";
import { contextsSchema } from "../../scripts/gen_schema.ts";
import { CONTEXT_SPEC, type KeySpec } from "./schema.ts";
import { checkDocument, validateText } from "./validate.ts";

const ROOT = resolve(import.meta.dirname!, "../..");
const published = JSON.parse(readFileSync(join(ROOT, "schema/envd.contexts.schema.json"), "utf8"));
const INVALID = join(ROOT, "tests/fixtures/contexts/invalid");

Deno.test("the published JSON Schema is the one generated from lib/config/schema.ts", () => {
  assert.deepEqual(published, JSON.parse(JSON.stringify(contextsSchema())));
});

Deno.test("envd.contexts.toml.example validates in both, and documents every key of a context", () => {
  const text = readFileSync(join(ROOT, "envd.contexts.toml.example"), "utf8");
  const { model } = validateText(text, "envd.contexts.toml.example");
  assert.ok(model.contexts.length >= 2);
  const doc = parse(text);
  assert.deepEqual(validateJsonSchema(published, doc), []);
  // Every key the schema knows appears in the example, so the example cannot fall behind.
  const missing: string[] = [];
  const walk = (spec: KeySpec, prefix: string) => {
    if (spec.kind === "table" || spec.kind === "tables") {
      for (const [k, v] of Object.entries(spec.keys)) {
        if (!new RegExp(`^\\s*${k.replace(/[-.]/g, "\\$&")}\\s*=`, "m").test(text)) {
          missing.push(`${prefix}${k}`);
        }
        walk(v, `${prefix}${k}.`);
      }
    } else if (spec.kind === "map") walk(spec.value, `${prefix}*.`);
  };
  walk(CONTEXT_SPEC, "");
  // Sub-table names (grpc, worker, ...) appear as headers, not `key =` lines.
  const headersOnly = [
    "grpc",
    "grpc.tls",
    "worker",
    "worker.oci",
    "worker.oci.gcpolicy",
    "worker.oci.labels",
    "worker.oci.labels.*",
    "worker.oci.stargzSnapshotter",
    "worker.containerd",
    "worker.containerd.gcpolicy",
    "worker.containerd.labels",
    "worker.containerd.labels.*",
    "worker.containerd.runtime",
    "worker.containerd.runtime.options",
    "log",
    "dns",
    "history",
    "frontend",
    "frontend.dockerfile.v0",
    "frontend.gateway.v0",
    "cdi",
    "system",
    "registry",
    "registry.*.keypair",
    "daemon",
    "serve",
    "node",
    "node.grpc",
    "node.grpc.tls",
  ];
  assert.deepEqual(missing.filter((m) => !headersOnly.includes(m)), []);
});

Deno.test("each invalid fixture fails in the validator and in the JSON Schema at the same key", () => {
  const files = readdirSync(INVALID).filter((f) => f.endsWith(".toml"));
  assert.ok(files.length >= 10);
  for (const f of files) {
    const text = readFileSync(join(INVALID, f), "utf8");
    const want = JSON.parse(text.split("\n")[0].replace("# error at: ", ""));
    const doc = parse(text);
    const ours = checkDocument(doc).map((p) => JSON.stringify(p.path));
    const theirs = validateJsonSchema(published, doc).map((p) => JSON.stringify(p));
    assert.equal(ours[0], JSON.stringify(want), `${f}: validator said ${ours}`);
    assert.ok(theirs.includes(JSON.stringify(want)), `${f}: schema said ${theirs}`);
    assert.throws(() => validateText(text, f), new RegExp(`^Error|${f}:\\d+: `));
  }
});
