/**
 * The whole buildkitd.toml in a context, on the compiled binary against real daemons: a managed unix buildkitd
 * running the containerd worker against scripts/daemons' own containerd (its GC policy as ListWorkers reports
 * it, prune with that worker's rules after a real RUN build), `serve` in one process built against over mTLS
 * from another, `context buildkitd-toml`, inspect's notes, and prune/du never creating the daemon they prune.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "smol-toml";
import { validateText } from "../../lib/config/mod.ts";
import { dockerApi } from "../../lib/transport/docker_api.ts";
import { daemons } from "../helpers/daemons.ts";
import { expectedGcPolicy } from "../helpers/gc_policy.ts";
import { BIN, errorOf, ROOT, run, tempHome } from "../helpers/run.ts";
import { ensureTestUser, userHome } from "../helpers/unprivileged.ts";

const peers = daemons();
const plainToml = (text: string) => JSON.parse(JSON.stringify(parse(text)));
const PATH = `${ROOT}/.cache/bin:${process.env.PATH}`;

function home(toml: string) {
  const h = tempHome();
  mkdirSync(dirname(h.configFile), { recursive: true });
  writeFileSync(h.configFile, toml);
  return { ...h, env: { ...h.env, PATH, BUILDKIT_CONNECTING_TIMEOUT: "30s" } };
}

/** A build context whose RUN step needs no image: a static busybox copied into scratch. */
function runStepContext(dir: string, word: string): string {
  const ctx = join(dir, "ctx");
  mkdirSync(ctx, { recursive: true });
  copyFileSync("/bin/busybox", join(ctx, "busybox"));
  writeFileSync(
    join(ctx, "Dockerfile"),
    `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "echo ${word} > /out"]\n`,
  );
  return ctx;
}

function containerdContext(sock: string, ns: string, worker: string): string {
  return `current = "cd"

[context.cd]
builder = "unix"
builder-address = "${sock}"

  [context.cd.daemon]
  rootless = false

  [context.cd.worker.containerd]
  address = "${peers.containerd}"
  namespace = "${ns}"
${worker}`;
}

