/**
 * `envd-lite build` with the flags CI pipelines pass to `docker buildx build`, on the compiled binary against the
 * real buildkitd, registry and dockerd; where buildx v0.38.2 can run the same build, its result is compared.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "../../lib/cli/build.ts";
import { busybox, docker, manifest, peers, REG, workspace } from "../helpers/build_workspace.ts";
import { buildx } from "../helpers/buildx.ts";
import { startPrivateBuildkitd } from "../helpers/private_buildkitd.ts";
import { errorOf, ROOT, run } from "../helpers/run.ts";

const EPOCH = ["--build-arg", "SOURCE_DATE_EPOCH=1700000000"];
// buildx adds a min provenance attestation unless told not to; envd-lite adds none unless asked (README).
const BUILDX_ENV = { BUILDX_NO_DEFAULT_ATTESTATIONS: "1" };

function withoutPrefix(md: Record<string, unknown>, prefix: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(md).filter(([k]) => !k.startsWith(prefix)));
}

/** A pushed image index's shape: its annotations, platforms, and its attestation manifest's predicate types. */
async function attested(repo: string, tag: string) {
  const index = (await manifest(repo, tag)).doc as {
    mediaType: string;
    annotations?: Record<string, string>;
    manifests: { digest: string; annotations?: Record<string, string>; platform?: { os: string } }[];
  };
  const att = index.manifests.find((d) =>
    d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest"
  );
  assert.ok(att, JSON.stringify(index));
  const am = (await manifest(repo, att.digest)).doc as { layers: { annotations: Record<string, string> }[] };
  return {
    mediaType: index.mediaType,
    index: index.annotations,
    platforms: index.manifests.map((d) => d.platform?.os),
    predicates: am.layers.map((l) => l.annotations["in-toto.io/predicate-type"]),
  };
}

Deno.test("--push with -t twice, --metadata-file, --iidfile and -q match buildx's on the same build", async () => {
  using w = await workspace({
    "Dockerfile": "FROM scratch\nCOPY f /f\n",
    "f": randomBytes(16).toString("hex"),
  });
  using bx = await buildx(peers.buildkitTcp);
  const repo = `envd-lite-flags/md`;
  const tag = randomBytes(4).toString("hex");
  const args = ["-t", `${REG}/${repo}:${tag}`, "-t", `${REG}/${repo}:${tag}-b`, "--push", ...EPOCH];
  const f = (n: string) => join(w.home, n);
  const ours = await w.build([...args, "--metadata-file", f("ours.json"), "--iidfile", f("ours.iid")]);
  assert.equal(ours.code, 0, ours.stderr);
  const theirs = await bx.build(
    [...args, "--metadata-file", f("theirs.json"), "--iidfile", f("theirs.iid"), w.dir],
    BUILDX_ENV,
  );
  assert.equal(theirs.code, 0, theirs.stderr);
  const a = JSON.parse(readFileSync(f("ours.json"), "utf8"));
  const b = JSON.parse(readFileSync(f("theirs.json"), "utf8"));
  assert.match(a["envd-lite.build.ref"], /^[0-9a-z]{25}$/);
  assert.deepEqual(withoutPrefix(a, "envd-lite."), withoutPrefix(b, "buildx."));
  // Key by key what the issue names: the descriptor decoded, the digest the registry serves, both names.
  assert.equal(typeof a["containerimage.descriptor"], "object");
  assert.equal(a["containerimage.descriptor"].digest, a["containerimage.digest"]);
  assert.equal(a["image.name"], `${REG}/${repo}:${tag},${REG}/${repo}:${tag}-b`);
  assert.match(a["containerimage.config.digest"], /^sha256:[0-9a-f]{64}$/);
  for (const t of [tag, `${tag}-b`]) {
    assert.equal((await manifest(repo, t)).digest, a["containerimage.digest"]);
  }
  assert.equal(readFileSync(f("ours.iid"), "utf8"), readFileSync(f("theirs.iid"), "utf8"));
  assert.equal(readFileSync(f("ours.iid"), "utf8"), a["containerimage.config.digest"]);
  // -q: only the image ID on stdout, nothing on stderr but logs.
  const q = await w.build([...args, "-q"]);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout, `${a["containerimage.config.digest"]}\n`);
  assert.doesNotMatch(q.stderr, /#\d+ /);
});

