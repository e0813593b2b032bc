import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DOCKER_HUB_KEY,
  dockerConfigPath,
  findAuth,
  helperFor,
  loadDockerConfig,
  parseDockerConfig,
  registryKey,
  toHostname,
} from "./docker_config.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

Deno.test("registryKey() maps every Docker Hub name to its config key and strips scheme and path elsewhere", () => {
  const table: [string, string][] = [
    ["docker.io", DOCKER_HUB_KEY],
    ["index.docker.io", DOCKER_HUB_KEY],
    ["registry-1.docker.io", DOCKER_HUB_KEY],
    ["https://index.docker.io/v1/", DOCKER_HUB_KEY],
    ["http://index.docker.io/v2/", DOCKER_HUB_KEY],
    ["docker.io/library/busybox", DOCKER_HUB_KEY],
    ["ghcr.io", "ghcr.io"],
    ["https://ghcr.io", "ghcr.io"],
    ["https://registry.example.com:5000/v2/", "registry.example.com:5000"],
    ["http://127.0.0.1:5000", "127.0.0.1:5000"],
    ["127.0.0.1:5000", "127.0.0.1:5000"],
    ["registry.example.com/some/repo", "registry.example.com"],
    ["https://[::1]:5000/v2/", "[::1]:5000"],
    // As docker/cli: no case folding and no default-port removal.
    ["https://Registry.Example.com:443/", "Registry.Example.com:443"],
    ["https://user:pw@registry.example.com/v1/", "registry.example.com"],
  ];
  for (const [input, want] of table) assert.equal(registryKey(input), want, input);
  assert.equal(toHostname("https://index.docker.io/v1/"), "index.docker.io");
});

Deno.test("dockerConfigPath() prefers $DOCKER_CONFIG, then ~/.docker", () => {
  assert.equal(dockerConfigPath({ DOCKER_CONFIG: "/etc/dc", HOME: "/home/u" }), "/etc/dc/config.json");
  assert.equal(dockerConfigPath({ HOME: "/home/u" }), "/home/u/.docker/config.json");
  assert.equal(dockerConfigPath({ DOCKER_CONFIG: "", HOME: "/home/u" }), "/home/u/.docker/config.json");
});

Deno.test("parseDockerConfig() decodes auth, username/password and identitytoken entries", () => {
  const c = parseDockerConfig(JSON.stringify({
    auths: {
      "a.example": { auth: b64("alice:s3cr:et") },
      "b.example": { username: "bob", password: "pw" },
      "c.example": { auth: b64("carol:from-auth"), username: "ignored", password: "ignored" },
      "d.example": { identitytoken: "tok", auth: b64("dave:pw") },
      "e.example": { auth: b64("eve:pw\0\0") },
      "f.example": {},
      "g.example": null,
    },
    credHelpers: { "gcr.io": "gcloud" },
    credsStore: "desktop",
  }));
  assert.deepEqual(c.auths.get("a.example"), { username: "alice", password: "s3cr:et", identityToken: "" });
  assert.deepEqual(c.auths.get("b.example"), { username: "bob", password: "pw", identityToken: "" });
  assert.deepEqual(c.auths.get("c.example"), { username: "carol", password: "from-auth", identityToken: "" });
  assert.deepEqual(c.auths.get("d.example"), { username: "dave", password: "pw", identityToken: "tok" });
  assert.equal(c.auths.get("e.example")?.password, "pw");
  assert.deepEqual(c.auths.get("f.example"), { username: "", password: "", identityToken: "" });
  assert.equal(c.auths.has("g.example"), false);
  assert.equal(c.credHelpers.get("gcr.io"), "gcloud");
  assert.equal(c.credsStore, "desktop");
});

Deno.test("parseDockerConfig() reads field names case-insensitively, as Go's encoding/json does", () => {
  const c = parseDockerConfig(`{"Auths":{"x":{"IdentityToken":"t","Username":"u"}},"CredsStore":"pass"}`);
  assert.equal(c.auths.get("x")?.identityToken, "t");
  assert.equal(c.auths.get("x")?.username, "u");
  assert.equal(c.credsStore, "pass");
});

Deno.test("parseDockerConfig() accepts an empty file and a config without credentials", () => {
  for (const text of ["", "  \n", "{}", `{"auths":{},"psFormat":"x","proxies":{}}`]) {
    const c = parseDockerConfig(text);
    assert.equal(c.auths.size, 0);
    assert.equal(c.credsStore, "");
  }
});

Deno.test("parseDockerConfig() errors name the fault but never the secret", () => {
  const cases: [string, RegExp][] = [
    [`{"auths":{"r":{"auth":"hunter2!"}}}`, /^auths\["r"\]\.auth is not valid base64$/],
    [
      `{"auths":{"r":{"auth":"${b64("nocolon-hunter2")}"}}}`,
      /^auths\["r"\]\.auth does not decode to "username:password"$/,
    ],
    [`{"auths":{"r":{"auth":"${b64(":hunter2")}"}}}`, /does not decode to/],
    [`{"auths":{"r":{"password":42}}}`, /^auths\["r"\]\.password is not a string$/],
    [`{"auths":[]}`, /^"auths" is not an object$/],
    [`{"auths":{"r":"hunter2"}}`, /^auths\["r"\] is not an object$/],
    [`{"credHelpers":{"r":1}}`, /credHelpers\["r"\] is not a string/],
    [`{"auths":{"r":{"password":"hunter2"}}`, /^not valid JSON$/],
    [`[1]`, /^not a JSON object$/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseDockerConfig(text), (err: Error) => {
      assert.match(err.message, re, text);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  }
});

Deno.test("findAuth() takes the exact key, else a legacy key naming the same registry", () => {
  const c = parseDockerConfig(JSON.stringify({
    auths: {
      "https://legacy.example/v1/": { username: "legacy", password: "p" },
      "http://both.example": { username: "url", password: "p" },
      "both.example": { username: "exact", password: "p" },
      "docker.io": { username: "hub", password: "p" },
    },
  }));
  assert.equal(findAuth(c, "legacy.example")?.username, "legacy");
  assert.equal(findAuth(c, "both.example")?.username, "exact");
  assert.equal(findAuth(c, DOCKER_HUB_KEY)?.username, "hub");
  assert.equal(findAuth(c, "other.example"), undefined);
});

Deno.test("helperFor() prefers credHelpers for the key over credsStore", () => {
  const c = parseDockerConfig(JSON.stringify({ credHelpers: { "gcr.io": "gcloud" }, credsStore: "desktop" }));
  assert.equal(helperFor(c, "gcr.io"), "gcloud");
  assert.equal(helperFor(c, "ghcr.io"), "desktop");
  assert.equal(helperFor(parseDockerConfig("{}"), "ghcr.io"), "");
});

Deno.test("loadDockerConfig(): a missing file is empty; a broken one names its path", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-dc-"));
  try {
    const empty = await loadDockerConfig({ DOCKER_CONFIG: dir });
    assert.equal(empty.auths.size, 0);
    assert.equal(empty.path, join(dir, "config.json"));
    writeFileSync(join(dir, "config.json"), `{"auths":{"r":{"auth":"x"}}}`);
    await assert.rejects(loadDockerConfig({ DOCKER_CONFIG: dir }), {
      message: `${join(dir, "config.json")}: auths["r"].auth is not valid base64`,
    });
    writeFileSync(join(dir, "config.json"), `{"auths":{"r":{"auth":"${b64("u:p")}"}}}`);
    assert.equal((await loadDockerConfig({ DOCKER_CONFIG: dir })).auths.get("r")?.username, "u");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
