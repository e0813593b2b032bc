/** From the resolved context to a ready BuildKit client: driver, bootstrap, dial, readiness wait. */
import type { BuildConnection } from "../buildkit/build_connection.ts";
import type { BuildkitClient } from "../buildkit/client.ts";
import type { Context } from "../config/types.ts";
import { parseGoDuration } from "../config/values.ts";
import { findDriver } from "../driver/registry.ts";
import type { Driver, DriverEnv } from "../driver/types.ts";
import { UserError } from "../errors.ts";
import type { Invocation } from "./command.ts";
import { currentContext } from "./_contexts.ts";

/** A Go duration from the environment (envd's BUILDKIT_*_TIMEOUT), with its default. */
export function envDuration(
  env: Record<string, string | undefined>,
  name: string,
  fallback: string,
): { ms: number; text: string } {
  const text = env[name] || fallback;
  const ms = parseGoDuration(text);
  if (ms === null || ms <= 0) {
    throw new UserError(`${name}: invalid duration "${text}" (use Go syntax such as 5s or 1m30s)`);
  }
  return { ms, text };
}

/** The driver for a context, loaded lazily from the registry. */
export async function loadDriver(inv: Invocation, context: Context): Promise<Driver> {
  const entry = findDriver(context.builder);
  if (!entry) throw new UserError(`context "${context.name}": unknown builder type "${context.builder}"`);
  const factory = await entry.load();
  const env: DriverEnv = {
    env: inv.env,
    log: (m) => inv.log.info(m),
    debug: (m) => inv.log.debug(m),
  };
  return factory.create(context, env);
}

export interface OpenBuilder {
  context: Context;
  driver: Driver;
  client: BuildkitClient;
  /** The daemon's workers, as the readiness probe saw them. */
  workers: Awaited<ReturnType<BuildkitClient["waitReady"]>>;
  /** With `build`: the connection `client` belongs to, ready to carry a build's session. */
  connection?: BuildConnection;
  close(): Promise<void>;
}

/** How {@link openBuilder} opens: `recreate`/`image`/`existing` go to a managed daemon's bootstrap. */
export interface OpenOptions {
  recreate?: boolean;
  image?: string;
  existing?: boolean;
  build?: boolean;
}

/**
 * Resolves the context, bootstraps a managed builder, connects and waits until buildkitd answers with a worker.
 * With `existing`, a managed daemon that does not exist is not created: undefined, after saying so. With `build`,
 * the probe runs on a build connection (build_connection.ts) that the build then uses too: one dial, not two.
 */
export async function openBuilder(
  inv: Invocation,
  opts: { existing: true },
): Promise<OpenBuilder | undefined>;
export async function openBuilder(
  inv: Invocation,
  opts?: { recreate?: boolean; image?: string; build?: boolean },
): Promise<OpenBuilder>;
export async function openBuilder(inv: Invocation, opts: OpenOptions = {}): Promise<OpenBuilder | undefined> {
  return await openContextBuilder(inv, currentContext(inv).context, opts);
}

/** {@link openBuilder} for a given context, e.g. one node's (see nodeContext). */
export async function openContextBuilder(
  inv: Invocation,
  context: Context,
  opts: OpenOptions = {},
): Promise<OpenBuilder | undefined> {
  const timeout = envDuration(inv.env, "BUILDKIT_CONNECTING_TIMEOUT", "5s");
  const driver = await loadDriver(inv, context);
  if (driver.bootstrap) {
    const { recreate, image, existing } = opts;
    const boot = await driver.bootstrap({ recreate, image, existing, signal: inv.signal });
    if (boot.absent) {
      inv.log.info(
        `context ${context.name} has no builder to use: ${boot.absent}; nothing done (bootstrap creates it)`,
      );
      return undefined;
    }
    if (boot.message) inv.log.warn(boot.message, { context: context.name });
    if (opts.image && !boot.created) {
      inv.log.warn(
        `--buildkitd-image ${opts.image} is ignored: the builder already exists (bootstrap --recreate --buildkitd-image ${opts.image} re-creates it from that image, keeping its cache)`,
        { context: context.name },
      );
    }
  } else if (opts.image) {
    inv.log.warn(`--buildkitd-image is ignored: a ${context.builder} builder is not started by envd-lite`, {
      context: context.name,
    });
  }
  const endpoint = await driver.endpoint();
  inv.log.debug("connecting to buildkitd", { address: endpoint.display, context: context.name });
  let connection: BuildConnection | undefined;
  let client: BuildkitClient;
  if (opts.build) {
    const { openBuildConnection } = await import("../buildkit/build_connection.ts");
    connection = await openBuildConnection(endpoint);
    client = connection.client;
  } else {
    const { connect } = await import("../buildkit/client.ts");
    client = await connect(endpoint);
  }
  try {
    const workers = await client.waitReady({
      timeoutMs: timeout.ms,
      timeoutText: timeout.text,
      signal: inv.signal,
    });
    return { context, driver, client, workers, connection, close: () => client.close() };
  } catch (err) {
    await client.close();
    // A managed daemon knows why it may not answer (exited, its log); say it on the same line.
    const why = err instanceof UserError && !inv.signal.aborted
      ? await driver.diagnose?.().catch(() => undefined)
      : undefined;
    if (err instanceof UserError && (why || !err.message.includes(endpoint.display))) {
      const msg = err.message.includes(endpoint.display)
        ? err.message
        : `cannot connect to buildkitd ${endpoint.display}: ${err.message}`;
      throw new UserError(why ? `${msg} (${why})` : msg, { cause: err });
    }
    throw err;
  }
}
