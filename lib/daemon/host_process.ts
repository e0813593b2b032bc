/** A daemon this user runs in the background: started detached, known by a pid file, its output in a log file. */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

/** One background daemon: its directory (pid, log) and a string its argv must hold for a pid to be taken as ours. */
export interface HostDaemon {
  dir: string;
  marker: string;
}

const pidFile = (d: HostDaemon) => join(d.dir, "pid");
/** The daemon's log file. */
export const logFile = (d: HostDaemon) => join(d.dir, "log");

// Keeps the log from growing without bound; one previous generation is kept.
const MAX_LOG = 1 << 20;

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}

// A pid file can outlive its process, and the pid be reused: only a live process whose argv names us counts.
function ours(pid: number, marker: string): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(marker);
  } catch {
    return false;
  }
}

/** The daemon's state: running (with its pid), or not, noting a stale pid file left behind. */
export function daemonStatus(
  d: HostDaemon,
): { running: true; pid: number } | { running: false; stalePid?: number } {
  let text: string;
  try {
    text = readFileSync(pidFile(d), "utf8").trim();
  } catch {
    return { running: false };
  }
  const pid = Number(text);
  if (Number.isInteger(pid) && pid > 0 && ours(pid, d.marker)) return { running: true, pid };
  return { running: false, stalePid: Number.isInteger(pid) && pid > 0 ? pid : -1 };
}

/** Starts `command args` in its own session (it outlives us), output appended to the log; returns its pid. */
export async function startDaemon(
  d: HostDaemon,
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  mkdirSync(d.dir, { recursive: true, mode: 0o700 });
  rmSync(pidFile(d), { force: true });
  const log = logFile(d);
  if (existsSync(log) && statSync(log).size > MAX_LOG) renameSync(log, `${log}.1`);
  const fd = openSync(log, "a", 0o600);
  try {
    writeFileSync(fd, `--- ${new Date().toISOString()} ${[command, ...args].join(" ")}\n`);
    const child = spawn(command, args, {
      detached: true, // setsid: no terminal signals from our session, and a process group to stop as one
      stdio: ["ignore", fd, fd],
      env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
      cwd: d.dir,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("spawn", () => resolve(child.pid!));
    });
    child.unref();
    writeFileSync(pidFile(d), `${pid}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

/** True while the process runs (and is not a zombie). */
export const isAlive = alive;

/** SIGTERM to the daemon's process group, SIGKILL after `graceMs`; removes the pid file. False when it was not running. */
export async function stopDaemon(d: HostDaemon, graceMs = 10_000): Promise<boolean> {
  const st = daemonStatus(d);
  if (!st.running) {
    rmSync(pidFile(d), { force: true });
    return false;
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-st.pid, sig);
    } catch {
      try {
        process.kill(st.pid, sig);
      } catch { /* already gone */ }
    }
  };
  signal("SIGTERM");
  if (!(await waitExit(st.pid, graceMs))) {
    signal("SIGKILL");
    await waitExit(st.pid, 2_000);
  }
  rmSync(pidFile(d), { force: true });
  return true;
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !alive(pid);
}

/** The last `n` non-empty lines of the daemon's log. */
export function logTail(d: HostDaemon, n: number): string[] {
  try {
    return readFileSync(logFile(d), "utf8").split("\n").filter((l) => l.trim()).slice(-n);
  } catch {
    return [];
  }
}
