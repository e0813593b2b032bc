/**
 * `envd-lite build` on the compiled binary against the real buildkitd, registry and dockerd of scripts/daemons:
 * every output kind checked at its destination, .dockerignore, failures, Ctrl-C and a dying daemon.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildctlBuildArgs } from "../helpers/buildctl.ts";
import { busybox, docker, manifest, peers, REG, tree, workspace } from "../helpers/build_workspace.ts";
import { startPrivateBuildkitd } from "../helpers/private_buildkitd.ts";
import { BIN, errorOf } from "../helpers/run.ts";

Deno.test("push, then the manifest read back from the registry's HTTP API (buildctl's and envd's forms)", async () => {
  using w = await workspace({
    "Dockerfile": "FROM scratch\nCOPY f /f\n",
    "f": randomBytes(16).toString("hex"),
  });
  const tag = randomBytes(4).toString("hex");
  const a = await w.build(["--output", `type=image,name=${REG}/envd-lite-build/push:${tag},push=true`]);
  assert.equal(a.code, 0, a.stderr);
  const b = await w.build(["--output", `type=image,${REG}/envd-lite-build/push:${tag}-envd,push=true`]);
  assert.equal(b.code, 0, b.stderr);
  const m1 = await manifest("envd-lite-build/push", tag);
  const m2 = await manifest("envd-lite-build/push", `${tag}-envd`);
  assert.equal(m1.digest, m2.digest, "the same build gives the same image");
  assert.match(a.stderr, new RegExp(`pushed ${REG}/envd-lite-build/push:${tag}.*digest="?${m1.digest}`));
});

Deno.test("type=docker loads into the runner's Docker (and is the default output there)", async () => {
  using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY f /f\nLABEL t=1\n", "f": "x" });
  const name = `envd-lite-build/load:${randomBytes(4).toString("hex")}`;
  const r = await w.build(["--output", `type=docker,name=${name}`]);
  assert.equal(r.code, 0, r.stderr);
  const info = await docker.getImage(name).inspect();
  assert.equal(info.Config.Labels?.t, "1");
  const name2 = `${name}-default`;
  const d = await w.build(["--tag", name2]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /loading the image into Docker/);
  assert.equal((await docker.getImage(name2).inspect()).Id, info.Id);
  await docker.getImage(name).remove().catch(() => {});
  await docker.getImage(name2).remove().catch(() => {});
});

Deno.test("local output file by file; .dockerignore and Dockerfile.dockerignore respected", async () => {
  using w = await workspace({
    "Dockerfile": "FROM scratch\nCOPY . /src/\n",
    ".dockerignore": "secret.txt\n**/*.log\n!logs/keep.log\n",
    "keep.txt": "keep\n",
    "secret.txt": "never sent\n",
    "logs/a.log": "no\n",
    "logs/keep.log": "yes\n",
    "sub/dir/file.bin": randomBytes(100_000),
    "build/Special.Dockerfile": "FROM scratch\nCOPY . /src/\n",
    "build/Special.Dockerfile.dockerignore": "keep.txt\nbuild\n",
  });
  const out = join(w.home, "out");
  const r = await w.build(["--output", `type=local,dest=${out}`]);
  assert.equal(r.code, 0, r.stderr);
  const got = tree(join(out, "src"));
  const want = tree(w.dir);
  for (const f of ["secret.txt", "logs/a.log"]) delete want[f];
  assert.deepEqual(got, want);
  // A named Dockerfile's own ignore file wins over .dockerignore.
  const out2 = join(w.home, "out2");
  const r2 = await w.build([
    "-f",
    join(w.dir, "build/Special.Dockerfile"),
    "--output",
    `type=local,dest=${out2}`,
  ]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(Object.keys(tree(join(out2, "src"))).sort(), [
    ".dockerignore",
    "Dockerfile",
    "logs/a.log",
    "logs/keep.log",
    "secret.txt",
    "sub/dir/file.bin",
  ]);
});

