/**
 * A statement-level view of a TOML document: where each table header and key/value sits, by byte offset and line.
 * smol-toml gives values but no positions; this gives positions (for error lines and surgical edits) but no values.
 * It assumes the text already parsed as TOML, so it only has to be right on valid input.
 */

export type PathPart = string | number;

export interface Statement {
  kind: "table" | "array-table" | "kv";
  /** Full path: for a kv, the enclosing table's path (array tables include their index) plus the dotted key. */
  path: PathPart[];
  /** 1-based line of the statement's first character. */
  line: number;
  /** Offset of the line's start (indentation included). */
  start: number;
  /** Offset just past the statement's last line, newline included. */
  end: number;
  indent: string;
  /** kv only: the value's span, without trailing whitespace or comment. */
  valueStart?: number;
  valueEnd?: number;
}

/** Splits a document into statements; comments and blank lines are what lies between them. */
export function scanToml(text: string): Statement[] {
  const out: Statement[] = [];
  const arrayCounts = new Map<string, number>();
  let table: PathPart[] = [];
  let pos = 0;
  let line = 1;
  while (pos < text.length) {
    const lineStart = pos;
    const startLine = line;
    while (pos < text.length && (text[pos] === " " || text[pos] === "\t")) pos++;
    const indent = text.slice(lineStart, pos);
    const ch = text[pos];
    if (ch === undefined || ch === "\n" || ch === "\r" || ch === "#") {
      pos = skipToLineEnd(text, pos);
      line++;
      continue;
    }
    if (ch === "[") {
      const isArray = text[pos + 1] === "[";
      pos += isArray ? 2 : 1;
      const key = readKey(text, pos);
      pos = key.end;
      while (text[pos] === " " || text[pos] === "\t") pos++;
      pos += isArray ? 2 : 1;
      let path: PathPart[] = key.parts;
      if (isArray) {
        const id = JSON.stringify(key.parts);
        const n = arrayCounts.get(id) ?? 0;
        arrayCounts.set(id, n + 1);
        path = [...key.parts, n];
      } else {
        path = withArrayIndexes(key.parts, arrayCounts);
      }
      table = path;
      pos = skipToLineEnd(text, pos);
      line++;
      out.push({
        kind: isArray ? "array-table" : "table",
        path,
        line: startLine,
        start: lineStart,
        end: pos,
        indent,
      });
      continue;
    }
    const key = readKey(text, pos);
    pos = key.end;
    while (text[pos] === " " || text[pos] === "\t") pos++;
    pos++; // '='
    while (text[pos] === " " || text[pos] === "\t") pos++;
    const valueStart = pos;
    const value = skipValue(text, pos);
    line += value.newlines;
    pos = skipToLineEnd(text, value.end);
    line++;
    out.push({
      kind: "kv",
      path: [...table, ...key.parts],
      line: startLine,
      start: lineStart,
      end: pos,
      indent,
      valueStart,
      valueEnd: value.end,
    });
  }
  return out;
}

// `[a.b]` after `[[a]]` means the last element of the array `a`.
function withArrayIndexes(parts: string[], counts: Map<string, number>): PathPart[] {
  const out: PathPart[] = [];
  for (let i = 0; i < parts.length; i++) {
    out.push(parts[i]);
    const n = counts.get(JSON.stringify(parts.slice(0, i + 1)));
    if (n !== undefined && i < parts.length - 1) out.push(n - 1);
  }
  return out;
}

function skipToLineEnd(text: string, pos: number): number {
  const nl = text.indexOf("\n", pos);
  return nl === -1 ? text.length : nl + 1;
}

/** Reads a dotted key (bare, "basic" or 'literal' parts) starting at pos. */
function readKey(text: string, pos: number): { parts: string[]; end: number } {
  const parts: string[] = [];
  for (;;) {
    while (text[pos] === " " || text[pos] === "\t") pos++;
    const ch = text[pos];
    if (ch === '"') {
      const end = basicStringEnd(text, pos + 1);
      parts.push(
        JSON.parse(text.slice(pos, end).replace(/\\U([0-9a-fA-F]{8})/g, (_, h) => toUnicodeEscape(h))),
      );
      pos = end;
    } else if (ch === "'") {
      const end = text.indexOf("'", pos + 1);
      parts.push(text.slice(pos + 1, end));
      pos = end + 1;
    } else {
      const start = pos;
      while (pos < text.length && /[A-Za-z0-9_-]/.test(text[pos])) pos++;
      parts.push(text.slice(start, pos));
    }
    while (text[pos] === " " || text[pos] === "\t") pos++;
    if (text[pos] !== ".") return { parts, end: pos };
    pos++;
  }
}

function toUnicodeEscape(hex: string): string {
  const cp = parseInt(hex, 16);
  const s = String.fromCodePoint(cp);
  return s.length === 1
    ? `\\u${hex.slice(4)}`
    : `\\u${s.charCodeAt(0).toString(16)}\\u${s.charCodeAt(1).toString(16)}`;
}

// Offset just past the closing quote of a basic string whose body starts at pos.
function basicStringEnd(text: string, pos: number): number {
  while (pos < text.length && text[pos] !== '"') pos += text[pos] === "\\" ? 2 : 1;
  return pos + 1;
}

/** Skips one value (strings, multi-line strings, arrays and inline tables of any depth); counts newlines inside it. */
function skipValue(text: string, pos: number): { end: number; newlines: number } {
  let depth = 0;
  let newlines = 0;
  let lastSignificant = pos;
  while (pos < text.length) {
    const ch = text[pos];
    if (text.startsWith('"""', pos) || text.startsWith("'''", pos)) {
      const q = text.slice(pos, pos + 3);
      let p = pos + 3;
      for (;;) {
        if (q === '"""' && text[p] === "\\") {
          if (text[p + 1] === "\n") newlines++;
          p += 2;
          continue;
        }
        if (text.startsWith(q, p)) break;
        if (text[p] === "\n") newlines++;
        p++;
      }
      p += 3;
      while (text[p] === q[0]) p++; // up to two extra quotes belong to the content
      pos = lastSignificant = p;
      continue;
    }
    if (ch === '"') {
      pos = lastSignificant = basicStringEnd(text, pos + 1);
      continue;
    }
    if (ch === "'") {
      pos = lastSignificant = text.indexOf("'", pos + 1) + 1;
      continue;
    }
    if (ch === "#") {
      const nl = text.indexOf("\n", pos);
      pos = nl === -1 ? text.length : nl;
      continue;
    }
    if (ch === "\n") {
      if (depth === 0) break;
      newlines++;
      pos++;
      continue;
    }
    if (ch === "[" || ch === "{") depth++;
    else if (ch === "]" || ch === "}") depth--;
    if (ch !== " " && ch !== "\t" && ch !== "\r") lastSignificant = pos + 1;
    pos++;
  }
  return { end: lastSignificant, newlines };
}

/** True when `prefix` is a leading part of `path`. */
export function hasPrefix(path: PathPart[], prefix: PathPart[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p);
}

/** The line best describing a path: the statement defining it, else the nearest enclosing one. */
export function lineOf(statements: Statement[], path: PathPart[]): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const prefix = path.slice(0, n);
    const hit = statements.find((s) => s.path.length === n && hasPrefix(s.path, prefix));
    if (hit) return hit.line;
    // A kv holding an inline table or array defines everything below it.
    const holder = statements.find((s) => s.kind === "kv" && s.path.length < n && hasPrefix(prefix, s.path));
    if (holder) return holder.line;
  }
  return undefined;
}
