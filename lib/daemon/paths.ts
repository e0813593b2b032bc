/** Where host daemons keep their things: XDG state dir for envd-lite's files, runtime dir for sockets. */
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { UserError } from "../errors.ts";

type Env = Record<string, string | undefined>;

/** `$XDG_STATE_HOME/envd-lite` (default `~/.local/state/envd-lite`). */
export function stateDir(env: Env): string {
  const base = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME)
    ? env.XDG_STATE_HOME
    : join(env.HOME || homedir(), ".local/state");
  return join(base, "envd-lite");
}

/**
 * The user's runtime dir: `$XDG_RUNTIME_DIR`, else `/run/user/UID` when it exists and is theirs; root uses `/run`.
 * Rootless buildkitd keeps its socket there, as BuildKit's own rootless setup does.
 */
export function runtimeDir(env: Env, uid: number): string {
  if (uid === 0) return "/run";
  if (env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR)) return env.XDG_RUNTIME_DIR;
  const guess = `/run/user/${uid}`;
  if (existsSync(guess) && statSync(guess).uid === uid) return guess;
  throw new UserError(
    `XDG_RUNTIME_DIR is not set and ${guess} does not exist: rootless buildkitd needs a runtime dir for its socket`,
  );
}

// sun_path is 108 bytes including the NUL; 5 are kept for the daemon's OTEL socket beside it (`<socket>.otel`).
const MAX_SOCKET = 102;

/** The socket of a managed unix builder: an absolute address as is, a bare name under `<runtime dir>/buildkit/`. */
export function socketPath(address: string, env: Env, uid: number): string {
  const a = address.replace(/^unix:\/\//, "");
  const path = isAbsolute(a) ? a : join(runtimeDir(env, uid), "buildkit", a);
  if (Buffer.byteLength(path) > MAX_SOCKET) {
    throw new UserError(
      `socket path too long for a unix socket (${Buffer.byteLength(path)} > ${MAX_SOCKET} bytes): ${path}`,
    );
  }
  return path;
}
