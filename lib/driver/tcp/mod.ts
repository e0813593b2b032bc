/** tcp: a buildkitd the user runs, reached over TCP, with TLS/mTLS from [grpc.tls]. */
import { UserError } from "../../errors.ts";
import { loadTls } from "../tls_files.ts";
import type { DriverFactory } from "../types.ts";

/** Splits `host:port` / `[v6]:port`, accepting a `tcp://` prefix a hand-edited file may still carry. */
export function parseTcpAddress(address: string): { host: string; port: number } {
  const a = address.replace(/^tcp:\/\//, "");
  const m = /^(?:\[([^\]]+)\]|([^:\/\s]+)):(\d{1,5})$/.exec(a);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new UserError(`invalid tcp builder address "${address}": want host:port`);
  }
  return { host: m[1] ?? m[2], port };
}

export const factory: DriverFactory = {
  name: "tcp",
  create(context) {
    return {
      endpoint() {
        const { host, port } = parseTcpAddress(context.builderAddress);
        const hostPart = host.includes(":") ? `[${host}]` : host;
        return Promise.resolve({
          kind: "address",
          target: `${hostPart}:${port}`,
          tls: loadTls(context.tls, context.name),
          display: `tcp://${hostPart}:${port}`,
        });
      },
    };
  },
};
