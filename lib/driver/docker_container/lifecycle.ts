/**
 * Bringing a docker-container builder to "running": create it when absent, resume it by its state (envd's table and
 * log lines), re-create it only when asked. A container is never changed behind the user's back: a config that
 * differs from the one it was started with is reported, not applied.
 */
import { UserError } from "../../errors.ts";
import { type ContainerState, dockerMessage, type DockerOps, statusOf } from "./docker_ops.ts";
import type { PrivilegeMemo } from "./privilege_memo.ts";
import {
  type ContainerPlan,
  containerSpec,
  LABEL_CONTEXT,
  LABEL_HASH,
  LABEL_MANAGED,
  type Privileges,
} from "./spec.ts";

export interface LifecycleEnv {
  ops: DockerOps;
  log(message: string): void;
  debug(message: string): void;
  /** BUILDKIT_RUNNING_TIMEOUT: how long a container may take to start or go away. */
  runningTimeout: { ms: number; text: string };
  signal?: AbortSignal;
  /** Docker daemons known to refuse --privileged; absent: always try it first. */
  memo?: PrivilegeMemo;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** What the container should be; `plan()` renders and reads config files, so it runs only when needed. */
export interface Desired {
  name: string;
  context: string;
  plan(): { plan: ContainerPlan; archive: Uint8Array };
  /** `[daemon].image` when the user set it (and no `--buildkitd-image` overrides it): a running container is checked against it. */
  configuredImage?: string;
}

export interface EnsureResult {
  /** This call created the container (fresh, or re-created). */
  created: boolean;
  /** This call started, unpaused or created it: buildkitd is only now coming up. */
  started: boolean;
  /** One line for the user: the running container's config differs from the context's (nothing was changed). */
  message?: string;
}

/** True when envd-lite created this container. */
export const isManaged = (s: ContainerState) => s.labels[LABEL_MANAGED] === "true";

// A concurrent envd-lite may win the race to create the container; then take what it made.
const MAX_ROUNDS = 4;

/** Make the container exist and run; see the module comment. */
export async function ensureContainer(
  env: LifecycleEnv,
  want: Desired,
  opts: { recreate?: boolean; existing?: boolean } = {},
): Promise<EnsureResult & { absent?: string }> {
  const { ops, log } = env;
  const name = want.name;
  let recreate = opts.recreate ?? false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    env.signal?.throwIfAborted();
    const state = await ops.inspect(name);
    if (!state) {
      if (opts.existing) {
        return { created: false, started: false, absent: `container ${name} does not exist` };
      }
      const made = await create(env, want);
      if (made) return { created: true, started: true };
      recreate = false;
      continue;
    }
    if (recreate) {
      if (!isManaged(state)) {
        throw new UserError(
          `container ${name} was not created by envd-lite, so it is not re-created; remove it yourself (docker rm -f ${name}) or use another builder address`,
        );
      }
      log(`re-creating container ${name}; its cache volume is kept`);
      await ops.remove(name);
      await waitGone(env, name);
      recreate = false;
      continue;
    }
    switch (state.status) {
      case "paused":
        log("container was paused, unpause it now...");
        await ops.unpause(name);
        return { created: false, started: true, message: differs(env, want, state) };
      case "exited":
        log("container exited, try to start it...");
        await startExisting(ops, name);
        return { created: false, started: true, message: differs(env, want, state) };
      case "dead":
        log("container is dead, try to remove it...");
        await ops.remove(name);
        continue;
      case "removing":
        log("container is being removed.");
        await waitGone(env, name);
        continue;
      case "created": {
        log("container is being created");
        const running = await waitRunning(env, name);
        if (!running) {
          // Nobody is starting it (e.g. an interrupted bootstrap left it): start it ourselves.
          env.debug(`container ${name} stayed created for ${env.runningTimeout.text}; starting it`);
          await startExisting(ops, name);
        }
        return { created: false, started: true, message: differs(env, want, state) };
      }
      default: // running; restarting (Docker is already bringing it back)
        return { created: false, started: false, message: differs(env, want, state) };
    }
  }
  throw new UserError(
    `container ${name} keeps changing under us (created or removed by someone else); try again`,
  );
}

