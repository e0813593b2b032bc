/** A lock file beside the contexts file, so parallel invocations serialise their read-modify-write. */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { UserError } from "../errors.ts";

const STALE_MS = 30_000;

function holderAlive(lockPath: string): boolean {
  try {
    const pid = Number(readFileSync(lockPath, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - statSync(lockPath).mtimeMs < STALE_MS;
    process.kill(pid, 0);
    return Date.now() - statSync(lockPath).mtimeMs < STALE_MS;
  } catch (err) {
    // EPERM: the pid exists but belongs to someone else, so the lock is live.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs `fn` holding `<file>.lock`; waits (with backoff) up to `timeoutMs`, and breaks locks whose holder died. */
export async function withFileLock<T>(file: string, fn: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
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
      if (code === "ENOENT") throw new UserError(`${file}: cannot create lock file: directory does not exist`);
      if (code !== "EEXIST") throw new UserError(`${lockPath}: cannot create lock file: ${(err as Error).message}`);
      if (!holderAlive(lockPath)) {
        rmSync(lockPath, { force: true });
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
