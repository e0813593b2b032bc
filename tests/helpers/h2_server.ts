/** A GrpcServer (lib/h2) listening on loopback TCP, for tests that call it with a real client. */
import { createServer, type Socket } from "node:net";
import { H2Connection } from "../../lib/h2/connection.ts";
import type { GrpcServer } from "../../lib/h2/grpc_server.ts";

/** Receive windows of the server's connections (defaults: the connection's own). */
export interface Windows {
  stream: number;
  conn: number;
}

/** Serve `server` on 127.0.0.1; close() drops every connection. */
export async function listenLoopback(
  server: GrpcServer,
  windows?: Windows,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const listener = createServer((sock) => {
    sockets.add(sock);
    const conn = new H2Connection("server", {
      // The parts may be reused once send returns: the socket gets a copy.
      send: (parts) => void sock.write(Buffer.concat(parts)),
      onStream: (s) => server.serve(s),
      streamWindow: windows?.stream,
      connectionWindow: windows?.conn,
    });
    sock.on("data", (b: Buffer) => conn.receive(b));
    sock.on("close", () => {
      sockets.delete(sock);
      conn.close();
    });
    sock.on("error", () => {});
    conn.start();
  });
  const port = await new Promise<number>((res) =>
    listener.listen(0, "127.0.0.1", () => res((listener.address() as { port: number }).port))
  );
  return {
    port,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => listener.close(() => r()));
    },
  };
}
