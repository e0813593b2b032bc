/**
 * A gRPC client on our own HTTP/2 connection (connection.ts): one connection at a time over whatever byte pipe
 * `dial` opens (TCP, TLS, unix socket, a helper's stdio), dialed on the first call and again after it failed.
 * Calls are object-mode Duplexes shaped like grpc-js's (data/end/status/error events, write with a callback,
 * cancel()), so callers written for grpc-js keep working. Failures carry grpc-js's wording for the same cases.
 */
import { Duplex } from "node:stream";
import { BufferPool } from "../runtime/pool.ts";
import { H2Connection, type H2Stream, type Header } from "./connection.ts";
import { ErrorCode } from "./frames.ts";
import { ReadCredit } from "./read_credit.ts";
import {
  messagePrefix,
  MessageReader,
  percentDecode,
  Status,
  statusName,
  type StatusObject,
} from "./status.ts";

/** Frames handed to the pipe at once fit these (the connection hands DATA over 256 KiB at a time). */
const OUT = 320 * 1024;
const outPool = new BufferPool(OUT, 8);

/** Opens a connected byte pipe to the server (TLS done, if any). */
export type Dial = (signal: AbortSignal) => Promise<Duplex>;

/** Response metadata (headers and trailers) as grpc-js exposes it: `-bin` values decoded to bytes. */
export class ResponseMetadata {
  constructor(readonly entries: Header[] = []) {}
  /** Every value of `key`. */
  get(key: string): (string | Buffer)[] {
    const values = this.entries.filter(([k]) => k === key).map(([, v]) => v);
    return key.endsWith("-bin") ? values.map((v) => Buffer.from(v, "base64")) : values;
  }
}

/** A call's failure: its gRPC status (grpc-js's ServiceError shape: code, details, metadata). */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly metadata: ResponseMetadata = new ResponseMetadata(),
  ) {
    super(`${code} ${statusName(code)}: ${details}`);
    this.name = "GrpcCallError";
  }
}

/** Per-call options. */
export interface ClientCallOptions {
  signal?: AbortSignal;
  /** Deadline relative to now; absent means none. */
  timeoutMs?: number;
  /** Request metadata; an array value is sent as one header per item. */
  metadata?: Record<string, string | string[]>;
}

/** Options of {@link GrpcClient}. */
export interface GrpcClientOptions {
  /** The :authority header (host:port, or `localhost` for pipes). */
  authority: string;
  /** `https` over TLS. */
  scheme?: "http" | "https";
  /** Receive windows (bytes the server may send ahead of our reading), per stream and in all. */
  streamWindow?: number;
  connectionWindow?: number;
}

interface Conn {
  h2: H2Connection;
  pipe: Duplex;
  closed: boolean;
}

/** A gRPC client; close() it when done. */
export class GrpcClient {
  readonly #dial: Dial;
  readonly #opts: GrpcClientOptions;
  readonly #abort = new AbortController();
  readonly #calls = new Set<{ cancel(): void }>();
  #live?: Conn;
  #dialing?: Promise<Conn>;
  #closed = false;

  constructor(dial: Dial, opts: GrpcClientOptions) {
    this.#dial = dial;
    this.#opts = opts;
  }