Deno.test("--label and --annotation (buildx's forms and levels) give buildx's manifest", async () => {
  using w = await workspace({
    "Dockerfile": "FROM scratch\nCOPY f /f\n",
    "f": randomBytes(16).toString("hex"),
  });
  using bx = await buildx(peers.buildkitTcp);
  const repo = "envd-lite-flags/annotated";
  const tag = randomBytes(4).toString("hex");
  const common = [
    "--label",
    "org.example.team=infra",
    "--label",
    "empty=",
    "--annotation",
    "org.example.plain=p",
    "--annotation",
    "manifest:org.example.m=m",
    "--annotation",
    "manifest[linux/amd64],manifest-descriptor:org.example.both=b",
    "--platform",
    "linux/amd64",
    ...EPOCH,
  ];
  const a = await w.build([...common, "-t", `${REG}/${repo}:${tag}`, "--push"]);
  assert.equal(a.code, 0, a.stderr);
  const b = await bx.build([...common, "-t", `${REG}/${repo}:${tag}-bx`, "--push", w.dir], BUILDX_ENV);
  assert.equal(b.code, 0, b.stderr);
  const ours = await manifest(repo, tag);
  const theirs = await manifest(repo, `${tag}-bx`);
  assert.equal(ours.digest, theirs.digest);
  const m = ours.doc as { annotations?: Record<string, string>; config: { digest: string } };
  // A platform-qualified one applies only to a manifest buildkitd keys by platform: buildx's is the same.
  assert.deepEqual(m.annotations, { "org.example.plain": "p", "org.example.m": "m" });
  const config = await (await fetch(`http://${REG}/v2/${repo}/blobs/${m.config.digest}`)).json();
  assert.deepEqual(config.config.Labels, { "org.example.team": "infra", "empty": "" });
});

