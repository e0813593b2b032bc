/** Adapts protobuf-es service descriptors to gRPC method definitions in grpc-js's shape (lib/h2 takes them too). */
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";

/** A request as callers write it: a generated message or a plain object of its fields. */
export type Input<D extends DescMessage> = MessageShape<D> | MessageInitShape<D>;

/** A protobuf-es method narrowed to its request/response schemas. */
export type TypedMethod<I extends DescMessage, O extends DescMessage> = DescMethod & { input: I; output: O };

/** The gRPC wire path of a method: `/package.Service/Method`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** A method with serializers both ways, in grpc-js's MethodDefinition shape. */
export interface MethodDefinition<Req, Res, ServerReq = Req, ServerRes = Res> {
  path: string;
  originalName: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(v: Req): Buffer;
  requestDeserialize(b: Buffer): ServerReq;
  responseSerialize(v: ServerRes): Buffer;
  responseDeserialize(b: Buffer): Res;
}

/** A method definition whose serializers accept plain objects as well as created messages. */
export function grpcMethod<I extends DescMessage, O extends DescMessage>(
  method: TypedMethod<I, O>,
): MethodDefinition<Input<I>, MessageShape<O>, MessageShape<I>, Input<O>> {
  return {
    path: methodPath(method),
    originalName: method.name,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (v) => encode(method.input, v),
    requestDeserialize: (b) => fromBinary(method.input, b),
    responseSerialize: (v) => encode(method.output, v),
    responseDeserialize: (b) => fromBinary(method.output, b),
  };
}

/** A service's method definitions keyed by their local names (`listWorkers`), for servers' addService. */
export function grpcService(service: DescService): Record<string, MethodDefinition<unknown, unknown>> {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    def[m.localName] = grpcMethod(m) as unknown as MethodDefinition<unknown, unknown>;
  }
  return def;
}

// protobuf-es v2 refuses to encode objects without $typeName, so plain inputs go through create() first.
function encode<D extends DescMessage>(schema: D, value: Input<D>): Buffer {
  const msg = isMessage(value) ? value : create(schema, value as MessageInitShape<D>);
  const bytes = toBinary(schema, msg as MessageShape<D>);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isMessage(value: unknown): boolean {
  return typeof value === "object" && value !== null && "$typeName" in value;
}
