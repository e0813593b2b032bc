/**
 * Where in the Dockerfile a failed build went wrong. buildkitd attaches typed details to its gRPC status
 * (`grpc-status-details-bin`, a google.rpc.Status whose Any values are JSON); `errdefs.Source+json` carries the
 * source file and the line ranges, which the message text itself often lacks.
 */
import { create } from "@bufbuild/protobuf";
import { type Range, RangeSchema, type SourceInfo, SourceInfoSchema } from "./gen/pb/ops_pb.ts";

/** The source a build error points at. */
export interface ErrorSource {
  info: SourceInfo;
  ranges: Range[];
  /** The first line in range (1-based). */
  line: number;
}

interface SourceJson {
  info?: { filename?: string; data?: string; language?: string };
  ranges?: { start?: { line?: number; character?: number }; end?: { line?: number; character?: number } }[];
}

/** The Source detail of a failed call's error (looked up along its `cause` chain), if buildkitd sent one. */
export function errorSource(err: unknown): ErrorSource | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const md = (e as { metadata?: { get(k: string): unknown[] } }).metadata;
    if (!md || typeof md.get !== "function") continue;
    for (const bin of md.get("grpc-status-details-bin")) {
      const found = fromStatusDetails(toBytes(bin));
      if (found) return found;
    }
  }
  return undefined;
}

/** Parse a serialized google.rpc.Status and return its last errdefs.Source detail. */
export function fromStatusDetails(status: Uint8Array): ErrorSource | undefined {
  let found: ErrorSource | undefined;
  for (const [field, value] of fields(status)) {
    if (field !== 3 || !(value instanceof Uint8Array)) continue;
    let typeUrl = "";
    let json: Uint8Array | undefined;
    for (const [f, v] of fields(value)) {
      if (f === 1 && v instanceof Uint8Array) typeUrl = new TextDecoder().decode(v);
      if (f === 2 && v instanceof Uint8Array) json = v;
    }
    if (!typeUrl.endsWith("errdefs.Source+json") || !json) continue;
    try {
      found = toSource(JSON.parse(new TextDecoder().decode(json)) as SourceJson) ?? found;
    } catch {
      // An undecodable detail is no reason to lose the error itself.
    }
  }
  return found;
}

function toSource(j: SourceJson): ErrorSource | undefined {
  const ranges = (j.ranges ?? []).map((r) =>
    create(RangeSchema, {
      start: { line: r.start?.line ?? 0, character: r.start?.character ?? 0 },
      end: { line: r.end?.line ?? 0, character: r.end?.character ?? 0 },
    })
  );
  const line = ranges[0]?.start?.line ?? 0;
  if (!j.info || line < 1) return undefined;
  const info = create(SourceInfoSchema, {
    filename: j.info.filename ?? "",
    data: j.info.data ? Buffer.from(j.info.data, "base64") : new Uint8Array(0),
    language: j.info.language ?? "",
  });
  return { info, ranges, line };
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  return Buffer.from(String(v), "base64");
}

// Top-level protobuf fields: varints as numbers, length-delimited as bytes; others skipped.
function* fields(buf: Uint8Array): Generator<[number, number | Uint8Array]> {
  let pos = 0;
  const varint = (): number => {
    let n = 0, mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error("truncated");
      const b = buf[pos++];
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
  };
  try {
    while (pos < buf.length) {
      const tag = varint();
      const wire = tag & 7;
      if (wire === 0) yield [tag >>> 3, varint()];
      else if (wire === 2) {
        const len = varint();
        yield [tag >>> 3, buf.subarray(pos, pos + len)];
        pos += len;
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else return;
    }
  } catch {
    return;
  }
}
