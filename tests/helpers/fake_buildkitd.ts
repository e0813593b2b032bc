/** A stand-in buildkitd: a grpc-js server with our Control service on a private unix socket, for unit tests. */
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Control } from "../../lib/buildkit/gen/moby/buildkit/v1/control_pb.ts";
import { grpcService } from "../../lib/buildkit/grpc_service.ts";

/** Handlers by method local name (`listWorkers`, `prune`, ...); missing ones answer UNIMPLEMENTED like an old daemon. */
export type FakeHandlers = Partial<Record<keyof typeof Control.method, grpc.UntypedHandleCall>>;

/** A running fake daemon. */
export interface FakeBuildkitd {
  /** `unix:///tmp/.../fake.sock` */
  target: string;
  /** Filesystem path of the socket. */
  path: string;
  close(): Promise<void>;
}

/** Start the fake at a fresh socket path (or `path`, to start it late at an address a client already polls). */
export async function startFakeBuildkitd(handlers: FakeHandlers, path?: string): Promise<FakeBuildkitd> {
  const dir = path ? undefined : mkdtempSync(join(tmpdir(), "fake-buildkitd-"));
  const sock = path ?? join(dir!, "fake.sock");
  const server = new grpc.Server();
  server.addService(grpcService(Control), handlers as grpc.UntypedServiceImplementation);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(
      `unix://${sock}`,
      grpc.ServerCredentials.createInsecure(),
      (err) => err ? reject(err) : resolve(),
    )
  );
  return {
    target: `unix://${sock}`,
    path: sock,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        if (dir) rmSync(dir, { recursive: true, force: true });
        resolve();
      }),
  };
}
