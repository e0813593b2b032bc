/** `type=docker` without dest: the docker exporter's tarball streamed straight into Docker's image load. */
import { PassThrough, Writable } from "node:stream";
import type { DockerApi } from "../transport/docker_api.ts";

/** A Writable for the tarball; it finishes only once Docker has loaded it (or fails with Docker's error). */
export function dockerLoadWriter(api: DockerApi, onLoaded: (lines: string[]) => void): Writable {
  const body = new PassThrough();
  const response = api.docker.loadImage(body, { quiet: true }) as Promise<NodeJS.ReadableStream>;
  // Docker may answer (with an error) before the body is done; keep that for final().
  response.catch(() => {});
  return new Writable({
    write(chunk, _enc, cb) {
      if (body.write(chunk)) cb();
      else body.once("drain", () => cb());
    },
    final(cb) {
      body.end();
      readAll(response).then((text) => {
        const { loaded, error } = parseLoadOutput(text);
        if (error) return cb(new Error(`docker load: ${error}`));
        onLoaded(loaded);
        cb();
      }, (err) => cb(new Error(`docker load: ${(err as Error).message}`)));
    },
    destroy(err, cb) {
      body.destroy(err ?? undefined);
      cb(err);
    },
  });
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
