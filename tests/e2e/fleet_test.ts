/**
 * One context, several real buildkitd on loopback (the test's own, each declared with --oci-worker-platform):
 * platforms routed to nodes, one index pushed, sticky nodes, failover past a node down from the start and one
 * killed, inspection of every node. Which node built what is read from the daemons' own build history.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { stickyOrder } from "../../lib/build/fleet.ts";
import { busybox, manifest, peers, REG } from "../helpers/build_workspace.ts";
import { type PrivateBuildkitd, startPrivateBuildkitd } from "../helpers/private_buildkitd.ts";
import { errorOf, run, tempHome } from "../helpers/run.ts";

interface HistoryRecord {
  ref: string;
  platform: string;
  digest?: string;
}

/** The completed builds a daemon remembers (`buildctl debug histories`), with their platform and result. */
function histories(address: string): HistoryRecord[] {
  const out = execFileSync(peers.buildctl, [
    "--addr",
    `tcp://${address}`,
    "debug",
    "histories",
    "--format",
    "{{json .}}",
  ], {
    encoding: "utf8",
  });
  // Oldest first (buildctl lists the newest first).
  const at = (h: { record: { CreatedAt: { seconds: number; nanos?: number } } }) =>
    h.record.CreatedAt.seconds * 1e9 + (h.record.CreatedAt.nanos ?? 0);
  return out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((h) => h.type === 1)
    .sort((a, b) => at(a) - at(b)).map((h) => ({
      ref: h.record.Ref,
      platform: h.record.FrontendAttrs?.platform ?? "",
      digest: h.record.Result?.ResultDeprecated?.digest ?? h.record.Result?.Results?.["0"]?.digest,
    }));
}

function deadAddress(): Promise<string> {
  return new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(`127.0.0.1:${port}`));
    });
  });
}

// A build directory whose sticky order is the one `want` accepts, so the test knows which node comes first.
function dirWhere(home: string, prefix: string, want: (order: string[]) => boolean): string {
  const names = ["farm", "arm-a", "arm-b", "ghost"].map((name) => ({ name }));
  for (let i = 0; i < 2000; i++) {
    const dir = join(home, `${prefix}${i}`);
    if (want(stickyOrder(`${dir}\0${dir}/Dockerfile`, names).map((n) => n.name))) return dir;
  }
  throw new Error("no directory with the wanted order");
}

type Cli = (args: string[]) => ReturnType<typeof run>;

/** `context create` of a current tcp context, then its nodes with `context node add` (flags after the address). */
async function tcpContext(cli: Cli, name: string, address: string): Promise<void> {
  const c = await cli([
    "context",
    "create",
    "--name",
    name,
    "--builder",
    "tcp",
    "--builder-address",
    address,
    "--use",
  ]);
  assert.equal(c.code, 0, c.stderr);
}
const addTcpNode = (cli: Cli, name: string, address: string, ...more: string[]) =>
  cli(["context", "node", "add", "--name", name, "--builder", "tcp", "--builder-address", address, ...more]);

const before = (order: string[], ...names: string[]) =>
  names.every((n, i) => i === 0 || order.indexOf(names[i - 1]) < order.indexOf(n));

