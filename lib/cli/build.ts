/** `build`: a Dockerfile build through BuildKit's dockerfile.v0 frontend, context and Dockerfile sent by the session. */
import { createHash } from "node:crypto";
import { createWriteStream, statSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import { errorSource } from "../buildkit/error_source.ts";
import type { ExportTarget } from "../buildkit/session/filesend.ts";
import type { Attachable } from "../buildkit/session/types.ts";
import type { ExportSpec } from "../buildkit/solve.ts";
import { InterruptedError, oneLine, UsageError, UserError } from "../errors.ts";
import {
  createProgress,
  formatSource,
  type Progress,
  PROGRESS_MODES,
  type ProgressMode,
} from "../progress/mod.ts";
import { dockerApi } from "../transport/docker_api.ts";
import { bool, type CommandSpec, type Invocation, str, strs } from "./command.ts";
import { openBuilder } from "./_builder.ts";
import { dockerLoadWriter } from "./_docker_load.ts";
import { type OutputPlan, parseBuildArgs, parseCache, parseOutput } from "./_outputs.ts";

export const build: CommandSpec = {
  name: "build",
  usage: "Build a Dockerfile with the current context's BuildKit",
  flags: [
    { name: "path", alias: "p", type: "string", value: "DIR", default: ".", help: "Build context directory" },
    { name: "file", alias: "f", type: "string", value: "FILE", help: "Dockerfile (default: DIR/Dockerfile)" },
    { name: "build-arg", type: "strings", value: "K=V", help: "Build argument (repeatable)" },
    { name: "target", type: "string", value: "STAGE", help: "Stage to build" },
    { name: "platform", type: "strings", value: "OS/ARCH", help: "Target platform(s), e.g. linux/amd64" },
    {
      name: "tag",
      alias: "t",
      type: "strings",
      value: "NAME",
      help: "Image name for the image/docker output (repeatable)",
    },
    { name: "no-cache", type: "bool", help: "Do not use cache when building" },
    {
      name: "secret",
      type: "strings",
      value: "SPEC",
      help: "Secret for RUN --mount=type=secret: id=X,src=FILE or id=X,env=VAR",
    },
    {
      name: "import-cache",
      type: "strings",
      value: "SPEC",
      help: "Cache source, e.g. type=registry,ref=R/I:cache",
    },
    {
      name: "export-cache",
      type: "strings",
      value: "SPEC",
      help: "Cache destination, e.g. type=registry,ref=R/I:cache,mode=max or type=inline",
    },
    {
      name: "progress",
      type: "string",
      value: "MODE",
      default: "auto",
      choices: PROGRESS_MODES,
      help: "Progress output: auto, tty, plain, rawjson or quiet",
    },
    {
      name: "output",
      alias: "o",
      type: "strings",
      value: "SPEC",
      help:
        "Output: type=image,name=R/I:T,push=true | type=docker[,dest=F] | type=oci|tar,dest=F|- | type=local,dest=D | type=cacheonly",
    },
  ],
  run: runBuild,
};

interface Plan {
  contextDir: string;
  dockerfileDir: string;
  filename: string;
  /** The Dockerfile as the user named it, for messages. */
  dockerfileDisplay: string;
  outputs: OutputPlan[];
  tags: string[];
}

async function runBuild(inv: Invocation): Promise<number> {
  const plan = planBuild(inv);
  const buildArgs = parseBuildArgs(strs(inv, "build-arg"), inv.env);
  const cacheImports = strs(inv, "import-cache").map((c) => parseCache("import-cache", c));
  const cacheExports = strs(inv, "export-cache").map((c) => parseCache("export-cache", c));
  const platforms = strs(inv, "platform").flatMap((p) => p.split(",")).map((p) => p.trim()).filter(Boolean);
  const attachables = await sessionServices(inv);

  const b = await openBuilder(inv);
  try {
    const outputs = plan.outputs.length
      ? plan.outputs.filter((o) => o.type !== "cacheonly")
      : await defaultOutputs(inv, b.context.runner, plan.tags);
    const loaded: string[] = [];
    const exports: ExportSpec[] = outputs.map((o) => ({
      type: o.type,
      attrs: o.attrs,
      target: exportTarget(inv, o, loaded),
    }));
    const progress = progressFor(inv);
    const { solveDockerfile } = await import("../buildkit/solve.ts");
    const { openBuildConnection } = await import("../buildkit/build_connection.ts");
    // The build gets its own connection, whose frames from buildkitd are corrected for Bun's http2 (flowfix.ts).
    const conn = await openBuildConnection(await b.driver.endpoint());
    let result;
    try {
      result = await solveDockerfile(conn.client, conn.session, {
        contextDir: plan.contextDir,
        dockerfileDir: plan.dockerfileDir,
        filename: plan.filename,
        target: str(inv, "target"),
        platforms,
        buildArgs,
        noCache: bool(inv, "no-cache"),
        exports,
        cacheImports,
        cacheExports,
        attachables,
        sharedKey: sharedKey(plan.contextDir),
      }, {
        signal: inv.signal,
        onStart: (ref) => inv.log.debug("build started", { ref }),
        onStatus: (s) => progress.update(s),
        onSync: (s) => inv.log.debug("sent local dir", { dir: s.dir, files: s.files, bytes: s.bytes }),
      });
    } catch (err) {
      await progress.done(inv.signal.aborted ? new InterruptedError() : err);
      if (inv.signal.aborted) throw new InterruptedError();
      throw failure(inv, plan, progress.mode, err);
    } finally {
      await conn.close();
    }
    await progress.done();
    report(inv, outputs, result.exporterResponse, loaded);
    return 0;
  } finally {
    await b.close();
  }
}

// Registry credentials and --secret values, served to buildkitd in the session. Secrets are checked up front.
async function sessionServices(inv: Invocation): Promise<Attachable[]> {
  const { authAttachable } = await import("../buildkit/session/auth.ts");
  const { checkSecrets, parseSecretFlag, secretsAttachable } = await import("../buildkit/session/secrets.ts");
  const secrets = strs(inv, "secret").map(parseSecretFlag);
  await checkSecrets(secrets, inv.env);
  return [
    authAttachable({ env: inv.env, log: (m) => inv.log.debug(m), warn: (m) => inv.log.warn(m) }),
    secretsAttachable(secrets, inv.env, { log: (m) => inv.log.debug(m) }),
  ];
}

function progressFor(inv: Invocation): Progress {
  return createProgress(str(inv, "progress") as ProgressMode, {
    write: inv.out.stderr,
    isTerminal: inv.out.isTerminal,
    get columns() {
      return process.stderr.columns;
    },
    get rows() {
      return process.stderr.rows;
    },
  }, { color: !inv.env.NO_COLOR, expandWarnings: inv.global.debug });
}

// Everything that can be checked before talking to the daemon: usage errors come first.
function planBuild(inv: Invocation): Plan {
  const contextDir = resolve(str(inv, "path") ?? ".");
  if (!isDir(contextDir)) throw new UserError(`build context "${str(inv, "path")}" is not a directory`);
  const file = str(inv, "file");
  const dockerfile = file ? resolve(file) : resolve(contextDir, "Dockerfile");
  try {
    if (!statSync(dockerfile).isFile()) {
      throw new UserError(`Dockerfile "${file ?? dockerfile}" is not a file`);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`Dockerfile "${file ?? dockerfile}" not found`);
  }
  const tags = strs(inv, "tag").flatMap((t) => t.split(",")).filter(Boolean);
  const outputs = strs(inv, "output").map(parseOutput);
  const named = outputs.filter((o) => o.type === "image" || o.type === "docker");
  if (tags.length && outputs.length && named.length === 0) {
    throw new UsageError("--tag names an image or docker output, and no --output is one", "envd-lite build");
  }
  for (const o of named) if (tags.length && o.attrs.name === undefined) o.attrs.name = tags.join(",");
  if (outputs.filter((o) => o.dest === "-").length > 1) {
    throw new UsageError("only one --output may write to stdout (dest=-)", "envd-lite build");
  }
  // The Dockerfile as the user would write it: -f as given, else under --path as given.
  const dockerfileDisplay = file ?? join(str(inv, "path") ?? ".", "Dockerfile");
  return {
    contextDir,
    dockerfileDir: dirname(dockerfile),
    filename: basename(dockerfile),
    dockerfileDisplay,
    outputs,
    tags,
  };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// No --output: load into the runner's Docker when there is one, else keep the result in buildkitd's cache only.
async function defaultOutputs(inv: Invocation, runner: string, tags: string[]): Promise<OutputPlan[]> {
  if (runner === "docker" && await dockerAnswers(inv)) {
    const attrs: Record<string, string> = tags.length ? { name: tags.join(",") } : {};
    inv.log.info("no --output given: loading the image into Docker", {
      docker: inv.env.DOCKER_HOST || "default",
    });
    return [{ type: "docker", attrs, load: true }];
  }
  if (tags.length) {
    inv.log.info(
      `no --output given and no Docker answers: image ${
        tags.join(",")
      } stays in buildkitd (not pushed; add --output type=image,name=${tags[0]},push=true)`,
    );
    return [{ type: "image", attrs: { name: tags.join(",") } }];
  }
  inv.log.info("no --output given and no Docker answers: the result is only kept in buildkitd's cache");
  return [];
}

async function dockerAnswers(inv: Invocation): Promise<boolean> {
  try {
    const api = dockerApi(inv.env);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      api.docker.ping().then(() => true, () => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 2000))),
    ]);
    clearTimeout(timer);
    return ok;
  } catch {
    return false;
  }
}

