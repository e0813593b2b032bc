/** Renderers of BuildKit's Status stream for `build --progress auto|tty|plain|rawjson|quiet`. */
import type { StatusResponse } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import { PlainRenderer } from "./plain.ts";
import { RawJsonRenderer } from "./rawjson.ts";
import { type BuildSummary, ProgressState } from "./state.ts";
import { TtyRenderer } from "./tty.ts";

export type { BuildSummary } from "./state.ts";
export { formatSource } from "./format.ts";
export { formatRawJson, parseRawJson } from "./rawjson.ts";

import type { ProgressMode } from "./modes.ts";

export { PROGRESS_MODES, type ProgressMode } from "./modes.ts";

/** Where progress goes (stderr in the CLI); `columns`/`rows` are read on every redraw, so getters follow resizes. */
export interface ProgressOut {
  write(s: string): void;
  isTerminal: boolean;
  columns?: number;
  rows?: number;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** ANSI colors in the tty view; pass false for NO_COLOR. Default true. */
  color?: boolean;
  /** Print each warning's detail, link and Dockerfile lines (the CLI's --debug). */
  expandWarnings?: boolean;
  /** tty redraw period in ms (default 100; 0 redraws on every update). */
  intervalMs?: number;
  /** The local clock, for tests. */
  now?: () => number;
  /** When the build started (ms, local clock): the plain summary counts wall time from here. */
  startedAt?: number;
}

/** A running progress display: feed it every StatusResponse, then call done() once. */
export interface Progress {
  /** The renderer chosen (auto resolved). */
  readonly mode: Exclude<ProgressMode, "auto">;
  update(s: StatusResponse): void;
  /** Flush and print the end (final frame, failed steps' logs, warnings); `err` is the build's error, if any. */
  done(err?: unknown): Promise<void>;
  /** Steps, cached, errors, warnings and duration so far. */
  summary(): BuildSummary;
}

/** A progress display for `mode`; auto is tty on a terminal, plain otherwise. */
export function createProgress(mode: ProgressMode, out: ProgressOut, opts: ProgressOptions = {}): Progress {
  const chosen = mode === "auto" ? (out.isTerminal ? "tty" : "plain") : mode;
  const state = new ProgressState();
  const renderer = chosen === "tty"
    ? new TtyRenderer(out, state, opts)
    : chosen === "plain"
    ? new PlainRenderer(out, state, opts)
    : chosen === "rawjson"
    ? new RawJsonRenderer(out, state)
    : { update: (s: StatusResponse) => void state.apply(s), done: () => {} };
  let done = false;
  return {
    mode: chosen,
    update: (s) => {
      if (!done) renderer.update(s);
    },
    done: (err) => {
      if (!done) {
        done = true;
        renderer.done(err);
      }
      return Promise.resolve();
    },
    summary: () => state.summary(),
  };
}
