/** Shared by the context commands: which file this run edits, and the context it resolves to. */
import {
  loadContextsFile,
  type LoadedFile,
  locateContextsFile,
  markedCurrent,
  resolveContext,
} from "../config/mod.ts";
import type { ContextsFile, ResolvedContext } from "../config/types.ts";
import type { Invocation } from "./command.ts";

/** The contexts file path for this run. */
export function contextsPath(inv: Invocation): string {
  const file = locateContextsFile({ flag: inv.global.contextsFile, env: inv.env, cwd: process.cwd() });
  inv.log.debug("contexts file", { file });
  return file;
}

/** Loads the contexts file for this run. */
export function loadContexts(inv: Invocation): LoadedFile {
  return loadContextsFile(contextsPath(inv));
}

/** The context this run uses, honouring --context and ENVD_CONTEXT. */
export function currentContext(inv: Invocation, file = loadContexts(inv)): ResolvedContext {
  return resolveContext(file, { flag: inv.global.context, env: inv.env });
}

/** For commands that do not use the current context: its name, with one warning (not a failure) when
 * --context or ENVD_CONTEXT names no context. */
export function markCurrent(inv: Invocation, model: ContextsFile): string {
  const { name, warning } = markedCurrent(model, { flag: inv.global.context, env: inv.env });
  if (warning) inv.log.warn(warning);
  return name;
}

/** envd's `<type>://<address>` display form. */
export function builderUrl(builder: string, address: string): string {
  return `${builder}://${address}`;
}
