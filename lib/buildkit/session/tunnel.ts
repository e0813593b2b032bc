/**
 * The Session call as the byte pipe of the session's inner HTTP/2 connection: BytesMessage payloads both ways.
 * Outgoing frames gathered in one turn of the event loop travel as one message; DATA is held back while too much
 * is still queued in the Session call (its write callbacks tell), so a fast disk cannot pile an upload into memory.
 */
import { GcPacer } from "../../runtime/gc.ts";
import { bulkJit } from "../../runtime/jit.ts";
import { decodeBytesMessage, varintSize, writeVarint } from "./packets.ts";
import { BufferPool } from "../../runtime/pool.ts";

/** The Session call with raw serializers: each message is an encoded BytesMessage (lib/h2's ClientCall). */
export interface RawSessionCall {
  /** `cb` runs once the message is on its way (its buffer may be reused then). */
  write(msg: Buffer, cb?: () => void): boolean;
  end(): void;
  cancel(): void;
  pause(): unknown;
  resume(): unknown;
  on(event: "data", listener: (msg: Buffer) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "status", listener: (s: { code: number; details: string }) => void): unknown;
}

/** What the tunnel carries: the connection inside it. */
export interface TunnelPeer {
  receive(bytes: Uint8Array): void;
  setWritable(writable: boolean): void;
  close(): void;
}

/** Messages carry up to this much. */
const BATCH = 256 * 1024;
/** Room for the BytesMessage header (tag + varint length) in front of a batch. */
const HEAD = 5;
const pool = new BufferPool(HEAD + BATCH, 16);
/** Bytes handed to the Session call and not yet written out, above which DATA waits (below which it resumes). */
const HIGH = 2 * 1024 * 1024;
const LOW = 1024 * 1024;
/** Collections while data flows (see runtime/gc.ts): after this many bytes, at most every 250 ms. */
const GC_EVERY = 32 * 1024 * 1024;
const GC_MIN_MS = 250;
/** After this many bytes either way the transfer is a bulk one and its hot loops deserve the JIT (runtime/jit.ts). */
const BULK_BYTES = 8 * 1024 * 1024;

/** Carries bytes between the Session call and `peer`. */
export class Tunnel {
  readonly #call: RawSessionCall;
  #peer?: TunnelPeer;
  #batch?: Buffer;
  #used = 0;
  #scheduled = false;
  #inFlight = 0;
  #held = false;
  #ended = false;
  #moved = 0;
  readonly #gc = new GcPacer(GC_EVERY, GC_MIN_MS);

  constructor(call: RawSessionCall) {
    this.#call = call;
  }

  /** Start carrying bytes to and from `peer`. */
  attach(peer: TunnelPeer): void {
    this.#peer = peer;
    this.#call.on("data", (msg: Buffer) => {
      this.#count(msg.length);
      peer.receive(decodeBytesMessage(msg));
    });
    this.#call.on("end", () => peer.close());
    this.#call.on("error", () => peer.close());
  }

  /** Bytes to buildkitd (copied before this returns). */
  send(parts: Uint8Array[]): void {
    if (this.#ended) return;
    for (const p of parts) {
      let at = 0;
      while (at < p.length) {
        this.#batch ??= pool.take();
        const n = Math.min(p.length - at, BATCH - this.#used);
        this.#batch.set(at === 0 && n === p.length ? p : p.subarray(at, at + n), HEAD + this.#used);
        this.#used += n;
        at += n;
        if (this.#used === BATCH) this.#flush();
      }
    }
    if (this.#used > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Half-close toward buildkitd (it then ends the session). */
  end(): void {
    if (this.#ended) return;
    this.#flush();
    this.#ended = true;
    this.#call.end();
  }

  /** Cancel the call. */
  destroy(): void {
    this.#ended = true;
    this.#call.cancel();
  }

  #flush(): void {
    this.#scheduled = false;
    const buf = this.#batch;
    const n = this.#used;
    if (!buf || n === 0 || this.#ended) return;
    this.#batch = undefined;
    this.#used = 0;
    this.#inFlight += n;
    this.#gc.note(n);
    this.#count(n);
    this.#call.write(buf.subarray(writeHeader(buf, n), HEAD + n), () => {
      pool.give(buf);
      this.#inFlight -= n;
      if (this.#held && this.#inFlight <= LOW) {
        this.#held = false;
        this.#peer?.setWritable(true);
      }
    });
    if (!this.#held && this.#inFlight >= HIGH) {
      this.#held = true;
      this.#peer?.setWritable(false);
    }
  }

  #count(n: number): void {
    if (this.#moved < BULK_BYTES && (this.#moved += n) >= BULK_BYTES) bulkJit();
  }
}

// The BytesMessage header for `n` payload bytes, right-aligned in the HEAD bytes before them; returns its start.
function writeHeader(buf: Buffer, n: number): number {
  const start = HEAD - 1 - varintSize(n);
  buf[start] = 0x0a;
  writeVarint(buf, start + 1, n);
  return start;
}
