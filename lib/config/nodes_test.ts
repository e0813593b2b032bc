import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { contextNodes, nodeContext } from "./nodes.ts";
import { addNode, removeNode } from "./operations.ts";
import { renderContext } from "./render.ts";
import { loadContextsFile } from "./store.ts";
import { validateText } from "./validate.ts";

const FILE = `current = "farm"

# the farm: three daemons
[context.farm]
builder = "tcp"
builder-address = "127.0.0.1:1"
runner = "docker"

    [context.farm.grpc.tls]
    ca = "/ca.pem"

    # the arm box, racked in 2026
    [[context.farm.node]]
    name = "arm-1"
    builder = "tcp"
    builder-address = "10.0.0.7:1234"   # its port
    platforms = ["linux/arm64"]

      [context.farm.node.grpc.tls]
      servername = "arm-1.internal"

# comments of the next context stay with it
[context.other]
builder = "unix"
builder-address = "/run/buildkit.sock"
`;

function withFile(text: string, fn: (path: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "envd-nodes-"));
    const path = join(dir, "contexts.toml");
    writeFileSync(path, text);
    try {
      await fn(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

Deno.test("[[context.N.node]] reads into the model; the context's own builder stays its first node", () => {
  const { model } = validateText(FILE, "f.toml");
  const farm = model.contexts[0];
  assert.equal(farm.builder, "tcp");
  assert.equal(farm.builderAddress, "127.0.0.1:1");
  assert.deepEqual(farm.nodes, [{
    name: "arm-1",
    builder: "tcp",
    builderAddress: "10.0.0.7:1234",
    platforms: ["linux/arm64"],
    tls: { servername: "arm-1.internal" },
  }]);
  assert.deepEqual(contextNodes(farm).map((n) => [n.name, n.builderAddress, n.tls]), [
    ["farm", "127.0.0.1:1", { ca: "/ca.pem" }],
    ["arm-1", "10.0.0.7:1234", { servername: "arm-1.internal" }],
  ]);
  // A node's driver sees the node's builder and TLS, not the context's.
  const c = nodeContext(farm, farm.nodes![0]);
  assert.deepEqual([c.builderAddress, c.tls, c.nodes], [
    "10.0.0.7:1234",
    { servername: "arm-1.internal" },
    undefined,
  ]);
  // Rendering (export, inspect) gives the same model back.
  const again = validateText(renderContext(farm), "x.toml", { standalone: true }).model.contexts[0];
  assert.deepEqual(again, farm);
});

Deno.test("bad node tables fail with the line: duplicate names, the context's own name, bad builder, bad platform", () => {
  const cases: [string, string, RegExp][] = [
    [
      'name = "arm-1"',
      'name = "farm"',
      /^f\.toml:14: duplicate node name "farm" in context "farm": the context's own/,
    ],
    [
      'builder = "tcp"\n    builder-address = "10',
      'builder = "tcpp"\n    builder-address = "10',
      /^f\.toml:15: .*unknown builder type "tcpp"/,
    ],
    [
      '["linux/arm64"]',
      '["linux/arm64", "arm64"]',
      /^f\.toml:17: context\.farm\.node\[0\]\.platforms\[1\]: invalid platform "arm64"/,
    ],
    ['name = "arm-1"', 'name = "a b"', /^f\.toml:14: .*invalid node name "a b"/],
    [
      '    name = "arm-1"\n',
      "",
      /^f\.toml:13: \[context\.farm\.node\[0\]\] is missing the required key "name"/,
    ],
  ];
  for (const [from, to, want] of cases) {
    const text = FILE.replace(from, to);
    assert.notEqual(text, FILE);
    assert.throws(
      () => validateText(text, "f.toml"),
      (e: Error) => e instanceof UserError && want.test(e.message),
    );
  }
  const dup = FILE.replace(
    "# comments of",
    `  [[context.farm.node]]\n  name = "arm-1"\n  builder = "unix"\n  builder-address = "/s"\n\n# comments of`,
  );
  assert.throws(
    () => validateText(dup, "f.toml"),
    /f\.toml:23: duplicate node name "arm-1" in context "farm": another node has it/,
  );
});

Deno.test(
  "node add / rm: only the node's table changes, comments and layout stay; add then rm gives the file back",
  withFile(FILE, async (path) => {
    await addNode(path, "farm", {
      name: "amd-2",
      builder: "tcp",
      builderAddress: "tcp://127.0.0.1:9",
      platforms: ["linux/amd64", "linux/amd64/v2"],
      tls: { ca: "/ca2.pem" },
    });
    const added = readFileSync(path, "utf8");
    assert.ok(
      added.startsWith(FILE.split("# comments of")[0]),
      "everything before the new table is unchanged",
    );
    assert.ok(
      added.endsWith(
        '# comments of the next context stay with it\n[context.other]\nbuilder = "unix"\nbuilder-address = "/run/buildkit.sock"\n',
      ),
    );
    // The new table takes the indentation of the context's sub-tables.
    const block = [
      "    [[context.farm.node]]",
      '    name = "amd-2"',
      '    builder = "tcp"',
      '    builder-address = "127.0.0.1:9"',
      '    platforms = ["linux/amd64", "linux/amd64/v2"]',
      "",
      "    [context.farm.node.grpc.tls]",
      '    ca = "/ca2.pem"',
      "",
      "# comments of",
    ].join("\n");
    assert.ok(added.includes(`arm-1.internal"\n\n${block}`), added);

    assert.deepEqual(loadContextsFile(path).model.contexts[0].nodes!.map((n) => n.name), ["arm-1", "amd-2"]);
    await removeNode(path, "farm", "amd-2");
    assert.equal(readFileSync(path, "utf8"), FILE);
    // Removing the first node takes its comment and its tls table, and leaves the rest alone.
    await removeNode(path, "farm", "arm-1");
    const after = readFileSync(path, "utf8");
    const start = FILE.indexOf("    # the arm box");
    const end = FILE.indexOf("# comments of");
    assert.equal(after, FILE.slice(0, start) + FILE.slice(end));
    assert.equal(loadContextsFile(path).model.contexts[0].nodes, undefined);
  }),
);

Deno.test(
  "failed node edits leave the file byte-identical, each with one clear line",
  withFile(FILE, async (path) => {
    const node = { name: "n", builder: "tcp", builderAddress: "127.0.0.1:5" };
    const failures: [() => Promise<unknown>, RegExp][] = [
      [() => addNode(path, "nope", node), /^cannot find context "nope"$/],
      [() => addNode(path, "farm", { ...node, name: "arm-1" }), /already has a node named "arm-1"/],
      [() => addNode(path, "farm", { ...node, name: "farm" }), /already has a node named "farm"/],
      [() => addNode(path, "farm", { ...node, builder: "tcpp" }), /unknown builder type "tcpp"/],
      [() => addNode(path, "farm", { ...node, platforms: ["linux"] }), /invalid platform "linux"/],
      [() => addNode(path, "farm", { ...node, name: "-x" }), /invalid node name "-x"/],
      [
        () => addNode(path, "farm", { ...node, builderAddress: "unix:///s" }),
        /has scheme unix:\/\/ but the builder is tcp/,
      ],
      [() => removeNode(path, "farm", "farm"), /is context "farm"'s own builder/],
      [() => removeNode(path, "farm", "ghost"), /has no node named "ghost"/],
      [() => removeNode(path, "ghost", "arm-1"), /cannot find context "ghost"/],
    ];
    for (const [op, want] of failures) {
      await assert.rejects(op, (e: Error) => e instanceof UserError && want.test(e.message));
      assert.equal(readFileSync(path, "utf8"), FILE);
    }
  }),
);
