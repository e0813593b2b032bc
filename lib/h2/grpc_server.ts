/**
 * A gRPC server on {@link H2Connection}: the subset of grpc-js's server API the session services use (unary
 * handlers with a callback, streaming calls as object-mode Duplexes with metadata, write/end, and a failure status
 * through `emit("error", status)` or `destroy(err)`), without grpc-js's server or a second HTTP/2 stack.
 */
import { Duplex } from "node:stream";
import type { H2Stream, Header } from "./connection.ts";
import { ReadCredit } from "./read_credit.ts";
import { messagePrefix, MessageReader, percentEncode, Status, type StatusObject } from "./status.ts";

export { Status, statusName, type StatusObject } from "./status.ts";

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

/**
 * One call: reads are request messages, writes response messages. `end()` finishes with OK; `emit("error", s)` or
 * `destroy(err)` with a numeric `code` finishes with that status; the client going away emits "cancelled".
 */
export class ServerCall<Req = unknown> extends Duplex {
  readonly metadata: Metadata;
  /** The request of unary and server-streaming calls. */
  request!: Req;
  readonly #stream: H2Stream;
  readonly #method: MethodDef;
  #finished = false;
  readonly #reader = new MessageReader();
  readonly #credit: ReadCredit;
  /** For unary requests: the messages, delivered together at the end. */
  readonly #collect?: unknown[];

  constructor(stream: H2Stream, method: MethodDef, collect: boolean) {
    super({ objectMode: true, allowHalfOpen: true, writableHighWaterMark: 4 });
    this.#stream = stream;
    this.#method = method;
    this.#credit = new ReadCredit((n) => stream.credit(n));
    this.metadata = new Metadata(stream.headers);
    if (collect) this.#collect = [];
    this.on("error", (err: Partial<StatusObject> & { message?: string }) => this.#finish(statusOf(err)));
  }

  /** Request bytes from the connection. */
  onData(payload: Uint8Array, end: boolean): unknown[] | undefined {
    if (payload.length) this.#take(payload);
    this.#credit.received(payload.length);
    if (!end) return undefined;
    if (!this.#reader.atBoundary) {
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

  /** Finish with `status` (the first status wins). */
  sendStatus(status: StatusObject): void {
    this.#finish(status);
  }

  override _read(): void {
    this.#credit.release();
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
    this.#credit.release();
  }

  #take(payload: Uint8Array): void {
    let messages: Buffer[];
    try {
      messages = this.#reader.feed(payload);
    } catch (err) {
      return this.#finish(err as StatusObject);
    }
    for (const m of messages) {
      if (this.#finished) return;
      this.#deliver(m);
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
    else if (!this.push(msg)) this.#credit.hold();
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
  serve(stream: H2Stream): void {
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
