/** envd's context behaviour (research/envd.md §1.2, T1–T6, D1–D10) on the compiled binary and on `deno run`. */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { errorOf, MODES, run, tempHome } from "../helpers/run.ts";

const FRESH_JSON =
  '[{"context":"default","builder":"docker-container","builder_addr":"docker-container://envd_buildkitd","runner":"docker","current":true}]\n';

for (const mode of MODES) {
  const t = (name: string, fn: () => Promise<void>) => Deno.test(`[${mode}] ${name}`, fn);
  const envd = (h: ReturnType<typeof tempHome>, args: string[], extra: Record<string, string> = {}) =>
    run(args, { mode, env: { ...h.env, ...extra } });

  t("T1/D8: a fresh install has the default context, current, in envd's JSON", async () => {
    const h = tempHome();
    try {
      const r = await envd(h, ["context", "ls", "-f", "json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, FRESH_JSON);
      const table = await envd(h, ["context", "ls"]);
      assert.equal(
        table.stdout,
        " CONTEXT            BUILDER           BUILDER ADDR                       RUNNER  RUNNER ADDR \n" +
          " default (current)  docker-container  docker-container://envd_buildkitd  docker              \n",
      );
    } finally {
      h.cleanup();
    }
  });

  t("T2–T6: create, use, the current context is protected, duplicates refused", async () => {
    const h = tempHome();
    try {
      const args = [
        "context",
        "create",
        "--name",
        "envd_home_test",
        "--builder",
        "tcp",
        "--builder-address",
        "0.0.0.0:12345",
      ];
      const full = [...args, "--runner", "envd-server", "--runner-address", "http://localhost"];
      // T5: without --use the current context stays default.
      let r = await envd(h, full);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /level=info msg="Context envd_home_test is created"/);
      assert.doesNotMatch(r.stderr, /Current context/);
      assert.equal((await envd(h, ["context", "show"])).stdout, "default\n");
      // T6: the same name again.
      const before = readFileSync(h.configFile, "utf8");
      r = await envd(h, [...full, "--use"]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^time="[^"]+" level=fatal msg=exit app=envd-lite error="[^\n]*" version=v\S+\n$/,
      );
      assert.equal(errorOf(r.stderr), 'failed to create context: context "envd_home_test" already exists');
      assert.equal(readFileSync(h.configFile, "utf8"), before);
      // T2: use it; every field comes back.
      r = await envd(h, ["context", "use", "--name", "envd_home_test"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /msg="Current context is \\"envd_home_test\\"" cmd="context use"/);
      const ins = JSON.parse((await envd(h, ["context", "inspect", "-f", "json"])).stdout);
      assert.equal(ins.name, "envd_home_test");
      assert.equal(ins.builder, "tcp");
      assert.equal(ins["builder-address"], "0.0.0.0:12345");
      assert.equal(ins.runner, "envd-server");
      assert.equal(ins["runner-address"], "http://localhost");
      assert.equal(ins.current, true);
      // T3: the current context cannot be removed.
      r = await envd(h, ["context", "rm", "--name", "envd_home_test"]);
      assert.equal(r.code, 1);
      assert.equal(
        errorOf(r.stderr),
        'failed to remove context: cannot remove current context "envd_home_test"',
      );
      // T4
      assert.equal((await envd(h, ["context", "use", "--name", "default"])).code, 0);
      r = await envd(h, ["context", "rm", "--name", "envd_home_test"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /msg="Context envd_home_test is removed" cmd="context remove"/);
      assert.equal((await envd(h, ["context", "ls", "-f", "json"])).stdout, FRESH_JSON);
    } finally {
      h.cleanup();
    }
  });

  t("D1–D7: envd's errors, exit codes, and the file left byte-identical", async () => {
    const h = tempHome();
    try {
      assert.equal((await envd(h, ["context", "create", "--name", "keep"])).code, 0);
      const before = readFileSync(h.configFile, "utf8");
      const cases: [string[], number, string][] = [
        [["context", "create"], 1, 'error: Required flag "name" not set'],
        [
          ["context", "create", "--name", "x", "--builder", "foo"],
          1,
          'error: failed to create context: unknown builder type "foo"',
        ],
        [
          ["context", "create", "--name", "x", "--runner", "bar"],
          1,
          'error: failed to create context: unknown runner type "bar"',
        ],
        [
          ["context", "create", "--name", "x", "--builder", "podman-container"],
          1,
          "error: failed to create context: unknown builder type",
        ],
        [
          ["context", "rm", "--name", "nosuch"],
          1,
          'error: failed to remove context: cannot find context "nosuch"',
        ],
        [
          ["context", "use", "--name", "nosuch"],
          1,
          'error: failed to use the specified context nosuch: context "nosuch" does not exist',
        ],
        [
          ["context", "ls", "-f", "yaml"],
          1,
          'error: Argument format only allows "json" and "table", found "yaml"',
        ],
        [
          ["context", "create", "--name", "bad name"],
          1,
          'error: failed to create context: invalid context name "bad name"',
        ],
        [["context", "create", "--name", "x", "--bogus"], 1, "error: flag provided but not defined: -bogus"],
        [
          ["context", "frobnicate"],
          1,
          `error: No help topic for 'frobnicate': unknown command "frobnicate" for "context"`,
        ],
        // No address at all for these builders: envd would store tcp://envd_buildkitd and the like.
        ...["tcp", "unix", "kube-pod"].map((b): [string[], number, string] => [
          ["context", "create", "--name", "x", "--builder", b],
          1,
          `error: Required flag "builder-address" not set: builder ${b} has no default address`,
        ]),
      ];
      for (const [args, code, text] of cases) {
        const r = await envd(h, args);
        assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
        // Usage errors are one `error: …` line as envd's; the rest envd's fatal log line.
        const got = r.stderr.startsWith("error: ") ? r.stderr : `error: ${errorOf(r.stderr)}`;
        assert.ok(got.startsWith(text), `${args.join(" ")}: got ${JSON.stringify(r.stderr)}`);
        assert.equal(r.stderr.trimEnd().split("\n").length, 1, `one line: ${r.stderr}`);
        assert.equal(readFileSync(h.configFile, "utf8"), before, args.join(" "));
      }
      // D6: default is not protected once another context is current.
      assert.equal((await envd(h, ["context", "use", "--name", "keep"])).code, 0);
      assert.equal((await envd(h, ["context", "rm", "--name", "default"])).code, 0);
      const names = JSON.parse((await envd(h, ["context", "ls", "-f", "json"])).stdout).map((
        c: { context: string },
      ) => c.context);
      assert.deepEqual(names, ["keep"]);
    } finally {
      h.cleanup();
    }
  });

  t("D9/D10: table rows, runner address column, tcp:// not doubled", async () => {
    const h = tempHome();
    try {
      await envd(h, [
        "context",
        "create",
        "--name",
        "demo",
        "--builder",
        "tcp",
        "--builder-address",
        "tcp://1.2.3.4:8888",
        "--use",
      ]);
      await envd(h, [
        "context",
        "create",
        "--name",
        "srv",
        "--runner",
        "envd-server",
        "--runner-address",
        "http://localhost:8080",
      ]);
      const table = (await envd(h, ["context", "ls"])).stdout.split("\n");
      assert.equal(
        table[2],
        " demo (current)  tcp               tcp://1.2.3.4:8888                 docker                             ",
      );
      assert.ok(table[1].startsWith(" default  "), table[1]);
      assert.ok(table[3].endsWith("  envd-server  http://localhost:8080 "), table[3]);
      const json = JSON.parse((await envd(h, ["context", "ls", "-f", "json"])).stdout);
      assert.deepEqual(json[1], {
        context: "demo",
        builder: "tcp",
        builder_addr: "tcp://1.2.3.4:8888",
        runner: "docker",
        current: true,
      });
      assert.deepEqual(Object.keys(json[2]), [
        "context",
        "builder",
        "builder_addr",
        "runner",
        "runner_addr",
        "current",
      ]);
      assert.equal(json[2].runner_addr, "http://localhost:8080");
    } finally {
      h.cleanup();
    }
  });
}

Deno.test("lookup order: --contexts-file, ENVD_CONTEXTS_FILE, ./envd.contexts.toml, XDG_CONFIG_HOME, ~/.config", async () => {
  const h = tempHome();
  try {
    const mk = (path: string, name: string) => {
      Deno.mkdirSync(path.replace(/\/[^/]+$/, ""), { recursive: true });
      writeFileSync(
        path,
        `current = "${name}"\n[context.${name}]\nbuilder = "unix"\nbuilder-address = "/run/${name}.sock"\n`,
      );
    };
    const cwd = `${h.home}/work`;
    mk(`${h.home}/.config/envd/contexts.toml`, "home");
    const show = (env: Record<string, string> = {}, args: string[] = []) =>
      run([...args, "context", "show"], { env: { ...h.env, ...env }, cwd }).then((r) =>
        r.stdout.trim() || r.stderr
      );
    Deno.mkdirSync(cwd, { recursive: true });
    assert.equal(await show(), "home");
    mk(`${h.home}/xdg/envd/contexts.toml`, "xdg");
    assert.equal(await show({ XDG_CONFIG_HOME: `${h.home}/xdg` }), "xdg");
    mk(`${cwd}/envd.contexts.toml`, "local");
    assert.equal(await show({ XDG_CONFIG_HOME: `${h.home}/xdg` }), "local");
    mk(`${h.home}/env.toml`, "fromenv");
    assert.equal(await show({ ENVD_CONTEXTS_FILE: `${h.home}/env.toml` }), "fromenv");
    mk(`${h.home}/flag.toml`, "fromflag");
    assert.equal(
      await show({ ENVD_CONTEXTS_FILE: `${h.home}/env.toml` }, ["--contexts-file", `${h.home}/flag.toml`]),
      "fromflag",
    );
  } finally {
    h.cleanup();
  }
});

Deno.test("--context and ENVD_CONTEXT pick the context for one run without changing the file", async () => {
  const h = tempHome();
  try {
    await run(["context", "create", "--name", "a", "--builder", "tcp", "--builder-address", "h:1"], {
      env: h.env,
    });
    await run(["context", "create", "--name", "b", "--builder", "unix", "--builder-address", "/s"], {
      env: h.env,
    });
    const before = readFileSync(h.configFile, "utf8");
    assert.equal((await run(["context", "show"], { env: { ...h.env, ENVD_CONTEXT: "a" } })).stdout, "a\n");
    assert.equal(
      (await run(["--context", "b", "context", "show"], { env: { ...h.env, ENVD_CONTEXT: "a" } })).stdout,
      "b\n",
    );
    assert.equal((await run(["context", "show", "--context=b"], { env: h.env })).stdout, "b\n");
    const ls = JSON.parse(
      (await run(["context", "ls", "-f", "json"], { env: { ...h.env, ENVD_CONTEXT: "b" } })).stdout,
    );
    assert.deepEqual(ls.map((c: { current: boolean }) => c.current), [false, false, true]);
    const bad = await run(["--context", "nope", "context", "show"], { env: h.env });
    assert.equal(bad.code, 1);
    assert.equal(errorOf(bad.stderr), 'context "nope" does not exist (named by --context)');
    assert.equal(bad.stderr.split("\n").length, 2, bad.stderr);
    assert.equal(readFileSync(h.configFile, "utf8"), before);
  } finally {
    h.cleanup();
  }
});

Deno.test("20 parallel context create runs lose nothing", async () => {
  const h = tempHome();
  try {
    const rs = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          run([
            "context",
            "create",
            "--name",
            `p${i}`,
            "--builder",
            "tcp",
            "--builder-address",
            `h:${1000 + i}`,
          ], { env: h.env }),
      ),
    );
    for (const r of rs) assert.equal(r.code, 0, r.stderr);
    const names = JSON.parse((await run(["context", "ls", "-f", "json"], { env: h.env })).stdout).map((
      c: { context: string },
    ) => c.context);
    assert.equal(names.length, 21);
    for (let i = 0; i < 20; i++) assert.ok(names.includes(`p${i}`), `p${i} lost`);
    assert.deepEqual(Deno.readDirSync(`${h.home}/.config/envd`).toArray().map((e) => e.name).sort(), [
      "contexts.toml",
    ]);
  } finally {
    h.cleanup();
  }
});

