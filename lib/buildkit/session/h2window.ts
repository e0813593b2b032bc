/**
 * A workaround for HTTP/2 stacks that mishandle a SETTINGS_INITIAL_WINDOW_SIZE raised while streams are open: Bun's
 * node:http2 (client and server) stops sending on such a stream for good (oven-sh/bun#30319, #41329). grpc-go
 * raises it as its bandwidth estimate grows, on buildkitd's server connections and on its session client alike,
 * and sends no stream WINDOW_UPDATE, relying on RFC 9113 §6.9.2. So, on the bytes from the peer, such a raise is
 * turned into what the RFC says it means: the setting leaves the SETTINGS frame, and every stream we may still send
 * on gets a WINDOW_UPDATE for the difference, as does every stream opened later (whose window the peer assumes is
 * the raised one). Only a raise is rewritten; Deno's and Node's http2 see the same windows either way.
 */

const PREFACE_LENGTH = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const HEADER = 9;
const TYPE = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;

/** Which side of the connection we are: the client sends the connection preface. */
export type Role = "client" | "server";

/**
 * Sits between an HTTP/2 endpoint of ours (`local`) and the peer: `inbound` rewrites the peer's bytes before the
 * local stack sees them, `outbound` watches the local stack's bytes (which streams it opens and ends). Frames to
 * add for a stream the local side opens are handed to `inject` as soon as the inbound byte stream is between frames.
 */
export class WindowFix {
  /** The initial window the local stack applies to new streams. */
  #base = 65535;
  /** The initial window the peer believes in. */
  #current = 65535;
  /** Streams open on which the local side has not ended its half. */
  readonly #sending = new Set<number>();
  /** Highest stream id seen opened (both sides open odd ids only: no server push here). */
  #lastOpened = 0;
  readonly #in: FrameReader;
  readonly #out: FrameReader;
  readonly #inject: (b: Buffer) => void;
  /** Frames waiting for the inbound stream to reach a frame boundary. */
  #pending: Buffer[] = [];
  /** A peer-opened stream whose HEADERS continue in CONTINUATION frames; its WINDOW_UPDATE waits for them. */
  #openingHeaders = 0;

  /** `inject` delivers extra frames to the local stack outside of an inbound() call. */
  constructor(role: Role, inject: (b: Buffer) => void) {
    this.#in = new FrameReader(role === "server");
    this.#out = new FrameReader(role === "client");
    this.#inject = inject;
  }

  /** Bytes from the peer: returns what to hand to the local stack (payloads pass through as views). */
  inbound(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    this.#in.feed(chunk, {
      raw: (b) => out.push(b),
      frame: (h, payload) => {
        out.push(...this.#rewrite(h, payload));
        // A whole frame has been handed over: queued frames may follow it.
        if (this.#pending.length && this.#in.atBoundary) out.push(...this.#pending.splice(0));
      },
      // Frames that may be followed by an injected one are taken whole, so nothing lands inside them.
      needsPayload: (h) =>
        (h.type === TYPE.SETTINGS && !(h.flags & FLAG_ACK)) || h.type === TYPE.HEADERS ||
        h.type === TYPE.CONTINUATION,
    });
    if (this.#pending.length && this.#in.atBoundary) out.push(...this.#pending.splice(0));
    return out;
  }

  /** Bytes from the local stack to the peer: only observed. */
  outbound(chunk: Buffer): void {
    this.#out.feed(chunk, {
      raw: () => {},
      frame: (h) => {
        if (h.type === TYPE.HEADERS && this.#opens(h.stream)) {
          const delta = this.#current - this.#base;
          if (delta > 0) this.#add(windowUpdate(h.stream, delta));
        }
        if (h.type === TYPE.RST_STREAM) this.#sending.delete(h.stream);
        else if ((h.type === TYPE.DATA || h.type === TYPE.HEADERS) && h.flags & FLAG_END_STREAM) {
          this.#sending.delete(h.stream);
        }
      },
      needsPayload: () => false,
    });
  }

  // A new stream (by either side) is one above every id seen so far.
  #opens(stream: number): boolean {
    if (stream % 2 !== 1 || stream <= this.#lastOpened) return false;
    this.#lastOpened = stream;
    this.#sending.add(stream);
    return true;
  }

  // Deliver now if the inbound stream is between frames, else right after its current frame.
  #add(frame: Buffer): void {
    if (this.#in.atBoundary) this.#inject(frame);
    else this.#pending.push(frame);
  }

  #rewrite(h: FrameHeader, payload: Buffer | undefined): Buffer[] {
    const whole = payload ? [h.bytes, payload] : [h.bytes];
    switch (h.type) {
      case TYPE.SETTINGS:
        return payload ? this.#settings(h, payload) : whole;
      case TYPE.HEADERS:
      case TYPE.CONTINUATION: {
        if (h.type === TYPE.HEADERS && this.#opens(h.stream)) this.#openingHeaders = h.stream;
        if (this.#openingHeaders && h.flags & FLAG_END_HEADERS) {
          const delta = this.#current - this.#base;
          if (delta > 0) whole.push(windowUpdate(this.#openingHeaders, delta));
          this.#openingHeaders = 0;
        }
        return whole;
      }
      case TYPE.RST_STREAM:
        this.#sending.delete(h.stream);
        return whole;
      default:
        return whole;
    }
  }

  #settings(h: FrameHeader, payload: Buffer): Buffer[] {
    let raised = 0;
    const kept: Buffer[] = [];
    for (let i = 0; i + 6 <= payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id !== SETTINGS_INITIAL_WINDOW_SIZE) {
        kept.push(payload.subarray(i, i + 6));
        continue;
      }
      // Before any stream, or a decrease: the local stack applies it as is.
      if (this.#lastOpened === 0 || value <= this.#current) {
        this.#base = value;
        this.#current = value;
        kept.push(payload.subarray(i, i + 6));
      } else {
        raised += value - this.#current;
        this.#current = value;
      }
    }
    if (raised === 0) return [h.bytes, payload];
    // The SETTINGS frame stays (the peer waits for its ACK), without the raise.
    const body = Buffer.concat(kept);
    const out = [frameHeader(body.length, TYPE.SETTINGS, h.flags, 0), body];
    for (const stream of this.#sending) out.push(windowUpdate(stream, raised));
    return out;
  }
}

