/**
 * Differential tests: the same `context` command sequences through the real envd v1.3.4 (.cache/bin/envd, built
 * by scripts/install_peers) and envd-lite, each in its own HOME from the same start (envd-lite seeded with envd's
 * fresh `default`, moby-worker at envd_buildkitd). Compared per step: stdout byte for byte, exit codes, and every
 * stderr line: log lines field by field with the times masked (our `error` may say more after envd's text, our
 * `version` is ours), usage lines by envd's text as a prefix. envd-lite runs under the name `envd` (a symlink),
 * as a drop-in would, so `app=envd` is compared too; a core subset also runs on `deno run main.ts`.
 */
import assert from "node:assert/strict";
import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { BIN, type Mode, type Result, ROOT, run } from "../helpers/run.ts";
import {
  ENVD_BIN,
  envdHome,
  GOLDEN_PATH,
  GOLDEN_STEPS,
  runEnvd,
  seedLite,
  tempDir,
} from "../helpers/envd_peer.ts";

const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
// envd-lite installed under the name envd, as a drop-in.
const dropIn = join(tempDir("envd-lite-as-envd-"), "envd");
symlinkSync(BIN, dropIn);

interface Lite {
  mode: Mode;
  /** The name it runs under, which its logs carry as app=. */
  app: "envd" | "envd-lite";
}
const AS_ENVD: Lite = { mode: "bin", app: "envd" };

function runLite(
  home: string,
  args: string[],
  lite: Lite = AS_ENVD,
  env: Record<string, string> = {},
): Promise<Result> {
  return run(args, {
    mode: lite.mode,
    exe: lite.app === "envd" ? dropIn : undefined,
    cwd: home,
    env: { HOME: home, ...env },
  });
}

/** A step; `usage` marks envd's usage errors, where envd also dumps its help on stdout (we print one line). */
interface Step {
  args: string[];
  usage?: boolean;
}
const s = (...args: string[]): Step => ({ args });
const usage = (...args: string[]): Step => ({ args, usage: true });

// logrus's `key=value` pairs: the key, the value as written (bare or Go-quoted), and the value.
function fields(line: string): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const m of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const v = m[2].startsWith('"') ? JSON.parse(m[2].replace(/\\x([0-9a-f]{2})/g, "\\u00$1")) : m[2];
    out.push([m[1], m[2], v]);
  }
  return out;
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;

/** Asserts one step's outcome of envd-lite against envd's. */
function compare(what: string, envd: Result, lite: Result, step: Step, app: string): void {
  const at = `${what}: ${step.args.join(" ")}`;
  assert.equal(lite.code, envd.code, `${at}: exit code (envd stderr: ${envd.stderr}; ours: ${lite.stderr})`);
  if (!step.usage) assert.equal(lite.stdout, envd.stdout, `${at}: stdout`);
  else assert.equal(lite.stdout, "", `${at}: a usage error prints one line, no help dump`);
  const e = envd.stderr.split("\n").filter(Boolean);
  const l = lite.stderr.split("\n").filter(Boolean);
  assert.equal(l.length, e.length, `${at}: stderr lines\nenvd: ${envd.stderr}\nours: ${lite.stderr}`);
  e.forEach((envdLine, i) => {
    if (!envdLine.startsWith("time=")) {
      // A usage error: envd's line first, so greps written for envd match; ours may add a hint.
      assert.ok(l[i].startsWith(envdLine), `${at}: usage line\nenvd: ${envdLine}\nours: ${l[i]}`);
      return;
    }
    const ef = fields(envdLine), lf = fields(l[i]);
    assert.deepEqual(
      lf.map(([k]) => k),
      ef.map(([k]) => k),
      `${at}: fields\nenvd: ${envdLine}\nours: ${l[i]}`,
    );
    ef.forEach(([k, eraw, ev], j) => {
      const [, lraw, lv] = lf[j];
      if (k === "time") assert.match(lv, TIME, at);
      else if (k === "version") assert.equal(lv, `v${VERSION}`, at);
      else if (k === "app") assert.deepEqual([ev, lv], ["envd", app], at);
      else if (k === "error") assert.ok(lv.startsWith(ev), `${at}: error\nenvd: ${ev}\nours: ${lv}`);
      else assert.equal(lraw, eraw, `${at}: field ${k}, as written`);
    });
  });
}

