/** Retry an attempt with a short, growing backoff until it succeeds, fails for good, or time runs out. */

/** Options for {@link poll}. */
export interface PollOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** First pause between attempts (default 50 ms), doubled each time up to `maxDelayMs` (default 500 ms). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** An error that retrying cannot fix; thrown at once. */
  isFatal?: (err: unknown) => boolean;
  /** How to wait between attempts (default: sleep); may return early, e.g. when a connection comes up. */
  pause?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected clock for tests. */
  now?: () => number;
}

/** Thrown when time ran out; `cause` is the last attempt's error. */
export class PollTimeoutError extends Error {
  constructor(readonly attempts: number, cause: unknown) {
    super(`timed out after ${attempts} attempt(s)`, { cause });
    this.name = "PollTimeoutError";
  }
}

/** Call `attempt(remainingMs)` until it resolves; rethrows fatal errors and abort reasons as they are. */
export async function poll<T>(attempt: (remainingMs: number) => Promise<T>, opts: PollOptions): Promise<T> {
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.timeoutMs;
  let delay = opts.initialDelayMs ?? 50;
  const maxDelay = opts.maxDelayMs ?? 500;
  let attempts = 0;
  let lastErr: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    const remaining = deadline - now();
    // A last attempt with a few ms left would only replace a useful cause with "deadline exceeded".
    if (attempts > 0 && remaining < MIN_ATTEMPT_MS) throw new PollTimeoutError(attempts, lastErr);
    attempts++;
    try {
      return await attempt(Math.max(1, remaining));
    } catch (err) {
      opts.signal?.throwIfAborted();
      if (opts.isFatal?.(err)) throw err;
      lastErr = err;
      const left = deadline - now();
      if (left <= 0) throw new PollTimeoutError(attempts, err);
      await (opts.pause ?? sleep)(Math.min(delay, left), opts.signal);
      opts.signal?.throwIfAborted();
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}

const MIN_ATTEMPT_MS = 10;

/** Resolve after `ms`, or reject with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
