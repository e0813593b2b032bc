/**
 * The build as BuildKit's Status stream has described it so far. The stream is incremental: a vertex is resent
 * with updated fields, so everything is merged by digest. All times are ms since the epoch on the daemon's clock.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { StatusResponse, Vertex } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import type { Range, SourceInfo } from "../buildkit/gen/pb/ops_pb.ts";

/** Finished log lines kept per step: enough for the error summary and the live view. */
export const LOG_TAIL = 10;

/** A span of time a step ran; `end` is missing while it runs. */
export interface Interval {
  start: number;
  end?: number;
}

/** One progress counter of a step (a transfer, a layer download), keyed by its id. */
export interface StepStatus {
  id: string;
  name: string;
  current: number;
  total: number;
  timestamp: number;
  started?: number;
  completed?: number;
}

/** A log line; `at` is seconds since the step last started, as buildx prints it. */
export interface LogLine {
  at: number;
  text: string;
}

/** A warning from the frontend (e.g. a Dockerfile lint rule), with the source lines it points at. */
export interface Warning {
  /** The step it was reported on; missing if the vertex was never announced. */
  step?: Step;
  level: number;
  short: string;
  detail: string[];
  url: string;
  source?: SourceInfo;
  ranges: Range[];
}

/** What changed in one update, in an order a line printer can follow. */
export type ProgressEvent =
  | { kind: "start"; step: Step }
  | { kind: "status"; step: Step; status: StepStatus }
  | { kind: "log"; step: Step; line: LogLine }
  | { kind: "warning"; step: Step; warning: Warning }
  | { kind: "complete"; step: Step };

/** Counts for the CLI's last word on a build. */
export interface BuildSummary {
  /** Steps shown (vertices that started, progress groups counted once). */
  steps: number;
  cached: number;
  /** Steps that failed, not counting ones canceled because another failed. */
  errors: number;
  warnings: number;
  /** From the first step's start to the last step's end, on the daemon's clock. */
  durationMs: number;
}

interface Member {
  /** start -> end, so a resent interval overwrites itself. */
  intervals: Map<number, number | undefined>;
  cached: boolean;
  error: string;
  weak: boolean;
}

/** A line of the progress display: one vertex, or a progress group of several merged into one. */
export class Step {
  /** #N: given when the step is first shown, so numbers follow what the user sees. */
  number = 0;
  name: string;
  intervals: Interval[] = [];
  cached = false;
  error = "";
  /** A progress group stays hidden until one of its non-weak members starts (as buildx does). */
  hidden = false;
  readonly statuses = new Map<string, StepStatus>();
  readonly logs: LogLine[] = [];
  /** The unfinished last line of output; BuildKit splits lines across messages. */
  partial?: LogLine;
  readonly warnings: Warning[] = [];
  /** One per vertex digest; a plain vertex has exactly one. */
  readonly members = new Map<string, Member>();
  /** Log bytes may split a UTF-8 character across messages. */
  readonly decoder = new TextDecoder();

  constructor(readonly key: string, name: string, readonly group: boolean) {
    this.name = name;
  }

  get started(): boolean {
    return this.intervals.length > 0;
  }

  get running(): boolean {
    return this.intervals.some((i) => i.end === undefined);
  }

  get completed(): boolean {
    return this.started && !this.running;
  }

  /** BuildKit cancels the other steps when one fails; they report this error. */
  get canceled(): boolean {
    return this.error.endsWith("context canceled");
  }

  /** Start of the latest run: log times are relative to it. */
  get lastStart(): number | undefined {
    return this.intervals.at(-1)?.start;
  }

  /** Time spent running in ms (overlapping runs counted once); a running interval ends at `now`. */
  durationMs(now?: number): number {
    let sum = 0;
    for (const i of this.intervals) sum += Math.max(0, (i.end ?? now ?? i.start) - i.start);
    return sum;
  }

