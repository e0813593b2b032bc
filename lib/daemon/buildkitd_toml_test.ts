import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "smol-toml";
import { validateText } from "../config/mod.ts";
import { renderBuildkitdToml } from "./buildkitd_toml.ts";

const DIR = new URL("../../tests/fixtures/buildkitd_toml/", import.meta.url);
const INPUT = new URL("contexts.toml", DIR);
// ENVD_LITE_UPDATE_GOLDEN=1 rewrites the golden files from the renderer (then review the diff).
const UPDATE = Deno.env.get("ENVD_LITE_UPDATE_GOLDEN") === "1";

const { model } = validateText(readFileSync(INPUT, "utf8"), INPUT.pathname);

for (const ctx of model.contexts) {
  Deno.test(`buildkitd.toml golden: context ${ctx.name}`, () => {
    const golden = new URL(`${ctx.name}.golden`, DIR);
    const { text } = renderBuildkitdToml(ctx, "/etc/buildkit");
    if (UPDATE) writeFileSync(golden, text);
    assert.equal(text, readFileSync(golden, "utf8"));
    parse(text); // and it is TOML
  });
}

Deno.test("renderBuildkitdToml lists the files it names, under filesDir, key material marked secret", () => {
  const ctx = model.contexts.find((c) => c.name === "registries")!;
  const { files } = renderBuildkitdToml(ctx, "/d");
  assert.deepEqual(files.map((f) => [f.source, f.target, f.secret, f.origin]), [
    [
      "/etc/certs/a.pem",
      "/d/registry/self-signed.example/ca-0.pem",
      false,
      'registry."self-signed.example".ca[0]',
    ],
    [
      "certs/b.pem",
      "/d/registry/self-signed.example/ca-1.pem",
      false,
      'registry."self-signed.example".ca[1]',
    ],
    [
      "/etc/certs/client-key.pem",
      "/d/registry/self-signed.example/key-0.pem",
      true,
      'registry."self-signed.example".keypair[0].key',
    ],
    [
      "/etc/certs/client.pem",
      "/d/registry/self-signed.example/cert-0.pem",
      false,
      'registry."self-signed.example".keypair[0].cert',
    ],
    [
      "/etc/certs/other-key.pem",
      "/d/registry/self-signed.example/key-1.pem",
      true,
      'registry."self-signed.example".keypair[1].key',
    ],
    [
      "/etc/certs/other.pem",
      "/d/registry/self-signed.example/cert-1.pem",
      false,
      'registry."self-signed.example".keypair[1].cert',
    ],
    [
      "/etc/certs/c.pem",
      "/d/registry/registry.internal_5000-2/ca-0.pem",
      false,
      'registry."registry.internal_5000".ca[0]',
    ],
  ]);
});

Deno.test("renderBuildkitdToml escapes odd registry hosts and strings as TOML basic strings", () => {
  const { text } = renderBuildkitdToml({
    name: "x",
    builder: "docker-container",
    builderAddress: "b",
    runner: "docker",
    registry: { 'we"ird\\host': { mirrors: ["a\tb"] } },
  }, "/etc/buildkit");
  assert.deepEqual(JSON.parse(JSON.stringify(parse(text))), {
    registry: { 'we"ird\\host': { mirrors: ["a\tb"] } },
  });
});
