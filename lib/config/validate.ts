/** TOML text → ContextsFile, or one error naming the file, line and key. */
import { parse as parseToml, TomlError } from "smol-toml";
import { UserError } from "../errors.ts";
import { FILE_SPEC, type KeySpec, MODEL_KEYS, NAME_PATTERN } from "./schema.ts";
import { hasPrefix, lineOf, type PathPart, scanToml, type Statement } from "./toml_scan.ts";
import type { Context, ContextsFile, NodeConfig, RawTable } from "./types.ts";
import { parseConfigDuration, parseSize } from "./values.ts";

/** What envd writes into a fresh installation (with envd-lite's docker-container default). */
export const DEFAULT_CONTEXT: Context = {
  name: "default",
  builder: "docker-container",
  builderAddress: "envd_buildkitd",
  runner: "docker",
};

/** A problem found at a path of the document. */
export interface Problem {
  path: PathPart[];
  message: string;
}

/** Renders a path the way TOML would write it: `context.remote.worker.oci.gcpolicy[0].keepDuration`. */
export function formatPath(path: PathPart[]): string {
  let s = "";
  for (const p of path) {
    if (typeof p === "number") s += `[${p}]`;
    else s += (s ? "." : "") + (/^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(p));
  }
  return s;
}

/** Parses TOML text, throwing a UserError that names `file` and the line for syntax errors. */
export function parseDocument(text: string, file: string): Record<string, unknown> {
  if (text.includes("\0")) throw new UserError(`${file}: not a TOML file (it holds NUL bytes)`);
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const dup = /redefine/.test(err.message) ? duplicateHeader(text) : undefined;
      if (dup) throw new UserError(`${file}:${dup.line}: ${dup.message}`);
      const reason = err.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      throw new UserError(`${file}:${err.line}:${err.column}: invalid TOML: ${reason}`);
    }
    throw new UserError(
      `${file}: invalid TOML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
    );
  }
}

// smol-toml reports a redefinition with no name; say which context or table is written twice.
function duplicateHeader(text: string): { line: number; message: string } | undefined {
  let stmts: Statement[];
  try {
    stmts = scanToml(text);
  } catch {
    return undefined;
  }
  const seen = new Map<string, number>();
  for (const s of stmts) {
    if (s.kind !== "table") continue;
    const key = JSON.stringify(s.path);
    const first = seen.get(key);
    if (first !== undefined) {
      const what = s.path.length === 2 && s.path[0] === "context"
        ? `context "${s.path[1]}"`
        : `table [${formatPath(s.path)}]`;
      return { line: s.line, message: `duplicate ${what} (first defined at line ${first})` };
    }
    seen.set(key, s.line);
  }
  return undefined;
}

/** Checks a parsed document against the schema; returns every problem found, in document order. */
export function checkDocument(doc: unknown, opts: { standalone?: boolean } = {}): Problem[] {
  const problems: Problem[] = [];
  checkValue(FILE_SPEC, doc, [], problems);
  if (opts.standalone) return problems;
  const d = doc as Record<string, unknown>;
  const contexts = isTable(d.context) ? Object.keys(d.context) : [];
  for (const name of contexts) checkNodes(name, (d.context as Record<string, unknown>)[name], problems);
  if (
    d.current !== undefined && typeof d.current === "string" && contexts.length > 0 &&
    !contexts.includes(d.current)
  ) {
    problems.push({
      path: ["current"],
      message: `current context "${d.current}" is not defined in the file`,
    });
  }
  if (d.current === undefined && contexts.length > 0 && !contexts.includes("default")) {
    problems.push({
      path: [],
      message: `no current context: set current = "NAME" (one of ${contexts.join(", ")})`,
    });
  }
  return problems;
}

// What the key table cannot say about [[context.N.node]]: names are unique (the context's own name is its
// first node's).
function checkNodes(context: string, t: unknown, out: Problem[]): void {
  const nodes = isTable(t) && Array.isArray(t.node) ? t.node : [];
  const seen = new Set([context]);
  nodes.forEach((n, i) => {
    if (!isTable(n)) return;
    const path = ["context", context, "node", i];
    if (typeof n.name === "string" && new RegExp(NAME_PATTERN).test(n.name)) {
      if (seen.has(n.name)) {
        const what = n.name === context ? "the context's own builder (its first node)" : "another node";
        out.push({
          path: [...path, "name"],
          message: `duplicate node name "${n.name}" in context "${context}": ${what} has it`,
        });
      }
      seen.add(n.name);
    }
  });
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date";
  if (isTable(v)) return "a table";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a float";
  return `a ${typeof v}`;
}

function closest(word: string, options: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]++;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

const hint = (spec: { hint?: string; pattern?: string }) => ` (${spec.hint ?? `must match ${spec.pattern}`})`;

function checkValue(spec: KeySpec, v: unknown, path: PathPart[], out: Problem[]): void {
  const bad = (what: string) =>
    out.push({ path, message: `${formatPath(path)} must be ${what}, not ${typeName(v)}` });
  switch (spec.kind) {
    case "string":
      if (typeof v !== "string") return void bad("a string");
      if (spec.pattern && !new RegExp(spec.pattern).test(v)) {
        out.push({ path, message: `${formatPath(path)}: invalid ${spec.what} "${v}"${hint(spec)}` });
      }
      if (spec.enum && !spec.enum.includes(v)) {
        out.push({
          path,
          message: `${formatPath(path)}: unknown ${String(path.at(-1))} type "${v}" (one of ${
            spec.enum.join(", ")
          })`,
        });
      }
      return;
    case "bool":
      if (typeof v !== "boolean") bad("true or false");
      return;
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v) || (spec.min !== undefined && v < spec.min)) {
        bad(`an integer${spec.min !== undefined ? ` ≥ ${spec.min}` : ""}`);
      }
      return;
    case "size":
      if ((typeof v !== "string" && typeof v !== "number") || parseSize(v) === null) {
        out.push({
          path,
          message: `${formatPath(path)}: invalid size ${
            JSON.stringify(v)
          } (use bytes, "512MB", "20GB" or "10%")`,
        });
      }
      return;
    case "duration":
      if ((typeof v !== "string" && typeof v !== "number") || parseConfigDuration(v) === null) {
        out.push({
          path,
          message: `${formatPath(path)}: invalid duration ${
            JSON.stringify(v)
          } (use Go syntax like "48h", "1h30m", or seconds)`,
        });
      }
      return;
    case "strings":
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) return void bad("an array of strings");
      v.forEach((x, i) => {
        if (spec.pattern && !new RegExp(spec.pattern).test(x)) {
          out.push({
            path,
            message: `${formatPath([...path, i])}: invalid ${spec.what} "${x}"${hint(spec)}`,
          });
        }
      });
      return;
    case "any":
      if (!isTable(v)) bad("a table");
      return;
    case "tables":
      if (!Array.isArray(v) || v.some((x) => !isTable(x))) return void bad("an array of tables ([[...]])");
      v.forEach((item, i) => checkKeys(spec, item as Record<string, unknown>, [...path, i], out));
      return;
    case "table":
      if (!isTable(v)) return void bad("a table");
      checkKeys(spec, v, path, out);
      return;
    case "map":
      if (!isTable(v)) return void bad("a table");
      for (const [k, item] of Object.entries(v)) {
        if (spec.keyPattern && !new RegExp(spec.keyPattern).test(k)) {
          out.push({
            path: [...path, k],
            message: `invalid context name "${k}": names must match ${NAME_PATTERN}`,
          });
          continue;
        }
        checkValue(spec.value, item, [...path, k], out);
      }
  }
}

function checkKeys(
  spec: { keys: Record<string, KeySpec>; required?: string[] },
  v: Record<string, unknown>,
  path: PathPart[],
  out: Problem[],
) {
  for (const [k, item] of Object.entries(v)) {
    const sub = spec.keys[k];
    if (!sub) {
      const close = closest(k, Object.keys(spec.keys));
      const where = path.length ? ` in [${formatPath(path)}]` : "";
      // `[context.a.b]` is context "a" with a table "b": a dotted context name needs quotes.
      const dotted = path.length === 2 && path[0] === "context" && isTable(item) && !close
        ? ` (to name a context "${path[1]}.${k}", quote it: [context."${path[1]}.${k}"])`
        : "";
      out.push({
        path: [...path, k],
        message: `unknown key "${k}"${where}${close ? ` (did you mean "${close}"?)` : dotted}`,
      });
      continue;
    }
    checkValue(sub, item, [...path, k], out);
  }
  for (const r of spec.required ?? []) {
    if (!(r in v)) out.push({ path, message: `[${formatPath(path)}] is missing the required key "${r}"` });
  }
}

/** Builds the typed model from a document that passed `checkDocument`. Contexts keep file order. */
export function toModel(doc: Record<string, unknown>, order: string[]): ContextsFile {
  const raw = (doc.context ?? {}) as Record<string, Record<string, unknown>>;
  const names = [...order.filter((n) => n in raw), ...Object.keys(raw).filter((n) => !order.includes(n))];
  if (names.length === 0) return { current: "default", contexts: [{ ...DEFAULT_CONTEXT }] };
  const contexts = names.map((name) => toContext(name, raw[name]));
  return { current: (doc.current as string | undefined) ?? "default", contexts };
}

// Plain data only: smol-toml's dates are Date objects, which structuredClone keeps and deepEqual compares.
const copy = <T>(v: T): T => structuredClone(v);

function toContext(name: string, t: Record<string, unknown>): Context {
  const grpc = t.grpc as Record<string, Record<string, string>> | undefined;
  const ctx: Context = {
    name,
    builder: t.builder as string,
    builderAddress: (t["builder-address"] as string | undefined) ?? DEFAULT_CONTEXT.builderAddress,
    runner: (t.runner as string | undefined) ?? DEFAULT_CONTEXT.runner,
  };
  if (typeof t["runner-address"] === "string") ctx.runnerAddress = t["runner-address"];
  if (grpc?.tls) ctx.tls = { ...grpc.tls };
  const rest: RawTable = {};
  for (const [k, v] of Object.entries(t)) if (!MODEL_KEYS.includes(k)) rest[k] = copy(v);
  if (Object.keys(rest).length) ctx.buildkitd = rest;
  if (t.registry) ctx.registry = copy(t.registry) as Context["registry"];
  if (t.daemon) ctx.daemon = copy(t.daemon) as Context["daemon"];
  if (t.serve) ctx.serve = copy(t.serve) as Context["serve"];
  // `node = []` stays, so it survives a round trip.
  if (Array.isArray(t.node)) ctx.nodes = t.node.map(toNode);
  return ctx;
}

function toNode(t: Record<string, unknown>): NodeConfig {
  const n: NodeConfig = {
    name: t.name as string,
    builder: t.builder as string,
    builderAddress: t["builder-address"] as string,
  };
  if (Array.isArray(t.platforms)) n.platforms = [...t.platforms as string[]];
  const tls = (t.grpc as Record<string, Record<string, string>> | undefined)?.tls;
  if (tls) n.tls = { ...tls };
  return n;
}

/** The first line of `statements` that defines `path` or anything below it (an unknown `[contexts.a]`, say). */
function lineFor(statements: Statement[], path: PathPart[]): number | undefined {
  if (path.length === 0) return undefined;
  return lineOf(statements, path) ?? statements.find((s) => hasPrefix(s.path, path))?.line;
}

/** The problems after the first, one `FILE:LINE: message` line each: what `--debug` prints under the error. */
export class MoreProblems extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join("\n"));
    this.name = "MoreProblems";
    // The CLI prints a cause's stack under the error with --debug; here that is the list itself.
    this.stack = lines.join("\n");
  }
}

/** Text → model; every problem is reported as `FILE:LINE: message`, the first one thrown.
 * `standalone` documents (an exported context) need no `current`. */
export function validateText(
  text: string,
  file: string,
  opts: { standalone?: boolean } = {},
): { model: ContextsFile; statements: Statement[] } {
  const doc = parseDocument(text, file);
  const statements = scanToml(text);
  const problems = checkDocument(doc, opts);
  if (problems.length > 0) {
    const lines = problems.map((p) => {
      const line = lineFor(statements, p.path.length ? p.path : ["current"]);
      return `${file}${line ? `:${line}` : ""}: ${p.message}`;
    });
    const n = lines.length - 1;
    const more = n > 0 ? ` (and ${n} more problem${n > 1 ? "s" : ""}; --debug lists them all)` : "";
    throw new UserError(lines[0] + more, n > 0 ? { cause: new MoreProblems(lines) } : undefined);
  }
  const order: string[] = [];
  for (const s of statements) {
    const name = s.path[0] === "context" ? s.path[1] : undefined;
    if (typeof name === "string" && !order.includes(name)) order.push(name);
  }
  return { model: toModel(doc, order), statements };
}
