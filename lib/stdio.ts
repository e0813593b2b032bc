/**
 * Waiting for stdout/stderr before exiting. On a pipe Bun runs an empty write's callback before earlier data is
 * out (a 160 KB `du -f json` was cut at 64 KiB), so every write is counted and the exit waits for the callbacks
 * of all of them.
 */
type WriteFn = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

let pending = 0;
const waiters: (() => void)[] = [];

/** Count the writes to `streams` from now on (call once, before anything is written). */
export function trackWrites(streams: NodeJS.WriteStream[]): void {
  for (const s of streams) {
    const write = s.write.bind(s) as WriteFn;
    (s as unknown as { write: WriteFn }).write = (chunk, encoding, cb) => {
      const callback = typeof encoding === "function" ? encoding : cb;
      pending++;
      const done = (err?: Error | null) => {
        if (typeof callback === "function") callback(err);
        if (--pending === 0) waiters.splice(0).forEach((w) => w());
      };
      return typeof encoding === "function" || encoding === undefined
        ? write(chunk, done)
        : write(chunk, encoding, done);
    };
  }
}

/** Resolves once every counted write has been handed to the OS. */
export function allWritten(): Promise<void> {
  return pending === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r));
}
