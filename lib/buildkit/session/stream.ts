/** Helpers for the session's bidi handlers: raw-bytes method definitions and a writer that honours backpressure. */
import type { MethodDef, ServerCall, StatusObject } from "../../h2/grpc_server.ts";

/** A bidi method whose messages stay raw Buffers (the handler frames and parses them itself). */
export function rawMethod(path: string): MethodDef {
  const raw = (b: Buffer) => b;
  return { path, requestStream: true, responseStream: true, requestDeserialize: raw, responseSerialize: raw };
}

/**
 * Writes to a server call, waiting for 'drain' when the call's buffer is full, so a fast reader (the disk) cannot
 * pile a whole tree into memory. Once closed (ended, failed, or the peer went away) further sends are dropped.
 */
export class Writer {
  readonly #call: ServerCall<Buffer>;
  #closed = false;
  #drain?: Promise<void>;
  #wake?: () => void;

  constructor(call: ServerCall<Buffer>) {
    this.#call = call;
    const gone = () => this.abandon();
    call.once("cancelled", gone);
    call.once("close", gone);
  }

  /** Whether nothing more will be written. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Write one message; resolves when there is room for more. `written` runs once the call is done with `msg`. */
  async send(msg: Buffer, written?: () => void): Promise<void> {
    if (this.#closed) return;
    if (this.#call.write(msg, written)) return;
    this.#drain ??= new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#call.once("drain", () => {
        this.#drain = undefined;
        resolve();
      });
    });
    await this.#drain;
  }

  /** Write `last` (if any) and end the call with OK. */
  close(last?: Buffer): void {
    if (this.#closed) return;
    this.#closed = true;
    if (last) this.#call.write(last);
    this.#call.end();
    this.#wakeUp();
  }

  /** Write `last` (if any) and end the call with `status`. */
  fail(status: StatusObject, last?: Buffer): void {
    if (this.#closed) return;
    this.#closed = true;
    if (last) this.#call.write(last);
    this.#call.emit("error", status);
    this.#wakeUp();
  }

  /** The peer is gone: stop writing. */
  abandon(): void {
    this.#closed = true;
    this.#wakeUp();
  }

  #wakeUp(): void {
    this.#wake?.();
    this.#drain = undefined;
  }
}

/**
 * The messages of a server call as an async iterable that throws when the peer cancels (a plain Readable iterator
 * would just stop, and a truncated export would look complete). Reading pauses the call while the consumer lags.
 */
export async function* readMessages<T = Buffer>(
  call: ServerCall<T>,
): AsyncGenerator<T> {
  const queue: T[] = [];
  let done = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const onData = (b: T) => {
    queue.push(b);
    if (queue.length >= 16) call.pause();
    notify();
  };
  const onEnd = () => {
    done = true;
    notify();
  };
  const onCancel = () => {
    failure ??= new Error("cancelled by buildkitd");
    notify();
  };
  const onError = (err: Error) => {
    failure ??= err;
    notify();
  };
  call.on("data", onData);
  call.once("end", onEnd);
  call.once("cancelled", onCancel);
  call.once("error", onError);
  try {
    for (;;) {
      if (queue.length > 0) {
        const b = queue.shift()!;
        if (queue.length < 4) call.resume();
        yield b;
        continue;
      }
      if (failure) throw failure;
      if (done) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    call.off("data", onData);
    call.off("end", onEnd);
    call.off("cancelled", onCancel);
    call.off("error", onError);
  }
}
