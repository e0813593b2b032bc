/**
 * The tree a FileSync sender lists, in the order and shape fsutil's receiver validates: depth first, names
 * sorted bytewise, a directory before its children, every parent of an entry listed (lazily, when only the
 * entry matched the include patterns), Go FileModes, nanosecond mtimes, uid/gid reset to 0 as buildctl does,
 * later hard links pointing at the first. Checked against fsutil itself by fswalk_test.ts. Filtering follows fsutil's FilterFS (include, exclude, followpaths).
 * Not sent: xattrs (no API for them in Node), so cache keys of files carrying xattrs differ from buildctl's.
 */
import { type BigIntStats, lstatSync, promises as fsp, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import {
  cleanPath,
  hasWildcards,
  matchGlob,
  type MatchInfo,
  type Pattern,
  PatternMatcher,
} from "./dockerignore.ts";
import { goFileMode, GoMode } from "./fsmode.ts";

/** fsutil's Stat, ready to encode. */
export interface FileStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  modTime: bigint;
  linkname: string;
  devmajor: bigint;
  devminor: bigint;
}

/** One listed entry and where its content lives on disk. */
export interface WalkEntry {
  stat: FileStat;
  abs: string;
}

/** fsutil FilterOpt, as the daemon sends it in the DiffCopy metadata. */
export interface FilterOptions {
  includePatterns?: string[];
  excludePatterns?: string[];
  followPaths?: string[];
}

/** A walk could not be done (unreadable directory, bad pattern): the message names the path or pattern. */
export class WalkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WalkError";
  }
}

interface Filter {
  include?: PatternMatcher;
  exclude?: PatternMatcher;
  onlyPrefixIncludes: boolean;
  onlyPrefixExcludeExceptions: boolean;
}

interface DirRecord {
  entry: WalkEntry;
  emitted: boolean;
  includeInfo: MatchInfo;
  excludeInfo: MatchInfo;
}

const PATTERN_CHARS = "*[]?^\\";

/** Resolve the root and the filter; iterate the result with for-await. Throws WalkError for a bad setup. */
export async function walkTree(root: string, opts: FilterOptions = {}): Promise<AsyncGenerator<WalkEntry>> {
  let real: string;
  try {
    real = await fsp.realpath(root);
    if (!(await fsp.stat(real)).isDirectory()) throw new WalkError(`${root}: not a directory`);
  } catch (err) {
    if (err instanceof WalkError) throw err;
    throw new WalkError(`${root}: ${(err as Error).message}`, { cause: err });
  }
  const filter = await makeFilter(real, opts);
  return walk(real, filter);
}

async function makeFilter(root: string, opts: FilterOptions): Promise<Filter> {
  let includes: string[] | null = [...(opts.includePatterns ?? [])];
  if (opts.followPaths?.length) {
    const targets = await followLinks(root, opts.followPaths);
    if (targets) includes = dedupePaths([...includes, ...targets]);
  }
  const filter: Filter = { onlyPrefixIncludes: true, onlyPrefixExcludeExceptions: true };
  try {
    if (includes && includes.length > 0) {
      filter.include = new PatternMatcher(includes);
      filter.onlyPrefixIncludes = filter.include.patterns.every((p) => p.exclusion || !hasPatternChars(p));
    }
    if (opts.excludePatterns?.length) {
      filter.exclude = new PatternMatcher(opts.excludePatterns);
      filter.onlyPrefixExcludeExceptions = filter.exclude.patterns.every((p) =>
        !p.exclusion || !hasPatternChars(p)
      );
    }
  } catch (err) {
    throw new WalkError((err as Error).message, { cause: err });
  }
  return filter;
}

function hasPatternChars(p: Pattern): boolean {
  return [...withoutTrailingGlob(p)].some((c) => PATTERN_CHARS.includes(c));
}

function withoutTrailingGlob(p: Pattern): string {
  return p.text.replace(/\/\*\*$/, "").replace(/\/\*$/, "");
}

// Whether some pattern (of the given polarity) could match below `dir`, so walking into it is worthwhile.
function mayMatchBelow(m: PatternMatcher, dir: string, exclusion: boolean): boolean {
  const dirSlash = dir + "/";
  return m.patterns.some((p) =>
    p.exclusion === exclusion && (withoutTrailingGlob(p) + "/").startsWith(dirSlash)
  );
}

