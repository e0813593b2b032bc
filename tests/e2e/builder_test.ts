/** bootstrap, builder info|workers, du and prune on the compiled binary, against the real daemons of scripts/daemons. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { dockerApi } from "../../lib/transport/docker_api.ts";
import { daemons } from "../helpers/daemons.ts";
import { errorOf, run, tempHome } from "../helpers/run.ts";
import { buildctlBuildArgs } from "../helpers/buildctl.ts";

const peers = daemons();

/** A fresh HOME whose current context is the given builder. */
async function homeWith(builder: string, address: string, extra: string[] = []) {
  const h = tempHome();
  const r = await run([
    "context",
    "create",
    "--name",
    "t",
    "--builder",
    builder,
    "--builder-address",
    address,
    "--use",
  ], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  if (extra.length) {
    assert.equal((await run(["context", "update", "--name", "t", ...extra], { env: h.env })).code, 0);
  }
  return h;
}

/** Builds a tiny unique context with the real buildctl so the daemon holds fresh cache records. */
function buildctlBuild(addr: string, env: Record<string, string> = {}): void {
  const dir = Deno.makeTempDirSync();
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY data /data\n");
  writeFileSync(join(dir, "data"), randomBytes(64 * 1024));
  const r = spawnSync(peers.buildctl, buildctlBuildArgs(addr, dir), {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

const bootstrapOk = (stdout: string) =>
  assert.match(
    stdout,
    new RegExp(`^BuildKit: github.com/moby/buildkit ${peers.buildkitVersion}\nWorker:   \\S+ \\(linux/`),
  );

Deno.test("bootstrap over tcp, unix and mTLS reports the daemon's version and workers", async () => {
  const tls = peers.buildkitTls;
  const cases: [string, string, string[]][] = [
    ["tcp", `tcp://${peers.buildkitTcp}`, []],
    ["unix", peers.buildkitUnix, []],
    ["tcp", tls.address, [
      "--tls-ca",
      tls.ca,
      "--tls-cert",
      tls.cert,
      "--tls-key",
      tls.key,
      "--tls-servername",
      tls.servername,
    ]],
  ];
  for (const [builder, address, tlsFlags] of cases) {
    const h = await homeWith(builder, address, tlsFlags);
    try {
      const r = await run(["bootstrap"], { env: h.env });
      assert.equal(r.code, 0, `${builder} ${address}: ${r.stderr}`);
      bootstrapOk(r.stdout);
      assert.match(r.stderr, /msg="The buildkit is running at (tcp|unix):\/\//);
    } finally {
      h.cleanup();
    }
  }
});

Deno.test("mTLS refusals: a wrong CA, and no client certificate, fail with a TLS reason naming the address", async () => {
  const tls = peers.buildkitTls;
  for (
    const flags of [["--tls-ca", tls.wrongCa, "--tls-cert", tls.cert, "--tls-key", tls.key], [
      "--tls-ca",
      tls.ca,
    ]]
  ) {
    const h = await homeWith("tcp", tls.address, [...flags, "--tls-servername", tls.servername]);
    try {
      const started = Date.now();
      const r = await run(["bootstrap"], { env: { ...h.env, BUILDKIT_CONNECTING_TIMEOUT: "3s" } });
      assert.equal(r.code, 1);
      assert.equal(r.stderr.split("\n").length, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`tcp://${tls.address}`));
      assert.match(r.stderr, /certificate|handshake|tls|ssl|alert/i);
      assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
    } finally {
      h.cleanup();
    }
  }
});

Deno.test("an unreachable builder fails within BUILDKIT_CONNECTING_TIMEOUT, naming the address and the cause", async () => {
  const port = await freePort();
  const h = await homeWith("tcp", `127.0.0.1:${port}`);
  try {
    const started = Date.now();
    const r = await run(["bootstrap"], { env: { ...h.env, BUILDKIT_CONNECTING_TIMEOUT: "1500ms" } });
    const took = Date.now() - started;
    assert.equal(r.code, 1);
    assert.match(
      errorOf(r.stderr)!,
      new RegExp(`timeout 1500ms: .*tcp://127\\.0\\.0\\.1:${port}.*(ECONNREFUSED|refused|UNAVAILABLE)`, "i"),
    );
    assert.ok(took >= 1400 && took < 5000, `took ${took} ms`);
    const bad = await run(["bootstrap"], { env: { ...h.env, BUILDKIT_CONNECTING_TIMEOUT: "5 seconds" } });
    assert.equal(
      errorOf(bad.stderr),
      'BUILDKIT_CONNECTING_TIMEOUT: invalid duration "5 seconds" (use Go syntax such as 5s or 1m30s)',
    );
    // Ctrl-C while waiting for the daemon exits 130 at once.
    const t0 = Date.now();
    const int = await run(["bootstrap"], {
      env: { ...h.env, BUILDKIT_CONNECTING_TIMEOUT: "60s" },
      kill: { signal: "SIGINT", afterMs: 500 },
    });
    assert.equal(int.code, 130, int.stderr);
    assert.ok(Date.now() - t0 < 3000);
  } finally {
    h.cleanup();
  }
});

Deno.test("builder info and workers show version, platforms, labels and the daemon's GC policy", async () => {
  const h = await homeWith("unix", peers.buildkitUnix);
  try {
    const js = JSON.parse((await run(["builder", "info", "-f", "json"], { env: h.env })).stdout);
    assert.equal(js.buildkit.version, peers.buildkitVersion);
    assert.equal(js.address, `unix://${peers.buildkitUnix}`);
    assert.equal(js.workers[0].labels["org.mobyproject.buildkit.worker.executor"], "oci");
    assert.ok(js.workers[0].gcPolicies.length >= 1);
    const text = (await run(["builder", "info"], { env: h.env })).stdout;
    assert.match(
      text,
      new RegExp(
        `^Context: {3}t \\(unix://.*\\)\nBuildKit: {2}${peers.buildkitVersion} \\(github.com/moby/buildkit`,
      ),
    );
    // Not a daemon envd-lite runs: its policy is its own, and builder info says so.
    assert.match(
      text,
      /GC policy: \(as the daemon reports it \(envd-lite does not configure[^\n]*\)\n {4}#0 filters=type==source.local/,
    );
    assert.match(js.workers[0].gcSource, /^as the daemon reports it/);
    const workers = (await run(["builder", "workers"], { env: h.env })).stdout.split("\n");
    assert.match(workers[0], /^ID\s+PLATFORMS$/);
    assert.match(workers[1], new RegExp(`^${js.workers[0].id}\\s+linux/amd64`));
  } finally {
    h.cleanup();
  }
});

Deno.test("du and prune change what a follow-up du reports after a real buildctl build", async () => {
  const h = await homeWith("unix", peers.buildkitUnix);
  const du = async (filter: string[] = []) =>
    JSON.parse((await run(["du", "-f", "json", ...filter], { env: h.env })).stdout) as {
      id: string;
      size: number;
      recordType: string;
    }[];
  try {
    buildctlBuild(`unix://${peers.buildkitUnix}`);
    const local = await du(["--filter", "type==source.local"]);
    assert.ok(local.length >= 1, "a build leaves source.local records");
    const table = (await run(["du"], { env: h.env })).stdout;
    assert.match(table, /^ID\s+RECLAIMABLE\s+SIZE\s+LAST ACCESSED\n/);
    assert.match(table, /\nTotal:\s+\d/);

    // With no flags, prune applies the context's GC rules: here, drop the build contexts only.
    // (Only records not in use can go; the daemon may be shared with a build running elsewhere.)
    writeFileSync(
      h.configFile,
      readFileSync(h.configFile, "utf8") +
        '\n  [[context.t.worker.oci.gcpolicy]]\n  filters = ["type==source.local"]\n',
    );
    type Rec = { id: string; inUse: boolean; recordType: string };
    const before = await du() as unknown as Rec[];
    const idle = (rs: Rec[], type?: string) =>
      rs.filter((x) => !x.inUse && (!type || x.recordType === type)).map((x) => x.id);
    const r = await run(["prune"], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /applying 1 GC rule of context t/);
    assert.match(r.stdout, /(^|\n)Total:\t\d/);
    const after = await du() as unknown as Rec[];
    const left = new Set(after.map((x) => x.id));
    assert.ok(idle(before, "source.local").length >= 1);
    for (const id of idle(before, "source.local")) {
      assert.ok(!left.has(id), `source.local record ${id} survived`);
    }
    const regular = idle(before).filter((id) => !idle(before, "source.local").includes(id));
    assert.ok(regular.length > 0 && regular.every((id) => left.has(id)), "other records stay");

    // Flags override the file: --all removes every idle record.
    const all = await run(["prune", "--all", "--verbose"], { env: h.env });
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^ID:\t\t/, "--verbose lists each deleted record as a block, as buildctl");
    const rest = new Set((await du() as unknown as Rec[]).map((x) => x.id));
    assert.ok(idle(after).every((id) => !rest.has(id)), "every idle record went");
    assert.equal((await run(["prune", "--keep-duration", "2 days"], { env: h.env })).code, 1);
  } finally {
    h.cleanup();
  }
});

Deno.test("docker-container and moby-worker through dockerd", async () => {
  const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });
  const name = `envd-lite-e2e-${randomBytes(4).toString("hex")}`;
  // This VM's bounding set lacks CAP_SYS_RESOURCE, which --privileged requests; the rest is what buildkitd needs.
  const c = await docker.createContainer({
    name,
    Image: peers.buildkitImage,
    HostConfig: {
      CapAdd: ["ALL"],
      CapDrop: ["SYS_RESOURCE"],
      SecurityOpt: ["seccomp=unconfined", "apparmor=unconfined"],
    },
  });
  try {
    await c.start();
    const h = await homeWith("docker-container", name);
    try {
      const r = await run(["bootstrap"], {
        env: { ...h.env, DOCKER_HOST: peers.dockerHost, BUILDKIT_CONNECTING_TIMEOUT: "20s" },
      });
      assert.equal(r.code, 0, r.stderr);
      bootstrapOk(r.stdout);
    } finally {
      h.cleanup();
    }
  } finally {
    await c.remove({ force: true });
  }
  const h = await homeWith("moby-worker", "envd_buildkitd");
  try {
    const r = await run(["builder", "workers", "-f", "json"], {
      env: { ...h.env, DOCKER_HOST: peers.dockerHost },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).length >= 1);
  } finally {
    h.cleanup();
  }
});

Deno.test("kube-pod and nerdctl-container: the exact command line, through stand-ins that run buildctl dial-stdio", async () => {
  const bin = Deno.makeTempDirSync();
  const argvLog = join(bin, "argv");
  for (const tool of ["kubectl", "nerdctl"]) {
    writeFileSync(
      join(bin, tool),
      `#!/bin/sh\necho "${tool} $*" >> ${argvLog}\nexec ${peers.buildctl} --addr unix://${peers.buildkitUnix} dial-stdio\n`,
    );
    chmodSync(join(bin, tool), 0o755);
  }
  mkdirSync(bin, { recursive: true });
  const path = `${bin}:${process.env.PATH}`;
  for (
    const [builder, address, want] of [
      [
        "kube-pod",
        "buildkitd-0?namespace=ci&context=prod&container=bk",
        "kubectl --context=prod --namespace=ci exec --container=bk -i buildkitd-0 -- buildctl dial-stdio",
      ],
      ["nerdctl-container", "my_buildkitd", "nerdctl exec -i my_buildkitd buildctl dial-stdio"],
    ]
  ) {
    const h = await homeWith(builder, address);
    try {
      writeFileSync(argvLog, "");
      const r = await run(["bootstrap"], { env: { ...h.env, PATH: path } });
      assert.equal(r.code, 0, `${builder}: ${r.stderr}`);
      bootstrapOk(r.stdout);
      assert.equal(readFileSync(argvLog, "utf8").split("\n")[0], want);
    } finally {
      h.cleanup();
    }
  }
});

Deno.test("context rm --remove-builder removes the managed container with the context, keeping its cache volume", async () => {
  const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });
  const name = `envd-lite-rmb-${randomBytes(4).toString("hex")}`;
  const h = await homeWith("docker-container", name);
  const env = { ...h.env, DOCKER_HOST: peers.dockerHost, BUILDKIT_CONNECTING_TIMEOUT: "20s" };
  try {
    const boot = await run(["bootstrap"], { env });
    assert.equal(boot.code, 0, boot.stderr);
    assert.equal((await docker.getContainer(name).inspect()).State.Running, true);
    // The current context is refused before anything is touched.
    const refused = await run(["context", "rm", "--name", "t", "--remove-builder"], { env });
    assert.equal(refused.code, 1);
    assert.equal((await docker.getContainer(name).inspect()).State.Running, true);
    await run(["context", "use", "--name", "default"], { env });
    const r = await run(["context", "rm", "--name", "t", "--remove-builder"], { env });
    assert.equal(r.code, 0, r.stderr);
    await assert.rejects(docker.getContainer(name).inspect(), /no such container/i);
    assert.ok((await docker.getVolume(`${name}_state`).inspect()).Name);
    assert.deepEqual(
      JSON.parse((await run(["context", "ls", "-f", "json"], { env })).stdout).map((c: { context: string }) =>
        c.context
      ),
      ["default"],
    );
  } finally {
    await docker.getContainer(name).remove({ force: true }).catch(() => {});
    await docker.getVolume(`${name}_state`).remove().catch(() => {});
    h.cleanup();
  }
});