Deno.test("--provenance mode=max and --attest: the pushed index carries buildkitd's attestation, as buildx's", async () => {
  using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x" });
  using bx = await buildx(peers.buildkitTcp);
  const repo = "envd-lite-flags/attested";
  const tag = randomBytes(4).toString("hex");
  const shape = (t: string) => attested(repo, t);
  const args = ["--annotation", "index:org.example.i=i", "--push"];
  const a = await w.build([...args, "-t", `${REG}/${repo}:${tag}`, "--provenance", "mode=max"]);
  assert.equal(a.code, 0, a.stderr);
  const c = await w.build([
    ...args,
    "-t",
    `${REG}/${repo}:${tag}-attest`,
    "--attest",
    "type=provenance,mode=max",
  ]);
  assert.equal(c.code, 0, c.stderr);
  const b = await bx.build([...args, "-t", `${REG}/${repo}:${tag}-bx`, "--provenance", "mode=max", w.dir]);
  assert.equal(b.code, 0, b.stderr);
  const want = await shape(`${tag}-bx`);
  assert.deepEqual(await shape(tag), want);
  assert.deepEqual(await shape(`${tag}-attest`), want);
  assert.deepEqual(want.index, { "org.example.i": "i" });
  assert.match(want.predicates[0], /^https:\/\/slsa\.dev\/provenance\//);
  // --provenance=false: a plain manifest, no index.
  const off = await w.build(["-t", `${REG}/${repo}:${tag}-off`, "--push", "--provenance=false"]);
  assert.equal(off.code, 0, off.stderr);
  assert.match(String((await manifest(repo, `${tag}-off`)).doc.mediaType), /manifest/);
});

Deno.test("--load with two tags puts both names into the runner's Docker", async () => {
  using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY f /f\nLABEL t=load\n", "f": "x" });
  const name = `envd-lite-flags/load:${randomBytes(4).toString("hex")}`;
  const r = await w.build(["--load", "-t", name, "-t", `${name}-b`]);
  assert.equal(r.code, 0, r.stderr);
  const a = await docker.getImage(name).inspect();
  const b = await docker.getImage(`${name}-b`).inspect();
  assert.equal(a.Id, b.Id);
  assert.equal(a.Config.Labels?.t, "load");
  for (const n of [name, `${name}-b`]) await docker.getImage(n).remove().catch(() => {});
});

Deno.test("RUN flags reach the step: -f -, --build-arg from env, named contexts, --add-host, --ulimit, --shm-size, --network none", async () => {
  const from = await busybox();
  const extra = randomBytes(8).toString("hex");
  using w = await workspace({ "extra/e.txt": extra, "oci/.keep": "" });
  // An OCI layout made by the oci exporter, tagged, for oci-layout://DIR:TAG.
  const ociTar = join(w.home, "oci.tar");
  writeFileSync(join(w.dir, "Dockerfile.oci"), "FROM scratch\nCOPY extra/e.txt /from-oci\n");
  const o = await w.build([
    "-f",
    join(w.dir, "Dockerfile.oci"),
    "--output",
    `type=oci,dest=${ociTar},name=layout:v1`,
  ]);
  assert.equal(o.code, 0, o.stderr);
  const ociDir = join(w.home, "layout");
  mkdirSync(ociDir);
  execFileSync("tar", ["-xf", ociTar, "-C", ociDir]);

  const dockerfile = [
    "FROM base AS run",
    "ARG FROMENV",
    'RUN mkdir /out && echo "$FROMENV" > /out/arg && cat /etc/hosts > /out/hosts && ulimit -n > /out/nofile' +
    " && df -k /dev/shm | tail -1 > /out/shm && cat /proc/net/dev > /out/netdev",
    "FROM scratch",
    "COPY --from=run /out /",
    "COPY --from=extra e.txt /extra",
    "COPY --from=ocictx /from-oci /oci",
    "",
  ].join("\n");
  const out = join(w.home, "out");
  const r = await w.build([
    "-f",
    "-",
    "--build-context",
    `base=docker-image://${from}`,
    "--build-context",
    `extra=${join(w.dir, "extra")}`,
    "--build-context",
    `ocictx=oci-layout://${ociDir}:v1`,
    "--build-arg",
    "FROMENV",
    "--add-host",
    "myhost=10.1.2.3",
    "--add-host",
    "other:10.9.9.9",
    "--ulimit",
    "nofile=512:1024",
    "--shm-size",
    "32m",
    "--network",
    "none",
    "--no-cache",
    "--output",
    `type=local,dest=${out}`,
  ], { stdin: dockerfile, env: { FROMENV: "from-the-env" } });
  assert.equal(r.code, 0, r.stderr);
  const read = (n: string) => readFileSync(join(out, n), "utf8");
  assert.equal(read("arg"), "from-the-env\n");
  assert.match(read("hosts"), /^10\.1\.2\.3\s+myhost$/m);
  assert.match(read("hosts"), /^10\.9\.9\.9\s+other$/m);
  assert.equal(read("nofile"), "512\n");
  assert.equal(read("shm").trim().split(/\s+/)[1], String(32 * 1024));
  // Only the loopback interface in a network-less step.
  const ifaces = read("netdev").split("\n").slice(2).map((l) => l.split(":")[0].trim()).filter(Boolean);
  assert.deepEqual(ifaces, ["lo"]);
  assert.equal(read("extra"), extra);
  assert.equal(read("oci"), extra);
});

Deno.test("--pull, --allow and --network host reach buildkitd (the entitlement is asked for)", async () => {
  const from = await busybox();
  using w = await workspace({
    "Dockerfile": `FROM ${from}\nRUN cat /proc/net/dev > /netdev\nFROM scratch\nCOPY --from=0 /netdev /\n`,
  });
  const out = join(w.home, "out");
  const r = await w.build([
    "--pull",
    "--network",
    "host",
    "--no-cache",
    "--output",
    `type=local,dest=${out}`,
  ]);
  // The test buildkitd does not allow network.host: it refuses by name, which shows the entitlement was sent.
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim().split("\n").at(-1)!, /network\.host is not allowed/);
  const r2 = await w.build(["--allow", "security.insecure", "--output", `type=local,dest=${out}`]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr.trim().split("\n").at(-1)!, /security\.insecure is not allowed/);

  // A daemon that allows both: the host's interfaces in a host-network step, and an insecure step runs.
  const bk = await startPrivateBuildkitd([
    "--allow-insecure-entitlement",
    "network.host",
    "--allow-insecure-entitlement",
    "security.insecure",
  ]);
  try {
    using w2 = await workspace({
      "Dockerfile": `FROM ${from}\nRUN cat /proc/net/dev > /netdev\n` +
        `RUN --security=insecure grep CapEff /proc/self/status > /caps\nRUN grep CapEff /proc/self/status > /caps-default\n` +
        `FROM scratch\nCOPY --from=0 /netdev /caps /caps-default /\n`,
    }, bk.address);
    const out2 = join(w2.home, "out");
    const ok = await w2.build([
      "--network",
      "host",
      "--allow",
      "security.insecure",
      "--output",
      `type=local,dest=${out2}`,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const ifaces = readFileSync(join(out2, "netdev"), "utf8").split("\n").slice(2).map((l) =>
      l.split(":")[0].trim()
    )
      .filter(Boolean);
    assert.ok(ifaces.length > 1, `host interfaces: ${ifaces}`);
    // The insecure step has the daemon's own capabilities (the test's, same user), not the default set.
    const capEff = (text: string) => /^CapEff:\s+(\w+)$/m.exec(text)?.[1];
    assert.notEqual(
      capEff(readFileSync(join(out2, "caps"), "utf8")),
      capEff(readFileSync(join(out2, "caps-default"), "utf8")),
    );
    assert.equal(
      capEff(readFileSync(join(out2, "caps"), "utf8")),
      capEff(readFileSync("/proc/self/status", "utf8")),
    );
  } finally {
    await bk.stop();
  }
});

Deno.test("every build flag is in --help and the README, and a bad value gets one line naming its flag", async () => {
  const help = await run(["build", "--help"]);
  assert.equal(help.code, 0);
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## build\n"), readme.indexOf("\n## Builders\n"));
  for (const f of build.flags!) {
    assert.ok(help.stdout.includes(`--${f.name}`), `--${f.name} missing from help`);
    assert.ok(section.includes(`--${f.name}`), `--${f.name} missing from the README's build section`);
  }
  using w = await workspace({ "Dockerfile": "FROM scratch\n" });
  const bad: [string[], string][] = [
    [["--label", "novalue"], "--label"],
    [["--annotation", "bogus:k=v"], "--annotation"],
    [["--annotation", "nokey"], "--annotation"],
    [["--add-host", "h=notanip"], "--add-host"],
    [["--ulimit", "nofile=x"], "--ulimit"],
    [["--shm-size", "lots"], "--shm-size"],
    [["--network", "bridge"], "--network"],
    [["--allow", "root"], "--allow"],
    [["--provenance", "mode=huge"], "--provenance"],
    [["--attest", "type=nope"], "--attest"],
    [["--build-context", "novalue"], "--build-context"],
    [["--ssh", "a="], "--ssh"],
    [["--cache-from", "type=local"], "--cache-from"],
    [["--cache-to", "type=registry"], "--cache-to"],
    [["--secret", "id=x,nope=1"], "--secret"],
    [["--progress", "fancy"], "--progress"],
    [["--output", "type=nope"], "--output"],
    [["--push"], "--push"],
    [["elsewhere"], "--path"],
    [["--metadata-file", "/nonexistent/md.json"], "--metadata-file"],
    [["--iidfile", "/tmp"], "--iidfile"],
    [["--output", "type=oci,dest=/nonexistent/x.tar"], "--output"],
  ];
  for (const [args, flag] of bad) {
    const r = await w.build(args);
    const lines = r.stderr.trim().split("\n");
    assert.ok(r.code === 1 || r.code === 2, `${args.join(" ")}: exit ${r.code}`);
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(errorOf(lines[0])?.includes(flag), `${args.join(" ")}: ${lines[0]}`);
  }
  const missing = await w.build(["--ssh", "default"], { env: { SSH_AUTH_SOCK: join(w.home, "none.sock") } });
  assert.equal(missing.code, 1);
  assert.match(errorOf(missing.stderr)!, /^--ssh default: SSH_AUTH_SOCK .*none\.sock is not a socket/);
});

Deno.test("--sbom generator=IMAGE: buildkitd runs our own scanner image and the pushed index carries its SBOM, as buildx's", async () => {
  const from = await busybox();
  // A scanner following buildkit's protocol: it writes in-toto statements into $BUILDKIT_SCAN_DESTINATION.
  const statement = JSON.stringify({
    _type: "https://in-toto.io/Statement/v0.1",
    predicateType: "https://spdx.dev/Document",
    predicate: { spdxVersion: "SPDX-2.3", name: "envd-lite-test", SPDXID: "SPDXRef-DOCUMENT" },
  });
  using g = await workspace({
    "Dockerfile": `FROM ${from}\nCOPY scan.sh /scan.sh\nENTRYPOINT ["/bin/sh", "/scan.sh"]\n`,
    "scan.sh":
      `test -e "$BUILDKIT_SCAN_SOURCE" || exit 3\ncat > "$BUILDKIT_SCAN_DESTINATION/sbom.spdx.json" <<'X'\n${statement}\nX\n`,
  });
  const gen = `${REG}/envd-lite-flags/scanner:${randomBytes(4).toString("hex")}`;
  const made = await g.build(["-t", gen, "--push"]);
  assert.equal(made.code, 0, made.stderr);

  using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "sbom" });
  using bx = await buildx(peers.buildkitTcp);
  const repo = "envd-lite-flags/sbom";
  const tag = randomBytes(4).toString("hex");
  const layers = async (t: string) => (await attested(repo, t)).predicates;
  const a = await w.build(["-t", `${REG}/${repo}:${tag}`, "--push", "--sbom", `generator=${gen}`]);
  assert.equal(a.code, 0, a.stderr);
  const b = await bx.build(
    ["-t", `${REG}/${repo}:${tag}-bx`, "--push", "--sbom", `generator=${gen}`, w.dir],
    BUILDX_ENV,
  );
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(await layers(tag), ["https://spdx.dev/Document"]);
  assert.deepEqual(await layers(tag), await layers(`${tag}-bx`));
  // A generator that is not there: one line naming it.
  const missing = await w.build([
    "--sbom",
    `generator=${REG}/envd-lite-flags/no-scanner:1`,
    "-o",
    "type=cacheonly",
  ]);
  assert.equal(missing.code, 1);
  assert.match(
    errorOf(missing.stderr.trim().split("\n").at(-1)!)!,
    /^build failed: .*envd-lite-flags\/no-scanner:1: not found$/,
  );
});

