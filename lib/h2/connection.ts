/**
 * One HTTP/2 connection over any byte pipe, either side: the server of the BuildKit session (buildkitd's grpc-go is
 * its client) and the client of a build's connection to buildkitd. Only what gRPC needs: streams, flow control
 * both ways (RFC 9113 §6.9, including window changes by SETTINGS on open streams), PING and SETTINGS acks, GOAWAY;
 * no push, no priorities. Frames go out as lists of views (no copy here); `setWritable(false)` holds DATA back
 * while the pipe is full, never the control frames the peer may be waiting for.
 */
import {
  DEFAULT_MAX_FRAME,
  ErrorCode,
  Flag,
  frame,
  frameHeader,
  FrameType,
  HEADER_LENGTH,
  joinBytes,
  MAX_WINDOW,
  PREFACE,
  Setting,
  settingsFrame,
  wordFrame,
} from "./frames.ts";
import { encodeHeaders, HpackDecoder } from "./hpack.ts";

/** A header field as it travels: lower-case name, value. */
export type Header = [string, string];

/** A connection error: we sent GOAWAY with `code`. */
export class H2Error extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

/** What the connection tells the owner of a stream. */
export interface StreamEvents {
  /** The peer's bytes (a view the owner may keep); `end` when the peer half-closed. */
  data(payload: Uint8Array, end: boolean): void;
  /** Client side: the response headers, then the trailers (`end`). */
  headers?(headers: Header[], end: boolean): void;
  /** The stream is gone: reset by the peer (`code`), or the connection ended (CANCEL; `err` says why). */
  reset(code: number, err?: Error): void;
}

/** Options of {@link H2Connection}. */
export interface ConnectionOptions {
  /** Write bytes to the peer, in order; the parts may be reused once this returns. */
  send(parts: Uint8Array[]): void;
  /** Server side: a stream the client opened, with its request headers; set `events` before returning. */
  onStream?(stream: H2Stream): void;
  /** The connection failed by a protocol error (GOAWAY has been sent). */
  onError?(err: H2Error): void;
  /** The peer's first SETTINGS arrived: it speaks HTTP/2. */
  onReady?(): void;
  /** How much each stream may send ahead of our reading. */
  streamWindow?: number;
  /** How much all streams together may send ahead of our reading. */
  connectionWindow?: number;
}

type Item =
  | { kind: "data"; parts: Uint8Array[]; part: number; offset: number; left: number; done?: () => void }
  | { kind: "trailers"; headers: Header[] }
  | { kind: "fin" };

/** One stream, opened by either side. */
export class H2Stream {
  /** Set by the owner in onStream. */
  events?: StreamEvents;
  /** Bytes the peer lets us send on this stream. */
  sendWindow: number;
  /** Bytes the peer may still send us before a WINDOW_UPDATE. */
  recvWindow: number;
  readonly queue: Item[] = [];
  headersSent = false;
  /** We sent END_STREAM (or reset). */
  localDone = false;
  /** The peer sent END_STREAM (or reset). */
  remoteDone = false;
  uncredited = 0;

  constructor(
    readonly id: number,
    readonly headers: Header[],
    readonly conn: H2Connection,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Send the response headers now (server side). */
  respond(headers: Header[]): void {
    if (this.headersSent || this.localDone) return;
    this.headersSent = true;
    this.conn.sendHeaders(this.id, headers, false);
  }

  /** Queue bytes (`parts` in order); `done` runs once they are all handed to the pipe. */
  write(parts: Uint8Array[], done?: () => void): void {
    if (this.localDone) return void done?.();
    let left = 0;
    for (const p of parts) left += p.length;
    this.queue.push({ kind: "data", parts, part: 0, offset: 0, left, done });
    this.conn.schedule(this);
  }

  /** End our side, after everything queued: with `trailers` (server), or an empty END_STREAM DATA (client). */
  end(trailers?: Header[]): void {
    if (this.localDone || this.queue.some((i) => i.kind !== "data")) return;
    this.queue.push(trailers ? { kind: "trailers", headers: trailers } : { kind: "fin" });
    this.conn.schedule(this);
  }

  /** Abandon the stream (RST_STREAM). */
  reset(code: number = ErrorCode.CANCEL): void {
    this.conn.resetStream(this, code);
  }

  /** The owner has taken `n` of the peer's bytes: the peer may send that many more. */
  credit(n: number): void {
    this.conn.creditStream(this, n);
  }
}

/** An HTTP/2 connection; feed it the peer's bytes with receive(). */
export class H2Connection {
  readonly #client: boolean;
  readonly #opts: ConnectionOptions;
  readonly #streamWindow: number;
  readonly #connWindow: number;
  readonly #streams = new Map<number, H2Stream>();
  /** Streams with something queued to send. */
  readonly #sending = new Set<H2Stream>();
  readonly #hpack = new HpackDecoder();
  #prefaceLeft: number;
  #lastStream = 0;
  #nextStream = 1;
  #goaway = false;
  #peerSettingsSeen = false;
  #peerInitialWindow = 65535;
  #peerMaxFrame = DEFAULT_MAX_FRAME;
  #connSendWindow = 65535;
  #connUncredited = 0;
  #writable = true;
  #dead = false;
  #pumping = false;
  #again = false;
  // Partial input: collected bytes of the current frame header (hdr undefined) or payload.
  #acc: Uint8Array[] = [];
  #accLen = 0;
  #hdr?: { length: number; type: number; flags: number; stream: number };
  // A header block continued in CONTINUATION frames.
  #block?: { stream: number; flags: number; parts: Uint8Array[] };

