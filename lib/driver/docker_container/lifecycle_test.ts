import assert from "node:assert/strict";
import type Docker from "dockerode";
import type { ContainerState, DockerOps } from "./docker_ops.ts";
import { ensureContainer, type LifecycleEnv } from "./lifecycle.ts";
import { type ContainerPlan, LABEL_HASH, LABEL_MANAGED } from "./spec.ts";
import { describeContainer, removeContainer, stopContainer } from "./control.ts";

const PLAN: ContainerPlan = {
  name: "bk",
  image: "moby/buildkit:v0.29.0",
  volume: "bk_state",
  rootless: false,
  args: ["--config", "/etc/buildkit/buildkitd.toml"],
  hash: "h1",
  context: "default",
};

/** An in-memory Docker: containers by name; every call is recorded. */
class FakeDocker implements DockerOps {
  containers = new Map<string, ContainerState>();
  volumes = new Set<string>();
  calls: string[] = [];
  startError?: Error & { statusCode?: number };
  /** Called on each inspect, to change state over time. */
  onInspect?: (name: string) => void;

  put(name: string, s: Partial<ContainerState>) {
    this.containers.set(name, {
      status: "running",
      running: true,
      exitCode: 0,
      error: "",
      labels: { [LABEL_MANAGED]: "true", [LABEL_HASH]: "h1" },
      image: PLAN.image,
      volumes: { "/var/lib/buildkit": "bk_state" },
      ...s,
    });
  }
  inspect(name: string) {
    this.onInspect?.(name);
    return Promise.resolve(this.containers.get(name) ?? null);
  }
  create(spec: Docker.ContainerCreateOptions) {
    const priv = spec.HostConfig?.Privileged ? "privileged" : spec.HostConfig?.CapAdd ? "caps" : "plain";
    this.calls.push(`create ${spec.name} ${priv}`);
    if (this.containers.has(spec.name!)) {
      return Promise.reject(Object.assign(new Error("Conflict"), { statusCode: 409 }));
    }
    this.put(spec.name!, { status: "created", running: false, labels: spec.Labels! });
    return Promise.resolve();
  }
  putArchive(name: string) {
    this.calls.push(`putArchive ${name}`);
    return Promise.resolve();
  }
  start(name: string) {
    this.calls.push(`start ${name}`);
    if (this.startError) {
      const e = this.startError;
      this.startError = undefined;
      return Promise.reject(e);
    }
    this.containers.get(name)!.status = "running";
    this.containers.get(name)!.running = true;
    return Promise.resolve();
  }
  unpause(name: string) {
    this.calls.push(`unpause ${name}`);
    this.containers.get(name)!.status = "running";
    return Promise.resolve();
  }
  stop(name: string) {
    this.calls.push(`stop ${name}`);
    Object.assign(this.containers.get(name)!, { status: "exited", running: false });
    return Promise.resolve();
  }
  remove(name: string) {
    this.calls.push(`remove ${name}`);
    this.containers.delete(name);
    return Promise.resolve();
  }
  ensureImage() {
    return Promise.resolve(false);
  }
  ensureVolume(name: string) {
    const made = !this.volumes.has(name);
    this.volumes.add(name);
    return Promise.resolve(made);
  }
  removeVolume(name: string) {
    this.calls.push(`removeVolume ${name}`);
    return Promise.resolve(this.volumes.delete(name));
  }
  daemonKey() {
    return Promise.resolve("DAEMON@6.1");
  }
  logs() {
    return Promise.resolve('time=1 level=info msg=one\ntime=2 level=error msg="bad config"\n');
  }
}

function setup(fake = new FakeDocker()) {
  const logs: string[] = [];
  const debug: string[] = [];
  const env: LifecycleEnv = {
    ops: fake,
    log: (m) => logs.push(m),
    debug: (m) => debug.push(m),
    runningTimeout: { ms: 200, text: "200ms" },
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
  };
  const want = (hash = "h1", configuredImage?: string) => ({
    name: "bk",
    context: "default",
    plan: () => ({ plan: { ...PLAN, hash }, archive: new Uint8Array(1024) }),
    configuredImage,
  });
  return { fake, env, logs, debug, want };
}