Deno.test("a context of several buildkitd: routing, one index, sticky nodes, failover, every node inspected", async (t) => {
  const started: PrivateBuildkitd[] = [];
  const h = tempHome();
  try {
    const [amd, armA, armB] = await Promise.all([
      startPrivateBuildkitd(["--oci-worker-platform", "linux/amd64"]),
      startPrivateBuildkitd(["--oci-worker-platform", "linux/arm64"]),
      startPrivateBuildkitd(["--oci-worker-platform", "linux/arm64"]),
    ]);
    started.push(amd, armA, armB);
    const ghost = await deadAddress();
    const env = { ...h.env, BUILDKIT_CONNECTING_TIMEOUT: "2s", DOCKER_HOST: peers.dockerHost };
    const cli = (args: string[]) => run(args, { env, timeoutMs: 180_000 });

    await t.step("context node add|ls|rm: nodes in the file, envd's `context ls` unchanged", async () => {
      await tcpContext(cli, "farm", amd.address);
      const lsBefore = await cli(["context", "ls", "-f", "json"]);
      const add = (name: string, address: string, ...more: string[]) =>
        addTcpNode(cli, name, address, ...more);
      for (
        const r of [
          await add("arm-a", armA.address),
          await add("arm-b", `tcp://${armB.address}`, "--platform", "linux/arm64,linux/riscv64"),
          await add(
            "ghost",
            ghost,
            "--platform",
            "linux/arm64",
            "--platform",
            "linux/riscv64",
            "--context-name",
            "farm",
          ),
        ]
      ) assert.equal(r.code, 0, r.stderr);
      assert.equal((await cli(["context", "ls", "-f", "json"])).stdout, lsBefore.stdout);
      const ls = JSON.parse((await cli(["context", "node", "ls", "-f", "json"])).stdout);
      assert.deepEqual(
        ls.map((n: { name: string; platforms: string[] }) => [n.name, n.platforms.join(",")]),
        [
          ["farm", ""],
          ["arm-a", ""],
          ["arm-b", "linux/arm64,linux/riscv64"],
          ["ghost", "linux/arm64,linux/riscv64"],
        ],
      );
      const text = readFileSync(h.configFile, "utf8");
      for (
        const bad of [
          [
            "context",
            "node",
            "add",
            "--name",
            "arm-a",
            "--builder",
            "tcp",
            "--builder-address",
            "127.0.0.1:1",
          ],
          [
            "context",
            "node",
            "add",
            "--name",
            "x",
            "--builder",
            "tcp",
            "--builder-address",
            "h:1",
            "--platform",
            "arm64",
          ],
          ["context", "node", "rm", "--name", "farm"],
          ["context", "node", "rm", "--name", "nope"],
        ]
      ) {
        const r = await cli(bad);
        assert.equal(r.code, 1, r.stderr);
        assert.match(errorOf(r.stderr)!, /^failed to (add|remove) node: /);
        assert.equal(readFileSync(h.configFile, "utf8"), text);
      }
    });

    // arm64: ghost (down) first, then arm-b, then arm-a; amd64: farm before arm-a (which also reports amd64).
    const dir = dirWhere(
      h.home,
      "ctx",
      (o) => before(o, "ghost", "arm-b", "arm-a") && before(o, "farm", "arm-a"),
    );
    execFileSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nARG TARGETPLATFORM\nCOPY a.txt /a.txt\n");
    writeFileSync(join(dir, "a.txt"), "fleet\n");
    const build = (...args: string[]) =>
      cli(["build", "--path", dir, "--progress", "plain", "--platform", "linux/amd64,linux/arm64", ...args]);
    const skipped = (stderr: string, node: string) =>
      stderr.split("\n").filter((l) => l.includes(`msg="node ${node} skipped: `)).length;

    await t.step("--push: each platform on a node that has it, one index over both manifests", async () => {
      const tag = `${REG}/envd-lite-fleet/img:${Date.now()}`;
      const meta = join(h.home, "meta.json");
      const r = await build("--push", "-t", tag, "--metadata-file", meta);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(skipped(r.stderr, "ghost"), 1, r.stderr);
      assert.match(r.stderr, /\[farm\] \[1\/1\] COPY a\.txt/);
      assert.match(r.stderr, /\[arm-b\] \[1\/1\] COPY a\.txt/);
      const [repo, ref] = tag.slice(REG.length + 1).split(":");
      const idx = await manifest(repo, ref);
      const list = idx.doc.manifests as { digest: string; platform: { architecture: string; os: string } }[];
      assert.deepEqual(list.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort(), [
        "linux/amd64",
        "linux/arm64",
      ]);
      assert.equal(JSON.parse(readFileSync(meta, "utf8"))["containerimage.digest"], idx.digest);
      const child = (arch: string) => list.find((m) => m.platform.architecture === arch)!.digest;
      // Each child manifest is in the registry, and its config says the platform it was built for.
      for (const arch of ["amd64", "arm64"]) {
        const m = await manifest(repo, child(arch));
        const cfg = (m.doc.config as { digest: string }).digest;
        const blob = await (await fetch(`http://${REG}/v2/${repo}/blobs/${cfg}`)).json();
        assert.equal(blob.architecture, arch);
      }
      // The daemons themselves say who built what.
      assert.deepEqual(histories(amd.address).map((x) => [x.platform, x.digest]), [[
        "linux/amd64",
        child("amd64"),
      ]]);
      assert.deepEqual(histories(armB.address).map((x) => [x.platform, x.digest]), [[
        "linux/arm64",
        child("arm64"),
      ]]);
      assert.deepEqual(histories(armA.address), []);
    });

    await t.step(
      "sticky: the same directory goes to the same nodes; a local output has one directory per platform",
      async () => {
        const out = join(h.home, "out1");
        const r = await build("--output", `type=local,dest=${out}`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(readFileSync(join(out, "linux_amd64/a.txt"), "utf8"), "fleet\n");
        assert.equal(readFileSync(join(out, "linux_arm64/a.txt"), "utf8"), "fleet\n");
        assert.deepEqual(histories(amd.address).map((x) => x.platform), ["linux/amd64", "linux/amd64"]);
        assert.deepEqual(histories(armB.address).map((x) => x.platform), ["linux/arm64", "linux/arm64"]);
        assert.deepEqual(histories(armA.address), []);
      },
    );

    await t.step("oci and tar outputs of a multi-node build are refused, as buildx does", async () => {
      const r = await build("--output", `type=oci,dest=${join(h.home, "x.tar")}`);
      assert.equal(r.code, 1);
      assert.equal(errorOf(r.stderr), "oci for multi-node builds currently not supported");
    });

    await t.step(
      "failover: with arm-b killed, arm-a takes linux/arm64; each skipped node is one log line",
      async () => {
        await armB.kill();
        const out = join(h.home, "out2");
        const r = await build("--output", `type=local,dest=${out}`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(skipped(r.stderr, "ghost"), 1, r.stderr);
        assert.equal(skipped(r.stderr, "arm-b"), 1, r.stderr);
        assert.equal(readFileSync(join(out, "linux_arm64/a.txt"), "utf8"), "fleet\n");
        assert.deepEqual(histories(armA.address).map((x) => x.platform), ["linux/arm64"]);
        assert.equal(histories(amd.address).length, 3);
        // No --platform: the directory's first node that answers builds its own platform.
        const own = await cli(["build", "--path", dir, "--output", "type=cacheonly"]);
        assert.equal(own.code, 0, own.stderr);
        assert.match(own.stderr, /msg="node farm builds its own platform"/);
        assert.deepEqual(histories(amd.address).map((x) => x.platform), [
          "linux/amd64",
          "linux/amd64",
          "linux/amd64",
          "",
        ]);
        assert.equal(histories(armA.address).length, 1);
      },
    );

    await t.step(
      "no node for a platform answers: one error naming the platform and every node tried",
      async () => {
        const cacheOnly = (platform: string) =>
          cli(["build", "--path", dir, "--platform", platform, "--output", "type=cacheonly"]);
        const r = await cacheOnly("linux/riscv64");
        assert.equal(r.code, 1);
        assert.match(
          errorOf(r.stderr)!,
          new RegExp(
            `^no node for linux/riscv64 answers: tried ghost \\(timeout 2s: .*${ghost}.*\\), arm-b \\(timeout 2s: .*${armB.address}.*\\)$`,
          ),
        );
        const none = await cacheOnly("linux/s390x");
        assert.equal(none.code, 1);
        assert.match(
          errorOf(none.stderr)!,
          /^no node builds linux\/s390x: nodes farm \(.*linux\/amd64.*\), arm-a \(/,
        );
      },
    );

    await t.step("builder info, bootstrap, du and prune cover every node; --node picks one", async () => {
      const info = await cli(["builder", "info", "-f", "json"]);
      assert.equal(info.code, 0, info.stderr);
      const nodes = JSON.parse(info.stdout).nodes as {
        name: string;
        status: string;
        error?: string;
        buildkit?: { version: string };
        platforms: string[];
      }[];
      assert.deepEqual(nodes.map((n) => [n.name, n.status]), [["farm", "up"], ["arm-a", "up"], [
        "arm-b",
        "down",
      ], [
        "ghost",
        "down",
      ]]);
      assert.equal(nodes[0].buildkit?.version, "v0.29.0");
      assert.equal(nodes[0].platforms[0], "linux/amd64");
      assert.equal(nodes[1].platforms[0], "linux/arm64");
      assert.match(nodes[2].error!, new RegExp(`timeout 2s: .*${armB.address}`));
      const text = await cli(["builder", "info"]);
      assert.match(text.stdout, /^Context: {3}farm\nNodes: {5}4 \(2 up\)\n/);
      assert.match(text.stdout, /\nNode: {6}ghost \(tcp:\/\/.*\)\nStatus: {4}down: timeout 2s: /);

      const boot = await cli(["bootstrap"]);
      assert.equal(boot.code, 1);
      assert.match(
        boot.stdout,
        /^Node farm: up, BuildKit v0\.29\.0 .*\nNode arm-a: up, .*\nNode arm-b: down: .*\nNode ghost: down: /,
      );
      assert.equal(errorOf(boot.stderr), "context farm: nodes arm-b, ghost down");

      const du = await cli(["du", "-f", "json"]);
      assert.equal(du.code, 0, du.stderr);
      assert.deepEqual(JSON.parse(du.stdout).map((x: { node: string }) => x.node), ["farm", "arm-a"]);
      assert.equal(skipped(du.stderr, "arm-b") + skipped(du.stderr, "ghost"), 2, du.stderr);
      const buildctlDu = (addr: string) =>
        execFileSync(peers.buildctl, ["--addr", `tcp://${addr}`, "du"], { encoding: "utf8" }).trim().split(
          "\n",
        )
          .filter((l) => /^[a-z0-9]{25}/.test(l)).length;
      assert.ok(buildctlDu(armA.address) > 0);
      const amdRecords = buildctlDu(amd.address);
      assert.ok(amdRecords > 0);
      const pr = await cli(["prune", "--all", "--node", "arm-a"]);
      assert.equal(pr.code, 0, pr.stderr);
      assert.match(pr.stdout, /^Node: arm-a \(tcp:\/\/.*\)\nID/);
      assert.equal(buildctlDu(armA.address), 0);
      assert.equal(buildctlDu(amd.address), amdRecords);
      const one = await cli(["du", "--node", "farm"]);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /^Node: farm \(tcp:\/\/.*\)\nID/);
      assert.doesNotMatch(one.stdout, /arm-a/);
      // builder workers: every node's workers as that daemon lists them (buildctl debug workers).
      const workers = await cli(["builder", "workers", "-f", "json"]);
      assert.equal(workers.code, 0, workers.stderr);
      const byNode = JSON.parse(workers.stdout) as { node: string; result: { id: string }[] }[];
      assert.deepEqual(byNode.map((x) => x.node), ["farm", "arm-a"]);
      const buildctlWorkers = (addr: string) =>
        execFileSync(peers.buildctl, ["--addr", `tcp://${addr}`, "debug", "workers"], { encoding: "utf8" })
          .trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]);
      assert.deepEqual(byNode[0].result.map((w) => w.id), buildctlWorkers(amd.address));
      assert.deepEqual(byNode[1].result.map((w) => w.id), buildctlWorkers(armA.address));
      assert.match(
        (await cli(["builder", "workers", "--node", "arm-a"])).stdout,
        /^Node: arm-a \(tcp:\/\/.*\)\nID\s+PLATFORMS\n/,
      );
    });

    await t.step("a node dying mid-build fails the build naming the node", async () => {
      const from = await busybox();
      const marker = `fleet-${Date.now()}`;
      // amd64 goes to farm first for this directory.
      const dir2 = dirWhere(h.home, "slow", (o) => before(o, "farm", "arm-a"));
      execFileSync("mkdir", ["-p", dir2]);
      writeFileSync(join(dir2, "Dockerfile"), `FROM ${from}\nRUN sleep 60 && echo ${marker}\n`);
      const pending = cli([
        "build",
        "--path",
        dir2,
        "--platform",
        "linux/amd64",
        "--output",
        "type=cacheonly",
      ]);
      const deadline = Date.now() + 90_000;
      while (
        !execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(marker) && Date.now() < deadline
      ) {
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.ok(Date.now() < deadline, "the RUN step never started");
      await amd.kill();
      const r = await pending;
      assert.equal(r.code, 1);
      assert.match(
        errorOf(r.stderr)!,
        new RegExp(`^build failed on node farm: lost connection to buildkitd tcp://${amd.address}`),
      );
    });
  } finally {
    await Promise.all(started.map((d) => d.stop()));
    h.cleanup();
  }
});

Deno.test("a node's own [grpc.tls] reaches a TLS buildkitd; a wrong CA makes it down with the cause", async () => {
  const h = tempHome();
  try {
    const tls = peers.buildkitTls;
    const env = { ...h.env, BUILDKIT_CONNECTING_TIMEOUT: "3s" };
    const cli = (args: string[]) => run(args, { env, timeoutMs: 60_000 });
    await tcpContext(cli, "t", peers.buildkitTcp);
    const tlsFlags = (
      ca: string,
    ) => ["--tls-ca", ca, "--tls-cert", tls.cert, "--tls-key", tls.key, "--tls-servername", tls.servername];
    for (const [name, ca] of [["secure", tls.ca], ["wrong-ca", tls.wrongCa]]) {
      const r = await addTcpNode(cli, name, tls.address, ...tlsFlags(ca));
      assert.equal(r.code, 0, r.stderr);
    }
    const info = await cli(["builder", "info", "-f", "json"]);
    assert.equal(info.code, 0, info.stderr);
    const nodes = JSON.parse(info.stdout).nodes as { name: string; status: string; error?: string }[];
    assert.deepEqual(nodes.map((n) => [n.name, n.status]), [["t", "up"], ["secure", "up"], [
      "wrong-ca",
      "down",
    ]]);
    assert.match(nodes[2].error!, /certificate|self.signed|verify/i);
    const du = await cli(["du", "--node", "secure"]);
    assert.equal(du.code, 0, du.stderr);
    assert.match(du.stdout, new RegExp(`^Node: secure \\(tcp://${tls.address}\\)\n`));
  } finally {
    h.cleanup();
  }
});

Deno.test("--check on a context of several nodes: one node answers, as a single-node context does", async () => {
  const [amd, arm] = await Promise.all([
    startPrivateBuildkitd(["--oci-worker-platform", "linux/amd64"]),
    startPrivateBuildkitd(["--oci-worker-platform", "linux/arm64"]),
  ]);
  const h = tempHome();
  try {
    const env = { ...h.env, BUILDKIT_CONNECTING_TIMEOUT: "5s" };
    const cli = (args: string[]) => run(args, { env, timeoutMs: 120_000 });
    const dir = join(h.home, "ctx");
    Deno.mkdirSync(dir);
    writeFileSync(join(dir, "Dockerfile"), "from scratch as base\nCOPY Dockerfile /\nFROM base AS Final\n");
    const check = ["build", "--progress", "quiet", "--check", "--platform", "linux/amd64,linux/arm64", dir];
    await tcpContext(cli, "one", amd.address);
    const single = await cli(check);
    assert.equal(single.code, 1, single.stderr);
    assert.match(single.stdout, /WARNING/);
    await tcpContext(cli, "farm", amd.address);
    assert.equal((await addTcpNode(cli, "arm", arm.address, "--platform", "linux/arm64")).code, 0);
    const fleet = await cli(check);
    assert.equal(fleet.code, single.code, fleet.stderr);
    assert.equal(fleet.stdout, single.stdout);
  } finally {
    await Promise.all([amd.stop(), arm.stop()]);
    h.cleanup();
  }
});
