/**
 * The Auth and Secrets attachables served to the real buildkitd of scripts/daemons: a secret reaches
 * RUN --mount=type=secret and nowhere else, a push to the htpasswd registry needs config.json credentials, and a
 * token registry gets them through buildkitd's fallback from GetTokenAuthority to Credentials.
 *
 * The first group drives buildkitd through a session with just the attachables under test (startSession, the same
 * lean HTTP/2 server builds use) and dockerfile.v0 with an HTTP context, so no FileSync is needed. The last group
 * is the same through `envd-lite build`.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { openBuildConnection } from "../../lib/buildkit/build_connection.ts";
import { startSession } from "../../lib/buildkit/session/session.ts";
import { authAttachable } from "../../lib/buildkit/session/auth.ts";
import { secretsAttachable } from "../../lib/buildkit/session/secrets.ts";
import type { Attachable } from "../../lib/buildkit/session/types.ts";
import { daemons } from "../helpers/daemons.ts";
import { workspace } from "../helpers/build_workspace.ts";

const peers = daemons();
const REG = peers.registry;
const AUTH = peers.registryAuth;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

// ---------------------------------------------------------------------------------------------------------------
// Test fixtures: a file server for contexts and busybox, a stand-in session, registry reads.

/** Serves files from memory on 127.0.0.1, so buildkitd can fetch the Dockerfile (as an HTTP context) and busybox. */
async function fileServer(): Promise<
  { url(name: string, body: Buffer | string): string; close(): Promise<void> }
> {
  const files = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? "");
    res.writeHead(body ? 200 : 404, { "content-type": "application/octet-stream" }).end(body);
  });
  const port = await listen(server);
  return {
    url(name, body) {
      // Unique paths: buildkitd caches HTTP sources by URL.
      const path = `/${randomUUID()}/${name}`;
      files.set(path, Buffer.from(body));
      return `http://127.0.0.1:${port}${path}`;
    },
    close: () => closeServer(server),
  };
}

interface BuildResult {
  error: string;
  /** Every vertex name, error and log line buildkitd reported on Status. */
  progress: string;
  exporterResponse: Record<string, string>;
}