/** A frame's 9-byte header, decoded, with its original bytes. */
export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  stream: number;
  bytes: Buffer;
}

interface FrameSink {
  /** Bytes passed through as they are (the preface, streamed payloads). */
  raw(b: Buffer): void;
  /** A frame header, with its payload when needsPayload asked for it (else the payload follows through raw()). */
  frame(h: FrameHeader, payload: Buffer | undefined): void;
  needsPayload(h: FrameHeader): boolean;
}

/** Splits an HTTP/2 byte stream into frames across arbitrary chunk boundaries, copying only what is inspected. */
export class FrameReader {
  #prefaceLeft: number;
  #head: Buffer[] = [];
  #headLen = 0;
  #skip = 0;
  #collect?: { h: FrameHeader; parts: Buffer[]; left: number };

  /** `preface`: the stream starts with the client connection preface. */
  constructor(preface: boolean) {
    this.#prefaceLeft = preface ? PREFACE_LENGTH : 0;
  }

  /** Whether the bytes so far end exactly between two frames. */
  get atBoundary(): boolean {
    return this.#prefaceLeft === 0 && this.#headLen === 0 && this.#skip === 0 && !this.#collect;
  }

  /** Feed the next chunk; calls into `sink` in stream order. */
  feed(chunk: Buffer, sink: FrameSink): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#prefaceLeft > 0 || this.#skip > 0) {
        const left = this.#prefaceLeft || this.#skip;
        const n = Math.min(left, chunk.length - pos);
        sink.raw(chunk.subarray(pos, pos + n));
        if (this.#prefaceLeft) this.#prefaceLeft -= n;
        else this.#skip -= n;
        pos += n;
      } else if (this.#collect) {
        const c = this.#collect;
        const n = Math.min(c.left, chunk.length - pos);
        c.parts.push(chunk.subarray(pos, pos + n));
        c.left -= n;
        pos += n;
        if (c.left === 0) {
          this.#collect = undefined;
          sink.frame(c.h, Buffer.concat(c.parts));
        }
      } else {
        const n = Math.min(HEADER - this.#headLen, chunk.length - pos);
        this.#head.push(chunk.subarray(pos, pos + n));
        this.#headLen += n;
        pos += n;
        if (this.#headLen < HEADER) continue;
        const bytes = Buffer.concat(this.#head, HEADER);
        this.#head = [];
        this.#headLen = 0;
        const h: FrameHeader = {
          length: bytes.readUIntBE(0, 3),
          type: bytes[3],
          flags: bytes[4],
          stream: bytes.readUInt32BE(5) & 0x7fffffff,
          bytes,
        };
        if (!sink.needsPayload(h)) {
          this.#skip = h.length;
          sink.frame(h, undefined);
        } else if (h.length === 0) {
          sink.frame(h, Buffer.alloc(0));
        } else {
          this.#collect = { h, parts: [], left: h.length };
        }
      }
    }
  }
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const b = Buffer.alloc(HEADER);
  b.writeUIntBE(length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream, 5);
  return b;
}

/** A WINDOW_UPDATE frame for `stream` (0: the connection). */
export function windowUpdate(stream: number, increment: number): Buffer {
  const b = Buffer.alloc(HEADER + 4);
  frameHeader(4, TYPE.WINDOW_UPDATE, 0, stream).copy(b);
  b.writeUInt32BE(increment & 0x7fffffff, HEADER);
  return b;
}