Deno.test("a CI line (build-push-action's shape) runs unchanged: same image, metadata file and cache as buildx", async () => {
  const from = await busybox();
  using w = await workspace({
    "Dockerfile": `FROM ${from}\nARG VERSION\nRUN echo "$VERSION" > /version\nCOPY app.txt /app/\n`,
    "app.txt": randomBytes(16).toString("hex"),
  });
  using bx = await buildx(peers.buildkitTcp);
  const image = `${REG}/envd-lite-flags/ci:${randomBytes(4).toString("hex")}`;
  const f = (n: string) => join(w.home, n);
  const line = (who: string) => [
    "--push",
    "-t",
    image,
    "--label",
    "org.opencontainers.image.revision=0123abc",
    "--build-arg",
    "VERSION=1.2.3",
    ...EPOCH,
    "--platform",
    "linux/amd64",
    "--provenance=false",
    "--cache-to",
    `type=local,dest=${f(`cache-${who}`)},mode=max`,
    "--metadata-file",
    f(`${who}.json`),
    "-f",
    "Dockerfile",
    ".",
  ];
  const ours = await run(["build", "--progress", "plain", ...line("ours")], { env: w.env, cwd: w.dir });
  assert.equal(ours.code, 0, ours.stderr);
  const theirs = await bx.build(line("buildx"), BUILDX_ENV, w.dir);
  assert.equal(theirs.code, 0, theirs.stderr);
  const a = JSON.parse(readFileSync(f("ours.json"), "utf8"));
  const b = JSON.parse(readFileSync(f("buildx.json"), "utf8"));
  // The cache manifest holds each record's creation time: equal in kind, not in bytes (its layers are compared).
  const cacheManifest = (md: Record<string, string>) => JSON.parse(md["cache.manifest"]).mediaType;
  assert.equal(cacheManifest(a), cacheManifest(b));
  delete a["cache.manifest"];
  delete b["cache.manifest"];
  assert.deepEqual(withoutPrefix(a, "envd-lite."), withoutPrefix(b, "buildx."));
  assert.equal(
    (await manifest("envd-lite-flags/ci", image.split(":").at(-1)!)).digest,
    a["containerimage.digest"],
  );
  const index = (who: string) => JSON.parse(readFileSync(join(f(`cache-${who}`), "index.json"), "utf8"));
  const cacheLayers = (who: string) => {
    const m = index(who).manifests[0];
    const doc = JSON.parse(readFileSync(join(f(`cache-${who}`), "blobs", ...m.digest.split(":")), "utf8"));
    return doc.layers.map((l: { digest: string }) => l.digest);
  };
  assert.deepEqual(
    index("ours").manifests.map((m: Desc) => m.annotations),
    index("buildx").manifests.map((m: Desc) => m.annotations),
  );
  assert.deepEqual(cacheLayers("ours"), cacheLayers("buildx"));
});

