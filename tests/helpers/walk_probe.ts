/** envd-lite's FileSync listing in fsutil_walk's shape; run by Bun (argv: root, JSON filter) it prints it as JSON. */
import { walkTree } from "../../lib/buildkit/session/fswalk.ts";
import type { GoFilter, GoStat } from "./fsutil_walk.ts";

/** The entries walkTree sends for `root` under filter `f`, in order. */
export async function listing(root: string, f: GoFilter): Promise<GoStat[]> {
  const out: GoStat[] = [];
  for await (
    const e of await walkTree(root, {
      includePatterns: f.include,
      excludePatterns: f.exclude,
      followPaths: f.followPaths,
    })
  ) {
    const s = e.stat;
    out.push({
      path: s.path,
      mode: s.mode,
      uid: s.uid,
      gid: s.gid,
      size: Number(s.size),
      modTime: s.modTime,
      linkname: s.linkname,
    });
  }
  return out;
}

if (import.meta.main) {
  const [root, filterJson] = process.argv.slice(2);
  const list = await listing(root, JSON.parse(filterJson) as GoFilter);
  process.stdout.write(JSON.stringify(list.map((e) => ({ ...e, modTime: String(e.modTime) }))));
}
