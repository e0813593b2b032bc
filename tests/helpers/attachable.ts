/**
 * Serve one session Attachable on loopback with the session's own gRPC server (lib/h2) and call it with grpc-js, as
 * buildkitd would, for unit tests.
 */
import * as grpc from "@grpc/grpc-js";
import { GrpcServer } from "../../lib/h2/grpc_server.ts";
import { listenLoopback } from "./h2_server.ts";
import type { Attachable } from "../../lib/buildkit/session/types.ts";

/** A unary call's outcome: the decoded reply, or the gRPC status it failed with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: number; details: string };

/** A running server for an Attachable and a client for it. */
export interface ServedAttachable {
  /** Call a method by its local name (`credentials`, `getSecret`). */
  call<T = unknown>(method: string, request: unknown): Promise<Outcome<T>>;
  close(): Promise<void>;
}

/** Start a server for `a` on 127.0.0.1 and connect a grpc-js client to it. */
export async function serveAttachable(a: Attachable): Promise<ServedAttachable> {
  const server = new GrpcServer();
  server.addService(a.definition, a.implementation);
  const { port, close } = await listenLoopback(server);
  const definition = a.definition as unknown as grpc.ServiceDefinition;
  const Client = grpc.makeGenericClientConstructor(definition, "Attachable");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void
  >;
  return {
    call<T>(method: string, request: unknown) {
      return new Promise<Outcome<T>>((res) =>
        client[method](
          request,
          (err, value) =>
            res(err ? { ok: false, code: err.code, details: err.details } : { ok: true, value: value as T }),
        )
      );
    },
    async close() {
      (client as unknown as grpc.Client).close();
      await close();
    },
  };
}
