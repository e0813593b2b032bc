/** Replace a file atomically: write a temp file beside it, fsync, rename. Readers see the old or the new file, never half. */
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { UserError } from "../errors.ts";

// Linux's own limit on links followed while resolving one path.
const MAX_LINKS = 40;

/** The file a path finally names once every symlink is followed (the path itself when it is no link). */
export function linkTarget(file: string): string {
  let path = resolve(file);
  for (let i = 0; i < MAX_LINKS; i++) {
    let isLink: boolean;
    try {
      isLink = lstatSync(path).isSymbolicLink();
    } catch {
      return path; // missing: this is where the file will be created (a dangling link's target included)
    }
    if (!isLink) return path;
    path = resolve(dirname(path), readlinkSync(path));
  }
  throw new UserError(`${file}: cannot write: too many levels of symbolic links`);
}

// The reasons a user can act on, in words instead of errno codes and temp-file names.
function reason(err: unknown, dir: string): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return `directory ${dir} does not exist`;
    case "ENOTDIR":
      return `${dir} is not a directory`;
    case "EACCES":
    case "EPERM":
      return `permission denied in ${dir}`;
    case "EROFS":
      return `${dir} is on a read-only file system`;
    case "ENOSPC":
      return "no space left on device";
    case "EDQUOT":
      return "disk quota exceeded";
    default:
      return (e.message ?? String(err)).split("\n")[0].replace(/, \w+ '.*'$/, "");
  }
}

/**
 * Writes `text` to `file` atomically, keeping the old file's mode (0644 for a new file; group/other bits
 * dropped if `secret`). A symlink is kept: its final target is replaced, from a temp file beside the target.
 * Failures are one UserError naming `file`, and leave no temp file behind.
 */
export function writeFileAtomic(file: string, text: string, opts: { secret?: boolean } = {}): void {
  const target = linkTarget(file);
  const dir = dirname(target);
  let mode = 0o644;
  try {
    const st = statSync(target);
    if (st.isDirectory()) throw new UserError(`${file}: cannot write: it is a directory`);
    mode = st.mode & 0o777;
  } catch (err) {
    if (err instanceof UserError) throw err; // else: a new file
  }
  if (opts.secret) mode &= 0o700;
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, "wx", mode);
  } catch (err) {
    throw new UserError(`${file}: cannot write: ${reason(err, dir)}`);
  }
  try {
    fchmodSync(fd, mode); // open()'s mode is filtered by the umask; the old file's mode is not
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
  } catch (err) {
    try {
      closeSync(fd);
    } catch { /* closed already */ }
    rmSync(tmp, { force: true });
    throw new UserError(`${file}: cannot write: ${reason(err, dir)}`);
  }
}
