/** Command-line parsing: global flags anywhere, the command path, then the command's own flags (urfave-compatible forms). */
import { UnknownCommandError, UsageError } from "../errors.ts";
import type { CommandSpec, FlagSpec, FlagValue, GlobalOptions } from "./command.ts";

export const GLOBAL_FLAGS: FlagSpec[] = [
  {
    name: "context",
    type: "string",
    value: "NAME",
    help: "Use this context for this run only (overrides ENVD_CONTEXT and the file's current)",
  },
  {
    name: "contexts-file",
    type: "string",
    value: "PATH",
    help:
      "Contexts file to use (default: $ENVD_CONTEXTS_FILE, ./envd.contexts.toml, ~/.config/envd/contexts.toml)",
  },
  { name: "debug", type: "bool", help: "enable debug output in logs" },
  {
    name: "log-format",
    type: "string",
    value: "FORMAT",
    choices: ["text", "json"],
    default: "text",
    help: "Log format: text or json",
  },
  { name: "help", alias: "h", type: "bool", help: "show help" },
  { name: "version", type: "bool", help: "print the version (before or after the command)" },
];

export interface Parsed {
  path: CommandSpec[];
  flags: Record<string, FlagValue>;
  /** The flags given on the command line (the rest hold their defaults). */
  given: Set<string>;
  args: string[];
  global: GlobalOptions;
  help: boolean;
  version: boolean;
}

interface Token {
  name: string;
  inline?: string;
  raw: string;
}

// `--name=x`, `--name x`, `-name x` (Go's flag package accepts one dash too), `-f x`.
function asFlag(tok: string): Token | undefined {
  if (tok === "-" || tok === "--" || !tok.startsWith("-")) return undefined;
  const body = tok.replace(/^--?/, "");
  const eq = body.indexOf("=");
  return eq === -1
    ? { name: body, raw: tok }
    : { name: body.slice(0, eq), inline: body.slice(eq + 1), raw: tok };
}

function findFlag(flags: FlagSpec[], name: string): FlagSpec | undefined {
  return flags.find((f) => f.name === name || f.alias === name);
}

// Go's flag package names a flag with one dash in its errors, however it was written.
function parseBool(name: string, text: string): boolean {
  if (/^(1|t|T|true|TRUE|True)$/.test(text)) return true; // strconv.ParseBool's forms
  if (/^(0|f|F|false|FALSE|False)$/.test(text)) return false;
  throw new UsageError(`invalid boolean value "${text}" for -${name}: parse error`);
}

/** Parses argv against the command tree rooted at `root`. */
export function parseArgs(root: CommandSpec, argv: string[]): Parsed {
  const global: Record<string, FlagValue> = {};
  const rest: string[] = [];
  // Pass 1: global flags may stand anywhere before `--`.
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const f = asFlag(tok);
    const spec = f && findFlag(GLOBAL_FLAGS, f.name);
    if (!f || !spec) {
      rest.push(tok);
      continue;
    }
    if (spec.type === "bool") global[spec.name] = f.inline === undefined ? true : parseBool(f.name, f.inline);
    else if (f.inline !== undefined) global[spec.name] = f.inline;
    else if (i + 1 < argv.length) global[spec.name] = argv[++i];
    else throw new UsageError(`flag needs an argument: -${f.name}`);
  }
  // Pass 2: the command path.
  const path: CommandSpec[] = [root];
  let i = 0;
  for (; i < rest.length; i++) {
    const cur = path[path.length - 1];
    if (!cur.subcommands || rest[i].startsWith("-")) break;
    const sub = cur.subcommands.find((c) => c.name === rest[i]);
    if (!sub) throw new UnknownCommandError(rest[i], path.slice(1).map((c) => c.name).join(" "));
    path.push(sub);
  }
  const leaf = path[path.length - 1];
  const cmdName = path.map((c) => c.name).join(" ");
  // Pass 3: the leaf's flags and positional arguments.
  const specs = leaf.flags ?? [];
  const flags: Record<string, FlagValue> = {};
  const given = new Set<string>();
  const args: string[] = [];
  for (; i < rest.length; i++) {
    const tok = rest[i];
    if (tok === "--") {
      args.push(...rest.slice(i + 1));
      break;
    }
    const f = asFlag(tok);
    if (!f) {
      args.push(tok);
      continue;
    }
    const spec = findFlag(specs, f.name);
    if (!spec) throw new UsageError(`flag provided but not defined: -${f.name}`, cmdName);
    given.add(spec.name);
    let value: string | boolean;
    if (spec.type === "bool") value = f.inline === undefined ? true : parseBool(f.name, f.inline);
    else if (f.inline !== undefined) value = f.inline;
    else if (i + 1 < rest.length) value = rest[++i];
    else throw new UsageError(`flag needs an argument: -${f.name}`, cmdName);
    if (spec.type === "strings") {
      flags[spec.name] = [...((flags[spec.name] as string[] | undefined) ?? []), value as string];
    } else flags[spec.name] = value;
  }
  const help = global.help === true;
  // `--help` and `--version` answer whatever else the command line lacks.
  if (!help && global.version !== true) {
    for (const spec of specs) {
      const v = flags[spec.name];
      if (v === undefined && spec.default !== undefined) flags[spec.name] = spec.default;
      if (spec.required && v === undefined) {
        throw new UsageError(`Required flag "${spec.name}" not set`, cmdName);
      }
      if (
        spec.choices && typeof flags[spec.name] === "string" &&
        !spec.choices.includes(flags[spec.name] as string)
      ) {
        throw new UsageError(
          `invalid value "${flags[spec.name]}" for flag --${spec.name}: one of ${spec.choices.join(", ")}`,
          cmdName,
        );
      }
    }
    const max = leaf.args ? (leaf.maxArgs ?? Infinity) : 0;
    if (args.length > max && leaf.run) {
      throw new UsageError(
        `unexpected argument${args.length - max > 1 ? "s" : ""}: ${args.slice(max).join(" ")}`,
        cmdName,
      );
    }
  }
  const logFormat = (global["log-format"] as string | undefined) ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new UsageError(`invalid value "${logFormat}" for flag --log-format: one of text, json`);
  }
  return {
    path,
    flags,
    given,
    args,
    help,
    version: global.version === true,
    global: {
      context: global.context as string | undefined,
      contextsFile: global["contexts-file"] as string | undefined,
      debug: global.debug === true,
      logFormat,
    },
  };
}
