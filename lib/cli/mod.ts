/** The command tree and runCli(): parse, dispatch, and turn every failure into one line and an exit code. */
import { InterruptedError, oneLine, UnknownCommandError, UsageError, UserError } from "../errors.ts";
import { VERSION } from "../version.ts";
import type { CommandSpec, GlobalOptions, Output } from "./command.ts";
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
import { contextNode } from "./context_node.ts";
import { contextExport, contextImport } from "./context_transfer.ts";
import { contextUpdate } from "./context_update.ts";
import { contextRm, contextUse } from "./context_use.ts";
import { renderHelp } from "./help.ts";
import { createLogger, type Logger } from "./logger.ts";
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
        contextNode,
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
  /** The name the program was invoked as (see programName); `envd-lite` unless installed as `envd`. */
  prog?: string;
}

// envd v1.3.4's top-level commands (and aliases) that envd-lite does not have: named, not "unknown".
const ENVD_ONLY = new Set([
  "run",
  "c",
  "destroy",
  "down",
  "d",
  "init",
  "i",
  "up",
  "u",
  "new",
  "n",
  "pause",
  "p",
  "exec",
  "resume",
  "r",
  "envs",
  "env",
  "e",
  "images",
  "image",
  "login",
  "top",
  "debug",
  "reference",
  "create",
]);

const defaultOutput: Output = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  isTerminal: Boolean(process.stderr.isTTY),
};

/** Runs one invocation; returns the exit code (0 ok, 1 error or usage error, as envd, 130 interrupted). */
export async function runCli(argv: string[], opts: RunOptions = {}): Promise<number> {
  const env = opts.env ?? process.env;
  const out = opts.out ?? defaultOutput;
  const signal = opts.signal ?? new AbortController().signal;
  const prog = opts.prog ?? ROOT.name;
  // Until the command line is parsed, errors are logged as text unless json was asked for anywhere.
  let global: GlobalOptions = {
    debug: argv.includes("--debug"),
    logFormat:
      argv.some((a, i) => a === "--log-format=json" || (a === "--log-format" && argv[i + 1] === "json"))
        ? "json"
        : "text",
  };
  const logger = () =>
    createLogger({
      write: out.stderr,
      format: global.logFormat,
      debug: global.debug,
      terminal: out.isTerminal,
    });
  try {
    const parsed = parseArgs(ROOT, argv);
    global = parsed.global;
    const leaf = parsed.path[parsed.path.length - 1];
    if (parsed.version) {
      out.stdout(`${prog} version v${VERSION}\n`);
      return 0;
    }
    if (parsed.help || !leaf.run) {
      out.stdout(renderHelp(parsed.path, prog));
      return 0;
    }
    const code = await leaf.run({
      flags: parsed.flags,
      given: parsed.given,
      prog,
      args: parsed.args,
      global: parsed.global,
      env,
      out,
      log: logger(),
      signal,
    });
    if (signal.aborted) return 130;
    return code ?? 0;
  } catch (err) {
    const e = signal.aborted ? new InterruptedError() : notImplemented(err, prog);
    return reportError(out, logger(), e, global.debug, prog);
  }
}

function notImplemented(err: unknown, prog: string): unknown {
  if (!(err instanceof UnknownCommandError) || err.where !== "" || !ENVD_ONLY.has(err.command)) return err;
  const ours = ROOT.subcommands!.filter((c) => !c.hidden).map((c) => c.name).join(", ");
  return new UserError(
    `envd-lite does not implement envd's "${err.command}" command (it has ${ours}; see '${prog} --help')`,
  );
}

/** Reports a failure as envd does: usage errors as one `error: …` line, every other error as the logrus
 * fatal line of envd's ExitErrHandler (`msg=exit app=… error=… version=…`); returns the exit code. */
function reportError(out: Output, log: Logger, err: unknown, debug: boolean, prog: string): number {
  if (err instanceof UsageError) {
    const hint = err.command ? `; see '${[prog, ...err.command.split(" ").slice(1)].join(" ")} --help'` : "";
    out.stderr(`error: ${oneLine(err.message)}${hint}\n`);
    return err.exitCode;
  }
  if (err instanceof InterruptedError) {
    out.stderr(`error: ${err.message}\n`);
    return err.exitCode;
  }
  const fatal = (message: string) => log.fatal("exit", { app: prog, error: message, version: `v${VERSION}` });
  if (err instanceof UserError) {
    fatal(oneLine(err.message));
    if (debug && err.cause instanceof Error && err.cause.stack) out.stderr(err.cause.stack + "\n");
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  fatal(`internal error: ${oneLine(msg)}${debug ? "" : " (run with --debug for details)"}`);
  if (debug && err instanceof Error && err.stack) out.stderr(err.stack + "\n");
  return 1;
}
