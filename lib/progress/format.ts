/** Text shared by the plain and tty renderers: sizes, times, and what is printed after the steps. */
import type { Range, SourceInfo } from "../buildkit/gen/pb/ops_pb.ts";
import type { LogLine, ProgressState, Warning } from "./state.ts";

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

/** Bytes in decimal units as buildx prints them: `68B`, `1.20kB`, `5.00MB`. */
export function formatBytes(n: number): string {
  let i = 0;
  while (Math.abs(n) >= 1000 ** (i + 1) && i < UNITS.length - 1) i++;
  return i === 0 ? `${n}B` : `${(n / 1000 ** i).toFixed(2)}${UNITS[i]}`;
}

/** `current / total` of a status, or just `current`, or nothing when there is no count. */
export function formatAmount(current: number, total: number): string {
  if (total !== 0) return `${formatBytes(current)} / ${formatBytes(total)}`;
  return current !== 0 ? formatBytes(current) : "";
}

/** A log line's time as buildx prints it: three decimals under 10 s, two under 100 s, one above. */
export function formatLogLine(line: LogLine): string {
  const digits = line.at < 10 ? 3 : line.at < 100 ? 2 : 1;
  return `${line.at.toFixed(digits)} ${line.text}`;
}

/**
 * The source lines a warning or error points at, framed like BuildKit's clients do:
 * `Dockerfile:3`, a rule, numbered lines with `>>>` on the ones in range and a little context, a rule.
 * Returns "" when there is nothing to show.
 */
export function formatSource(info: SourceInfo | undefined, ranges: Range[]): string {
  if (!info || ranges.length === 0) return "";
  const lines = new TextDecoder().decode(info.data).split("\n");
  const inRange = (n: number) =>
    ranges.some((r) => lineOf(r.start) <= n && n <= Math.max(lineOf(r.start), lineOf(r.end)));
  const first = Math.min(...ranges.map((r) => lineOf(r.start)));
  const last = Math.min(
    lines.length,
    Math.max(...ranges.map((r) => Math.max(lineOf(r.start), lineOf(r.end)))),
  );
  if (first < 1 || first > lines.length) return "";
  // Two lines of context either side of a single line, one either side of a span.
  const pad = first === last ? 2 : 1;
  const from = Math.max(1, first - pad), to = Math.min(lines.length, last + pad);
  let out = `${info.filename}:${first}\n--------------------\n`;
  for (let n = from; n <= to; n++) {
    out += ` ${String(n).padStart(3)} | ${inRange(n) ? ">>>" : "   "} ${lines[n - 1]}\n`;
  }
  return out + "--------------------\n";
}

function lineOf(p: { line: number } | undefined): number {
  return p?.line ?? 0;
}

/** Options of {@link formatEpilogue}. */
export interface EpilogueOptions {
  /** Print each warning's detail, link and source lines (the CLI's --debug). */
  expandWarnings?: boolean;
  /** Wrap the warnings header in this ANSI color (the tty view); plain output has none. */
  warningColor?: string;
}

/**
 * What follows the steps, as buildx prints it: the last log lines of each failed step between rules,
 * then the warnings (` 2 warnings found:` and one ` - short` line each).
 */
export function formatEpilogue(state: ProgressState, opts: EpilogueOptions = {}): string {
  let out = "";
  for (const step of state.steps) {
    if (!step.error || step.canceled) continue;
    out += `------\n > ${step.name}:\n`;
    for (const line of step.logs) out += formatLogLine(line) + "\n";
    out += "------\n";
  }
  const warnings = state.warnings;
  if (warnings.length === 0) return out;
  let head = warnings.length === 1 ? "1 warning found" : `${warnings.length} warnings found`;
  if (!opts.expandWarnings) head += " (use --debug to expand)";
  head += ":";
  out += `\n ${opts.warningColor ? `${opts.warningColor}${head}\x1b[0m` : head}\n`;
  for (const w of warnings) out += formatWarning(w, !!opts.expandWarnings);
  return out;
}

function formatWarning(w: Warning, expand: boolean): string {
  let out = ` - ${w.short}\n`;
  if (!expand) return out;
  for (const d of w.detail) out += `${d}\n`;
  if (w.url) out += `More info: ${w.url}\n`;
  return out + formatSource(w.source, w.ranges) + "\n";
}
