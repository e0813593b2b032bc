/**
 * FileSync: buildkitd pulls the named local directories (`context`, `dockerfile`) through DiffCopy. We are the
 * fsutil sender: STAT every entry of the filtered tree, then serve REQuested files as DATA chunks, until FIN.
 */
import { type Metadata, type ServerCall, Status } from "../../h2/grpc_server.ts";
import { promises as fsp } from "node:fs";
import { FileSync } from "../gen/moby/filesync/v1/filesync_pb.ts";
import { methodPath } from "../grpc_service.ts";
import { canRequestData } from "./fsmode.ts";
import { type FilterOptions, walkTree } from "./fswalk.ts";
import {
  controlPacket,
  DATA_HEADROOM,
  dataPacketInPlace,
  decodePacket,
  PacketType,
  statPacket,
} from "./packets.ts";
import type { Attachable } from "./types.ts";
import { BufferPool } from "../../runtime/pool.ts";
import { rawMethod, Writer } from "./stream.ts";

/** Content is read and sent in chunks of this size (Go sends 32 KiB; bigger chunks mean fewer messages). */
const CHUNK = 128 * 1024;
/** Files read at once, as fsutil's sender does. */
const CONCURRENCY = 4;
/** Read buffers go back to the pool once the session's HTTP/2 has copied them out; enough for readers and queue. */
const pool = new BufferPool(DATA_HEADROOM + CHUNK, 32);

/** Progress of one directory transfer, for callers that report throughput. */
export interface SyncStats {
  dir: string;
  files: number;
  bytes: number;
}

/** Options of {@link fileSyncAttachable}. */
export interface FileSyncOptions {
  /** Called when a directory transfer ends (successfully or not). */
  onDone?(stats: SyncStats, err?: Error): void;
}

/** Serve the local directories `dirs` (name → host path) to buildkitd. */
export function fileSyncAttachable(dirs: Record<string, string>, opts: FileSyncOptions = {}): Attachable {
  const diffCopy = rawMethod(methodPath(FileSync.method.diffCopy));
  return {
    definition: { diffCopy },
    implementation: {
      diffCopy: (call: ServerCall<Buffer>) => void serveDiffCopy(call, dirs, opts),
    },
    methods: [diffCopy.path],
  };
}

/** Metadata values of `key`, URL-query-unescaped when the daemon marked them `<key>-encoded` (non-ASCII). */
export function metadataValues(md: Metadata, key: string): string[] {
  const values = md.get(key);
  const encoded = md.get(`${key}-encoded`);
  if (!encoded.length || !/^(1|t|true)$/i.test(encoded[0])) return values;
  return values.map((v) => {
    try {
      return decodeURIComponent(v.replace(/\+/g, " "));
    } catch {
      return v;
    }
  });
}

async function serveDiffCopy(
  call: ServerCall<Buffer>,
  dirs: Record<string, string>,
  opts: FileSyncOptions,
): Promise<void> {
  const md = call.metadata;
  const name = metadataValues(md, "dir-name")[0] ?? "";
  const root = Object.hasOwn(dirs, name) ? dirs[name] : undefined;
  if (root === undefined) {
    call.emit("error", { code: Status.NOT_FOUND, details: `no access allowed to dir "${name}"` });
    return;
  }
  const filter: FilterOptions = {
    includePatterns: metadataValues(md, "include-patterns"),
    excludePatterns: metadataValues(md, "exclude-patterns"),
    followPaths: metadataValues(md, "followpaths"),
  };
  const stats: SyncStats = { dir: name, files: 0, bytes: 0 };
  const sender = new Sender(call, stats);
  try {
    await sender.run(root, filter);
    opts.onDone?.(stats);
  } catch (err) {
    opts.onDone?.(stats, err as Error);
  }
}

