/** envd's BUILDKIT_RUNNING_TIMEOUT: how long a container may take to come up (or go away). */
import { parseGoDuration } from "../config/values.ts";
import { UserError } from "../errors.ts";

/** A positive Go duration from `env[name]`, or `fallback`; a bad value is a UserError naming the variable. */
export function envTimeout(
  env: Record<string, string | undefined>,
  name: string,
  fallback: string,
): { ms: number; text: string } {
  const text = env[name] || fallback;
  const ms = parseGoDuration(text);
  if (ms === null || ms <= 0) {
    throw new UserError(`${name}: invalid duration "${text}" (use Go syntax such as 3s or 1m30s)`);
  }
  return { ms, text };
}

/** BUILDKIT_RUNNING_TIMEOUT, default 3s as in envd. */
export const runningTimeout = (env: Record<string, string | undefined>) =>
  envTimeout(env, "BUILDKIT_RUNNING_TIMEOUT", "3s");
