/** The command tree and runCli(): parse, dispatch, and turn every failure into one line and an exit code. */
import { InterruptedError, oneLine, UsageError, UserError } from "../errors.ts";
import { VERSION } from "../version.ts";
import type { CommandSpec, Output } from "./command.ts";
import { bootstrap } from "./bootstrap.ts";
import { build } from "./build.ts";
import { builderInfo, builderWorkers } from "./builder_info.ts";
import { builderRm, builderStop } from "./builder_lifecycle.ts";
import { completionCommand } from "./completion.ts";
import { du } from "./du.ts";
import { prune } from "./prune.ts";
import { serve } from "./serve.ts";
import { contextBuildkitdToml } from "./context_buildkitd_toml.ts";
import { contextCreate } from "./context_create.ts";
import { contextInspect, contextShow } from "./context_inspect.ts";
import { contextLs } from "./context_ls.ts";
import { contextExport, contextImport } from "./context_transfer.ts";
import { contextUpdate } from "./context_update.ts";
import { contextRm, contextUse } from "./context_use.ts";
import { renderHelp } from "./help.ts";
import { createLogger } from "./logger.ts";
import { parseArgs } from "./parse.ts";
import { version } from "./version.ts";

/** Commands beyond the context group register here (one line each). */
const EXTRA_COMMANDS: CommandSpec[] = [
  bootstrap,
  build,
  {
    name: "builder",
    usage: "Inspect and manage the current context's builder",
    subcommands: [builderInfo, builderWorkers, builderStop, builderRm],
  },
  du,
  prune,
  serve,
];

/** The whole command tree. */
export const ROOT: CommandSpec = {
  name: "envd-lite",
  usage: "envd-compatible build contexts and a direct BuildKit client",
  subcommands: [
    {
      name: "context",
      usage: "Manage envd contexts",
      subcommands: [
        contextCreate,
        contextLs,
        contextRm,
        contextUse,
        contextInspect,
        contextShow,
        contextUpdate,
        contextExport,
        contextImport,
        contextBuildkitdToml,
      ],
    },
    ...EXTRA_COMMANDS,
    completionCommand(() => ROOT),
    version,
  ],
};

export interface RunOptions {
  env?: Record<string, string | undefined>;
  out?: Output;
  signal?: AbortSignal;
}

const defaultOutput: Output = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  isTerminal: Boolean(process.stderr.isTTY),
};

/** Runs one invocation; returns the exit code (0 ok, 1 error, 2 usage, 130 interrupted). */
export async function runCli(argv: string[], opts: RunOptions = {}): Promise<number> {
  const env = opts.env ?? process.env;
  const out = opts.out ?? defaultOutput;
  const signal = opts.signal ?? new AbortController().signal;
  let debug = argv.includes("--debug");
  try {
    const parsed = parseArgs(ROOT, argv);
    debug = parsed.global.debug;
    const leaf = parsed.path[parsed.path.length - 1];
    if (parsed.version && parsed.path.length === 1) {
      out.stdout(`envd-lite version v${VERSION}\n`);
      return 0;
    }
    if (parsed.help || !leaf.run) {
      out.stdout(renderHelp(parsed.path));
      return 0;
    }
    const log = createLogger({
      write: out.stderr,
      format: parsed.global.logFormat,
      debug: parsed.global.debug,
      terminal: out.isTerminal,
    });
    const code = await leaf.run({
      flags: parsed.flags,
      args: parsed.args,
      global: parsed.global,
      env,
      out,
      log,
      signal,
    });
    if (signal.aborted) return 130;
    return code ?? 0;
  } catch (err) {
    if (signal.aborted) return reportError(out, new InterruptedError(), debug);
    return reportError(out, err, debug);
  }
}

function reportError(out: Output, err: unknown, debug: boolean): number {
  if (err instanceof UsageError) {
    const hint = err.command
      ? `; see 'envd-lite ${err.command.replace(/^envd-lite ?/, "")} --help'`.replace(/  +/g, " ")
      : "";
    out.stderr(`error: ${oneLine(err.message)}${hint}\n`);
    return err.exitCode;
  }
  if (err instanceof UserError) {
    out.stderr(`error: ${oneLine(err.message)}\n`);
    if (debug && err.cause instanceof Error && err.cause.stack) out.stderr(err.cause.stack + "\n");
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  out.stderr(`error: internal error: ${oneLine(msg)}${debug ? "" : " (run with --debug for details)"}\n`);
  if (debug && err instanceof Error && err.stack) out.stderr(err.stack + "\n");
  return 1;
}