  /** Recompute the merged view from the members. */
  refresh(): void {
    const all: Interval[] = [];
    for (const m of this.members.values()) for (const [start, end] of m.intervals) all.push({ start, end });
    this.intervals = mergeIntervals(all);
    const members = [...this.members.values()];
    this.cached = members.length > 0 && members.every((m) => m.cached);
    this.error = members.find((m) => m.error)?.error ?? "";
    this.hidden = this.group && !this.error && !members.some((m) => !m.weak && m.intervals.size > 0);
  }
}

/** Merge overlapping intervals; an open one swallows everything after its start. */
export function mergeIntervals(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const next of sorted) {
    const cur = out.at(-1);
    if (!cur || (cur.end !== undefined && cur.end < next.start)) {
      out.push({ ...next });
    } else if (cur.end !== undefined) {
      cur.end = next.end === undefined ? undefined : Math.max(cur.end, next.end);
    }
  }
  return out;
}

/** A protobuf Timestamp as ms since the epoch (sub-ms precision kept), or undefined when unset. */
export function toMs(ts: Timestamp | undefined): number | undefined {
  return ts ? Number(ts.seconds) * 1000 + ts.nanos / 1e6 : undefined;
}

/** The merged model of one build's Status stream; apply() each StatusResponse in order. */
export class ProgressState {
  /** Shown steps, in order of their numbers. */
  readonly steps: Step[] = [];
  /** Every warning, in the order received. */
  readonly warnings: Warning[] = [];
  readonly #byKey = new Map<string, Step>();
  readonly #byDigest = new Map<string, Step>();