/** Runs `steps` through both from envd's fresh state, comparing each, then the final listing. */
async function differential(what: string, steps: Step[], lite: Lite = AS_ENVD): Promise<void> {
  const eh = await envdHome();
  const lh = tempDir("envd-lite-peer-");
  seedLite(lh);
  for (const step of [...steps, s("context", "ls", "-f", "json"), s("context", "ls")]) {
    compare(what, await runEnvd(eh, step.args), await runLite(lh, step.args, lite), step, lite.app);
  }
}

const BUILDERS: Record<string, string> = {
  "docker-container": "my_buildkitd",
  "kube-pod": "buildkitd?namespace=ci&context=kind",
  tcp: "10.0.0.7:1234",
  unix: "/run/buildkit/buildkitd.sock",
  "moby-worker": "envd_buildkitd",
  "nerdctl-container": "nerd_buildkitd",
};

const SEQUENCES: Record<string, Step[]> = {
  "fresh listing, every format spelling": [
    s("context", "ls"),
    s("context", "ls", "-f", "table"),
    s("context", "ls", "--format", "json"),
    s("context", "ls", "--format=json"),
    s("context", "ls", "-format", "json"),
  ],
  "create with every builder type and both runners, use, rm": [
    ...Object.entries(BUILDERS).flatMap(([b, addr]) =>
      ["docker", "envd-server"].map((r) =>
        s(
          "context",
          "create",
          "--name",
          `${b}-${r}`,
          "--builder",
          b,
          "--builder-address",
          addr,
          "--runner",
          r,
          ...(r === "envd-server" ? ["--runner-address", "http://runner.example:8080"] : []),
        )
      )
    ),
    s("context", "create", "--name", "dc-default", "--builder", "docker-container"),
    s("context", "create", "--name", "moby-default", "--builder", "moby-worker", "--runner-address="),
    s("context", "create", "--name", "nerd-default", "--builder=nerdctl-container"),
    s("context", "ls"),
    s("context", "use", "--name", "tcp-envd-server"),
    s("context", "ls"),
    s("context", "rm", "--name", "docker-container-docker"),
    s("context", "rm", "--name", "tcp-envd-server"),
    s("context", "use", "--name=default"),
    s("context", "rm", "-name", "tcp-envd-server"),
  ],
  "repeated flags, empty values": [
    s("context", "create", "--name", "e1", "--builder-address="),
    s("context", "create", "--name", "e2", "--use", "--use"),
    s("context", "create", "--name", "e3", "--name", "e4", "--runner-address", "a", "--runner-address", "b"),
    s("context", "use", "--name", "e2", "--name", "default"),
  ],
  "create --use, use and rm log lines": [
    s("context", "create", "--name", "a", "--builder", "unix", "--builder-address", "/s", "--use"),
    s(
      "context",
      "create",
      "--name",
      "b",
      "--use=true",
      "--runner",
      "envd-server",
      "--runner-address",
      "http://x:1",
    ),
    s("context", "create", "--name", "c", "--use=false"),
    s("context", "use", "--name", "a"),
    s("context", "rm", "--name", "b"),
  ],
  "long names and addresses": [
    s(
      "context",
      "create",
      "--name",
      "n" + "x".repeat(120),
      "--builder",
      "tcp",
      "--builder-address",
      `${"h".repeat(240)}:1`,
    ),
    s(
      "context",
      "create",
      "--name",
      "srv_2.b+c-d",
      "--builder",
      "unix",
      "--builder-address",
      "/very/" + "deep/".repeat(40) + "buildkitd.sock",
      "--runner",
      "envd-server",
      "--runner-address",
      "https://runner.example:8443/" + "p".repeat(150) + "?q=1&r=<2>",
      "--use",
    ),
  ],
  "every envd error, the state unchanged": [
    usage("context", "create"),
    usage("context", "create", "--name"),
    usage("context", "create", "--name", "x", "--bogus"),
    usage("context", "create", "--name", "x", "--bogus=1"),
    usage("context", "create", "--name", "x", "--use=maybe"),
    usage("context", "ls", "-f", "yaml"),
    usage("context", "ls", "--format"),
    usage("context", "use"),
    usage("context", "rm"),
    s("context", "use", "--name", "nope"),
    s("context", "rm", "--name", "nope"),
    s("context", "rm", "--name", "default"),
    s("context", "create", "--name", "default"),
    s("context", "create", "--name", "default", "--builder", "bad"),
    s("context", "create", "--name", "z", "--builder", "bad"),
    s("context", "create", "--name", "z", "--builder", "podman-container"),
    s("context", "create", "--name", "z", "--runner", "bad"),
    s("context", "frobnicate"),
    s("frobnicate"),
  ],
  "the default context can go once another is current": [
    s("context", "create", "--name", "k", "--builder", "tcp", "--builder-address", "h:1"),
    s("context", "use", "--name", "k"),
    s("context", "rm", "--name", "default"),
    s("context", "rm", "--name", "k"),
  ],
};

