/** THE list of builder types. Adding a driver is one folder under lib/driver/ and one line here. */
import type { DriverFactory } from "./types.ts";

interface DriverEntry {
  name: string;
  description: string;
  /** Drivers load lazily: gRPC and Docker code stays out of `--version` and `context ls`. */
  load(): Promise<DriverFactory>;
}

export const DRIVERS: readonly DriverEntry[] = [
  {
    name: "docker-container",
    description: "buildkitd in a Docker container (Docker API exec of buildctl dial-stdio)",
    load: () => import("./docker_container/mod.ts").then((m) => m.factory),
  },
  {
    name: "kube-pod",
    description: "buildkitd in a Kubernetes pod (kubectl exec ... buildctl dial-stdio)",
    load: () => import("./kube_pod/mod.ts").then((m) => m.factory),
  },
  {
    name: "tcp",
    description: "buildkitd listening on TCP, optionally with TLS",
    load: () => import("./tcp/mod.ts").then((m) => m.factory),
  },
  {
    name: "unix",
    description: "buildkitd listening on a unix socket",
    load: () => import("./unix/mod.ts").then((m) => m.factory),
  },
  {
    name: "moby-worker",
    description: "the BuildKit embedded in dockerd (Docker API /grpc)",
    load: () => import("./moby_worker/mod.ts").then((m) => m.factory),
  },
  {
    name: "nerdctl-container",
    description: "buildkitd in a containerd container (nerdctl exec ... buildctl dial-stdio)",
    load: () => import("./nerdctl_container/mod.ts").then((m) => m.factory),
  },
  {
    name: "ssh",
    description: "buildkitd on a remote machine (ssh … buildctl dial-stdio, with your ssh config and agent)",
    load: () => import("./ssh/mod.ts").then((m) => m.factory),
  },
];

/** Names of all builder types, in envd's order. */
export const BUILDER_TYPES: readonly string[] = DRIVERS.map((d) => d.name);

/** The registry entry for a builder type, or undefined. */
export function findDriver(name: string): DriverEntry | undefined {
  return DRIVERS.find((d) => d.name === name);
}