  /** Merge one update; returns what a line printer should print, grouped into a sensible order. */
  apply(s: StatusResponse): ProgressEvent[] {
    const starts: ProgressEvent[] = [];
    const middle: ProgressEvent[] = [];
    const before = new Map<Step, { sig: string; started: boolean; completed: boolean; hidden: boolean }>();

    for (const v of s.vertexes) {
      const step = this.#stepFor(v);
      if (!before.has(step)) {
        before.set(step, {
          sig: signature(step),
          started: step.started,
          completed: step.completed,
          hidden: step.hidden,
        });
      }
      mergeVertex(step, v);
    }
    for (const [step, was] of before) {
      if (signature(step) === was.sig || step.hidden || !step.started) continue;
      if (!was.started || was.completed || was.hidden) starts.push({ kind: "start", step: this.#show(step) });
    }

    for (const st of s.statuses) {
      const step = this.#byDigest.get(st.vertex);
      if (!step) continue;
      const status: StepStatus = {
        id: st.id,
        name: st.name,
        current: Number(st.current),
        total: Number(st.total),
        timestamp: toMs(st.timestamp) ?? 0,
        started: toMs(st.started),
        completed: toMs(st.completed),
      };
      step.statuses.set(st.id, status);
      if (!step.hidden) middle.push({ kind: "status", step: this.#show(step), status });
    }

    for (const w of s.warnings) {
      const step = this.#byDigest.get(w.vertex);
      const warning: Warning = {
        step,
        level: Number(w.level),
        short: new TextDecoder().decode(w.short),
        detail: w.detail.map((d) => new TextDecoder().decode(d)),
        url: w.url,
        source: w.info,
        ranges: w.ranges,
      };
      this.warnings.push(warning);
      if (!step) continue;
      step.warnings.push(warning);
      if (!step.hidden) middle.push({ kind: "warning", step: this.#show(step), warning });
    }

    for (const l of s.logs) {
      const step = this.#byDigest.get(l.vertex);
      if (!step) continue;
      const start = step.lastStart;
      // Clamped: a line stamped just before a restart must not read as negative time.
      const at = start === undefined ? 0 : Math.max(0, (toMs(l.timestamp) ?? start) - start) / 1000;
      const pieces = step.decoder.decode(l.msg, { stream: true }).split("\n");
      const rest = pieces.pop()!;
      for (const piece of pieces) {
        const line = step.partial
          ? { at: step.partial.at, text: step.partial.text + piece }
          : { at, text: piece };
        step.partial = undefined;
        this.#addLine(step, line, middle);
      }
      if (rest) {
        step.partial = step.partial
          ? { at: step.partial.at, text: step.partial.text + rest }
          : { at, text: rest };
      }
    }

    const ends: ProgressEvent[] = [];
    for (const [step, was] of before) {
      if (signature(step) === was.sig || step.hidden || !step.completed) continue;
      this.#flush(step, ends);
      ends.push({ kind: "complete", step: this.#show(step) });
    }
    return [...starts, ...middle, ...ends];
  }

  /** At the end of the stream: print what is left of unfinished lines. */
  finish(): ProgressEvent[] {
    const events: ProgressEvent[] = [];
    for (const step of this.#byKey.values()) this.#flush(step, events);
    return events;
  }

  /** Steps BuildKit announced, hidden groups aside, and how many of them finished: the (5/7) of the live view. */
  counts(): { total: number; completed: number } {
    let total = 0, completed = 0;
    for (const step of this.#byKey.values()) {
      if (step.hidden) continue;
      total++;
      if (step.completed) completed++;
    }
    return { total, completed };
  }

  /** Counts for the CLI: steps, cached, errors, warnings, duration. */
  summary(): BuildSummary {
    let first = Infinity, last = -Infinity;
    for (const step of this.steps) {
      for (const i of step.intervals) {
        first = Math.min(first, i.start);
        last = Math.max(last, i.end ?? i.start);
      }
    }
    return {
      steps: this.steps.length,
      cached: this.steps.filter((s) => s.completed && s.cached && !s.error).length,
      errors: this.steps.filter((s) => s.error && !s.canceled).length,
      warnings: this.warnings.length,
      durationMs: first <= last ? last - first : 0,
    };
  }

  /** When the first shown step started: the live view's clock starts there. */
  get firstStart(): number | undefined {
    let min: number | undefined;
    for (const step of this.steps) {
      const s = step.intervals[0]?.start;
      if (s !== undefined && (min === undefined || s < min)) min = s;
    }
    return min;
  }

  #stepFor(v: Vertex): Step {
    let step = this.#byDigest.get(v.digest);
    if (step) return step;
    const group = v.progressGroup?.id ? v.progressGroup : undefined;
    const key = group ? `group:${group.id}` : v.digest;
    step = this.#byKey.get(key);
    if (!step) {
      step = new Step(key, group ? group.name : v.name, !!group);
      this.#byKey.set(key, step);
    }
    this.#byDigest.set(v.digest, step);
    return step;
  }

  #show(step: Step): Step {
    if (step.number === 0) {
      this.steps.push(step);
      step.number = this.steps.length;
    }
    return step;
  }

  #addLine(step: Step, line: LogLine, events: ProgressEvent[]): void {
    step.logs.push(line);
    if (step.logs.length > LOG_TAIL) step.logs.shift();
    if (!step.hidden) events.push({ kind: "log", step: this.#show(step), line });
  }

  #flush(step: Step, events: ProgressEvent[]): void {
    const tail = step.decoder.decode();
    if (tail) step.partial = { at: step.partial?.at ?? 0, text: (step.partial?.text ?? "") + tail };
    if (!step.partial) return;
    const line = step.partial;
    step.partial = undefined;
    this.#addLine(step, line, events);
  }
}

function mergeVertex(step: Step, v: Vertex): void {
  let m = step.members.get(v.digest);
  if (!m) {
    m = { intervals: new Map(), cached: false, error: "", weak: !!v.progressGroup?.weak };
    step.members.set(v.digest, m);
  }
  const started = toMs(v.started);
  // A vertex is announced again without times while it runs; that must not undo what we know.
  if (started === undefined && m.intervals.size > 0) return;
  if (started !== undefined) m.intervals.set(started, toMs(v.completed));
  m.cached = v.cached;
  m.error = v.error;
  if (!step.group && v.name) step.name = v.name;
  step.refresh();
}

/** What makes a step worth printing again: its runs, cached flag and error. */
function signature(step: Step): string {
  return JSON.stringify([step.intervals, step.cached, step.error, step.hidden]);
}
