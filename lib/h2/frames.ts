/** HTTP/2 (RFC 9113) wire constants and the few frames we write whole. */

/** Frame types. */
export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

/** Frame flags (END_STREAM and ACK share a bit on different frame types). */
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** SETTINGS identifiers. */
export const Setting = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

/** Error codes of RST_STREAM and GOAWAY. */
export const ErrorCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
} as const;

/** Bytes of a frame header. */
export const HEADER_LENGTH = 9;
/** The client connection preface that starts every connection. */
export const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** The frame size every endpoint must accept (and the largest we do). */
export const DEFAULT_MAX_FRAME = 16384;
/** The largest flow-control window. */
export const MAX_WINDOW = 0x7fffffff;

/** A 9-byte frame header. */
export function frameHeader(length: number, type: number, flags: number, stream: number): Uint8Array {
  const b = new Uint8Array(HEADER_LENGTH);
  b[0] = length >>> 16;
  b[1] = (length >>> 8) & 0xff;
  b[2] = length & 0xff;
  b[3] = type;
  b[4] = flags;
  new DataView(b.buffer).setUint32(5, stream & MAX_WINDOW);
  return b;
}

/** A whole frame with a small payload. */
export function frame(type: number, flags: number, stream: number, payload: Uint8Array = EMPTY): Uint8Array {
  const b = new Uint8Array(HEADER_LENGTH + payload.length);
  b.set(frameHeader(payload.length, type, flags, stream));
  b.set(payload, HEADER_LENGTH);
  return b;
}

/** A frame whose payload is 32-bit words (WINDOW_UPDATE, RST_STREAM, GOAWAY without debug data). */
export function wordFrame(type: number, stream: number, ...words: number[]): Uint8Array {
  const p = new Uint8Array(4 * words.length);
  const v = new DataView(p.buffer);
  words.forEach((w, i) => v.setUint32(4 * i, w));
  return frame(type, 0, stream, p);
}

/** A SETTINGS frame with `settings` (id → value). */
export function settingsFrame(settings: [number, number][]): Uint8Array {
  const p = new Uint8Array(6 * settings.length);
  const v = new DataView(p.buffer);
  settings.forEach(([id, value], i) => {
    v.setUint16(6 * i, id);
    v.setUint32(6 * i + 2, value);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
}

/** `parts` as one array: the part itself when there is one, else a copy of them in order. */
export function joinBytes(parts: Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const EMPTY = new Uint8Array(0);