interface Desc {
  annotations?: Record<string, string>;
}

Deno.test("--call check (and --check) prints the frontend's checks exactly as buildx does, with its exit code", async () => {
  using bx = await buildx(peers.buildkitTcp);
  const cases = {
    clean: "FROM scratch\nCOPY Dockerfile /\n",
    warnings: "from scratch as base\nCOPY Dockerfile /\nFROM base AS Final\nENV a b\n",
  };
  for (const [name, dockerfile] of Object.entries(cases)) {
    using w = await workspace({ "Dockerfile": dockerfile });
    for (const flag of [["--call", "check"], ["--check"]]) {
      const ours = await run(["build", "--progress", "quiet", ...flag, "."], { env: w.env, cwd: w.dir });
      const theirs = await bx.build(["--progress", "quiet", ...flag, "."], {}, w.dir);
      assert.equal(ours.stdout, theirs.stdout, `${name} ${flag}`);
      assert.equal(ours.code, theirs.code, `${name} ${flag}: ${ours.stderr}`);
      assert.equal(ours.code, name === "clean" ? 0 : 1);
    }
  }
  // A Dockerfile that cannot be checked: an error naming the line, as buildx fails too.
  using w = await workspace({ "Dockerfile": "FROM scratch\nFROB x\n" });
  const bad = await run(["build", "--progress", "quiet", "--check", "."], { env: w.env, cwd: w.dir });
  const theirs = await bx.build(["--progress", "quiet", "--check", "."], {}, w.dir);
  assert.equal(bad.code, 1);
  assert.notEqual(theirs.code, 0);
  assert.match(errorOf(bad.stderr.trim().split("\n").at(-1)!)!, /unknown instruction: FROB/);
});

