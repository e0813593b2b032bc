/** What the BuildKit client needs from a gRPC channel (h2_channel.ts; tests may bring their own). */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { ClientCallOptions } from "../h2/grpc_client.ts";
import type { Input, TypedMethod } from "./grpc_service.ts";
import type { RawSessionCall } from "./session/tunnel.ts";

/** Per-call options (cancelling signal, deadline, metadata): the gRPC client's own; no deadline by default. */
export type CallOptions = ClientCallOptions;

/** A server-streaming call: its messages, iterated; cancel() ends it early. */
export interface RpcStream<T> extends AsyncIterable<T> {
  cancel(): void;
}

/** A gRPC channel to one daemon. */
export interface RpcChannel {
  /** One request, one response; rejects with a gRPC-shaped error (code, details). */
  unary<I extends DescMessage, O extends DescMessage>(
    method: TypedMethod<I, O>,
    request: Input<I>,
    opts: CallOptions,
  ): Promise<MessageShape<O>>;
  /** One request, a stream of responses. */
  serverStream<I extends DescMessage, O extends DescMessage>(
    method: TypedMethod<I, O>,
    request: Input<I>,
    opts: CallOptions,
  ): RpcStream<MessageShape<O>>;
  /** A bidirectional call whose messages stay bytes (the session tunnel frames them itself). */
  rawBidi(path: string, opts: CallOptions): RawSessionCall;
  /** Wait up to `ms` between readiness attempts (sooner when the connection changes state). */
  pause(ms: number, signal?: AbortSignal): Promise<void>;
  /** Why the byte stream under the channel last failed, when the channel itself cannot tell. */
  readonly streamError: Error | undefined;
  /** Cancel open calls and close the connection. */
  close(): Promise<void>;
}
