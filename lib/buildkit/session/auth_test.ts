import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveAttachable } from "../../../tests/helpers/attachable.ts";
import { authAttachable } from "./auth.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const SECRETS = ["file-pass", "hub-pass", "id-token", "helper-secret", "store-secret"];

interface Fixture {
  dir: string;
  env: Record<string, string>;
  logs: string[];
  credentials(
    host: string,
  ): Promise<{ Username: string; Secret: string } | { code: number; details: string }>;
}

/** An Auth attachable over real gRPC, with DOCKER_CONFIG holding `config` and a real helper on PATH. */
function withAuth(config: unknown, fn: (f: Fixture) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "envd-lite-auth-"));
    writeFileSync(join(dir, "config.json"), typeof config === "string" ? config : JSON.stringify(config));
    writeFileSync(
      join(dir, "docker-credential-test"),
      `#!/bin/sh
url=$(cat); echo "$1 $url" >> "${dir}/calls"
case "$url" in
  helper.example) echo '{"ServerURL":"helper.example","Username":"hu","Secret":"helper-secret"}' ;;
  store.example) echo '{"ServerURL":"store.example","Username":"su","Secret":"store-secret"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    chmodSync(join(dir, "docker-credential-test"), 0o755);
    const env = { DOCKER_CONFIG: dir, HOME: "/nonexistent", PATH: `${dir}:/usr/bin:/bin` };
    const logs: string[] = [];
    const served = await serveAttachable(authAttachable({ env, log: (m) => logs.push(m) }));
    try {
      await fn({
        dir,
        env,
        logs,
        async credentials(host) {
          const r = await served.call<{ Username: string; Secret: string }>("credentials", { Host: host });
          return r.ok
            ? { Username: r.value.Username, Secret: r.value.Secret }
            : { code: r.code, details: r.details };
        },
      });
      for (const s of SECRETS) assert.ok(!logs.join("\n").includes(s), `log leaks ${s}: ${logs.join(" | ")}`);
    } finally {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

Deno.test(
  "Credentials answers from config.json auths, Docker Hub under its historical key",
  withAuth(
    {
      auths: {
        "127.0.0.1:5000": { auth: b64("alice:file-pass") },
        "https://index.docker.io/v1/": { username: "hubuser", password: "hub-pass" },
        "https://legacy.example/v1/": { identitytoken: "id-token", username: "ignored" },
      },
    },
    async (f) => {
      assert.deepEqual(await f.credentials("127.0.0.1:5000"), { Username: "alice", Secret: "file-pass" });
      // buildkitd asks for the host it dials; docker.io's is registry-1.docker.io.
      assert.deepEqual(await f.credentials("registry-1.docker.io"), {
        Username: "hubuser",
        Secret: "hub-pass",
      });
      assert.deepEqual(await f.credentials("docker.io"), { Username: "hubuser", Secret: "hub-pass" });
      // An identity token goes out as the Secret with no Username, as docker sends it.
      assert.deepEqual(await f.credentials("legacy.example"), { Username: "", Secret: "id-token" });
      assert.deepEqual(await f.credentials("127.0.0.1:5001"), { Username: "", Secret: "" });
      assert.deepEqual(f.logs, [
        "auth: credentials for 127.0.0.1:5000 found (config.json)",
        "auth: credentials for registry-1.docker.io found (config.json)",
        "auth: credentials for docker.io found (config.json)",
        "auth: credentials for legacy.example found (config.json)",
        "auth: no credentials for 127.0.0.1:5001",
      ]);
    },
  ),
);

Deno.test(
  "Credentials runs credHelpers[host], else credsStore, once per host; their answer beats auths",
  withAuth(
    {
      auths: {
        "helper.example": { auth: b64("stale:file-pass") },
        "missing.example": { auth: b64("x:file-pass") },
      },
      credHelpers: { "helper.example": "test", "missing.example": "test" },
      credsStore: "test",
    },
    async (f) => {
      assert.deepEqual(await f.credentials("helper.example"), { Username: "hu", Secret: "helper-secret" });
      assert.deepEqual(await f.credentials("helper.example"), { Username: "hu", Secret: "helper-secret" });
      assert.deepEqual(await f.credentials("store.example"), { Username: "su", Secret: "store-secret" });
      // The helper is authoritative: its "not found" is not overridden by the auths entry (docker/cli's rule).
      assert.deepEqual(await f.credentials("missing.example"), { Username: "", Secret: "" });
      assert.deepEqual(await f.credentials("registry-1.docker.io"), { Username: "", Secret: "" });
      assert.equal(
        readFileSync(join(f.dir, "calls"), "utf8"),
        "get helper.example\nget store.example\nget missing.example\nget https://index.docker.io/v1/\n",
      );
      assert.deepEqual(f.logs.slice(0, 3), [
        "auth: credentials for helper.example found (docker-credential-test)",
        "auth: credentials for helper.example found (docker-credential-test)",
        "auth: credentials for store.example found (docker-credential-test)",
      ]);
    },
  ),
);

Deno.test(
  "Credentials fails the request, naming host and helper, when the helper cannot run",
  withAuth({ credsStore: "desktop" }, async (f) => {
    const r = await f.credentials("ghcr.io");
    assert.deepEqual(r, {
      code: grpc.status.UNKNOWN,
      details: "credentials for ghcr.io: credential helper docker-credential-desktop not found in PATH",
    });
  }),
);

Deno.test(
  "a broken config.json is reported once and the build goes on without credentials (as docker/cli)",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "envd-lite-auth-"));
    writeFileSync(join(dir, "config.json"), `{"auths":{"r":{"password":"hunter2"}`);
    const warnings: string[] = [];
    const served = await serveAttachable(
      authAttachable({ env: { DOCKER_CONFIG: dir }, warn: (m) => warnings.push(m) }),
    );
    try {
      for (const host of ["r", "s"]) {
        const r = await served.call<{ Username: string; Secret: string }>("credentials", { Host: host });
        assert.ok(r.ok);
        assert.deepEqual([r.value.Username, r.value.Secret], ["", ""]);
      }
      assert.deepEqual(warnings, [
        `ignoring registry credentials: ${join(dir, "config.json")}: not valid JSON`,
      ]);
    } finally {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

Deno.test("the token-authority methods answer UNIMPLEMENTED, so buildkitd falls back to Credentials", async () => {
  const logs: string[] = [];
  const a = authAttachable({ env: { DOCKER_CONFIG: "/nonexistent" }, log: (m) => logs.push(m) });
  assert.deepEqual(a.methods, [
    "/moby.filesync.v1.Auth/Credentials",
    "/moby.filesync.v1.Auth/FetchToken",
    "/moby.filesync.v1.Auth/GetTokenAuthority",
    "/moby.filesync.v1.Auth/VerifyTokenAuthority",
  ]);
  const served = await serveAttachable(a);
  try {
    for (const m of ["fetchToken", "getTokenAuthority", "verifyTokenAuthority"]) {
      const r = await served.call(m, { Host: "ghcr.io" });
      assert.ok(!r.ok && r.code === grpc.status.UNIMPLEMENTED, m);
    }
    assert.deepEqual(logs, [
      "auth: FetchToken for ghcr.io: not served, buildkitd falls back to Credentials",
      "auth: GetTokenAuthority for ghcr.io: not served, buildkitd falls back to Credentials",
      "auth: VerifyTokenAuthority for ghcr.io: not served, buildkitd falls back to Credentials",
    ]);
  } finally {
    await served.close();
  }
});
