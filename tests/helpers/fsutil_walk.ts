/** What the real tonistiigi/fsutil sender lists for a directory (tests/fixtures/fsutil_walk, built once per run). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One listed entry as fsutil's Stat has it. */
export interface GoStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  modTime: number | bigint;
  linkname: string;
}

/** FilterOpt as the daemon sends it. */
export interface GoFilter {
  include?: string[];
  exclude?: string[];
  followPaths?: string[];
}

const fixtureDir = decodeURIComponent(new URL("../fixtures/fsutil_walk/", import.meta.url).pathname);
const tmp = mkdtempSync(join(tmpdir(), "fsutil_walk_test_"));
globalThis.addEventListener("unload", () => rmSync(tmp, { recursive: true, force: true }));

let built: Promise<string> | undefined;
/** Build the fixture (modules come from the Go module cache, or the Go proxy the first time). */
function fixtureBin(): Promise<string> {
  built ??= (async () => {
    const bin = join(tmp, "fsutil_walk");
    const env = { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" } as Record<string, string>;
    const out = await new Deno.Command("go", { args: ["build", "-o", bin, "."], cwd: fixtureDir, env })
      .output();
    if (!out.success) throw new Error(`go build failed: ${new TextDecoder().decode(out.stderr)}`);
    return bin;
  })();
  return built;
}

/** fsutil's listing of `dir` under `filter`, or its error message. */
export async function goWalk(dir: string, filter: GoFilter): Promise<GoStat[] | { error: string }> {
  const out = await new Deno.Command(await fixtureBin(), { args: [JSON.stringify({ dir, ...filter })] })
    .output();
  if (!out.success) return { error: new TextDecoder().decode(out.stderr).trim() };
  // Nanosecond times exceed 2^53: keep them exact as bigints.
  const text = new TextDecoder().decode(out.stdout).replace(/"modTime":(\d+)/g, '"modTime":"$1"');
  return (JSON.parse(text) as GoStat[]).map((e) => ({ ...e, modTime: BigInt(e.modTime) }));
}
