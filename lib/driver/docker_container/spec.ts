/** The container envd-lite creates for a docker-container builder, as Docker API create options (pure). */
import type Docker from "dockerode";

/** Labels on what envd-lite creates: the container (and its volume) are ours; the config it was started with. */
export const LABEL_MANAGED = "org.envd-lite.managed";
export const LABEL_HASH = "org.envd-lite.config-hash";
export const LABEL_CONTEXT = "org.envd-lite.context";

/** Where the rendered buildkitd.toml and the files it names live inside the container. */
export const CONFIG_DIR = "/etc/buildkit";
export const CONFIG_FILE = `${CONFIG_DIR}/buildkitd.toml`;

/** buildkitd's state: the named volume goes here (rootless: buildkitd's default root for uid 1000 in BuildKit's image). */
export const STATE_DIR = "/var/lib/buildkit";
export const ROOTLESS_STATE_DIR = "/home/user/.local/share/buildkit";

/** The uid BuildKit's rootless image runs as, and the socket rootless buildkitd listens on there. */
export const ROOTLESS_UID = 1000;
export const ROOTLESS_SOCKET = `/run/user/${ROOTLESS_UID}/buildkit/buildkitd.sock`;

/** How the container gets the rights buildkitd needs. */
export type Privileges = "privileged" | "caps-fallback" | "rootless";

export interface ContainerPlan {
  name: string;
  image: string;
  volume: string;
  rootless: boolean;
  /** buildkitd's arguments after the program name. */
  args: string[];
  hash: string;
  context: string;
}

/** The volume name: `[daemon].state`, else `<container>_state`. */
export function volumeName(container: string, state: string | undefined): string {
  return state || `${container}_state`;
}

/** buildkitd's arguments: our config file, the rootless container's needs, then the user's `[daemon].flags`. */
export function buildkitdArgs(rootless: boolean, flags: readonly string[] = []): string[] {
  const args = ["--config", CONFIG_FILE];
  // No PID namespace or fresh /proc for build steps: BuildKit's documented requirement for rootless in a container.
  if (rootless) args.push("--addr", `unix://${ROOTLESS_SOCKET}`, "--oci-worker-no-process-sandbox");
  return [...args, ...flags];
}

// seccomp/apparmor off and /proc unmasked (docker's `--security-opt systempaths=unconfined` is these two empty lists).
const UNCONFINED = {
  SecurityOpt: ["seccomp=unconfined", "apparmor=unconfined"],
  MaskedPaths: [] as string[],
  ReadonlyPaths: [] as string[],
};

function hostConfig(plan: ContainerPlan, privileges: Privileges): Docker.HostConfig {
  const common: Docker.HostConfig = {
    RestartPolicy: { Name: "unless-stopped" },
    Mounts: [{ Type: "volume", Source: plan.volume, Target: plan.rootless ? ROOTLESS_STATE_DIR : STATE_DIR }],
  };
  switch (privileges) {
    case "privileged":
      return { ...common, Privileged: true };
    case "caps-fallback":
      // What --privileged gives, minus the capabilities a restricted host cannot grant (CAP_SYS_RESOURCE on some
      // VMs); the cgroup tree is bound read-write so runc can place build steps.
      return {
        ...common,
        ...UNCONFINED,
        CapAdd: ["ALL"],
        CapDrop: ["SYS_RESOURCE"],
        Binds: ["/sys/fs/cgroup:/sys/fs/cgroup:rw"],
      };
    case "rootless":
      return { ...common, ...UNCONFINED };
  }
}

/** Create options for `plan` with the given privileges. */
export function containerSpec(plan: ContainerPlan, privileges: Privileges): Docker.ContainerCreateOptions {
  return {
    name: plan.name,
    Image: plan.image,
    Entrypoint: plan.rootless ? ["rootlesskit", "buildkitd"] : ["buildkitd"],
    Cmd: plan.args,
    Labels: { [LABEL_MANAGED]: "true", [LABEL_HASH]: plan.hash, [LABEL_CONTEXT]: plan.context },
    HostConfig: hostConfig(plan, privileges),
  };
}
