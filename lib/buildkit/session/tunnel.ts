/** The Session call as a byte stream: BytesMessage payloads in both directions, so HTTP/2 can run over it. */
import type * as grpc from "@grpc/grpc-js";
import { Duplex } from "node:stream";
import { GcPacer } from "../../runtime/gc.ts";
import { bulkJit } from "../../runtime/jit.ts";
import { WindowFix } from "./h2window.ts";
import { decodeBytesMessage } from "./packets.ts";
import { BufferPool } from "./pool.ts";

/** The Session call with raw serializers: each message is an encoded BytesMessage. */
export type RawSessionCall = grpc.ClientDuplexStream<Buffer, Buffer>;

/** Writes gathered in one turn of the event loop travel as one message of up to this size. */
const BATCH = 256 * 1024;
/** Room for the BytesMessage header (tag + varint length) in front of a batch. */
const HEAD = 5;
const pool = new BufferPool(HEAD + BATCH, 8);
/** Collections while data flows (see runtime/gc.ts): after this many bytes, at most every 250 ms. */
const GC_EVERY = 32 * 1024 * 1024;
const GC_MIN_MS = 250;
/** After this many bytes either way the transfer is a bulk one and its hot loops deserve the JIT (runtime/jit.ts). */
const BULK_BYTES = 8 * 1024 * 1024;

/**
 * Wrap the Session call as a Duplex for our HTTP/2 server. The tunnel applies no backpressure of its own: the
 * HTTP/2 connection inside is flow-controlled end to end (nothing beyond the peer's window is ever written), and
 * pausing the tunnel would deadlock it: Bun's http2 stops reading while its writes wait, and buildkitd stops
 * reading while its control frames (window updates, ping acks) cannot be delivered. buildkitd's frames pass
 * through WindowFix (see h2window.ts). Destroying the Duplex cancels the call.
 */
export function callToDuplex(call: RawSessionCall): Duplex {
  let ended = false;
  let batch: Buffer | undefined;
  let used = 0;
  let scheduled = false;
  const gc = new GcPacer(GC_EVERY, GC_MIN_MS);
  let moved = 0;
  const count = (n: number) => {
    if (moved < BULK_BYTES && (moved += n) >= BULK_BYTES) bulkJit();
  };

  const send = (msg: Buffer, release?: () => void) => {
    call.write(msg, release);
    gc.note(msg.length);
    count(msg.length);
  };
  const flush = () => {
    scheduled = false;
    if (!batch || used === 0) return;
    const buf = batch;
    const n = used;
    batch = undefined;
    used = 0;
    send(buf.subarray(writeHeader(buf, n), HEAD + n), () => pool.give(buf));
  };
  const add = (chunk: Buffer) => {
    if (chunk.length > BATCH) {
      flush();
      send(frame(chunk));
      return;
    }
    if (batch && used + chunk.length > BATCH) flush();
    batch ??= pool.take();
    chunk.copy(batch, HEAD + used);
    used += chunk.length;
    if (used === BATCH) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  const d: Duplex = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      fix.outbound(chunk);
      add(chunk);
      cb();
    },
    writev(chunks, cb) {
      for (const { chunk } of chunks) {
        fix.outbound(chunk as Buffer);
        add(chunk as Buffer);
      }
      cb();
    },
    final(cb) {
      flush();
      ended = true;
      call.end();
      cb();
    },
    read() {},
    destroy(err, cb) {
      if (!ended) call.cancel();
      cb(err);
    },
  });
  const fix = new WindowFix("server", (b) => d.push(b));
  call.on("data", (msg: Buffer) => {
    count(msg.length);
    const data = decodeBytesMessage(msg);
    for (const b of fix.inbound(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) d.push(b);
  });
  call.on("end", () => d.push(null));
  call.on("error", (err) => d.destroy(err));
  // Deno's node:http2 calls socket.unref()/ref() without checking they exist.
  return Object.assign(d, { unref: () => d, ref: () => d });
}

// The BytesMessage header for `n` payload bytes, right-aligned in the HEAD bytes before them; returns its start.
function writeHeader(buf: Buffer, n: number): number {
  const len: number[] = [];
  for (let v = n;; v = Math.floor(v / 128)) {
    if (v < 128) {
      len.push(v);
      break;
    }
    len.push((v & 0x7f) | 0x80);
  }
  const start = HEAD - 1 - len.length;
  buf[start] = 0x0a;
  for (let i = 0; i < len.length; i++) buf[start + 1 + i] = len[i];
  return start;
}

function frame(data: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(HEAD + data.length);
  data.copy(buf, HEAD);
  return buf.subarray(writeHeader(buf, data.length));
}
