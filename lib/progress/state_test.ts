import assert from "node:assert/strict";
import { log, msg, status, T0, vertex, warning } from "../../tests/helpers/status.ts";
import { LOG_TAIL, mergeIntervals, ProgressState } from "./state.ts";

Deno.test("steps are numbered when they start, not when BuildKit first announces them", () => {
  const st = new ProgressState();
  st.apply(
    msg({ vertexes: [vertex("c", "[3/3] RUN c"), vertex("b", "[2/3] RUN b"), vertex("a", "[1/3] FROM a")] }),
  );
  assert.equal(st.steps.length, 0);
  assert.deepEqual(st.counts(), { total: 3, completed: 0 });
  st.apply(msg({ vertexes: [vertex("a", "[1/3] FROM a", { started: 0, completed: 5, cached: true })] }));
  st.apply(msg({ vertexes: [vertex("b", "[2/3] RUN b", { started: 6 })] }));
  assert.deepEqual(st.steps.map((s) => `${s.number} ${s.name}`), ["1 [1/3] FROM a", "2 [2/3] RUN b"]);
  assert.deepEqual(st.counts(), { total: 3, completed: 1 });
});

Deno.test("a vertex resent without times keeps what is known; a restart adds an interval", () => {
  const st = new ProgressState();
  st.apply(
    msg({
      vertexes: [vertex("a", "load", { started: 0, completed: 10 }), vertex("a", "load", { started: 20 })],
    }),
  );
  const [a] = st.steps;
  assert.equal(a.running, true);
  st.apply(msg({ vertexes: [vertex("a", "load")] }));
  assert.equal(a.running, true, "a bare re-announcement must not reset the step");
  const events = st.apply(msg({ vertexes: [vertex("a", "load", { started: 20, completed: 50 })] }));
  assert.deepEqual(events.map((e) => e.kind), ["complete"]);
  assert.deepEqual(a.intervals, [{ start: T0, end: T0 + 10 }, { start: T0 + 20, end: T0 + 50 }]);
  assert.equal(a.durationMs(), 40);
  assert.equal(a.lastStart, T0 + 20);
});

Deno.test("mergeIntervals() joins overlaps and lets a running interval swallow later ones", () => {
  assert.deepEqual(mergeIntervals([{ start: 5, end: 9 }, { start: 0, end: 6 }, { start: 10, end: 12 }]), [
    { start: 0, end: 9 },
    { start: 10, end: 12 },
  ]);
  assert.deepEqual(mergeIntervals([{ start: 0, end: 3 }, { start: 2 }, { start: 8, end: 9 }]), [{
    start: 0,
    end: undefined,
  }]);
});

Deno.test("a progress group is one step, hidden until a non-weak member starts", () => {
  const st = new ProgressState();
  const g = { id: "g1", name: "[2/3] COPY --link a /a" };
  st.apply(
    msg({
      vertexes: [
        vertex("copy", "[2/3] COPY --link a /a", { started: 0, completed: 4, group: { ...g, weak: true } }),
      ],
    }),
  );
  assert.equal(st.steps.length, 0, "only a weak member ran");
  assert.deepEqual(st.counts(), { total: 0, completed: 0 });
  const events = st.apply(msg({
    vertexes: [vertex("link", "[2/3] LINK COPY --link a /a", { started: 5, group: g })],
    statuses: [status("link", "merging", { ts: 6, started: 5 })],
  }));
  assert.deepEqual(events.map((e) => e.kind), ["start", "status"]);
  assert.equal(st.steps[0].name, "[2/3] COPY --link a /a");
  st.apply(
    msg({
      vertexes: [vertex("link", "[2/3] LINK COPY --link a /a", { started: 5, completed: 9, group: g })],
    }),
  );
  assert.equal(st.steps[0].completed, true);
  assert.equal(st.steps[0].durationMs(), 8, "both members' time, once each");
  assert.equal(st.steps[0].cached, false);
});

Deno.test("log lines are split on newlines across messages and UTF-8 split mid-character", () => {
  const st = new ProgressState();
  st.apply(msg({ vertexes: [vertex("r", "RUN", { started: 1000 })] }));
  const bytes = new TextEncoder().encode("héllo\n");
  const lines: string[] = [];
  const collect = (events: ReturnType<ProgressState["apply"]>) => {
    for (const e of events) if (e.kind === "log") lines.push(`${e.line.at} ${e.line.text}`);
  };
  collect(st.apply(msg({ logs: [log("r", 1250, "one\ntw")] })));
  collect(st.apply(msg({ logs: [log("r", 1500, "o\n"), log("r", 1600, bytes.slice(0, 2), 2)] })));
  collect(st.apply(msg({ logs: [log("r", 1700, bytes.slice(2), 2), log("r", 1800, "no newline")] })));
  assert.deepEqual(lines, ["0.25 one", "0.25 two", "0.6 héllo"]);
  collect(st.finish());
  assert.deepEqual(lines.at(-1), "0.8 no newline");
});

Deno.test("each step keeps the last LOG_TAIL lines; logs of unknown vertices are ignored", () => {
  const st = new ProgressState();
  st.apply(msg({ vertexes: [vertex("r", "RUN", { started: 0 })] }));
  const text = Array.from({ length: LOG_TAIL + 3 }, (_, i) => `line ${i}\n`).join("");
  st.apply(msg({ logs: [log("r", 1, text), log("nope", 1, "x\n")] }));
  assert.equal(st.steps[0].logs.length, LOG_TAIL);
  assert.equal(st.steps[0].logs[0].text, "line 3");
});

Deno.test("warnings are kept in order, with their step when BuildKit named a known vertex", () => {
  const st = new ProgressState();
  st.apply(
    msg({
      vertexes: [
        vertex("d", "[internal] load build definition from Dockerfile", { started: 0, completed: 1 }),
      ],
    }),
  );
  const events = st.apply(msg({
    warnings: [
      warning("d", "JSONArgsRecommended: ... (line 3)", {
        source: "FROM a\nRUN b\nCMD c\n",
        lines: [[3, 3]],
      }),
      warning("unknown", "Other"),
    ],
  }));
  assert.deepEqual(events.map((e) => e.kind), ["warning"]);
  assert.deepEqual(st.warnings.map((w) => [w.short, w.step?.number]), [[
    "JSONArgsRecommended: ... (line 3)",
    1,
  ], ["Other", undefined]]);
  assert.equal(st.warnings[0].ranges[0].start?.line, 3);
});

Deno.test("summary() counts shown steps, cached ones and real errors (not cancellations)", () => {
  const st = new ProgressState();
  st.apply(msg({
    vertexes: [
      vertex("a", "FROM", { started: 0, completed: 100, cached: true }),
      vertex("b", "RUN ok", { started: 100, completed: 1100 }),
      vertex("c", "RUN bad", { started: 1100, completed: 2100, error: "exit code: 1" }),
      vertex("d", "RUN other", { started: 1100, completed: 2150, error: "canceled: context canceled" }),
      vertex("e", "never started"),
    ],
    warnings: [warning("a", "W")],
  }));
  assert.deepEqual(st.summary(), { steps: 4, cached: 1, errors: 1, warnings: 1, durationMs: 2150 });
  assert.equal(st.steps[3].canceled, true);
});
