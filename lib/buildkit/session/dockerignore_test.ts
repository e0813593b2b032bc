/** Table tests for the .dockerignore matcher: the cases moby/patternmatcher and Go's filepath.Match test. */
import assert from "node:assert/strict";
import { cleanPath, parseIgnoreFile, PatternError, PatternMatcher } from "./dockerignore.ts";

// Every way a walker can ask: all ancestors at once, parent results chained dir by dir, and no parent info.
function allWays(patterns: string[], path: string): boolean[] {
  const pm = new PatternMatcher(patterns);
  let info: boolean[] | undefined;
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (dir !== "") info = pm.matchesUsingParentResults(dir, info).info;
  }
  return [
    pm.matchesOrParentMatches(path),
    pm.matchesUsingParentResults(path, info).matched,
    pm.matchesUsingParentResults(path, undefined).matched,
  ];
}

const SINGLE: [string, string, boolean][] = [
  ["**", "file", true],
  ["**", "file/", true],
  ["**/", "file", true],
  ["**/", "file/", true],
  ["**", "/", true],
  ["**/", "/", true],
  ["**", "dir/file", true],
  ["**/", "dir/file", true],
  ["**", "dir/file/", true],
  ["**/", "dir/file/", true],
  ["**/**", "dir/file", true],
  ["**/**", "dir/file/", true],
  ["dir/**", "dir/file", true],
  ["dir/**", "dir/file/", true],
  ["dir/**", "dir/dir2/file", true],
  ["dir/**", "dir/dir2/file/", true],
  ["**/dir", "dir", true],
  ["**/dir", "dir/file", true],
  ["**/dir2/*", "dir/dir2/file", true],
  ["**/dir2/*", "dir/dir2/file/", true],
  ["**/dir2/**", "dir/dir2/dir3/file", true],
  ["**/dir2/**", "dir/dir2/dir3/file/", true],
  ["**file", "file", true],
  ["**file", "dir/file", true],
  ["**/file", "dir/file", true],
  ["**file", "dir/dir/file", true],
  ["**/file", "dir/dir/file", true],
  ["**/file*", "dir/dir/file", true],
  ["**/file*", "dir/dir/file.txt", true],
  ["**/file*txt", "dir/dir/file.txt", true],
  ["**/file*.txt", "dir/dir/file.txt", true],
  ["**/file*.txt*", "dir/dir/file.txt", true],
  ["**/**/*.txt", "dir/dir/file.txt", true],
  ["**/**/*.txt2", "dir/dir/file.txt", false],
  ["**/*.txt", "file.txt", true],
  ["**/**/*.txt", "file.txt", true],
  ["a**/*.txt", "a/file.txt", true],
  ["a**/*.txt", "a/dir/file.txt", true],
  ["a**/*.txt", "a/dir/dir/file.txt", true],
  ["a/*.txt", "a/dir/file.txt", false],
  ["a/*.txt", "a/file.txt", true],
  ["a/*.txt**", "a/file.txt", true],
  ["a[b-d]e", "ae", false],
  ["a[b-d]e", "ace", true],
  ["a[b-d]e", "aae", false],
  ["a[^b-d]e", "aze", true],
  [".*", ".foo", true],
  [".*", "foo", false],
  ["abc.def", "abcdef", false],
  ["abc.def", "abc.def", true],
  ["abc.def", "abcZdef", false],
  ["abc?def", "abcZdef", true],
  ["abc?def", "abcdef", false],
  ["a\\\\", "a\\", true],
  ["**/foo/bar", "foo/bar", true],
  ["**/foo/bar", "dir/foo/bar", true],
  ["**/foo/bar", "dir/dir2/foo/bar", true],
  ["abc/**", "abc", false],
  ["abc/**", "abc/def", true],
  ["abc/**", "abc/def/ghi", true],
  ["**/.foo", ".foo", true],
  ["**/.foo", "bar.foo", false],
  ["a(b)c/def", "a(b)c/def", true],
  ["a(b)c/def", "a(b)c/xyz", false],
  ["a.|)$(}+{bc", "a.|)$(}+{bc", true],
  [
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    true,
  ],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
  ["a\\*b", "a*b", true],
  // `..` and `.` are cleaned away; a leading `/` is parseIgnoreFile's job, not the matcher's.
  ["/foo", "foo", false],
  ["foo/../bar", "bar", true],
  ["./bar/", "bar/x", true],
];