Deno.test("a stale --context or ENVD_CONTEXT: commands that need no current context work, with one warning", async () => {
  const h = tempHome();
  try {
    assert.equal(
      (await run(["context", "create", "--name", "a", "--builder", "unix", "--builder-address", "/s"], {
        env: h.env,
      })).code,
      0,
    );
    for (
      const [how, pre, env] of [["--context", ["--context", "gone"], {}], ["ENVD_CONTEXT", [], {
        ENVD_CONTEXT: "gone",
      }]] as const
    ) {
      const go = (args: string[]) => run([...pre, ...args], { env: { ...h.env, ...env } });
      const warning =
        `level=warning msg="context \\"gone\\" does not exist (named by ${how}); ignored by this command"`;
      const works: [string[], RegExp | string][] = [
        [["context", "ls"], / default \(current\) /],
        [["context", "ls", "-f", "json"], '"context":"default","builder":"docker-container"'],
        [["context", "inspect", "--name", "a"], '# context "a"\n'],
        [["context", "create", "--name", "b", "--builder", "tcp", "--builder-address", "h:1"], ""],
        [["context", "use", "--name", "b"], ""],
        [["context", "use", "--name", "default"], ""],
        [["context", "rm", "--name", "b"], ""],
      ];
      for (const [args, stdout] of works) {
        const r = await go(args);
        assert.equal(r.code, 0, `${how} ${args.join(" ")}: ${r.stderr}`);
        if (typeof stdout === "string") assert.ok(r.stdout.includes(stdout), r.stdout);
        else assert.match(r.stdout, stdout);
        assert.equal(r.stderr.split(warning).length, 2, `one warning for ${args.join(" ")}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /level=fatal/);
      }
      // Commands that use the current context still refuse, in one line.
      for (const args of [["context", "show"], ["context", "inspect"], ["du"]]) {
        const r = await go(args);
        assert.equal(r.code, 1, `${how} ${args.join(" ")}`);
        assert.equal(errorOf(r.stderr), `context "gone" does not exist (named by ${how})`, r.stderr);
        assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      }
    }
  } finally {
    h.cleanup();
  }
});
