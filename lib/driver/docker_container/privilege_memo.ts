/**
 * Remembers Docker daemons that refuse `--privileged` (hosts whose capability bounding set lacks one), so the next
 * create goes straight to the fallback instead of paying a failed create/start (about 250 ms) every time.
 * Keyed by daemon ID and kernel: a new kernel is tried again. Only a hint: unreadable or unwritable is ignored.
 */
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { stateDir } from "../../daemon/paths.ts";

/** What the lifecycle asks of the memo. */
export interface PrivilegeMemo {
  refused(key: string): boolean;
  remember(key: string): void;
  /** Where it is kept, for the debug line. */
  where: string;
}

/** The memo in `$XDG_STATE_HOME/envd-lite/privileged-refused` (one key a line). */
export function privilegeMemo(env: Record<string, string | undefined>): PrivilegeMemo {
  const file = join(stateDir(env), "privileged-refused");
  return {
    where: file,
    refused(key) {
      try {
        return readFileSync(file, "utf8").split("\n").includes(key);
      } catch {
        return false;
      }
    },
    remember(key) {
      try {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        appendFileSync(file, key + "\n");
      } catch { /* a hint only */ }
    },
  };
}