/** One dockerfile.v0 build on the real buildkitd, its session serving just `attachables` (and Health). */
async function solve(
  dockerfileUrl: string,
  attachables: Attachable[],
  exporter?: { type: string; attrs: Record<string, string> },
): Promise<BuildResult> {
  const conn = await openBuildConnection({
    kind: "address",
    target: peers.buildkitTcp,
    display: `tcp://${peers.buildkitTcp}`,
  });
  const client = conn.client;
  const session = startSession(conn.session, attachables);
  const sessionId = session.id;
  const ref = randomUUID();
  const progress: string[] = [];
  const status = (async () => {
    try {
      for await (const s of client.status(ref)) {
        for (const v of s.vertexes) progress.push(v.name, v.error);
        for (const l of s.logs) progress.push(Buffer.from(l.msg).toString("utf8"));
      }
    } catch { /* a failed build ends Status with the same error as Solve */ }
  })();
  let error = "";
  let exporterResponse: Record<string, string> = {};
  try {
    const res = await client.solve({
      ref,
      session: sessionId,
      frontend: "dockerfile.v0",
      frontendAttrs: { context: dockerfileUrl },
      ...(exporter
        ? {
          exporters: [exporter],
          exporterDeprecated: exporter.type,
          exporterAttrsDeprecated: exporter.attrs,
        }
        : {}),
    });
    exporterResponse = res.exporterResponse;
  } catch (err) {
    error = (err as Error).message;
  }
  await status;
  await session.close();
  await conn.close();
  return { error, progress: progress.join("\n"), exporterResponse };
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

/** Every byte of an image in a registry: manifests, config, and each layer decompressed. */
async function imageBytes(registry: string, repo: string, tag: string, auth?: string): Promise<Buffer[]> {
  const headers: Record<string, string> = {
    accept: MANIFEST_TYPES,
    ...(auth ? { authorization: auth } : {}),
  };
  const get = async (path: string) => {
    const r = await fetch(`http://${registry}/v2/${repo}/${path}`, { headers });
    assert.equal(r.status, 200, `GET ${path}: ${r.status}`);
    return Buffer.from(await r.arrayBuffer());
  };
  const out: Buffer[] = [];
  let manifest = await get(`manifests/${tag}`);
  out.push(manifest);
  let doc = JSON.parse(manifest.toString());
  if (doc.manifests) {
    manifest = await get(`manifests/${doc.manifests[0].digest}`);
    out.push(manifest);
    doc = JSON.parse(manifest.toString());
  }
  out.push(await get(`blobs/${doc.config.digest}`));
  for (const layer of doc.layers) {
    const blob = await get(`blobs/${layer.digest}`);
    out.push(blob, /gzip/.test(layer.mediaType) ? gunzipSync(blob) : blob);
  }
  return out;
}

function listen(server: Server): Promise<number> {
  return new Promise((res) =>
    server.listen(0, "127.0.0.1", () => res((server.address() as { port: number }).port))
  );
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((res) => server.close(() => res()));
}

/** A DOCKER_CONFIG dir holding `config`; removed by the returned cleanup. */
function dockerConfig(config: unknown): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-dockercfg-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const files = await fileServer();
const busyboxUrl = files.url("busybox", readFileSync("/bin/busybox"));
// A scratch image with busybox: RUN needs a shell, and the daemons' registries hold no base image.
const withBusybox = (run: string) =>
  `FROM scratch\nADD --chmod=755 ${busyboxUrl} /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n${run}\n`;

// ---------------------------------------------------------------------------------------------------------------

Deno.test("a secret reaches RUN --mount=type=secret and appears nowhere in the image or the build's output", async () => {
  const secret = `tok-${randomBytes(12).toString("hex")}`;
  const envSecret = `env-${randomBytes(12).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-secret-"));
  writeFileSync(join(dir, "tok"), secret);
  const logs: string[] = [];
  const tag = randomUUID().slice(0, 8);
  try {
    const dockerfile = withBusybox(
      [
        // Prove delivery by digest and length, never by printing the value. The secret is not part of the cache
        // key, so the nonce keeps an earlier run's layer from standing in for this one.
        "RUN --mount=type=secret,id=tok --mount=type=secret,id=envtok " +
        `sha256sum /run/secrets/tok /run/secrets/envtok > /sums && wc -c < /run/secrets/tok && : ${tag}`,
        // An optional secret nobody provided: NOT_FOUND lets buildkitd skip the mount instead of failing.
        `RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo absent-was-skipped && : ${tag}`,
      ].join("\n"),
    );
    const r = await solve(
      files.url("Dockerfile", dockerfile),
      [
        secretsAttachable([{ id: "tok", src: join(dir, "tok") }, { id: "envtok", env: "E2E_SECRET" }], {
          E2E_SECRET: envSecret,
        }, { log: (m) => logs.push(m) }),
        authAttachable({ env: { DOCKER_CONFIG: dir }, log: (m) => logs.push(m) }),
      ],
      { type: "image", attrs: { name: `${REG}/envd-lite-e2e/secret:${tag}`, push: "true" } },
    );
    assert.equal(r.error, "", r.progress);
    assert.match(r.progress, new RegExp(`^${secret.length}$`, "m"));
    assert.match(r.progress, /^absent-was-skipped$/m);
    assert.ok(
      logs.includes(`secrets: tok sent (${secret.length} bytes from ${join(dir, "tok")})`),
      logs.join("\n"),
    );
    assert.ok(logs.includes("secrets: absent requested, not provided"), logs.join("\n"));
    // buildkitd also asks for optional secrets of its own (HTTP_AUTH_HEADER_<host> for ADD <url>): NOT_FOUND again.
    assert.ok(
      logs.some((l) => /^secrets: HTTP_AUTH_(HEADER|TOKEN)_127\.0\.0\.1 requested, not provided$/.test(l)),
    );

    const image = await imageBytes(REG, "envd-lite-e2e/secret", tag);
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    const all = Buffer.concat(image);
    assert.ok(all.includes(`${sha(secret)}  /run/secrets/tok`), "the RUN saw the file secret");
    assert.ok(all.includes(`${sha(envSecret)}  /run/secrets/envtok`), "the RUN saw the env secret");
    for (const s of [secret, envSecret]) {
      assert.ok(!all.includes(s), "secret in the image");
      assert.ok(!r.progress.includes(s), "secret in the build output");
      assert.ok(!logs.join("\n").includes(s), "secret in our log");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a required secret that was not provided fails the build naming its id", async () => {
  const r = await solve(
    files.url(
      "Dockerfile",
      withBusybox(`RUN --mount=type=secret,id=missing,required=true : ${randomUUID()}`),
    ),
    [secretsAttachable([], {})],
  );
  assert.match(r.error, /secret missing( not found|: not found)/);
});

Deno.test("push to the htpasswd registry: config.json credentials or a helper succeed, none gets 401", async () => {
  const repo = "envd-lite-e2e/auth";
  const dockerfile = files.url(
    "Dockerfile",
    `FROM scratch\nADD ${files.url("hello", `hello ${randomUUID()}`)} /hello\n`,
  );
  const push = async (config: unknown, extraPath = "") => {
    const cfg = dockerConfig(config);
    const logs: string[] = [];
    const tag = randomUUID().slice(0, 8);
    try {
      const env = { DOCKER_CONFIG: cfg.dir, PATH: `${extraPath}:/usr/bin:/bin` };
      const r = await solve(dockerfile, [authAttachable({ env, log: (m) => logs.push(m) })], {
        type: "image",
        attrs: { name: `${AUTH.address}/${repo}:${tag}`, push: "true" },
      });
      assert.ok(!`${r.error}\n${r.progress}\n${logs.join("\n")}`.includes(AUTH.password), "password leaked");
      return { ...r, logs, tag };
    } finally {
      cfg.cleanup();
    }
  };

  const withAuth = await push({
    auths: { [AUTH.address]: { auth: Buffer.from(`${AUTH.user}:${AUTH.password}`).toString("base64") } },
  });
  assert.equal(withAuth.error, "");
  assert.ok(
    withAuth.logs.includes(`auth: credentials for ${AUTH.address} found (config.json)`),
    withAuth.logs.join("\n"),
  );
  // The pushed image is really there (and needs the same credentials to read).
  await imageBytes(AUTH.address, repo, withAuth.tag, basic(AUTH.user, AUTH.password));

  // The same through a credential helper (credsStore), a real executable on PATH.
  const bin = mkdtempSync(join(tmpdir(), "envd-lite-helper-"));
  try {
    writeFileSync(
      join(bin, "docker-credential-e2e"),
      `#!/bin/sh\nurl=$(cat)\n[ "$url" = "${AUTH.address}" ] || { echo "credentials not found in native keychain"; exit 1; }\n` +
        `echo '{"ServerURL":"${AUTH.address}","Username":"${AUTH.user}","Secret":"${AUTH.password}"}'\n`,
    );
    chmodSync(join(bin, "docker-credential-e2e"), 0o755);
    const viaHelper = await push({ credsStore: "e2e" }, bin);
    assert.equal(viaHelper.error, "");
    assert.ok(viaHelper.logs.includes(`auth: credentials for ${AUTH.address} found (docker-credential-e2e)`));
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }

  const anonymous = await push({
    auths: { "other.example": { auth: Buffer.from("u:p").toString("base64") } },
  });
  assert.match(anonymous.error, /401 Unauthorized|unauthorized/i);
  assert.ok(anonymous.logs.includes(`auth: no credentials for ${AUTH.address}`), anonymous.logs.join("\n"));

  const wrong = await push({ auths: { [AUTH.address]: { username: AUTH.user, password: "wrong" } } });
  assert.match(wrong.error, /401 Unauthorized|unauthorized/i);
});

