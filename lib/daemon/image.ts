/** Which buildkit image a managed docker-container builder runs. */
import type { DaemonConfig } from "../config/types.ts";

/** The pinned BuildKit image; must match BUILDKIT_VERSION in scripts/install_peers (a test checks). */
export const DEFAULT_BUILDKIT_IMAGE = "moby/buildkit:v0.29.0";

/** BuildKit publishes its rootless variant under the same tag with this suffix. */
export const ROOTLESS_SUFFIX = "-rootless";

/** The image for a new container: `--buildkitd-image` first, then `[daemon].image`, then the pinned default (rootless variant when asked). */
export function imageFor(daemon: DaemonConfig | undefined, override?: string): string {
  if (override) return override;
  if (daemon?.image) return daemon.image;
  return daemon?.rootless ? DEFAULT_BUILDKIT_IMAGE + ROOTLESS_SUFFIX : DEFAULT_BUILDKIT_IMAGE;
}