const MULTI: [string[], string, boolean][] = [
  [["**", "!util/docker/web"], "util/docker/web/foo", false],
  [["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true],
  [
    ["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    false,
  ],
  [["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
  [["*.go", "!fileutils.go"], "fileutils.go", false],
  [["!fileutils.go", "*.go"], "fileutils.go", true],
  [["docs", "!docs/README.md"], "docs/README.md", false],
  [["docs/", "!docs/README.md"], "docs/README.md", false],
  [["docs/*", "!docs/README.md"], "docs/README.md", false],
  [["docs", "!docs/README.md"], "docs/other.md", true],
  [["**/*.md", "!README.md"], "sub/README.md", true],
  [["**/*.md", "!**/README.md"], "sub/README.md", false],
  [[], "any/path", false],
];

// Go's filepath.Match cases, through the matcher: [pattern, name, match, bad pattern].
const GLOB: [string, string, boolean, boolean][] = [
  ["abc", "abc", true, false],
  ["*", "abc", true, false],
  ["*c", "abc", true, false],
  ["a*", "a", true, false],
  ["a*", "abc", true, false],
  ["a*", "ab/c", true, false],
  ["a*/b", "abc/b", true, false],
  ["a*/b", "a/c/b", false, false],
  ["a*b*c*d*e*/f", "axbxcxdxe/f", true, false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false],
  ["a*b?c*x", "abxbbxdbxebxczzx", true, false],
  ["a*b?c*x", "abxbbxdbxebxczzy", false, false],
  ["ab[c]", "abc", true, false],
  ["ab[b-d]", "abc", true, false],
  ["ab[e-g]", "abc", false, false],
  ["ab[^c]", "abc", false, false],
  ["ab[^b-d]", "abc", false, false],
  ["ab[^e-g]", "abc", true, false],
  ["a\\*b", "a*b", true, false],
  ["a\\*b", "ab", false, false],
  ["a?b", "a☺b", true, false],
  ["a[^a]b", "a☺b", true, false],
  ["a???b", "a☺b", false, false],
  ["a[^a][^a][^a]b", "a☺b", false, false],
  ["[a-ζ]*", "α", true, false],
  ["*[a-ζ]", "A", false, false],
  ["a?b", "a/b", false, false],
  ["a*b", "a/b", false, false],
  ["[\\]a]", "]", true, false],
  ["[\\-]", "-", true, false],
  ["[x\\-]", "x", true, false],
  ["[x\\-]", "-", true, false],
  ["[x\\-]", "z", false, false],
  ["[\\-x]", "x", true, false],
  ["[\\-x]", "-", true, false],
  ["[\\-x]", "a", false, false],
  ["[]a]", "]", false, true],
  ["[-]", "-", false, true],
  ["[x-]", "x", false, true],
  ["[x-]", "-", false, true],
  ["[x-]", "z", false, true],
  ["[-x]", "x", false, true],
  ["[-x]", "-", false, true],
  ["[-x]", "a", false, true],
  ["\\", "a", false, true],
  ["[a-b-c]", "a", false, true],
  ["[", "a", false, true],
  ["[^", "a", false, true],
  ["[^bc", "a", false, true],
  ["a[", "a", false, true],
  ["a[", "ab", false, true],
  ["*x", "xxx", true, false],
  // Valid to Go's glob check but not a valid regexp range: refused too (Go refuses it when matching).
  ["[Local-Only]/", "x", false, true],
];

Deno.test("patternmatcher cases: one pattern, every way of asking", () => {
  for (const [pattern, path, want] of SINGLE) {
    assert.deepEqual(allWays([pattern], path), [want, want, want], `pattern=${pattern} path=${path}`);
  }
});

Deno.test("patternmatcher cases: several patterns, the last match wins and ! re-includes", () => {
  for (const [patterns, path, want] of MULTI) {
    assert.deepEqual(allWays(patterns, path), [want, want, want], `patterns=${patterns} path=${path}`);
  }
});

Deno.test("Go filepath.Match cases, including the patterns it rejects", () => {
  for (const [pattern, name, want, bad] of GLOB) {
    if (bad) {
      assert.throws(() => new PatternMatcher([pattern]), PatternError, `pattern=${pattern}`);
      continue;
    }
    assert.equal(
      new PatternMatcher([pattern]).matchesOrParentMatches(name),
      want,
      `pattern=${pattern} name=${name}`,
    );
  }
});

Deno.test("match types: fast paths where patternmatcher takes them", () => {
  const types: [string, string][] = [
    ["*", "regexp"],
    ["**", "suffix"],
    ["**/**", "regexp"],
    ["dir/**", "prefix"],
    ["**/dir", "suffix"],
    ["**/dir2/*", "regexp"],
    ["**file", "suffix"],
    ["a[b-d]e", "regexp"],
    ["abc.def", "exact"],
    ["a(b)c/def", "exact"],
    ["a.|)$(}+{bc", "exact"],
  ];
  for (const [p, t] of types) assert.equal(new PatternMatcher([p]).patterns[0].type, t, p);
});

Deno.test("a lone ! is refused; blank patterns are dropped; exclusions are reported", () => {
  assert.throws(() => new PatternMatcher(["!"]), /illegal exclusion pattern/);
  assert.equal(new PatternMatcher(["docs", "config", "", "  "]).patterns.length, 2);
  assert.equal(new PatternMatcher(["docs", "  !docs/README.md"]).exclusions, true);
  assert.equal(new PatternMatcher(["docs", "!docs/README.md  "]).exclusions, true);
  assert.equal(new PatternMatcher(["docs"]).exclusions, false);
});

Deno.test("parseIgnoreFile follows moby's ignorefile.ReadAll", () => {
  const text =
    "\uFEFFtest1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! \r\n" +
    " # not a comment\n./x/../y/\n";
  assert.deepEqual(parseIgnoreFile(text), [
    "test1",
    "test2",
    "a/file/here",
    "lastfile",
    "!inverted/abs/path",
    "!",
    "!",
    "# not a comment",
    "y",
  ]);
});

Deno.test("cleanPath is Go's path.Clean", () => {
  const cases: [string, string][] = [
    ["", "."],
    [".", "."],
    ["a/b/", "a/b"],
    ["a//b", "a/b"],
    ["a/./b", "a/b"],
    ["a/../b", "b"],
    ["../a", "../a"],
    ["a/../..", ".."],
    ["/../a", "/a"],
    ["/", "/"],
    ["//a/", "/a"],
  ];
  for (const [p, want] of cases) assert.equal(cleanPath(p), want, p);
});