Deno.test("absent: created (volume, config, start) and reported as created", async () => {
  const { fake, env, want, logs } = setup();
  assert.deepEqual(await ensureContainer(env, want()), { created: true, started: true });
  assert.deepEqual(fake.calls, ["create bk privileged", "putArchive bk", "start bk"]);
  assert.ok(fake.volumes.has("bk_state"));
  assert.match(logs[0], /^creating container bk from moby\/buildkit:v0.29.0 \(cache volume bk_state, new\)$/);
});

Deno.test("--privileged refused with 'unable to apply caps': removed and re-created with the capability fallback", async () => {
  const { fake, env, want, debug } = setup();
  fake.startError = Object.assign(
    new Error(
      "(HTTP code 500) server error - failed to create shim task: unable to apply caps: operation not permitted",
    ),
    { statusCode: 500 },
  );
  assert.equal((await ensureContainer(env, want())).created, true);
  assert.deepEqual(fake.calls, [
    "create bk privileged",
    "putArchive bk",
    "start bk",
    "remove bk",
    "create bk caps",
    "putArchive bk",
    "start bk",
  ]);
  assert.match(
    debug.join("\n"),
    /--privileged is refused on this host \(failed to create shim task: unable to apply caps/,
  );
});

Deno.test("a refusal is remembered per Docker daemon: the next create goes straight to the fallback", async () => {
  const { fake, env, want, debug } = setup();
  const keys = new Set<string>();
  env.memo = { refused: (k) => keys.has(k), remember: (k) => void keys.add(k), where: "/memo" };
  fake.startError = Object.assign(new Error("unable to apply caps: operation not permitted"), {
    statusCode: 500,
  });
  await ensureContainer(env, want());
  assert.deepEqual([...keys], ["DAEMON@6.1"]);
  fake.containers.clear();
  fake.calls = [];
  await ensureContainer(env, want());
  assert.deepEqual(fake.calls, ["create bk caps", "putArchive bk", "start bk"]);
  assert.match(debug.at(-1)!, /this Docker refused --privileged before \(\/memo\)/);
});

Deno.test("another start failure is one error, and the broken container is removed", async () => {
  const { fake, env, want } = setup();
  fake.startError = Object.assign(new Error("(HTTP code 500) server error - no such image layer"), {
    statusCode: 500,
  });
  await assert.rejects(
    ensureContainer(env, want()),
    /^UserError: cannot start container bk: no such image layer$/,
  );
  assert.equal(fake.containers.has("bk"), false);
});

Deno.test("envd's resume table: paused, exited, dead, removing, created; running untouched", async () => {
  const cases: [string, string, string[]][] = [
    ["paused", "container was paused, unpause it now...", ["unpause bk"]],
    ["exited", "container exited, try to start it...", ["start bk"]],
    ["dead", "container is dead, try to remove it...", [
      "remove bk",
      "create bk privileged",
      "putArchive bk",
      "start bk",
    ]],
    ["running", "", []],
    ["restarting", "", []],
  ];
  for (const [status, line, calls] of cases) {
    const { fake, env, want, logs } = setup();
    fake.put("bk", { status, running: status !== "exited" && status !== "dead" });
    const r = await ensureContainer(env, want());
    assert.equal(logs[0] ?? "", line, status);
    assert.deepEqual(fake.calls, calls, status);
    assert.equal(r.created, status === "dead", status);
    assert.equal(r.started, status !== "running" && status !== "restarting", status);
  }
});

Deno.test("removing: waits until gone, then creates; a removal that never ends times out as envd says", async () => {
  const { fake, env, want, logs } = setup();
  fake.put("bk", { status: "removing", running: false });
  let n = 0;
  fake.onInspect = () => void (++n === 4 && fake.containers.delete("bk"));
  assert.equal((await ensureContainer(env, want())).created, true);
  assert.equal(logs[0], "container is being removed.");

  const stuck = setup();
  stuck.fake.put("bk", { status: "removing", running: false });
  await assert.rejects(
    ensureContainer(stuck.env, stuck.want()),
    /^UserError: timeout 200ms: container can't be removed$/,
  );
});

Deno.test("created: waits until someone starts it; starts it itself when nobody does", async () => {
  const { fake, env, want, logs } = setup();
  fake.put("bk", { status: "created", running: false });
  let n = 0;
  fake.onInspect = () =>
    void (++n === 3 && Object.assign(fake.containers.get("bk")!, { status: "running", running: true }));
  await ensureContainer(env, want());
  assert.equal(logs[0], "container is being created");
  assert.deepEqual(fake.calls, []);

  const left = setup();
  left.fake.put("bk", { status: "created", running: false });
  await ensureContainer(left.env, left.want());
  assert.deepEqual(left.fake.calls, ["start bk"]);
});

Deno.test("a config that differs is reported in one line and nothing is changed", async () => {
  const { fake, env, want } = setup();
  fake.put("bk", {});
  const r = await ensureContainer(env, want("h2"));
  assert.deepEqual(fake.calls, []);
  assert.equal(
    r.message,
    'container bk runs with another buildkitd configuration than context "default" gives; nothing was changed: run `envd-lite bootstrap --recreate` to apply it (the cache volume is kept)',
  );
  const img = await ensureContainer(env, want("h1", "my/buildkit:2"));
  assert.match(
    img.message!,
    /another image \(moby\/buildkit:v0.29.0, context says my\/buildkit:2\) than context "default"/,
  );
  assert.equal((await ensureContainer(env, want("h1"))).message, undefined);
});

Deno.test("a container envd-lite did not create is resumed but never compared, re-created or removed", async () => {
  const { fake, env, want, debug } = setup();
  fake.put("bk", { labels: {}, status: "exited", running: false });
  assert.equal((await ensureContainer(env, want("h2"))).message, undefined);
  assert.match(debug.join(), /was not created by envd-lite/);
  await assert.rejects(
    ensureContainer(env, want(), { recreate: true }),
    /^UserError: container bk was not created by envd-lite, so it is not re-created; /,
  );
  await assert.rejects(removeContainer(fake, "bk", "bk_state", true), /not removing it/);
});

Deno.test("--recreate: removes and creates again with the current config, keeping the volume", async () => {
  const { fake, env, want, logs } = setup();
  fake.put("bk", {});
  fake.volumes.add("bk_state");
  const r = await ensureContainer(env, want("h2"), { recreate: true });
  assert.deepEqual(r, { created: true, started: true });
  assert.deepEqual(fake.calls, ["remove bk", "create bk privileged", "putArchive bk", "start bk"]);
  assert.equal(fake.containers.get("bk")!.labels[LABEL_HASH], "h2");
  assert.ok(fake.volumes.has("bk_state"));
  assert.equal(logs[0], "re-creating container bk; its cache volume is kept");
});

Deno.test("a name taken by a concurrent create is used as it is", async () => {
  const { fake, env, want } = setup();
  fake.put("bk", {}); // the competitor's container, made after our first look
  const real = fake.inspect.bind(fake);
  let looks = 0;
  fake.inspect = (n) => (looks++ === 0 ? Promise.resolve(null) : real(n));
  assert.deepEqual(await ensureContainer(env, want()), {
    created: false,
    started: false,
    message: undefined,
  });
  assert.deepEqual(fake.calls, ["create bk privileged"]);
});

Deno.test("stop and rm: say what they did; rm keeps the volume unless told", async () => {
  const fake = new FakeDocker();
  assert.deepEqual(await stopContainer(fake, "bk"), {
    changed: false,
    message: "container bk does not exist",
  });
  fake.put("bk", { status: "paused" });
  fake.volumes.add("bk_state");
  assert.deepEqual(await stopContainer(fake, "bk"), { changed: true, message: "container bk is stopped" });
  assert.deepEqual(fake.calls, ["unpause bk", "stop bk"]);
  assert.deepEqual(await stopContainer(fake, "bk"), {
    changed: false,
    message: "container bk is not running (exited)",
  });
  assert.deepEqual(await removeContainer(fake, "bk", "other", true), {
    changed: true,
    message: "container bk is removed; its cache volume bk_state is kept",
  });
  assert.ok(fake.volumes.has("bk_state"));
  assert.deepEqual(await removeContainer(fake, "bk", "bk_state", false), {
    changed: true,
    message: "container bk does not exist; cache volume bk_state is removed",
  });
  assert.deepEqual(await removeContainer(fake, "bk", "bk_state", false), {
    changed: false,
    message: "container bk does not exist; cache volume bk_state does not exist",
  });
});

Deno.test("diagnose: state, exit code and the last log lines on one line", async () => {
  const fake = new FakeDocker();
  assert.equal(await describeContainer(fake, "bk"), undefined);
  fake.put("bk", { status: "exited", running: false, exitCode: 1 });
  assert.equal(
    await describeContainer(fake, "bk"),
    'container bk is exited (exit code 1); last buildkitd log lines: time=2 level=error msg="bad config"',
  );
});
