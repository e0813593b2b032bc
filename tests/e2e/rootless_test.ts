/**
 * Rootless builders, run by a real unprivileged user (created here: useradd, subuid/subgid) through the compiled
 * binary: `rootlesskit buildkitd` on the host, and BuildKit's rootless image in Docker. Plus a root-run host daemon.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateText } from "../../lib/config/mod.ts";
import { dockerApi } from "../../lib/transport/docker_api.ts";
import { buildIn, putBuildContext, runWasCached } from "../helpers/buildctl_in_container.ts";
import { daemons } from "../helpers/daemons.ts";
import { runningCommands, waitFor } from "../helpers/docker.ts";
import { expectedGcPolicy } from "../helpers/gc_policy.ts";
import { ROOT, run, tempHome } from "../helpers/run.ts";
import { ensureTestUser, execAs, runAs, type TestUser, userHome } from "../helpers/unprivileged.ts";
import { buildctlBuildArgs } from "../helpers/buildctl.ts";

const peers = daemons();
const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });
const user = ensureTestUser();

function writeContexts(home: string, text: string, owner?: TestUser): void {
  const dir = join(home, ".config/envd");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "contexts.toml"), text);
  if (owner) {
    for (const p of [join(home, ".config"), dir, join(dir, "contexts.toml")]) {
      chownSync(p, owner.uid, owner.gid);
    }
  }
}

function procOwner(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** A Dockerfile with a real RUN step, readable by the user: busybox copied in, so no registry is needed. */
function buildContext(owner: TestUser, home: string): string {
  const dir = join(home, "ctx");
  mkdirSync(dir);
  writeFileSync(join(dir, "busybox"), readFileSync("/bin/busybox"), { mode: 0o755 });
  writeFileSync(
    join(dir, "Dockerfile"),
    'FROM scratch\nCOPY busybox /bin/busybox\nARG STAMP\nRUN ["/bin/busybox", "sh", "-c", "echo ${STAMP} $(/bin/busybox id -u) > /built"]\n',
  );
  for (const p of [dir, join(dir, "busybox"), join(dir, "Dockerfile")]) chownSync(p, owner.uid, owner.gid);
  return dir;
}

const hostContexts = (keep: string) =>
  `current = "rl"

[context.rl]
builder = "unix"
builder-address = "buildkitd.sock"

  [context.rl.daemon]
  rootless = true

  [context.rl.worker.oci]
  gckeepstorage = "${keep}"
`;