async function workers(env: Record<string, string>) {
  const r = await run(["builder", "workers", "--format", "json"], { env, timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { labels: Record<string, string>; gcPolicies: unknown[] }[];
}

/** Runs `fn` with a HOME whose contexts file is `tomlOf(dir)` (dir: a fresh temp dir); removes the daemon after. */
async function withManaged(
  tomlOf: (dir: string) => string,
  fn: (h: ReturnType<typeof home>, dir: string, toml: string) => Promise<void>,
) {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-bkc-"));
  const toml = tomlOf(dir);
  const h = home(toml);
  try {
    await fn(h, dir, toml);
  } finally {
    await run(["builder", "rm"], { env: h.env }).catch(() => {});
    h.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

Deno.test("containerd worker: a managed unix daemon rendered with [worker.containerd] starts on our containerd and reports the TOML's GC policy", () =>
  withManaged((dir) =>
    containerdContext(
      join(dir, "bk.sock"),
      `envd-lite-${randomBytes(3).toString("hex")}`,
      `  gc = true
  [[context.cd.worker.containerd.gcpolicy]]
  filters = ["type==source.local", "type==exec.cachemount"]
  keepDuration = 7200
  keepBytes = "512MB"
  [[context.cd.worker.containerd.gcpolicy]]
  all = true
  reservedSpace = "1GB"
  maxUsedSpace = "3GB"
  minFreeSpace = 1000000
`,
    ), async (h, dir, toml) => {
    const boot = await run(["bootstrap"], { env: h.env, timeoutMs: 90_000 });
    assert.equal(boot.code, 0, boot.stderr);
    const rendered = readFileSync(join(h.home, ".local/state/envd-lite/daemons/cd/buildkitd.toml"), "utf8");
    assert.match(rendered, /\[worker\.containerd\]\n[^[]*address = /);
    const cmdline = readFileSync(
      `/proc/${readFileSync(join(h.home, ".local/state/envd-lite/daemons/cd/pid"), "utf8").trim()}/cmdline`,
      "utf8",
    );
    assert.ok(cmdline.includes("--oci-worker=false\0--containerd-worker=true"), cmdline);
    const ws = await workers(h.env);
    assert.equal(ws.length, 1);
    assert.equal(ws[0].labels["org.mobyproject.buildkit.worker.executor"], "containerd");
    const ctx = validateText(toml, "contexts.toml").model.contexts[0];
    assert.deepEqual(ws[0].gcPolicies, expectedGcPolicy(ctx, dir, "containerd"));
    const info = await run(["builder", "info"], { env: h.env });
    assert.match(info.stdout, /GC policy: \(from context cd's \[worker\.containerd\]\)/);
  }));

Deno.test("builder info: a managed daemon whose context sets no GC key runs buildkitd's default (10% of the disk ...), and says so", () =>
  withManaged(
    (dir) =>
      `current = "o"\n[context.o]\nbuilder = "unix"\nbuilder-address = "${dir}/bk.sock"\n  [context.o.daemon]\n  rootless = false\n  [context.o.worker.oci]\n  max-parallelism = 2\n`,
    async (h, _dir, toml) => {
      const info = await run(["builder", "info", "-f", "json"], { env: h.env, timeoutMs: 90_000 });
      assert.equal(info.code, 0, info.stderr);
      const w = JSON.parse(info.stdout).workers[0];
      assert.match(
        w.gcSource,
        /^buildkitd's default, as \[worker\.oci\] sets no GC key: reserve 10% of the disk/,
      );
      const ctx = validateText(toml, "contexts.toml").model.contexts[0];
      const root = join(h.home, ".local/state/envd-lite/daemons/o/root");
      assert.deepEqual(w.gcPolicies, expectedGcPolicy(ctx, root));
      assert.equal(w.gcPolicies.length, 4);
    },
  ));

Deno.test("prune with no flags applies the rules of the worker the daemon reports: [worker.containerd], not [worker.oci]", () =>
  // gc = false keeps the daemon's own GC from racing the prune; the rules still apply client-side.
  withManaged((dir) =>
    containerdContext(
      join(dir, "bk.sock"),
      `envd-lite-${randomBytes(3).toString("hex")}`,
      `  gc = false
  [[context.cd.worker.containerd.gcpolicy]]
  all = true

  [context.cd.worker.oci]
  enabled = false
  [[context.cd.worker.oci.gcpolicy]]
  keepDuration = "1000h"
`,
    ), async (h, dir) => {
    const ctx = runStepContext(dir, randomBytes(4).toString("hex"));
    const b = await run(["build", "--path", ctx, "--progress", "plain"], { env: h.env, timeoutMs: 120_000 });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /RUN \["\/bin\/busybox"/);
    const before = JSON.parse((await run(["du", "--format", "json"], { env: h.env })).stdout) as unknown[];
    assert.ok(before.length > 0, "the build left cache records");
    const p = await run(["prune"], { env: h.env });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /applying 1 GC rule of context cd's \[worker\.containerd\]/);
    const after = JSON.parse((await run(["du", "--format", "json"], { env: h.env })).stdout) as unknown[];
    assert.equal(after.length, 0, JSON.stringify(after));
  }));

/** Processes whose command line names `needle`, with their owner. */
function procsWith(needle: string): { pid: number; uid: number; cmd: string }[] {
  const out = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8");
      if (!cmd.includes(needle)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${e}/status`, "utf8"))![1]);
      out.push({ pid: Number(e), uid, cmd });
    } catch { /* gone */ }
  }
  return out;
}

/** Everything a child writes on a stream, as it arrives. */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  return { text: () => text, done };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

Deno.test("serve: one process runs the context's buildkitd with [serve]'s mTLS; a tcp context builds against it from another", async () => {
  const tls = peers.buildkitTls;
  const certs = dirname(tls.ca);
  const port = await freePort();
  const server = home(`current = "s"

[context.s]
builder = "tcp"
builder-address = "127.0.0.1:${port}"
debug = true

  [context.s.history]
  maxEntries = 7

  [context.s.worker.oci]
  max-parallelism = 2

  [context.s.serve]
  cert = "${certs}/server.pem"
  key = "${certs}/server-key.pem"
  ca = "${tls.ca}"
`);
  const client = home(`current = "c"

[context.c]
builder = "tcp"
builder-address = "127.0.0.1:${port}"

  [context.c.grpc.tls]
  ca = "${tls.ca}"
  cert = "${tls.cert}"
  key = "${tls.key}"
  servername = "localhost"
`);
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-serve-"));
  const proc = new Deno.Command(BIN, {
    args: ["serve", "--addr", `tcp://127.0.0.1:${port}`],
    env: server.env,
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const serveLog = collect(proc.stderr);
  try {
    const ctx = runStepContext(dir, "served");
    const b = await run(["build", "--path", ctx, "--progress", "plain"], {
      env: client.env,
      timeoutMs: 120_000,
    });
    assert.equal(b.code, 0, `${b.stderr}\n--- serve:\n${serveLog.text()}`);
    assert.match(b.stderr, /RUN \["\/bin\/busybox"/);
    assert.match(serveLog.text(), new RegExp(`serving context s on tcp://127\\.0\\.0\\.1:${port} \\(TLS\\)`));
    // The daemon runs with the context's rendered config; [serve]'s files are its [grpc.tls].
    const cfg = plainToml(
      readFileSync(join(server.home, ".local/state/envd-lite/serve/s/buildkitd.toml"), "utf8"),
    );
    assert.deepEqual(cfg.grpc, {
      address: [`tcp://127.0.0.1:${port}`],
      tls: { cert: `${certs}/server.pem`, key: `${certs}/server-key.pem`, ca: tls.ca },
    });
    assert.equal(cfg.debug, true);
    assert.deepEqual(cfg.history, { maxEntries: 7 });
    // Without a client certificate the server refuses.
    const noCert = home(
      `current = "n"\n[context.n]\nbuilder = "tcp"\nbuilder-address = "127.0.0.1:${port}"\n  [context.n.grpc.tls]\n  ca = "${tls.ca}"\n  servername = "localhost"\n`,
    );
    try {
      const r = await run(["builder", "info"], { env: { ...noCert.env, BUILDKIT_CONNECTING_TIMEOUT: "3s" } });
      assert.equal(r.code, 1, r.stdout);
    } finally {
      noCert.cleanup();
    }
  } finally {
    proc.kill("SIGTERM");
    const st = await proc.status;
    await serveLog.done;
    server.cleanup();
    client.cleanup();
    rmSync(dir, { recursive: true, force: true });
    assert.ok(
      st.code === 0 || st.code === 130 || st.code === 143,
      `serve exited ${st.code}: ${serveLog.text()}`,
    );
  }
});

Deno.test("serve as a user is rootless by default: rootlesskit buildkitd, owned by the user, serves a build", async () => {
  const user = ensureTestUser();
  const uh = userHome(user);
  const port = await freePort();
  mkdirSync(join(uh.home, ".config/envd"), { recursive: true });
  writeFileSync(
    join(uh.home, ".config/envd/contexts.toml"),
    `current = "s"\n[context.s]\nbuilder = "tcp"\nbuilder-address = "127.0.0.1:${port}"\n`,
  );
  for (
    const p of [
      join(uh.home, ".config"),
      join(uh.home, ".config/envd"),
      join(uh.home, ".config/envd/contexts.toml"),
    ]
  ) {
    chownSync(p, user.uid, user.gid);
  }
  const client = home(`current = "c"\n[context.c]\nbuilder = "tcp"\nbuilder-address = "127.0.0.1:${port}"\n`);
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-serve-rl-"));
  const proc = new Deno.Command("setpriv", {
    args: [
      "--reuid",
      String(user.uid),
      "--regid",
      String(user.gid),
      "--init-groups",
      "--",
      BIN,
      "serve",
      "--addr",
      `tcp://127.0.0.1:${port}`,
    ],
    env: uh.env,
    clearEnv: true,
    cwd: uh.home,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = collect(proc.stderr);
  try {
    const b = await run(["build", "--path", runStepContext(dir, "rootless"), "--progress", "plain"], {
      env: client.env,
      timeoutMs: 120_000,
    });
    assert.equal(b.code, 0, `${b.stderr}\n--- serve:\n${log.text()}`);
    assert.match(log.text(), /serving context s on tcp:\/\/127\.0\.0\.1:\d+, rootless/);
    const config = join(uh.home, ".local/state/envd-lite/serve/s/buildkitd.toml");
    const daemons = procsWith(config);
    assert.ok(daemons.some((d) => d.cmd.startsWith("rootlesskit\0buildkitd\0")), JSON.stringify(daemons));
    assert.ok(daemons.length > 0 && daemons.every((d) => d.uid === user.uid), JSON.stringify(daemons));
  } finally {
    proc.kill("SIGTERM");
    await proc.status;
    await log.done;
    client.cleanup();
    uh.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("context buildkitd-toml prints the rendered file; inspect notes keys without effect; export | import keeps integer forms", async () => {
  const h = home(`current = "r"

[context.r]
builder = "tcp"
builder-address = "127.0.0.1:1"
debug = true

  [context.r.dns]
  nameservers = ["10.0.0.1"]

  [context.r.worker.containerd]
  namespace = "ns"
  gckeepstorage = 10737418240

  [[context.r.worker.containerd.gcpolicy]]
  keepDuration = 7200
`);
  try {
    const t = await run(["context", "buildkitd-toml", "r"], { env: h.env });
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(plainToml(t.stdout), {
      debug: true,
      dns: { nameservers: ["10.0.0.1"] },
      worker: {
        containerd: { namespace: "ns", gckeepstorage: 10737418240, gcpolicy: [{ keepDuration: 7200 }] },
      },
    });
    const ins = await run(["context", "inspect"], { env: h.env });
    assert.match(
      ins.stdout,
      /# note: debug, dns, worker\.containerd\.namespace: no effect for builder tcp, whose daemon envd-lite does not run/,
    );
    assert.match(ins.stdout, /keepDuration = 7200\n/);
    const exported = await run(["context", "export", "--name", "r"], { env: h.env });
    const other = tempHome();
    try {
      const imp = await run(["context", "import", "--name", "r2", "-"], {
        env: other.env,
        stdin: exported.stdout,
      });
      assert.equal(imp.code, 0, imp.stderr);
      const back = await run(["context", "inspect", "--name", "r2", "-f", "json"], { env: other.env });
      assert.deepEqual(JSON.parse(back.stdout).worker, {
        containerd: { namespace: "ns", gckeepstorage: 10737418240, gcpolicy: [{ keepDuration: 7200 }] },
      });
    } finally {
      other.cleanup();
    }
  } finally {
    h.cleanup();
  }
});

Deno.test("prune and du on a managed builder that does not exist say so and create nothing; -f is --format", async () => {
  const name = `envd-lite-e2e-none-${randomBytes(3).toString("hex")}`;
  const sockDir = mkdtempSync(join(tmpdir(), "envd-lite-none-"));
  const h = home(`current = "d"

[context.d]
builder = "docker-container"
builder-address = "${name}"

[context.u]
builder = "unix"
builder-address = "${join(sockDir, "bk.sock")}"
  [context.u.daemon]
  rootless = false
`);
  const env = { ...h.env, DOCKER_HOST: peers.dockerHost };
  try {
    for (const ctx of ["d", "u"]) {
      for (const cmd of [["prune"], ["du"], ["prune", "-f", "json"]]) {
        const r = await run([...cmd, "--context", ctx], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /has no builder to use: .*; nothing done \(bootstrap creates it\)/);
      }
    }
    const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });
    await assert.rejects(
      docker.getContainer(name).inspect(),
      /no such container/i,
      "no container was created",
    );
    assert.throws(() => readFileSync(join(h.home, ".local/state/envd-lite/daemons/u/pid")), /ENOENT/);
    // -f is --format for prune, as for du, ls and inspect; --filter has no short form.
    const bad = await run(["prune", "-f", "type==source.local"], { env });
    assert.equal(bad.code, 1, "a usage error exits 1, as envd's");
    assert.match(bad.stderr, /--format/);
  } finally {
    h.cleanup();
    rmSync(sockDir, { recursive: true, force: true });
  }
});

Deno.test("a file with several problems: one error line, and --debug lists every problem with its line", async () => {
  const h = home('[contexts.a]\nx = 1\n[context.default]\nbuilder = "tcpp"\n[context.default.b]\nk = 1\n');
  try {
    const plain = await run(["context", "ls"], { env: h.env });
    assert.equal(plain.code, 1);
    assert.equal(plain.stderr.split("\n").length, 2, "one line");
    assert.equal(
      errorOf(plain.stderr),
      `${h.configFile}:1: unknown key "contexts" (did you mean "context"?) (and 2 more problems; --debug lists them all)`,
    );
    const debug = await run(["context", "ls", "--debug"], { env: h.env });
    assert.equal(debug.code, 1);
    const lines = debug.stderr.split("\n").filter((l) => l.startsWith(h.configFile));
    assert.deepEqual(lines, [
      `${h.configFile}:1: unknown key "contexts" (did you mean "context"?)`,
      `${h.configFile}:4: context.default.builder: unknown builder type "tcpp" (one of docker-container, kube-pod, tcp, unix, moby-worker, nerdctl-container, ssh)`,
      `${h.configFile}:5: unknown key "b" in [context.default] (to name a context "default.b", quote it: [context."default.b"])`,
    ]);
  } finally {
    h.cleanup();
  }
});
