/** The context operations (create, use, rm, update, import) as a library: each is one surgical, verified change. */
import { UserError } from "../errors.ts";
import { BUILDER_TYPES } from "../driver/registry.ts";
import { nodeTable, renderContext, renderTables } from "./render.ts";
import { NAME_PATTERN, NODE_SPEC, PLATFORM_PATTERN } from "./schema.ts";
import { changeContextsFile, type LoadedFile } from "./store.ts";
import { appendBlock, insertAfterBlock, removeTree, setValue, subTableIndent } from "./toml_edit.ts";
import { scanToml } from "./toml_scan.ts";
import { type Context, type ContextsFile, type NodeConfig, RUNNER_TYPES } from "./types.ts";

/** Rejects names that cannot be a context (they also become TOML keys and file names). */
export function checkName(name: string): void {
  if (!new RegExp(NAME_PATTERN).test(name)) {
    throw new UserError(`invalid context name ${JSON.stringify(name)}: names must match ${NAME_PATTERN}`);
  }
}

/** envd's checks on the builder and runner types, with its messages. */
export function checkTypes(builder: string, runner: string): void {
  if (!BUILDER_TYPES.includes(builder)) {
    throw new UserError(`unknown builder type "${builder}" (one of ${BUILDER_TYPES.join(", ")})`);
  }
  if (!(RUNNER_TYPES as readonly string[]).includes(runner)) {
    throw new UserError(`unknown runner type "${runner}" (one of ${RUNNER_TYPES.join(", ")})`);
  }
}

/** Accepts `tcp://host:port` for a tcp builder as well as `host:port`, so the scheme is never doubled. */
export function normalizeAddress(builder: string, address: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(address);
  if (!m) return address;
  if (m[1].toLowerCase() !== builder) {
    throw new UserError(`builder address "${address}" has scheme ${m[1]}:// but the builder is ${builder}`);
  }
  return m[2];
}

/** A deep copy of the model, to build the expected result of a change. */
function cloneModel(m: ContextsFile): ContextsFile {
  return structuredClone(m);
}

// A file with no contexts stands for the embedded default; make that explicit before editing it.
function materialize(file: LoadedFile & { text: string }): string {
  if (scanToml(file.text).some((s) => s.path[0] === "context")) return file.text;
  let text = setValue(file.text, ["current"], file.model.current);
  for (const c of file.model.contexts) text = appendBlock(text, renderContext(c));
  return text;
}

function find(model: ContextsFile, name: string): Context | undefined {
  return model.contexts.find((c) => c.name === name);
}

/** Adds a context (optionally making it current). */
export async function createContext(
  path: string,
  ctx: Context,
  opts: { use?: boolean } = {},
): Promise<ContextsFile> {
  checkName(ctx.name);
  checkTypes(ctx.builder, ctx.runner);
  return await changeContextsFile(path, (file) => {
    if (find(file.model, ctx.name)) throw new UserError(`context "${ctx.name}" already exists`);
    let text = appendBlock(materialize(file), renderContext(ctx));
    const expected = cloneModel(file.model);
    expected.contexts.push(ctx);
    if (opts.use) {
      text = setValue(text, ["current"], ctx.name);
      expected.current = ctx.name;
    }
    return { text, expected };
  });
}

/** Makes a context the current one. */
export async function useContext(path: string, name: string): Promise<ContextsFile> {
  return await changeContextsFile(path, (file) => {
    if (!find(file.model, name)) throw new UserError(`context "${name}" does not exist`);
    const expected = cloneModel(file.model);
    expected.current = name;
    return { text: setValue(materialize(file), ["current"], name), expected };
  });
}

/** Removes a context that is not the current one. */
export async function removeContext(path: string, name: string): Promise<ContextsFile> {
  return await changeContextsFile(path, (file) => {
    if (!find(file.model, name)) throw new UserError(`cannot find context "${name}"`);
    if (file.model.current === name) throw new UserError(`cannot remove current context "${name}"`);
    const expected = cloneModel(file.model);
    expected.contexts = expected.contexts.filter((c) => c.name !== name);
    return { text: removeTree(materialize(file), ["context", name]), expected };
  });
}

/** Fields `context update` can change; an empty string removes an optional field. */
export interface ContextUpdate {
  builder?: string;
  builderAddress?: string;
  runner?: string;
  runnerAddress?: string;
  tls?: { ca?: string; cert?: string; key?: string; servername?: string };
}

