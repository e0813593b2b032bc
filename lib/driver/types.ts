/** The builder-driver contract: how to reach (and, for managed builders, start) a buildkitd. */
import type { Duplex } from "node:stream";
import type { Context } from "../config/types.ts";

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

/** Dependencies a driver may use, injected so tests and the CLI share one path. */
export interface DriverEnv {
  env: Record<string, string | undefined>;
  /** Progress and chatter for the user (stderr). */
  log(message: string): void;
}

/** A builder bound to one context. */
export interface Driver {
  /** The endpoint to dial; no I/O beyond what is needed to describe it. */
  endpoint(): Promise<Endpoint>;
  /** Make the daemon exist and run (managed builders); no-op for user-run daemons. */
  bootstrap?(signal?: AbortSignal): Promise<void>;
  /** Stop a managed daemon. */
  stop?(): Promise<void>;
  /** Remove a managed daemon (keeping its state unless told otherwise). */
  remove?(options: { keepState: boolean }): Promise<void>;
}

/** One builder type: makes the driver for a context. */
export interface DriverFactory {
  name: string;
  create(context: Context, env: DriverEnv): Driver;
}
