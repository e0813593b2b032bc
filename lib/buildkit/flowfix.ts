/**
 * Connections whose HTTP/2 frames from buildkitd pass through WindowFix (session/h2window.ts) before the local http2
 * client sees them. buildkitd's gRPC server raises SETTINGS_INITIAL_WINDOW_SIZE while the Session stream is open,
 * and Bun's http2 client then stops sending on it: a large context upload hangs for good. For an address endpoint
 * grpc-js dials (and does TLS) itself and HTTP/2 runs on the wrapped socket (channel.ts wrapSocket); a byte-stream
 * endpoint is wrapped as it is opened.
 */
import { Duplex } from "node:stream";
import type { Endpoint } from "../transport/types.ts";
import { WindowFix } from "./session/h2window.ts";

/** The same daemon as the byte-stream endpoint `ep`, its streams' inbound frames corrected. */
export function flowFixedStream(ep: Extract<Endpoint, { kind: "stream" }>): Endpoint {
  return { kind: "stream", display: ep.display, open: async (signal) => fixStream(await ep.open(signal)) };
}

/** Wrap a byte stream to buildkitd: bytes from it go through WindowFix, bytes to it are watched. */
export function fixStream(raw: Duplex): Duplex {
  const d: Duplex = new Duplex({
    allowHalfOpen: true,
    write(chunk: Buffer, _enc, cb) {
      fix.outbound(chunk);
      raw.write(chunk, cb);
    },
    final(cb) {
      raw.end();
      cb();
    },
    read() {
      raw.resume();
    },
    destroy(err, cb) {
      raw.destroy();
      cb(err);
    },
  });
  const fix = new WindowFix("client", (b) => d.push(b));
  raw.on("data", (chunk: Buffer) => {
    let more = true;
    for (const b of fix.inbound(chunk)) more = d.push(b);
    if (!more) raw.pause();
  });
  let ended = false;
  const end = () => {
    if (!ended && !d.destroyed) d.push(null);
    ended = true;
  };
  raw.on("end", end);
  // A connection that is gone must look gone: an http2 session on a plain Duplex waits for its 'close' (a daemon
  // killed mid-build would otherwise leave the build waiting forever). What was pushed gets a turn to be read.
  raw.on("close", () => {
    end();
    setImmediate(() => d.destroy());
  });
  raw.on("error", (err) => d.destroy(err));
  // Deno's node:http2 calls socket.unref()/ref() without checking they exist.
  return Object.assign(d, { unref: () => d, ref: () => d });
}
