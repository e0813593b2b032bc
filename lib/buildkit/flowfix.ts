/**
 * An Endpoint whose connections pass buildkitd's HTTP/2 frames through WindowFix (session/h2window.ts) before the
 * local http2 client sees them. buildkitd's gRPC server raises SETTINGS_INITIAL_WINDOW_SIZE while the Session
 * stream is open, and Bun's http2 client then stops sending on it: a large context upload hangs for good.
 * TLS is terminated here (the frames must be readable); grpc-js then speaks plaintext to a private unix socket.
 */
import { connect as netConnect, isIP, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import type { Endpoint } from "../transport/types.ts";
import { targetHost } from "./channel.ts";
import { WindowFix } from "./session/h2window.ts";

/** The same daemon as `ep`, reached through a stream whose inbound frames are corrected. */
export function flowFixedEndpoint(ep: Endpoint): Endpoint {
  return {
    kind: "stream",
    display: ep.display,
    open: async (signal) => fixStream(ep.kind === "stream" ? await ep.open(signal) : await dial(ep)),
  };
}

type AddressEndpoint = Extract<Endpoint, { kind: "address" }>;

/** Dial an address endpoint as grpc-js would (tcp, unix, TLS with ALPN h2). */
function dial(ep: AddressEndpoint): Promise<Duplex> {
  const target = ep.target.replace(/^dns:(\/\/[^/]*\/)?/, "");
  return new Promise((resolve, reject) => {
    let sock: Socket;
    // As grpc-js does on its own sockets: the session's small request/answer frames must not wait for Nagle.
    const ready = () => resolve(sock.setNoDelay(true));
    if (target.startsWith("unix:")) {
      sock = netConnect(target.replace(/^unix:(\/\/)?/, ""), ready);
    } else {
      const host = targetHost(target) ?? "localhost";
      const port = Number(target.slice(target.lastIndexOf(":") + 1));
      if (ep.tls) {
        // As channel.ts: an explicit servername is sent and checked; an IP literal gets no SNI and is checked
        // against the certificate's IP SANs.
        const servername = ep.tls.servername ?? (isIP(host) ? undefined : host);
        sock = tlsConnect({
          host,
          port,
          ca: ep.tls.ca,
          cert: ep.tls.cert,
          key: ep.tls.key,
          ALPNProtocols: ["h2"],
          ...(servername ? { servername } : {}),
        }, ready);
      } else {
        sock = netConnect({ host, port }, ready);
      }
    }
    sock.once("error", reject);
  });
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
  raw.on("close", end);
  raw.on("error", (err) => d.destroy(err));
  return d;
}
