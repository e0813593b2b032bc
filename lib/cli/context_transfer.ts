/** `context export` / `context import`: one context as a standalone TOML document, and envd's gob file. */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { importContexts, renderContext, validateText } from "../config/mod.ts";
import type { Context } from "../config/types.ts";
import { InterruptedError, UsageError, UserError, wrapError } from "../errors.ts";
import { bool, type CommandSpec, str } from "./command.ts";
import { contextsPath, loadContexts } from "./_contexts.ts";
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

async function importFromEnvd(inv: Parameters<NonNullable<CommandSpec["run"]>>[0]): Promise<void> {
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
  const existing = new Set(loadContexts(inv).model.contexts.map((c) => c.name));
  const take: Context[] = [];
  for (const c of decoded.contexts) {
    if (existing.has(c.name)) {
      inv.log.info(`Context ${c.name} already exists, skipped`, { cmd: "context import" });
      continue;
    }
    take.push({
      name: c.name,
      builder: c.builder,
      builderAddress: c.builderAddress,
      runner: c.runner,
      ...(c.runnerAddress ? { runnerAddress: c.runnerAddress } : {}),
    });
  }
  if (take.length) await importContexts(contextsPath(inv), take);
  for (const c of take) inv.log.info(`Context ${c.name} is imported`, { cmd: "context import", from: src });
  if (!take.length) inv.log.info("Nothing to import", { cmd: "context import", from: src });
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
      help: "Import every context of an envd installation (FILE defaults to ~/.config/envd/contexts)",
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
