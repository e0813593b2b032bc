/** Which contexts file a run uses. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface LocateOptions {
  flag?: string;
  env: Record<string, string | undefined>;
  cwd: string;
}

/** `--contexts-file`, then `$ENVD_CONTEXTS_FILE`, then `./envd.contexts.toml` if it exists, then the XDG config path. */
export function locateContextsFile(opts: LocateOptions): string {
  if (opts.flag) return resolve(opts.cwd, opts.flag);
  if (opts.env.ENVD_CONTEXTS_FILE) return resolve(opts.cwd, opts.env.ENVD_CONTEXTS_FILE);
  const local = join(opts.cwd, "envd.contexts.toml");
  if (existsSync(local)) return local;
  const home = opts.env.HOME || homedir();
  const config = opts.env.XDG_CONFIG_HOME || join(home, ".config");
  return join(config, "envd", "contexts.toml");
}
