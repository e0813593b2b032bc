/**
 * The fsutil receiver, for the local exporter: buildkitd sends STATs of the result tree in order, we create each
 * entry under `dest`, REQuest every regular file, write its DATA, and send FIN once everything has arrived.
 * Like buildctl it merges into `dest` (nothing there is deleted) and files end up owned by the caller.
 */
import { promises as fsp } from "node:fs";
import { dirname, join } from "node:path";
import { cleanPath } from "./dockerignore.ts";
import { canRequestData, entryKind, unixPermissions } from "./fsmode.ts";
import { controlPacket, type Packet, PacketType, type Stat } from "./packets.ts";

interface OpenFile {
  fh: fsp.FileHandle;
  path: string;
  stat: Stat;
}

/** Counts of what a receive wrote. */
export interface ReceiveStats {
  entries: number;
  bytes: number;
}

/** Receives one fsutil transfer into a directory; feed it every packet in order. */
export class DirReceiver {
  readonly #dest: string;
  readonly #send: (buf: Buffer) => void;
  readonly #open = new Map<number, OpenFile>();
  readonly #dirs: { path: string; stat: Stat }[] = [];
  readonly #seen = new Set<string>();
  #nextId = 0;
  #listed = false;
  #finSent = false;
  /** Set once the sender answered our FIN: the transfer is complete. */
  finished = false;
  readonly stats: ReceiveStats = { entries: 0, bytes: 0 };

  /** `send` writes a packet back to the sender (REQ, FIN, ERR). */
  constructor(dest: string, send: (buf: Buffer) => void) {
    this.#dest = dest;
    this.#send = send;
  }

  /** Create `dest` (and parents) before the first packet. */
  async init(): Promise<void> {
    await fsp.mkdir(this.#dest, { recursive: true, mode: 0o755 });
  }

  /** Apply one packet; throws on a protocol violation or a local failure. */
  async handle(p: Packet): Promise<void> {
    switch (p.type) {
      case PacketType.PACKET_STAT:
        if (!p.stat) {
          this.#listed = true;
          await this.#maybeFinish();
        } else {
          await this.#entry(p.stat, this.#nextId++);
        }
        return;
      case PacketType.PACKET_DATA: {
        const f = this.#open.get(p.id);
        if (!f) throw new Error(`invalid file request ${p.id}`);
        if (p.data.length > 0) {
          await f.fh.write(p.data);
          this.stats.bytes += p.data.length;
          return;
        }
        this.#open.delete(p.id);
        await f.fh.close();
        await fsp.chmod(f.path, unixPermissions(f.stat.mode));
        await setTimes(f.path, f.stat.modTime, false);
        await this.#maybeFinish();
        return;
      }
      case PacketType.PACKET_FIN:
        this.finished = true;
        return;
      case PacketType.PACKET_ERR:
        throw new Error(`error from sender: ${Buffer.from(p.data).toString()}`);
    }
  }

  /** Close what is still open (after a failure). */
  async abort(): Promise<void> {
    for (const f of this.#open.values()) await f.fh.close().catch(() => {});
    this.#open.clear();
  }

  async #entry(stat: Stat, id: number): Promise<void> {
    const rel = stat.path;
    if (
      rel === "" || rel.startsWith("/") || cleanPath(rel) !== rel || rel === ".." || rel.startsWith("../")
    ) {
      throw new Error(`invalid path in export: "${rel}"`);
    }
    const parent = dirname(rel);
    // Parents come first (fsutil's order), so every directory on the way was made by us, not a symlink.
    if (parent !== "." && !this.#seen.has(parent)) {
      throw new Error(`changes out of order: "${rel}" before its parent`);
    }
    const path = join(this.#dest, rel);
    const kind = entryKind(stat.mode);
    this.stats.entries++;
    if (kind === "dir") {
      this.#seen.add(rel);
      const old = await fsp.lstat(path).catch(() => undefined);
      if (old && !old.isDirectory()) await fsp.rm(path, { recursive: true, force: true });
      // Writable for us until the end, whatever the final mode.
      if (!old?.isDirectory()) await fsp.mkdir(path, { mode: 0o700 });
      this.#dirs.push({ path, stat });
      return;
    }
    await replace(path);
    if (kind === "symlink") {
      await fsp.symlink(stat.linkname, path);
      await setTimes(path, stat.modTime, true);
    } else if (stat.linkname && canRequestData(stat.mode)) {
      await fsp.link(join(this.#dest, checkedTarget(stat.linkname)), path);
    } else if (kind === "file") {
      const fh = await fsp.open(path, "wx", 0o600);
      this.#open.set(id, { fh, path, stat });
      this.#send(controlPacket(PacketType.PACKET_REQ, id));
    }
    // Devices and fifos cannot be made from Node; a local export of them is skipped.
  }

  async #maybeFinish(): Promise<void> {
    if (!this.#listed || this.#open.size > 0 || this.#finSent) return;
    this.#finSent = true;
    // Deepest first, so setting a child's times does not disturb its parent's.
    for (const d of this.#dirs.reverse()) {
      await fsp.chmod(d.path, unixPermissions(d.stat.mode));
      await setTimes(d.path, d.stat.modTime, false);
    }
    this.#send(controlPacket(PacketType.PACKET_FIN));
  }
}

function checkedTarget(link: string): string {
  const c = cleanPath(link);
  if (c.startsWith("/") || c === ".." || c.startsWith("../")) {
    throw new Error(`invalid hard link target "${link}"`);
  }
  return c;
}

// Whatever was at `path` goes (merge mode replaces non-directories).
async function replace(path: string): Promise<void> {
  const old = await fsp.lstat(path).catch(() => undefined);
  if (old) await fsp.rm(path, { recursive: true, force: true });
}

async function setTimes(path: string, ns: bigint, link: boolean): Promise<void> {
  const t = Number(ns) / 1e9;
  if (link) await fsp.lutimes(path, t, t).catch(() => {});
  else await fsp.utimes(path, t, t);
}