Deno.test("--platform with two platforms: the same index as buildx's, platform-qualified annotations on one manifest", async () => {
  using w = await workspace({
    "Dockerfile": "FROM scratch\nCOPY f /f\n",
    "f": randomBytes(8).toString("hex"),
  });
  using bx = await buildx(peers.buildkitTcp);
  const repo = "envd-lite-flags/multi";
  const tag = randomBytes(4).toString("hex");
  const args = [
    "--platform",
    "linux/amd64,linux/arm64",
    "--annotation",
    "manifest[linux/arm64]:org.example.arch=arm64",
    "--annotation",
    "index:org.example.i=i",
    "--push",
    ...EPOCH,
  ];
  const a = await w.build([...args, "-t", `${REG}/${repo}:${tag}`]);
  assert.equal(a.code, 0, a.stderr);
  const b = await bx.build([...args, "-t", `${REG}/${repo}:${tag}-bx`, w.dir], BUILDX_ENV);
  assert.equal(b.code, 0, b.stderr);
  const ours = await manifest(repo, tag);
  assert.equal(ours.digest, (await manifest(repo, `${tag}-bx`)).digest);
  const index = ours.doc as {
    annotations?: Record<string, string>;
    manifests: { digest: string; platform: { architecture: string } }[];
  };
  assert.deepEqual(index.annotations, { "org.example.i": "i" });
  const arch = async (a: string) => {
    const d = index.manifests.find((m) => m.platform.architecture === a)!;
    return ((await manifest(repo, d.digest)).doc as { annotations?: Record<string, string> }).annotations;
  };
  assert.deepEqual(await arch("arm64"), { "org.example.arch": "arm64" });
  assert.equal(await arch("amd64"), undefined);
});
