/**
 * Start-up is a feature: what every command evaluates (lib/cli/mod.ts's static imports: all `context use` runs) and
 * everything `context ls` could ever load (its static and dynamic imports) holds no gRPC, protobuf or Docker module.
 * Read from Deno's own module graph (`deno info --json`), so no timing is involved.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname!, "../..");
const DENO = resolve(ROOT, "node_modules/.bin/deno");
const HEAVY = /node_modules\/(@grpc|@bufbuild|dockerode|docker-modem|ssh2)\/|\/lib\/buildkit\/gen\//;

interface Dep {
  code?: { specifier: string };
  isDynamic?: boolean;
}

// The driver registry names every builder type (the schema needs the names) and holds each driver's loader; only
// commands that open a builder call a loader, so its dynamic edges are not followed.
const REGISTRY = "/lib/driver/registry.ts";

/** Modules `file` evaluates: its static code imports, transitively (and the dynamic ones too with `dynamic`). */
function closure(file: string, dynamic: boolean, throughRegistry = false): Map<string, string | null> {
  const info = JSON.parse(execFileSync(DENO, ["info", "--json", resolve(ROOT, file)], { encoding: "utf8" }));
  const deps = new Map<string, Dep[]>(
    info.modules.map((m: { specifier: string; dependencies?: Dep[] }) => [m.specifier, m.dependencies ?? []]),
  );
  const parent = new Map<string, string | null>([[info.roots[0], null]]);
  const todo = [info.roots[0]];
  while (todo.length) {
    const s = todo.pop()!;
    for (const d of deps.get(s) ?? []) {
      // Type-only imports have no `code` part: they are erased.
      if (!d.code || parent.has(d.code.specifier)) continue;
      if (d.isDynamic && (!dynamic || (!throughRegistry && s.endsWith(REGISTRY)))) continue;
      parent.set(d.code.specifier, s);
      todo.push(d.code.specifier);
    }
  }
  return parent;
}

function heavyChains(graph: Map<string, string | null>): string[] {
  const rel = (s: string) => s.replace(`file://${ROOT}/`, "");
  return [...graph.keys()].filter((s) => HEAVY.test(s)).map((s) => {
    const chain = [];
    for (let x: string | null = s; x; x = graph.get(x) ?? null) chain.push(rel(x));
    return chain.join(" <- ");
  });
}

Deno.test("every command's start-up (lib/cli/mod.ts, static imports) evaluates no gRPC, protobuf or Docker module", () => {
  const graph = closure("lib/cli/mod.ts", false);
  assert.ok(graph.size > 20, "the graph was read");
  assert.deepEqual(heavyChains(graph), []);
});

// (context_use.ts also holds `context rm`, whose --remove-builder loads the builder code on purpose.)
for (const file of ["lib/cli/context_ls.ts"]) {
  Deno.test(`${file} can load no gRPC, protobuf or Docker module, not even dynamically (driver loaders aside)`, () => {
    assert.deepEqual(heavyChains(closure(file, true)), []);
  });
}

Deno.test("the check sees heavy modules where they are: build's dynamic imports reach protobuf and Docker", () => {
  const chains = heavyChains(closure("lib/cli/build.ts", true));
  assert.ok(chains.some((c) => c.includes("@bufbuild")), "protobuf reached");
  assert.ok(chains.some((c) => c.includes("dockerode")), "dockerode reached");
});

Deno.test("nothing the binary can load is grpc-js (gRPC runs on lib/h2; grpc-js is a test peer only)", () => {
  const chains = heavyChains(closure("main.ts", true, true)).filter((c) => c.includes("@grpc"));
  assert.deepEqual(chains, []);
});
