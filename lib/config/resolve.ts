/** Which context a run uses: `--context`, then `$ENVD_CONTEXT`, then the file's `current`. */
import { UserError } from "../errors.ts";
import type { LoadedFile } from "./store.ts";
import type { ContextsFile, ResolvedContext } from "./types.ts";

/** What selects the context for this run. */
export interface Selection {
  flag?: string;
  env: Record<string, string | undefined>;
}

function select(model: ContextsFile, sel: Selection, fileLabel: string) {
  return sel.flag
    ? { name: sel.flag, source: "flag" as const, origin: "--context" }
    : sel.env.ENVD_CONTEXT
    ? { name: sel.env.ENVD_CONTEXT, source: "env" as const, origin: "ENVD_CONTEXT" }
    : { name: model.current, source: "file" as const, origin: fileLabel };
}

/** Picks the context for this run from a loaded file; a selection naming no context is an error. */
export function resolveContext(file: LoadedFile, sel: Selection): ResolvedContext {
  const { name, source, origin } = select(file.model, sel, file.text === null ? "the default" : file.path);
  const context = file.model.contexts.find((c) => c.name === name);
  if (!context) throw new UserError(`context "${name}" does not exist (named by ${origin})`);
  return { context, file: file.text === null ? null : file.path, source };
}

/**
 * For commands that do not use the current context (they list, show by name, or change the file): the name
 * to mark as current, and, when --context or ENVD_CONTEXT names no context, the warning to give instead of
 * failing; the file's `current` is marked then.
 */
export function markedCurrent(model: ContextsFile, sel: Selection): { name: string; warning?: string } {
  const { name, source, origin } = select(model, sel, "");
  if (source === "file" || model.contexts.some((c) => c.name === name)) return { name };
  return {
    name: model.current,
    warning: `context "${name}" does not exist (named by ${origin}); ignored by this command`,
  };
}
