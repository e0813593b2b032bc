/** Line-oriented progress for logs and pipes, in the shape of `buildx --progress=plain`. */
import type { StatusResponse } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import { type EpilogueOptions, formatAmount, formatEpilogue, formatLogLine } from "./format.ts";
import { type ProgressEvent, ProgressState, type Step, type StepStatus } from "./state.ts";

/** Where progress text goes. */
export interface TextOut {
  write(s: string): void;
}

// Like buildx: an unfinished counter is printed again only after 5% more progress or 5 s more time.
const MIN_PROGRESS = 0.05;
const MIN_TIME_MS = 5000;

/** Options of the plain view. */
export interface PlainOptions extends EpilogueOptions {
  /** When the build started (ms, local clock): the summary counts wall time from here, not from the steps. */
  startedAt?: number;
  /** The local clock, for tests. Default Date.now. */
  now?: () => number;
}

/** Prints `#N name`, its counters, log lines and `#N DONE 0.3s`; the warnings and a summary at the end. */
export class PlainRenderer {
  readonly state: ProgressState;
  readonly #out: TextOut;
  readonly #opts: PlainOptions;
  /** The step the last lines were about; switching away from a running one prints `#N ...`. */
  #current?: Step;
  #printed = false;
  /** Steps that finished in the last update, printed with the next one. */
  #held = new Set<Step>();
  readonly #lastStatus = new Map<string, { current: number; timestamp: number }>();

  constructor(out: TextOut, state = new ProgressState(), opts: PlainOptions = {}) {
    this.#out = out;
    this.state = state;
    this.#opts = opts;
  }

  /** Merge one StatusResponse and print what it changed. */
  update(s: StatusResponse): void {
    const events = this.state.apply(s);
    // A finished step is printed with the next update: BuildKit often completes a vertex and at once starts it
    // again (cache check, then the real work), which buildx's 100 ms redraw hides too. One that restarted
    // meanwhile is simply not finished yet.
    const fresh = new Set(events.filter((e) => e.kind === "complete").map((e) => e.step));
    const released = [...this.#held].filter((step) => !step.running && !fresh.has(step));
    this.#held = fresh;
    this.#print(events, released);
  }

  /** Flush unfinished lines, then print failed steps' logs, the warnings and a one-line summary. */
  done(err?: unknown): void {
    const released = [...this.#held];
    this.#held = new Set();
    this.#print(this.state.finish(), released);
    let out = formatEpilogue(this.state, this.#opts);
    const s = this.state.summary();
    // A daemon that dies mid-step never completes it: the steps alone would undercount.
    const wall = this.#opts.startedAt === undefined
      ? 0
      : (this.#opts.now ?? Date.now)() - this.#opts.startedAt;
    const time = (Math.max(s.durationMs, wall) / 1000).toFixed(1);
    const counts = `${s.steps} ${s.steps === 1 ? "step" : "steps"}, ${s.cached} cached` +
      (s.errors ? `, ${s.errors} ${s.errors === 1 ? "error" : "errors"}` : "");
    if (this.#printed || out) out += "\n";
    out += err || s.errors ? `Failed after ${time}s: ${counts}\n` : `Finished in ${time}s: ${counts}\n`;
    this.#out.write(out);
  }

  #print(all: ProgressEvent[], released: Step[]): void {
    // Filter first: a step whose only news is a throttled counter must not take the screen.
    const events = all.filter((e) =>
      e.kind === "log" || e.kind === "warning" ||
      (e.kind === "status" && this.#shouldPrint(e.step, e.status)) || (e.kind === "start" && e.step.running)
    );
    // Finished steps first, then the one already on screen, then the rest as they came: lines of one step
    // stay together as far as the stream allows.
    const bySteps = new Map<Step, ProgressEvent[]>(released.map((step) => [step, []]));
    for (const e of events) bySteps.set(e.step, [...(bySteps.get(e.step) ?? []), e]);
    const rank = (step: Step) => (this.#finished(step) ? 0 : 2) + (step === this.#current ? 0 : 1);
    const order = [...bySteps.keys()].sort((a, b) => rank(a) - rank(b));
    let out = "";
    for (const step of order) out += this.#printStep(step, bySteps.get(step)!);
    if (out) this.#out.write(out);
  }

  /** Done, and not waiting for the next update to say so. */
  #finished(step: Step): boolean {
    return step.completed && !this.#held.has(step);
  }

  #printStep(step: Step, events: ProgressEvent[]): string {
    let out = "";
    if (step !== this.#current) {
      if (this.#current) out += `#${this.#current.number} ...\n`;
      if (this.#printed) out += "\n";
      out += `#${step.number} ${step.name}\n`;
      this.#current = step;
      this.#printed = true;
    }
    const n = `#${step.number}`;
    for (const e of events) {
      if (e.kind === "warning") out += `${n} WARN: ${e.warning.short}\n`;
      else if (e.kind === "status") out += `${n} ${statusLine(e.status)}\n`;
      else if (e.kind === "log") out += `${n} ${formatLogLine(e.line)}\n`;
    }
    // Like buildx, a finished step's result is repeated whenever it is shown (a late warning, say).
    if (this.#finished(step)) {
      if (step.canceled) out += `${n} CANCELED\n`;
      else if (step.error) out += `${n} ERROR: ${step.error}\n`;
      else if (step.cached) out += `${n} CACHED\n`;
      else out += `${n} DONE ${(step.durationMs() / 1000).toFixed(1)}s\n`;
      this.#current = undefined;
    }
    return out;
  }

  #shouldPrint(step: Step, s: StepStatus): boolean {
    const key = `${step.key}\0${s.id}`;
    // Before the first print, measure from the counter's start: a quick transfer shows only its `done` line.
    const last = this.#lastStatus.get(key) ?? { current: 0, timestamp: s.started ?? s.timestamp };
    if (s.completed === undefined) {
      const progress = s.total > 0 ? (s.current - last.current) / s.total : 0;
      if (progress < MIN_PROGRESS && s.timestamp - last.timestamp < MIN_TIME_MS) return false;
    }
    this.#lastStatus.set(key, { current: s.current, timestamp: s.timestamp });
    return true;
  }
}

/** `sha256:… 1.20MB / 5.00MB 0.3s done`, as buildx prints a counter. */
function statusLine(s: StepStatus): string {
  let line = s.id;
  const amount = formatAmount(s.current, s.total);
  if (amount) line += ` ${amount}`;
  if (s.started !== undefined) {
    const secs = ((s.completed ?? s.timestamp) - s.started) / 1000;
    if (secs > 0.01) line += ` ${secs.toFixed(1)}s`;
  }
  return s.completed !== undefined ? `${line} done` : line;
}
