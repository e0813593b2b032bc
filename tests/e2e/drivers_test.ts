/**
 * Each stream driver against the real daemons from `scripts/daemons start`: real gRPC calls through the BuildKit
 * client (lib/h2 on the driver's stream), and straight over the driver's Duplex with Node's HTTP/2 client.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { connect } from "../../lib/buildkit/client.ts";
import type { Context } from "../../lib/config/types.ts";
import { findDriver } from "../../lib/driver/registry.ts";
import type { Driver, DriverEnv } from "../../lib/driver/types.ts";
import { dockerApi } from "../../lib/transport/docker_api.ts";
import type { Endpoint } from "../../lib/transport/types.ts";
import { daemons } from "../helpers/daemons.ts";
import { runningCommands, waitFor } from "../helpers/docker.ts";
import { listWorkersOver } from "../helpers/grpc_probe.ts";

const peers = daemons();
const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });

/** A driver from the registry (so lazy loading is covered too) for a context with this builder. */
async function driver(
  builder: string,
  builderAddress: string,
  env: Record<string, string | undefined>,
  debug: string[] = [],
) {
  const factory = await findDriver(builder)!.load();
  const context: Context = { name: "e2e", builder, builderAddress, runner: "docker" };
  const denv: DriverEnv = { env, log: () => {}, debug: (m) => debug.push(m) };
  return factory.create(context, denv);
}

async function streamEndpoint(d: Driver): Promise<Extract<Endpoint, { kind: "stream" }>> {
  const ep = await d.endpoint();
  assert.equal(ep.kind, "stream");
  return ep as Extract<Endpoint, { kind: "stream" }>;
}

function pidAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

