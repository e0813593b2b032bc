/** Help, version, completion, inspect/update/export/import and hostile input, on the compiled binary. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, errorOf, ROOT as REPO, run, tempHome } from "../helpers/run.ts";
import { ROOT } from "../../lib/cli/mod.ts";
import type { CommandSpec } from "../../lib/cli/command.ts";

function allPaths(cmd: CommandSpec, prefix: string[] = []): string[][] {
  const here = prefix.length ? [prefix] : [];
  return [...here, ...(cmd.subcommands ?? []).flatMap((c) => allPaths(c, [...prefix, c.name]))];
}

Deno.test("--version, version, and --help on every command", async () => {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
  const v = await run(["--version"]);
  assert.equal(v.stdout, `envd-lite version v${pkg.version}\n`);
  const full = await run(["version"]);
  assert.match(full.stdout, new RegExp(`^envd-lite: v${pkg.version}\n  Runtime: bun `));
  for (const path of [[], ...allPaths(ROOT)]) {
    const r = await run([...path, "--help"]);
    assert.equal(r.code, 0, `${path.join(" ")} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`NAME:\n   envd-lite${path.length ? " " + path.join(" ") : ""} - `));
    assert.match(r.stdout, /GLOBAL OPTIONS:/);
    // No note said twice on one flag line, e.g. "(repeatable) (repeatable)".
    for (const line of r.stdout.split("\n")) {
      const notes = [...line.matchAll(/\b(repeatable|required|default: "[^"]*")/g)].map((m) => m[1]);
      assert.equal(new Set(notes).size, notes.length, `${path.join(" ")} --help: ${line}`);
    }
    // Global flags work after the command too: --version answers wherever it stands, with nothing run.
    const v = await run([...path, "--version"]);
    assert.deepEqual(
      [v.code, v.stdout, v.stderr],
      [0, `envd-lite version v${pkg.version}\n`, ""],
      path.join(" "),
    );
  }
  const create = (await run(["context", "create", "-h"])).stdout;
  for (
    const flag of [
      "--name NAME",
      "--builder TYPE",
      "--builder-address ADDR",
      "--runner TYPE",
      "--runner-address URL",
      "--use",
    ]
  ) {
    assert.ok(create.includes(flag), `${flag} missing from help`);
  }
  assert.ok(create.includes('(default: "docker-container")'));
});

Deno.test("--help names every ENVD_* and BUILDKIT_* variable the code reads", async () => {
  const help = (await run(["--help"])).stdout;
  const read = new Set<string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith("_test.ts")) {
        for (
          const m of readFileSync(p, "utf8").matchAll(
            /\benv(?:\.|\[")((?:ENVD|BUILDKIT)_[A-Z_]+)|"((?:ENVD|BUILDKIT)_[A-Z_]+_TIMEOUT)"/g,
          )
        ) {
          read.add(m[1] ?? m[2]);
        }
      }
    }
  };
  walk(join(REPO, "lib"));
  assert.ok(read.has("BUILDKIT_RUNNING_TIMEOUT") && read.has("ENVD_CONTEXT"), [...read].join());
  for (const v of read) assert.match(help, new RegExp(`^   ${v} `, "m"), `${v} missing from --help`);
});

Deno.test("every usage error: exit 1 and one line in Go flag's words, with where to look", async () => {
  for (const path of allPaths(ROOT).filter((p) => p.length > 1 || !["context", "builder"].includes(p[0]))) {
    const r = await run([...path, "--bogus"]);
    const cmd = path.join(" ");
    assert.equal(r.code, 1, cmd);
    assert.equal(r.stdout, "", cmd);
    assert.equal(
      r.stderr,
      `error: flag provided but not defined: -bogus; see 'envd-lite ${cmd} --help'\n`,
      cmd,
    );
  }
});

Deno.test("--debug says which file is used; --log-format json writes logrus-style JSON lines", async () => {
  const h = tempHome();
  try {
    const dbg = await run(["context", "ls", "--debug"], { env: h.env });
    assert.match(
      dbg.stderr,
      new RegExp(`level=debug msg="contexts file" file=${h.configFile.replace(/[.]/g, "\\.")}`),
    );
    assert.doesNotMatch((await run(["context", "ls"], { env: h.env })).stderr, /debug/);
    const js = await run(["--log-format", "json", "context", "create", "--name", "j", "--use"], {
      env: h.env,
    });
    const lines = js.stderr.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines[0].msg, "Context j is created");
    assert.equal(lines[0].level, "info");
    assert.equal(lines[0].cmd, "context create");
    assert.equal(lines[1].msg, 'Current context is "j"');
  } finally {
    h.cleanup();
  }
});

Deno.test("completion scripts: bash completes commands and flags for real; zsh and fish scripts are well-formed", async () => {
  const bash = (await run(["completion", "bash"])).stdout;
  const dir = Deno.makeTempDirSync();
  writeFileSync(join(dir, "c.bash"), bash);
  const complete = (words: string[]) => {
    const script = `source ${dir}/c.bash; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${
      words.length - 1
    }; _envd_lite; echo "\${COMPREPLY[*]}"`;
    return spawnSync("bash", ["-c", script], { encoding: "utf8" }).stdout.trim().split(" ");
  };
  assert.deepEqual(complete(["envd-lite", "con"]), ["context"]);
  assert.deepEqual(complete(["envd-lite", "context", "u"]).sort(), ["update", "use"]);
  assert.ok(complete(["envd-lite", "context", "create", "--b"]).includes("--builder-address"));
  assert.ok(complete(["envd-lite", "--debug", "context", "ls", "--f"]).includes("--format"));
  const zsh = (await run(["completion", "zsh"])).stdout;
  assert.match(zsh, /^#compdef envd-lite/);
  assert.match(zsh, /"context create"\) compadd -- .*--builder-address/);
  if (spawnSync("zsh", ["--version"]).status === 0) {
    writeFileSync(join(dir, "c.zsh"), zsh);
    assert.equal(spawnSync("zsh", ["-n", join(dir, "c.zsh")]).status, 0);
  }
  const fish = (await run(["completion", "fish"])).stdout;
  assert.match(fish, /complete -c envd-lite -n "_envd_lite_at 'context create'" -l builder-address/);
  const bad = await run(["completion", "tcsh"]);
  assert.equal(bad.code, 1);
});

Deno.test("inspect, update, export and import round-trip a context with TLS", async () => {
  const h = tempHome();
  try {
    const pem = (name: string) => {
      const p = join(h.home, name);
      writeFileSync(p, `-----BEGIN TEST ${name}-----\nAAAA\n-----END TEST ${name}-----\n`);
      return p;
    };
    const [ca, cert, key] = [pem("ca.pem"), pem("cert.pem"), pem("key.pem")];
    assert.equal(
      (await run([
        "context",
        "create",
        "--name",
        "remote",
        "--builder",
        "tcp",
        "--builder-address",
        "b.internal:8888",
      ], { env: h.env })).code,
      0,
    );
    const up = await run([
      "context",
      "update",
      "--name",
      "remote",
      "--tls-ca",
      ca,
      "--tls-cert",
      cert,
      "--tls-key",
      key,
      "--tls-servername",
      "b.internal",
    ], { env: h.env });
    assert.equal(up.code, 0, up.stderr);
    // The file now names key material, so only its owner may read it.
    assert.equal(statSync(h.configFile).mode & 0o777, 0o600);
    const ins = JSON.parse(
      (await run(["context", "inspect", "--name", "remote", "-f", "json"], { env: h.env })).stdout,
    );
    assert.deepEqual(ins.grpc, { tls: { ca, cert, key, servername: "b.internal" } });
    assert.equal(ins.current, false);
    assert.equal(ins.file, h.configFile);
    const toml = (await run(["context", "inspect", "--name", "remote"], { env: h.env })).stdout;
    assert.match(toml, /^# context "remote"\n# from .*contexts\.toml\n\[context\.remote\]\nbuilder = "tcp"/);

    // Export by path, import elsewhere under another name.
    const exported = (await run(["context", "export", "--name", "remote"], { env: h.env })).stdout;
    assert.ok(exported.includes(`ca = ${JSON.stringify(ca)}`));
    const other = tempHome();
    try {
      const imp = await run(["context", "import", "--name", "ci", "-"], { env: other.env, stdin: exported });
      assert.equal(imp.code, 0, imp.stderr);
      const got = JSON.parse(
        (await run(["context", "inspect", "--name", "ci", "-f", "json"], { env: other.env })).stdout,
      );
      assert.deepEqual(got.grpc, ins.grpc);
      assert.equal(got["builder-address"], "b.internal:8888");
      const again = await run(["context", "import", "--name", "ci", "-"], {
        env: other.env,
        stdin: exported,
      });
      assert.equal(again.code, 1);
      assert.match(errorOf(again.stderr)!, /^failed to import context: context "ci" already exists/);
      // --embed-tls carries the PEM itself, so the copy works without the files.
      const embedded = join(h.home, "remote.toml");
      assert.equal(
        (await run(["context", "export", "--name", "remote", "--embed-tls", embedded], { env: h.env })).code,
        0,
      );
      assert.equal(statSync(embedded).mode & 0o777, 0o600);
      assert.equal((await run(["context", "import", embedded], { env: other.env })).code, 0);
      const emb = JSON.parse(
        (await run(["context", "inspect", "--name", "remote", "-f", "json"], { env: other.env })).stdout,
      );
      assert.equal(emb.grpc.tls.key, readFileSync(key, "utf8"));
    } finally {
      other.cleanup();
    }
    // Clearing every TLS field drops the table.
    await run([
      "context",
      "update",
      "--name",
      "remote",
      "--tls-ca=",
      "--tls-cert=",
      "--tls-key=",
      "--tls-servername=",
    ], { env: h.env });
    assert.doesNotMatch(readFileSync(h.configFile, "utf8"), /grpc/);
    const none = await run(["context", "update", "--name", "remote"], { env: h.env });
    assert.equal(none.code, 1);
  } finally {
    h.cleanup();
  }
});

Deno.test("hostile contexts files: one-line errors naming the file, never a stack trace, file untouched", async () => {
  const h = tempHome();
  try {
    mkdirSync(join(h.home, ".config/envd"), { recursive: true });
    const valid = readFileSync(join(REPO, "tests/fixtures/contexts/handwritten.toml"));
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const inputs: [string, Uint8Array][] = [];
    for (let i = 0; i < 12; i++) {
      inputs.push([
        `random ${i}`,
        Uint8Array.from({ length: 1 + Math.floor(rand() * 400) }, () => Math.floor(rand() * 256)),
      ]);
    }
    for (let cut = 1; cut < valid.length; cut += 37) {
      inputs.push([`truncated at ${cut}`, valid.subarray(0, cut)]);
    }
    inputs.push(["huge", new Uint8Array(5 * 1024 * 1024).fill(0x61)]);
    inputs.push([
      "deeply nested",
      new TextEncoder().encode("a = " + "[".repeat(50000) + "]".repeat(50000) + "\n"),
    ]);
    inputs.push(["NUL", new TextEncoder().encode('current = "default"\0\n')]);
    inputs.push(["latin-1", Uint8Array.from([0x63, 0x3d, 0x22, 0xe9, 0x22, 0x0a])]);
    for (const [what, bytes] of inputs) {
      writeFileSync(h.configFile, bytes);
      for (const args of [["context", "ls"], ["context", "create", "--name", "z"]]) {
        const r = await run(args, { env: h.env });
        if (r.code === 0) continue; // a truncation can still be valid TOML
        assert.equal(r.code, 1, `${what}: ${r.stderr}`);
        assert.equal(r.stderr.split("\n").length, 2, `${what}: not one line: ${r.stderr.slice(0, 300)}`);
        assert.ok(errorOf(r.stderr)?.includes(h.configFile), `${what}: ${r.stderr.slice(0, 300)}`);
        assert.doesNotMatch(r.stderr, /internal error|\bat .*:\d+:\d+/, what);
        assert.deepEqual(readFileSync(h.configFile), Buffer.from(bytes), `${what}: file changed`);
      }
    }
    // A directory where the file should be, and an unreadable file.
    const dirEnv = { ...h.env, ENVD_CONTEXTS_FILE: h.home };
    const r = await run(["context", "ls"], { env: dirEnv });
    assert.equal(errorOf(r.stderr), `${h.home}: is a directory, not a contexts file`);
    if (process.getuid?.() !== 0) {
      chmodSync(h.configFile, 0);
      assert.match((await run(["context", "ls"], { env: h.env })).stderr, /cannot read/);
    }
  } finally {
    h.cleanup();
  }
});

Deno.test("Ctrl-C while waiting on input exits 130", async () => {
  // Deno.Command keeps the child's stdin open until we close it, as a terminal would.
  const child = new Deno.Command(BIN, {
    args: ["context", "import", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: tempHome().env,
  }).spawn();
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGINT");
  const out = await child.output();
  assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stderr), "error: interrupted\n");
});

Deno.test("context import --from-envd reads a real envd gob file (made by Go's encoding/gob)", async () => {
  const { gob } = await import("../helpers/envd_gob.ts");
  const h = tempHome();
  try {
    const envdDir = join(h.home, ".config/envd");
    mkdirSync(envdDir, { recursive: true });
    const bytes = await gob({
      Current: "remote",
      Contexts: [
        {
          Name: "default",
          Builder: "moby-worker",
          BuilderAddress: "envd_buildkitd",
          Runner: "docker",
          RunnerAddress: null,
        },
        {
          Name: "remote",
          Builder: "tcp",
          BuilderAddress: "10.1.2.3:8888",
          Runner: "envd-server",
          RunnerAddress: "http://srv:8080",
        },
        { Name: "bad name", Builder: "tcp", BuilderAddress: "h:1", Runner: "docker", RunnerAddress: null },
        {
          Name: "k8s",
          Builder: "kube-pod",
          BuilderAddress: "buildkitd?namespace=ci",
          Runner: "docker",
          RunnerAddress: null,
        },
        {
          Name: "old",
          Builder: "podman-container",
          BuilderAddress: "p",
          Runner: "docker",
          RunnerAddress: null,
        },
        {
          Name: "mixed",
          Builder: "unix",
          BuilderAddress: "tcp://h:1",
          Runner: "docker",
          RunnerAddress: null,
        },
      ],
    });
    writeFileSync(join(envdDir, "contexts"), bytes);
    const r = await run(["context", "import", "--from-envd"], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /msg="Context default already exists, skipped"/);
    assert.match(r.stderr, /msg="Context remote is imported"/);
    // What cannot be imported is named with the reason, and the rest still comes in.
    assert.match(
      r.stderr,
      /level=warning msg="Context bad name is not imported: invalid context name \\"bad name\\"/,
    );
    assert.match(
      r.stderr,
      /level=warning msg="Context old is not imported: unknown builder type \\"podman-container\\"/,
    );
    assert.match(
      r.stderr,
      /level=warning msg="Context mixed is not imported: builder address \\"tcp:\/\/h:1\\" has scheme tcp/,
    );
    assert.match(r.stderr, /msg="Imported 2 of 6 envd contexts" .*skipped=4\n$/);
    const ls = JSON.parse((await run(["context", "ls", "-f", "json"], { env: h.env })).stdout);
    assert.deepEqual(ls.slice(1), [
      {
        context: "remote",
        builder: "tcp",
        builder_addr: "tcp://10.1.2.3:8888",
        runner: "envd-server",
        runner_addr: "http://srv:8080",
        current: false,
      },
      {
        context: "k8s",
        builder: "kube-pod",
        builder_addr: "kube-pod://buildkitd?namespace=ci",
        runner: "docker",
        current: false,
      },
    ]);
    // A damaged file is one clear line, and nothing is written.
    const before = readFileSync(h.configFile, "utf8");
    writeFileSync(join(h.home, "bad"), bytes.subarray(0, bytes.length - 7));
    const bad = await run(["context", "import", "--from-envd", join(h.home, "bad")], { env: h.env });
    assert.equal(bad.code, 1);
    assert.match(
      errorOf(bad.stderr)!,
      /^\S*bad: not an envd contexts file: invalid envd contexts file \(gob\) at byte \d+: .*$/,
    );
    assert.equal(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
    assert.equal(readFileSync(h.configFile, "utf8"), before);
  } finally {
    h.cleanup();
  }
});