for (const [what, steps] of Object.entries(SEQUENCES)) {
  Deno.test(`envd parity [bin as envd]: ${what}`, () => differential(what, steps));
}

// The core cases on `deno run main.ts`, and under envd-lite's own name (app=envd-lite in its logs).
for (const what of ["create --use, use and rm log lines", "every envd error, the state unchanged"]) {
  Deno.test(`envd parity [deno]: ${what}`, () =>
    differential(what, SEQUENCES[what], { mode: "deno", app: "envd-lite" }));
}
Deno.test("envd parity [bin as envd-lite]: errors carry app=envd-lite", () =>
  differential("errors", SEQUENCES["every envd error, the state unchanged"], {
    mode: "bin",
    app: "envd-lite",
  }));

Deno.test("the ls golden is the real envd's output, and envd-lite prints it byte for byte", async () => {
  const eh = await envdHome();
  const lh = tempDir("envd-lite-peer-");
  seedLite(lh);
  for (const step of GOLDEN_STEPS) {
    assert.equal((await runEnvd(eh, step)).code, 0);
    assert.equal((await runLite(lh, step)).code, 0);
  }
  const golden = readFileSync(GOLDEN_PATH, "utf8");
  assert.equal(
    (await runEnvd(eh, ["context", "ls"])).stdout,
    golden,
    "stale golden: run scripts/gen_envd_golden",
  );
  assert.equal((await runLite(lh, ["context", "ls"])).stdout, golden);
});