Deno.test("rootless on the host: a user's bootstrap starts rootlesskit buildkitd; it builds; builder stop ends it", async (t) => {
  const h = userHome(user);
  const sock = `${user.runtimeDir}/buildkit/buildkitd.sock`;
  const dir = join(h.home, ".local/state/envd-lite/daemons/rl");
  const pidOf = () => Number(readFileSync(join(dir, "pid"), "utf8"));
  writeContexts(h.home, hostContexts("1GB"), user);
  try {
    await t.step(
      "bootstrap: the daemon runs as the user, socket in the runtime dir, pid file and log in the state dir",
      async () => {
        const r = await runAs(user, ["bootstrap"], h.env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^BuildKit: github.com\/moby\/buildkit v0\.29\.0\nWorker: /);
        assert.ok(
          r.stderr.includes(`msg="starting rootless buildkitd at unix://${sock} (log: ${dir}/log)"`),
          r.stderr,
        );
        const pid = pidOf();
        assert.equal(procOwner(pid), user.uid);
        assert.match(
          readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "),
          new RegExp(`^rootlesskit buildkitd --addr unix://${sock} `),
        );
        assert.ok(statSync(sock).isSocket());
        assert.equal(statSync(sock).uid, user.uid);
        assert.match(readFileSync(join(dir, "log"), "utf8"), /running server on /);
        const again = await runAs(user, ["bootstrap"], h.env);
        assert.equal(again.code, 0, again.stderr);
        assert.doesNotMatch(again.stderr, /starting/);
        assert.equal(pidOf(), pid);
      },
    );

    await t.step("the daemon's GC policy is the context's", async () => {
      const r = await runAs(user, ["builder", "workers", "--format", "json"], h.env);
      assert.equal(r.code, 0, r.stderr);
      const ctx = validateText(hostContexts("1GB"), "c.toml").model.contexts[0];
      assert.deepEqual(JSON.parse(r.stdout)[0].gcPolicies, expectedGcPolicy(ctx, join(dir, "root")));
    });

    await t.step("a real build with a RUN step, as the user", async () => {
      const ctxDir = buildContext(user, h.home);
      const args = buildctlBuildArgs(`unix://${sock}`, ctxDir, [
        "--opt",
        "build-arg:STAMP=rl",
        "--output",
        `type=local,dest=${h.home}/out`,
      ]);
      const r = await execAs(user, peers.buildctl, args, h.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        readFileSync(join(h.home, "out/built"), "utf8"),
        "rl 0\n",
        "root inside the user namespace",
      );
      assert.equal(statSync(join(h.home, "out/built")).uid, user.uid);
    });

    await t.step("drift is reported; --recreate restarts it with the context's config", async () => {
      const pid = pidOf();
      writeContexts(h.home, hostContexts("2GB"), user);
      const r = await runAs(user, ["bootstrap"], h.env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /level=warning msg="rootless buildkitd \(pid \d+\) runs with another configuration than context \\"rl\\" gives; nothing was changed/,
      );
      assert.equal(pidOf(), pid);
      const re = await runAs(user, ["bootstrap", "--recreate"], h.env);
      assert.equal(re.code, 0, re.stderr);
      assert.notEqual(pidOf(), pid);
      assert.ok(!alive(pid));
      const w = await runAs(user, ["builder", "workers", "--format", "json"], h.env);
      assert.equal(JSON.parse(w.stdout)[0].gcPolicies[1].reservedSpace, 2 * 1024 ** 3);
    });

    await t.step("builder stop ends it; a stale pid file does not stop the next bootstrap", async () => {
      const pid = pidOf();
      const r = await runAs(user, ["builder", "stop"], h.env);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.includes(`rootless buildkitd (pid ${pid}) at unix://${sock} is stopped`), r.stderr);
      await waitFor(() => !alive(pid), "the daemon to exit");
      assert.ok(!existsSync(sock));
      const again = await runAs(user, ["builder", "stop"], h.env);
      assert.match(again.stderr, /rootless buildkitd for context \\"rl\\" is not running/);

      writeFileSync(join(dir, "pid"), "1\n"); // pid 1 is alive but not ours
      const b = await runAs(user, ["--debug", "bootstrap"], h.env);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stderr, /removing stale pid file .*\(pid 1 is not our buildkitd\)/);
      assert.notEqual(pidOf(), 1);
    });

    await t.step(
      "builder rm --keep-state=false stops it and deletes its cache (files owned by subordinate ids)",
      async () => {
        const pid = pidOf();
        const r = await runAs(user, ["builder", "rm", "--keep-state=false"], h.env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /is stopped and removed; its cache .*\/root is deleted/);
        assert.ok(!alive(pid));
        assert.ok(!existsSync(join(dir, "root")));
      },
    );
  } finally {
    await runAs(user, ["builder", "stop"], h.env).catch(() => {});
    rmSync(h.home, { recursive: true, force: true });
  }
});

Deno.test("rootless = false on a unix context: root starts plain buildkitd; a user is told to use rootless", async () => {
  const h = tempHome();
  const sockDir = mkdtempSync(join(tmpdir(), "envd-lite-rootd-"));
  const sock = join(sockDir, "bk.sock");
  writeContexts(
    h.home,
    `current = "r"\n[context.r]\nbuilder = "unix"\nbuilder-address = "${sock}"\n  [context.r.daemon]\n  rootless = false\n`,
  );
  const env = { ...h.env, PATH: `${ROOT}/.cache/bin:${process.env.PATH}` };
  try {
    const r = await run(["bootstrap"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`starting buildkitd at unix://${sock}`), r.stderr);
    const pid = Number(readFileSync(join(h.home, ".local/state/envd-lite/daemons/r/pid"), "utf8"));
    assert.equal(procOwner(pid), 0);
    assert.match(readFileSync(`/proc/${pid}/cmdline`, "utf8"), /^buildkitd\0/);
    const stop = await run(["builder", "stop"], { env });
    assert.equal(stop.code, 0, stop.stderr);
    await waitFor(() => !alive(pid), "buildkitd to exit");

    const uh = userHome(user);
    try {
      writeContexts(
        uh.home,
        `current = "r"\n[context.r]\nbuilder = "unix"\nbuilder-address = "bk.sock"\n  [context.r.daemon]\n`,
        user,
      );
      const u = await runAs(user, ["bootstrap"], uh.env);
      assert.equal(u.code, 1);
      assert.match(
        u.stderr,
        /rootless = false starts buildkitd as root; run as root, or set rootless = true in \[context\.r\.daemon\]/,
      );
    } finally {
      uh.cleanup();
    }
  } finally {
    await run(["builder", "stop"], { env }).catch(() => {});
    rmSync(sockDir, { recursive: true, force: true });
    h.cleanup();
  }
});

