/** Builds with `buildctl` inside a buildkit container (Docker API exec), to prove a managed builder really builds. */
import { readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { tar } from "../../lib/daemon/tar.ts";
import { buildctlBuildArgs } from "./buildctl.ts";

/**
 * A Dockerfile with a real RUN step on a busybox copied in (no registry needed). `ARG STAMP` makes the RUN's output
 * unique per value, so a second build with the same value is CACHED only if the cache survived.
 */
const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
ARG STAMP
RUN ["/bin/busybox", "sh", "-c", "echo \${STAMP} $(/bin/busybox id -u) > /built"]
`;

/** Runs `cmd` in the container (as its configured user); returns the exit code and the combined output. */
export async function execIn(
  docker: Docker,
  container: string,
  cmd: string[],
): Promise<{ code: number; output: string }> {
  const exec = await docker.getContainer(container).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  let output = "";
  const sink = new PassThrough();
  sink.on("data", (d) => (output += d));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.on("end", resolve));
  const info = await exec.inspect();
  return { code: info.ExitCode ?? -1, output };
}

/** Puts the build context (Dockerfile + static busybox) at /tmp/ctx in the container, readable by any user. */
export async function putBuildContext(docker: Docker, container: string): Promise<void> {
  const archive = tar([
    { path: "ctx/", mode: 0o755 },
    { path: "ctx/Dockerfile", data: new TextEncoder().encode(DOCKERFILE), mode: 0o644 },
    { path: "ctx/busybox", data: readFileSync("/bin/busybox"), mode: 0o755 },
  ]);
  await docker.getContainer(container).putArchive(Buffer.from(archive), { path: "/tmp" });
}

/** `buildctl build` of /tmp/ctx in the container with plain progress; throws with the output on failure. */
export async function buildIn(
  docker: Docker,
  container: string,
  stamp: string,
  extra: string[] = [],
): Promise<string> {
  const r = await execIn(docker, container, [
    "buildctl",
    ...extra,
    ...buildctlBuildArgs(undefined, "/tmp/ctx"),
    "--opt",
    `build-arg:STAMP=${stamp}`,
    "--progress",
    "plain",
    "--output",
    "type=local,dest=/tmp/out",
  ]);
  if (r.code !== 0) throw new Error(`buildctl build in ${container} failed (${r.code}):\n${r.output}`);
  return r.output;
}

/** True when the build output shows the RUN step taken from the cache. */
export function runWasCached(output: string): boolean {
  const m = /^#(\d+) \[\d+\/\d+\] RUN /m.exec(output);
  return !!m && new RegExp(`^#${m[1]} CACHED$`, "m").test(output);
}
