/** One real BuildKit gRPC call straight over a byte stream (no grpc-js, no bridge): proves a driver's Duplex works as an HTTP/2 connection. */
import { fromBinary } from "@bufbuild/protobuf";
import http2 from "node:http2";
import type { Duplex } from "node:stream";
import {
  type ListWorkersResponse,
  ListWorkersResponseSchema,
} from "../../lib/buildkit/gen/moby/buildkit/v1/control_pb.ts";

/** Call Control/ListWorkers over `stream` with Node's HTTP/2 client, then close the session. */
export function listWorkersOver(stream: Duplex, timeoutMs = 10_000): Promise<ListWorkersResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect("http://localhost", { createConnection: () => stream });
    const timer = setTimeout(
      () => fail(new Error(`no ListWorkers answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    session.on("error", fail);
    const req = session.request({
      ":method": "POST",
      ":path": "/moby.buildkit.v1.Control/ListWorkers",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let message = "";
    req.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
    req.on("trailers", (t) => {
      status = t["grpc-status"] as string;
      message = decodeURIComponent(String(t["grpc-message"] ?? ""));
    });
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("error", fail);
    req.on("end", () => {
      clearTimeout(timer);
      session.close();
      if (status !== "0") return reject(new Error(`ListWorkers: grpc-status ${status}: ${message}`));
      // One gRPC message: [compressed:1][length:4 BE][protobuf].
      const body = Buffer.concat(chunks);
      resolve(fromBinary(ListWorkersResponseSchema, body.subarray(5, 5 + body.readUInt32BE(1))));
    });
    // An empty ListWorkersRequest: uncompressed, zero length.
    req.end(Buffer.alloc(5));
  });
}