async function* walk(root: string, filter: Filter): AsyncGenerator<WalkEntry> {
  const links = new Map<string, string>();
  const useStack = Boolean(filter.include || filter.exclude);

  async function* visit(
    dirAbs: string,
    dirRel: string,
    parents: DirRecord[],
    parentSkipped: boolean,
  ): AsyncGenerator<WalkEntry> {
    // Synchronous calls, a directory at a time: for the few-microsecond lstat of a cached inode the thread pool's
    // round trip costs ten times more, and the upload still interleaves with the walk between directories.
    let names: string[];
    try {
      names = readdirSync(dirAbs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      if (parentSkipped && (code === "EACCES" || code === "EPERM")) return;
      throw new WalkError(`open ${dirRel || "."}: ${(err as Error).message}`, { cause: err });
    }
    names.sort(byteOrder);
    const stats = names.map((n) => lstat(join(dirAbs, n)));
    const parent = parents[parents.length - 1];
    for (let i = 0; i < names.length; i++) {
      const st = stats[i];
      if (!st) continue; // vanished since readdir
      const rel = dirRel ? `${dirRel}/${names[i]}` : names[i];
      const abs = join(dirAbs, names[i]);
      const isDir = st.isDirectory();
      let skip = false;
      let includeInfo: MatchInfo;
      let excludeInfo: MatchInfo;
      if (filter.include) {
        const r = filter.include.matchesUsingParentResults(rel, parent?.includeInfo);
        includeInfo = r.info;
        if (!r.matched) {
          if (isDir && filter.onlyPrefixIncludes && !mayMatchBelow(filter.include, rel, false)) continue;
          skip = true;
        }
      }
      if (filter.exclude) {
        const r = filter.exclude.matchesUsingParentResults(rel, parent?.excludeInfo);
        excludeInfo = r.info;
        if (r.matched) {
          if (
            isDir && filter.onlyPrefixExcludeExceptions &&
            (!filter.exclude.exclusions || !mayMatchBelow(filter.exclude, rel, true))
          ) continue;
          skip = true;
        }
      }
      if (skip && !isDir) continue;
      const entry = { stat: toStat(rel, abs, st, links), abs };
      if (!skip) {
        // A matched entry brings its unlisted parents (directories walked only to look inside) first.
        for (const p of parents) {
          if (!p.emitted) {
            p.emitted = true;
            yield p.entry;
          }
        }
        yield entry;
      }
      if (isDir) {
        const rec: DirRecord = { entry, emitted: !skip, includeInfo, excludeInfo };
        yield* visit(abs, rel, useStack ? [...parents, rec] : parents, skip);
      }
    }
  }

  yield* visit(root, "", [], false);
}

function lstat(abs: string): BigIntStats | undefined {
  try {
    return lstatSync(abs, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new WalkError(`lstat ${abs}: ${(err as Error).message}`, { cause: err });
  }
}

function toStat(rel: string, abs: string, st: BigIntStats, links: Map<string, string>): FileStat {
  // fsutil clears the socket bit (tar cannot carry sockets); the entry then looks like an empty file.
  const mode = (goFileMode(Number(st.mode)) & ~GoMode.socket) >>> 0;
  const stat: FileStat = {
    path: rel,
    mode,
    uid: 0,
    gid: 0,
    size: st.isDirectory() ? 0n : st.size,
    modTime: st.mtimeNs,
    linkname: "",
    devmajor: 0n,
    devminor: 0n,
  };
  if (st.isSymbolicLink()) {
    stat.linkname = readlinkSync(abs);
  } else if (!st.isDirectory()) {
    if (st.isBlockDevice() || st.isCharacterDevice()) {
      stat.devmajor = (st.rdev >> 8n) & 0xfffn;
      stat.devminor = (st.rdev & 0xffn) | ((st.rdev >> 12n) & 0xfff00n);
    }
    // Later links to one inode name the first listed path (and keep their size, as fsutil's mkstat does).
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first === undefined) links.set(key, rel);
      else stat.linkname = first;
    }
  }
  return stat;
}

/** Go's string order: bytewise over UTF-8 (UTF-16 code-unit order differs above U+FFFF). */
export function byteOrder(a: string, b: string): number {
  if (a === b) return 0;
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(a) && /^[\x00-\x7f]*$/.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * fsutil's FollowLinks: the paths, with each symlink on the way replaced by the link and its target (kept
 * inside the root), as extra include patterns; null means "no filter" (one of them was the root).
 */
export async function followLinks(root: string, paths: string[]): Promise<string[] | null> {
  const resolved = new Set<string>();
  const append = async (p: string): Promise<void> => {
    p = cleanPath("./" + p);
    let current = ".";
    for (;;) {
      const slash = p.indexOf("/");
      const first = slash === -1 ? p : p.slice(0, slash);
      current = cleanPath(`${current}/${first}`);
      const targets = await readSymlink(root, current, true);
      p = slash === -1 ? "" : p.slice(slash + 1);
      if ((p === "" || targets) && resolved.has(current)) return;
      if (targets) {
        resolved.add(current);
        for (const t of targets) await append(cleanPath(`${t}/${p}`));
        return;
      }
      if (p === "") {
        resolved.add(current);
        return;
      }
    }
  };
  for (const p of paths) await append(p);
  return dedupePaths([...resolved].sort(byteOrder));
}

async function readSymlink(root: string, p: string, allowWildcard: boolean): Promise<string[] | null> {
  const slash = p.lastIndexOf("/");
  const dir = slash === -1 ? "." : p.slice(0, slash);
  const base = p.slice(slash + 1);
  if (allowWildcard && hasWildcards(base)) {
    let names: string[];
    try {
      names = await fsp.readdir(join(root, dir));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw new WalkError(`readdir ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const out: string[] = [];
    for (const name of names.sort(byteOrder)) {
      let ok = false;
      try {
        ok = matchGlob(base, name);
      } catch { /* a bad glob matches nothing, as filepath.Match's ignored error */ }
      if (ok) out.push(...((await readSymlink(root, cleanPath(`${dir}/${name}`), false)) ?? []));
    }
    return out.length ? out : null;
  }
  if (p === "." || p === "/") return null;
  let st;
  try {
    st = await fsp.lstat(join(root, p));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw new WalkError(`lstat ${p}: ${(err as Error).message}`, { cause: err });
  }
  if (!st.isSymbolicLink()) return null;
  const link = cleanPath(await fsp.readlink(join(root, p)));
  return [link.startsWith("/") ? link : cleanPath(`/${dir}/${link}`)];
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

// fsutil's dedupePaths: drop paths under the previous kept one; the root anywhere means no filter at all.
function dedupePaths(paths: string[]): string[] | null {
  const out: string[] = [];
  let last = "";
  for (const s of paths) {
    if (s === ".") return null;
    if (s.startsWith(last + "/")) continue;
    out.push(s);
    last = s;
  }
  return out;
}
