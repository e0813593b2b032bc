/** `type=docker` without dest: the docker exporter's tarball streamed straight into Docker's image load. */
import { PassThrough, Writable } from "node:stream";
import type { DockerApi } from "../transport/docker_api.ts";

/** How long Docker may take, without reading any of the image or answering, before the load fails. */
export const LOAD_IDLE_MS = 60_000;

/**
 * A Writable for the tarball; it finishes only once Docker has loaded it, and fails with Docker's error, at once
 * when the request to Docker fails (nothing would read the body then: a write must not wait for a drain), or
 * when Docker neither reads nor answers for `idleMs`.
 */
export function dockerLoadWriter(
  api: DockerApi,
  onLoaded: (lines: string[]) => void,
  idleMs = LOAD_IDLE_MS,
): Writable {
  const body = new PassThrough();
  const response = api.docker.loadImage(body, { quiet: true }) as Promise<NodeJS.ReadableStream>;
  const where = `docker load (Docker at ${api.target.display})`;
  let failed: Error | undefined;
  const stalled = () => new Error(`${where}: Docker did not read or answer for ${idleMs / 1000}s`);
  const writer: Writable = new Writable({
    write(chunk, _enc, cb) {
      if (failed) return cb(failed);
      if (body.write(chunk)) return cb();
      const done = (err?: Error) => {
        clearTimeout(timer);
        body.off("drain", onDrain);
        body.off("close", onClose);
        cb(err ?? null);
      };
      const timer = setTimeout(() => done(stalled()), idleMs);
      const onDrain = () => done();
      const onClose = () => done(failed ?? new Error(`${where}: the request ended`));
      body.once("drain", onDrain);
      body.once("close", onClose);
    },
    final(cb) {
      body.end();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(stalled()), idleMs)));
      Promise.race([readAll(response), idle]).finally(() => clearTimeout(timer)).then(
        (text) => {
          const { loaded, error } = parseLoadOutput(text);
          if (error) return cb(new Error(`docker load: ${error}`));
          onLoaded(loaded);
          cb();
        },
        (err: Error) => cb(err.message.startsWith(where) ? err : new Error(`${where}: ${err.message}`)),
      );
    },
    destroy(err, cb) {
      body.destroy(err ?? undefined);
      cb(err);
    },
  });
  // Docker may fail (unreachable, or an error answer) before the body is done: fail the writer now.
  response.catch((err: Error) => {
    failed = new Error(`${where}: ${err.message}`);
    body.destroy();
  });
  return writer;
}

/** What `docker load` reported: the `Loaded image…` lines, or its error. */
export function parseLoadOutput(text: string): { loaded: string[]; error?: string } {
  const loaded: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let msg: { stream?: string; error?: string; errorDetail?: { message?: string } };
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (msg.error || msg.errorDetail?.message) {
      return { loaded, error: msg.errorDetail?.message ?? msg.error };
    }
    const s = msg.stream?.trim();
    if (s?.startsWith("Loaded image")) loaded.push(s);
  }
  return { loaded };
}

async function readAll(res: Promise<NodeJS.ReadableStream>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await res) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString();
}
