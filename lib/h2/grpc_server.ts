/**
 * A gRPC server on {@link H2ServerConnection}: the subset of grpc-js's server API the session services use (unary
 * handlers with a callback, streaming calls as object-mode Duplexes with metadata, write/end, and a failure status
 * through `emit("error", status)` or `destroy(err)`), without grpc-js's server or a second HTTP/2 stack.
 */
import { Duplex } from "node:stream";
import type { Header, ServerStream } from "./connection.ts";

/** gRPC status codes. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A status code's name (`NOT_FOUND`), for logs. */
export function statusName(code: number): string {
  return Object.entries(Status).find(([, c]) => c === code)?.[0] ?? `code ${code}`;
}

/** How a call failed: a gRPC code and its message. */
export interface StatusObject {
  code: number;
  details: string;
}

/** A method as grpc-js describes it (grpc-js's MethodDefinition fits). */
export interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(value: never): Buffer;
}

/** Methods by local name. */
export type ServiceDef = Record<string, MethodDef>;
/** A unary handler's answer. */
export type UnaryCallback<T = unknown> = (err: Partial<StatusObject> | null, value?: T | null) => void;
// deno-lint-ignore no-explicit-any
type AnyHandler = (call: any, cb: UnaryCallback<any>) => void;
/** Handlers by the same local names as the definition. */
export type ServiceImpl = Record<string, AnyHandler>;

/** Request metadata: every non-pseudo header, each value as sent (repeated keys keep every value). */
export class Metadata {
  readonly #entries: Header[];
  constructor(entries: Header[]) {
    this.#entries = entries.filter(([k]) => !k.startsWith(":"));
  }
  /** Every value of `key`, in order. */
  get(key: string): string[] {
    return this.#entries.filter(([k]) => k === key).map(([, v]) => v);
  }
  /** The first value of each key. */
  getMap(): Record<string, string> {
    const m: Record<string, string> = {};
    for (const [k, v] of this.#entries) if (!(k in m)) m[k] = v;
    return m;
  }
}

/** A unary (or server-streaming) call's request. */
export interface UnaryCall<Req> {
  request: Req;
  metadata: Metadata;
}

/** Messages larger than this are refused (as grpc-js's max_receive_message_length). */
const MAX_MESSAGE = 16 * 1024 * 1024;

/**
 * One call: reads are request messages, writes response messages. `end()` finishes with OK; `emit("error", s)` or
 * `destroy(err)` with a numeric `code` finishes with that status; the client going away emits "cancelled".
 */
export class ServerCall<Req = unknown> extends Duplex {
  readonly metadata: Metadata;
  /** The request of unary and server-streaming calls. */
  request!: Req;
  readonly #stream: ServerStream;
  readonly #method: MethodDef;
  #finished = false;
  // Request reassembly: bytes of the current message not yet complete.
  #parts: Uint8Array[] = [];
  #have = 0;
  #want = -1;
  #backedUp = false;
  #uncredited = 0;
  /** For unary requests: the messages, delivered together at the end. */
  readonly #collect?: unknown[];

