/** What the real tonistiigi/fsutil sender lists for a directory (tests/fixtures/fsutil_walk, built once per run). */
import { goFixture } from "./go_fixture.ts";

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

/** fsutil's listing of `dir` under `filter`, or its error message. */
export async function goWalk(dir: string, filter: GoFilter): Promise<GoStat[] | { error: string }> {
  // Its modules come from the Go module cache, or the Go proxy the first time.
  const out = await new Deno.Command(await goFixture("fsutil_walk", { proxy: true }), {
    args: [JSON.stringify({ dir, ...filter })],
  })
    .output();
  if (!out.success) return { error: new TextDecoder().decode(out.stderr).trim() };
  // Nanosecond times exceed 2^53: keep them exact as bigints.
  const text = new TextDecoder().decode(out.stdout).replace(/"modTime":(\d+)/g, '"modTime":"$1"');
  return (JSON.parse(text) as GoStat[]).map((e) => ({ ...e, modTime: BigInt(e.modTime) }));
}