/** Changes fields of a context in place, leaving the rest of its tables and comments alone; says if any changed. */
export async function updateContext(
  path: string,
  name: string,
  update: ContextUpdate,
): Promise<{ model: ContextsFile; changed: boolean }> {
  let changed = false;
  const model = await changeContextsFile(path, (file) => {
    const current = find(file.model, name);
    if (!current) throw new UserError(`cannot find context "${name}"`);
    const expected = cloneModel(file.model);
    const ctx = find(expected, name)!;
    let text = materialize(file);
    const set = (key: string[], value: string | undefined) => {
      text = setValue(text, ["context", name, ...key], value === "" ? undefined : value);
    };
    if (update.builder !== undefined) ctx.builder = update.builder;
    if (update.runner !== undefined) ctx.runner = update.runner;
    checkTypes(ctx.builder, ctx.runner);
    if (update.builder !== undefined) set(["builder"], update.builder);
    if (update.builderAddress !== undefined) {
      ctx.builderAddress = normalizeAddress(ctx.builder, update.builderAddress);
      set(["builder-address"], ctx.builderAddress);
    }
    if (update.runner !== undefined) set(["runner"], update.runner);
    if (update.runnerAddress !== undefined) {
      if (update.runnerAddress === "") delete ctx.runnerAddress;
      else ctx.runnerAddress = update.runnerAddress;
      set(["runner-address"], update.runnerAddress);
    }
    for (
      const [k, v] of Object.entries(update.tls ?? {}) as [
        keyof NonNullable<Context["tls"]>,
        string | undefined,
      ][]
    ) {
      if (v === undefined) continue;
      const tls = ctx.tls ?? {};
      if (v === "") delete tls[k];
      else tls[k] = v;
      ctx.tls = tls;
      if (Object.keys(tls).length === 0) delete ctx.tls;
      set(["grpc", "tls", k], v);
    }
    // An emptied [grpc.tls] header would still parse as a (now empty) tls table: drop it.
    if (!ctx.tls && current.tls) text = removeTree(text, ["context", name, "grpc"]);
    changed = JSON.stringify(current) !== JSON.stringify(ctx);
    return { text, expected };
  });
  return { model, changed };
}

/** Adds a context read from elsewhere (an export, envd's file); refuses to overwrite one of the same name. */
export async function importContexts(path: string, contexts: Context[]): Promise<ContextsFile> {
  for (const c of contexts) {
    checkName(c.name);
    checkTypes(c.builder, c.runner);
  }
  return await changeContextsFile(path, (file) => {
    let text = materialize(file);
    const expected = cloneModel(file.model);
    for (const c of contexts) {
      if (find(expected, c.name)) {
        throw new UserError(`context "${c.name}" already exists (import it under another name with --name)`);
      }
      text = appendBlock(text, renderContext(c));
      expected.contexts.push(c);
    }
    return { text, expected };
  });
}

/** Adds a `[[context.N.node]]` table at the end of context `name`'s block. */
export async function addNode(path: string, name: string, node: NodeConfig): Promise<ContextsFile> {
  if (!new RegExp(NAME_PATTERN).test(node.name)) {
    throw new UserError(`invalid node name ${JSON.stringify(node.name)}: names must match ${NAME_PATTERN}`);
  }
  if (!BUILDER_TYPES.includes(node.builder)) {
    throw new UserError(`unknown builder type "${node.builder}" (one of ${BUILDER_TYPES.join(", ")})`);
  }
  for (const p of node.platforms ?? []) {
    if (!new RegExp(PLATFORM_PATTERN).test(p)) {
      throw new UserError(`invalid platform "${p}" (use os/arch[/variant], e.g. linux/arm64)`);
    }
  }
  const n: NodeConfig = { ...node, builderAddress: normalizeAddress(node.builder, node.builderAddress) };
  return await changeContextsFile(path, (file) => {
    if (!find(file.model, name)) throw new UserError(`cannot find context "${name}"`);
    const expected = cloneModel(file.model);
    const ctx = find(expected, name)!;
    if (n.name === name || ctx.nodes?.some((x) => x.name === n.name)) {
      throw new UserError(`context "${name}" already has a node named "${n.name}"`);
    }
    ctx.nodes = [...ctx.nodes ?? [], n];
    const text = materialize(file);
    const block = renderTables(["context", name, "node"], NODE_SPEC, nodeTable(n), {
      indent: subTableIndent(text, ["context", name]),
      array: true,
    });
    return { text: insertAfterBlock(text, ["context", name], block), expected };
  });
}

/** Removes node `node` of context `name`, with the comments above its table. */
export async function removeNode(path: string, name: string, node: string): Promise<ContextsFile> {
  return await changeContextsFile(path, (file) => {
    const ctx = find(file.model, name);
    if (!ctx) throw new UserError(`cannot find context "${name}"`);
    if (node === name) {
      throw new UserError(
        `node "${node}" is context "${name}"'s own builder: change it with context update, or remove the context`,
      );
    }
    const i = ctx.nodes?.findIndex((x) => x.name === node) ?? -1;
    if (i < 0) throw new UserError(`context "${name}" has no node named "${node}"`);
    const expected = cloneModel(file.model);
    const c = find(expected, name)!;
    c.nodes!.splice(i, 1);
    if (c.nodes!.length === 0) delete c.nodes;
    return { text: removeTree(file.text, ["context", name, "node", i]), expected };
  });
}
