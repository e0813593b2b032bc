/**
 * Our key table against buildkitd's own: scripts/buildkitd_keys.go lists every key of buildkitd v0.29.0's config
 * types (from the Go source in the module cache, put there by scripts/install_peers), and each must be accepted
 * here with the same name and type, or be listed in the README as not meaningful for a client, with a reason.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CONTEXT_SPEC, type KeySpec } from "./schema.ts";

const ROOT = resolve(import.meta.dirname!, "../..");
const VERSION =
  /^BUILDKIT_VERSION=(\S+)/m.exec(readFileSync(join(ROOT, "scripts/install_peers"), "utf8"))![1];

function theirKeys(): Map<string, string> {
  const cache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  const dir = join(cache, `github.com/moby/buildkit@${VERSION}`);
  const out = execFileSync("go", ["run", join(ROOT, "scripts/buildkitd_keys.go"), dir], { encoding: "utf8" });
  return new Map(out.trim().split("\n").map((l) => l.split("\t") as [string, string]));
}

const part = (k: string) => (k.includes(".") ? JSON.stringify(k) : k);

/** Our buildkitd keys in the generator's notation (`a.b`, `a[].b`, `a.*`), envd-lite's own keys left out. */
function ourKeys(spec: KeySpec, path = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (spec.kind === "table" || spec.kind === "tables") {
    const base = spec.kind === "tables" ? `${path}[]` : path;
    for (const [k, sub] of Object.entries(spec.keys)) {
      if (sub.client) continue;
      const p = base ? `${base}.${part(k)}` : part(k);
      for (const [kk, v] of ourKeys(sub, p)) out.set(kk, v);
      if (sub.kind !== "table" && sub.kind !== "tables" && sub.kind !== "map") out.set(p, sub.kind);
    }
  } else if (spec.kind === "map") {
    const p = `${path}.*`;
    for (const [kk, v] of ourKeys(spec.value, p)) out.set(kk, v);
    if (spec.value.kind !== "table" && spec.value.kind !== "tables") out.set(p, spec.value.kind);
  }
  return out;
}

/** The README's list of buildkitd keys that mean nothing in a client's file: key (or table) → reason. */
function notMeaningful(): Map<string, string> {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const m = /<!-- buildkitd-keys-not-meaningful -->([\s\S]*?)<!-- \/buildkitd-keys-not-meaningful -->/.exec(
    readme,
  );
  assert.ok(m, "README.md has the not-meaningful key list between its markers");
  const rows = [...m[1].matchAll(/^\| `([^`]+)` \| (.+?) \|$/gm)];
  return new Map(rows.map((r) => [r[1], r[2].trim()]));
}

const covers = (entry: string, key: string) => key === entry || key.startsWith(entry + ".");

Deno.test(`every key of buildkitd ${VERSION}'s config is ours with its type, or in the README with a reason`, () => {
  const theirs = theirKeys();
  const ours = ourKeys(CONTEXT_SPEC);
  const listed = notMeaningful();
  assert.ok(theirs.size > 80, `the generator found only ${theirs.size} keys`);

  const wrongType = [...ours].filter(([k, v]) => theirs.has(k) && theirs.get(k) !== v);
  assert.deepEqual(wrongType.map(([k, v]) => `${k}: ours ${v}, buildkitd ${theirs.get(k)}`), []);
  const notTheirs = [...ours.keys()].filter((k) => !theirs.has(k));
  assert.deepEqual(notTheirs, [], "keys we take as buildkitd's that it does not have (mark them client)");

  const uncovered = [...theirs.keys()].filter((k) =>
    !ours.has(k) && ![...listed.keys()].some((e) => covers(e, k))
  );
  assert.deepEqual(uncovered, [], "buildkitd keys neither accepted nor listed in the README");
  for (const [entry, reason] of listed) {
    assert.ok(
      [...theirs.keys()].some((k) => covers(entry, k)),
      `README lists "${entry}", not a buildkitd key`,
    );
    assert.ok(![...ours.keys()].some((k) => covers(entry, k)), `README lists "${entry}", which we accept`);
    assert.ok(reason.length > 10, `README gives "${entry}" a reason`);
  }
});