  constructor(stream: ServerStream, method: MethodDef, collect: boolean) {
    super({ objectMode: true, allowHalfOpen: true, writableHighWaterMark: 4 });
    this.#stream = stream;
    this.#method = method;
    this.metadata = new Metadata(stream.headers);
    if (collect) this.#collect = [];
    this.on("error", (err: Partial<StatusObject> & { message?: string }) => this.#finish(statusOf(err)));
  }

  /** Request bytes from the connection. */
  onData(payload: Uint8Array, end: boolean): unknown[] | undefined {
    if (payload.length) this.#take(payload);
    if (this.#backedUp || this.#finished) this.#uncredited += payload.length;
    else this.#stream.credit(payload.length);
    if (!end) return undefined;
    if (this.#have > 0 || this.#want >= 0) {
      this.#finish({ code: Status.INTERNAL, details: "request ended inside a message" });
      return undefined;
    }
    if (this.#collect) return this.#collect;
    this.push(null);
    return undefined;
  }

  /** The client reset the stream or the connection ended. */
  onReset(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.emit("cancelled");
    this.destroy();
  }

  /** Whether the status has been sent (or the client is gone). */
  get finished(): boolean {
    return this.#finished;
  }

  /** Finish with `status` (the first status wins). */
  sendStatus(status: StatusObject): void {
    this.#finish(status);
  }

  override _read(): void {
    if (!this.#backedUp) return;
    this.#backedUp = false;
    const n = this.#uncredited;
    this.#uncredited = 0;
    if (n) this.#stream.credit(n);
  }

  override _write(msg: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#finished) return cb();
    let bytes: Buffer;
    try {
      bytes = this.#method.responseSerialize(msg as never);
    } catch (err) {
      this.#finish({ code: Status.INTERNAL, details: `serializing the response: ${(err as Error).message}` });
      return cb();
    }
    this.#stream.respond(RESPONSE_HEADERS);
    this.#stream.write([messagePrefix(bytes.length), bytes], () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#finish({ code: Status.OK, details: "" });
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#finished) {
      if (err) this.#finish(statusOf(err));
      else this.#finish({ code: Status.CANCELLED, details: "cancelled by the server" });
    }
    // A failure has become a status; the stream itself must not throw it again.
    cb();
  }

  #finish(status: StatusObject): void {
    if (this.#finished) return;
    this.#finished = true;
    const trailers: Header[] = [["grpc-status", String(status.code)]];
    if (status.details) trailers.push(["grpc-message", percentEncode(status.details)]);
    if (!this.#stream.headersSent) {
      // Trailers-only response.
      this.#stream.headersSent = true;
      this.#stream.end([...RESPONSE_HEADERS, ...trailers]);
    } else this.#stream.end(trailers);
    // Whatever the client still sends is of no use: let it flow.
    if (this.#uncredited) this.#stream.credit(this.#uncredited);
    this.#uncredited = 0;
  }

  #take(payload: Uint8Array): void {
    let pos = 0;
    while (pos < payload.length && !this.#finished) {
      if (this.#want < 0) {
        // The 5-byte prefix: compressed flag and length.
        const n = Math.min(5 - this.#have, payload.length - pos);
        this.#parts.push(payload.subarray(pos, pos + n));
        this.#have += n;
        pos += n;
        if (this.#have < 5) return;
        const head = join(this.#parts, 5);
        this.#parts = [];
        this.#have = 0;
        if (head[0] !== 0) {
          return this.#finish({
            code: Status.UNIMPLEMENTED,
            details: "compressed messages are not accepted",
          });
        }
        this.#want = ((head[1] << 24) | (head[2] << 16) | (head[3] << 8) | head[4]) >>> 0;
        if (this.#want > MAX_MESSAGE) {
          return this.#finish({
            code: Status.RESOURCE_EXHAUSTED,
            details: `message of ${this.#want} bytes is over the limit of ${MAX_MESSAGE}`,
          });
        }
        if (this.#want > 0) continue;
      } else {
        const n = Math.min(this.#want - this.#have, payload.length - pos);
        this.#parts.push(payload.subarray(pos, pos + n));
        this.#have += n;
        pos += n;
        if (this.#have < this.#want) return;
      }
      const body = join(this.#parts, this.#want);
      this.#parts = [];
      this.#have = 0;
      this.#want = -1;
      this.#deliver(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    }
  }

  #deliver(bytes: Buffer): void {
    let msg: unknown;
    try {
      msg = this.#method.requestDeserialize(bytes);
    } catch (err) {
      return this.#finish({
        code: Status.INTERNAL,
        details: `parsing the request: ${(err as Error).message}`,
      });
    }
    if (this.#collect) this.#collect.push(msg);
    else if (!this.push(msg)) this.#backedUp = true;
  }
}

/** Serves registered services on the streams of a connection. */
export class GrpcServer {
  readonly #methods = new Map<string, { def: MethodDef; handler: AnyHandler }>();

  /** Register `impl`'s handlers for the methods of `def`. */
  addService(def: ServiceDef, impl: ServiceImpl): void {
    for (const [name, m] of Object.entries(def)) {
      const handler = impl[name] as AnyHandler | undefined;
      if (handler) this.#methods.set(m.path, { def: m, handler });
    }
  }

  /** Take a new stream of `conn` (its onStream hook). */
  serve(stream: ServerStream): void {
    const path = stream.headers.find(([k]) => k === ":path")?.[1] ?? "";
    const entry = this.#methods.get(path);
    if (!entry) {
      stream.events = { data: () => {}, reset: () => {} };
      stream.end([...RESPONSE_HEADERS, ["grpc-status", String(Status.UNIMPLEMENTED)], [
        "grpc-message",
        percentEncode(`unknown method ${path}`),
      ]]);
      return;
    }
    const { def, handler } = entry;
    const call = new ServerCall(stream, def, !def.requestStream);
    stream.events = {
      data: (payload, end) => {
        const requests = call.onData(payload, end);
        if (requests) this.#runUnary(call, def, handler, requests);
      },
      reset: () => call.onReset(),
    };
    if (def.requestStream) handler(call, unusedCallback);
  }

  #runUnary(call: ServerCall, def: MethodDef, handler: AnyHandler, requests: unknown[]): void {
    if (requests.length !== 1) {
      return call.sendStatus({
        code: Status.UNIMPLEMENTED,
        details: `expected one request message, got ${requests.length}`,
      });
    }
    call.request = requests[0];
    if (def.responseStream) return handler(call, unusedCallback);
    handler(call, (err, value) => {
      if (err) return call.sendStatus(statusOf(err));
      call.end(value);
    });
  }
}

const RESPONSE_HEADERS: Header[] = [[":status", "200"], ["content-type", "application/grpc"]];
const unusedCallback: UnaryCallback = () => {};

function statusOf(err: Partial<StatusObject> & { message?: string }): StatusObject {
  const code = typeof err?.code === "number" ? err.code : Status.UNKNOWN;
  return { code, details: err?.details ?? err?.message ?? "" };
}

function messagePrefix(n: number): Uint8Array {
  const b = new Uint8Array(5);
  new DataView(b.buffer).setUint32(1, n);
  return b;
}

function join(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// gRPC's grpc-message encoding: percent-encode bytes outside printable ASCII, and '%'.
function percentEncode(s: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(s)) return s;
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
