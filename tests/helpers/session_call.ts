/** The Control/Session call as a byte Duplex, for tests that serve session services by hand. */
import { Duplex } from "node:stream";
import type { SessionCall } from "../../lib/buildkit/client.ts";
import type { BytesMessage } from "../../lib/buildkit/gen/moby/buildkit/v1/control_pb.ts";

/** Bytes written go out as BytesMessages; received messages' data comes out as bytes. */
export function callToDuplex(call: SessionCall): Duplex {
  const d = new Duplex({
    write(chunk, _enc, cb) {
      call.write({ data: chunk }, cb);
    },
    final(cb) {
      call.end();
      cb();
    },
    read() {
      call.resume();
    },
  });
  call.on("data", (m: BytesMessage) => {
    if (!d.push(m.data)) call.pause();
  });
  call.on("end", () => d.push(null));
  call.on("error", (e) => d.destroy(e));
  return d;
}
