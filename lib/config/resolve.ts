/** Which context a run uses: `--context`, then `$ENVD_CONTEXT`, then the file's `current`. */
import { UserError } from "../errors.ts";
import type { LoadedFile } from "./store.ts";
import type { ResolvedContext } from "./types.ts";

/** Picks the context for this run from a loaded file. */
export function resolveContext(
  file: LoadedFile,
  opts: { flag?: string; env: Record<string, string | undefined> },
): ResolvedContext {
  const [name, source, origin] = opts.flag
    ? [opts.flag, "flag" as const, "--context"]
    : opts.env.ENVD_CONTEXT
    ? [opts.env.ENVD_CONTEXT, "env" as const, "ENVD_CONTEXT"]
    : [file.model.current, "file" as const, file.text === null ? "the default" : file.path];
  const context = file.model.contexts.find((c) => c.name === name);
  if (!context) throw new UserError(`context "${name}" does not exist (named by ${origin})`);
  return { context, file: file.text === null ? null : file.path, source };
}
