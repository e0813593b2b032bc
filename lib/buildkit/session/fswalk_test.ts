/** The FileSync listing against the real fsutil sender (a Go fixture) on the same tree, filter by filter. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GoFilter, type GoStat, goWalk } from "../../../tests/helpers/fsutil_walk.ts";
import { listing } from "../../../tests/helpers/walk_probe.ts";
import { GoMode } from "./fsmode.ts";
import { byteOrder, followLinks, WalkError, walkTree } from "./fswalk.ts";

function makeTree(): string {
  const root = mkdtempSync(join(tmpdir(), "fswalk-test-"));
  const file = (p: string, text = p, mode?: number) => {
    mkdirSync(join(root, p, ".."), { recursive: true });
    writeFileSync(join(root, p), text);
    if (mode !== undefined) chmodSync(join(root, p), mode);
  };
  file("Dockerfile.real", "FROM scratch\n");
  symlinkSync("Dockerfile.real", join(root, "Dockerfile"));
  file(".dockerignore", "docs\n");
  file("a/b/deep.txt");
  file("a/c.txt");
  file("a.txt");
  file("a b");
  file("ä.txt");
  file("Z");
  file("_x");
  file("\u{1F600}.txt"); // above U+FFFF: UTF-16 order differs from UTF-8 byte order
  file("\uFF5E.txt");
  symlinkSync("a.txt", join(root, "link"));
  symlinkSync("a", join(root, "dirlink"));
  symlinkSync("/etc/passwd", join(root, "abslink"));
  file("hard1", "same inode");
  linkSync(join(root, "hard1"), join(root, "hard2"));
  file("exec.sh", "#!/bin/sh\n", 0o755);
  file("suid", "x", 0o4755);
  mkdirSync(join(root, "private"), { mode: 0o700 });
  file("private/p");
  mkdirSync(join(root, "sticky"));
  chmodSync(join(root, "sticky"), 0o1777);
  mkdirSync(join(root, "empty"));
  execFileSync("mkfifo", [join(root, "fifo")]);
  file("node_modules/x/y.js");
  file("build/out.o");
  file("build/keep.txt");
  file("docs/README.md");
  file("docs/other.md");
  file("sub/keep.txt");
  file("sub/deeper/keep.txt");
  file("sub/deeper/drop.log");
  file("real/Dockerfile", "FROM scratch\n");
  symlinkSync("real/Dockerfile", join(root, "viaLink"));
  return root;
}

// Deno's node:fs reports mtimes in whole milliseconds (Bun and Node give nanoseconds): compare at that precision
// in-process, and exactly through Bun, the runtime of the shipped binary.
const ms = (l: GoStat[]) => l.map((e) => ({ ...e, modTime: BigInt(e.modTime) / 1_000_000n }));

function throughBun(root: string, f: GoFilter): GoStat[] {
  const bun = join(import.meta.dirname!, "../../../node_modules/.bin/bun");
  const probe = join(import.meta.dirname!, "../../../tests/helpers/walk_probe.ts");
  const out = execFileSync(bun, [probe, root, JSON.stringify(f)], { encoding: "utf8" });
  return (JSON.parse(out) as GoStat[]).map((e) => ({ ...e, modTime: BigInt(e.modTime) }));
}

const ours = listing;

const FILTERS: [string, GoFilter][] = [
  ["no filter", {}],
  ["dockerignore with re-inclusions", {
    exclude: ["node_modules", "**/*.o", "docs", "!docs/README.md", "*.txt", "!a.txt"],
  }],
  ["exclude everything but keep.txt files", { exclude: ["**", "!**/keep.txt"] }],
  ["exclude a directory, re-include inside it by prefix", { exclude: ["sub", "!sub/deeper/keep.txt"] }],
  ["include one nested directory", { include: ["a/b"] }],
  ["include with a wildcard", { include: ["docs/*.md", "sub/**/*.txt"] }],
  ["include and exclude together", { include: ["sub", "a"], exclude: ["**/drop.log", "a/c.txt"] }],
  ["followpaths through a symlink (the dockerfile local)", {
    followPaths: ["Dockerfile", "Dockerfile.dockerignore", "dockerfile"],
  }],
  ["followpaths of a nested link and a directory link", { followPaths: ["viaLink", "dirlink/b"] }],
  ["followpaths with a wildcard", { followPaths: ["*.real"] }],
  ["followpaths naming the root", { followPaths: ["."] }],
];

Deno.test("walkTree lists what fsutil's sender lists, in its order, for every filter", async () => {
  const root = makeTree();
  try {
    for (const [name, f] of FILTERS) {
      const want = await goWalk(root, f);
      if ("error" in want) assert.fail(`${name}: fsutil failed: ${want.error}`);
      assert.deepEqual(ms(await ours(root, f)), ms(want), name);
      assert.deepEqual(throughBun(root, f), want, `${name} (Bun)`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("walkTree stats: Go FileModes, ns mtimes, uid/gid 0, hard links, symlink sizes", async () => {
  const root = makeTree();
  try {
    const byPath = new Map((await ours(root, {})).map((e) => [e.path, e]));
    assert.equal(byPath.get("a")!.mode, (GoMode.dir | 0o755) >>> 0);
    assert.equal(byPath.get("sticky")!.mode, (GoMode.dir | GoMode.sticky | 0o777) >>> 0);
    assert.equal(byPath.get("suid")!.mode, (GoMode.setuid | 0o755) >>> 0);
    assert.equal(byPath.get("fifo")!.mode & GoMode.namedPipe, GoMode.namedPipe);
    assert.equal(byPath.get("link")!.mode, (GoMode.symlink | 0o777) >>> 0);
    assert.equal(byPath.get("link")!.size, "a.txt".length);
    assert.equal(byPath.get("hard2")!.linkname, "hard1");
    assert.equal(byPath.get("hard2")!.size, "same inode".length);
    assert.ok(BigInt(byPath.get("a.txt")!.modTime) > 10n ** 18n, "nanoseconds since the epoch");
    for (const e of byPath.values()) assert.deepEqual([e.uid, e.gid], [0, 0]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a bad pattern or a missing root is a WalkError naming it", async () => {
  const root = makeTree();
  try {
    await assert.rejects(
      walkTree(root, { excludePatterns: ["[a-"] }),
      (e: Error) => e instanceof WalkError && /\[a-/.test(e.message),
    );
    await assert.rejects(walkTree(join(root, "nope")), WalkError);
    await assert.rejects(walkTree(join(root, "a.txt")), /not a directory/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("followLinks resolves links inside the root only", async () => {
  const root = makeTree();
  try {
    assert.deepEqual(await followLinks(root, ["Dockerfile"]), ["Dockerfile", "Dockerfile.real"]);
    assert.deepEqual(await followLinks(root, ["abslink"]), ["abslink", "etc/passwd"]);
    assert.equal(await followLinks(root, ["."]), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("byteOrder is Go's bytewise string order", () => {
  const names = ["b", "a", "\u{1F600}", "\uFF5E", "Z", "a.txt", "a/b"];
  assert.deepEqual([...names].sort(byteOrder), ["Z", "a", "a.txt", "a/b", "b", "\uFF5E", "\u{1F600}"]);
});
