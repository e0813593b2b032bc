/** lib/transport/docker_exec.ts against the real dockerd from `scripts/daemons start`. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { dockerApi } from "../../lib/transport/docker_api.ts";
import { dockerExecStream } from "../../lib/transport/docker_exec.ts";
import { daemons } from "../helpers/daemons.ts";
import { runningCommands, waitFor } from "../helpers/docker.ts";

const peers = daemons();
const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });

async function drain(s: Duplex): Promise<{ out: Buffer; err?: Error }> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of s) chunks.push(c);
    return { out: Buffer.concat(chunks) };
  } catch (err) {
    return { out: Buffer.concat(chunks), err: err as Error };
  }
}

Deno.test("docker exec stream (real dockerd)", async (t) => {
  const name = `envd-lite-e2e-exec-${randomBytes(4).toString("hex")}`;
  const container = await docker.createContainer({ name, Image: peers.busyboxImage, Cmd: ["sleep", "3600"] });
  try {
    await container.start();

    await t.step("stdout is the stream, stderr goes to onStderr, across many frames", async () => {
      const lines: string[] = [];
      const s = await dockerExecStream(docker, name, ["sh", "-c", "echo to-stderr >&2; cat; echo done >&2"], {
        onStderr: (l) => lines.push(l),
      });
      const payload = randomBytes(1 << 20);
      s.end(payload);
      const { out, err } = await drain(s);
      assert.equal(err, undefined);
      assert.ok(out.equals(payload), `got ${out.length} bytes back, want the same ${payload.length}`);
      assert.deepEqual(lines, ["to-stderr", "done"]);
    });

    await t.step("a failing command fails the stream with its exit code and stderr", async () => {
      const s = await dockerExecStream(docker, name, ["sh", "-c", "echo boom >&2; exit 4"]);
      s.end();
      const { err } = await drain(s);
      assert.match(
        err?.message ?? "",
        new RegExp(`^sh -c .* in container ${name} exited with code 4: boom$`),
      );
    });

    await t.step("a command that cannot start fails with dockerd's reason, not as stream data", async () => {
      const s = await dockerExecStream(docker, name, ["no-such-binary", "x"]);
      s.end();
      const { out, err } = await drain(s);
      assert.equal(out.length, 0);
      assert.match(
        err?.message ?? "",
        /^no-such-binary x in container .* exited with code 12[67]: OCI runtime exec failed: .*no-such-binary/,
      );
    });

    await t.step("destroying the stream ends the exec'd process", async () => {
      const s = await dockerExecStream(docker, name, ["sh", "-c", "exec cat"]);
      s.write("x");
      await waitFor(async () => (await runningCommands(docker, name)).some((c) => c === "cat"), "cat to run");
      s.destroy();
      await waitFor(
        async () => !(await runningCommands(docker, name)).some((c) => c === "cat"),
        "cat to exit after destroy",
      );
    });

    await t.step("a missing container is named in the error", async () => {
      await assert.rejects(
        dockerExecStream(docker, `${name}-nope`, ["true"]),
        new RegExp(`cannot exec true in container ${name}-nope: .*No such container`),
      );
    });
  } finally {
    await container.remove({ force: true });
  }
});
