/** `context export` / `context import`: one context as a standalone TOML document, and envd's gob file. */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  checkName,
  checkTypes,
  importContexts,
  normalizeAddress,
  renderContext,
  validateText,
} from "../config/mod.ts";
import type { Context } from "../config/types.ts";
import { InterruptedError, UsageError, UserError, wrapError } from "../errors.ts";
import { bool, type CommandSpec, str } from "./command.ts";
import { contextsPath, loadContexts, markCurrent } from "./_contexts.ts";
import { writeFileAtomic } from "../config/atomic_write.ts";

// Stdin is read asynchronously so that Ctrl-C can interrupt a pipe that never closes.
async function readInput(file: string, signal: AbortSignal): Promise<string> {
  if (file !== "-") {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new UserError(`${file}: cannot read: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  const chunks: Buffer[] = [];
  const aborted = new Promise<never>((_, reject) =>
    signal.addEventListener("abort", () => reject(new InterruptedError()), { once: true })
  );
  const read = (async () => {
    for await (const c of process.stdin) chunks.push(c as Buffer);
  })();
  await Promise.race([read, aborted]);
  return Buffer.concat(chunks).toString("utf8");
}

// Paths stay paths unless asked; with --embed-tls the PEM text travels inside the document.
function embedTls(ctx: Context): Context {
  if (!ctx.tls) return ctx;
  const tls = { ...ctx.tls };
  for (const k of ["ca", "cert", "key"] as const) {
    const v = tls[k];
    if (v === undefined || v.includes("-----BEGIN")) continue;
    try {
      tls[k] = readFileSync(v, "utf8");
    } catch (err) {
      throw new UserError(
        `--embed-tls: cannot read grpc.tls.${k} file "${v}": ${(err as Error).message.split("\n")[0]}`,
      );
    }
  }
  return { ...ctx, tls };
}

export const contextExport: CommandSpec = {
  name: "export",
  usage: "Write one context as a standalone TOML document (to FILE, or stdout with - or no FILE)",
  args: "[FILE|-]",
  maxArgs: 1,
  flags: [
    { name: "name", type: "string", value: "NAME", required: true, help: "Name of the context" },
    {
      name: "embed-tls",
      type: "bool",
      help: "Inline the PEM contents of [grpc.tls] files instead of their paths",
    },
  ],
  run(inv) {
    const name = str(inv, "name")!;
    const ctx = loadContexts(inv).model.contexts.find((c) => c.name === name);
    if (!ctx) throw new UserError(`failed to export context: cannot find context "${name}"`);
    const out = bool(inv, "embed-tls") ? embedTls(ctx) : ctx;
    const doc = `# envd-lite context "${name}"; add it elsewhere with: envd-lite context import FILE\n${
      renderContext(out)
    }`;
    const dest = inv.args[0] ?? "-";
    if (dest === "-") inv.out.stdout(doc);
    else {
      writeFileAtomic(dest, doc, { secret: bool(inv, "embed-tls") && out.tls?.key !== undefined });
      inv.log.info(`Context ${name} is exported to ${dest}`, { cmd: "context export" });
    }
    return Promise.resolve();
  },
};

// envd-lite's own checks on one of envd's contexts: the reason it cannot be imported, or undefined.
function importRefusal(c: Context): string | undefined {
  try {
    checkName(c.name);
    checkTypes(c.builder, c.runner);
    normalizeAddress(c.builder, c.builderAddress);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** Imports every context of envd's gob file that envd-lite accepts; each one it cannot take is named, with why. */
async function importFromEnvd(inv: Parameters<NonNullable<CommandSpec["run"]>>[0]): Promise<void> {
  if (inv.given.has("name")) {
    throw new UsageError(
      "--name cannot be used with --from-envd: it imports every context under its own name (rename one afterwards with export and import --name)",
      "envd-lite context import",
    );
  }
  const { decodeEnvdContexts } = await import("../config/envd_gob.ts");
  const home = inv.env.HOME || homedir();
  const src = inv.args[0] ?? join(home, ".config", "envd", "contexts");
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(src);
  } catch (err) {
    throw new UserError(`${src}: cannot read envd contexts: ${(err as Error).message.split("\n")[0]}`);
  }
  let decoded;
  try {
    decoded = decodeEnvdContexts(bytes);
  } catch (err) {
    throw wrapError(`${src}: not an envd contexts file`, err);
  }
  const file = loadContexts(inv);
  const existing = new Set(file.model.contexts.map((c) => c.name));
  const take: Context[] = [];
  const fields = { cmd: "context import", from: src };
  for (const e of decoded.contexts) {
    const c: Context = {
      name: e.name,
      builder: e.builder,
      builderAddress: e.builderAddress,
      runner: e.runner,
      ...(e.runnerAddress ? { runnerAddress: e.runnerAddress } : {}),
    };
    if (existing.has(c.name)) {
      inv.log.info(`Context ${c.name} already exists, skipped`, fields);
      continue;
    }
    const refusal = importRefusal(c);
    if (refusal) {
      inv.log.warn(`Context ${e.name} is not imported: ${refusal}`, fields);
      continue;
    }
    existing.add(c.name);
    take.push({ ...c, builderAddress: normalizeAddress(c.builder, c.builderAddress) });
  }
  if (take.length) await importContexts(contextsPath(inv), take);
  for (const c of take) inv.log.info(`Context ${c.name} is imported`, fields);
  const skipped = decoded.contexts.length - take.length;
  inv.log.info(`Imported ${take.length} of ${decoded.contexts.length} envd contexts`, {
    ...fields,
    ...(skipped ? { skipped } : {}),
  });
  markCurrent(inv, file.model);
}

export const contextImport: CommandSpec = {
  name: "import",
  usage:
    "Add a context from an exported TOML document (FILE or - for stdin), or envd's own contexts with --from-envd",
  args: "FILE|-",
  maxArgs: 1,
  flags: [
    { name: "name", type: "string", value: "NAME", help: "Name to give the imported context" },
    {
      name: "from-envd",
      type: "bool",
      help:
        "Import every context of an envd installation that envd-lite accepts, naming each one it cannot take and why (FILE defaults to ~/.config/envd/contexts)",
    },
  ],
  async run(inv) {
    if (bool(inv, "from-envd")) return importFromEnvd(inv);
    const src = inv.args[0];
    if (!src) throw new UsageError("give the FILE to import (or - for stdin)", "context import");
    const text = await readInput(src, inv.signal);
    const from = src === "-" ? "stdin" : src;
    const { model, statements } = validateText(text, from, { standalone: true });
    if (!statements.some((s) => s.path[0] === "context")) throw new UserError(`${from}: holds no context`);
    if (model.contexts.length !== 1) {
      throw new UserError(
        `${from}: holds ${model.contexts.length} contexts; export one with 'envd-lite context export'`,
      );
    }
    const ctx = { ...model.contexts[0], name: str(inv, "name") ?? model.contexts[0].name };
    try {
      await importContexts(contextsPath(inv), [ctx]);
    } catch (err) {
      throw wrapError("failed to import context", err);
    }
    inv.log.info(`Context ${ctx.name} is imported`, { cmd: "context import" });
  },
};
