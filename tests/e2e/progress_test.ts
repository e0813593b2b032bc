/**
 * The progress renderers on a real Status stream: buildctl --progress=rawjson against the test buildkitd, parsed back
 * and rendered, compared with buildctl's own rawjson (byte for byte) and plain output (times and sizes aside).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createProgress, formatRawJson, parseRawJson } from "../../lib/progress/mod.ts";
import { daemons } from "../helpers/daemons.ts";
import { buildctlBuildArgs } from "../helpers/buildctl.ts";

const peers = daemons();

/** Builds `FROM scratch` + `COPY` of fresh content with buildctl; returns its progress output (stderr). */
function buildctl(dir: string, progress: "rawjson" | "plain"): string {
  const args = buildctlBuildArgs(`tcp://${peers.buildkitTcp}`, dir, ["--no-cache", `--progress=${progress}`]);
  const r = spawnSync(peers.buildctl, args, { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

/** Times and transfer sizes differ between two runs of the same build; what remains must match. */
// Times and sizes differ run to run; so does whether a transfer line shows its time at all (both clients show it
// only when it took over 10 ms), so that optional time is dropped rather than masked.
function mask(text: string): string {
  return text.replace(/ \d+\.\ds done/g, " done").replace(/\d+\.\d+s/g, "T").replace(/\d+B done/g, "NB done");
}

Deno.test("a real buildctl stream: rawjson round-trips byte for byte, plain matches buildctl's, tty lists every step", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY a.txt /a.txt\n");
    writeFileSync(join(dir, "a.txt"), randomBytes(32).toString("hex"));
    const raw = buildctl(dir, "rawjson").split("\n").filter((l) => l.startsWith("{"));
    const theirs = buildctl(dir, "plain");
    assert.ok(raw.length > 5, `a few status lines, got ${raw.length}`);

    const statuses = raw.map(parseRawJson);
    statuses.forEach((s, i) => assert.equal(formatRawJson(s), raw[i], `line ${i + 1}`));

    let plain = "";
    const p = createProgress("plain", { write: (s) => plain += s, isTerminal: false });
    statuses.forEach((s) => p.update(s));
    await p.done();
    const summary = "\nFinished in ";
    assert.equal(mask(plain.slice(0, plain.lastIndexOf(summary))), mask(theirs.trimEnd() + "\n"));
    const { durationMs: _, ...counts } = p.summary();
    assert.deepEqual(counts, { steps: 4, cached: 0, errors: 0, warnings: 0 });

    let tty = "";
    const t = createProgress("tty", { write: (s) => tty += s, isTerminal: true, columns: 100 }, {
      color: false,
    });
    statuses.forEach((s) => t.update(s));
    await t.done();
    const final = tty.slice(tty.lastIndexOf("\x1b[?25l"));
    assert.match(final, /\[\+\] Building \d+\.\ds \(4\/4\) FINISHED/);
    for (
      const name of [
        "[internal] load build definition from Dockerfile",
        "[internal] load build context",
        "[1/1] COPY a.txt /a.txt",
      ]
    ) {
      assert.ok(final.includes(` => ${name} `), name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
