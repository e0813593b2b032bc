/** Typed unary / server-stream / bidi calls on a grpc-js Client from protobuf-es method descriptors. */
import * as grpc from "@grpc/grpc-js";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { grpcMethod, type Input, type TypedMethod } from "./grpc_service.ts";

/** Per-call options. */
export interface CallOptions {
  /** Cancels the call (the promise rejects with CANCELLED). */
  signal?: AbortSignal;
  /** Deadline relative to now; absent means none (BuildKit's RPCs can run for hours). */
  timeoutMs?: number;
  metadata?: grpc.Metadata;
}

/** One request, one response. */
export function unary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: TypedMethod<I, O>,
  request: Input<I>,
  opts: CallOptions = {},
): Promise<MessageShape<O>> {
  const def = grpcMethod(method);
  return new Promise((resolve, reject) => {
    const call = client.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      opts.metadata ?? new grpc.Metadata(),
      callOptions(opts),
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
    cancelOn(opts.signal, call);
  });
}

/** One request, a stream of responses, read as an async iterable (errors are thrown from the loop). */
export function serverStream<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: TypedMethod<I, O>,
  request: Input<I>,
  opts: CallOptions = {},
): grpc.ClientReadableStream<MessageShape<O>> {
  const def = grpcMethod(method);
  const call = client.makeServerStreamRequest(
    def.path,
    def.requestSerialize,
    def.responseDeserialize,
    request,
    opts.metadata ?? new grpc.Metadata(),
    callOptions(opts),
  );
  cancelOn(opts.signal, call);
  return call;
}

/** A bidirectional stream (BuildKit's Session). */
export function bidiStream<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: TypedMethod<I, O>,
  opts: CallOptions = {},
): grpc.ClientDuplexStream<Input<I>, MessageShape<O>> {
  const def = grpcMethod(method);
  const call = client.makeBidiStreamRequest(
    def.path,
    def.requestSerialize,
    def.responseDeserialize,
    opts.metadata ?? new grpc.Metadata(),
    callOptions(opts),
  );
  cancelOn(opts.signal, call);
  return call;
}

function callOptions(opts: CallOptions): grpc.CallOptions {
  return opts.timeoutMs === undefined ? {} : { deadline: Date.now() + opts.timeoutMs };
}

function cancelOn(signal: AbortSignal | undefined, call: grpc.Call): void {
  if (!signal) return;
  if (signal.aborted) {
    call.cancel();
    return;
  }
  const onAbort = () => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  call.once("status", () => signal.removeEventListener("abort", onAbort));
}
