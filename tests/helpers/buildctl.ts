/** `buildctl` command lines shared by the tests that make cache or compare output with the real client. */

/** `[--addr A] build` of one directory holding both the context and the Dockerfile, then `extra` flags. */
export function buildctlBuildArgs(addr: string | undefined, dir: string, extra: string[] = []): string[] {
  return [
    ...(addr ? ["--addr", addr] : []),
    "build",
    "--frontend",
    "dockerfile.v0",
    "--local",
    `context=${dir}`,
    "--local",
    `dockerfile=${dir}`,
    ...extra,
  ];
}