Deno.test("on a terminal both print logrus's coloured lines, the same bytes but the times", async () => {
  const eh = await envdHome();
  const lh = tempDir("envd-lite-peer-");
  seedLite(lh);
  // TERM=dumb: envd's terminal library otherwise queries the terminal's colours and waits 5 s for an answer.
  const tty = (exe: string, home: string, args: string[]) =>
    run(["-qec", [exe, ...args].join(" "), "/dev/null"], {
      exe: "script",
      cwd: home,
      env: { HOME: home, TERM: "dumb", ENVD_ANALYTICS: "false" },
    });
  const mask = (t: string) =>
    t.replace(/\[\d{4}-\d\d-\d\dT[\d:]+(Z|[+-]\d\d:\d\d)\]/g, "[T]").replace(
      // deno-lint-ignore no-control-regex
      /(version\x1b\[0m=)v\S+/g,
      "$1V",
    );
  for (
    const args of [
      ["context", "create", "--name", "a", "--builder", "tcp", "--builder-address", "h:1", "--use"],
      ["context", "rm", "--name", "zz"],
      ["context", "use", "--name", "default"],
    ]
  ) {
    const e = await tty(ENVD_BIN, eh, args), l = await tty(dropIn, lh, args);
    assert.equal(l.code, e.code, l.stdout);
    // deno-lint-ignore no-control-regex
    assert.match(e.stdout, /\x1b\[3[16]m(INFO|FATA)\x1b\[0m\[/);
    assert.equal(mask(l.stdout), mask(e.stdout), args.join(" "));
  }
});

Deno.test("what envd-lite changes on purpose (README, Differences from envd), shown against envd", async () => {
  const eh = await envdHome();
  const lh = tempDir("envd-lite-peer-");
  seedLite(lh);
  const both = async (args: string[]) => [await runEnvd(eh, args), await runLite(lh, args)];
  // The tcp:// prefix is not doubled.
  let [e, l] = await both([
    "context",
    "create",
    "--name",
    "p",
    "--builder",
    "tcp",
    "--builder-address",
    "tcp://1.2.3.4:1",
  ]);
  assert.equal([e.code, l.code].join(), "0,0");
  [e, l] = await both(["context", "ls", "-f", "json"]);
  assert.equal(JSON.parse(e.stdout)[1].builder_addr, "tcp://tcp://1.2.3.4:1");
  assert.equal(JSON.parse(l.stdout)[1].builder_addr, "tcp://1.2.3.4:1");
  // An address whose scheme names another builder is refused (envd stores moby-worker://tcp://x).
  [e, l] = await both([
    "context",
    "create",
    "--name",
    "m",
    "--builder",
    "moby-worker",
    "--builder-address",
    "tcp://x",
  ]);
  assert.deepEqual([e.code, l.code], [0, 1]);
  assert.match(l.stderr, /has scheme tcp:\/\/ but the builder is moby-worker/);
  // Names are validated (they are TOML keys and file names here).
  [e, l] = await both(["context", "create", "--name", "bad name"]);
  assert.equal(e.code, 0);
  assert.equal(l.code, 1);
  assert.match(l.stderr, /error="failed to create context: invalid context name \\"bad name\\"/);
  // tcp, unix and kube-pod need an address: envd would store tcp://envd_buildkitd.
  for (const b of ["tcp", "unix", "kube-pod"]) {
    [e, l] = await both(["context", "create", "--name", `no-${b}`, "--builder", b]);
    assert.equal(e.code, 0);
    assert.equal(l.code, 1);
    assert.match(
      l.stderr,
      new RegExp(`^error: Required flag "builder-address" not set: builder ${b} has no default`),
    );
  }
  [e, l] = await both(["context", "ls", "-f", "json"]);
  assert.equal(
    JSON.parse(e.stdout).find((c: { context: string }) => c.context === "no-tcp").builder_addr,
    "tcp://envd_buildkitd",
  );
  // Stray arguments are refused; global flags work after the command too.
  [e, l] = await both(["context", "ls", "stray"]);
  assert.deepEqual([e.code, l.code], [0, 1]);
  [e, l] = await both(["context", "ls", "-f", "json", "--debug"]);
  assert.deepEqual([e.code, l.code], [1, 0]);
  // The seed's default builder when there is no file yet.
  const fresh = tempDir("envd-lite-fresh-");
  assert.match(
    (await runLite(fresh, ["context", "ls"])).stdout,
    /^ default \(current\) {2}docker-container {2}/m,
  );
});

Deno.test("drop-in: under the name envd, usage lines say envd; envd's commands we lack say so in one line", async () => {
  const lh = tempDir("envd-lite-peer-");
  const bogus = await runLite(lh, ["context", "create", "--bogus"]);
  assert.equal(bogus.code, 1);
  assert.equal(
    bogus.stderr,
    "error: flag provided but not defined: -bogus; see 'envd context create --help'\n",
  );
  assert.match((await runLite(lh, ["context", "--help"])).stdout, /^NAME:\n {3}envd context - /);
  for (const cmd of ["up", "run", "destroy", "envs", "images"]) {
    const r = await runLite(lh, [cmd, "--path", "."]);
    assert.equal(r.code, 1);
    const [line, ...rest] = r.stderr.split("\n").filter(Boolean);
    assert.equal(rest.length, 0, r.stderr);
    assert.match(
      line,
      new RegExp(
        `level=fatal msg=exit app=envd error="envd-lite does not implement envd's \\\\"${cmd}\\\\" command`,
      ),
    );
  }
  const plain = await runLite(lh, ["up"], { mode: "bin", app: "envd-lite" });
  assert.match(plain.stderr, / app=envd-lite error=.*see 'envd-lite --help'/);
});

Deno.test("import --from-envd reads the contexts file the real envd wrote, taking what it can", async () => {
  const eh = await envdHome();
  const steps = [
    "context create --name remote --builder tcp --builder-address 10.1.2.3:8888 --runner envd-server --runner-address http://srv:8080",
    "context create --name k8s --builder kube-pod --builder-address bk?namespace=ci --use",
    "context create --name dup --builder nerdctl-container --builder-address n",
    "context create --name pfx --builder tcp --builder-address tcp://1.2.3.4:1",
  ].map((line) => line.split(" "));
  // envd takes any name; envd-lite refuses this one, so the import must skip it and go on.
  steps.splice(2, 0, [
    "context",
    "create",
    "--name",
    "bad name",
    "--builder",
    "unix",
    "--builder-address",
    "/s",
  ]);
  for (const step of steps) assert.equal((await runEnvd(eh, step)).code, 0);
  const envdLs = JSON.parse((await runEnvd(eh, ["context", "ls", "-f", "json"])).stdout);
  const gob = join(eh, ".config/envd/contexts");
  const gobBefore = readFileSync(gob);

  // In envd's own HOME, as a user switching over would: no FILE, the default path.
  const dup = await runLite(eh, [
    "context",
    "create",
    "--name",
    "dup",
    "--builder",
    "unix",
    "--builder-address",
    "/d",
  ]);
  assert.equal(dup.code, 0, dup.stderr);
  const r = await runLite(eh, ["context", "import", "--from-envd"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines[0], /level=info msg="Context default already exists, skipped"/);
  assert.match(
    lines[1],
    /level=warning msg="Context bad name is not imported: invalid context name \\"bad name\\"/,
  );
  assert.match(lines[2], /level=info msg="Context dup already exists, skipped"/);
  assert.match(r.stderr, /msg="Context remote is imported"/);
  assert.match(r.stderr, /msg="Context k8s is imported"/);
  assert.match(lines.at(-1)!, /msg="Imported 3 of 6 envd contexts" cmd="context import" from=\S+ skipped=3$/);
  const ours = JSON.parse((await runLite(eh, ["context", "ls", "-f", "json"])).stdout);
  type Row = { context: string; builder_addr: string };
  const pick = (ls: Row[], n: string) => ({ ...ls.find((c) => c.context === n)!, current: false });
  for (const n of ["remote", "k8s"]) assert.deepEqual(pick(ours, n), pick(envdLs, n));
  assert.equal(pick(ours, "pfx").builder_addr, "tcp://1.2.3.4:1"); // envd shows tcp://tcp://1.2.3.4:1
  // envd's own file is only read, and envd still works.
  assert.deepEqual(readFileSync(gob), gobBefore);
  assert.equal((await runEnvd(eh, ["context", "ls", "-f", "json"])).stdout, JSON.stringify(envdLs) + "\n");

  // --name cannot rename many contexts: a usage error, not ignored.
  const named = await runLite(eh, ["context", "import", "--from-envd", "--name", "x", gob]);
  assert.equal(named.code, 1);
  assert.match(named.stderr, /^error: --name cannot be used with --from-envd/);
});

Deno.test("log times are local time with its offset, as envd's (logrus's RFC 3339)", async () => {
  const eh = await envdHome();
  const lh = tempDir("envd-lite-peer-");
  seedLite(lh);
  const args = ["context", "use", "--name", "default"];
  for (const TZ of ["Asia/Kolkata", "America/St_Johns", "UTC"]) {
    const e = await runEnvd(eh, args, { TZ }), l = await runLite(lh, args, AS_ENVD, { TZ });
    const zone = (t: string) => /^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)"/.exec(t)?.[1];
    assert.ok(zone(e.stderr), e.stderr);
    assert.equal(zone(l.stderr), zone(e.stderr), `${TZ}: ${l.stderr}`);
  }
});
