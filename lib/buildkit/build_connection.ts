/**
 * The connection a build runs on: our own HTTP/2 gRPC client to the daemon (h2_channel.ts), carrying the
 * readiness probe, Solve, Status and the Session, whose bytes the session layer frames itself.
 */
import type { Endpoint } from "../transport/types.ts";
import { BuildkitClient } from "./client.ts";
import { openH2Channel } from "./h2_channel.ts";
import type { RawSessionCall, SessionTransport } from "./session/session.ts";

/** A client for Solve/Status and a transport for the session, sharing one connection. */
export interface BuildConnection {
  client: BuildkitClient;
  session: SessionTransport;
  /** Close the connection (cancels what is still open). */
  close(): Promise<void>;
}

/** Open a build connection to the daemon at `endpoint` (lazily: the first call dials). */
export function openBuildConnection(endpoint: Endpoint): Promise<BuildConnection> {
  const client = new BuildkitClient(endpoint, openH2Channel(endpoint));
  const session: SessionTransport = {
    open: (metadata): RawSessionCall => client.session(metadata),
    toError: (err) => client.toError(err, "Session"),
  };
  return Promise.resolve({ client, session, close: () => client.close() });
}
