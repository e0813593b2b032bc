/**
 * The session content store: containerd's Content service over OCI layout directories (blobs/sha256/…), which
 * buildkitd uses for `type=local` cache export/import and `oci-layout://` named contexts. Each call names its
 * store in the `buildkit-attachable-store-id` metadata (`local:DIR` for caches, our own ids for contexts).
 */
import {
  type Metadata,
  type ServerCall,
  type ServiceImpl,
  Status,
  statusName,
  type UnaryCall,
  type UnaryCallback,
} from "../../h2/grpc_server.ts";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createHash, type Hash } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import { join } from "node:path";
import {
  Content,
  type InfoRequest,
  type ReadContentRequest,
  WriteAction,
  type WriteContentRequest,
} from "../gen/containerd/services/content/v1/content_pb.ts";
import { grpcService, methodPath } from "../grpc_service.ts";
import { readMessages } from "./stream.ts";
import type { Attachable } from "./types.ts";

/** buildkitd's header naming the store of a call. */
export const STORE_ID_HEADER = "buildkit-attachable-store-id";
/** Bytes of a blob being written that may be on their way to disk while buildkitd sends more. */
const WRITE_BEHIND = 16 * 1024 * 1024;
/** Read replies carry at most this much data each. */
const READ_CHUNK = 1024 * 1024;

/** Options of {@link contentAttachable}. */
export interface ContentOptions {
  /** Debug log: which blobs were read and written. */
  log?: (message: string) => void;
}

/** A gRPC status for a failed call; streams end with it through `call.emit("error", …)`, as ServerCall takes it. */
type Fail = { code: number; details: string };
const fail = (code: number, details: string): Fail => ({ code, details });

/** Serve `stores` (store id → OCI layout directory) as containerd.services.content.v1.Content. */
export function contentAttachable(stores: Record<string, string>, opts: ContentOptions = {}): Attachable {
  const log = opts.log ?? (() => {});
  const writing = new Map<string, Ingest>();
  const storeOf = (call: { metadata: Metadata }): string => {
    const id = call.metadata.get(STORE_ID_HEADER).map(String)[0];
    if (id === undefined) {
      throw fail(Status.INVALID_ARGUMENT, `request lacks metadata "${STORE_ID_HEADER}"`);
    }
    const dir = stores[id];
    if (dir === undefined) throw fail(Status.NOT_FOUND, `unknown store ${id}`);
    return dir;
  };
  const failed = (method: string, err: unknown): Fail => {
    const st = asStatus(err);
    log(`content: ${method}: ${statusName(st.code)}: ${st.details}`);
    return st;
  };
  const unary =
    <R>(method: string, fn: (call: UnaryCall<R>) => Promise<unknown>) =>
    (call: UnaryCall<R>, cb: UnaryCallback<unknown>) =>
      fn(call).then((res) => cb(null, res), (err) => cb(failed(method, err), null));

  const implementation: ServiceImpl = {
    info: unary<InfoRequest>(
      "info",
      async (call) => ({ info: await info(storeOf(call), call.request.digest) }),
    ),
    update: unary<{ info?: { digest: string } }>("update", async (call) => ({
      info: await info(storeOf(call), call.request.info?.digest ?? ""),
    })),
    delete: unary<{ digest: string }>("delete", async (call) => {
      const path = await blobPath(storeOf(call), call.request.digest, true);
      await fsp.rm(path);
      return {};
    }),
    status: unary<{ ref: string }>("status", (call) => {
      const w = writing.get(`${storeOf(call)}\0${call.request.ref}`);
      if (!w) return Promise.reject(fail(Status.NOT_FOUND, `ref ${call.request.ref}: not found`));
      return Promise.resolve({ status: w.status() });
    }),
    listStatuses: unary<unknown>("listStatuses", (call) => {
      const dir = storeOf(call);
      const statuses = [...writing.entries()].filter(([k]) => k.startsWith(`${dir}\0`)).map(([, w]) =>
        w.status()
      );
      return Promise.resolve({ statuses });
    }),
    abort: unary<{ ref: string }>("abort", async (call) => {
      const dir = storeOf(call);
      await fsp.rm(ingestDir(dir, call.request.ref), { recursive: true, force: true });
      return {};
    }),
    list: (call: ServerCall<unknown>) =>
      void (async () => {
        const dir = storeOf(call);
        const names = await fsp.readdir(join(dir, "blobs", "sha256")).catch(() => [] as string[]);
        const infos = [];
        for (const n of names) infos.push(await info(dir, `sha256:${n}`).catch(() => undefined));
        call.write({ info: infos.filter(Boolean) });
        call.end();
      })().catch((err) => call.emit("error", failed("list", err))),
    read: (call: ServerCall<ReadContentRequest>) =>
      void read(call, storeOf, log).catch((err) => call.emit("error", failed("read", err))),
    write: (call: ServerCall<WriteContentRequest>) =>
      void write(call, storeOf, writing, log).then(
        () => call.end(),
        (err) => call.emit("error", failed("write", err)),
      ),
  };
  return { definition: grpcService(Content), implementation, methods: Content.methods.map(methodPath) };
}