class Sender {
  readonly #call: ServerCall<Buffer>;
  readonly #w: Writer;
  readonly #stats: SyncStats;
  readonly #files = new Map<number, string>();
  readonly #queue: number[] = [];
  #active = 0;
  #done = false;
  #settle!: { resolve(): void; reject(err: Error): void };

  constructor(call: ServerCall<Buffer>, stats: SyncStats) {
    this.#call = call;
    this.#w = new Writer(call);
    this.#stats = stats;
  }

  /** Resolves when the daemon has sent FIN and we answered it; rejects on any failure (the call is ended). */
  run(root: string, filter: FilterOptions): Promise<void> {
    const done = new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#call.on("data", (buf: Buffer) => this.#onPacket(buf));
    this.#call.on("error", (err) => this.#fail(err, false));
    this.#call.on("cancelled", () => this.#fail(new Error("cancelled by buildkitd"), false));
    this.#call.on("end", () => this.#fail(new Error("buildkitd ended the transfer before FIN"), false));
    this.#list(root, filter).catch((err) => this.#fail(err, true));
    return done;
  }

  async #list(root: string, filter: FilterOptions): Promise<void> {
    let id = 0;
    for await (const entry of await walkTree(root, filter)) {
      if (this.#w.closed) return;
      if (canRequestData(entry.stat.mode) && !entry.stat.linkname) this.#files.set(id, entry.abs);
      id++;
      await this.#w.send(statPacket(entry.stat));
    }
    await this.#w.send(statPacket());
  }

  #onPacket(buf: Buffer): void {
    let p;
    try {
      p = decodePacket(buf);
    } catch (err) {
      return this.#fail(err as Error, true);
    }
    switch (p.type) {
      case PacketType.PACKET_REQ: {
        if (!this.#files.has(p.id)) return this.#fail(new Error(`invalid file id ${p.id}`), true);
        this.#queue.push(p.id);
        this.#pump();
        return;
      }
      case PacketType.PACKET_FIN:
        if (this.#done) return;
        this.#done = true;
        this.#w.close(controlPacket(PacketType.PACKET_FIN));
        this.#settle.resolve();
        return;
      case PacketType.PACKET_ERR:
        return this.#fail(new Error(`error from receiver: ${Buffer.from(p.data).toString()}`), false);
    }
  }

  #pump(): void {
    while (this.#active < CONCURRENCY && this.#queue.length > 0) {
      const id = this.#queue.shift()!;
      this.#active++;
      this.#sendFile(id).then(
        () => {
          this.#active--;
          this.#pump();
        },
        (err) => this.#fail(err, true),
      );
    }
  }

  async #sendFile(id: number): Promise<void> {
    const path = this.#files.get(id)!;
    this.#files.delete(id);
    this.#stats.files++;
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(path, "r");
    } catch {
      // As fsutil: a file that cannot be opened any more is sent empty.
    }
    if (fh) {
      try {
        // Read until EOF (a file may have grown since it was listed).
        for (;;) {
          if (this.#w.closed) return;
          const buf = pool.take();
          const { bytesRead } = await fh.read(buf, DATA_HEADROOM, CHUNK, null);
          if (bytesRead === 0) {
            pool.give(buf);
            break;
          }
          this.#stats.bytes += bytesRead;
          await this.#w.send(dataPacketInPlace(buf, id, bytesRead), () => pool.give(buf));
        }
      } finally {
        await fh.close();
      }
    }
    await this.#w.send(controlPacket(PacketType.PACKET_DATA, id));
  }

  // Local failures are told to the daemon (ERR, then an error status); the daemon's own are just the end.
  #fail(err: Error, tell: boolean): void {
    if (this.#done) return;
    this.#done = true;
    if (tell && !this.#w.closed) {
      const errPacket = controlPacket(PacketType.PACKET_ERR, 0, Buffer.from(err.message));
      this.#w.fail({ code: Status.UNKNOWN, details: err.message }, errPacket);
    } else {
      this.#w.abandon();
    }
    this.#settle.reject(err);
  }
}
