/**
 * `build`: a Dockerfile build through BuildKit's dockerfile.v0 frontend, with buildx's flags. This file only
 * parses flags and prints; lib/build/ plans and runs the build (loaded when the command runs).
 */
import type { BuildOptions, BuildPlan } from "../build/plan.ts";
import type { BuildResult } from "../build/run.ts";
import { InterruptedError, oneLine, UsageError, UserError } from "../errors.ts";
import type { Progress } from "../progress/mod.ts";
import { PROGRESS_MODES, type ProgressMode } from "../progress/modes.ts";
import { bool, type CommandSpec, type FlagSpec, type Invocation, str, strs } from "./command.ts";
import { openBuilder } from "./_builder.ts";
import { currentContext } from "./_contexts.ts";
import type { FleetHooks } from "../build/fleet.ts";
import type { Context } from "../config/types.ts";

const many = (name: string, value: string, help: string, alias?: string): FlagSpec => ({
  name,
  type: "strings",
  value,
  help,
  ...(alias ? { alias } : {}),
});
const one = (name: string, value: string, help: string, alias?: string): FlagSpec => ({
  name,
  type: "string",
  value,
  help,
  ...(alias ? { alias } : {}),
});
const flag = (name: string, help: string, alias?: string): FlagSpec => ({
  name,
  type: "bool",
  help,
  ...(alias ? { alias } : {}),
});

export const build: CommandSpec = {
  name: "build",
  usage: "Build a Dockerfile with the current context's BuildKit (docker buildx build's flags)",
  // buildx's positional context, so a `docker buildx build … .` line runs as it is.
  args: "[PATH]",
  maxArgs: 1,
  flags: [
    {
      name: "path",
      alias: "p",
      type: "string",
      value: "DIR",
      help: "Build context directory (or PATH; default .)",
    },
    one("file", "FILE", "Dockerfile (default: DIR/Dockerfile; - reads it from stdin)", "f"),
    many("build-arg", "K[=V]", "Build argument; a bare K takes its value from the environment"),
    one("target", "STAGE", "Stage to build"),
    many("platform", "OS/ARCH", "Target platform(s), e.g. linux/amd64"),
    many("tag", "NAME", "Image name for the image/docker output", "t"),
    flag("push", "Push the image to its registry (an image output with push=true for every -t)"),
    flag("load", "Load the image into the runner's Docker (an output of type=docker)"),
    flag("no-cache", "Do not use cache when building"),
    flag("pull", "Always pull the base images again"),
    many("label", "K=V", "Label of the image's config"),
    many(
      "annotation",
      "[TYPE:]K=V",
      "Annotation; TYPE is manifest, index, manifest-descriptor or index-descriptor",
    ),
    many(
      "build-context",
      "NAME=VALUE",
      "Named context: a DIR, docker-image://REF, oci-layout://DIR[:TAG] or a URL",
    ),
    many("secret", "SPEC", "Secret for RUN --mount=type=secret: id=X,src=FILE or id=X,env=VAR"),
    many(
      "ssh",
      "ID[=PATH]",
      "SSH agent for RUN --mount=type=ssh: default ($SSH_AUTH_SOCK) or ID=SOCKET|KEY[,…]",
    ),
    many(
      "import-cache",
      "SPEC",
      "Cache source: type=registry,ref=R | type=local,src=DIR | type=gha | type=s3,…",
    ),
    many("cache-from", "SPEC", "Same as --import-cache (buildx's name)"),
    many(
      "export-cache",
      "SPEC",
      "Cache destination: type=registry,ref=R[,mode=max] | type=inline | type=local,dest=DIR | …",
    ),
    many("cache-to", "SPEC", "Same as --export-cache (buildx's name)"),
    one("provenance", "VALUE", "Provenance attestation: true, false, mode=min or mode=max"),
    one("sbom", "VALUE", "SBOM attestation: true, false or generator=IMAGE (needs a scanner image)"),
    many(
      "attest",
      "SPEC",
      "Attestation: type=provenance,mode=max | type=sbom,generator=IMAGE | type=T,disabled=true",
    ),
    one("network", "MODE", "Network mode for RUN: default, none or host (host needs --allow network.host)"),
    many("add-host", "HOST=IP", "Extra /etc/hosts entry for RUN steps (HOST:IP accepted too)"),
    many("allow", "ENTITLEMENT", "Allow network.host or security.insecure"),
    one("shm-size", "SIZE", "Size of /dev/shm for RUN steps, e.g. 64m"),
    many("ulimit", "NAME=SOFT[:HARD]", "Ulimit for RUN steps, e.g. nofile=1024:2048"),
    one("metadata-file", "FILE", "Write the build result's metadata (as buildx does) to FILE"),
    one("iidfile", "FILE", "Write the image ID to FILE"),
    flag("quiet", "Print only the image ID on stdout (progress quiet)", "q"),
    one(
      "call",
      "METHOD",
      "build (default) or check: the Dockerfile frontend's checks, printed as buildx does",
    ),
    flag("check", "Same as --call check"),
    {
      name: "progress",
      type: "string",
      value: "MODE",
      default: "auto",
      choices: PROGRESS_MODES,
      help: "Progress output: auto, tty, plain, rawjson or quiet",
    },
    many(
      "output",
      "SPEC",
      "Output: type=image,name=R/I:T,push=true | type=registry | type=docker[,dest=F] | type=oci|tar,dest=F|- | type=local,dest=D | type=cacheonly",
      "o",
    ),
  ],
  run: runBuild,
};

