/**
 * The live view for a terminal, in the shape of buildx's: a `[+] Building 3.2s (5/7)` header, one ` => ` line per
 * step with its time on the right, counters and the last log lines of running steps, redrawn in place.
 */
import type { StatusResponse } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import { type EpilogueOptions, formatAmount, formatEpilogue } from "./format.ts";
import type { TextOut } from "./plain.ts";
import { ProgressState, type Step } from "./state.ts";

/** A terminal: read on every frame, so getters follow resizes. */
export interface TtyOut extends TextOut {
  columns?: number;
  rows?: number;
}

/** Options of {@link TtyRenderer}. */
export interface TtyOptions extends EpilogueOptions {
  /** ANSI colors (off for NO_COLOR). Default true. */
  color?: boolean;
  /** Redraw period in ms; 0 redraws on every update instead (for tests). Default 100. */
  intervalMs?: number;
  /** The local clock in ms. Default Date.now. */
  now?: () => number;
}

/** What one frame shows: sizes, clocks and whether it is the last. */
export interface FrameView {
  columns: number;
  /** Limits the frame so it can be redrawn in place; the final frame is never limited. */
  rows?: number;
  /** Now on the daemon's clock (running steps' times). */
  now: number;
  /** For the header. */
  elapsedMs: number;
  final: boolean;
  /** The build failed: the final header does not say FINISHED. */
  failed?: boolean;
  color: boolean;
}

/** Log lines of a running step shown under it, as buildx does. */
const LOG_LINES = 6;
const BLUE = "\x1b[34m", RED = "\x1b[31m", YELLOW = "\x1b[33m", FAINT = "\x1b[2m", RESET = "\x1b[0m";

/** Redraws the whole view in place at a bounded rate; done() leaves the final frame and the epilogue printed. */
export class TtyRenderer {
  readonly state: ProgressState;
  readonly #out: TtyOut;
  readonly #opts: TtyOptions;
  readonly #now: () => number;
  /** Lines of the frame on screen: how far up the next frame starts. */
  #lines = 0;
  #timer?: ReturnType<typeof setInterval>;
  /** Local time when the first step was seen running, and local minus daemon clock at that moment. */
  #localStart?: number;
  #skew = 0;
  #done = false;

