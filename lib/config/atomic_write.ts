/** Replace a file atomically: write a temp file beside it, fsync, rename. Readers see the old or the new file, never half. */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Writes `text` to `file` atomically, keeping the old file's mode (or `mode` for a new file, or 0600 if `secret`). */
export function writeFileAtomic(file: string, text: string, opts: { secret?: boolean } = {}): void {
  let mode = 0o644;
  try {
    mode = statSync(file).mode & 0o777;
  } catch { /* new file */ }
  if (opts.secret) mode &= 0o700;
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, "wx", mode);
  try {
    fchmodSync(fd, mode); // open()'s mode is filtered by the umask; the old file's mode is not
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
