import assert from "node:assert/strict";
import { pruneRulesFor } from "./gc_rules.ts";
import { validateText } from "./validate.ts";

Deno.test("pruneRulesFor: gcpolicy entries in order, then gckeepstorage over everything; percentages dropped with a warning", () => {
  const { model } = validateText(
    `
[context.default]
builder = "tcp"
builder-address = "h:1"
  [context.default.worker.oci]
  gckeepstorage = "20GB"
  minFreeSpace = "10%"
  [[context.default.worker.oci.gcpolicy]]
  filters = ["type==source.local", "type==exec.cachemount"]
  keepDuration = "48h"
  keepBytes = "512MB"
  [[context.default.worker.oci.gcpolicy]]
  all = true
  maxUsedSpace = 1000
`,
    "t.toml",
  );
  const warnings: string[] = [];
  const rules = pruneRulesFor(model.contexts[0], "oci", (m) => warnings.push(m));
  assert.deepEqual(rules, [
    {
      all: false,
      filters: ["type==source.local", "type==exec.cachemount"],
      keepDurationMs: 48 * 3600e3,
      reservedSpace: 512 * 1024 ** 2,
      maxUsedSpace: 0,
      minFreeSpace: 0,
    },
    { all: true, filters: [], keepDurationMs: 0, reservedSpace: 0, maxUsedSpace: 1000, minFreeSpace: 0 },
    {
      all: true,
      filters: [],
      keepDurationMs: 0,
      reservedSpace: 20 * 1024 ** 3,
      maxUsedSpace: 0,
      minFreeSpace: 0,
    },
  ]);
  assert.deepEqual(warnings, [
    'context.default.worker.oci.minFreeSpace = "10%" is a share of the daemon\'s disk, which prune cannot apply from the client; ignoring it',
  ]);
  assert.deepEqual(
    pruneRulesFor({ name: "x", builder: "tcp", builderAddress: "h:1", runner: "docker" }, "oci", () => {}),
    [],
  );
});
