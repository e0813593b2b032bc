/**
 * The connection a build runs on: a channel to the daemon whose frames pass through WindowFix (flowfix.ts), with the
 * Session call made with raw serializers so the bulk of an upload is framed without extra copies.
 */
import * as grpc from "@grpc/grpc-js";
import type { Endpoint } from "../transport/types.ts";
import { openChannel } from "./channel.ts";
import { BuildkitClient } from "./client.ts";
import { Control } from "./gen/moby/buildkit/v1/control_pb.ts";
import { methodPath } from "./grpc_service.ts";
import { fixStream, flowFixedStream } from "./flowfix.ts";
import type { RawSessionCall, SessionTransport } from "./session/session.ts";

/** A client for Solve/Status and a transport for the session, sharing one connection. */
export interface BuildConnection {
  client: BuildkitClient;
  session: SessionTransport;
  /** Close the connection (cancels what is still open). */
  close(): Promise<void>;
}

/** Open a build connection to the daemon at `endpoint` (lazily: the first call dials). */
export async function openBuildConnection(endpoint: Endpoint): Promise<BuildConnection> {
  const channel = endpoint.kind === "address"
    ? await openChannel(endpoint, { wrapSocket: fixStream })
    : await openChannel(flowFixedStream(endpoint));
  const client = new BuildkitClient(endpoint, channel);
  const raw = (b: Buffer) => b;
  const path = methodPath(Control.method.session);
  const session: SessionTransport = {
    open(metadata): RawSessionCall {
      const md = new grpc.Metadata();
      for (const [key, value] of Object.entries(metadata)) {
        for (const v of Array.isArray(value) ? value : [value]) md.add(key, v);
      }
      return channel.client.makeBidiStreamRequest(path, raw, raw, md, {});
    },
    toError: (err) => client.toError(err, "Session"),
  };
  return { client, session, close: () => client.close() };
}
