/** Run by Bun from the unit tests: envd-lite's FileSync listing of argv[2] under the JSON filter argv[3]. */
import { walkTree } from "../../lib/buildkit/session/fswalk.ts";

const [root, filterJson] = process.argv.slice(2);
const f = JSON.parse(filterJson) as { include?: string[]; exclude?: string[]; followPaths?: string[] };
const out = [];
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
    modTime: String(s.modTime),
    linkname: s.linkname,
  });
}
process.stdout.write(JSON.stringify(out));
