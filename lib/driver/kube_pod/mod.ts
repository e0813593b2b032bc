/** kube-pod: buildkitd in a Kubernetes pod the user runs, reached by `kubectl exec -i … buildctl dial-stdio`. */
import { execEndpoint } from "../exec_endpoint.ts";
import type { DriverFactory } from "../types.ts";
import { kubectlArgs, parseKubePodAddress } from "./address.ts";

export const factory: DriverFactory = {
  name: "kube-pod",
  create(context, env) {
    return {
      endpoint() {
        const args = kubectlArgs(parseKubePodAddress(context.builderAddress));
        return Promise.resolve(execEndpoint("kube-pod", context.builderAddress, "kubectl", args, env));
      },
    };
  },
};
