import assert from "node:assert/strict";
import { workerGc } from "./gc_rules.ts";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadContextsFile } from "./store.ts";
import { createContext, importContexts, removeContext, updateContext, useContext } from "./operations.ts";
import { UserError } from "../errors.ts";

const FIXTURE = resolve(import.meta.dirname!, "../../tests/fixtures/contexts/handwritten.toml");

function withCopy(fn: (path: string, original: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "envd-ops-"));
    const path = join(dir, "contexts.toml");
    copyFileSync(FIXTURE, path);
    try {
      await fn(path, readFileSync(FIXTURE, "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

Deno.test("the hand-written fixture parses: order, quoting, nested tables", () => {
  const { model } = loadContextsFile(FIXTURE);
  assert.equal(model.current, "local");
  assert.deepEqual(model.contexts.map((c) => c.name), ["local", "remote", "team.gpu"]);
  const remote = model.contexts[1];
  assert.deepEqual(remote.tls, { ca: "/etc/envd/ca.pem", servername: "buildkitd.internal" });
  assert.deepEqual(remote.registry, { "docker.io": { mirrors: ["mirror.gcr.io"] } });
  const oci = workerGc(model.contexts[0], "oci")!;
  assert.equal(oci.gckeepstorage!.bytes, 20 * 1024 ** 3);
  assert.deepEqual(oci.gcpolicy![0].filters, ["type==source.local", "type==exec.cachemount"]);
  assert.equal(oci.gcpolicy![0].keepDuration!.ms, 48 * 3600e3);
});

Deno.test(
  "use: only the value of `current` changes (its quoting and comment stay)",
  withCopy(async (path, before) => {
    await useContext(path, "remote");
    const expected = before.replace("current = 'local'   #", "current = 'remote'   #");
    assert.equal(readFileSync(path, "utf8"), expected);
  }),
);

Deno.test(
  "create: the new context is appended; nothing else moves",
  withCopy(async (path, before) => {
    await createContext(path, {
      name: "ci",
      builder: "tcp",
      builderAddress: "10.0.0.1:1234",
      runner: "docker",
    }, { use: true });
    const after = readFileSync(path, "utf8");
    const expected = before.replace("current = 'local'", "current = 'ci'") +
      '\n[context.ci]\nbuilder = "tcp"\nbuilder-address = "10.0.0.1:1234"\nrunner = "docker"\n';
    assert.equal(after, expected);
  }),
);

Deno.test(
  "update: changed values in place, new keys beside their siblings, sub-tables created at the context's end",
  withCopy(async (path, before) => {
    await updateContext(path, "local", { builderAddress: "tcp-less", runnerAddress: "http://srv:8080" });
    let expected = before
      .replace("builder-address = 'envd_buildkitd'", "builder-address = 'tcp-less'")
      .replace(
        'runner = "docker"\n\n  [context.local.worker.oci]',
        'runner = "docker"\nrunner-address = "http://srv:8080"\n\n  [context.local.worker.oci]',
      );
    assert.equal(readFileSync(path, "utf8"), expected);
    await updateContext(path, "remote", { tls: { cert: "/c.pem", key: "/k.pem", servername: "" } });
    expected = expected.replace(
      '    ca = "/etc/envd/ca.pem"\n    servername = "buildkitd.internal"\n',
      '    ca = "/etc/envd/ca.pem"\n    cert = "/c.pem"\n    key = "/k.pem"\n',
    );
    assert.equal(readFileSync(path, "utf8"), expected);
    await updateContext(path, "team.gpu", { tls: { ca: "/ca.pem" } });
    expected = expected.replace(
      'builder-address = "/run/buildkit/buildkitd.sock"\n',
      'builder-address = "/run/buildkit/buildkitd.sock"\n\n  [context."team.gpu".grpc.tls]\n  ca = "/ca.pem"\n',
    );
    assert.equal(readFileSync(path, "utf8"), expected);
    const model = loadContextsFile(path).model;
    assert.equal(model.contexts[2].tls!.ca, "/ca.pem");
  }),
);

Deno.test(
  "rm: the context's tables, keys and attached comments go; the rest is untouched",
  withCopy(async (path, before) => {
    await removeContext(path, "remote");
    const after = readFileSync(path, "utf8");
    const start = before.indexOf("# CI's remote builder");
    const end = before.indexOf('[context."team.gpu"]');
    assert.equal(after, before.slice(0, start) + before.slice(end));
    await removeContext(path, "team.gpu");
    // Comments after a context's last key are not attached to it: they stay.
    assert.equal(readFileSync(path, "utf8"), before.slice(0, start) + "# trailing notes stay too\n");
    assert.deepEqual(loadContextsFile(path).model.contexts.map((c) => c.name), ["local"]);
  }),
);

Deno.test(
  "failed operations leave the file byte-identical",
  withCopy(async (path, before) => {
    const attempts: [() => Promise<unknown>, RegExp][] = [
      [() => removeContext(path, "local"), /cannot remove current context "local"/],
      [() => removeContext(path, "nope"), /cannot find context "nope"/],
      [() => useContext(path, "nope"), /does not exist/],
      [
        () =>
          createContext(path, { name: "remote", builder: "tcp", builderAddress: "a:1", runner: "docker" }),
        /already exists/,
      ],
      [
        () => createContext(path, { name: "-x", builder: "tcp", builderAddress: "a:1", runner: "docker" }),
        /invalid context name/,
      ],
      [() => updateContext(path, "local", { builder: "nope" }), /unknown builder type/],
      [
        () =>
          importContexts(path, [{ name: "local", builder: "unix", builderAddress: "/s", runner: "docker" }]),
        /already exists/,
      ],
    ];
    for (const [fn, re] of attempts) {
      await assert.rejects(fn, (e: Error) => e instanceof UserError && re.test(e.message));
      assert.equal(readFileSync(path, "utf8"), before);
    }
  }),
);

Deno.test("a context written as an inline table is refused for editing, not mangled", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-ops-"));
  const path = join(dir, "c.toml");
  const text = 'current = "a"\ncontext.a = { builder = "tcp", builder-address = "h:1" }\n';
  writeFileSync(path, text);
  try {
    await assert.rejects(
      () => updateContext(path, "a", { runnerAddress: "http://x" }),
      /cannot edit in place|invalid/,
    );
    assert.equal(readFileSync(path, "utf8"), text);
    // Adding a context elsewhere still works: that edit does not touch the inline table.
    await createContext(path, { name: "b", builder: "unix", builderAddress: "/s", runner: "docker" });
    assert.deepEqual(loadContextsFile(path).model.contexts.map((c) => c.name), ["a", "b"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a missing file: the first change writes the default context plus the change", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-ops-"));
  const path = join(dir, "sub", "contexts.toml");
  try {
    assert.deepEqual(loadContextsFile(path).model.contexts.map((c) => c.name), ["default"]);
    await createContext(path, { name: "x", builder: "tcp", builderAddress: "h:1", runner: "docker" });
    const m = loadContextsFile(path).model;
    assert.equal(m.current, "default");
    assert.deepEqual(m.contexts.map((c) => c.builder), ["docker-container", "tcp"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a file with only comments stands for the default; editing keeps the comments", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-ops-"));
  const path = join(dir, "c.toml");
  writeFileSync(path, "# mine\n");
  try {
    await useContext(path, "default");
    const text = readFileSync(path, "utf8");
    assert.ok(text.startsWith("# mine\n"), text);
    assert.deepEqual(loadContextsFile(path).model.contexts.map((c) => c.name), ["default"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
