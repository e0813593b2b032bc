/** A lock file beside the contexts file, so parallel invocations serialise their read-modify-write. */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { UserError } from "../errors.ts";

// A lock younger than this is never broken: its holder may be between creating it and writing its pid,
// and a dead holder costs a waiter at most this long.
const STALE_MS = 3_000;

/** "gone" when the lock vanished meanwhile (just retry); `dead` (with the lock's inode) when its holder died. */
function lockState(lockPath: string): "live" | "gone" | { dead: number } {
  let pid: number;
  let mtime: number;
  let ino: number;
  try {
    ({ mtimeMs: mtime, ino } = statSync(lockPath));
    pid = Number(readFileSync(lockPath, "utf8").trim());
  } catch {
    return "gone";
  }
  if (Date.now() - mtime < STALE_MS) return "live";
  if (!Number.isInteger(pid) || pid <= 0) return { dead: ino };
  try {
    process.kill(pid, 0);
    return "live";
  } catch (err) {
    // EPERM: the pid exists but belongs to someone else, so the lock is live.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? "live" : { dead: ino };
  }
}

/** Runs `fn` holding `<file>.lock`; waits (with backoff) up to `timeoutMs`, and breaks locks whose holder died. */
export async function withFileLock<T>(
  file: string,
  fn: () => T | Promise<T>,
  timeoutMs = 15_000,
): Promise<T> {
  const lockPath = `${file}.lock`;
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        throw new UserError(`${file}: cannot create lock file: directory does not exist`);
      }
      if (code !== "EEXIST") {
        throw new UserError(`${lockPath}: cannot create lock file: ${(err as Error).message}`);
      }
      const state = lockState(lockPath);
      if (state === "gone") continue;
      if (typeof state === "object") {
        // Break it only if it is still the same lock file: its holder may have released it meanwhile.
        try {
          if (statSync(lockPath).ino === state.dead) rmSync(lockPath, { force: true });
        } catch { /* gone already */ }
        continue;
      }
      if (Date.now() > deadline) {
        throw new UserError(`${file} is locked by another envd-lite (lock file ${lockPath}); try again`);
      }
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 100);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}