Deno.test("a Bearer-token registry: buildkitd asks GetTokenAuthority, gets UNIMPLEMENTED, then uses Credentials", async () => {
  const user = "tokuser";
  const pass = `tokpass-${randomBytes(6).toString("hex")}`;
  const tokenRequests: string[] = [];
  const bearerSeen: string[] = [];
  let port = 0;
  // Just enough of a token-auth registry: a Bearer challenge, a token endpoint taking Basic auth, and 404 behind it.
  const registry = createServer((req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization ?? "";
    if (req.url?.startsWith("/token")) {
      tokenRequests.push(auth);
      if (auth !== basic(user, pass)) return void res.writeHead(401).end();
      return void res.writeHead(200, { "content-type": "application/json" }).end(`{"token":"granted"}`);
    }
    if (auth === "Bearer granted") {
      bearerSeen.push(req.url ?? "");
      return void res.writeHead(404, { "content-type": "application/json" })
        .end(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`);
    }
    res.writeHead(401, {
      "www-authenticate":
        `Bearer realm="http://127.0.0.1:${port}/token",service="fake",scope="repository:private/img:pull"`,
      "content-type": "application/json",
    }).end(`{"errors":[{"code":"UNAUTHORIZED"}]}`);
  });
  port = await listen(registry);
  const host = `127.0.0.1:${port}`;
  const cfg = dockerConfig({ auths: { [host]: { username: user, password: pass } } });
  const logs: string[] = [];
  try {
    const r = await solve(files.url("Dockerfile", `FROM ${host}/private/img:1\n`), [
      authAttachable({ env: { DOCKER_CONFIG: cfg.dir }, log: (m) => logs.push(m) }),
    ]);
    // The image does not exist; what matters is how buildkitd got that far.
    assert.match(r.error, /not found|manifest unknown/i);
    assert.ok(
      logs.includes(`auth: GetTokenAuthority for ${host}: not served, buildkitd falls back to Credentials`),
      logs.join("\n"),
    );
    assert.ok(logs.includes(`auth: credentials for ${host} found (config.json)`), logs.join("\n"));
    assert.ok(
      logs.indexOf(`auth: GetTokenAuthority for ${host}: not served, buildkitd falls back to Credentials`) <
        logs.indexOf(`auth: credentials for ${host} found (config.json)`),
    );
    assert.ok(
      !logs.some((l) => l.startsWith("auth: FetchToken")),
      "FetchToken is only for token authorities",
    );
    // buildkitd fetched the token itself, with our credentials, and used it.
    assert.ok(tokenRequests.includes(basic(user, pass)), tokenRequests.join("\n"));
    assert.ok(bearerSeen.length > 0);
    assert.ok(!`${r.error}\n${r.progress}\n${logs.join("\n")}`.includes(pass));
  } finally {
    cfg.cleanup();
    await closeServer(registry);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The same through the CLI.

/** `envd-lite build` of `dockerfile` on the test buildkitd over tcp, in a throw-away HOME and context. */
async function cliBuild(dockerfile: string, args: string[], env: Record<string, string> = {}) {
  using w = await workspace({ "Dockerfile": dockerfile });
  return await w.build(args, { env, timeoutMs: 120_000 });
}

Deno.test({
  name:
    "envd-lite build --secret: the value reaches RUN and is absent from the image and every output, --debug too",
  async fn() {
    const secret = `cli-${randomBytes(12).toString("hex")}`;
    const dir = mkdtempSync(join(tmpdir(), "envd-lite-secret-"));
    writeFileSync(join(dir, "tok"), secret);
    const tag = randomUUID().slice(0, 8);
    try {
      const r = await cliBuild(
        withBusybox(
          "RUN --mount=type=secret,id=tok --mount=type=secret,id=envtok " +
            `sha256sum /run/secrets/tok /run/secrets/envtok > /sums && : ${tag}`,
        ),
        [
          "--debug",
          "--secret",
          `id=tok,src=${join(dir, "tok")}`,
          "--secret",
          "id=envtok,env=E2E_SECRET",
          "--output",
          `type=image,name=${REG}/envd-lite-e2e/cli-secret:${tag},push=true`,
        ],
        { E2E_SECRET: `${secret}-env` },
      );
      assert.equal(r.code, 0, r.stderr);
      const all = Buffer.concat(await imageBytes(REG, "envd-lite-e2e/cli-secret", tag));
      const sha = (s: string) => createHash("sha256").update(s).digest("hex");
      assert.ok(all.includes(`${sha(secret)}  /run/secrets/tok`));
      assert.ok(all.includes(`${sha(`${secret}-env`)}  /run/secrets/envtok`));
      assert.ok(!all.includes(secret));
      assert.ok(!`${r.stdout}\n${r.stderr}`.includes(secret));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "envd-lite build push to the htpasswd registry: succeeds with DOCKER_CONFIG credentials, 401 without",
  async fn() {
    const dockerfile = `FROM scratch\nADD ${files.url("hello", "hello")} /hello\n`;
    const out = `type=image,name=${AUTH.address}/envd-lite-e2e/cli-auth:${
      randomUUID().slice(0, 8)
    },push=true`;
    const good = dockerConfig({
      auths: { [AUTH.address]: { username: AUTH.user, password: AUTH.password } },
    });
    const empty = dockerConfig({});
    try {
      const ok = await cliBuild(dockerfile, ["--debug", "--output", out], { DOCKER_CONFIG: good.dir });
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(!`${ok.stdout}\n${ok.stderr}`.includes(AUTH.password));
      const denied = await cliBuild(dockerfile, ["--output", out], { DOCKER_CONFIG: empty.dir });
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /401 Unauthorized|unauthorized/i);
    } finally {
      good.cleanup();
      empty.cleanup();
    }
  },
});

// Deno's sanitizers want the file server gone when the last test ends.
Deno.test("(close the file server)", async () => {
  await files.close();
});
