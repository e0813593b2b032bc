/**
 * Run by Bun from h2window_test.ts: a node:http2 server streams 32 MiB to a raw client that raises the initial
 * window the way grpc-go's bandwidth estimator does (SETTINGS + connection WINDOW_UPDATE, no stream update).
 * argv[2] "raw": the server sees the client's bytes as they are; "fixed": through WindowFix. Prints the outcome.
 */
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import { WindowFix } from "../../lib/buildkit/session/h2window.ts";

const mode = process.argv[2] ?? "raw";
const TOTAL = 32 << 20;
const server = http2.createServer();
server.on("stream", (stream) => {
  stream.respond({ ":status": 200 });
  const chunk = Buffer.alloc(256 << 10, 7);
  let sent = 0;
  const pump = () => {
    while (sent < TOTAL) {
      sent += chunk.length;
      if (!stream.write(chunk)) return void stream.once("drain", pump);
    }
    stream.end();
  };
  pump();
});

// The server's connection: the client's socket, or that socket seen through WindowFix (as the session tunnel does).
const tcp = net.createServer((sock) => {
  if (mode === "raw") return void server.emit("connection", sock);
  const d: Duplex = new Duplex({
    write(c: Buffer, _e, cb) {
      fix.outbound(c);
      sock.write(c, cb);
    },
    read() {},
  });
  const fix = new WindowFix("server", (b) => d.push(b));
  sock.on("data", (c: Buffer) => fix.inbound(c).forEach((b) => d.push(b)));
  sock.on("end", () => d.push(null));
  server.emit("connection", Object.assign(d, { unref: () => d, ref: () => d }));
});

tcp.listen(0, "127.0.0.1", () => {
  const sock = net.connect((tcp.address() as net.AddressInfo).port, "127.0.0.1");
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    return Buffer.concat([h, payload]);
  };
  const u32 = (n: number) => Buffer.from([(n >>> 24) & 0x7f, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const wu = (stream: number, inc: number) => frame(8, 0, stream, u32(inc));
  const iws = (v: number) => frame(4, 0, 0, Buffer.concat([Buffer.from([0, 4]), u32(v)]));
  const lit = (n: string, v: string) =>
    Buffer.concat([Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)]);
  const headers = Buffer.concat([
    lit(":method", "GET"),
    lit(":path", "/"),
    lit(":scheme", "http"),
    lit(":authority", "x"),
  ]);
  sock.write(
    Buffer.concat([
      Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      frame(4, 0, 0, Buffer.alloc(0)),
      frame(1, 5, 1, headers),
    ]),
  );
  let buf = Buffer.alloc(0),
    received = 0,
    limit = 65535,
    pendingStream = 0,
    pendingConn = 0,
    nextRaise = 256 << 10,
    last = -1;
  setInterval(() => {
    if (received === last) {
      console.log(JSON.stringify({ done: false, received }));
      process.exit(0);
    }
    last = received;
  }, 1000);
  sock.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const [type, flags] = [buf[3], buf[4]];
      if (type === 4 && !(flags & 1)) sock.write(frame(4, 1, 0, Buffer.alloc(0)));
      if (type === 0) {
        received += len;
        pendingStream += len;
        pendingConn += len;
        if (flags & 1) {
          console.log(JSON.stringify({ done: true, received }));
          process.exit(0);
        }
        const out: Buffer[] = [];
        // grpc-go: update once a quarter of the limit is consumed; raise the limit as the estimate grows.
        if (pendingConn >= limit / 4) out.push(wu(0, pendingConn)), pendingConn = 0;
        if (pendingStream >= limit / 4) out.push(wu(1, pendingStream)), pendingStream = 0;
        if (received >= nextRaise && limit < 16 << 20) {
          out.push(wu(0, limit), iws(limit * 2));
          limit *= 2;
          nextRaise = received + limit;
        }
        if (out.length) sock.write(Buffer.concat(out));
      }
      buf = buf.subarray(9 + len);
    }
  });
});
