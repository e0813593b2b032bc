import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daemonStatus, type HostDaemon, logTail, startDaemon, stopDaemon } from "./host_process.ts";

Deno.test("host daemon: start detached, found by pid file and argv, stopped by SIGTERM; a stale pid file is not ours", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-hostd-"));
  const marker = join(dir, "marker");
  const d: HostDaemon = { dir, marker };
  try {
    assert.deepEqual(daemonStatus(d), { running: false });
    const script = 'echo started; trap "echo bye; exit 0" TERM; while :; do sleep 0.05; done';
    const pid = await startDaemon(d, "sh", ["-c", script, marker], { PATH: process.env.PATH });
    assert.deepEqual(daemonStatus(d), { running: true, pid });
    assert.equal(readFileSync(join(dir, "pid"), "utf8"), `${pid}\n`);
    // Its own session: a process group to signal as one.
    assert.equal(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[3], String(pid));
    // Signal only once the script runs (its trap set): under load sh may not have started yet.
    for (let i = 0; i < 200 && !logTail(d, 5).includes("started"); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(await stopDaemon(d), true);
    assert.deepEqual(daemonStatus(d), { running: false });
    assert.match(logTail(d, 5).join("\n"), /^--- \S+ sh -c .*\nstarted\n(Terminated\n)?bye$/);
    assert.equal(await stopDaemon(d), false, "stopping twice is a no-op");

    // A pid that now belongs to someone else (this test process) is stale, never signalled.
    writeFileSync(join(dir, "pid"), `${process.pid}\n`);
    assert.deepEqual(daemonStatus(d), { running: false, stalePid: process.pid });
    assert.equal(await stopDaemon(d), false);
    writeFileSync(join(dir, "pid"), "garbage\n");
    assert.deepEqual(daemonStatus(d), { running: false, stalePid: -1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("host daemon: a command that is not there fails at start", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-hostd-"));
  try {
    await assert.rejects(startDaemon({ dir, marker: "x" }, "/nonexistent/buildkitd", [], {}), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