Deno.test("oci and tar outputs (to a file and to stdout) checked entry by entry", async () => {
  using w = await workspace({
    "Dockerfile": "FROM scratch\nCOPY f big /\n",
    "f": randomBytes(64).toString("hex"),
    // Far past a pipe's buffer: stdout must be complete when the process exits.
    "big": randomBytes(3 * 1024 * 1024),
  });
  const oci = join(w.home, "img.tar");
  const r = await w.build(["--output", `type=oci,dest=${oci}`]);
  assert.equal(r.code, 0, r.stderr);
  const x = (name: string) => execFileSync("tar", ["-xOf", oci, name], { maxBuffer: 64 << 20 });
  const index = JSON.parse(x("index.json").toString());
  assert.equal(JSON.parse(x("oci-layout").toString()).imageLayoutVersion, "1.0.0");
  // Every blob the index reaches is in the archive, with its digest and size.
  const check = (d: { digest: string; size: number }) => {
    const blob = x(`blobs/${d.digest.replace(":", "/")}`);
    assert.equal(blob.length, d.size);
    assert.equal("sha256:" + createHash("sha256").update(blob).digest("hex"), d.digest);
    return blob;
  };
  const m = JSON.parse(check(index.manifests[0]).toString());
  check(m.config);
  const layer = check(m.layers[0]);
  writeFileSync(join(w.home, "layer.tgz"), layer);
  assert.equal(
    execFileSync("tar", ["-xzOf", join(w.home, "layer.tgz"), "f"]).toString(),
    readFileSync(join(w.dir, "f"), "utf8"),
  );
  // tar to stdout: the root filesystem itself, as bytes.
  const t = await new Deno.Command(BIN, {
    args: ["build", "--path", w.dir, "--progress", "quiet", "--output", "type=tar,dest=-"],
    env: w.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(t.code, 0, new TextDecoder().decode(t.stderr));
  writeFileSync(join(w.home, "fs.tar"), t.stdout);
  assert.equal(
    execFileSync("tar", ["-xOf", join(w.home, "fs.tar"), "f"]).toString(),
    readFileSync(join(w.dir, "f"), "utf8"),
  );
  const big = execFileSync("tar", ["-xOf", join(w.home, "fs.tar"), "big"], { maxBuffer: 64 << 20 });
  assert.ok(big.equals(readFileSync(join(w.dir, "big"))), "the 3 MB file arrived whole through stdout");
});

Deno.test("a bad Dockerfile fails with exit 1 and one line naming the line", async () => {
  using w = await workspace({ "Dockerfile": "FROM scratch\nCOPY . /\nFROB x\n" });
  const r = await w.build([]);
  assert.equal(r.code, 1);
  const last = r.stderr.trim().split("\n").at(-1)!;
  const where = `${join(w.dir, "Dockerfile")}:3`;
  assert.ok(
    errorOf(last)?.startsWith(
      `build failed: ${where}: dockerfile parse error on line 3: unknown instruction: FROB`,
    ),
    last,
  );
  writeFileSync(join(w.dir, "Dockerfile"), "FROM scratch\nRUN --mount=type=nope true\n");
  const r2 = await w.build([]);
  assert.equal(r2.code, 1);
  assert.equal(
    errorOf(r2.stderr.trim().split("\n").at(-1)!),
    `build failed: ${join(w.dir, "Dockerfile")}:2: unsupported mount type "nope"`,
    r2.stderr,
  );
  assert.ok(r2.stderr.includes("   2 | >>> RUN --mount=type=nope true"), r2.stderr);
});

Deno.test("RUN inside a base image assembled from a local rootfs; build args and target reach the frontend", async () => {
  const from = await busybox();
  using w = await workspace({
    "Dockerfile":
      `FROM ${from} AS one\nARG WHO\nRUN echo "hello $WHO from $(uname -s)" > /greeting\n\nFROM one AS two\nRUN false\n`,
  });
  const out = join(w.home, "out");
  const r = await w.build([
    "--target",
    "one",
    "--build-arg",
    "WHO=envd-lite",
    "--output",
    `type=local,dest=${out}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(out, "greeting"), "utf8"), "hello envd-lite from Linux\n");
  assert.ok(existsSync(join(out, "bin/busybox")));
});

Deno.test("a 200 MB context in 2000 files arrives intact (through the session's flow control)", async () => {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 2000; i++) files[`d${i % 20}/f${i}`] = randomBytes(50_000 + (i * 997) % 100_000);
  using w = await workspace({ ...files, "Dockerfile": "FROM scratch\nCOPY . /ctx/\n" });
  const out = join(w.home, "out");
  const r = await w.build(["--output", `type=local,dest=${out}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(tree(join(out, "ctx")), tree(w.dir));
});

Deno.test("the same reproducible build by buildctl and by envd-lite has the same manifest digest", async () => {
  const from = await busybox();
  using w = await workspace({
    "Dockerfile": `FROM ${from}\nCOPY . /app/\nRUN echo built > /app/stamp && mkdir /app/made\n`,
    "a.txt": "one\n",
    "sub/b.txt": "two\n",
  });
  const tag = randomBytes(4).toString("hex");
  const repo = `${REG}/envd-lite-build/repro`;
  const attrs = "push=true,rewrite-timestamp=true,oci-mediatypes=true";
  execFileSync(
    peers.buildctl,
    buildctlBuildArgs(`tcp://${peers.buildkitTcp}`, w.dir, [
      "--opt",
      "build-arg:SOURCE_DATE_EPOCH=1700000000",
      "--output",
      `type=image,name=${repo}:${tag}-buildctl,${attrs}`,
    ]),
    { stdio: "pipe" },
  );
  const r = await w.build([
    "--build-arg",
    "SOURCE_DATE_EPOCH=1700000000",
    "--output",
    `type=image,name=${repo}:${tag}-envd,${attrs}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const a = await manifest("envd-lite-build/repro", `${tag}-buildctl`);
  const b = await manifest("envd-lite-build/repro", `${tag}-envd`);
  assert.equal(b.digest, a.digest);
});

Deno.test("Ctrl-C exits 130 and buildkitd cancels the job at once", async () => {
  const from = await busybox();
  const marker = `marker-${randomBytes(4).toString("hex")}`;
  using w = await workspace({ "Dockerfile": `FROM ${from}\nRUN sleep 60 && echo ${marker}\n` });
  const running = () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(marker);
  const t0 = Date.now();
  const r = await w.build(["--debug", "--no-cache", "--output", "type=cacheonly"], {
    kill: { signal: "SIGINT", afterMs: 6000 },
  });
  assert.equal(r.code, 130, r.stderr);
  assert.ok(Date.now() - t0 < 10_000, "exited soon after the interrupt");
  assert.match(r.stderr, /^error: interrupted$/m);
  // The RUN step's process is gone, and the history says the build was cancelled.
  const deadline = Date.now() + 3000;
  while (running() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
  assert.equal(running(), false, "the RUN step still runs");
  const ref = /build started.* ref=(\w+)/.exec(r.stderr)?.[1];
  assert.ok(ref, r.stderr);
  // The record is written as the cancelled job winds down.
  const record = () => {
    const args = ["--addr", `tcp://${peers.buildkitTcp}`, "debug", "histories", "--format", "json"];
    // The daemon's whole history: long on a machine that has built a lot.
    const out = execFileSync(peers.buildctl, args, { encoding: "utf8", maxBuffer: 256 << 20 });
    const lines = out.split("\n").filter(Boolean);
    return lines.map((l) => JSON.parse(l)).find((e) => e.record?.Ref === ref);
  };
  let rec = record();
  for (let i = 0; i < 30 && rec?.type !== 1; i++) {
    await new Promise((res) => setTimeout(res, 100));
    rec = record();
  }
  assert.equal(rec?.type, 1, `completed: ${JSON.stringify(rec)}`);
  assert.match(rec?.record?.error?.message ?? "", /context canceled/);
});

Deno.test("a daemon dying mid-build fails the build with the cause within seconds", async () => {
  const from = await busybox();
  const bk = await startPrivateBuildkitd();
  try {
    const marker = `marker-${randomBytes(4).toString("hex")}`;
    using w = await workspace({ "Dockerfile": `FROM ${from}\nRUN sleep 60 && echo ${marker}\n` }, bk.address);
    const started = w.build(["--output", "type=cacheonly"]);
    // Kill it once the RUN step runs (its image pulled from the registry first).
    const deadline = Date.now() + 60_000;
    while (
      !execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(marker) && Date.now() < deadline
    ) {
      await new Promise((res) => setTimeout(res, 100));
    }
    // Let the step run a while: the summary must count that time, though the step never completes.
    await new Promise((res) => setTimeout(res, 3000));
    const killedAt = Date.now();
    await bk.kill();
    const r = await started;
    assert.ok(Date.now() - killedAt < 5000, `took ${Date.now() - killedAt} ms`);
    assert.equal(r.code, 1);
    assert.match(
      errorOf(r.stderr.trim().split("\n").at(-1)!)!,
      new RegExp(`^build failed: lost connection to buildkitd tcp://${bk.address}`),
    );
    const took = Number(/Failed after ([\d.]+)s/.exec(r.stderr)?.[1]);
    assert.ok(took >= 3, r.stderr);
  } finally {
    await bk.stop();
  }
});

Deno.test("registry cache exported by one daemon is imported by a fresh one", async () => {
  const from = await busybox();
  const bk = await startPrivateBuildkitd();
  try {
    const step = randomBytes(4).toString("hex");
    using w = await workspace({ "Dockerfile": `FROM ${from}\nRUN echo ${step} > /x\n` });
    const cache = `${REG}/envd-lite-build/cache:${step}`;
    const a = await w.build([
      "--output",
      "type=cacheonly",
      "--export-cache",
      `type=registry,ref=${cache},mode=max`,
    ]);
    assert.equal(a.code, 0, a.stderr);
    using w2 = await workspace({ "Dockerfile": `FROM ${from}\nRUN echo ${step} > /x\n` }, bk.address);
    const b = await w2.build(["--output", "type=cacheonly", "--import-cache", `type=registry,ref=${cache}`]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, new RegExp(`RUN echo ${step} > /x\\n#\\d+ CACHED`));
  } finally {
    await bk.stop();
  }
});
