/**
 * FileSend: buildkitd pushes exports to us, one DiffCopy call per exporter (metadata
 * `buildkit-attachable-exporter-id` = its index in SolveRequest.exporters; absent before v0.13, meaning 0).
 * tar/oci/docker exporters send a tarball as BytesMessages; the local exporter sends fsutil Packets instead.
 */
import { type ServerCall, Status } from "../../h2/grpc_server.ts";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { FileSend } from "../gen/moby/filesync/v1/filesync_pb.ts";
import { methodPath } from "../grpc_service.ts";
import { DirReceiver } from "./fsreceive.ts";
import { decodeBytesMessage, decodePacket } from "./packets.ts";
import { rawMethod, readMessages, Writer } from "./stream.ts";
import type { Attachable } from "./types.ts";

/** Where one exporter's output goes. */
export type ExportTarget =
  /** A tarball stream; `open` gets the exporter's `exporter-md-*` metadata; the Writable's finish ends it. */
  | { kind: "stream"; open(md: Record<string, string>): Promise<Writable> | Writable }
  /** A directory the local exporter's tree is merged into. */
  | { kind: "dir"; dest: string };

/** Options of {@link fileSendAttachable}. */
export interface FileSendOptions {
  /** Called when an export ends, with the bytes written (and the error, if it failed). */
  onDone?(id: number, bytes: number, err?: Error): void;
}

/** Serve the exporters' targets, indexed like SolveRequest.exporters. */
export function fileSendAttachable(
  targets: (ExportTarget | undefined)[],
  opts: FileSendOptions = {},
): Attachable {
  const diffCopy = rawMethod(methodPath(FileSend.method.diffCopy));
  return {
    definition: { diffCopy },
    implementation: {
      diffCopy: (call: ServerCall<Buffer>) => void serve(call, targets, opts),
    },
    methods: [diffCopy.path],
  };
}

async function serve(
  call: ServerCall<Buffer>,
  targets: (ExportTarget | undefined)[],
  opts: FileSendOptions,
): Promise<void> {
  const w = new Writer(call);
  const idText = call.metadata.get("buildkit-attachable-exporter-id").map(String)[0];
  const id = idText === undefined ? 0 : Number.parseInt(idText, 10) || 0;
  const target = targets[id];
  if (!target) {
    w.fail({ code: Status.NOT_FOUND, details: `exporter ${id} not found` });
    return;
  }
  try {
    const bytes = target.kind === "dir"
      ? await receiveDir(call, w, target.dest)
      : await receiveStream(call, target);
    w.close();
    opts.onDone?.(id, bytes);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    w.fail({ code: Status.UNKNOWN, details: e.message });
    opts.onDone?.(id, 0, e);
  }
}

// Until the daemon half-closes: then the target is flushed (the daemon waits for our OK before going on).
async function receiveStream(
  call: ServerCall<Buffer>,
  target: Extract<ExportTarget, { kind: "stream" }>,
): Promise<number> {
  const md: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.metadata.getMap())) {
    if (k.startsWith("exporter-md-")) md[k.slice("exporter-md-".length)] = String(v);
  }
  const out = await target.open(md);
  let bytes = 0;
  try {
    for await (const buf of readMessages(call)) {
      const data = decodeBytesMessage(buf);
      bytes += data.length;
      if (!out.write(data)) await drained(out);
    }
    out.end();
    await finished(out);
  } catch (err) {
    out.destroy(err as Error);
    throw err;
  }
  return bytes;
}

// Room to write again; rejects if the target fails meanwhile (listeners removed either way).
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      out.off("drain", onDrain);
      out.off("error", done);
      out.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error("export target closed early"));
    out.once("drain", onDrain);
    out.once("error", done);
    out.once("close", onClose);
  });
}

async function receiveDir(
  call: ServerCall<Buffer>,
  w: Writer,
  dest: string,
): Promise<number> {
  const r = new DirReceiver(dest, (b) => void w.send(b));
  await r.init();
  try {
    for await (const buf of readMessages(call)) {
      await r.handle(decodePacket(buf));
      // The sender answers our FIN with its own and hangs up; nothing after that matters.
      if (r.finished) break;
    }
  } catch (err) {
    await r.abort();
    throw err;
  }
  if (!r.finished) throw new Error("export ended before the transfer was complete");
  return r.stats.bytes;
}
