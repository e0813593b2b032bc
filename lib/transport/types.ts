/** What lies under a gRPC channel to buildkitd; shared by drivers (which make it) and the BuildKit client (which dials it). */
import type { Duplex } from "node:stream";

/** How gRPC reaches the daemon: an address grpc-js dials itself, or a byte stream we open per connection. */
export type Endpoint =
  | {
    kind: "address";
    /** grpc-js target: `host:port`, `[::1]:port` or `unix:///abs/path`. */
    target: string;
    /** PEM bytes for TLS; absent means plaintext. */
    tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string };
    /** How the user would recognise it in an error: `tcp://host:port`. */
    display: string;
  }
  | {
    kind: "stream";
    /** Opens a fresh byte stream to buildkitd's gRPC server (e.g. `buildctl dial-stdio` in a container). */
    open(signal?: AbortSignal): Promise<Duplex>;
    display: string;
  };

/**
 * A helper command (kubectl, nerdctl, ssh…) failed in a way a retry cannot fix: it is not installed, or it
 * failed with its own error before carrying a byte. Readiness polling stops at once on it.
 */
export class HelperFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HelperFailedError";
  }
}
