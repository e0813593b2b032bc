/**
 * Every value form the file accepts survives export | import and `inspect -f toml`: for each key of the schema and
 * each form its kind accepts, a context holding it is rendered, re-read, and must give the same TOML value and model.
 */
import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { renderContext } from "./render.ts";
import { CONTEXT_SPEC, type KeySpec } from "./schema.ts";
import { validateText } from "./validate.ts";

// The accepted forms of each kind, as TOML values (what smol-toml parses from the file).
function forms(spec: KeySpec): unknown[] {
  switch (spec.kind) {
    case "string": {
      const all = spec.enum ? [...spec.enum] : ["x", "", 'with "quotes" and \\ and ünïcode', "tab\there"];
      return all.filter((f) => !spec.pattern || new RegExp(spec.pattern).test(f));
    }
    case "bool":
      return [true, false];
    case "int":
      return [spec.min ?? 0, 7, 65536];
    case "size":
      return [0, 7200, "7200", "512MB", "512mb", "20GiB", "1.5GB", "20 GB", "10%", "0%"];
    case "duration":
      return [0, 7200, "7200", "48h", "1h30m", "500ms", "0"];
    case "strings":
      if (spec.pattern) return [[], ["linux/amd64", "linux/arm/v7"]];
      return [[], ["a"], ["type==source.local", "type==exec.cachemount"]];
    case "any":
      return [{}, { a: 1, b: "two", c: [1, 2], d: { e: true } }];
    case "table":
    case "tables": {
      const out: unknown[] = [];
      // Required keys (a keypair's key and cert) are in every form, each other key varies alone.
      const needed = Object.fromEntries((spec.required ?? []).map((r) => [r, forms(spec.keys[r])[0]]));
      for (const [k, sub] of Object.entries(spec.keys)) {
        for (const f of forms(sub)) {
          const item = { ...needed, [k]: f };
          out.push(spec.kind === "tables" ? [item] : item);
        }
      }
      if (spec.kind === "table") out.push({});
      // Two entries: names, where a table has them, must differ ([[node]]).
      else out.push([], [needed, "name" in needed ? { ...needed, name: "y" } : needed]);
      return out;
    }
    case "map":
      return forms(spec.value).map((f) => ({ "k.with.dots": f }));
  }
}

const BASE: Record<string, unknown> = { builder: "tcp", "builder-address": "h:1" };

function cases(): [string, Record<string, unknown>][] {
  if (CONTEXT_SPEC.kind !== "table") throw new Error("CONTEXT_SPEC is a table");
  const out: [string, Record<string, unknown>][] = [];
  for (const [k, sub] of Object.entries(CONTEXT_SPEC.keys)) {
    if (k === "builder" || k === "builder-address") continue;
    for (const f of forms(sub)) out.push([`${k} = ${JSON.stringify(f)}`, { ...BASE, [k]: f }]);
  }
  return out;
}

// A TOML document holding context "c" as `table`, written the way a user might (smol-toml's own writer is not ours).
function doc(table: Record<string, unknown>): string {
  return renderContextTable(["context", "c"], table);
}

function renderContextTable(path: string[], t: Record<string, unknown>): string {
  const key = (k: string) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));
  const inline = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(inline).join(", ")}]`
      : typeof v === "object" && v !== null
      ? `{ ${Object.entries(v).map(([k, x]) => `${key(k)} = ${inline(x)}`).join(", ")} }`
      : typeof v === "string"
      ? JSON.stringify(v)
      : String(v);
  return `current = "c"\n[${path.map(key).join(".")}]\n` +
    Object.entries(t).map(([k, v]) => `${key(k)} = ${inline(v)}\n`).join("");
}

Deno.test("property: every accepted value form of every key survives render → re-read (export | import, inspect)", () => {
  const all = cases();
  assert.ok(all.length > 200, `only ${all.length} cases`);
  const failures: string[] = [];
  for (const [name, table] of all) {
    let text: string;
    try {
      text = doc(table);
      const { model } = validateText(text, "in.toml");
      const ctx = model.contexts[0];
      const exported = renderContext(ctx); // what `context export` writes
      const imported = validateText(exported, "export.toml", { standalone: true }).model.contexts[0];
      assert.deepEqual(imported, ctx);
      const shown = renderContext(ctx); // what `context inspect -f toml` prints
      const reread = parse(shown) as { context: { c: Record<string, unknown> } };
      // An empty [grpc] holds no setting and is not kept; everything else reads back as written.
      const want = { runner: "docker", ...JSON.parse(JSON.stringify(table)) };
      for (const t of [want, ...(want.node ?? [])]) if (JSON.stringify(t.grpc) === "{}") delete t.grpc;
      assert.deepEqual(JSON.parse(JSON.stringify(reread.context.c)), want);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  assert.deepEqual(failures, []);
});