async function runBuild(inv: Invocation): Promise<number> {
  // Wall time from here: the failure summary counts it even when the daemon dies mid-step.
  const startedAt = Date.now();
  const { planBuild } = await import("../build/plan.ts");
  const plan = planBuild(await buildOptions(inv), inv.env);
  const { runBuild, SolveFailure } = await import("../build/run.ts");
  const quiet = bool(inv, "quiet");
  const progress = await progressFor(inv, quiet ? "quiet" : str(inv, "progress") as ProgressMode, startedAt);
  let result: BuildResult;
  const hooks = {
    signal: inv.signal,
    env: inv.env,
    info: (m: string, f?: Record<string, string | number | boolean | undefined>) => inv.log.info(m, f),
    warn: (m: string) => inv.log.warn(m),
    debug: (m: string, f?: Record<string, string | number | boolean | undefined>) => inv.log.debug(m, f),
    onStatus: (s: Parameters<Progress["update"]>[0]) => progress.update(s),
  };
  const { context } = currentContext(inv);
  try {
    // A context with [[node]] tables builds over its nodes; without, exactly as a single builder, on one
    // connection for the readiness probe and the build.
    result = context.nodes?.length ? await runOnNodes(inv, context, plan, hooks) : await runBuild(
      plan,
      async () => {
        const b = await openBuilder(inv, { build: true });
        return {
          endpoint: await b.driver.endpoint(),
          runner: b.context.runner,
          connection: b.connection,
          close: () => b.close(),
        };
      },
      hooks,
    );
  } catch (err) {
    if (!(err instanceof SolveFailure)) throw err;
    await progress.done(inv.signal.aborted ? new InterruptedError() : err.cause);
    if (inv.signal.aborted) throw new InterruptedError();
    throw await failure(inv, plan, progress.mode, err.cause, err.node);
  }
  await progress.done();
  if (plan.subrequest) return await printCheck(inv, plan, result);
  report(inv, result);
  if (quiet) inv.out.stdout(`${result.imageId}\n`);
  return 0;
}

// The fleet: routing, sticky order and failover over the context's nodes; the merged index pushed over HTTP.
async function runOnNodes(
  inv: Invocation,
  context: Context,
  plan: BuildPlan,
  hooks: FleetHooks,
): Promise<BuildResult> {
  const [{ runFleetBuild }, { registryClient }, { fleetOpener }, { contextNodes }] = await Promise.all([
    import("../build/fleet.ts"),
    import("../build/fleet_registry.ts"),
    import("./_nodes.ts"),
    import("../config/nodes.ts"),
  ]);
  const httpHosts = Object.entries(context.registry ?? {}).filter(([, r]) => r.http || r.insecure).map((
    [h],
  ) => h);
  const registry = registryClient(inv.env, httpHosts);
  return await runFleetBuild(plan, contextNodes(context), fleetOpener(inv, context), {
    ...hooks,
    ...registry,
  });
}

