/** moby-worker: the BuildKit embedded in dockerd, reached through the Docker API's `POST /grpc` (h2c upgrade). */
import { dockerTarget, dockerUpgrade } from "../../transport/docker_api.ts";
import type { DriverFactory } from "../types.ts";

export const factory: DriverFactory = {
  name: "moby-worker",
  // The builder address is ignored: the daemon is the runner's dockerd, named by DOCKER_HOST.
  create(_context, env) {
    return {
      endpoint() {
        const target = dockerTarget(env.env);
        return Promise.resolve({
          kind: "stream",
          display: `moby-worker (dockerd at ${target.display})`,
          // dockerd answers 101 and then serves gRPC over HTTP/2 (prior knowledge) on the raw connection;
          // the docker CLI dials the unversioned path, so do we.
          open: (signal) => dockerUpgrade(target, "/grpc", "h2c", {}, signal),
        });
      },
    };
  },
};
