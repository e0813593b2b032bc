/** The release version; a test keeps it equal to package.json's. */
// Release builds from a git checkout define ENVD_LITE_COMMIT (`bun build --define`, see scripts/compile); it
// becomes semver build metadata, so `--version` says which commit a downloaded binary was built from.
declare const ENVD_LITE_COMMIT: string | undefined;
const commit = typeof ENVD_LITE_COMMIT === "string" ? ENVD_LITE_COMMIT : "";

/** package.json's version, plus `+COMMIT` in release builds, e.g. `0.1.0+1a2b3c4d5e6f`. */
export const VERSION = "0.1.0" + (commit ? `+${commit}` : "");
