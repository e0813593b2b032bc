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
    ["[context.a]\nbuilder = 5\n", "f.toml:2: context.a.builder must be a string, not a integer"],
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
