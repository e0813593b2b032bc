/** nerdctl-container: buildkitd in a containerd container, reached by `nerdctl exec -i NAME buildctl dial-stdio`. */
import { UserError } from "../../errors.ts";
import { execEndpoint } from "../exec_endpoint.ts";
import type { DriverFactory } from "../types.ts";

export interface NerdctlAddress {
  container: string;
  namespace?: string;
}

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// containerd's namespace rule.
const NAMESPACE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/** Parse `name[?namespace=NS]` (buildctl's nerdctl-container:// form, prefix optional). */
export function parseNerdctlAddress(address: string): NerdctlAddress {
  const bad = (why: string) =>
    new UserError(`invalid nerdctl-container builder address "${address}": ${why}`);
  const rest = address.replace(/^nerdctl-container:\/\//, "");
  const q = rest.indexOf("?");
  const out: NerdctlAddress = { container: q < 0 ? rest : rest.slice(0, q) };
  for (const [key, value] of new URLSearchParams(q < 0 ? "" : rest.slice(q + 1))) {
    if (key !== "namespace") throw bad(`unknown parameter "${key}" (want namespace)`);
    if (value) out.namespace = value;
  }
  if (!out.container) throw bad("missing container name");
  if (!CONTAINER_NAME.test(out.container)) {
    throw bad(`container "${out.container}" must match ${CONTAINER_NAME.source}`);
  }
  if (out.namespace && !NAMESPACE.test(out.namespace)) {
    throw bad(`namespace "${out.namespace}" must match ${NAMESPACE.source}`);
  }
  return out;
}

/** nerdctl's arguments, as BuildKit's nerdctl-container connection helper passes them. */
export function nerdctlArgs(a: NerdctlAddress): string[] {
  return [
    "exec",
    ...(a.namespace ? ["--namespace", a.namespace] : []),
    "-i",
    a.container,
    "buildctl",
    "dial-stdio",
  ];
}

export const factory: DriverFactory = {
  name: "nerdctl-container",
  create(context, env) {
    return {
      endpoint() {
        const args = nerdctlArgs(parseNerdctlAddress(context.builderAddress));
        return Promise.resolve(
          execEndpoint("nerdctl-container", context.builderAddress, "nerdctl", args, env),
        );
      },
    };
  },
};
