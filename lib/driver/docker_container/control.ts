/** `builder stop`, `builder rm` and failure diagnosis for a docker-container builder. */
import { tellingLines } from "../../daemon/log_lines.ts";
import { UserError } from "../../errors.ts";
import type { ControlResult } from "../types.ts";
import { dockerMessage, type DockerOps } from "./docker_ops.ts";
import { isManaged } from "./lifecycle.ts";
import { ROOTLESS_STATE_DIR, STATE_DIR } from "./spec.ts";

/** Stops the container (`docker stop`); with restart policy unless-stopped it then stays stopped until bootstrapped. */
export async function stopContainer(ops: DockerOps, name: string): Promise<ControlResult> {
  const state = await ops.inspect(name);
  if (!state) return { changed: false, message: `container ${name} does not exist` };
  if (!state.running) {
    return { changed: false, message: `container ${name} is not running (${state.status})` };
  }
  try {
    if (state.status === "paused") await ops.unpause(name); // let buildkitd see SIGTERM and shut down cleanly
    await ops.stop(name);
  } catch (err) {
    throw new UserError(`cannot stop container ${name}: ${dockerMessage(err)}`, { cause: err });
  }
  return { changed: true, message: `container ${name} is stopped` };
}

/**
 * Removes the container if envd-lite created it, and its cache volume too unless `keepState`. The volume is the one
 * the container mounts, else the context's (`fallbackVolume`), so a state removal works after the container is gone.
 */
export async function removeContainer(
  ops: DockerOps,
  name: string,
  fallbackVolume: string,
  keepState: boolean,
): Promise<ControlResult> {
  const state = await ops.inspect(name);
  if (state && !isManaged(state)) {
    throw new UserError(
      `container ${name} was not created by envd-lite; not removing it (docker rm -f ${name} does)`,
    );
  }
  const volume = state?.volumes[STATE_DIR] ?? state?.volumes[ROOTLESS_STATE_DIR] ?? fallbackVolume;
  try {
    if (state) await ops.remove(name);
    const gone = keepState ? false : await ops.removeVolume(volume);
    const what = state ? `container ${name} is removed` : `container ${name} does not exist`;
    if (keepState) return { changed: !!state, message: `${what}; its cache volume ${volume} is kept` };
    return {
      changed: !!state || gone,
      message: `${what}; cache volume ${volume} ${gone ? "is removed" : "does not exist"}`,
    };
  } catch (err) {
    throw new UserError(`cannot remove builder ${name}: ${dockerMessage(err)}`, { cause: err });
  }
}

/** Why buildkitd in the container may not answer: its state and last log lines; undefined when nothing is known. */
export async function describeContainer(ops: DockerOps, name: string): Promise<string | undefined> {
  const state = await ops.inspect(name).catch(() => null);
  if (!state) return undefined;
  const logs = tellingLines((await ops.logs(name, 200).catch(() => "")).split("\n"), 4);
  const status = state.running
    ? `container ${name} is ${state.status}`
    : `container ${name} is ${state.status} (exit code ${state.exitCode}${
      state.error ? `, ${state.error}` : ""
    })`;
  return logs.length ? `${status}; last buildkitd log lines: ${logs.join(" | ")}` : status;
}
