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

/** Options for {@link Driver.bootstrap}. */
export interface BootstrapOptions {
  signal?: AbortSignal;
  /** Re-create the managed daemon from the context now (its cache is kept): `bootstrap --recreate`. */
  recreate?: boolean;
  /** Image for a container this call creates (`--buildkitd-image`); an existing container keeps its image. */
  image?: string;
  /** Start only a daemon that exists (prune, du): never create one; say what is missing in `absent`. */
  existing?: boolean;
}

/** What {@link Driver.bootstrap} did. */
export interface BootstrapResult {
  /** The daemon was created by this call (a new container, or a host daemon started fresh). */
  created: boolean;
  /** The daemon was started, resumed or created by this call: it is only now coming up. */
  started: boolean;
  /**
   * One line for the user, when the running daemon's configuration differs from what the context now renders.
   * Nothing was changed; the caller shows it (a warning), `--recreate` applies the context.
   */
  message?: string;
  /** With `existing`: the daemon does not exist and was not created; what is missing, as one line. */
  absent?: string;
}

/** What a stop or remove did, as one line for the user. */
export interface ControlResult {
  changed: boolean;
  message: string;
}

/** A builder bound to one context. */
export interface Driver {
  /** The endpoint to dial; no I/O beyond what is needed to describe it. */
  endpoint(): Promise<Endpoint>;
  /** Make the daemon exist and run (managed builders); absent for user-run daemons. Readiness is the caller's wait. */
  bootstrap?(options?: BootstrapOptions): Promise<BootstrapResult>;
  /** Stop a managed daemon; its state stays. */
  stop?(options?: { signal?: AbortSignal }): Promise<ControlResult>;
  /** Remove a managed daemon, and its state (cache) unless `keepState`. */
  remove?(options: { keepState: boolean; signal?: AbortSignal }): Promise<ControlResult>;
  /** When buildkitd does not answer: what is known about why (daemon state, last log lines), as one line. */
  diagnose?(): Promise<string | undefined>;
}

/** One builder type: makes the driver for a context. */
export interface DriverFactory {
  name: string;
  create(context: Context, env: DriverEnv): Driver;
}
