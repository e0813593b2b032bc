import assert from "node:assert/strict";
import type { StatusResponse } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import { log, msg, status, T0, vertex, warning } from "../../tests/helpers/status.ts";
import { ProgressState } from "./state.ts";
import { renderFrame, TtyRenderer } from "./tty.ts";

const FROM = "sha256:f", RUN = "sha256:r", COPY = "sha256:c";

const BUILD: StatusResponse[] = [
  msg({
    vertexes: [
      vertex(FROM, "[1/3] FROM docker.io/library/alpine:3.20", { started: 0 }),
      vertex(RUN, "[2/3] RUN make", { inputs: [FROM] }),
      vertex(COPY, "[3/3] COPY --from=build /out /out", { inputs: [RUN] }),
    ],
    statuses: [status(FROM, "sha256:layer", { ts: 300, started: 0, current: 1_200_000, total: 5_000_000 })],
  }),
  msg({
    vertexes: [vertex(FROM, "[1/3] FROM docker.io/library/alpine:3.20", { started: 0, completed: 1200 })],
    statuses: [
      status(FROM, "sha256:layer", {
        ts: 1100,
        started: 0,
        completed: 1100,
        current: 5_000_000,
        total: 5_000_000,
      }),
    ],
  }),
  msg({ vertexes: [vertex(RUN, "[2/3] RUN make", { started: 1200 })] }),
  msg({
    logs: [log(RUN, 1300, "cc -c a.c\ncc -c b.c\n\x1b[31mred\x1b[0m\tdone\nprogress 10%\rprogress 90%\r\n")],
  }),
  msg({ vertexes: [vertex(RUN, "[2/3] RUN make", { started: 1200, completed: 2500 })] }),
  msg({
    vertexes: [
      vertex(COPY, "[3/3] COPY --from=build /out /out", { started: 2500, completed: 2510, cached: true }),
    ],
  }),
];

/** When each BUILD message arrives, in ms of local clock after the first. */
const ARRIVALS = [0, 1200, 1200, 1400, 2500, 2510];

/** Feed `messages` (arriving at `arrivals`, else every 100 ms), redrawing on each; returns every frame as written. */
function run(
  messages: StatusResponse[],
  o: { columns?: number; rows?: number; color?: boolean; err?: Error; arrivals?: number[] } = {},
) {
  let out = "";
  const L0 = 50_000;
  let now = L0;
  const r = new TtyRenderer({ write: (s) => out += s, columns: o.columns ?? 80, rows: o.rows }, undefined, {
    intervalMs: 0,
    now: () => now,
    color: o.color ?? false,
  });
  messages.forEach((m, i) => {
    now = L0 + (o.arrivals?.[i] ?? i * 100);
    r.update(m);
  });
  now += 90;
  r.done(o.err);
  // Each frame starts by hiding the cursor; anything after the last frame's end is the epilogue.
  const frames = out.split("\x1b[?25l").slice(1);
  const last = frames.at(-1)!;
  const end = last.indexOf("\x1b[?25h") + "\x1b[?25h".length;
  return { out, frames: [...frames.slice(0, -1), last.slice(0, end)], epilogue: last.slice(end) };
}

/** A step line as laid out in `columns`: the text, padding, the time in the last columns but one. */
function line(text: string, time: string, columns = 80): string {
  return text.padEnd(columns - 1 - time.length) + time;
}

