/** Loading the contexts file, and changing it: under the lock, surgically, verified, atomically. */
import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../errors.ts";
import { linkTarget, writeFileAtomic } from "./atomic_write.ts";
import { withFileLock } from "./file_lock.ts";
import { renderFile } from "./render.ts";
import type { ContextsFile } from "./types.ts";
import { DEFAULT_CONTEXT, validateText } from "./validate.ts";

/** The file as read: its text (null when it does not exist yet) and the model it holds. */
export interface LoadedFile {
  path: string;
  text: string | null;
  model: ContextsFile;
}

// Big enough for any hand-written file, small enough that a stray huge file fails fast and clearly.
const MAX_BYTES = 4 * 1024 * 1024;

function readText(path: string): string | null {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "EISDIR") throw new UserError(`${path}: is a directory, not a contexts file`);
    throw new UserError(`${path}: cannot read: ${(err as Error).message.split("\n")[0]}`);
  }
  if (buf.length > MAX_BYTES) {
    throw new UserError(`${path}: too large for a contexts file (${buf.length} bytes, limit ${MAX_BYTES})`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new UserError(`${path}: not a TOML file (it is not UTF-8 text)`);
  }
}

/** Reads and validates the file; a missing file yields the embedded default context. */
export function loadContextsFile(path: string): LoadedFile {
  const text = readText(path);
  if (text === null) return { path, text, model: { current: "default", contexts: [{ ...DEFAULT_CONTEXT }] } };
  return { path, text, model: validateText(text, path).model };
}

/** A change: given the file, the new text and the model it must parse to. */
export type Change = (file: LoadedFile & { text: string }) => { text: string; expected: ContextsFile };

// Key order must not matter when comparing what we meant with what the file now says.
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function secretsNamed(model: ContextsFile): boolean {
  return model.contexts.some((c) =>
    c.tls?.key !== undefined || Object.values(c.registry ?? {}).some((r) => r.keypair?.length)
  );
}

/** Applies `change` under the lock. The result is re-parsed and must equal `expected`, else nothing is written. */
export async function changeContextsFile(path: string, change: Change): Promise<ContextsFile> {
  // A symlinked file (dotfiles) is edited at its target: locked there, so two links to it serialise too.
  const target = linkTarget(path);
  try {
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new UserError(
      `${dirname(target)}: cannot create directory: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  return await withFileLock(target, () => {
    const loaded = loadContextsFile(path);
    const base = loaded.text ?? renderFile(loaded.model);
    const { text, expected } = change({ ...loaded, text: base });
    if (text === loaded.text) return expected;
    let got: ContextsFile;
    try {
      got = validateText(text, path).model;
    } catch (err) {
      throw new UserError(
        `${path}: the edit would make the file invalid, so nothing was changed (${(err as Error).message})`,
      );
    }
    if (JSON.stringify(canonical(got)) !== JSON.stringify(canonical(expected))) {
      throw new UserError(
        `${path}: this file writes a context in a form envd-lite cannot edit in place (e.g. an inline table or dotted keys under [context]); nothing was changed, edit it by hand`,
      );
    }
    writeFileAtomic(path, text, { secret: secretsNamed(expected) });
    return expected;
  });
}