function exportTarget(inv: Invocation, o: OutputPlan, loaded: string[]): ExportTarget | undefined {
  if (o.type === "local") return { kind: "dir", dest: resolve(o.dest!) };
  if (o.load) {
    const api = dockerApi(inv.env);
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

// The one-line error, naming the Dockerfile line when buildkitd says which (and showing it, as buildx does).
function failure(inv: Invocation, plan: Plan, mode: string, err: unknown): UserError {
  const src = errorSource(err);
  let where = "";
  if (src) {
    const name = src.info.filename === plan.filename ? plan.dockerfileDisplay : src.info.filename;
    if (mode !== "rawjson") inv.out.stderr(formatSource({ ...src.info, filename: name }, src.ranges));
    where = `${name}:${src.line}: `;
  }
  return new UserError(`build failed: ${where}${oneLine((err as Error).message)}`, { cause: err });
}

function report(inv: Invocation, outputs: OutputPlan[], res: Record<string, string>, loaded: string[]): void {
  const digest = res["containerimage.digest"];
  for (const o of outputs) {
    const name = o.attrs.name;
    if (o.type === "image") {
      const pushed = /^(|1|true)$/i.test(o.attrs.push ?? "false");
      inv.log.info(pushed ? `pushed ${name}` : `image ${name ?? "(unnamed)"} built in buildkitd`, { digest });
    } else if (o.load) {
      for (const l of loaded) inv.log.info(l);
    } else if (o.dest && o.dest !== "-") {
      inv.log.info(`wrote ${o.type} output to ${o.dest}`);
    }
  }
}

/** A stable key per host and context directory, so buildkitd re-sends only what changed since the last build. */
function sharedKey(contextDir: string): string {
  return createHash("sha256").update(`${hostname()}:${contextDir}`).digest("hex").slice(0, 32);
}
