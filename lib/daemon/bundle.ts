/** Everything a managed daemon is configured with, read and hashed, so a running daemon can be compared to the context. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Context } from "../config/types.ts";
import { UserError } from "../errors.ts";
import { renderBuildkitdToml } from "./buildkitd_toml.ts";

/** A file the daemon reads, with its bytes. */
export interface BundleFile {
  target: string;
  data: Buffer;
  secret: boolean;
}

export interface ConfigBundle {
  /** The rendered buildkitd.toml. */
  toml: string;
  files: BundleFile[];
  /**
   * sha256 over the rendered config, the contents of the files it names, and buildkitd's arguments: what the daemon
   * was started with. A changed CA file or flag changes it as much as a changed gc setting.
   */
  hash: string;
}

/** Renders `ctx`'s buildkitd.toml (files under `filesDir`) and reads the files it names (relative paths: from the cwd). */
export function bundleConfig(ctx: Context, filesDir: string, args: readonly string[]): ConfigBundle {
  const rendered = renderBuildkitdToml(ctx, filesDir);
  const files = rendered.files.map((f) => {
    let data: Buffer;
    try {
      data = readFileSync(resolve(f.source));
    } catch (err) {
      const why = (err as Error).message.split("\n")[0];
      throw new UserError(`context "${ctx.name}": cannot read ${f.origin} "${f.source}": ${why}`);
    }
    return { target: f.target, data, secret: f.secret };
  });
  const h = createHash("sha256");
  h.update(JSON.stringify({
    toml: rendered.text,
    files: files.map((f) => [f.target, createHash("sha256").update(f.data).digest("hex")]),
    args,
  }));
  return { toml: rendered.text, files, hash: h.digest("hex") };
}