// The one line that says the running container is not what the context now asks for; undefined when it is.
function differs(env: LifecycleEnv, want: Desired, state: ContainerState): string | undefined {
  if (!isManaged(state)) {
    env.debug(
      `container ${want.name} was not created by envd-lite; its configuration is not compared with the context`,
    );
    return undefined;
  }
  let hash: string;
  try {
    hash = want.plan().plan.hash;
  } catch (err) {
    return `cannot compare container ${want.name} with context "${want.context}": ${(err as Error).message}`;
  }
  const what: string[] = [];
  if (state.labels[LABEL_HASH] !== hash) what.push("buildkitd configuration");
  if (want.configuredImage && state.image !== want.configuredImage) {
    what.push(`image (${state.image}, context says ${want.configuredImage})`);
  }
  if (what.length === 0) return undefined;
  const other = state.labels[LABEL_CONTEXT] && state.labels[LABEL_CONTEXT] !== want.context
    ? ` (it was created for context "${state.labels[LABEL_CONTEXT]}")`
    : "";
  return `container ${want.name} runs with another ${
    what.join(" and ")
  } than context "${want.context}" gives${other}; nothing was changed: run \`envd-lite bootstrap --recreate\` to apply it (the cache volume is kept)`;
}

// Returns false when someone else created a container of that name first.
async function create(env: LifecycleEnv, want: Desired): Promise<boolean> {
  const { ops, log } = env;
  const { plan, archive } = want.plan();
  if (await ops.ensureImage(plan.image, (line) => env.debug(`pull ${plan.image}: ${line}`))) {
    log(`pulled image ${plan.image}`);
  }
  const newVolume = await ops.ensureVolume(plan.volume, {
    [LABEL_MANAGED]: "true",
    [LABEL_CONTEXT]: want.context,
  });
  log(
    `creating container ${plan.name} from ${plan.image} (cache volume ${plan.volume}${
      newVolume ? ", new" : ""
    })`,
  );
  if (plan.rootless) return await createAndStart(env, plan, archive, "rootless");
  const key = env.memo ? await ops.daemonKey().catch(() => undefined) : undefined;
  if (key && env.memo!.refused(key)) {
    env.debug(
      `this Docker refused --privileged before (${
        env.memo!.where
      }); using all capabilities but CAP_SYS_RESOURCE`,
    );
    return await createAndStart(env, plan, archive, "caps-fallback");
  }
  return await createAndStart(env, plan, archive, "privileged", key);
}

async function createAndStart(
  env: LifecycleEnv,
  plan: ContainerPlan,
  archive: Uint8Array,
  privileges: Privileges,
  daemonKey?: string,
): Promise<boolean> {
  const { ops } = env;
  try {
    await ops.create(containerSpec(plan, privileges));
  } catch (err) {
    if (statusOf(err) === 409) return false;
    throw new UserError(`cannot create container ${plan.name}: ${dockerMessage(err)}`, { cause: err });
  }
  try {
    // The config goes in before buildkitd first starts, and stays in the container's layer across restarts.
    await ops.putArchive(plan.name, archive);
    await ops.start(plan.name);
    return true;
  } catch (err) {
    const msg = dockerMessage(err);
    // A failed container would only fail again; remove it so the next attempt starts clean (the volume stays).
    await ops.remove(plan.name).catch(() => {});
    if (privileges === "privileged" && /unable to apply caps/.test(msg)) {
      env.debug(
        `--privileged is refused on this host (${msg}); using all capabilities but CAP_SYS_RESOURCE instead`,
      );
      if (daemonKey) env.memo?.remember(daemonKey);
      return await createAndStart(env, plan, archive, "caps-fallback");
    }
    throw new UserError(`cannot start container ${plan.name}: ${msg}`, { cause: err });
  }
}

async function startExisting(ops: DockerOps, name: string): Promise<void> {
  try {
    await ops.start(name);
  } catch (err) {
    if (statusOf(err) === 304) return; // already started
    throw new UserError(`cannot start container ${name}: ${dockerMessage(err)}`, { cause: err });
  }
}

// Polls with a short growing pause: a container changes state in tens of milliseconds, not seconds.
async function until(env: LifecycleEnv, check: () => Promise<boolean>): Promise<boolean> {
  const sleep = env.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + env.runningTimeout.ms;
  for (let pause = 25;; pause = Math.min(pause * 2, 250)) {
    env.signal?.throwIfAborted();
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(pause, Math.max(1, deadline - Date.now())));
  }
}

async function waitGone(env: LifecycleEnv, name: string): Promise<void> {
  if (!(await until(env, async () => (await env.ops.inspect(name)) === null))) {
    throw new UserError(`timeout ${env.runningTimeout.text}: container can't be removed`);
  }
}

async function waitRunning(env: LifecycleEnv, name: string): Promise<boolean> {
  return await until(env, async () => {
    const s = await env.ops.inspect(name);
    if (!s) throw new UserError(`container ${name} was removed while starting`);
    return s.running;
  });
}
