import assert from "node:assert/strict";
import { msg, vertex } from "../../tests/helpers/status.ts";
import { createProgress, type ProgressMode } from "./mod.ts";

function sink(isTerminal: boolean) {
  const out = { text: "", isTerminal, columns: 60, write: (s: string) => void (out.text += s) };
  return out;
}

const STEPS = [
  msg({ vertexes: [vertex("a", "FROM a", { started: 0, completed: 10, cached: true })] }),
  msg({ vertexes: [vertex("b", "RUN b", { started: 10, completed: 1510 })] }),
];

Deno.test("createProgress() resolves auto to tty on a terminal and plain elsewhere", async () => {
  for (const [isTerminal, mode] of [[true, "tty"], [false, "plain"]] as const) {
    const out = sink(isTerminal);
    const p = createProgress("auto", out, { intervalMs: 0, color: false });
    assert.equal(p.mode, mode);
    for (const m of STEPS) p.update(m);
    await p.done();
    assert.match(
      out.text,
      mode === "tty" ? /\[\+\] Building .*\(2\/2\) FINISHED/ : /^#1 FROM a\n#1 CACHED\n/,
    );
  }
});

Deno.test("every mode keeps the summary; quiet prints nothing; done() is once and ends updates", async () => {
  for (const mode of ["tty", "plain", "rawjson", "quiet"] as ProgressMode[]) {
    const out = sink(false);
    const p = createProgress(mode, out, { intervalMs: 0 });
    for (const m of STEPS) p.update(m);
    await p.done();
    const written = out.text;
    await p.done();
    p.update(msg({ vertexes: [vertex("c", "late", { started: 2000 })] }));
    assert.equal(out.text, written, `${mode}: nothing after done()`);
    assert.deepEqual(p.summary(), { steps: 2, cached: 1, errors: 0, warnings: 0, durationMs: 1510 }, mode);
    if (mode === "quiet") assert.equal(written, "");
    if (mode === "rawjson") assert.equal(written.split("\n").length, 3);
  }
});
