import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import {
  mergedIndex,
  normalizePlatform,
  type OpenNode,
  repoOnly,
  routePlatforms,
  stickyOrder,
} from "./fleet.ts";
import { parseName } from "./fleet_registry.ts";

const nodes = ["farm", "arm-1", "arm-2", "amd-2"].map((name) => ({ name }));

Deno.test("sticky order: stable per directory, unchanged for the rest when a node leaves, spread over nodes", () => {
  const firsts = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const key = `/src/app${i}\0/src/app${i}/Dockerfile`;
    const order = stickyOrder(key, nodes).map((n) => n.name);
    assert.deepEqual(stickyOrder(key, [...nodes].reverse()).map((n) => n.name), order);
    const without = stickyOrder(key, nodes.filter((n) => n.name !== order[0])).map((n) => n.name);
    assert.deepEqual(without, order.slice(1));
    firsts.set(order[0], (firsts.get(order[0]) ?? 0) + 1);
  }
  for (const n of nodes) assert.ok((firsts.get(n.name) ?? 0) > 50, JSON.stringify([...firsts]));
});

Deno.test("platform names: arm64/v8, aarch64 and x86_64 are the platforms buildkitd means", () => {
  assert.equal(normalizePlatform("linux/arm64/v8"), "linux/arm64");
  assert.equal(normalizePlatform("Linux/aarch64"), "linux/arm64");
  assert.equal(normalizePlatform("linux/x86_64"), "linux/amd64");
  assert.equal(normalizePlatform("linux/arm/v7"), "linux/arm/v7");
});

Deno.test("names: repository only for push-by-digest; host, repository and tag for the registry API", () => {
  assert.equal(repoOnly("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000/a/b");
  assert.equal(repoOnly("127.0.0.1:5000/a/b"), "127.0.0.1:5000/a/b");
  assert.equal(repoOnly("r.io/a@sha256:00"), "r.io/a");
  assert.deepEqual(parseName("127.0.0.1:5000/a/b:1"), { host: "127.0.0.1:5000", repo: "a/b", tag: "1" });
  assert.deepEqual(parseName("alpine"), {
    host: "registry-1.docker.io",
    repo: "library/alpine",
    tag: "latest",
  });
  assert.deepEqual(parseName("localhost/x@sha256:ab"), { host: "localhost", repo: "x", tag: "sha256:ab" });
});

// In-memory nodes for the routing decision alone (the e2e test runs it against real daemons).
function opener(up: Record<string, string[]>, calls: string[]) {
  return (name: string): Promise<OpenNode> => {
    calls.push(name);
    if (!up[name]) return Promise.reject(new UserError(`timeout 1s: cannot connect to ${name}`));
    return Promise.resolve({
      endpoint: { kind: "address", target: name, display: name },
      runner: "docker",
      platforms: up[name],
      close: () => Promise.resolve(),
    });
  };
}

Deno.test("routing: declared platforms, else reported; each node opened once; a down node is one warning", async () => {
  const fleet = [{ name: "farm" }, { name: "arm-1", platforms: ["linux/arm64"] }, {
    name: "ghost",
    platforms: ["linux/arm64", "linux/amd64"],
  }];
  const key = "/k\0/k/Dockerfile";
  const calls: string[] = [];
  const warnings: string[] = [];
  const { shares } = await routePlatforms(
    key,
    ["linux/amd64", "linux/arm64"],
    fleet,
    opener({ farm: ["linux/amd64"], "arm-1": ["linux/amd64", "linux/arm64"] }, calls),
    { warn: (m) => warnings.push(m) },
  );
  // amd64: farm (ghost, its only other candidate, is down); arm64: arm-1.
  assert.equal(shares.find((s) => s.platforms.includes("linux/amd64"))?.node, "farm");
  assert.equal(shares.find((s) => s.platforms.includes("linux/arm64"))?.node, "arm-1");
  assert.equal(calls.filter((c) => c === "ghost").length, warnings.length);
  assert.ok(warnings.every((w) => /^node ghost skipped: timeout 1s: cannot connect to ghost$/.test(w)));
  assert.equal(new Set(calls).size, calls.length, "each node is opened at most once");
});

Deno.test("routing: the errors name the platform and every node tried, or every node when none has it", async () => {
  const fleet = [{ name: "a", platforms: ["linux/riscv64"] }, { name: "b", platforms: ["linux/riscv64"] }, {
    name: "c",
  }];
  await assert.rejects(
    routePlatforms("/k", ["linux/riscv64"], fleet, opener({ c: ["linux/amd64"] }, []), { warn: () => {} }),
    /^UserError: no node for linux\/riscv64 answers: tried (a \(timeout 1s: cannot connect to a\), b \(.*\)|b \(.*\), a \(.*\))$/,
  );
  await assert.rejects(
    routePlatforms("/k", ["linux/s390x"], fleet, opener({ c: ["linux/amd64"] }, []), { warn: () => {} }),
    /^UserError: no node builds linux\/s390x: nodes a \(linux\/riscv64\), b \(linux\/riscv64\), c \(linux\/amd64\)$/,
  );
});

Deno.test("the merged index: a node's manifest gets its platform, a node's index gives its manifests", async () => {
  const manifestBody = new TextEncoder().encode('{"schemaVersion":2}');
  const inner = {
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: "sha256:b1",
        size: 3,
        platform: { os: "linux", architecture: "arm", variant: "v7" },
      },
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: "sha256:b2",
        size: 4,
        annotations: { "vnd.docker.reference.type": "attestation-manifest" },
      },
    ],
  };
  const got = await mergedIndex("r/x", [
    { share: { node: "a", platforms: ["linux/arm64/v8"] }, digest: "sha256:a" },
    { share: { node: "b", platforms: ["linux/arm/v7", "linux/riscv64"] }, digest: "sha256:b" },
  ], (_repo, digest) =>
    Promise.resolve(
      digest === "sha256:a"
        ? { mediaType: "application/vnd.oci.image.manifest.v1+json", body: manifestBody }
        : {
          mediaType: "application/vnd.oci.image.index.v1+json",
          body: new TextEncoder().encode(JSON.stringify(inner)),
        },
    ));
  const doc = JSON.parse(new TextDecoder().decode(got.body));
  assert.equal(got.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.deepEqual(doc.manifests.map((m: { digest: string }) => m.digest), [
    "sha256:a",
    "sha256:b1",
    "sha256:b2",
  ]);
  assert.deepEqual(doc.manifests[0].platform, { architecture: "arm64", os: "linux" });
  assert.equal(doc.manifests[0].size, manifestBody.length);
  assert.match(got.digest, /^sha256:[0-9a-f]{64}$/);
});
