/** kube-pod builder addresses: `pod[?namespace=N&context=C&container=C]`, as buildctl's kube-pod:// URLs. */
import { UserError } from "../../errors.ts";

export interface KubePodAddress {
  pod: string;
  namespace?: string;
  context?: string;
  container?: string;
}

// Kubernetes object names (RFC 1123 labels/subdomains), as BuildKit's kube-pod helper checks them.
const KUBE_NAME = /^[-a-z0-9.]+$/;
const KEYS = new Set(["namespace", "context", "container"]);

/** Parse and validate a kube-pod address; errors name the part that is wrong. */
export function parseKubePodAddress(address: string): KubePodAddress {
  const bad = (why: string) => new UserError(`invalid kube-pod builder address "${address}": ${why}`);
  const rest = address.replace(/^kube-pod:\/\//, "");
  const q = rest.indexOf("?");
  const pod = q < 0 ? rest : rest.slice(0, q);
  const out: KubePodAddress = { pod };
  for (const [key, value] of new URLSearchParams(q < 0 ? "" : rest.slice(q + 1))) {
    if (!KEYS.has(key)) throw bad(`unknown parameter "${key}" (want namespace, context or container)`);
    if (value) out[key as keyof Omit<KubePodAddress, "pod">] = value;
  }
  if (!pod) throw bad("missing pod name");
  for (const part of ["pod", "namespace", "container"] as const) {
    const v = out[part];
    if (v !== undefined && !KUBE_NAME.test(v)) throw bad(`${part} "${v}" must match ${KUBE_NAME.source}`);
  }
  return out;
}

/** kubectl's arguments, in the order BuildKit's kube-pod connection helper uses. */
export function kubectlArgs(a: KubePodAddress): string[] {
  return [
    ...(a.context ? [`--context=${a.context}`] : []),
    ...(a.namespace ? [`--namespace=${a.namespace}`] : []),
    "exec",
    ...(a.container ? [`--container=${a.container}`] : []),
    "-i",
    a.pod,
    "--",
    "buildctl",
    "dial-stdio",
  ];
}
