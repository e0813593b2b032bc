/**
 * Outputs on this side: the default when none is given, where each exporter's stream lands (a file, stdout,
 * Docker's image load, a directory), and Docker checked up front so a load never waits on a Docker that is gone.
 */
import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import type { ExportTarget } from "../buildkit/session/filesend.ts";
import { UserError } from "../errors.ts";
import type { OutputPlan } from "./specs.ts";

/** How long Docker may take to answer a ping before it counts as unreachable. */
export const DOCKER_PING_MS = 5000;

/** What the build reports about outputs as it decides them. */
export interface OutputLog {
  info(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

/** Ping the Docker of `env`; resolves to undefined when it answers, else to why not (naming it). */
export async function dockerProblem(
  env: Record<string, string | undefined>,
  timeoutMs = DOCKER_PING_MS,
): Promise<string | undefined> {
  const { dockerApi } = await import("../transport/docker_api.ts");
  let api;
  try {
    api = dockerApi(env);
  } catch (err) {
    return (err as Error).message;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const where = `Docker at ${api.target.display}`;
  const answer = await Promise.race([
    api.docker.ping().then(() => undefined, (err: Error) => `cannot reach ${where}: ${err.message}`),
    new Promise<string>((
      r,
    ) => (timer = setTimeout(() => r(`${where} did not answer within ${timeoutMs / 1000}s`), timeoutMs))),
  ]);
  clearTimeout(timer);
  return answer;
}

/** No --output: load into the runner's Docker when it answers, else keep the result in buildkitd's cache. */
export async function defaultOutputs(
  runner: string,
  tags: string[],
  env: Record<string, string | undefined>,
  log: OutputLog,
): Promise<OutputPlan[]> {
  if (runner === "docker" && !(await dockerProblem(env, 2000))) {
    const attrs: Record<string, string> = tags.length ? { name: tags.join(",") } : {};
    log.info("no --output given: loading the image into Docker", { docker: env.DOCKER_HOST || "default" });
    return [{ type: "docker", attrs, load: true }];
  }
  if (tags.length) {
    log.info(
      `no --output given and no Docker answers: image ${tags.join(",")} stays in buildkitd ` +
        `(not pushed; add --push or --output type=image,name=${tags[0]},push=true)`,
    );
    return [{ type: "image", attrs: { name: tags.join(",") } }];
  }
  log.info("no --output given and no Docker answers: the result is only kept in buildkitd's cache");
  return [];
}

/** Fail before the build when an output loads into a Docker that does not answer. */
export async function checkDocker(
  outputs: OutputPlan[],
  env: Record<string, string | undefined>,
): Promise<void> {
  if (!outputs.some((o) => o.load)) return;
  const problem = await dockerProblem(env);
  if (problem) throw new UserError(`--output type=docker (load): ${problem}`);
}

/** Where output `o`'s stream goes; `loaded` collects Docker's `Loaded image…` lines. */
export async function exportTarget(
  o: OutputPlan,
  env: Record<string, string | undefined>,
  loaded: string[],
): Promise<ExportTarget | undefined> {
  if (o.type === "local") return { kind: "dir", dest: resolve(o.dest!) };
  if (o.load) {
    const [{ dockerApi }, { dockerLoadWriter }] = await Promise.all([
      import("../transport/docker_api.ts"),
      import("./docker_load.ts"),
    ]);
    const api = dockerApi(env);
    return { kind: "stream", open: () => dockerLoadWriter(api, (lines) => loaded.push(...lines)) };
  }
  if (o.dest === "-") {
    if (process.stdout.isTTY) {
      throw new UserError(`--output type=${o.type},dest=-: refusing to write a tarball to a terminal`);
    }
    return { kind: "stream", open: () => stdoutWriter() };
  }
  if (o.dest) {
    const path = resolve(o.dest);
    return { kind: "stream", open: () => createWriteStream(path) };
  }
  return undefined;
}

// stdout stays open after the export (the process flushes it on exit).
function stdoutWriter(): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      process.stdout.write(chunk, (err) => cb(err ?? null));
    },
  });
}
