/** `completion bash|zsh|fish`: scripts generated from the command tree, so they never drift from it. */
import { UsageError } from "../errors.ts";
import type { CommandSpec, FlagSpec } from "./command.ts";
import { loadContexts } from "./_contexts.ts";
import { GLOBAL_FLAGS } from "./parse.ts";

/** What a flag's value or a positional argument completes to. */
type Kind = { files: "file" | "dir" } | { words: readonly string[] } | "contexts";

interface ValueRule {
  /** `--name`, plus `-n` when the flag has an alias. */
  spellings: string[];
  kind: Kind;
}

interface Node {
  path: string;
  subs: string[];
  flags: string[];
  values: ValueRule[];
  /** Every spelling of a flag that takes a value, so the value is not read as a command. */
  valued: string[];
  positional?: Kind;
}

// Hidden argument of `completion`: the context names, one a line, for the scripts to call.
const LIST_CONTEXTS = "__contexts";
const SHELLS = ["bash", "zsh", "fish"] as const;

// The value a flag takes, read from how it is declared: its choices, its placeholder, what it names.
function flagKind(flag: FlagSpec, path: string[]): Kind | undefined {
  if (flag.choices) return { words: flag.choices };
  if (flag.name === "format") return { words: ["table", "json"] };
  if (flag.value === "DIR") return { files: "dir" };
  if (flag.value === "PATH" || flag.value === "FILE") return { files: "file" };
  const namesExisting = path[1] === "context" && !["create", "import"].includes(path[2]);
  if (flag.value === "NAME" && (flag.name === "context" || (flag.name === "name" && namesExisting))) {
    return "contexts";
  }
  return undefined;
}

// `[FILE|-]` completes files, `bash|zsh|fish` those words.
function argsKind(args: string | undefined): Kind | undefined {
  if (!args) return undefined;
  const words = args.replace(/[[\]]/g, "").split("|").filter((w) => w !== "-");
  if (words.some((w) => /^(FILE|PATH)$/.test(w))) return { files: "file" };
  if (words.includes("DIR")) return { files: "dir" };
  return words.every((w) => /^[a-z]+$/.test(w)) ? { words } : undefined;
}

// `--name`, and `-n` when the flag has an alias.
const spellingsOf = (f: FlagSpec) => [`--${f.name}`, ...(f.alias ? [`-${f.alias}`] : [])];

function walk(cmd: CommandSpec, prefix: string[], out: Node[]): void {
  const path = [...prefix, cmd.name];
  const flags = [...(cmd.flags ?? []), ...GLOBAL_FLAGS].filter((f) => !f.hidden);
  const withValue = flags.filter((f) => f.type !== "bool");
  const values: ValueRule[] = [];
  for (const f of withValue) {
    const kind = flagKind(f, path);
    if (kind) values.push({ spellings: spellingsOf(f), kind });
  }
  out.push({
    path: path.slice(1).join(" "),
    subs: (cmd.subcommands ?? []).filter((c) => !c.hidden).map((c) => c.name),
    flags: flags.map((f) => `--${f.name}`),
    values,
    valued: withValue.flatMap(spellingsOf),
    positional: argsKind(cmd.args),
  });
  for (const s of cmd.subcommands ?? []) walk(s, path, out);
}

const fnName = (bin: string) => `_${bin.replace(/[^A-Za-z0-9]/g, "_")}`;

// The loop that finds the command path among the words typed so far, skipping flags and their values.
function pathCases(nodes: Node[], indent: string): string {
  return nodes.filter((n) => n.path).map((n) => `${indent}"${n.path}") cmdpath="${n.path}" ;;`).join("\n");
}

function valueFlags(nodes: Node[]): string {
  const all = new Set<string>();
  for (const n of nodes) n.valued.forEach((s) => all.add(s));
  return [...all].join("|");
}

function bashKind(kind: Kind, bin: string): string {
  if (kind === "contexts") {
    return `COMPREPLY=($(compgen -W "$(${bin} completion ${LIST_CONTEXTS} 2>/dev/null)" -- "$cur"))`;
  }
  if ("files" in kind) {
    return `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen ${
      kind.files === "dir" ? "-d" : "-f"
    } -- "$cur"))`;
  }
  return `COMPREPLY=($(compgen -W "${kind.words.join(" ")}" -- "$cur"))`;
}

function bash(bin: string, nodes: Node[]): string {
  const fn = fnName(bin);
  const valueCases = nodes.flatMap((n) =>
    n.values.map((r) =>
      `    ${r.spellings.map((s) => `"${n.path}|${s}"`).join("|")}) ${bashKind(r.kind, bin)}; return ;;`
    )
  );
  const positional = nodes.filter((n) => n.positional).map((n) =>
    `      "${n.path}") ${bashKind(n.positional!, bin)}; return ;;`
  );
  return `# bash completion for ${bin}: source <(${bin} completion bash)
${fn}() {
  local cur prev cmdpath="" w i words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${valueFlags(nodes)}) ((i++)); continue ;;
      -*) continue ;;
    esac
    case "\${cmdpath:+$cmdpath }$w" in
${pathCases(nodes, "      ")}
    esac
  done
  case "$cmdpath|$prev" in
${valueCases.join("\n")}
  esac
  if [[ $cur != -* ]]; then
    case "$cmdpath" in
${positional.join("\n")}
    esac
  fi
  case "$cmdpath" in
${nodes.map((n) => `    "${n.path}") words="${[...n.subs, ...n.flags].join(" ")}" ;;`).join("\n")}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${bin}
`;
}

