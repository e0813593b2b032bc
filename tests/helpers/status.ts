/** Builders of BuildKit StatusResponse messages for progress tests; times are ms after a fixed T0. */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type StatusResponse,
  StatusResponseSchema,
  type Vertex,
  type VertexLog,
  type VertexStatus,
  type VertexWarning,
} from "../../lib/buildkit/gen/moby/buildkit/v1/control_pb.ts";

/** 2023-11-14T22:13:20Z on the daemon's clock. */
export const T0 = 1_700_000_000_000;

/** A timestamp `ms` (may be fractional) after T0. */
export function at(ms: number): Timestamp {
  const ns = BigInt(T0) * 1_000_000n + BigInt(Math.round(ms * 1e6));
  return {
    $typeName: "google.protobuf.Timestamp",
    seconds: ns / 1_000_000_000n,
    nanos: Number(ns % 1_000_000_000n),
  };
}

/** A vertex; `started`/`completed` in ms after T0. */
export function vertex(
  digest: string,
  name: string,
  o: {
    started?: number;
    completed?: number;
    cached?: boolean;
    error?: string;
    inputs?: string[];
    group?: { id: string; name: string; weak?: boolean };
  } = {},
): Partial<Vertex> {
  return {
    digest,
    name,
    inputs: o.inputs ?? [],
    cached: o.cached ?? false,
    error: o.error ?? "",
    started: o.started === undefined ? undefined : at(o.started),
    completed: o.completed === undefined ? undefined : at(o.completed),
    progressGroup: o.group &&
      { $typeName: "pb.ProgressGroup", id: o.group.id, name: o.group.name, weak: o.group.weak ?? false },
  };
}

/** A progress counter of `vertex`; `ts` is its timestamp. */
export function status(
  vertex: string,
  id: string,
  o: { ts: number; current?: number; total?: number; started?: number; completed?: number; name?: string },
): Partial<VertexStatus> {
  return {
    vertex,
    id,
    name: o.name ?? "",
    current: BigInt(o.current ?? 0),
    total: BigInt(o.total ?? 0),
    timestamp: at(o.ts),
    started: o.started === undefined ? undefined : at(o.started),
    completed: o.completed === undefined ? undefined : at(o.completed),
  };
}

/** Output of `vertex` at `ts`; stream 1 is stdout, 2 stderr. */
export function log(vertex: string, ts: number, msg: string | Uint8Array, stream = 1): Partial<VertexLog> {
  return {
    vertex,
    timestamp: at(ts),
    stream: BigInt(stream),
    msg: typeof msg === "string" ? new TextEncoder().encode(msg) : msg,
  };
}

/** A warning on `vertex`; `source` is the Dockerfile text and `lines` the [start, end] ranges in it. */
export function warning(
  vertex: string,
  short: string,
  o: { detail?: string[]; url?: string; source?: string; filename?: string; lines?: [number, number][] } = {},
): Partial<VertexWarning> {
  const enc = (s: string) => new TextEncoder().encode(s);
  return {
    vertex,
    level: 1n,
    short: enc(short),
    detail: (o.detail ?? []).map(enc),
    url: o.url ?? "",
    info: o.source === undefined ? undefined : {
      $typeName: "pb.SourceInfo",
      filename: o.filename ?? "Dockerfile",
      data: enc(o.source),
      language: "Dockerfile",
    },
    ranges: (o.lines ?? []).map(([s, e]) => ({
      $typeName: "pb.Range",
      start: { $typeName: "pb.Position", line: s, character: 0 },
      end: { $typeName: "pb.Position", line: e, character: 0 },
    })),
  };
}

/** One StatusResponse. */
export function msg(parts: {
  vertexes?: Partial<Vertex>[];
  statuses?: Partial<VertexStatus>[];
  logs?: Partial<VertexLog>[];
  warnings?: Partial<VertexWarning>[];
}): StatusResponse {
  return create(StatusResponseSchema, parts as MessageInitShape<typeof StatusResponseSchema>);
}
