/** The BuildKit Control client: connect to an Endpoint, ask what the daemon is, manage its cache, run builds. */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Status } from "../h2/status.ts";
import { InterruptedError, UserError } from "../errors.ts";
import { type Endpoint, HelperFailedError } from "../transport/types.ts";
import { BuildkitError, type ErrorContext, toBuildkitError } from "./errors.ts";
import {
  Control,
  type SolveRequestSchema,
  type SolveResponse,
  type StatusResponse,
  type UsageRecord as PbUsageRecord,
} from "./gen/moby/buildkit/v1/control_pb.ts";
import {
  LLBBridge,
  type ReturnRequestSchema,
  type SolveRequestSchema as GatewaySolveRequestSchema,
} from "./gen/moby/buildkit/v1/frontend/gateway_pb.ts";
import type { Input, TypedMethod } from "./grpc_service.ts";
import { poll, PollTimeoutError } from "./poll.ts";
import {
  type BuildkitInfo,
  msToNs,
  toInfo,
  toInt64,
  toUsageRecord,
  toWorker,
  type UsageRecord,
  type Worker,
} from "./records.ts";
import { methodPath } from "./grpc_service.ts";
import type { CallOptions, RpcChannel } from "./rpc.ts";
import type { RawSessionCall } from "./session/tunnel.ts";

export type { BuildkitInfo, GcPolicy, Platform, UsageRecord, Worker } from "./records.ts";
export type { CallOptions } from "./rpc.ts";

/** The raw Session call: encoded BytesMessages carrying the session's HTTP/2 byte stream, both ways. */
export type SessionCall = RawSessionCall;

/** Options for {@link BuildkitClient.prune}; absent fields mean "no limit" as in buildctl. */
export interface PruneOptions extends CallOptions {
  all?: boolean;
  keepDurationMs?: number;
  reservedSpace?: number;
  maxUsedSpace?: number;
  minFreeSpace?: number;
  filters?: string[];
}

/** Options for {@link BuildkitClient.waitReady}. */
export interface WaitReadyOptions {
  timeoutMs: number;
  /** The timeout as the user wrote it (`5s`), for the error message; defaults to `<ms>ms`. */
  timeoutText?: string;
  signal?: AbortSignal;
}

/** Connect to buildkitd at `endpoint` (lazily: the first call dials); close() the client when done. */
export async function connect(endpoint: Endpoint): Promise<BuildkitClient> {
  const { openH2Channel } = await import("./h2_channel.ts");
  return new BuildkitClient(endpoint, openH2Channel(endpoint));
}

/** A connection to one buildkitd. Every method throws BuildkitError with a one-line message. */
export class BuildkitClient {
  readonly #endpoint: Endpoint;
  readonly #rpc: RpcChannel;
  #closed = false;

  /** Use {@link connect} (or build_connection.ts). */
  constructor(endpoint: Endpoint, rpc: RpcChannel) {
    this.#endpoint = endpoint;
    this.#rpc = rpc;
  }

  /** How the user knows this daemon: `tcp://host:port`, `docker-container://name`. */
  get display(): string {
    return this.#endpoint.display;
  }

  /** The daemon's version; daemons before v0.11 lack Info, so their workers' version (or empty strings) is used. */
  async info(opts: CallOptions = {}): Promise<BuildkitInfo> {
    try {
      const res = await this.#unary(Control.method.info, {}, opts);
      return toInfo(res.buildkitVersion);
    } catch (err) {
      if (!(err instanceof BuildkitError) || err.code !== Status.UNIMPLEMENTED) throw err;
    }
    const workers = await this.listWorkers(opts);
    return workers.find((w) => w.buildkitVersion)?.buildkitVersion ?? toInfo(undefined);
  }

  /** The daemon's workers, optionally narrowed by containerd-style filters. */
  async listWorkers(opts: CallOptions & { filters?: string[] } = {}): Promise<Worker[]> {
    const res = await this.#unary(Control.method.listWorkers, { filter: opts.filters ?? [] }, opts);
    return res.record.map(toWorker);
  }

  /** Cache records, optionally narrowed by filters such as `type==source.local`. */
  async diskUsage(opts: CallOptions & { filters?: string[] } = {}): Promise<UsageRecord[]> {
    const res = await this.#unary(Control.method.diskUsage, { filter: opts.filters ?? [] }, opts);
    return res.record.map(toUsageRecord);
  }

  /** Delete cache records per the options; returns the deleted records. */
  async prune(opts: PruneOptions = {}): Promise<UsageRecord[]> {
    const request = {
      filter: opts.filters ?? [],
      all: opts.all ?? false,
      keepDuration: msToNs(opts.keepDurationMs ?? 0),
      reservedSpace: toInt64(opts.reservedSpace ?? 0),
      maxUsedSpace: toInt64(opts.maxUsedSpace ?? 0),
      minFreeSpace: toInt64(opts.minFreeSpace ?? 0),
    };
    const deleted: UsageRecord[] = [];
    const call = this.#rpc.serverStream(Control.method.prune, request, opts);
    try {
      for await (const rec of call) deleted.push(toUsageRecord(rec as PbUsageRecord));
    } catch (err) {
      throw this.#error(err, "Prune");
    }
    return deleted;
  }

