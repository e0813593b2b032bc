/** docker-container: buildkitd in a Docker container, reached by a Docker API exec of `buildctl dial-stdio`. */
import { UserError } from "../../errors.ts";
import { dockerApi } from "../../transport/docker_api.ts";
import { dockerExecStream } from "../../transport/docker_exec.ts";
import type { DriverFactory } from "../types.ts";

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

export const factory: DriverFactory = {
  name: "docker-container",
  create(context, env) {
    const name = () => parseContainerName(context.builderAddress);
    return {
      endpoint() {
        const container = name();
        return Promise.resolve({
          kind: "stream",
          display: `docker-container://${container}`,
          // A fresh exec per gRPC connection; the Docker client is made here so DOCKER_HOST errors surface on dial.
          open: (signal) =>
            dockerExecStream(dockerApi(env.env).docker, container, ["buildctl", "dial-stdio"], {
              signal,
              onStderr: (line) =>
                env.debug?.(`docker-container://${container}: buildctl dial-stdio: ${line}`),
            }),
        });
      },
      // Creating the container comes later; for now only say clearly when it is missing or stopped.
      async bootstrap() {
        const container = name();
        const { docker, target } = dockerApi(env.env);
        let state: { Status?: string; Running?: boolean };
        try {
          state = (await docker.getContainer(container).inspect()).State;
        } catch (err) {
          const e = err as { statusCode?: number; message?: string };
          if (e.statusCode === 404) {
            throw new UserError(
              `container ${container} does not exist; start a buildkitd container with that name (e.g. moby/buildkit) or choose another builder`,
            );
          }
          throw new UserError(
            `cannot inspect container ${container} at ${target.display}: ${e.message ?? err}`,
            { cause: err },
          );
        }
        if (!state.Running) {
          throw new UserError(
            `container ${container} is ${
              state.Status ?? "not running"
            }; start it (docker start ${container}) and retry`,
          );
        }
      },
    };
  },
};