function zshKind(kind: Kind, bin: string): string {
  if (kind === "contexts") return `compadd -- \${(f)"$(${bin} completion ${LIST_CONTEXTS} 2>/dev/null)"}`;
  if ("files" in kind) return kind.files === "dir" ? "_files -/" : "_files";
  return `compadd -- ${kind.words.join(" ")}`;
}

function zsh(bin: string, nodes: Node[]): string {
  const fn = fnName(bin);
  const valueCases = nodes.flatMap((n) =>
    n.values.map((r) =>
      `    ${r.spellings.map((s) => `"${n.path}|${s}"`).join("|")}) ${zshKind(r.kind, bin)}; return ;;`
    )
  );
  const positional = nodes.filter((n) => n.positional).map((n) =>
    `      "${n.path}") ${zshKind(n.positional!, bin)}; return ;;`
  );
  return `#compdef ${bin}
# zsh completion for ${bin}: source <(${bin} completion zsh)
${fn}() {
  local cmdpath="" w i prev="\${words[CURRENT-1]}"
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    case "$w" in
      ${valueFlags(nodes)}) ((i++)); continue ;;
      -*) continue ;;
    esac
    case "\${cmdpath:+$cmdpath }$w" in
${pathCases(nodes, "      ")}
    esac
  done
  case "$cmdpath|$prev" in
${valueCases.join("\n")}
  esac
  if [[ \${words[CURRENT]} != -* ]]; then
    case "$cmdpath" in
${positional.join("\n")}
    esac
  fi
  case "$cmdpath" in
${nodes.map((n) => `    "${n.path}") compadd -- ${[...n.subs, ...n.flags].join(" ")} ;;`).join("\n")}
  esac
}
compdef ${fn} ${bin}
`;
}

function fishKind(kind: Kind, bin: string): string {
  if (kind === "contexts") return `-x -a '(${bin} completion ${LIST_CONTEXTS} 2>/dev/null)'`;
  if ("files" in kind) return kind.files === "dir" ? "-x -a '(__fish_complete_directories)'" : "-r -F";
  return `-x -a '${kind.words.join(" ")}'`;
}

function fish(bin: string, nodes: Node[]): string {
  const fn = fnName(bin);
  const lines = [
    `# fish completion for ${bin}: ${bin} completion fish | source`,
    `complete -c ${bin} -f`,
    // The command path typed so far, found as bash's script finds it: flags and their values skipped.
    `function ${fn}_path`,
    `  set -l path ""`,
    `  set -l skip 0`,
    `  for w in (commandline -opc)[2..-1]`,
    `    if test $skip = 1; set skip 0; continue; end`,
    `    switch $w`,
    `      case ${valueFlags(nodes).split("|").join(" ")}`,
    `        set skip 1; continue`,
    `      case '-*'`,
    `        continue`,
    `    end`,
    `    set -l next (string trim -- "$path $w")`,
    `    contains -- $next ${
      nodes.filter((n) => n.path).map((n) => `'${n.path}'`).join(" ")
    }; and set path $next`,
    `  end`,
    `  echo $path`,
    `end`,
    `function ${fn}_at`,
    `  set -l p (${fn}_path)`,
    `  test "$p" = "$argv[1]"`,
    `end`,
  ];
  for (const n of nodes) {
    const cond = `${fn}_at '${n.path}'`;
    for (const s of n.subs) lines.push(`complete -c ${bin} -n "${cond}" -a ${s}`);
    const rules = new Map(n.values.map((r) => [r.spellings[0], r]));
    for (const f of n.flags) {
      const rule = rules.get(f);
      const short = rule?.spellings[1] ? ` -s ${rule.spellings[1].slice(1)}` : "";
      lines.push(
        `complete -c ${bin} -n "${cond}" -l ${f.slice(2)}${short}${
          rule ? ` ${fishKind(rule.kind, bin)}` : ""
        }`,
      );
    }
    if (n.positional) lines.push(`complete -c ${bin} -n "${cond}" ${fishKind(n.positional, bin)}`);
  }
  return lines.join("\n") + "\n";
}

/** The completion command; it needs the root to describe the whole tree. */
export function completionCommand(root: () => CommandSpec): CommandSpec {
  return {
    name: "completion",
    usage: "Print a shell completion script (bash, zsh or fish)",
    args: SHELLS.join("|"),
    maxArgs: 1,
    run(inv) {
      const shell = inv.args[0];
      if (shell === LIST_CONTEXTS) {
        // Called by the scripts while the user types: a broken file completes nothing rather than erroring.
        try {
          const names = loadContexts(inv).model.contexts.map((c) => c.name);
          inv.out.stdout(names.map((n) => `${n}\n`).join(""));
        } catch { /* nothing to offer */ }
        return Promise.resolve();
      }
      const gen = { bash, zsh, fish }[shell as "bash"];
      if (!gen || !(SHELLS as readonly string[]).includes(shell)) {
        throw new UsageError(
          `completion: give one of ${SHELLS.join(", ")}${shell ? `, not "${shell}"` : ""}`,
          "completion",
        );
      }
      const nodes: Node[] = [];
      walk(root(), [], nodes);
      // Installed as `envd`, the script completes that name (and calls it for context names).
      inv.out.stdout(gen(inv.prog, nodes));
      return Promise.resolve();
    },
  };
}
