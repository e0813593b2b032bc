/** kube-pod: buildkitd in a Kubernetes pod the user runs, reached by `kubectl exec -i … buildctl dial-stdio`. */
import { execStream } from "../../transport/exec_stream.ts";
import type { DriverFactory } from "../types.ts";
import { kubectlArgs, parseKubePodAddress } from "./address.ts";

export const factory: DriverFactory = {
  name: "kube-pod",
  create(context, env) {
    return {
      endpoint() {
        const address = parseKubePodAddress(context.builderAddress);
        const display = `kube-pod://${context.builderAddress.replace(/^kube-pod:\/\//, "")}`;
        return Promise.resolve({
          kind: "stream",
          display,
          open: (signal) =>
            execStream("kubectl", kubectlArgs(address), {
              env: env.env,
              signal,
              onStderr: (line) => env.debug?.(`${display}: kubectl: ${line}`),
            }),
        });
      },
    };
  },
};