  /** A call to `path`; `serialize`/`deserialize` turn messages into bytes and back. */
  call<Req, Res>(
    path: string,
    serialize: (m: Req) => Uint8Array,
    deserialize: (b: Buffer) => Res,
    opts: ClientCallOptions = {},
  ): ClientCall<Req, Res> {
    const call = new ClientCall<Req, Res>(this, path, serialize, deserialize, opts);
    this.#calls.add(call);
    call.once("status", () => this.#calls.delete(call));
    return call;
  }

  /** One request, one response. */
  unary<Req, Res>(
    path: string,
    serialize: (m: Req) => Uint8Array,
    deserialize: (b: Buffer) => Res,
    request: Req,
    opts: ClientCallOptions = {},
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      const call = this.call(path, serialize, deserialize, opts);
      let response: Res | undefined;
      let got = false;
      call.on("data", (m: Res) => {
        response = m;
        got = true;
      });
      call.on("error", () => {});
      call.once("status", (s: StatusObject & { metadata?: ResponseMetadata }) => {
        if (s.code !== Status.OK) reject(new GrpcCallError(s.code, s.details, s.metadata));
        else if (!got) reject(new GrpcCallError(Status.INTERNAL, "No message received"));
        else resolve(response!);
      });
      call.end(request);
    });
  }

  /** Cancel every call and close the connection. */
  close(): void {
    this.#closed = true;
    this.#abort.abort();
    for (const c of [...this.#calls]) c.cancel();
    this.#live?.pipe.destroy();
    this.#live = undefined;
  }

  /** @internal Headers every request carries. */
  requestHeaders(path: string, opts: ClientCallOptions): Header[] {
    const h: Header[] = [
      [":method", "POST"],
      [":scheme", this.#opts.scheme ?? "http"],
      [":path", path],
      [":authority", this.#opts.authority],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["user-agent", "envd-lite"],
    ];
    if (opts.timeoutMs !== undefined) h.push(["grpc-timeout", `${Math.max(1, Math.ceil(opts.timeoutMs))}m`]);
    for (const [k, v] of Object.entries(opts.metadata ?? {})) {
      for (const x of Array.isArray(v) ? v : [v]) h.push([k.toLowerCase(), x]);
    }
    return h;
  }

  /** @internal The live connection, dialing it if needed. */
  connection(): Promise<Conn> {
    if (this.#closed) return Promise.reject(new GrpcCallError(Status.UNAVAILABLE, "Channel closed"));
    const c = this.#live;
    if (c && !c.closed && c.h2.usable) return Promise.resolve(c);
    this.#dialing ??= this.#connect().then(
      (c) => {
        this.#dialing = undefined;
        this.#live = c;
        return c;
      },
      (err) => {
        this.#dialing = undefined;
        throw err;
      },
    );
    return this.#dialing;
  }

  // Dial, then wait for the server's SETTINGS: a peer that accepts but never speaks HTTP/2 is not connected.
  async #connect(): Promise<Conn> {
    let pipe: Duplex;
    try {
      pipe = await this.#dial(this.#abort.signal);
    } catch (err) {
      throw new GrpcCallError(
        Status.UNAVAILABLE,
        `No connection established. Last error: ${describeError(err)}`,
      );
    }
    return await new Promise<Conn>((resolve, reject) => {
      let ready = false;
      const conn: Conn = { pipe, closed: false, h2: undefined! };
      let full = false;
      const h2 = new H2Connection("client", {
        send: (parts) => {
          if (conn.closed || pipe.destroyed) return;
          // One write per batch of frames, copied (the parts may be reused once send returns) into a buffer
          // that goes back to the pool once written: an upload makes no garbage here.
          let n = 0;
          for (const p of parts) n += p.length;
          let ok: boolean;
          if (n <= OUT) {
            const buf = outPool.take();
            let at = 0;
            for (const p of parts) {
              buf.set(p, at);
              at += p.length;
            }
            ok = pipe.write(buf.subarray(0, n), () => outPool.give(buf));
          } else ok = pipe.write(Buffer.concat(parts, n));
          if (!ok && !full) {
            full = true;
            h2.setWritable(false);
            pipe.once("drain", () => {
              full = false;
              h2.setWritable(true);
            });
          }
        },
        onReady: () => {
          ready = true;
          resolve(conn);
        },
        onError: (err) => down(err),
        streamWindow: this.#opts.streamWindow ?? 16 * 1024 * 1024,
        connectionWindow: this.#opts.connectionWindow ?? 16 * 1024 * 1024,
      });
      conn.h2 = h2;
      let pipeError: Error | undefined;
      const down = (err?: Error) => {
        if (conn.closed) return;
        conn.closed = true;
        const cause = err ?? pipeError;
        h2.close(new Error(cause ? `Connection dropped: ${cause.message}` : "Connection dropped"));
        pipe.destroy();
        if (!ready) {
          reject(
            new GrpcCallError(
              Status.UNAVAILABLE,
              `No connection established. Last error: ${cause ? describeError(cause) : "Connection closed"}`,
            ),
          );
        }
      };
      pipe.on("data", (b: Buffer) => h2.receive(b));
      pipe.on("error", (err: Error) => {
        pipeError ??= err;
      });
      pipe.on("end", () => down());
      pipe.on("close", () => down());
      h2.start();
    });
  }
}

/**
 * One call. Readable side: response messages; writable side: request messages (end() half-closes). Emits
 * "status" ({code, details, metadata}) once, then "end" (OK) or "error" (a GrpcCallError) after it.
 */
export class ClientCall<Req = unknown, Res = unknown> extends Duplex {
  readonly #client: GrpcClient;
  readonly #path: string;
  readonly #serialize: (m: Req) => Uint8Array;
  readonly #deserialize: (b: Buffer) => Res;
  readonly #opts: ClientCallOptions;
  readonly #reader = new MessageReader();
  #stream?: H2Stream;
  #opening?: Promise<H2Stream | undefined>;
  #done = false;
  readonly #credit = new ReadCredit((n) => this.#stream?.credit(n));
  #timer?: ReturnType<typeof setTimeout>;
  #onAbort?: () => void;
  #responseMetadata: Header[] = [];

  constructor(
    client: GrpcClient,
    path: string,
    serialize: (m: Req) => Uint8Array,
    deserialize: (b: Buffer) => Res,
    opts: ClientCallOptions,
  ) {
    super({ objectMode: true, allowHalfOpen: true, writableHighWaterMark: 4 });
    this.#client = client;
    this.#path = path;
    this.#serialize = serialize;
    this.#deserialize = deserialize;
    this.#opts = opts;
    if (opts.timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        const connected = Boolean(this.#stream);
        this.#fail(
          Status.DEADLINE_EXCEEDED,
          connected ? "Deadline exceeded" : "Deadline exceeded while waiting for connection",
        );
      }, opts.timeoutMs);
    }
    if (opts.signal) {
      if (opts.signal.aborted) queueMicrotask(() => this.cancel());
      else {
        this.#onAbort = () => this.cancel();
        opts.signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
    this.#opening = this.#open();
  }

  /** Cancel the call: it ends with CANCELLED. */
  cancel(): void {
    this.#fail(Status.CANCELLED, "Cancelled on client");
  }

  override _read(): void {
    this.#credit.release();
  }

  override _write(msg: Req, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let bytes: Uint8Array;
    try {
      bytes = this.#serialize(msg);
    } catch (err) {
      this.#fail(Status.INTERNAL, `Request message serialization failure: ${(err as Error).message}`);
      return cb();
    }
    void this.#opening!.then((s) => {
      if (!s || this.#done) return cb();
      s.write([messagePrefix(bytes.length), bytes], () => cb());
    });
  }

  override _final(cb: (err?: Error | null) => void): void {
    void this.#opening!.then((s) => {
      if (s && !this.#done) s.end();
      cb();
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#done) this.#fail(Status.CANCELLED, "Cancelled on client");
    cb(err);
  }

  async #open(): Promise<H2Stream | undefined> {
    let conn;
    try {
      conn = await this.#client.connection();
    } catch (err) {
      const e = err as GrpcCallError;
      this.#fail(e.code ?? Status.UNAVAILABLE, e.details ?? String(err));
      return undefined;
    }
    if (this.#done) return undefined;
    this.#stream = conn.h2.request(this.#client.requestHeaders(this.#path, this.#opts), {
      headers: (h, end) => this.#onHeaders(h, end),
      data: (payload, end) => this.#onData(payload, end),
      reset: (code, err) => this.#onReset(code, err),
    });
    return this.#stream;
  }

  #onHeaders(headers: Header[], end: boolean): void {
    const status = headers.find(([k]) => k === ":status")?.[1];
    this.#responseMetadata.push(...headers.filter(([k]) => !k.startsWith(":")));
    if (status !== undefined && status !== "200") {
      return this.#fail(httpToGrpc(Number(status)), `Received HTTP status code ${status}`);
    }
    const code = headers.find(([k]) => k === "grpc-status")?.[1];
    if (code === undefined) {
      if (end) this.#fail(Status.UNKNOWN, "Received no status code from the server");
      return;
    }
    const details = percentDecode(headers.find(([k]) => k === "grpc-message")?.[1] ?? "");
    this.#finish(Number(code), details);
  }

  #onData(payload: Uint8Array, end: boolean): void {
    if (this.#done) return;
    let messages: Buffer[];
    try {
      messages = this.#reader.feed(payload);
    } catch (err) {
      const s = err as StatusObject;
      return this.#fail(s.code, s.details);
    }
    for (const m of messages) {
      let msg: Res;
      try {
        msg = this.#deserialize(m);
      } catch (err) {
        return this.#fail(Status.INTERNAL, `Response message parsing error: ${(err as Error).message}`);
      }
      if (!this.push(msg)) this.#credit.hold();
    }
    this.#credit.received(payload.length);
    if (end) this.#fail(Status.INTERNAL, "Received RST_STREAM or END_STREAM without trailers");
  }

  #onReset(code: number, err?: Error): void {
    if (this.#done) return;
    if (err) return this.#fail(Status.UNAVAILABLE, err.message);
    switch (code) {
      case ErrorCode.REFUSED_STREAM:
        return this.#fail(Status.UNAVAILABLE, `Stream refused by server`);
      case ErrorCode.CANCEL:
        return this.#fail(Status.CANCELLED, "Call cancelled");
      default:
        return this.#fail(Status.INTERNAL, `Received RST_STREAM with code ${code}`);
    }
  }

  // The server's final status.
  #finish(code: number, details: string): void {
    if (this.#done) return;
    this.#settle();
    // The call is over: a side we never ended is reset, as grpc-go does, so the stream is not kept open.
    if (this.#stream && !this.#stream.localDone) this.#stream.reset(ErrorCode.CANCEL);
    const metadata = new ResponseMetadata(this.#responseMetadata);
    this.emit("status", { code, details, metadata });
    if (code === Status.OK) this.push(null);
    else this.destroy(new GrpcCallError(code, details, metadata));
  }

  // A local end (cancel, deadline, connection loss): the stream is reset if it was open.
  #fail(code: number, details: string): void {
    if (this.#done) return;
    this.#stream?.reset(ErrorCode.CANCEL);
    this.#finish(code, details);
  }

  #settle(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    if (this.#onAbort) this.#opts.signal?.removeEventListener("abort", this.#onAbort);
  }
}

// gRPC's mapping of HTTP statuses a proxy may answer with.
function httpToGrpc(status: number): number {
  switch (status) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

// As grpc-js words a socket error: "Error: connect ECONNREFUSED 127.0.0.1:9".
function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
