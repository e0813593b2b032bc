import assert from "node:assert/strict";
import { tellingLines } from "./log_lines.ts";

Deno.test("tellingLines: the error lines, not the usage dump after them; else the tail", () => {
  const log = [
    "Incorrect Usage: flag provided but not defined: -x",
    "",
    "NAME:",
    "   buildkitd - build daemon",
    "   --help, -h  show help",
  ];
  assert.deepEqual(tellingLines(log, 3), ["Incorrect Usage: flag provided but not defined: -x"]);
  assert.deepEqual(tellingLines(["a", "b", "c"], 2), ["b", "c"]);
  assert.deepEqual(tellingLines([], 2), []);
});

Deno.test("tellingLines: a restart loop's repeated error is shown once", () => {
  assert.deepEqual(tellingLines(["error: x", "usage", "error: x", "usage"], 3), ["error: x"]);
});
