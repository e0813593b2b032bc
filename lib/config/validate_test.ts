import assert from "node:assert/strict";
import { workerGc } from "./gc_rules.ts";
import { UserError } from "../errors.ts";
import { validateText } from "./validate.ts";

const ok = (t: string) => validateText(t, "f.toml").model;
const err = (t: string) => {
  try {
    validateText(t, "f.toml");
  } catch (e) {
    assert.ok(e instanceof UserError, `not a UserError: ${e}`);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    return e.message;
  }
  assert.fail(`accepted: ${t}`);
};

Deno.test("validation names the file, the line and the key", () => {
  const cases: [string, string][] = [
    [
      'current = "a"\n[context.a]\nbuilder = "tcp"\nbulder-address = "x"\n',
      'f.toml:4: unknown key "bulder-address" in [context.a] (did you mean "builder-address"?)',
    ],
    ['[context.a]\nbuilder = "tcpp"\n', 'f.toml:2: context.a.builder: unknown builder type "tcpp"'],
    [
      '[context.default]\nbuilder = "tcp"\nrunner = "k8s"\n',
      'f.toml:3: context.default.runner: unknown runner type "k8s"',
    ],
    [
      'current = "b"\n[context.a]\nbuilder = "tcp"\n',
      'f.toml:1: current context "b" is not defined in the file',
    ],
    ['[context."bad name"]\nbuilder = "tcp"\n', 'f.toml:1: invalid context name "bad name"'],
    [
      '[context.a]\nbuilder = "tcp"\n[context.a]\nbuilder = "unix"\n',
      'f.toml:3: duplicate context "a" (first defined at line 1)',
    ],
    ['[context.a]\nbuilder = "tcp"\nbuilder = "unix"\n', "f.toml:3:1: invalid TOML"],
    ['[context.a]\nbuilder = "tcp\n', "f.toml:2:"],
    ["[context.a]\nbuilder = 5\n", "f.toml:2: context.a.builder must be a string, not an integer"],
    ["[context.a]\nbuilder = 1.5\n", "f.toml:2: context.a.builder must be a string, not a float"],
    ["[context.a]\nbuilder = true\n", "f.toml:2: context.a.builder must be a string, not a boolean"],
    [
      '[context.default]\nbuilder = "tcp"\n[context.default.worker.oci]\ngckeepstorage = "20 bananas"\n',
      'f.toml:4: context.default.worker.oci.gckeepstorage: invalid size "20 bananas"',
    ],
    [
      '[context.default]\nbuilder = "tcp"\n[[context.default.worker.oci.gcpolicy]]\nkeepDuration = "2 days"\n',
      'f.toml:4: context.default.worker.oci.gcpolicy[0].keepDuration: invalid duration "2 days"',
    ],
    [
      '[context.default]\nbuilder = "tcp"\n[[context.default.worker.oci.gcpolicy]]\nall = true\n[[context.default.worker.oci.gcpolicy]]\nfilter = ["x"]\n',
      'f.toml:6: unknown key "filter" in [context.default.worker.oci.gcpolicy[1]] (did you mean "filters"?)',
    ],
    [
      '[context.default]\nbuilder = "tcp"\n[context.default.registry."r.io"]\nmirrors = "m"\n',
      'f.toml:4: context.default.registry."r.io".mirrors must be an array of strings, not a string',
    ],
    [
      '[context.default]\nbuilder = "tcp"\n[[context.default.registry."r.io".keypair]]\nkey = "k"\n',
      'f.toml:3: [context.default.registry."r.io".keypair[0]] is missing the required key "cert"',
    ],
    ['[context.a]\nrunner = "docker"\n', 'f.toml:1: [context.a] is missing the required key "builder"'],
    ['colour = "red"\n', 'f.toml:1: unknown key "colour"'],
    ['[context.a]\nbuilder = "tcp"\n[context.b]\nbuilder = "tcp"\n', "f.toml: no current context"],
  ];
  for (const [text, want] of cases) {
    assert.ok(err(text).startsWith(want), `${JSON.stringify(text)}\n got: ${err(text)}\nwant: ${want}`);
  }
});

Deno.test("sizes and durations in buildkitd's forms", () => {
  const m = ok(`[context.default]
builder = "tcp"
[context.default.worker.oci]
gckeepstorage = "512MB"
reservedSpace = "10%"
maxUsedSpace = 1048576
[[context.default.worker.oci.gcpolicy]]
keepDuration = "1h30m"
[[context.default.worker.oci.gcpolicy]]
keepDuration = 3600
`);
  const oci = workerGc(m.contexts[0], "oci")!;
  assert.deepEqual(oci.gckeepstorage, { text: "512MB", bytes: 512 * 1024 * 1024 });
  assert.deepEqual(oci.reservedSpace, { text: "10%", percent: 10 });
  assert.deepEqual(oci.maxUsedSpace, { text: "1048576", bytes: 1048576 });
  assert.equal(oci.gcpolicy![0].keepDuration!.ms, 5400e3);
  assert.equal(oci.gcpolicy![1].keepDuration!.ms, 3600e3);
});

Deno.test("defaults: builder-address and runner as envd's create flags; no contexts means the embedded default", () => {
  const m = ok('[context.default]\nbuilder = "docker-container"\n');
  assert.deepEqual(m.contexts[0], {
    name: "default",
    builder: "docker-container",
    builderAddress: "envd_buildkitd",
    runner: "docker",
  });
  assert.deepEqual(ok("# nothing yet\n").contexts.map((c) => c.name), ["default"]);
});

Deno.test("context names that need quoting, and numeric-looking names, keep file order", () => {
  const m = ok(
    'current = "2"\n[context.b]\nbuilder = "tcp"\n[context."a.b"]\nbuilder = "tcp"\n[context.2]\nbuilder = "unix"\n',
  );
  assert.deepEqual(m.contexts.map((c) => c.name), ["b", "a.b", "2"]);
});

Deno.test("every problem has a line: unknown top-level tables, dotted names get a quoting hint, all listed", () => {
  assert.equal(
    err('# c\n\n[contexts.a]\nbuilder = "tcp"\n'),
    'f.toml:3: unknown key "contexts" (did you mean "context"?)',
  );
  assert.equal(err("x = 1\n[colours.a.b]\ny = 2\n").split(" (and")[0], 'f.toml:1: unknown key "x"');
  assert.ok(
    err('current = "a"\n[context.a]\nbuilder = "tcp"\n[context.a.b]\nbuilder = "tcp"\n').startsWith(
      'f.toml:4: unknown key "b" in [context.a] (to name a context "a.b", quote it: [context."a.b"])',
    ),
  );
  // The problems after the first come with the error as its cause, one FILE:LINE line each (--debug prints them).
  let caught: unknown;
  try {
    validateText('[contexts.a]\nx = 1\n[context.default]\nbuilder = "tcpp"\nbulder = 1\n', "f.toml");
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof UserError);
  assert.match(
    caught.message,
    /^f\.toml:1: unknown key "contexts".* \(and 2 more problems; --debug lists them all\)$/,
  );
  assert.deepEqual((caught.cause as Error).stack!.split("\n"), [
    'f.toml:1: unknown key "contexts" (did you mean "context"?)',
    'f.toml:4: context.default.builder: unknown builder type "tcpp" (one of docker-container, kube-pod, tcp, unix, moby-worker, nerdctl-container, ssh)',
    'f.toml:5: unknown key "bulder" in [context.default] (did you mean "builder"?)',
  ]);
});