Deno.test("docker-container: gRPC through a Docker API exec of buildctl dial-stdio", async (t) => {
  const name = `envd-lite-e2e-bk-${randomBytes(4).toString("hex")}`;
  const debug: string[] = [];
  // Creating a missing container is tests/e2e/managed_builder_test.ts's; here the user made the container.
  const d = await driver("docker-container", name, {
    DOCKER_HOST: peers.dockerHost,
    BUILDKIT_RUNNING_TIMEOUT: "300ms",
  }, debug);

  // Not --privileged: this sandbox's bounding set lacks CAP_SYS_RESOURCE, which privileged containers request.
  const container = await docker.createContainer({
    name,
    Image: peers.buildkitImage,
    HostConfig: {
      CapAdd: ["ALL"],
      CapDrop: ["SYS_RESOURCE"],
      SecurityOpt: ["seccomp=unconfined", "apparmor=unconfined"],
    },
  });
  try {
    await t.step(
      "bootstrap starts a created-but-stopped container, and leaves it as the user made it",
      async () => {
        assert.deepEqual(await d.bootstrap!(), { created: false, started: true, message: undefined });
        const info = await container.inspect();
        assert.equal(info.State.Running, true);
        assert.equal(info.Config.Labels["org.envd-lite.managed"], undefined);
      },
    );

    const ep = await streamEndpoint(d);
    assert.equal(ep.display, `docker-container://${name}`);

    await t.step(
      "the BuildKit client reaches the buildkitd in the container; closing it ends dial-stdio",
      async () => {
        const client = await connect(ep);
        try {
          const workers = await client.waitReady({ timeoutMs: 20_000 });
          assert.equal(workers.length, 1);
          assert.equal(workers[0].labels["org.mobyproject.buildkit.worker.executor"], "oci");
          assert.equal((await client.info()).version, peers.buildkitVersion);
          assert.ok(
            (await runningCommands(docker, name)).some((c) => c.includes("dial-stdio")),
            "dial-stdio runs while connected",
          );
        } finally {
          await client.close();
        }
        await waitFor(
          async () => !(await runningCommands(docker, name)).some((c) => c.includes("dial-stdio")),
          "dial-stdio to exit",
        );
      },
    );

    await t.step(
      "the stream works as an HTTP/2 connection by itself, and ends dial-stdio when closed",
      async () => {
        const res = await listWorkersOver(await ep.open()); // closes the HTTP/2 session gracefully
        assert.equal(res.record[0].buildkitVersion?.version, peers.buildkitVersion);
        await waitFor(
          async () => !(await runningCommands(docker, name)).some((c) => c.includes("dial-stdio")),
          "dial-stdio to exit",
        );
      },
    );

    await t.step("destroying a live connection ends dial-stdio too", async () => {
      const s = await ep.open();
      s.write(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
      await waitFor(
        async () => (await runningCommands(docker, name)).some((c) => c.includes("dial-stdio")),
        "dial-stdio to run",
      );
      s.destroy();
      await waitFor(
        async () => !(await runningCommands(docker, name)).some((c) => c.includes("dial-stdio")),
        "dial-stdio to exit",
      );
    });
  } finally {
    await container.remove({ force: true });
  }

  await t.step("a container without buildctl fails the stream with the daemon's reason", async () => {
    const bb = await docker.createContainer({
      name: `${name}-bb`,
      Image: peers.busyboxImage,
      Cmd: ["sleep", "3600"],
    });
    try {
      await bb.start();
      const other = await streamEndpoint(
        await driver("docker-container", `${name}-bb`, { DOCKER_HOST: peers.dockerHost }),
      );
      await assert.rejects(
        listWorkersOver(await other.open()),
        new RegExp(
          `buildctl dial-stdio in container ${name}-bb exited with code 126: OCI runtime exec failed: .*"buildctl": executable file not found`,
        ),
      );
    } finally {
      await bb.remove({ force: true });
    }
  });
});

Deno.test("moby-worker: gRPC to dockerd's embedded BuildKit through POST /grpc", async () => {
  const d = await driver("moby-worker", "", { DOCKER_HOST: peers.dockerHost });
  const ep = await streamEndpoint(d);
  assert.equal(ep.display, `moby-worker (dockerd at ${peers.dockerHost})`);
  const client = await connect(ep);
  try {
    const workers = await client.listWorkers();
    assert.ok(workers.length >= 1, "dockerd's BuildKit lists a worker");
    assert.ok(workers[0].id, "the worker has an id");
  } finally {
    await client.close();
  }
  const res = await listWorkersOver(await ep.open());
  assert.ok(res.record.length >= 1, "the raw hijacked connection carries HTTP/2 too");
});

/** A stand-in `kubectl`/`nerdctl` first on PATH: records argv and pid, then dials the test buildkitd for real. */
function standIn(
  command: string,
  dir: string,
): { env: Record<string, string>; argv(): string[]; pid(): number } {
  writeFileSync(
    join(dir, command),
    `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir}/argv'\necho $$ > '${dir}/pid'\n` +
      `exec '${peers.buildctl}' --addr 'unix://${peers.buildkitUnix}' dial-stdio\n`,
    { mode: 0o755 },
  );
  return {
    env: { PATH: `${dir}:${process.env.PATH}` },
    argv: () => readFileSync(join(dir, "argv"), "utf8").trimEnd().split("\n"),
    pid: () => Number(readFileSync(join(dir, "pid"), "utf8")),
  };
}

for (
  const [builder, command, address, argv] of [
    ["kube-pod", "kubectl", "buildkitd-0?namespace=ci&context=prod&container=buildkitd", [
      "--context=prod",
      "--namespace=ci",
      "exec",
      "--container=buildkitd",
      "-i",
      "buildkitd-0",
      "--",
      "buildctl",
      "dial-stdio",
    ]],
    ["kube-pod", "kubectl", "buildkitd-0", ["exec", "-i", "buildkitd-0", "--", "buildctl", "dial-stdio"]],
    ["nerdctl-container", "nerdctl", "buildkitd?namespace=buildkit", [
      "exec",
      "--namespace",
      "buildkit",
      "-i",
      "buildkitd",
      "buildctl",
      "dial-stdio",
    ]],
  ] as const
) {
  Deno.test(`${builder} ${address}: ${command} ${argv.join(" ")} carries gRPC, and ends with the connection`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "envd-lite-standin-"));
    try {
      const fake = standIn(command, dir);
      const ep = await streamEndpoint(await driver(builder, address, fake.env));
      const client = await connect(ep);
      try {
        const workers = await client.listWorkers();
        assert.equal(workers[0].labels["org.mobyproject.buildkit.worker.executor"], "oci");
        assert.equal((await client.info()).version, peers.buildkitVersion);
        assert.deepEqual(fake.argv(), argv);
        assert.ok(pidAlive(fake.pid()), `${command} runs while connected`);
      } finally {
        await client.close();
      }
      await waitFor(() => !pidAlive(fake.pid()), `${command} to exit once the client closed`);

      // Straight over the Duplex: a graceful HTTP/2 close lets the helper exit by itself.
      const res = await listWorkersOver(await ep.open());
      assert.equal(res.record[0].labels["org.mobyproject.buildkit.worker.executor"], "oci");
      await waitFor(() => !pidAlive(fake.pid()), `${command} to exit once the connection closed`);

      // Cancelled mid-connection: the helper is killed, not left behind.
      const s: Duplex = await ep.open();
      await waitFor(() => pidAlive(fake.pid()), `${command} to start`);
      const pid = fake.pid();
      s.destroy();
      await waitFor(() => !pidAlive(pid), `${command} to be killed on destroy`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

Deno.test("kube-pod: a failing kubectl fails the connection with its message", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-standin-"));
  try {
    writeFileSync(
      join(dir, "kubectl"),
      `#!/bin/sh\necho 'Error from server (NotFound): pods "nope" not found' >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const debug: string[] = [];
    const ep = await streamEndpoint(
      await driver("kube-pod", "nope", { PATH: `${dir}:${process.env.PATH}` }, debug),
    );
    await assert.rejects(
      listWorkersOver(await ep.open()),
      /kubectl exited with code 1: Error from server \(NotFound\): pods "nope" not found/,
    );
    assert.deepEqual(debug, [
      'kube-pod://nope: kubectl: Error from server (NotFound): pods "nope" not found',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
