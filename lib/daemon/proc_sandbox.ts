/** Whether build steps can get their own /proc: if not, buildkitd needs `--oci-worker-no-process-sandbox`. */
import { readFileSync } from "node:fs";

/**
 * A fresh procfs can be mounted in a user namespace only when the existing /proc is fully visible: no mount over
 * anything under it but permanently empty directories (the kernel's mnt_already_visible). Container runtimes mask
 * /proc/kcore, /proc/acpi and so on; plain hosts only have binfmt_misc there.
 */
export function procIsMasked(mountinfo: string): string | undefined {
  for (const line of mountinfo.split("\n")) {
    const mountPoint = line.split(" ")[4];
    if (mountPoint?.startsWith("/proc/") && mountPoint !== "/proc/sys/fs/binfmt_misc") return mountPoint;
  }
  return undefined;
}

/** The first masked path under /proc on this machine, or undefined when build steps can have their own /proc. */
export function hostProcMasked(): string | undefined {
  try {
    return procIsMasked(readFileSync("/proc/self/mountinfo", "utf8"));
  } catch {
    return undefined;
  }
}
