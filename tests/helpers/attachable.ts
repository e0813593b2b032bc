/** Serve one session Attachable on loopback with grpc-js and call it as buildkitd would, for unit tests. */
import * as grpc from "@grpc/grpc-js";
import type { Attachable } from "../../lib/buildkit/session/types.ts";

/** A unary call's outcome: the decoded reply, or the gRPC status it failed with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: number; details: string };

/** A running server for an Attachable and a client for it. */
export interface ServedAttachable {
  /** Call a method by its local name (`credentials`, `getSecret`). */
  call<T = unknown>(method: string, request: unknown): Promise<Outcome<T>>;
  close(): Promise<void>;
}

/** Start a grpc-js server for `a` on 127.0.0.1 and connect a client to it. */
export async function serveAttachable(a: Attachable): Promise<ServedAttachable> {
  const server = new grpc.Server();
  server.addService(a.definition, a.implementation);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? rej(err) : res(p)),
    )
  );
  const Client = grpc.makeGenericClientConstructor(a.definition, "Attachable");
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
      await new Promise<void>((res) => server.tryShutdown(() => res()));
    },
  };
}