  constructor(out: TtyOut, state = new ProgressState(), opts: TtyOptions = {}) {
    this.#out = out;
    this.state = state;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Merge one StatusResponse; the screen follows within one redraw period. */
  update(s: StatusResponse): void {
    if (this.#done) return;
    this.state.apply(s);
    const first = this.state.firstStart;
    if (this.#localStart === undefined && first !== undefined) {
      this.#localStart = this.#now();
      this.#skew = this.#localStart - first;
    }
    const interval = this.#opts.intervalMs ?? 100;
    if (interval <= 0) return this.#draw(false);
    if (this.#timer === undefined) {
      this.#draw(false);
      // Redraw even without news, so running times tick.
      this.#timer = setInterval(() => this.#draw(false), interval);
    }
  }

  /** Stop redrawing; print the final frame (every step), then failed steps' logs and the warnings. */
  done(err?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#timer);
    this.state.finish();
    this.#draw(true, !!err);
    const epilogue = formatEpilogue(this.state, {
      ...this.#opts,
      warningColor: this.#opts.color === false ? undefined : YELLOW,
    });
    if (epilogue) this.#out.write(epilogue);
  }

  #draw(final: boolean, failed = false): void {
    const now = this.#now();
    const lines = renderFrame(this.state, {
      columns: this.#out.columns || 80,
      rows: this.#out.rows,
      now: now - this.#skew,
      elapsedMs: this.#localStart === undefined ? 0 : now - this.#localStart,
      final,
      failed,
      color: this.#opts.color !== false,
    });
    // Hide the cursor, go back to the frame's first line, overwrite each line and clear what is left of the old one.
    let s = "\x1b[?25l";
    if (this.#lines > 0) s += `\x1b[${this.#lines}A\r`;
    for (const line of lines) s += `${line}\x1b[K\n`;
    if (lines.length < this.#lines) s += "\x1b[J";
    this.#out.write(s + "\x1b[?25h");
    this.#lines = lines.length;
  }
}

/** The lines of one frame (without newlines): header, then each shown step with its counters, warnings and logs. */
export function renderFrame(state: ProgressState, view: FrameView): string[] {
  // One column short of the width: a full line would leave the cursor pending a wrap on some terminals.
  const width = Math.max(view.columns - 1, 1);
  const { total, completed } = state.counts();
  const finished = view.final && !view.failed && total > 0 && completed === total &&
    !state.steps.some((s) => s.error);
  const elapsed = (view.elapsedMs / 1000).toFixed(1);
  const header = `[+] Building ${elapsed}s (${completed}/${total})` + (finished ? " FINISHED" : "");
  const paint = (line: string, color: string | false) =>
    view.color && color ? `${color}${line}${RESET}` : line;

  const blocks: { done: boolean; lines: string[]; logs: string[] }[] = [];
  for (const step of state.steps) {
    const color = step.canceled ? YELLOW : step.error ? RED : step.completed ? BLUE : false;
    const lines = [paint(row(` => ${label(step)}`, "", seconds(step.durationMs(view.now)), width), color)];
    for (const st of step.statuses.values()) {
      if (st.started === undefined) continue;
      const time = seconds((st.completed ?? Math.max(view.now, st.started)) - st.started);
      const done = st.completed !== undefined;
      lines.push(
        paint(row(` => => ${clean(st.id)}`, formatAmount(st.current, st.total), time, width), done && BLUE),
      );
    }
    for (const w of step.warnings) {
      lines.push(paint(row(` => WARN: ${clean(w.short)}`, "", "", width), YELLOW));
    }
    const logs = step.running
      ? [...step.logs, ...(step.partial ? [step.partial] : [])].slice(-LOG_LINES)
      : [];
    blocks.push({
      done: step.completed,
      lines,
      logs: logs.map((l) => paint(truncate(` => => # ${clean(lastRedraw(l.text))}`, width), FAINT)),
    });
  }

  const limit = view.final || view.rows === undefined ? Infinity : Math.max(view.rows - 2, 0);
  const size = (logs: boolean) => blocks.reduce((n, b) => n + b.lines.length + (logs ? b.logs.length : 0), 0);
  // Too tall to redraw in place: drop finished steps from the top, then log lines, then whatever is oldest.
  while (size(true) > limit && blocks.some((b) => b.done)) blocks.splice(blocks.findIndex((b) => b.done), 1);
  const logs = size(true) <= limit;
  const lines = blocks.flatMap((b) => logs ? [...b.lines, ...b.logs] : b.lines);
  return [truncate(header, width), ...lines.slice(Math.max(0, lines.length - limit))];
}

/** buildx's step label: `CACHED`, `ERROR` or `CANCELED` before the name. */
function label(step: Step): string {
  let name = clean(step.name);
  if (step.canceled) name = `CANCELED ${name}`;
  else if (step.error) name = `ERROR ${name}`;
  if (step.cached) name = `CACHED ${name}`;
  return name;
}

function seconds(ms: number): string {
  return `${(ms < 50 ? 0 : ms / 1000).toFixed(1)}s`;
}

/** `left` (then `amount`, if the name keeps 20 columns, as buildx) and `right` flush right, in `width` columns. */
function row(left: string, amount: string, right: string, width: number): string {
  const room = width - (right ? right.length + 1 : 0);
  if (room < 12) return truncate(amount ? `${left} ${amount}` : left, width);
  const text = amount && room - amount.length - 1 >= 20
    ? `${truncate(left, room - amount.length - 1)} ${amount}`
    : truncate(left, room);
  return right ? `${text}${" ".repeat(room - chars(text).length)} ${right}` : text;
}

function chars(s: string): string[] {
  return Array.from(s);
}

function truncate(s: string, width: number): string {
  const c = chars(s);
  return c.length > width ? c.slice(0, width).join("") : s;
}

/** Program output may redraw its own line with `\r` (progress bars): only its last state is shown. */
function lastRedraw(text: string): string {
  return text.replace(/\r+$/, "").split("\r").at(-1)!;
}

/** Tabs to spaces; escape sequences and other control characters out, so they cannot move our cursor. */
function clean(s: string): string {
  return s.replace(/\t/g, " ")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b[@-_]/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/[\x00-\x1f\x7f]/g, "");
}
