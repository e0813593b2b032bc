/**
 * A private unix socket that lets grpc-js dial a byte stream it cannot dial itself (e.g. `buildctl dial-stdio`).
 * grpc-js has no public "use this Duplex" API; each accepted connection gets a fresh stream instead, so grpc-js's
 * own reconnect logic keeps working.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Duplex, pipeline } from "node:stream";

/** A listening bridge: dial `target` with grpc-js. */
export interface Bridge {
  /** grpc-js target, `unix:///tmp/envd-lite-bridge-XXXX/s.sock`. */
  readonly target: string;
  /** Why the last `open()` failed, if it did: grpc-js only sees a dropped connection. */
  readonly lastError: Error | undefined;
  /** Stop listening, end every piped stream and remove the socket. */
  close(): Promise<void>;
}

/** Opens a fresh byte stream per accepted connection. */
export type StreamOpener = (signal?: AbortSignal) => Promise<Duplex>;

/** Listen on a fresh private unix socket whose connections are each piped to a new `open()` stream. */
export async function openBridge(open: StreamOpener): Promise<Bridge> {
  // A private 0700 directory keeps other users off the socket.
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-bridge-"));
  const path = join(dir, "s.sock");
  const abort = new AbortController();
  const live = new Set<Socket | Duplex>();
  let lastError: Error | undefined;

  // Half-open so an end from one side travels through the pipe instead of cutting the replies off.
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    live.add(sock);
    sock.once("close", () => live.delete(sock));
    open(abort.signal).then((stream) => {
      if (abort.signal.aborted || sock.destroyed) {
        stream.destroy();
        return;
      }
      live.add(stream);
      stream.once("close", () => live.delete(stream));
      // Either side failing or ending tears down both; grpc-js then reconnects through a new stream.
      pipeline(sock, stream, sock, (err) => {
        if (err && !abort.signal.aborted && !isBenign(err)) lastError = err;
        sock.destroy();
        stream.destroy();
      });
    }, (err: unknown) => {
      lastError = err instanceof Error ? err : new Error(String(err));
      sock.destroy();
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    target: `unix://${path}`,
    get lastError() {
      return lastError;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        abort.abort();
        for (const s of live) s.destroy();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      });
      return closed;
    },
  };
}

// grpc-js closing its end of the connection is normal, not a cause worth reporting.
function isBenign(err: Error & { code?: string }): boolean {
  return err.code === "ERR_STREAM_PREMATURE_CLOSE" || err.code === "ECONNRESET" || err.code === "EPIPE";
}
