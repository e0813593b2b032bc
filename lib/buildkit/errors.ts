/** gRPC failures from buildkitd turned into one-line messages a user can act on. */
import { Status as status, statusName } from "../h2/status.ts";
import { oneLine, UserError } from "../errors.ts";

/** A failed call to buildkitd; `code` is the gRPC status (undefined when the failure was not a gRPC status). */
export class BuildkitError extends UserError {
  constructor(message: string, readonly code: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BuildkitError";
  }
}

/** What the message should say about the connection. */
export interface ErrorContext {
  /** The daemon as the user knows it: `tcp://host:port`. */
  display: string;
  /** The RPC, for UNIMPLEMENTED: `Info`. */
  method?: string;
  /** TLS was configured, and whether a client certificate was offered. */
  tls?: { clientCert: boolean };
  /** Why a helper's byte stream under the connection failed (its exit, its stderr), which gRPC cannot see. */
  streamError?: Error;
}

interface GrpcLikeError {
  code: number;
  details?: string;
  message: string;
}

/** Whether `err` is a gRPC status error (lib/h2's GrpcCallError, or grpc-js's ServiceError in tests). */
export function isGrpcError(err: unknown): err is GrpcLikeError {
  return err instanceof Error && typeof (err as Partial<GrpcLikeError>).code === "number";
}

/** Map any error from a call to a BuildkitError with a one-line message naming the daemon. */
export function toBuildkitError(err: unknown, ctx: ErrorContext): BuildkitError {
  if (err instanceof BuildkitError) return err;
  if (!isGrpcError(err)) {
    const msg = err instanceof Error ? err.message : String(err);
    return new BuildkitError(`buildkitd ${ctx.display}: ${oneLine(msg)}`, undefined, { cause: err });
  }
  return new BuildkitError(describe(err.code, err.details ?? err.message, ctx), err.code, { cause: err });
}

/** The message for a gRPC status code and its details. */
export function describe(code: number, details: string, ctx: ErrorContext): string {
  const d = ctx.display;
  switch (code) {
    case status.UNAVAILABLE:
      // The client's own connection failures (worded as grpc-js words them); anything else came from the
      // daemon, e.g. a Solve whose session callback failed with UNAVAILABLE, and is not a connection problem.
      if (/^Connection dropped/.test(details)) {
        return `lost connection to buildkitd ${d}${
          ctx.streamError ? `: ${oneLine(ctx.streamError.message)}` : ""
        }`;
      }
      if (LOCAL_UNAVAILABLE.test(details)) {
        return `cannot connect to buildkitd ${d}: ${connectCause(details, ctx)}`;
      }
      return oneLine(details) || `buildkitd ${d} is unavailable`;
    case status.DEADLINE_EXCEEDED:
      // "Waiting for LB pick" means no connection was ever made (e.g. the peer accepts but never speaks HTTP/2).
      return /LB pick|connect/i.test(details)
        ? `cannot connect to buildkitd ${d}: no answer (connection not established in time)`
        : `buildkitd ${d} did not answer in time`;
    case status.UNIMPLEMENTED:
      return `buildkitd ${d} does not support ${
        ctx.method ?? "this call"
      } (is it older than this client needs?)`;
    case status.CANCELLED:
      return "cancelled";
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return `buildkitd ${d} refused the request: ${oneLine(details)}`;
    case status.RESOURCE_EXHAUSTED:
      return `buildkitd ${d}: ${
        oneLine(details)
      } (a message exceeded the 16 MiB limit, or the daemon is out of resources)`;
    default:
      // The daemon's own text (e.g. a failed build step) is already what the user needs.
      return oneLine(details) || `buildkitd ${d}: gRPC status ${statusName(code)}`;
  }
}

const LOCAL_UNAVAILABLE =
  /^(No connection established|Name resolution failed|Failed to connect|Channel closed|Connection closed)/;

// The client wraps the socket error as grpc-js does: "No connection established. Last error: Error: connect
// ECONNREFUSED 127.0.0.1:9" (grpc-js adds a resolution note, sometimes a timestamp). Keep only the reason.
function connectCause(details: string, ctx: ErrorContext): string {
  if (ctx.streamError) return oneLine(ctx.streamError.message);
  let cause = details
    .replace(/^No connection established\. Last error: /, "")
    .replace(/\.? Resolution note: .*$/s, "")
    .replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, "")
    .replace(/^(\w*Error)( \[[A-Z0-9_]+\])?: /, "");
  cause = oneLine(cause);
  if (isTlsReason(cause)) {
    return `tls: ${
      /verify|issuer|self[- ]signed|unknown ca|CERT_/i.test(cause) ? "certificate verify failed: " : ""
    }${cause}`;
  }
  // Some runtimes only report that the peer hung up mid-handshake; say what that usually means.
  if (ctx.tls && /EPIPE|ECONNRESET|Failed to connect|closed/i.test(cause)) {
    return `tls: handshake failed (${cause})${
      ctx.tls.clientCert ? "" : "; the daemon may require a client certificate"
    }`;
  }
  if (!ctx.tls && /^(Failed to connect|Protocol error|read ECONNRESET|Connection closed)$/i.test(cause)) {
    return `${cause} (not a gRPC server, or it expects TLS)`;
  }
  return cause || "connection failed";
}

function isTlsReason(cause: string): boolean {
  return /certificate|SSL|TLS|handshake|altnames|self[- ]signed|wrong version number|ERR_TLS|alert/i.test(
    cause,
  );
}
