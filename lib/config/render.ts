/**
 * Model → TOML text, for contexts the CLI adds, for export, for `inspect`, and (via `renderTables`) for the
 * managed daemons' buildkitd.toml. Values are written in the form the file held them (an integer stays an
 * integer), so every accepted form survives `export | import`.
 */
import { CONTEXT_SPEC, type KeySpec } from "./schema.ts";
import { tomlKey, tomlPath, tomlValue } from "./toml_edit.ts";
import type { Context, ContextsFile, NodeConfig, RawTable } from "./types.ts";

const isTable = (v: unknown): v is RawTable =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Any TOML value written inline: strings, numbers, booleans, dates, arrays and inline tables. */
export function inlineValue(v: unknown): string {
  if (typeof v === "string") return tomlValue(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(inlineValue).join(", ")}]`;
  if (isTable(v)) {
    const parts = Object.entries(v).map(([k, x]) => `${tomlKey(k)} = ${inlineValue(x)}`);
    return parts.length ? `{ ${parts.join(", ")} }` : "{}";
  }
  throw new Error(`cannot write ${typeof v} as TOML`);
}

type Sub = KeySpec | undefined;

// Sub-tables written as sections: the spec's tables and maps, and any table value of a key the spec leaves open.
function section(spec: Sub, v: unknown): boolean {
  if (spec?.kind === "table" || spec?.kind === "map") return isTable(v);
  if (spec?.kind === "any" || spec === undefined) return isTable(v);
  return false;
}

// An empty array stays `key = []`, so it survives a round trip.
const arrayOfTables = (spec: Sub, v: unknown) =>
  Array.isArray(v) && v.length > 0 && (spec?.kind === "tables" || (spec === undefined && v.every(isTable)));

function childSpec(spec: Sub, key: string): Sub {
  if (spec?.kind === "table" || spec?.kind === "tables") return spec.keys[key];
  if (spec?.kind === "map") return spec.value;
  return undefined; // inside an `any`: no more spec
}

/** Keys of `v` in the order the spec lists them, then any others in file order. */
function ordered(spec: Sub, v: RawTable): string[] {
  const known = spec?.kind === "table" || spec?.kind === "tables" ? Object.keys(spec.keys) : [];
  return [...known.filter((k) => k in v), ...Object.keys(v).filter((k) => !known.includes(k))];
}

/**
 * Writes table `v` (described by `spec`) at `path`: its plain keys under a `[path]` header, then its sub-tables
 * and arrays of tables as their own sections. The header is left out when the table has only sub-tables (TOML
 * defines it implicitly) unless `header` forces it; an empty table keeps its header, as its presence can matter.
 */
export function renderTables(
  path: string[],
  spec: Sub,
  v: RawTable,
  opts: { indent: string; header?: boolean; array?: boolean },
): string {
  const keys = ordered(spec, v);
  const plain = keys.filter((k) =>
    !section(childSpec(spec, k), v[k]) && !arrayOfTables(childSpec(spec, k), v[k])
  );
  const ind = opts.indent;
  let s = "";
  if (opts.array) s += `${ind}[[${tomlPath(path)}]]\n`;
  else if (path.length && (opts.header || plain.length || keys.length === 0)) {
    s += `${ind}[${tomlPath(path)}]\n`;
  }
  for (const k of plain) s += `${ind}${tomlKey(k)} = ${inlineValue(v[k])}\n`;
  const sub = { indent: opts.indent || "  " };
  for (const k of keys.filter((k) => !plain.includes(k))) {
    const cs = childSpec(spec, k);
    const value = v[k];
    if (arrayOfTables(cs, value)) {
      for (const item of value as RawTable[]) {
        s += "\n" + renderTables([...path, k], cs, item, { ...sub, array: true });
      }
    } else {
      const body = renderTables([...path, k], cs, value as RawTable, sub);
      if (body) s += (body.startsWith("\n") ? "" : "\n") + body;
    }
  }
  return s;
}

/** A context as the raw table its TOML holds. */
export function contextTable(c: Context): RawTable {
  const t: RawTable = { builder: c.builder, "builder-address": c.builderAddress, runner: c.runner };
  if (c.runnerAddress !== undefined) t["runner-address"] = c.runnerAddress;
  Object.assign(t, structuredClone(c.buildkitd ?? {}));
  if (c.tls) t.grpc = { tls: { ...c.tls } };
  if (c.registry) t.registry = structuredClone(c.registry);
  if (c.daemon) t.daemon = { ...c.daemon };
  if (c.serve) t.serve = { ...c.serve };
  if (c.nodes) t.node = c.nodes.map(nodeTable);
  return t;
}

/** A node as the raw table its `[[context.N.node]]` holds. */
export function nodeTable(n: NodeConfig): RawTable {
  const t: RawTable = { name: n.name, builder: n.builder, "builder-address": n.builderAddress };
  if (n.platforms) t.platforms = [...n.platforms];
  if (n.tls) t.grpc = { tls: { ...n.tls } };
  return t;
}

/** One context as `[context.NAME]` plus its indented sub-tables; `base` re-roots it (export writes `[context]`). */
export function renderContext(c: Context, base: string[] = ["context", c.name]): string {
  return renderTables(base, CONTEXT_SPEC, contextTable(c), { indent: "", header: true });
}

/** The text of a new contexts file holding `model`. */
export function renderFile(model: ContextsFile): string {
  const head =
    "# envd-lite contexts: edit by hand or with `envd-lite context ...`; comments and layout are kept.\n" +
    "# Every key is documented in envd.contexts.toml.example.\n\n";
  return head + `current = ${tomlValue(model.current)}\n` +
    model.contexts.map((c) => "\n" + renderContext(c)).join("");
}
