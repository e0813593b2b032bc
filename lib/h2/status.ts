/** gRPC status codes and the wire helpers both sides share (message prefix, grpc-message encoding). */
import { joinBytes } from "./frames.ts";

/** gRPC status codes. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A status code's name (`NOT_FOUND`), for logs. */
export function statusName(code: number): string {
  return Object.entries(Status).find(([, c]) => c === code)?.[0] ?? `code ${code}`;
}

/** How a call ended: a gRPC code and its message. */
export interface StatusObject {
  code: number;
  details: string;
}

/** Messages larger than this are refused (buildkitd's own limit). */
export const MAX_MESSAGE = 16 * 1024 * 1024;

/** The 5-byte prefix of an uncompressed message of `n` bytes. */
export function messagePrefix(n: number): Uint8Array {
  const b = new Uint8Array(5);
  new DataView(b.buffer).setUint32(1, n);
  return b;
}

/** gRPC's grpc-message encoding: percent-encode bytes outside printable ASCII, and '%'. */
export function percentEncode(s: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(s)) return s;
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The inverse of {@link percentEncode}; malformed escapes stay as they are. */
export function percentDecode(s: string): string {
  if (!s.includes("%")) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "%" && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...new TextEncoder().encode(s[i]));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * Splits a stream's bytes into gRPC messages, across any DATA boundaries: a message inside one payload stays a
 * view of it, one that spans payloads is joined. Throws a StatusObject for a compressed or oversized message.
 */
export class MessageReader {
  #parts: Uint8Array[] = [];
  #have = 0;
  #want = -1;

  /** Feed a payload; returns the messages it completed. */
  feed(payload: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < payload.length) {
      const need = this.#want < 0 ? 5 : this.#want;
      const n = Math.min(need - this.#have, payload.length - pos);
      this.#parts.push(payload.subarray(pos, pos + n));
      this.#have += n;
      pos += n;
      if (this.#have < need) break;
      const unit = joinBytes(this.#parts, need);
      this.#parts = [];
      this.#have = 0;
      if (this.#want < 0) {
        if (unit[0] !== 0) {
          throw { code: Status.UNIMPLEMENTED, details: "compressed messages are not accepted" };
        }
        this.#want = ((unit[1] << 24) | (unit[2] << 16) | (unit[3] << 8) | unit[4]) >>> 0;
        if (this.#want > MAX_MESSAGE) {
          throw {
            code: Status.RESOURCE_EXHAUSTED,
            details: `message of ${this.#want} bytes is over the limit of ${MAX_MESSAGE}`,
          };
        }
        if (this.#want > 0) continue;
        this.#want = -1;
        out.push(Buffer.alloc(0));
        continue;
      }
      this.#want = -1;
      out.push(Buffer.from(unit.buffer, unit.byteOffset, unit.byteLength));
    }
    return out;
  }

  /** Whether the bytes so far end between messages. */
  get atBoundary(): boolean {
    return this.#have === 0 && this.#want < 0;
  }
}
