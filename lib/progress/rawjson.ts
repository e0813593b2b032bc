/**
 * `--progress=rawjson`: each StatusResponse as one JSON line, in the shape buildctl prints (its client.SolveStatus):
 * empty fields left out, times in RFC 3339 with nanoseconds, bytes in base64, `<>&` escaped as Go does.
 */
import { Buffer } from "node:buffer";
import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { type StatusResponse, StatusResponseSchema } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import type { Position, Range, SourceInfo } from "../buildkit/gen/pb/ops_pb.ts";
import type { TextOut } from "./plain.ts";
import { ProgressState } from "./state.ts";

/** Writes one line per StatusResponse; keeps the merged state only for the summary. */
export class RawJsonRenderer {
  readonly state: ProgressState;
  readonly #out: TextOut;

  constructor(out: TextOut, state = new ProgressState()) {
    this.#out = out;
    this.state = state;
  }

  /** Print `s` as one JSON line. */
  update(s: StatusResponse): void {
    this.state.apply(s);
    this.#out.write(formatRawJson(s) + "\n");
  }

  /** Nothing follows the last line (buildctl prints no warnings summary in this mode). */
  done(): void {}
}

/** One StatusResponse as buildctl's rawjson line (without the newline). */
export function formatRawJson(s: StatusResponse): string {
  const doc = {
    vertexes: s.vertexes.length
      ? s.vertexes.map((v) => ({
        digest: v.digest || undefined,
        inputs: v.inputs.length ? v.inputs : undefined,
        name: v.name || undefined,
        started: v.started && formatTime(v.started),
        completed: v.completed && formatTime(v.completed),
        cached: v.cached || undefined,
        error: v.error || undefined,
        progressGroup: v.progressGroup && {
          id: v.progressGroup.id || undefined,
          name: v.progressGroup.name || undefined,
          weak: v.progressGroup.weak || undefined,
        },
      }))
      : undefined,
    statuses: s.statuses.length
      ? s.statuses.map((st) => ({
        id: st.id,
        vertex: st.vertex || undefined,
        name: st.name || undefined,
        total: st.total ? Number(st.total) : undefined,
        current: Number(st.current),
        timestamp: formatTime(st.timestamp),
        started: st.started && formatTime(st.started),
        completed: st.completed && formatTime(st.completed),
      }))
      : undefined,
    logs: s.logs.length
      ? s.logs.map((l) => ({
        vertex: l.vertex || undefined,
        stream: l.stream ? Number(l.stream) : undefined,
        // Go's nil byte slice: an empty message has no bytes on the wire.
        data: l.msg.length ? base64(l.msg) : null,
        timestamp: formatTime(l.timestamp),
      }))
      : undefined,
    warnings: s.warnings.length
      ? s.warnings.map((w) => ({
        vertex: w.vertex || undefined,
        level: w.level ? Number(w.level) : undefined,
        short: w.short.length ? base64(w.short) : undefined,
        detail: w.detail.length ? w.detail.map(base64) : undefined,
        url: w.url || undefined,
        sourceInfo: w.info && sourceInfoJson(w.info),
        range: w.ranges.length ? w.ranges.map(rangeJson) : undefined,
      }))
      : undefined,
  };
  // Go's encoder escapes these for HTML safety; match it so output compares byte for byte.
  return JSON.stringify(doc).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * One line of buildctl's rawjson back into a StatusResponse (for replaying a recorded build).
 * `sourceInfo.definition` is dropped: our generated types do not carry it.
 */
export function parseRawJson(line: string): StatusResponse {
  // deno-lint-ignore no-explicit-any
  const doc = JSON.parse(line) as Record<string, any[] | undefined>;
  return create(StatusResponseSchema, {
    vertexes: (doc.vertexes ?? []).map((v) => ({
      digest: v.digest ?? "",
      inputs: v.inputs ?? [],
      name: v.name ?? "",
      started: parseTime(v.started),
      completed: parseTime(v.completed),
      cached: v.cached ?? false,
      error: v.error ?? "",
      progressGroup: v.progressGroup &&
        {
          id: v.progressGroup.id ?? "",
          name: v.progressGroup.name ?? "",
          weak: v.progressGroup.weak ?? false,
        },
    })),
    statuses: (doc.statuses ?? []).map((st) => ({
      id: st.id ?? "",
      vertex: st.vertex ?? "",
      name: st.name ?? "",
      current: BigInt(st.current ?? 0),
      total: BigInt(st.total ?? 0),
      timestamp: parseTime(st.timestamp),
      started: parseTime(st.started),
      completed: parseTime(st.completed),
    })),
    logs: (doc.logs ?? []).map((l) => ({
      vertex: l.vertex ?? "",
      stream: BigInt(l.stream ?? 0),
      msg: fromBase64(l.data),
      timestamp: parseTime(l.timestamp),
    })),
    warnings: (doc.warnings ?? []).map((w) => ({
      vertex: w.vertex ?? "",
      level: BigInt(w.level ?? 0),
      short: fromBase64(w.short),
      detail: (w.detail ?? []).map(fromBase64),
      url: w.url ?? "",
      info: w.sourceInfo && {
        filename: w.sourceInfo.filename ?? "",
        data: fromBase64(w.sourceInfo.data),
        language: w.sourceInfo.language ?? "",
      },
      ranges: (w.range ?? []).map((r: { start?: Position; end?: Position }) => ({
        start: r.start,
        end: r.end,
      })),
    })),
  });
}

/** RFC 3339 in UTC with up to nine fraction digits, trailing zeros cut: Go's time.RFC3339Nano. */
export function formatTime(ts: Timestamp | undefined): string {
  // Go's AsTime() of a missing timestamp is the Unix epoch.
  const seconds = ts ? Number(ts.seconds) : 0, nanos = ts?.nanos ?? 0;
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  const frac = nanos ? "." + String(nanos).padStart(9, "0").replace(/0+$/, "") : "";
  return `${base}${frac}Z`;
}

const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** The inverse of {@link formatTime}; also accepts a zone offset. Undefined for a missing or malformed value. */
export function parseTime(s: string | undefined): Timestamp | undefined {
  const m = s ? TIME.exec(s) : null;
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return {
    $typeName: "google.protobuf.Timestamp",
    seconds: BigInt(ms / 1000),
    nanos: Number((m[2] ?? "").padEnd(9, "0")),
  };
}

function sourceInfoJson(info: SourceInfo) {
  return {
    filename: info.filename || undefined,
    data: info.data.length ? base64(info.data) : undefined,
    language: info.language || undefined,
  };
}

function rangeJson(r: Range) {
  const pos = (p: Position | undefined) =>
    p && { line: p.line || undefined, character: p.character || undefined };
  return { start: pos(r.start), end: pos(r.end) };
}

function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

function fromBase64(s: string | null | undefined): Uint8Array {
  return s ? new Uint8Array(Buffer.from(s, "base64")) : new Uint8Array();
}
