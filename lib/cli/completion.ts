/** `completion bash|zsh|fish`: scripts generated from the command tree, so they never drift from it. */
import { UsageError } from "../errors.ts";
import type { CommandSpec } from "./command.ts";
import { GLOBAL_FLAGS } from "./parse.ts";

interface Node {
  path: string;
  subs: string[];
  flags: string[];
}

function walk(cmd: CommandSpec, prefix: string[], out: Node[]): void {
  const path = [...prefix, cmd.name];
  out.push({
    path: path.slice(1).join(" "),
    subs: (cmd.subcommands ?? []).filter((c) => !c.hidden).map((c) => c.name),
    flags: [...(cmd.flags ?? []), ...GLOBAL_FLAGS].filter((f) => !f.hidden).map((f) => `--${f.name}`),
  });
  for (const s of cmd.subcommands ?? []) walk(s, path, out);
}

function bash(bin: string, nodes: Node[]): string {
  const cases = nodes.map((n) => `    "${n.path}") words="${[...n.subs, ...n.flags].join(" ")}" ;;`).join(
    "\n",
  );
  const fn = `_${bin.replace(/[^A-Za-z0-9]/g, "_")}`;
  return `# bash completion for ${bin}: source <(${bin} completion bash)
${fn}() {
  local cur cmdpath="" w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    case "\${cmdpath:+$cmdpath }$w" in
${nodes.filter((n) => n.path).map((n) => `      "${n.path}") cmdpath="${n.path}" ;;`).join("\n")}
    esac
  done
  local words
  case "$cmdpath" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${bin}
`;
}

function zsh(bin: string, nodes: Node[]): string {
  return `#compdef ${bin}
# zsh completion for ${bin}: source <(${bin} completion zsh)
_${bin.replace(/[^A-Za-z0-9]/g, "_")}() {
  local cmdpath="" w
  for w in \${words[2,CURRENT-1]}; do
    [[ $w == -* ]] && continue
    case "\${cmdpath:+$cmdpath }$w" in
${nodes.filter((n) => n.path).map((n) => `      "${n.path}") cmdpath="${n.path}" ;;`).join("\n")}
    esac
  done
  case "$cmdpath" in
${nodes.map((n) => `    "${n.path}") compadd -- ${[...n.subs, ...n.flags].join(" ")} ;;`).join("\n")}
  esac
}
compdef _${bin.replace(/[^A-Za-z0-9]/g, "_")} ${bin}
`;
}

function fish(bin: string, nodes: Node[]): string {
  const lines = [`# fish completion for ${bin}: ${bin} completion fish | source`, `complete -c ${bin} -f`];
  for (const n of nodes) {
    const words = n.path ? n.path.split(" ") : [];
    const cond = words.length
      ? `__fish_seen_subcommand_from ${words[words.length - 1]}`
      : `not __fish_seen_subcommand_from ${n.subs.join(" ")}`;
    for (const s of n.subs) lines.push(`complete -c ${bin} -n '${cond}' -a ${s}`);
    for (const f of n.flags) lines.push(`complete -c ${bin} -n '${cond}' -l ${f.slice(2)}`);
  }
  return lines.join("\n") + "\n";
}

/** The completion command; it needs the root to describe the whole tree. */
export function completionCommand(root: () => CommandSpec): CommandSpec {
  return {
    name: "completion",
    usage: "Print a shell completion script (bash, zsh or fish)",
    args: "bash|zsh|fish",
    maxArgs: 1,
    run(inv) {
      const shell = inv.args[0];
      const nodes: Node[] = [];
      walk(root(), [], nodes);
      const bin = "envd-lite";
      const gen = { bash, zsh, fish }[shell as "bash"];
      if (!gen) {
        throw new UsageError(
          `completion: give one of bash, zsh, fish${shell ? `, not "${shell}"` : ""}`,
          "completion",
        );
      }
      inv.out.stdout(gen(bin, nodes));
      return Promise.resolve();
    },
  };
}