function asStatus(err: unknown): Fail {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "number") {
    return err as Fail;
  }
  const code = (err as NodeJS.ErrnoException)?.code === "ENOENT" ? Status.NOT_FOUND : Status.INTERNAL;
  return fail(code, (err as Error)?.message ?? String(err));
}

async function blobPath(dir: string, digest: string, mustExist: boolean): Promise<string> {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw fail(Status.INVALID_ARGUMENT, `invalid digest "${digest}"`);
  const path = join(dir, "blobs", "sha256", m[1]);
  if (mustExist && !(await fsp.stat(path).catch(() => undefined))?.isFile()) {
    throw fail(Status.NOT_FOUND, `content ${digest}: not found`);
  }
  return path;
}

async function info(dir: string, digest: string) {
  const st = await fsp.stat(await blobPath(dir, digest, true));
  return {
    digest,
    size: BigInt(st.size),
    createdAt: timestampFromMs(Math.floor(st.birthtimeMs || st.ctimeMs)),
    updatedAt: timestampFromMs(Math.floor(st.mtimeMs)),
    labels: {},
  };
}

async function read(
  call: ServerCall<ReadContentRequest>,
  storeOf: (c: typeof call) => string,
  log: (m: string) => void,
): Promise<void> {
  const dir = storeOf(call);
  const { digest } = call.request;
  const path = await blobPath(dir, digest, true);
  const size = (await fsp.stat(path)).size;
  const start = Number(call.request.offset);
  const want = Number(call.request.size);
  const end = want > 0 ? Math.min(size, start + want) : size;
  let offset = start;
  if (start < end) {
    for await (const chunk of createReadStream(path, { start, end: end - 1, highWaterMark: READ_CHUNK })) {
      const data = chunk as Buffer;
      // Respect flow control: wait for the reader when the call's buffer is full.
      if (!call.write({ offset: BigInt(offset), data })) await new Promise((r) => call.once("drain", r));
      offset += data.length;
    }
  }
  log(`content: sent ${digest} (${offset - start} bytes)`);
  call.end();
}

function ingestDir(dir: string, ref: string): string {
  return join(dir, "ingest", createHash("sha256").update(ref).digest("hex"));
}

/** One blob being written: data into ingest/, renamed into blobs/ on commit. */
class Ingest {
  offset = 0;
  total = 0;
  expected = "";
  hash: Hash = createHash("sha256");
  readonly startedAt = Date.now();
  /** WRITE messages received, for the debug log. */
  messages = 0;
  updatedAt = Date.now();
  /** Disk writes still in flight, in order; a failed one fails every later wait. */
  #pending: Promise<unknown> = Promise.resolve();
  #queued = 0;
  #error?: Error;
  constructor(readonly ref: string, readonly path: string, readonly file: fsp.FileHandle) {}

