/** Which of a context's buildkitd.toml keys take effect for its builder type, so `inspect` can say which do not. */
import { formatPath } from "./validate.ts";
import type { Context } from "./types.ts";

const GC_KEYS = ["gc", "gckeepstorage", "reservedSpace", "maxUsedSpace", "minFreeSpace", "gcpolicy"];

/** True when envd-lite runs this context's daemon and renders its buildkitd.toml. */
export function managedDaemon(ctx: Context): boolean {
  return ctx.builder === "docker-container" || (ctx.builder === "unix" && ctx.daemon !== undefined);
}

/**
 * The keys of `ctx` that change nothing for its builder type, with why, as one line each: buildkitd.toml keys of a
 * daemon envd-lite does not run (only the worker GC keys count there, for `prune`), `[daemon]` where nothing is
 * managed, and `[worker.containerd]` in a docker-container daemon, which has no containerd.
 */
export function keysWithoutEffect(ctx: Context): string[] {
  const out: string[] = [];
  const bk = ctx.buildkitd ?? {};
  const worker = (bk.worker ?? {}) as Record<string, Record<string, unknown>>;
  if (!managedDaemon(ctx)) {
    const keys = Object.keys(bk).filter((k) => k !== "worker").map((k) => formatPath([k]));
    for (const [w, t] of Object.entries(worker)) {
      for (const k of Object.keys(t)) if (!GC_KEYS.includes(k)) keys.push(formatPath(["worker", w, k]));
    }
    if (ctx.registry) keys.push("registry");
    if (keys.length) {
      out.push(
        `${keys.join(", ")}: no effect for builder ${ctx.builder}, whose daemon envd-lite does not run ` +
          "(they apply to `envd-lite serve` and `context buildkitd-toml`; `prune` uses only the worker GC keys)",
      );
    }
    if (ctx.daemon) {
      out.push(`daemon: no effect for builder ${ctx.builder} (only docker-container and unix are managed)`);
    }
  } else if (ctx.builder === "docker-container" && worker.containerd) {
    out.push("worker.containerd: no effect for builder docker-container (its container has no containerd)");
  }
  return out;
}
