/**
 * One build on one node: the plan's session services, the outputs decided for that node, one Solve, then the
 * local caches tagged and the metadata/iid files written. A fleet layer can run this per node.
 */
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { hostname } from "node:os";
import type { StatusResponse } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import type { SyncStats } from "../buildkit/session/filesync.ts";
import type { BuildConnection } from "../buildkit/build_connection.ts";
import type { ExportSpec } from "../buildkit/solve.ts";
import type { Endpoint } from "../transport/types.ts";
import { buildMetadata, imageId, writeAtomic } from "./metadata.ts";
import { checkDocker, defaultOutputs, exportTarget } from "./outputs.ts";
import { type BuildPlan, releasePlan } from "./plan.ts";
import { startupJit } from "../runtime/jit.ts";
import { sessionServices } from "./services.ts";
import type { OutputPlan } from "./specs.ts";

/** A builder to run on: where its buildkitd is and which runner hosts it (`docker` may load by default). */
export interface BuildNode {
  endpoint: Endpoint;
  runner: string;
  /**
   * A build connection to `endpoint` already open (the one the readiness probe used): the build runs on it and
   * leaves closing it to the node's close(). Without it the build dials its own.
   */
  connection?: BuildConnection;
}

/** What the build tells its caller as it goes. */
export interface BuildHooks {
  signal: AbortSignal;
  env: Record<string, string | undefined>;
  info(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  warn(message: string): void;
  debug(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  onStatus(s: StatusResponse): void;
}

/** A finished build. */
export interface BuildResult {
  ref: string;
  exporterResponse: Record<string, string>;
  /** The outputs as run (the default ones included). */
  outputs: OutputPlan[];
  /** Docker's `Loaded image…` lines for a load. */
  loaded: string[];
  /** The image ID as buildx's -q prints it (config digest, else manifest digest), or "". */
  imageId: string;
  /** A subrequest's result metadata (`result.json`, …). */
  subrequest?: Record<string, string>;
}

/** A failed Solve: the cause, and (in a multi-node build) the node it failed on. */
export class SolveFailure extends Error {
  constructor(override readonly cause: unknown, readonly node?: string) {
    super((cause as Error)?.message ?? String(cause));
    this.name = "SolveFailure";
  }
}

/**
 * Run `plan` on the node `open` returns (opened once its services are ready, so their checks come first).
 * Solve errors are thrown as SolveFailure; everything else as it came.
 */
export async function runBuild(
  plan: BuildPlan,
  open: () => Promise<BuildNode & { close(): Promise<void> }>,
  hooks: BuildHooks,
): Promise<BuildResult> {
  // As buildx: a stale image ID must not survive a failed build.
  if (plan.iidfile) rmSync(plan.iidfile, { force: true });
  // What follows is mostly run-once code; a bulk upload restores the normal JIT itself (session/tunnel.ts).
  startupJit();
  const services = await sessionServices(plan, hooks.env, hooks);
  try {
    const node = await open();
    try {
      return await solveOnNode(plan, node, services, hooks);
    } finally {
      await node.close();
    }
  } finally {
    services.close();
    releasePlan(plan);
  }
}

async function solveOnNode(
  plan: BuildPlan,
  node: BuildNode,
  services: Awaited<ReturnType<typeof sessionServices>>,
  hooks: BuildHooks,
): Promise<BuildResult> {
  const explicit = plan.outputs.filter((o) => o.type !== "cacheonly");
  const outputs = plan.outputs.length || plan.subrequest
    ? explicit
    : await defaultOutputs(node.runner, plan.tags, hooks.env, hooks);
  await checkDocker(outputs, hooks.env);
  const loaded: string[] = [];
  const exports: ExportSpec[] = [];
  for (const o of outputs) {
    const imageLike = o.type === "image" || o.type === "docker" || o.type === "oci";
    exports.push({
      type: o.type,
      attrs: imageLike ? { ...plan.exporterAttrs, ...o.attrs } : o.attrs,
      target: await exportTarget(o, hooks.env, loaded),
    });
  }
  const { solveDockerfile } = await import("../buildkit/solve.ts");
  const conn = node.connection ??
    await (await import("../buildkit/build_connection.ts")).openBuildConnection(node.endpoint);
  let result;
  try {
    result = await solveDockerfile(conn.client, conn.session, {
      contextDir: plan.contextDir,
      dockerfileDir: plan.dockerfileDir,
      filename: plan.filename,
      frontendAttrs: plan.frontendAttrs,
      localDirs: plan.localDirs,
      entitlements: plan.entitlements,
      subrequest: plan.subrequest,
      // As buildx: a subrequest stays out of the build history.
      internal: plan.subrequest !== undefined,
      exports,
      cacheImports: services.cacheImports,
      cacheExports: plan.cacheExports,
      attachables: services.attachables,
      sharedKey: sharedKey(plan.contextDir),
    }, {
      signal: hooks.signal,
      onStart: (ref) => hooks.debug("build started", { ref }),
      onStatus: (s) => hooks.onStatus(s),
      onSync: (s: SyncStats) => hooks.debug("sent local dir", { dir: s.dir, files: s.files, bytes: s.bytes }),
    });
  } catch (err) {
    throw new SolveFailure(err);
  } finally {
    if (conn !== node.connection) await conn.close();
  }
  const res = result.exporterResponse;
  services.finish(res);
  if (plan.metadataFile) {
    writeAtomic(plan.metadataFile, JSON.stringify(buildMetadata(res, result.ref), null, 2));
  }
  const id = imageId(res);
  if (plan.iidfile) writeAtomic(plan.iidfile, id);
  return {
    ref: result.ref,
    exporterResponse: res,
    outputs,
    loaded,
    imageId: id,
    subrequest: result.subrequest,
  };
}

/** A stable key per host and context directory, so buildkitd re-sends only what changed since the last build. */
function sharedKey(contextDir: string): string {
  return createHash("sha256").update(`${hostname()}:${contextDir}`).digest("hex").slice(0, 32);
}
