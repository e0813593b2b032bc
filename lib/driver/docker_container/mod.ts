/** docker-container: buildkitd in a Docker container, reached by a Docker API exec of `buildctl dial-stdio`. */
import type { Context } from "../../config/types.ts";
import { bundleConfig } from "../../daemon/bundle.ts";
import { imageFor } from "../../daemon/image.ts";
import { tar, type TarEntry } from "../../daemon/tar.ts";
import { runningTimeout } from "../../daemon/timeouts.ts";
import { UserError } from "../../errors.ts";
import { dockerApi } from "../../transport/docker_api.ts";
import { dockerExecStream } from "../../transport/docker_exec.ts";
import type { DriverEnv, DriverFactory } from "../types.ts";
import { describeContainer, removeContainer, stopContainer } from "./control.ts";
import { dockerOps } from "./docker_ops.ts";
import { ensureContainer } from "./lifecycle.ts";
import { privilegeMemo } from "./privilege_memo.ts";
import {
  buildkitdArgs,
  CONFIG_DIR,
  CONFIG_FILE,
  type ContainerPlan,
  ROOTLESS_SOCKET,
  ROOTLESS_UID,
  volumeName,
} from "./spec.ts";

// Docker's own rule for container names.
const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The container name in a builder address, which may carry buildctl's `docker-container://` prefix. */
export function parseContainerName(address: string): string {
  const name = address.replace(/^docker-container:\/\//, "");
  if (!CONTAINER_NAME.test(name)) {
    throw new UserError(
      `invalid docker-container builder address "${address}": want a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
    );
  }
  return name.replace(/^\//, "");
}

/** The container to create for `context`, and the archive holding its buildkitd.toml and the files it names. */
export function planContainer(
  context: Context,
  image?: string,
): { plan: ContainerPlan; archive: Uint8Array } {
  const name = parseContainerName(context.builderAddress);
  const rootless = context.daemon?.rootless ?? false;
  const args = buildkitdArgs(rootless, context.daemon?.flags);
  const bundle = bundleConfig(context, CONFIG_DIR, args);
  // Rootless buildkitd runs as uid 1000: key material must be readable by it, and by no one else.
  const owner = rootless ? { uid: ROOTLESS_UID, gid: ROOTLESS_UID } : {};
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  const addDirs = (path: string) => {
    const parts = path.split("/").slice(1, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/") + "/";
      if (d !== "etc/" && !dirs.has(d)) {
        dirs.add(d);
        entries.push({ path: d, mode: 0o755 });
      }
    }
  };
  addDirs(CONFIG_FILE);
  entries.push({ path: CONFIG_FILE.slice(1), data: new TextEncoder().encode(bundle.toml), mode: 0o644 });
  for (const f of bundle.files) {
    addDirs(f.target);
    entries.push({
      path: f.target.slice(1),
      data: f.data,
      mode: f.secret ? 0o600 : 0o644,
      ...(f.secret ? owner : {}),
    });
  }
  return {
    plan: {
      name,
      image: imageFor(context.daemon, image),
      volume: volumeName(name, context.daemon?.state),
      rootless,
      args,
      hash: bundle.hash,
      context: context.name,
    },
    archive: tar(entries),
  };
}

function lifecycleEnv(env: DriverEnv, signal?: AbortSignal) {
  return {
    ops: dockerOps(dockerApi(env.env).docker),
    log: env.log,
    debug: (m: string) => env.debug?.(m),
    runningTimeout: runningTimeout(env.env),
    memo: privilegeMemo(env.env),
    signal,
  };
}

export const factory: DriverFactory = {
  name: "docker-container",
  create(context, env) {
    const name = () => parseContainerName(context.builderAddress);
    // A rootless container's buildkitd listens on uid 1000's socket, not the default one dial-stdio tries.
    const dial = context.daemon?.rootless
      ? ["buildctl", "--addr", `unix://${ROOTLESS_SOCKET}`, "dial-stdio"]
      : ["buildctl", "dial-stdio"];
    return {
      endpoint() {
        const container = name();
        return Promise.resolve({
          kind: "stream",
          display: `docker-container://${container}`,
          // A fresh exec per gRPC connection; the Docker client is made here so DOCKER_HOST errors surface on dial.
          open: (signal) =>
            dockerExecStream(dockerApi(env.env).docker, container, dial, {
              signal,
              onStderr: (line) =>
                env.debug?.(`docker-container://${container}: buildctl dial-stdio: ${line}`),
            }),
        });
      },
      async bootstrap(opts = {}) {
        const container = name();
        const lenv = lifecycleEnv(env, opts.signal);
        let planned: ReturnType<typeof planContainer> | undefined;
        try {
          return await ensureContainer(lenv, {
            name: container,
            context: context.name,
            plan: () => (planned ??= planContainer(context, opts.image)),
            configuredImage: opts.image ? undefined : context.daemon?.image,
          }, { recreate: opts.recreate, existing: opts.existing });
        } catch (err) {
          if (err instanceof UserError || opts.signal?.aborted) throw err;
          throw dockerError(err, container, env);
        }
      },
      async stop() {
        try {
          return await stopContainer(lifecycleEnv(env).ops, name());
        } catch (err) {
          if (err instanceof UserError) throw err;
          throw dockerError(err, name(), env);
        }
      },
      async remove({ keepState }) {
        const container = name();
        try {
          return await removeContainer(
            lifecycleEnv(env).ops,
            container,
            volumeName(container, context.daemon?.state),
            keepState,
          );
        } catch (err) {
          if (err instanceof UserError) throw err;
          throw dockerError(err, container, env);
        }
      },
      diagnose() {
        return describeContainer(lifecycleEnv(env).ops, name());
      },
    };
  },
};

// Docker unreachable, permission denied, and other API failures: one line naming where Docker was looked for.
function dockerError(err: unknown, container: string, env: DriverEnv): UserError {
  const e = err as { code?: string; message?: string };
  const where = dockerApi(env.env).target.display;
  if (e.code === "EACCES") {
    return new UserError(
      `cannot use Docker at ${where}: permission denied (is this user in the docker group? https://docs.docker.com/engine/install/linux-postinstall/)`,
      { cause: err },
    );
  }
  if (e.code === "ENOENT" || e.code === "ECONNREFUSED") {
    return new UserError(
      `cannot reach Docker at ${where} (${e.code}): is dockerd running? (DOCKER_HOST selects another)`,
      { cause: err },
    );
  }
  return new UserError(`container ${container}: Docker at ${where}: ${e.message ?? String(err)}`, {
    cause: err,
  });
}