/** A frame's lines as seen on screen: control sequences dropped. */
function screen(frame: string): string[] {
  // deno-lint-ignore no-control-regex
  return frame.replace(/\x1b\[\d*A\r|\x1b\[K|\x1b\[J|\x1b\[\?25h|\x1b\[[0-9;]*m/g, "").split("\n").slice(
    0,
    -1,
  );
}

Deno.test("tty: the final frame lists every step buildx-style with times on the right", () => {
  const { frames, epilogue } = run(BUILD, { arrivals: ARRIVALS });
  assert.deepEqual(screen(frames.at(-1)!), [
    "[+] Building 2.6s (3/3) FINISHED",
    line(" => [1/3] FROM docker.io/library/alpine:3.20", "1.2s"),
    line(" => => sha256:layer 5.00MB / 5.00MB", "1.1s"),
    line(" => [2/3] RUN make", "1.3s"),
    line(" => CACHED [3/3] COPY --from=build /out /out", "0.0s"),
  ]);
  assert.equal(epilogue, "");
});

Deno.test("tty: each frame moves up exactly the previous frame's line count, and clears leftovers", () => {
  const { frames } = run(BUILD);
  assert.equal(frames.length, BUILD.length + 1);
  assert.ok(!frames[0].includes("A\r"), "the first frame starts where the cursor is");
  for (let i = 1; i < frames.length; i++) {
    const previous = screen(frames[i - 1]).length;
    assert.ok(frames[i].startsWith(`\x1b[${previous}A\r`), `frame ${i} goes up ${previous} lines`);
    if (screen(frames[i]).length < previous) {
      assert.ok(frames[i].includes("\x1b[J"), `frame ${i} clears below`);
    }
  }
});

Deno.test("tty: a running step shows its last log lines, cleaned of control characters, until it finishes", () => {
  const { frames } = run(BUILD, { arrivals: ARRIVALS });
  assert.deepEqual(screen(frames[1]).slice(1, 3), [
    line(" => [1/3] FROM docker.io/library/alpine:3.20", "1.2s"),
    line(" => => sha256:layer 5.00MB / 5.00MB", "1.1s"),
  ]);
  assert.deepEqual(screen(frames[3]).slice(-5), [
    line(" => [2/3] RUN make", "0.2s"),
    " => => # cc -c a.c",
    " => => # cc -c b.c",
    " => => # red done",
    " => => # progress 90%",
  ]);
  assert.ok(!screen(frames[4]).some((l) => l.includes("# cc")), "logs go when the step is done");
  assert.equal(screen(frames[3])[0], "[+] Building 1.4s (1/3)");
});

Deno.test("tty: lines are cut to the terminal width, keeping the time on the right", () => {
  for (const columns of [40, 24, 8]) {
    const { frames } = run(BUILD, { columns });
    for (const frame of frames) {
      for (const line of screen(frame)) {
        assert.ok(line.length <= columns - 1, `${JSON.stringify(line)} fits ${columns}`);
      }
    }
  }
  const { frames } = run(BUILD, { columns: 40 });
  assert.equal(screen(frames.at(-1)!)[1], " => [1/3] FROM docker.io/library/a 1.2s");
});

Deno.test("tty: a live frame fits the terminal height by dropping finished steps first; the final one shows all", () => {
  const many = Array.from(
    { length: 12 },
    (_, i) => vertex(`sha256:${i}`, `step ${i}`, { started: i, completed: i + 1 }),
  );
  const { frames } = run([
    msg({ vertexes: many }),
    msg({ vertexes: [vertex(RUN, "running", { started: 20 })] }),
  ], { rows: 6 });
  assert.deepEqual(screen(frames[1]), [
    "[+] Building 0.1s (12/13)",
    line(" => step 9", "0.0s"),
    line(" => step 10", "0.0s"),
    line(" => step 11", "0.0s"),
    line(" => running", "0.1s"),
  ]);
  assert.equal(screen(frames.at(-1)!).length, 14);
});

Deno.test("tty: colors for finished, failed and canceled steps; the failure's logs and warnings follow the frame", () => {
  const { frames, epilogue } = run([
    msg({
      vertexes: [
        vertex(FROM, "FROM a", { started: 0, completed: 10 }),
        vertex(RUN, "RUN bad", { started: 10 }),
        vertex(COPY, "RUN other", { started: 10 }),
      ],
    }),
    msg({ logs: [log(RUN, 20, "oops\n")], warnings: [warning(FROM, "JSONArgsRecommended (line 3)")] }),
    msg({
      vertexes: [
        vertex(RUN, "RUN bad", { started: 10, completed: 90, error: "exit code: 1" }),
        vertex(COPY, "RUN other", { started: 10, completed: 95, error: "context canceled" }),
      ],
    }),
  ], { color: true, err: new Error("failed") });
  const last = frames.at(-1)!;
  assert.ok(last.includes("\x1b[34m => FROM a"), "finished: blue");
  assert.ok(last.includes("\x1b[31m => ERROR RUN bad"), "failed: red");
  assert.ok(last.includes("\x1b[33m => CANCELED RUN other"), "canceled: yellow");
  assert.ok(last.includes("\x1b[33m => WARN: JSONArgsRecommended (line 3)"));
  assert.ok(screen(last)[0].endsWith("(3/3)"), "no FINISHED on failure");
  assert.equal(
    epilogue,
    "------\n > RUN bad:\n0.010 oops\n------\n\n \x1b[33m1 warning found (use --debug to expand):\x1b[0m\n" +
      " - JSONArgsRecommended (line 3)\n",
  );
});

Deno.test("tty: redraws at most once per interval and stops at done()", async () => {
  let writes = 0;
  const r = new TtyRenderer({ write: () => writes++, columns: 80 }, undefined, { intervalMs: 20 });
  for (let i = 0; i < 50; i++) r.update(msg({ vertexes: [vertex(`d${i}`, `v${i}`, { started: i })] }));
  assert.equal(writes, 1, "one immediate frame, the rest wait for the timer");
  await new Promise((ok) => setTimeout(ok, 70));
  assert.ok(writes >= 2 && writes <= 5, `${writes} frames in 70 ms`);
  r.done();
  const after = writes;
  await new Promise((ok) => setTimeout(ok, 50));
  assert.equal(writes, after);
});

Deno.test("renderFrame() times running steps against the daemon's clock", () => {
  const st = new ProgressState();
  st.apply(msg({ vertexes: [vertex(RUN, "RUN sleep", { started: 0 })] }));
  const lines = renderFrame(st, { columns: 30, now: T0 + 2345, elapsedMs: 2345, final: false, color: false });
  assert.deepEqual(lines, ["[+] Building 2.3s (0/1)", line(" => RUN sleep", "2.3s", 30)]);
});
