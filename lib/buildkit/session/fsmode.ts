/**
 * fsutil's Stat.mode is a Go os.FileMode (type and special bits high, permissions low), not a Unix st_mode:
 * a receiver given 0o040755 would not see a directory. These convert between the two.
 */
import { constants } from "node:fs";

/** Go os.FileMode bits. */
export const GoMode = {
  dir: 0x80000000,
  symlink: 1 << 27,
  device: 1 << 26,
  namedPipe: 1 << 25,
  socket: 1 << 24,
  setuid: 1 << 23,
  setgid: 1 << 22,
  charDevice: 1 << 21,
  sticky: 1 << 20,
  /** Every type bit (Go's os.ModeType). */
  type: (0x80000000 | 1 << 27 | 1 << 26 | 1 << 25 | 1 << 24 | 1 << 21 | 1 << 19) >>> 0,
} as const;

const { S_IFMT, S_IFDIR, S_IFLNK, S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK } = constants;

/** A Unix st_mode as Go's os.Lstat reports it in FileMode (unsigned 32-bit). */
export function goFileMode(stMode: number): number {
  let m = stMode & 0o777;
  switch (stMode & S_IFMT) {
    case S_IFDIR:
      m |= GoMode.dir;
      break;
    case S_IFLNK:
      m |= GoMode.symlink;
      break;
    case S_IFBLK:
      m |= GoMode.device;
      break;
    case S_IFCHR:
      m |= GoMode.device | GoMode.charDevice;
      break;
    case S_IFIFO:
      m |= GoMode.namedPipe;
      break;
    case S_IFSOCK:
      m |= GoMode.socket;
      break;
  }
  if (stMode & 0o4000) m |= GoMode.setuid;
  if (stMode & 0o2000) m |= GoMode.setgid;
  if (stMode & 0o1000) m |= GoMode.sticky;
  return m >>> 0;
}

/** Permission and special bits of a Go FileMode as a Unix mode for chmod (type bits dropped). */
export function unixPermissions(goMode: number): number {
  let m = goMode & 0o777;
  if (goMode & GoMode.setuid) m |= 0o4000;
  if (goMode & GoMode.setgid) m |= 0o2000;
  if (goMode & GoMode.sticky) m |= 0o1000;
  return m;
}

/** The kind of entry a Go FileMode describes. */
export type EntryKind = "dir" | "symlink" | "file" | "fifo" | "device" | "other";

/** Which kind of entry `goMode` is. */
export function entryKind(goMode: number): EntryKind {
  if (goMode & GoMode.dir) return "dir";
  if (goMode & GoMode.symlink) return "symlink";
  if (goMode & GoMode.namedPipe) return "fifo";
  if (goMode & GoMode.device) return "device";
  return (goMode & GoMode.type) === 0 ? "file" : "other";
}

/** Whether the receiver may request this entry's content: fsutil's rule, no type bit at all. */
export function canRequestData(goMode: number): boolean {
  return ((goMode & GoMode.type) >>> 0) === 0;
}
