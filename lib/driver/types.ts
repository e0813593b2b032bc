/** The builder-driver contract: how to reach (and, for managed builders, start) a buildkitd. */
import type { Context } from "../config/types.ts";
import type { Endpoint } from "../transport/types.ts";

export type { Endpoint };

/** Dependencies a driver may use, injected so tests and the CLI share one path. */
export interface DriverEnv {
  env: Record<string, string | undefined>;
  /** Progress and chatter for the user (stderr). */
  log(message: string): void;
  /** Detail shown only with --debug, e.g. what a dial helper (`buildctl dial-stdio`) wrote on stderr. */
  debug?(message: string): void;
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
