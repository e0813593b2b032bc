/** The command tree's shape: commands declare flags and a run function; the parser and help derive from this. */
import type { Logger } from "./logger.ts";

export type FlagValue = string | boolean | string[] | undefined;

/** One flag of a command. `strings` flags repeat (`--output a --output b`). */
export interface FlagSpec {
  name: string;
  alias?: string;
  type: "string" | "bool" | "strings";
  help: string;
  default?: string | boolean;
  required?: boolean;
  /** Allowed values; anything else is a usage error naming the flag. */
  choices?: readonly string[];
  /** Placeholder shown in help, e.g. `NAME`. */
  value?: string;
  hidden?: boolean;
}

/** Options valid on every command, before or after it. */
export interface GlobalOptions {
  context?: string;
  contextsFile?: string;
  debug: boolean;
  logFormat: "text" | "json";
}

/** What a command's run function receives. */
export interface Invocation {
  flags: Record<string, FlagValue>;
  /** The flags given on the command line, as opposed to defaulted. */
  given: ReadonlySet<string>;
  /** The program's name for messages: `envd` when installed under that name, else `envd-lite`. */
  prog: string;
  args: string[];
  global: GlobalOptions;
  env: Record<string, string | undefined>;
  out: Output;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/** The only way commands print: data to stdout, chatter to stderr. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
  isTerminal: boolean;
}

export interface CommandSpec {
  name: string;
  usage: string;
  /** Positional arguments as shown in help, e.g. `[FILE|-]`; absent means none are accepted. */
  args?: string;
  maxArgs?: number;
  flags?: FlagSpec[];
  subcommands?: CommandSpec[];
  hidden?: boolean;
  /** Returns the exit code (0 when void). */
  run?(inv: Invocation): Promise<number | void>;
}

/** Typed accessors for flags, so commands stay free of casts. */
export function str(inv: Invocation, name: string): string | undefined {
  const v = inv.flags[name];
  return typeof v === "string" ? v : undefined;
}

/** A bool flag's value. */
export function bool(inv: Invocation, name: string): boolean {
  return inv.flags[name] === true;
}

/** A repeatable flag's values. */
export function strs(inv: Invocation, name: string): string[] {
  const v = inv.flags[name];
  return Array.isArray(v) ? v : [];
}
