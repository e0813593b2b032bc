/**
 * Build caches through envd-lite on the compiled binary: `type=local` served by the session content store, proven
 * across two buildkitds and against buildx v0.38.2 both ways; gha and s3 handed to buildkitd, which is shown
 * calling the endpoint they name (a loopback HTTP server: GitHub and AWS cannot be reached here).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { busybox, peers, workspace } from "../helpers/build_workspace.ts";
import { buildx } from "../helpers/buildx.ts";
import { startPrivateBuildkitd } from "../helpers/private_buildkitd.ts";

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** Check `dir` is an OCI layout whose `latest` reaches only blobs that are there, with their digests and sizes. */
function checkLayout(dir: string): { index: { manifests: Desc[] }; manifest: { layers: Desc[] } } {
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8")), {
    imageLayoutVersion: "1.0.0",
  });
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const blob = (d: Desc) => {
    const data = readFileSync(join(dir, "blobs", ...d.digest.split(":")));
    assert.equal(data.length, d.size, d.digest);
    assert.equal(`sha256:${createHash("sha256").update(data).digest("hex")}`, d.digest);
    return data;
  };
  const latest = index.manifests.filter((m: Desc) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === "latest"
  );
  assert.equal(latest.length, 1, JSON.stringify(index));
  const manifest = JSON.parse(blob(latest[0]).toString());
  for (const l of manifest.layers) blob(l);
  if (manifest.config) blob(manifest.config);
  return { index, manifest };
}

function pruneAll(address: string): void {
  execFileSync(peers.buildctl, ["--addr", `tcp://${address}`, "prune", "--all"], { stdio: "ignore" });
}

Deno.test("local cache: exported by one buildkitd, RUN CACHED on a fresh one; buildx reads ours and we read buildx's", async () => {
  const from = await busybox();
  const [bk1, bk2] = await Promise.all([startPrivateBuildkitd(), startPrivateBuildkitd()]);
  try {
    const step = randomBytes(4).toString("hex");
    const dockerfile = `FROM ${from}\nRUN echo ${step} > /x\n`;
    // The RUN step's number, then that number CACHED (the imported layers' lines may come between).
    const cached = new RegExp(`#(\\d+) \\[2/2\\] RUN echo ${step} > /x\\n(?:#\\1 .*\\n)*#\\1 CACHED`);
    using w1 = await workspace({ "Dockerfile": dockerfile }, bk1.address);
    const dir = join(w1.home, "cache");
    const a = await w1.build(["--output", "type=cacheonly", "--cache-to", `type=local,dest=${dir},mode=max`]);
    assert.equal(a.code, 0, a.stderr);
    const ours = checkLayout(dir);
    assert.ok(ours.manifest.layers.length >= 2, "mode=max keeps the base and the RUN layer");
    // No half-written blob is left behind.
    assert.deepEqual(existsSync(join(dir, "ingest")) ? readdirSync(join(dir, "ingest")) : [], []);

    using w2 = await workspace({ "Dockerfile": dockerfile }, bk2.address);
    const b = await w2.build(["--output", "type=cacheonly", "--import-cache", `type=local,src=${dir}`]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, cached);

    // buildx, on the same fresh-again daemon, reads the directory we wrote.
    pruneAll(bk2.address);
    using bx = await buildx(bk2.address);
    const c = await bx.build(["--progress", "plain", "--cache-from", `type=local,src=${dir}`, w2.dir]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, cached);

    // ...and we read what buildx wrote (from the first daemon), with the same layout.
    using bx1 = await buildx(bk1.address);
    const dir2 = join(w1.home, "cache-bx");
    const d = await bx1.build([
      "--progress",
      "plain",
      "--cache-to",
      `type=local,dest=${dir2},mode=max`,
      w1.dir,
    ]);
    assert.equal(d.code, 0, d.stderr);
    const theirs = checkLayout(dir2);
    assert.deepEqual(Object.keys(theirs.index).sort(), Object.keys(ours.index).sort());
    assert.deepEqual(theirs.manifest.layers.map((l) => l.digest), ours.manifest.layers.map((l) => l.digest));
    pruneAll(bk2.address);
    const e = await w2.build(["--output", "type=cacheonly", "--cache-from", `type=local,src=${dir2}`]);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, cached);

    // A second export into the same directory re-tags latest (one entry), as buildctl's index update does.
    const f = await w1.build(["--output", "type=cacheonly", "--cache-to", `type=local,dest=${dir},mode=max`]);
    assert.equal(f.code, 0, f.stderr);
    checkLayout(dir);
  } finally {
    await Promise.all([bk1.stop(), bk2.stop()]);
  }
});

