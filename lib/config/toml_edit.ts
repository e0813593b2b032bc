/**
 * Surgical edits of TOML text: each operation rewrites only the bytes of the statements it changes, so comments,
 * order, blank lines, quoting and indentation of everything else stay as the user wrote them.
 */
import { hasPrefix, type PathPart, scanToml, type Statement } from "./toml_scan.ts";

export type TomlValue = string | boolean | number | string[];

/** A key part as TOML writes it: bare when it can be, else a basic string. */
export function tomlKey(part: string): string {
  return /^[A-Za-z0-9_-]+$/.test(part) ? part : JSON.stringify(part);
}

/** A dotted key or table header path. */
export function tomlPath(path: string[]): string {
  return path.map(tomlKey).join(".");
}

/** A value as TOML writes it; `literal` keeps a user's single-quoted style where the text allows it. */
export function tomlValue(v: TomlValue, literal = false): string {
  if (typeof v === "string") {
    // Literal strings cannot hold a quote, a newline or any other control character.
    const plain = [...v].every((c) => c >= " " && c !== "'" && c !== "\u007f");
    return literal && plain ? `'${v}'` : JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map((s) => tomlValue(s, literal)).join(", ")}]`;
  return String(v);
}

const samePath = (a: PathPart[], b: PathPart[]) => a.length === b.length && hasPrefix(a, b);
const isHeader = (s: Statement) => s.kind !== "kv";

/** The file's own line ending: CRLF when it has any, so what we add matches what the user wrote. */
export function eolOf(text: string): string {
  return text.includes("\r\n") ? "\r\n" : "\n";
}

/** `insertion` (written with LF) in the line ending of `text`. */
function inEol(text: string, insertion: string): string {
  return eolOf(text) === "\n" ? insertion : insertion.replace(/\r?\n/g, "\r\n");
}

function ensureNewline(text: string, eol = eolOf(text)): string {
  return text === "" || text.endsWith("\n") ? text : text + eol;
}

/** Sets (or, with undefined, deletes) the value at `path`, inserting the key beside its siblings when new. */
export function setValue(
  text: string,
  path: string[],
  value: TomlValue | undefined,
  opts: { newTableAfter?: PathPart[] } = {},
): string {
  const stmts = scanToml(text);
  const kv = stmts.find((s) => s.kind === "kv" && samePath(s.path, path));
  if (kv) {
    if (value === undefined) return text.slice(0, kv.start) + text.slice(kv.end);
    const literal = text[kv.valueStart!] === "'" && !text.startsWith("'''", kv.valueStart!);
    return text.slice(0, kv.valueStart) + tomlValue(value, literal) + text.slice(kv.valueEnd);
  }
  if (value === undefined) return text;
  const parent = path.slice(0, -1);
  const key = path[path.length - 1];
  if (parent.length === 0) return insertRootKey(text, stmts, `${tomlKey(key)} = ${tomlValue(value)}\n`);

  // A sibling written as a dotted key (`tls.ca = …` under [context.x.grpc]): add ours the same way after it.
  const sibling = stmts.findLast((s) =>
    s.kind === "kv" && s.path.length === path.length && hasPrefix(s.path, parent)
  );
  if (sibling) {
    const table = stmts.findLast((s) => isHeader(s) && s.start < sibling.start);
    const rel = path.slice(table && hasPrefix(path, table.path) ? table.path.length : 0);
    return insertAt(text, sibling.end, `${sibling.indent}${tomlPath(rel)} = ${tomlValue(value)}\n`);
  }
  const headerIdx = stmts.findIndex((s) => s.kind === "table" && samePath(s.path, parent));
  if (headerIdx !== -1) {
    const header = stmts[headerIdx];
    let last = header;
    for (let i = headerIdx + 1; i < stmts.length && !isHeader(stmts[i]); i++) last = stmts[i];
    const indent = last === header ? header.indent : last.indent;
    return insertAt(text, last.end, `${indent}${tomlKey(key)} = ${tomlValue(value)}\n`);
  }
  // No table yet: open one after the last statement of the enclosing block (e.g. the context).
  const anchor = opts.newTableAfter ?? parent.slice(0, 2);
  const lastOfBlock = stmts.findLast((s) => hasPrefix(s.path, anchor));
  // Indent like this block's other sub-tables, else like any sub-table in the file: the user's style.
  const subHeader =
    stmts.find((s) => isHeader(s) && s.path.length > anchor.length && hasPrefix(s.path, anchor)) ??
      stmts.find((s) => isHeader(s) && s.path.length > anchor.length && s.path[0] === anchor[0]);
  const indent = subHeader?.indent ?? "";
  const block = `\n${indent}[${tomlPath(parent)}]\n${indent}${tomlKey(key)} = ${tomlValue(value)}\n`;
  if (!lastOfBlock) return appendBlock(text, block.slice(1));
  return insertAt(text, lastOfBlock.end, block);
}

// Root keys must precede the first table header: after the last root key, else above the first statement.
function insertRootKey(text: string, stmts: Statement[], line: string): string {
  const firstHeader = stmts.findIndex(isHeader);
  const rootKeys = firstHeader === -1 ? stmts : stmts.slice(0, firstHeader);
  if (rootKeys.length > 0) return insertAt(text, rootKeys[rootKeys.length - 1].end, line);
  if (firstHeader === -1) return appendBlock(text, line);
  const at = attachedCommentStart(text, stmts[firstHeader].start);
  return text.slice(0, at) + inEol(text, line + "\n") + text.slice(at);
}

function insertAt(text: string, at: number, insertion: string): string {
  const eol = eolOf(text);
  const before = ensureNewline(text.slice(0, at), eol);
  return before + inEol(text, insertion) + text.slice(at);
}

/** Appends a block of statements, separated from what precedes it by one blank line, in the file's line ending. */
export function appendBlock(text: string, block: string): string {
  const eol = eolOf(text);
  let t = ensureNewline(text, eol);
  if (t !== "" && !/\r?\n\r?\n$/.test(t)) t += eol;
  return t + inEol(text, block);
}

/**
 * Inserts `block` (whole statements) after the last statement under `prefix`, one blank line before it, so a new
 * `[[context.N.node]]` joins its context and the next context keeps the comments above it.
 */
export function insertAfterBlock(text: string, prefix: PathPart[], block: string): string {
  const last = scanToml(text).findLast((s) => hasPrefix(s.path, prefix));
  if (!last) return appendBlock(text, block);
  return insertAt(text, last.end, "\n" + block);
}

/** The indentation of the first sub-table header under `prefix` (the user's style), else two spaces. */
export function subTableIndent(text: string, prefix: PathPart[]): string {
  const sub = scanToml(text).find((s) =>
    isHeader(s) && s.path.length > prefix.length && hasPrefix(s.path, prefix)
  );
  return sub?.indent ?? "  ";
}

// Comment lines directly above a header (no blank line between) describe it and go with it.
function attachedCommentStart(text: string, start: number): number {
  let s = start;
  while (s > 0) {
    const prevStart = text.lastIndexOf("\n", s - 2) + 1;
    if (!/^[ \t]*#/.test(text.slice(prevStart, s))) break;
    s = prevStart;
  }
  return s;
}

/** Removes every statement under `prefix` (tables, array tables, keys) with the comments attached to its headers. */
export function removeTree(text: string, prefix: PathPart[]): string {
  const stmts = scanToml(text);
  const ranges: [number, number][] = [];
  for (let i = 0; i < stmts.length; i++) {
    if (!hasPrefix(stmts[i].path, prefix)) continue;
    let j = i;
    while (j + 1 < stmts.length && hasPrefix(stmts[j + 1].path, prefix)) j++;
    const start = isHeader(stmts[i]) ? attachedCommentStart(text, stmts[i].start) : stmts[i].start;
    ranges.push([start, stmts[j].end]);
    i = j;
  }
  let out = text;
  for (const [start, end] of ranges.reverse()) {
    let s = start;
    // Keep one blank line between neighbours: drop the blank line before the block when one follows it too.
    const after = out.slice(end);
    const blankBefore = /(^|\n)\r?\n$/.exec(out.slice(0, s));
    if (blankBefore && (after === "" || /^[ \t]*\r?\n/.test(after))) {
      s -= blankBefore[0].length - blankBefore[1].length;
    }
    out = out.slice(0, s) + after;
  }
  return out;
}
