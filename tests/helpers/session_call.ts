/** The Control/Session call as a byte Duplex, for tests that serve session services by hand. */
import { Duplex } from "node:stream";
import type { SessionCall } from "../../lib/buildkit/client.ts";
import { decodeBytesMessage, encodeBytesMessage } from "../../lib/buildkit/session/packets.ts";

/** Bytes written go out as BytesMessages; received messages' data comes out as bytes. */
export function callToDuplex(call: SessionCall): Duplex {
  const d = new Duplex({
    write(chunk, _enc, cb) {
      call.write(encodeBytesMessage(chunk), cb);
    },
    final(cb) {
      call.end();
      cb();
    },
    read() {
      call.resume();
    },
  });
  call.on("data", (m: Buffer) => {
    if (!d.push(Buffer.from(decodeBytesMessage(m)))) call.pause();
  });
  call.on("end", () => d.push(null));
  call.on("error", (e) => d.destroy(e));
  return d;
}
