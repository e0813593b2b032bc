import assert from "node:assert/strict";
import { poll, PollTimeoutError } from "./poll.ts";

Deno.test("poll() retries with a growing pause and returns the first success", async () => {
  const pauses: number[] = [];
  let n = 0;
  const v = await poll(() => (++n < 6 ? Promise.reject(new Error(`try ${n}`)) : Promise.resolve("up")), {
    timeoutMs: 10_000,
    pause: (ms) => (pauses.push(ms), Promise.resolve()),
  });
  assert.equal(v, "up");
  assert.deepEqual(pauses, [50, 100, 200, 400, 500]);
});

Deno.test("poll() gives each attempt the remaining time and times out with the last cause", async () => {
  let now = 0;
  const budgets: number[] = [];
  const err = await poll((remaining) => {
    budgets.push(remaining);
    now += 100;
    return Promise.reject(new Error(`at ${now}`));
  }, { timeoutMs: 450, now: () => now, pause: (ms) => ((now += ms), Promise.resolve()) }).catch((e) => e);
  assert.ok(err instanceof PollTimeoutError);
  assert.equal((err.cause as Error).message, "at 450");
  assert.deepEqual(budgets, [450, 300, 100]);
});

Deno.test("poll() rethrows fatal errors at once", async () => {
  let n = 0;
  const fatal = new Error("bad cert");
  await assert.rejects(
    poll(() => (n++, Promise.reject(fatal)), { timeoutMs: 1000, isFatal: (e) => e === fatal }),
    (e) => e === fatal,
  );
  assert.equal(n, 1);
});

Deno.test("poll() stops sleeping when aborted", async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("stop")), 30);
  const t0 = Date.now();
  await assert.rejects(
    poll(() => Promise.reject(new Error("down")), {
      timeoutMs: 5000,
      signal: ac.signal,
      initialDelayMs: 1000,
    }),
    {
      message: "stop",
    },
  );
  assert.ok(Date.now() - t0 < 500);
});