Deno.test("rootless in a container: a user's bootstrap runs BuildKit's rootless image unprivileged; it builds; stop and rm", async (t) => {
  const name = `envd-lite-e2e-rl-${randomBytes(3).toString("hex")}`;
  const volume = `${name}_state`;
  const h = userHome(user);
  const env = { ...h.env, DOCKER_HOST: peers.dockerHost, BUILDKIT_CONNECTING_TIMEOUT: "20s" };
  writeContexts(
    h.home,
    `current = "c"\n[context.c]\nbuilder = "docker-container"\nbuilder-address = "${name}"\n  [context.c.daemon]\n  rootless = true\n`,
    user,
  );
  try {
    await t.step(
      "bootstrap: the -rootless image, unprivileged, unconfined, rootlesskit buildkitd without a process sandbox",
      async () => {
        const r = await runAs(user, ["bootstrap"], env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `creating container ${name} from ${peers.buildkitImage}-rootless \\(cache volume ${volume}, new\\)`,
          ),
        );
        const info = await docker.getContainer(name).inspect();
        assert.equal(info.Config.Image, `${peers.buildkitImage}-rootless`);
        assert.equal(info.Config.User, "1000:1000");
        assert.equal(info.HostConfig.Privileged, false);
        assert.equal(info.HostConfig.CapAdd ?? null, null);
        assert.deepEqual([...(info.HostConfig.SecurityOpt ?? [])].sort(), [
          "apparmor=unconfined",
          "seccomp=unconfined",
        ]);
        assert.deepEqual(info.HostConfig.MaskedPaths, []);
        assert.deepEqual(info.Mounts.filter((m) => m.Type === "volume").map((m) => [m.Name, m.Destination]), [
          [volume, "/home/user/.local/share/buildkit"],
        ]);
        const cmds = await runningCommands(docker, name);
        assert.ok(
          cmds.some((c) => /^rootlesskit buildkitd .*--oci-worker-no-process-sandbox/.test(c)),
          cmds.join("\n"),
        );
      },
    );

    await t.step(
      "a real build with a RUN step; after stop and the next bootstrap the step is cached",
      async () => {
        await putBuildContext(docker, name);
        assert.match(await buildIn(docker, name, "c1"), /RUN/);
        const stop = await runAs(user, ["builder", "stop"], env);
        assert.equal(stop.code, 0, stop.stderr);
        assert.equal((await docker.getContainer(name).inspect()).State.Status, "exited");
        const r = await runAs(user, ["bootstrap"], env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /container exited, try to start it/);
        assert.ok(runWasCached(await buildIn(docker, name, "c1")));
      },
    );

    await t.step("builder rm --keep-state=false removes container and volume", async () => {
      const r = await runAs(user, ["builder", "rm", "--keep-state=false"], env);
      assert.equal(r.code, 0, r.stderr);
      await assert.rejects(docker.getContainer(name).inspect(), /no such container/i);
      await assert.rejects(docker.getVolume(volume).inspect(), /no such volume/i);
    });
  } finally {
    await docker.getContainer(name).remove({ force: true }).catch(() => {});
    await waitFor(
      async () => !(await docker.getContainer(name).inspect().then(() => true, () => false)),
      "container gone",
    );
    await docker.getVolume(volume).remove().catch(() => {});
    h.cleanup();
  }
});