  /** `role`: the client sends the preface and opens streams; the server takes the streams it opens. */
  constructor(role: "client" | "server", opts: ConnectionOptions) {
    this.#client = role === "client";
    this.#prefaceLeft = this.#client ? 0 : PREFACE.length;
    this.#opts = opts;
    this.#streamWindow = opts.streamWindow ?? 4 * 1024 * 1024;
    this.#connWindow = opts.connectionWindow ?? 8 * 1024 * 1024;
  }

  /** Send our connection preface (the client's magic, SETTINGS, and the connection window). */
  start(): void {
    const settings: [number, number][] = [[Setting.INITIAL_WINDOW_SIZE, this.#streamWindow]];
    if (this.#client) settings.unshift([Setting.ENABLE_PUSH, 0]);
    const raise = this.#connWindow - 65535;
    this.#opts.send([
      ...(this.#client ? [PREFACE] : []),
      settingsFrame(settings),
      // An increment of 0 is a protocol error.
      ...(raise > 0 ? [wordFrame(FrameType.WINDOW_UPDATE, 0, raise)] : []),
    ]);
  }

  /** Whether new streams may be opened (not closed, no GOAWAY from the peer). */
  get usable(): boolean {
    return !this.#dead && !this.#goaway;
  }

  /** Client side: open a stream with request `headers` (sent now) and its `events`. */
  request(headers: Header[], events: StreamEvents): H2Stream {
    const id = this.#nextStream;
    this.#nextStream += 2;
    const s = new H2Stream(id, headers, this, this.#peerInitialWindow, this.#streamWindow);
    s.events = events;
    s.headersSent = true;
    if (!this.usable) {
      s.localDone = s.remoteDone = true;
      queueMicrotask(() => events.reset(ErrorCode.REFUSED_STREAM, new Error("connection closed")));
      return s;
    }
    this.#lastStream = id;
    this.#streams.set(id, s);
    this.sendHeaders(id, headers, false);
    return s;
  }

  /** Whether the pipe takes more DATA now; held DATA resumes when it does again. */
  setWritable(writable: boolean): void {
    this.#writable = writable;
    if (writable) this.#pump();
  }

  /** Bytes from the client. */
  receive(chunk: Uint8Array): void {
    try {
      this.#receive(chunk);
    } catch (err) {
      if (!(err instanceof H2Error)) throw err;
      this.#fail(err);
    }
  }

  /** The pipe is gone (`err`: why): every stream is reset. */
  close(err?: Error): void {
    this.#dead = true;
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    this.#sending.clear();
    for (const s of streams) {
      s.localDone = s.remoteDone = true;
      s.events?.reset(ErrorCode.CANCEL, err);
    }
  }

  /** Headers (and CONTINUATIONs) for `stream` now; not flow-controlled. */
  sendHeaders(stream: number, headers: Header[], endStream: boolean): void {
    if (this.#dead) return;
    this.#opts.send(this.#headerFrames(stream, headers, endStream));
  }

  /** A stream has something queued. */
  schedule(s: H2Stream): void {
    this.#sending.add(s);
    this.#pump();
  }

  /** RST_STREAM for `s`; it is forgotten. */
  resetStream(s: H2Stream, code: number): void {
    if (s.localDone && s.remoteDone) return;
    this.#drop(s);
    if (!this.#dead) this.#opts.send([wordFrame(FrameType.RST_STREAM, s.id, code)]);
  }

  /** Return `n` bytes of `s`'s receive window (sent once a quarter of the window is due). */
  creditStream(s: H2Stream, n: number): void {
    if (s.remoteDone || this.#dead) return;
    s.uncredited += n;
    if (s.uncredited < this.#streamWindow / 4) return;
    s.recvWindow += s.uncredited;
    this.#opts.send([wordFrame(FrameType.WINDOW_UPDATE, s.id, s.uncredited)]);
    s.uncredited = 0;
  }

  #receive(chunk: Uint8Array): void {
    let pos = 0;
    if (this.#dead) return;
    if (this.#prefaceLeft > 0) {
      const n = Math.min(this.#prefaceLeft, chunk.length);
      const at = PREFACE.length - this.#prefaceLeft;
      for (let i = 0; i < n; i++) {
        if (chunk[i] !== PREFACE[at + i]) {
          throw new H2Error("bad connection preface", ErrorCode.PROTOCOL_ERROR);
        }
      }
      this.#prefaceLeft -= n;
      pos = n;
    }
    while (pos < chunk.length && !this.#dead) {
      const need = this.#hdr ? this.#hdr.length : HEADER_LENGTH;
      let unit: Uint8Array;
      if (this.#accLen === 0 && chunk.length - pos >= need) {
        unit = chunk.subarray(pos, pos + need);
        pos += need;
      } else {
        const n = Math.min(need - this.#accLen, chunk.length - pos);
        this.#acc.push(chunk.subarray(pos, pos + n));
        this.#accLen += n;
        pos += n;
        if (this.#accLen < need) return;
        unit = joinBytes(this.#acc, this.#accLen);
        this.#acc = [];
        this.#accLen = 0;
      }
      if (!this.#hdr) {
        const length = (unit[0] << 16) | (unit[1] << 8) | unit[2];
        const stream = ((unit[5] << 24) | (unit[6] << 16) | (unit[7] << 8) | unit[8]) & MAX_WINDOW;
        if (length > DEFAULT_MAX_FRAME) {
          throw new H2Error(`frame of ${length} bytes`, ErrorCode.FRAME_SIZE_ERROR);
        }
        this.#hdr = { length, type: unit[3], flags: unit[4], stream };
        if (length > 0) continue;
        unit = EMPTY;
      }
      const h = this.#hdr;
      this.#hdr = undefined;
      this.#frame(h.type, h.flags, h.stream, unit);
    }
  }

  #frame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (this.#block && type !== FrameType.CONTINUATION) {
      throw new H2Error("header block interrupted", ErrorCode.PROTOCOL_ERROR);
    }
    switch (type) {
      case FrameType.DATA:
        return this.#data(flags, id, payload);
      case FrameType.HEADERS: {
        if (id === 0 || id % 2 === 0) throw new H2Error(`HEADERS on stream ${id}`, ErrorCode.PROTOCOL_ERROR);
        if (this.#client && !this.#streams.has(id) && id >= this.#nextStream) {
          throw new H2Error(`HEADERS on idle stream ${id}`, ErrorCode.PROTOCOL_ERROR);
        }
        let p = payload;
        if (flags & Flag.PADDED) p = unpad(p);
        if (flags & Flag.PRIORITY) p = p.subarray(5);
        this.#block = { stream: id, flags, parts: [p] };
        if (flags & Flag.END_HEADERS) this.#headerBlock();
        return;
      }
      case FrameType.CONTINUATION:
        if (!this.#block || this.#block.stream !== id) {
          throw new H2Error("unexpected CONTINUATION", ErrorCode.PROTOCOL_ERROR);
        }
        this.#block.parts.push(payload);
        if (flags & Flag.END_HEADERS) this.#headerBlock();
        return;
      case FrameType.RST_STREAM: {
        const s = this.#streams.get(id);
        if (!s) return;
        this.#drop(s);
        s.events?.reset(payload.length >= 4 ? word(payload, 0) : ErrorCode.CANCEL);
        return;
      }
      case FrameType.SETTINGS:
        if (flags & Flag.ACK) return;
        return this.#settings(payload);
      case FrameType.PING:
        if (payload.length !== 8) throw new H2Error("PING of wrong size", ErrorCode.FRAME_SIZE_ERROR);
        if (!(flags & Flag.ACK)) this.#opts.send([frame(FrameType.PING, Flag.ACK, 0, payload.slice())]);
        return;
      case FrameType.WINDOW_UPDATE: {
        const inc = word(payload, 0) & MAX_WINDOW;
        if (id === 0) this.#connSendWindow += inc;
        else {
          const s = this.#streams.get(id);
          if (s) s.sendWindow += inc;
        }
        return this.#pump();
      }
      case FrameType.PUSH_PROMISE:
        // We never enable push.
        throw new H2Error("unexpected PUSH_PROMISE", ErrorCode.PROTOCOL_ERROR);
      case FrameType.GOAWAY:
        return this.#onGoaway(payload);
      default:
        // PRIORITY and unknown types.
        return;
    }
  }

  #data(flags: number, id: number, payload: Uint8Array): void {
    if (id === 0) throw new H2Error("DATA on stream 0", ErrorCode.PROTOCOL_ERROR);
    // The connection window is returned at once: each stream's own window bounds what piles up.
    this.#connUncredited += payload.length;
    if (this.#connUncredited >= this.#connWindow / 4) {
      this.#opts.send([wordFrame(FrameType.WINDOW_UPDATE, 0, this.#connUncredited)]);
      this.#connUncredited = 0;
    }
    const s = this.#streams.get(id);
    if (!s || s.remoteDone) {
      if (id > this.#lastStream) throw new H2Error(`DATA on idle stream ${id}`, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    s.recvWindow -= payload.length;
    if (s.recvWindow < 0) {
      // The peer overran our window: the stream is over, and its owner must hear it.
      this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR);
      return s.events?.reset(ErrorCode.FLOW_CONTROL_ERROR);
    }
    const data = flags & Flag.PADDED ? unpad(payload) : payload;
    if (data.length < payload.length) this.creditStream(s, payload.length - data.length);
    const end = (flags & Flag.END_STREAM) !== 0;
    if (end) this.#remoteEnd(s);
    s.events?.data(data, end);
  }

  #headerBlock(): void {
    const b = this.#block!;
    this.#block = undefined;
    let headers: Header[];
    try {
      headers = this.#hpack.decode(joinBytes(b.parts));
    } catch (err) {
      throw new H2Error(`header block: ${(err as Error).message}`, ErrorCode.COMPRESSION_ERROR);
    }
    const end = (b.flags & Flag.END_STREAM) !== 0;
    let s = this.#streams.get(b.stream);
    if (this.#client) {
      // Response headers or trailers of a stream we opened (or one we already forgot).
      if (!s || s.remoteDone) return;
      if (end) this.#remoteEnd(s);
      s.events?.headers?.(headers, end);
      return;
    }
    if (!s) {
      // A closed stream's trailers, or a new stream.
      if (b.stream <= this.#lastStream) return;
      this.#lastStream = b.stream;
      s = new H2Stream(b.stream, headers, this, this.#peerInitialWindow, this.#streamWindow);
      this.#streams.set(s.id, s);
      this.#opts.onStream?.(s);
      if (end) {
        this.#remoteEnd(s);
        s.events?.data(EMPTY, true);
      }
      return;
    }
    // Request trailers: only their END_STREAM matters to gRPC.
    if (end && !s.remoteDone) {
      this.#remoteEnd(s);
      s.events?.data(EMPTY, true);
    }
  }

  #settings(payload: Uint8Array): void {
    if (payload.length % 6 !== 0) throw new H2Error("SETTINGS of wrong size", ErrorCode.FRAME_SIZE_ERROR);
    for (let i = 0; i < payload.length; i += 6) {
      const id = (payload[i] << 8) | payload[i + 1];
      const value = word(payload, i + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new H2Error("window too large", ErrorCode.FLOW_CONTROL_ERROR);
        // RFC 9113 §6.9.2: the change applies to every open stream's window.
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const s of this.#streams.values()) s.sendWindow += delta;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME || value > 0xffffff) {
          throw new H2Error("bad MAX_FRAME_SIZE", ErrorCode.PROTOCOL_ERROR);
        }
        this.#peerMaxFrame = value;
      }
    }
    this.#opts.send([frame(FrameType.SETTINGS, Flag.ACK, 0)]);
    if (!this.#peerSettingsSeen) {
      this.#peerSettingsSeen = true;
      this.#opts.onReady?.();
    }
    this.#pump();
  }

  // Streams the peer will not process are reset; the others run to their end.
  #onGoaway(payload: Uint8Array): void {
    if (payload.length < 8) throw new H2Error("GOAWAY of wrong size", ErrorCode.FRAME_SIZE_ERROR);
    const last = word(payload, 0) & MAX_WINDOW;
    const code = word(payload, 4);
    this.#goaway = true;
    const refused = new Error(`the peer is going away (GOAWAY ${code})`);
    for (const s of [...this.#streams.values()]) {
      if (s.id <= last || s.id % 2 !== (this.#client ? 1 : 0)) continue;
      this.#drop(s);
      s.events?.reset(ErrorCode.REFUSED_STREAM, refused);
    }
  }

  #remoteEnd(s: H2Stream): void {
    s.remoteDone = true;
    if (s.localDone) this.#forget(s);
  }

  // Our END_STREAM went out: nothing more to send on `s`.
  #localEnd(s: H2Stream): void {
    s.localDone = true;
    this.#sending.delete(s);
    if (s.remoteDone) this.#forget(s);
  }

  // Both sides are over (a reset either way, or GOAWAY): nothing queued is sent.
  #drop(s: H2Stream): void {
    s.localDone = s.remoteDone = true;
    s.queue.length = 0;
    this.#forget(s);
  }

  #forget(s: H2Stream): void {
    this.#streams.delete(s.id);
    this.#sending.delete(s);
  }

  #fail(err: H2Error): void {
    if (this.#dead) return;
    this.#opts.send([wordFrame(FrameType.GOAWAY, 0, this.#client ? 0 : this.#lastStream, err.code)]);
    this.close(err);
    this.#opts.onError?.(err);
  }

  #headerFrames(stream: number, headers: Header[], endStream: boolean): Uint8Array[] {
    const block = encodeHeaders(headers);
    const out: Uint8Array[] = [];
    const max = this.#peerMaxFrame;
    for (let at = 0; at === 0 || at < block.length; at += max) {
      const part = block.subarray(at, at + max);
      const last = at + max >= block.length;
      const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (last ? Flag.END_HEADERS : 0) | (at === 0 && endStream ? Flag.END_STREAM : 0);
      out.push(frameHeader(part.length, type, flags, stream), part);
    }
    return out;
  }

  // Move queued DATA and trailers out, a frame per ready stream in turn, within both windows; callbacks of
  // finished writes run after the batch is handed over (they may queue more, which loops here again).
  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        let out: Uint8Array[] = [];
        let done: (() => void)[] = [];
        let bytes = 0;
        // Hand over in slices, so the pipe can say it is full before a whole window has gone by.
        const handOver = () => {
          const [o, d] = [out, done];
          [out, done, bytes] = [[], [], 0];
          if (o.length) this.#opts.send(o);
          for (const f of d) f();
        };
        let moved = true;
        while (moved && this.#sending.size > 0 && !this.#dead) {
          moved = false;
          for (const s of this.#sending) {
            const n = this.#sendOne(s, out, done);
            if (n < 0) continue;
            moved = true;
            if ((bytes += n) >= SLICE) handOver();
          }
        }
        handOver();
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
  }

  // One frame of `s`'s queue into `out`: its DATA bytes, or -1 when nothing can move now.
  #sendOne(s: H2Stream, out: Uint8Array[], done: (() => void)[]): number {
    const item = s.queue[0];
    if (!item) {
      this.#sending.delete(s);
      return -1;
    }
    if (item.kind !== "data") {
      s.queue.shift();
      if (item.kind === "fin") out.push(frameHeader(0, FrameType.DATA, Flag.END_STREAM, s.id));
      else out.push(...this.#headerFrames(s.id, item.headers, true));
      s.headersSent = true;
      this.#localEnd(s);
      return 0;
    }
    if (!this.#writable) return -1;
    const n = Math.min(item.left, this.#peerMaxFrame, s.sendWindow, this.#connSendWindow);
    if (n <= 0) return -1;
    out.push(frameHeader(n, FrameType.DATA, 0, s.id));
    let need = n;
    while (need > 0) {
      const p = item.parts[item.part];
      const take = Math.min(need, p.length - item.offset);
      out.push(take === p.length ? p : p.subarray(item.offset, item.offset + take));
      item.offset += take;
      need -= take;
      if (item.offset === p.length) {
        item.part++;
        item.offset = 0;
      }
    }
    s.sendWindow -= n;
    this.#connSendWindow -= n;
    item.left -= n;
    if (item.left === 0) {
      s.queue.shift();
      if (item.done) done.push(item.done);
    }
    return n;
  }
}

const EMPTY = new Uint8Array(0);
/** DATA bytes handed to the pipe at a time. */
const SLICE = 256 * 1024;

function word(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function unpad(p: Uint8Array): Uint8Array {
  const pad = p[0] ?? 0;
  if (p.length === 0 || pad >= p.length) throw new H2Error("bad padding", ErrorCode.PROTOCOL_ERROR);
  return p.subarray(1, p.length - pad);
}
