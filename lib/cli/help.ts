/** Help text derived from the command specs, in urfave's NAME / USAGE / COMMANDS / OPTIONS layout. */
import type { CommandSpec, FlagSpec } from "./command.ts";
import { GLOBAL_FLAGS } from "./parse.ts";

function flagLine(f: FlagSpec): [string, string] {
  const names = [`--${f.name}`, ...(f.alias ? [`-${f.alias}`] : [])].join(", ");
  const value = f.type === "bool" ? "" : ` ${f.value ?? "value"}`;
  const extra = [
    f.default !== undefined && f.type !== "bool" ? `default: "${f.default}"` : "",
    f.type === "strings" && !/\brepeatable\b/.test(f.help) ? "repeatable" : "",
    f.required ? "required" : "",
  ].filter(Boolean);
  return [`${names}${value}`, `${f.help}${extra.length ? ` (${extra.join(", ")})` : ""}`];
}

function columns(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `   ${a.padEnd(w)}  ${b}`).join("\n") + "\n";
}

/** The help page of the command at the end of `path`; `prog` names the program (`envd` when installed so). */
export function renderHelp(path: CommandSpec[], prog = path[0].name): string {
  const cmd = path[path.length - 1];
  const full = [prog, ...path.slice(1).map((c) => c.name)].join(" ");
  let s = `NAME:\n   ${full} - ${cmd.usage}\n\nUSAGE:\n   ${full}`;
  if (cmd.subcommands) s += " command [command options]";
  else s += `${cmd.flags?.length ? " [command options]" : ""}${cmd.args ? ` ${cmd.args}` : ""}`;
  s += "\n";
  const subs = (cmd.subcommands ?? []).filter((c) => !c.hidden);
  if (subs.length) s += `\nCOMMANDS:\n${columns(subs.map((c) => [c.name, c.usage]))}`;
  const flags = (cmd.flags ?? []).filter((f) => !f.hidden);
  if (flags.length) s += `\nOPTIONS:\n${columns(flags.map(flagLine))}`;
  s += `\nGLOBAL OPTIONS:\n${columns(GLOBAL_FLAGS.map(flagLine))}`;
  if (path.length === 1) {
    s += "\nENVIRONMENT:\n" + columns([
      ["ENVD_CONTEXT", "context to use for this run"],
      ["ENVD_CONTEXTS_FILE", "contexts file to use"],
      ["BUILDKIT_CONNECTING_TIMEOUT", "how long to wait for buildkitd to answer (Go duration, default 5s)"],
      [
        "BUILDKIT_RUNNING_TIMEOUT",
        "how long a managed builder may take to start or stop (Go duration, default 3s)",
      ],
      ["DOCKER_HOST", "Docker engine for docker-container and moby-worker builders and the docker runner"],
    ]);
  }
  return s;
}