  /**
   * Append `data`: hashed now, written behind the reply (buildkitd waits for each reply before sending more),
   * with at most WRITE_BEHIND bytes in flight.
   */
  async append(data: Uint8Array): Promise<void> {
    const at = this.offset;
    this.hash.update(data);
    this.messages++;
    this.offset += data.length;
    this.updatedAt = Date.now();
    this.#queued += data.length;
    this.#pending = this.#pending
      .then(() => this.#error ? undefined : this.file.write(data, 0, data.length, at))
      .catch((err: Error) => void (this.#error ??= err))
      .finally(() => void (this.#queued -= data.length));
    if (this.#queued > WRITE_BEHIND) await this.flush();
  }

  /** Wait until every write is on disk (throws the first failure). */
  async flush(): Promise<void> {
    await this.#pending;
    if (this.#error) throw this.#error;
  }

  status() {
    return {
      ref: this.ref,
      offset: BigInt(this.offset),
      total: BigInt(this.total),
      expected: this.expected,
      startedAt: timestampFromMs(this.startedAt),
      updatedAt: timestampFromMs(this.updatedAt),
    };
  }
}

// The containerd content server's Write: the first request opens the writer for its ref (ALREADY_EXISTS when the
// expected blob is there), then each STAT/WRITE/COMMIT gets one reply with the offset (and digest).
async function write(
  call: ServerCall<WriteContentRequest>,
  storeOf: (c: typeof call) => string,
  writing: Map<string, Ingest>,
  log: (m: string) => void,
): Promise<void> {
  const dir = storeOf(call);
  let w: Ingest | undefined;
  let key = "";
  try {
    // Not `for await (… of call)`: leaving that loop destroys the call before its status is sent.
    for await (const req of readMessages(call)) {
      if (!w) {
        if (!req.ref) throw fail(Status.INVALID_ARGUMENT, "first message must have a reference");
        if (req.expected && await fsp.stat(await blobPath(dir, req.expected, false)).catch(() => undefined)) {
          throw fail(Status.ALREADY_EXISTS, `content ${req.expected}: already exists`);
        }
        key = `${dir}\0${req.ref}`;
        if (writing.has(key)) throw fail(Status.UNAVAILABLE, `ref ${req.ref} locked: unavailable`);
        const idir = ingestDir(dir, req.ref);
        await fsp.rm(idir, { recursive: true, force: true });
        await fsp.mkdir(idir, { recursive: true });
        const path = join(idir, "data");
        w = new Ingest(req.ref, path, await fsp.open(path, "w"));
        writing.set(key, w);
      }
      if (req.total > 0n) w.total = Number(req.total);
      if (req.expected) w.expected = req.expected;
      if (req.action !== WriteAction.STAT) {
        const at = Number(req.offset);
        if (at > 0 && at !== w.offset) {
          throw fail(Status.OUT_OF_RANGE, `write @${at} must occur at current offset ${w.offset}`);
        }
        if (at === 0 && w.offset > 0) {
          await w.flush();
          await w.file.truncate(0);
          w.offset = 0;
          w.hash = createHash("sha256");
        }
        if (req.data.length) await w.append(req.data);
      }
      let digest = "";
      if (req.action === WriteAction.COMMIT) digest = await commit(dir, w, log);
      call.write({
        action: req.action,
        offset: BigInt(w.offset),
        total: BigInt(w.total),
        digest,
        startedAt: timestampFromMs(w.startedAt),
        updatedAt: timestampFromMs(w.updatedAt),
      });
      if (req.action === WriteAction.COMMIT) break;
    }
  } finally {
    if (w) {
      writing.delete(key);
      await w.flush().catch(() => {});
      await w.file.close().catch(() => {});
      await fsp.rm(join(w.path, ".."), { recursive: true, force: true });
    }
  }
}

async function commit(dir: string, w: Ingest, log: (m: string) => void): Promise<string> {
  if (w.total > 0 && w.total !== w.offset) {
    throw fail(Status.FAILED_PRECONDITION, `unexpected commit size ${w.offset}, expected ${w.total}`);
  }
  await w.flush();
  const digest = `sha256:${w.hash.copy().digest("hex")}`;
  if (w.expected && w.expected !== digest) {
    throw fail(Status.FAILED_PRECONDITION, `unexpected commit digest ${digest}, expected ${w.expected}`);
  }
  await w.file.sync();
  await w.file.close();
  const target = await blobPath(dir, digest, false);
  if (await fsp.stat(target).catch(() => undefined)) {
    throw fail(Status.ALREADY_EXISTS, `content ${digest}: already exists`);
  }
  await fsp.mkdir(join(target, ".."), { recursive: true });
  await fsp.rename(w.path, target);
  log(
    `content: stored ${digest} (${w.offset} bytes in ${w.messages} messages, ${Date.now() - w.startedAt} ms)`,
  );
  return digest;
}
