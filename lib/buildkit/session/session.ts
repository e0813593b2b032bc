/**
 * A BuildKit session: we open Control/Session and serve gRPC over it (buildkitd is the HTTP/2 client and calls
 * back into FileSync, FileSend, Auth, Secrets), on our own lean HTTP/2 server (lib/h2). Health is always served:
 * buildkitd drops a session whose health checks fail.
 */
import { randomBytes } from "node:crypto";
import { H2Connection } from "../../h2/connection.ts";
import { GrpcServer, Status } from "../../h2/grpc_server.ts";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { grpcService, methodPath } from "../grpc_service.ts";
import { type RawSessionCall, Tunnel } from "./tunnel.ts";
import type { Attachable } from "./types.ts";

export type { RawSessionCall } from "./tunnel.ts";

/** How a session reaches buildkitd: its Control/Session call with raw (pre-encoded) BytesMessages. */
export interface SessionTransport {
  /** Open the call; metadata values that are arrays become one header each. */
  open(metadata: Record<string, string | string[]>): RawSessionCall;
  /** The error to report for a failed call (naming the daemon). */
  toError(err: unknown): Error;
}

/** Options of {@link startSession}. */
export interface SessionOptions {
  /**
   * Sent as the session's shared key: buildkitd keys the previous upload of a local dir by it, so a stable value
   * per host and directory lets later builds send only what changed.
   */
  sharedKey?: string;
  /** The legacy session name header (buildkitd before v0.16 kept it). */
  name?: string;
}

/** A running session. */
export interface Session {
  /** The session id, to put in SolveRequest.session. */
  readonly id: string;
  /** The methods advertised to buildkitd. */
  readonly methods: string[];
  /** Settles when the Session call ends: resolves on a clean end, rejects with the cause otherwise. */
  readonly ended: Promise<void>;
  /** End the session: half-close, give buildkitd a moment to hang up, then cancel. Idempotent. */
  close(): Promise<void>;
}

/** A random id like Go's identity.NewID: 25 base-36 characters from 128 random bits. */
export function newId(): string {
  return BigInt("0x" + randomBytes(16).toString("hex")).toString(36).padStart(25, "0");
}

/** Open a session over `transport` serving `attachables` (plus Health). */
export function startSession(
  transport: SessionTransport,
  attachables: Attachable[],
  opts: SessionOptions = {},
): Session {
  const id = newId();
  const server = new GrpcServer();
  server.addService(grpcService(Health), {
    check: (_call: unknown, cb: (err: null, v: unknown) => void) =>
      cb(null, { status: HealthCheckResponse_ServingStatus.SERVING }),
  });
  const methods = [methodPath(Health.method.check)];
  for (const a of attachables) {
    server.addService(a.definition, a.implementation);
    methods.push(...a.methods);
  }
  const call = transport.open({
    "x-docker-expose-session-uuid": id,
    "x-docker-expose-session-name": opts.name ?? "envd-lite",
    "x-docker-expose-session-sharedkey": opts.sharedKey ?? "",
    // One header per method: buildkitd compares whole values.
    "x-docker-expose-session-grpc-method": methods,
  });
  let closing = false;
  const ended = new Promise<void>((resolve, reject) => {
    call.on("status", (s: { code: number; details: string }) => {
      if (s.code === Status.OK || closing) resolve();
      else reject(transport.toError(Object.assign(new Error(s.details), s)));
    });
  });
  // A rejection nobody awaits yet must not crash the process; callers read it through `ended`.
  ended.catch(() => {});
  // The tunnel's own errors end up in the call's status.
  call.on("error", () => {});
  const tunnel = new Tunnel(call);
  const conn = new H2Connection("server", {
    send: (parts) => tunnel.send(parts),
    onStream: (stream) => server.serve(stream),
  });
  tunnel.attach(conn);
  conn.start();

  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      closing = true;
      tunnel.end();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([ended.catch(() => {}), new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      conn.close();
      tunnel.destroy();
    })();
  return { id, methods, ended, close };
}