/** The flag values as lib/build takes them; `-f -` reads the Dockerfile from stdin here. */
async function buildOptions(inv: Invocation): Promise<BuildOptions> {
  const file = str(inv, "file");
  const caches = (...names: string[]) =>
    names.flatMap((flag) => strs(inv, flag).map((value) => ({ flag, value })));
  const given = str(inv, "path");
  if (given !== undefined && inv.args[0] !== undefined && given !== inv.args[0]) {
    throw new UsageError(
      `--path "${given}" and PATH "${inv.args[0]}" name two contexts: give one`,
      "envd-lite build",
    );
  }
  return {
    path: inv.args[0] ?? given ?? ".",
    file,
    dockerfileText: file === "-" ? await readStdin() : undefined,
    buildArgs: strs(inv, "build-arg"),
    target: str(inv, "target"),
    platforms: strs(inv, "platform"),
    tags: strs(inv, "tag"),
    noCache: bool(inv, "no-cache"),
    secrets: strs(inv, "secret"),
    cacheImports: caches("import-cache", "cache-from"),
    cacheExports: caches("export-cache", "cache-to"),
    outputs: strs(inv, "output"),
    push: bool(inv, "push"),
    load: bool(inv, "load"),
    labels: strs(inv, "label"),
    annotations: strs(inv, "annotation"),
    buildContexts: strs(inv, "build-context"),
    ssh: strs(inv, "ssh"),
    attest: strs(inv, "attest"),
    provenance: str(inv, "provenance"),
    sbom: str(inv, "sbom"),
    network: str(inv, "network"),
    addHosts: strs(inv, "add-host"),
    allow: strs(inv, "allow"),
    shmSize: str(inv, "shm-size"),
    ulimits: strs(inv, "ulimit"),
    pull: bool(inv, "pull"),
    metadataFile: str(inv, "metadata-file"),
    iidfile: str(inv, "iidfile"),
    call: bool(inv, "check") ? "check" : str(inv, "call"),
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function progressFor(inv: Invocation, mode: ProgressMode, startedAt: number): Promise<Progress> {
  const { createProgress } = await import("../progress/mod.ts");
  return createProgress(mode, {
    write: inv.out.stderr,
    isTerminal: inv.out.isTerminal,
    get columns() {
      return process.stderr.columns;
    },
    get rows() {
      return process.stderr.rows;
    },
  }, { color: !inv.env.NO_COLOR, expandWarnings: inv.global.debug, startedAt });
}

// The one-line error, naming the Dockerfile line when buildkitd says which (and showing it, as buildx does).
async function failure(
  inv: Invocation,
  plan: BuildPlan,
  mode: string,
  err: unknown,
  node?: string,
): Promise<UserError> {
  const [{ errorSource }, { formatSource }] = await Promise.all([
    import("../buildkit/error_source.ts"),
    import("../progress/mod.ts"),
  ]);
  const src = errorSource(err);
  let where = "";
  if (src) {
    const name = src.info.filename === plan.filename ? plan.dockerfileDisplay : src.info.filename;
    if (mode !== "rawjson") inv.out.stderr(formatSource({ ...src.info, filename: name }, src.ranges));
    where = `${name}:${src.line}: `;
  }
  const on = node ? ` on node ${node}` : "";
  return new UserError(`build failed${on}: ${where}${oneLine((err as Error).message)}`, { cause: err });
}

// buildx's `--call check` report on stdout; exit 1 when there are warnings (the frontend's status code). A
// Dockerfile that cannot be checked is an error, its source shown on stderr.
async function printCheck(inv: Invocation, plan: BuildPlan, r: BuildResult): Promise<number> {
  const { formatLint } = await import("../build/lint.ts");
  const sub = r.subrequest ?? {};
  const report = formatLint(sub["result.json"], plan.filename, plan.dockerfileDisplay);
  inv.out.stdout(report.text);
  if (report.error) {
    inv.out.stderr(report.error.source);
    throw new UserError(`check failed: ${oneLine(report.error.message)}`);
  }
  const status = Number(sub["result.statuscode"] ?? 0);
  return status || (report.warnings ? 1 : 0);
}

function report(inv: Invocation, r: BuildResult): void {
  const digest = r.exporterResponse["containerimage.digest"];
  for (const o of r.outputs) {
    const name = o.attrs.name;
    if (o.type === "image") {
      const pushed = /^(|1|true)$/i.test(o.attrs.push ?? "false");
      inv.log.info(pushed ? `pushed ${name}` : `image ${name ?? "(unnamed)"} built in buildkitd`, { digest });
    } else if (o.load) {
      for (const l of r.loaded) inv.log.info(l);
    } else if (o.dest && o.dest !== "-") {
      inv.log.info(`wrote ${o.type} output to ${o.dest}`);
    }
  }
}
