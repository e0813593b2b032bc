/**
 * Shell completion, run in the real shells: bash through its completion function, fish through `complete -C`,
 * zsh checked for syntax. Values complete as their flags declare them: files, directories, context names, choices.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, run } from "../helpers/run.ts";

/** A work dir with a file, a directory, a contexts file of three contexts, and envd-lite on PATH. */
async function workspace() {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-compl-"));
  mkdirSync(join(dir, "bin"));
  symlinkSync(BIN, join(dir, "bin/envd-lite"));
  mkdirSync(join(dir, "ctxdir"));
  writeFileSync(join(dir, "ctx.toml"), "");
  writeFileSync(
    join(dir, "contexts.toml"),
    'current = "alpha"\n' +
      ["alpha", "beta", "gamma"].map((n) => `[context.${n}]\nbuilder = "tcp"\nbuilder-address = "h:1"\n`)
        .join(""),
  );
  const env = {
    ...process.env,
    PATH: `${dir}/bin:${process.env.PATH}`,
    ENVD_CONTEXTS_FILE: join(dir, "contexts.toml"),
    HOME: dir,
  };
  for (const shell of ["bash", "zsh", "fish"]) {
    writeFileSync(join(dir, `c.${shell}`), (await run(["completion", shell])).stdout);
  }
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

type Workspace = Awaited<ReturnType<typeof workspace>>;

/** What bash offers for the last word of `line` (a trailing space starts a new, empty word). */
function bashComplete(w: Workspace, line: string): string[] {
  const words = line.split(" ");
  const script = `source c.bash; COMP_WORDS=(${words.map((x) => `'${x}'`).join(" ")}); COMP_CWORD=${
    words.length - 1
  }; _envd_lite; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["-c", script], { cwd: w.dir, env: w.env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).sort();
}

/** What fish offers for `line`, words only (descriptions dropped). */
function fishComplete(w: Workspace, line: string): string[] {
  const r = spawnSync("fish", ["--no-config", "-c", `source c.fish; complete -C '${line}'`], {
    cwd: w.dir,
    env: w.env,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0]).sort();
}

/** Each case: the line typed, and what must be offered (exactly, or at least with `includes`). */
const CASES: { line: string; want: string[]; includes?: boolean }[] = [
  { line: "envd-lite con", want: ["context"] },
  { line: "envd-lite context u", want: ["update", "use"] },
  { line: "envd-lite completion ", want: ["bash", "fish", "zsh"] },
  { line: "envd-lite context use --name ", want: ["alpha", "beta", "gamma"] },
  { line: "envd-lite context rm --name b", want: ["beta"] },
  { line: "envd-lite --context ", want: ["alpha", "beta", "gamma"] },
  { line: "envd-lite build --context g", want: ["gamma"] },
  { line: "envd-lite build --progress ", want: ["auto", "plain", "quiet", "rawjson", "tty"] },
  { line: "envd-lite context ls --format ", want: ["json", "table"] },
  { line: "envd-lite context ls -f ", want: ["json", "table"] },
  { line: "envd-lite context inspect --format ", want: ["json", "toml"] },
  { line: "envd-lite --log-format ", want: ["json", "text"] },
  {
    line: "envd-lite context import ",
    want: ["bin", "c.bash", "c.fish", "c.zsh", "contexts.toml", "ctx.toml", "ctxdir"],
  },
  { line: "envd-lite context import ct", want: ["ctx.toml", "ctxdir"] },
  { line: "envd-lite --contexts-file ct", want: ["ctx.toml", "ctxdir"] },
  { line: "envd-lite build -p ct", want: ["ctxdir"] },
  // A flag's value is not mistaken for a command: `--builder tcp` is followed by create's flags.
  { line: "envd-lite context create --builder tcp --u", want: ["--use"] },
];

Deno.test("bash completes commands, flags and every kind of value, in bash itself", async () => {
  const w = await workspace();
  try {
    for (const c of CASES) {
      const got = bashComplete(w, c.line).map((x) => x.replace(/\/$/, ""));
      assert.deepEqual(got, [...c.want].sort(), `bash: "${c.line}"`);
    }
  } finally {
    w.cleanup();
  }
});

Deno.test("fish completes the same, through fish's own `complete -C`", async () => {
  const w = await workspace();
  try {
    for (const c of CASES) {
      if (c.line.endsWith("--u")) continue; // fish lists long flags with their help; checked below
      const got = fishComplete(w, c.line).map((x) => x.replace(/\/$/, ""));
      // fish also offers hidden files and prefixes differently only for files; the words must match exactly.
      assert.deepEqual(got, [...c.want].sort(), `fish: "${c.line}"`);
    }
    assert.ok(fishComplete(w, "envd-lite context create --").includes("--use"));
  } finally {
    w.cleanup();
  }
});

Deno.test("the zsh script parses, and carries the same value rules", async () => {
  const w = await workspace();
  try {
    const r = spawnSync("zsh", ["-n", join(w.dir, "c.zsh")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const zsh = (await run(["completion", "zsh"])).stdout;
    assert.match(zsh, /"build\|--path"\|"build\|-p"\) _files -\/; return ;;/);
    assert.match(zsh, /"context use\|--name"\) compadd -- \$\{\(f\)"\$\(envd-lite completion __contexts/);
    assert.match(zsh, /"completion"\) compadd -- bash zsh fish; return ;;/);
  } finally {
    w.cleanup();
  }
});

Deno.test("the context names helper lists nothing, quietly, when the file is broken", async () => {
  const w = await workspace();
  try {
    writeFileSync(join(w.dir, "contexts.toml"), "[context.a\n");
    const r = await run(["completion", "__contexts"], {
      env: { ENVD_CONTEXTS_FILE: join(w.dir, "contexts.toml") },
    });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "");
  } finally {
    w.cleanup();
  }
});

Deno.test("installed under the name envd, the scripts complete `envd`", async () => {
  const w = await workspace();
  try {
    symlinkSync(BIN, join(w.dir, "bin/envd"));
    const r = spawnSync(join(w.dir, "bin/envd"), ["completion", "bash"], { env: w.env, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^complete -F _envd envd$/m);
    assert.match(r.stdout, /\$\(envd completion __contexts 2>\/dev\/null\)/);
  } finally {
    w.cleanup();
  }
});
