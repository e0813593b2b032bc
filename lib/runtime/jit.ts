/**
 * JIT pacing for the build path. A small build is almost all run-once code (module start-up, the first gRPC call,
 * the session's first streams), and Bun's JIT compiles it on background threads anyway: measured on the 2-vCPU VM,
 * a small cached build takes 86 ms with the normal policy and 69 ms with the tier-up thresholds scaled up. A bulk
 * transfer, on the other hand, wants its hot loops compiled, so the normal policy comes back once data flows.
 * Elsewhere (Deno, Node, an older Bun) these do nothing.
 */
type BunUnsafe = { unsafe?: { setJITPolicy?(scale: number): void } };

/** How much more reluctant the JIT is while a build starts (a threshold multiplier). */
const STARTUP_SCALE = 64;

let scaled = false;

function setPolicy(scale: number): void {
  (globalThis as { Bun?: BunUnsafe }).Bun?.unsafe?.setJITPolicy?.(scale);
}

/** Keep the JIT off run-once start-up code (until {@link bulkJit}). */
export function startupJit(): void {
  setPolicy(STARTUP_SCALE);
  scaled = true;
}

/** Back to the normal JIT policy: hot loops are about to run for a while. Cheap to call often. */
export function bulkJit(): void {
  if (!scaled) return;
  scaled = false;
  setPolicy(1);
}
