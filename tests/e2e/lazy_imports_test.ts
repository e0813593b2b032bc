/**
 * The heavy modules (grpc-js, protobuf-es and generated code, dockerode) are loaded only by the commands that
 * use them: nothing `context ls` evaluates (lib/cli/mod.ts and its static imports) may reach them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers/run.ts";

interface Info {
  modules: { specifier: string; dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[] }[];
}

const HEAVY = [
  /node_modules\/@grpc\//,
  /node_modules\/dockerode\//,
  /node_modules\/@bufbuild\//,
  /lib\/buildkit\/gen\//,
];

Deno.test("lib/cli/mod.ts statically reaches none of grpc-js, protobuf, generated code or dockerode", async () => {
  const out = await new Deno.Command(join(ROOT, "node_modules/.bin/deno"), {
    args: ["info", "--json", join(ROOT, "main.ts")],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as Info;
  const byName = new Map(info.modules.map((m) => [m.specifier, m]));
  const start = [...byName.keys()].find((s) => s.endsWith("/lib/cli/mod.ts"))!;
  const via = new Map<string, string>([[start, ""]]);
  const todo = [start];
  while (todo.length) {
    const s = todo.pop()!;
    for (const d of byName.get(s)?.dependencies ?? []) {
      const c = d.code?.specifier;
      if (!c || d.isDynamic || via.has(c)) continue;
      via.set(c, s);
      todo.push(c);
    }
  }
  const heavy = [...via.keys()].filter((s) => HEAVY.some((h) => h.test(s)));
  const chain = (s: string) => {
    const out = [];
    for (let c: string | undefined = s; c; c = via.get(c)) out.push(c.replace(`file://${ROOT}/`, ""));
    return out.join(" <- ");
  };
  assert.deepEqual(heavy.map(chain), []);
});