  /** Poll ListWorkers (50 ms backoff growing to 500 ms) until the daemon answers with a worker; returns the workers. */
  async waitReady(opts: WaitReadyOptions): Promise<Worker[]> {
    const timeoutText = opts.timeoutText ?? `${opts.timeoutMs}ms`;
    try {
      return await poll(async (remainingMs) => {
        const workers = await this.listWorkers({ timeoutMs: remainingMs, signal: opts.signal });
        if (workers.length === 0) {
          throw new BuildkitError(`buildkitd ${this.display} has no workers yet`, undefined);
        }
        return workers;
      }, {
        timeoutMs: opts.timeoutMs,
        signal: opts.signal,
        // A helper that is missing or failed on its own (no such pod) fails the same way on every retry.
        isFatal: (err) => isFatal(err) || this.#rpc.streamError instanceof HelperFailedError,
        pause: (ms, signal) => this.#rpc.pause(ms, signal),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw new InterruptedError();
      if (err instanceof PollTimeoutError) {
        const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
        throw new UserError(`timeout ${timeoutText}: ${cause}`, { cause: err.cause });
      }
      throw err;
    }
  }

  /** Run one build (long-running; it returns when the build and its exports are done). */
  async solve(request: Input<typeof SolveRequestSchema>, opts: CallOptions = {}): Promise<SolveResponse> {
    return await this.#unary(Control.method.solve, request, opts);
  }

  /**
   * The frontend gateway of a forwarded build `ref` (a Solve with no frontend): run a frontend request inside it,
   * then Return its result, which ends the build. Used for subrequests such as the Dockerfile lint.
   */
  gateway(ref: string, opts: CallOptions = {}) {
    const o = { ...opts, metadata: { "buildkit-controlapi-buildid": ref } };
    return {
      solve: (req: Input<typeof GatewaySolveRequestSchema>) => this.#unary(LLBBridge.method.solve, req, o),
      return: (req: Input<typeof ReturnRequestSchema>) => this.#unary(LLBBridge.method.return, req, o),
    };
  }

  /** Progress of the build `ref` as an async iterable; iteration throws BuildkitError on failure. */
  async *status(ref: string, opts: CallOptions = {}): AsyncGenerator<StatusResponse> {
    const call = this.#rpc.serverStream(Control.method.status, { ref }, opts);
    try {
      for await (const msg of call) yield msg as StatusResponse;
    } catch (err) {
      throw this.#error(err, "Status");
    } finally {
      call.cancel();
    }
  }

  /**
   * Open the Session byte pipe; `metadata` values that are arrays become one header each (buildkitd needs each
   * exposed method as its own header). Messages are encoded BytesMessages, for the session layer to frame.
   */
  session(
    metadata: Record<string, string | string[]>,
    opts: Omit<CallOptions, "metadata"> = {},
  ): SessionCall {
    return this.#rpc.rawBidi(methodPath(Control.method.session), { ...opts, metadata });
  }

  /** Map an error from this client's calls to a BuildkitError naming the daemon. */
  toError(err: unknown, method?: string): BuildkitError {
    return this.#error(err, method);
  }

  /** Cancel open streams, close the channel and any bridge. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#rpc.close();
  }

  async #unary<I extends DescMessage, O extends DescMessage>(
    method: TypedMethod<I, O>,
    request: Input<I>,
    opts: CallOptions,
  ): Promise<MessageShape<O>> {
    if (this.#closed) throw new BuildkitError(`client for buildkitd ${this.display} is closed`, undefined);
    try {
      return await this.#rpc.unary(method, request, opts);
    } catch (err) {
      throw this.#error(err, method.name);
    }
  }

  #error(err: unknown, method?: string): BuildkitError {
    const ctx: ErrorContext = { display: this.display, method };
    const ep = this.#endpoint;
    if (ep.kind === "address" && ep.tls) ctx.tls = { clientCert: Boolean(ep.tls.cert && ep.tls.key) };
    const streamError = this.#rpc.streamError;
    if (streamError) ctx.streamError = streamError;
    return toBuildkitError(err, ctx);
  }
}

// Retrying cannot fix an old daemon, a refused credential or a certificate that does not verify.
function isFatal(err: unknown): boolean {
  if (!(err instanceof BuildkitError)) return false;
  if (err.code === Status.UNAVAILABLE) {
    return /tls: certificate verify failed|altnames/.test(err.message);
  }
  return err.code === Status.UNIMPLEMENTED || err.code === Status.PERMISSION_DENIED ||
    err.code === Status.UNAUTHENTICATED;
}