Deno.test("a missing local cache only warns, as buildctl does", async () => {
  using w = await workspace({ "Dockerfile": "FROM scratch\n" });
  const r = await w.build([
    "--output",
    "type=cacheonly",
    "--cache-from",
    `type=local,src=${join(w.home, "none")}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /local cache import at .*none skipped/);
});

/** A loopback HTTP server recording each request's method, path and authorization; answers 404. */
function recorder() {
  const seen: { method: string; path: string; auth: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    seen.push({
      method: req.method,
      path: u.pathname + u.search,
      auth: req.headers.get("authorization") ?? "",
    });
    return new Response("not here", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

Deno.test("type=gha takes url and token from the Actions runner's env, and buildkitd calls that URL", async () => {
  await using srv = recorder();
  using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY Dockerfile /\n" });
  // buildkitd parses the runtime token as a JWT: it needs `exp` and `nbf`, and reads the cache scopes from `ac`; the
  // signature is not checked.
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const token = `${b64({ alg: "HS256", typ: "JWT" })}.${
    b64({
      ac: JSON.stringify([{ Scope: "refs/heads/main", Permission: 3 }]),
      exp: Math.floor(Date.now() / 1000) + 3600,
      nbf: Math.floor(Date.now() / 1000) - 60,
      n: randomBytes(4).toString("hex"),
    })
  }.c2ln`;
  const env = { ACTIONS_CACHE_URL: `${srv.url}/`, ACTIONS_RUNTIME_TOKEN: token };
  const r = await w.build([
    "--output",
    "type=cacheonly",
    "--cache-from",
    "type=gha",
    "--cache-to",
    "type=gha",
  ], {
    env,
  });
  assert.ok(srv.seen.length > 0, `buildkitd never called the cache service: ${r.stderr}`);
  assert.ok(srv.seen.every((r) => r.auth === `Bearer ${token}`), JSON.stringify(srv.seen));
  assert.ok(srv.seen.some((r) => r.path.startsWith("/_apis/artifactcache/")), JSON.stringify(srv.seen));
  // v2 (ACTIONS_CACHE_SERVICE_V2): the results service's twirp API at ACTIONS_RESULTS_URL.
  srv.seen.length = 0;
  const v2 = {
    ACTIONS_RESULTS_URL: `${srv.url}/`,
    ACTIONS_RUNTIME_TOKEN: token,
    ACTIONS_CACHE_SERVICE_V2: "true",
  };
  await w.build(["--output", "type=cacheonly", "--cache-from", "type=gha"], { env: v2 });
  assert.ok(srv.seen.some((r) => r.path.startsWith("/twirp/")), JSON.stringify(srv.seen));
  // Without a token buildx drops a gha entry; so do we: no call at all.
  srv.seen.length = 0;
  const none = await w.build(["--output", "type=cacheonly", "--cache-from", `type=gha,url=${srv.url}/`]);
  assert.equal(none.code, 0, none.stderr);
  assert.deepEqual(srv.seen, []);
});

Deno.test("type=s3 with buildx's attrs: buildkitd signs requests to the endpoint with the env's AWS keys", async () => {
  await using srv = recorder();
  using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY Dockerfile /\n" });
  const spec =
    `type=s3,region=us-east-1,bucket=envd-lite-b,endpoint_url=${srv.url},use_path_style=true,name=x`;
  const env = { AWS_ACCESS_KEY_ID: "AKIDENVDLITE", AWS_SECRET_ACCESS_KEY: "secret" };
  await w.build(["--output", "type=cacheonly", "--cache-from", spec], { env });
  assert.ok(srv.seen.length > 0, "buildkitd never called the s3 endpoint");
  assert.ok(srv.seen.some((r) => r.path.startsWith("/envd-lite-b/")), JSON.stringify(srv.seen));
  assert.ok(srv.seen.every((r) => r.auth.includes("Credential=AKIDENVDLITE/")), JSON.stringify(srv.seen));
});
