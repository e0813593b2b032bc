/** Every edit keeps the file's own shape: its line endings, the symlink it is reached through; a failed write says why. */
import assert from "node:assert/strict";
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { createContext, importContexts, removeContext, updateContext, useContext } from "./operations.ts";

const FIXTURE = resolve(import.meta.dirname!, "../../tests/fixtures/contexts/handwritten.toml");

/** Each operation the CLI performs on a file, as a library call. */
const OPERATIONS: [string, (path: string) => Promise<unknown>][] = [
  [
    "create",
    (p) => createContext(p, { name: "ci", builder: "tcp", builderAddress: "h:1", runner: "docker" }),
  ],
  [
    "create --use",
    (p) =>
      createContext(p, { name: "ci", builder: "unix", builderAddress: "/s", runner: "docker" }, {
        use: true,
      }),
  ],
  ["use", (p) => useContext(p, "remote")],
  ["rm", (p) => removeContext(p, "remote")],
  ["rm (last context)", (p) => removeContext(p, "team.gpu")],
  ["update a value", (p) => updateContext(p, "remote", { builderAddress: "other:9" })],
  ["update a new key", (p) => updateContext(p, "local", { runnerAddress: "http://x" })],
  ["update a new table", (p) => updateContext(p, "local", { tls: { ca: "/ca.pem" } })],
  ["update drops a table", (p) => updateContext(p, "remote", { tls: { ca: "", servername: "" } })],
  [
    "import",
    (p) => importContexts(p, [{ name: "imp", builder: "tcp", builderAddress: "a:1", runner: "docker" }]),
  ],
];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "envd-safety-"));
}

/** The result of `op` on a fresh copy of `text`. */
async function edited(text: string, op: (path: string) => Promise<unknown>): Promise<string> {
  const dir = tempDir();
  try {
    const path = join(dir, "contexts.toml");
    writeFileSync(path, text);
    await op(path);
    return readFileSync(path, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LF = readFileSync(FIXTURE, "utf8");
const CRLF = LF.replace(/\n/g, "\r\n");

for (const [name, op] of OPERATIONS) {
  Deno.test(`CRLF file, ${name}: every line still ends in CRLF, and the edit equals the LF edit`, async () => {
    const fromLf = await edited(LF, op);
    const fromCrlf = await edited(CRLF, op);
    assert.notEqual(fromLf, LF, "the operation changed nothing");
    assert.equal(fromCrlf.replace(/\r\n/g, "\n"), fromLf);
    assert.doesNotMatch(fromCrlf, /(^|[^\r])\n/, "a bare LF was written");
  });

  Deno.test(`symlinked file, ${name}: the links stay links and the final target is edited`, async () => {
    const expected = await edited(LF, op);
    const dir = tempDir();
    try {
      // dotfiles/real.toml <- dotfiles/alias.toml (relative) <- config/envd/contexts.toml (absolute)
      mkdirSync(join(dir, "dotfiles"));
      mkdirSync(join(dir, "config/envd"), { recursive: true });
      const real = join(dir, "dotfiles/real.toml");
      copyFileSync(FIXTURE, real);
      chmodSync(real, 0o640);
      symlinkSync("real.toml", join(dir, "dotfiles/alias.toml"));
      const path = join(dir, "config/envd/contexts.toml");
      symlinkSync(join(dir, "dotfiles/alias.toml"), path);
      await op(path);
      assert.ok(lstatSync(path).isSymbolicLink());
      assert.equal(readlinkSync(join(dir, "dotfiles/alias.toml")), "real.toml");
      assert.equal(readFileSync(real, "utf8"), expected);
      assert.equal(lstatSync(real).mode & 0o777, 0o640);
      // No temp or lock file left in either directory.
      assert.deepEqual(readdirSync(join(dir, "dotfiles")).sort(), ["alias.toml", "real.toml"]);
      assert.deepEqual(readdirSync(join(dir, "config/envd")), ["contexts.toml"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

Deno.test("a dangling symlink is written through: the target is created and the link kept", async () => {
  const dir = tempDir();
  try {
    const path = join(dir, "contexts.toml");
    symlinkSync("target.toml", path);
    await createContext(path, { name: "ci", builder: "tcp", builderAddress: "h:1", runner: "docker" });
    assert.ok(lstatSync(path).isSymbolicLink());
    assert.match(readFileSync(join(dir, "target.toml"), "utf8"), /\[context\.ci\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a write that cannot happen is one UserError naming the path and the reason, leaving nothing", () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, "plain"), "x");
    mkdirSync(join(dir, "adir"));
    symlinkSync("loop", join(dir, "loop"));
    const cases: [string, RegExp][] = [
      [join(dir, "missing/out.toml"), /directory .*missing does not exist/],
      [join(dir, "adir"), /it is a directory/],
      [join(dir, "plain/out.toml"), /plain is not a directory/],
      [join(dir, "loop"), /too many levels of symbolic links/],
    ];
    for (const [path, reason] of cases) {
      assert.throws(() => writeFileAtomic(path, "x = 1\n"), (err: unknown) => {
        assert.ok(err instanceof UserError, String(err));
        assert.ok(err.message.startsWith(`${path}: cannot write: `), err.message);
        assert.match(err.message, reason);
        assert.doesNotMatch(err.message, /\.tmp|\n|ENOENT|EISDIR|ENOTDIR/);
        return true;
      });
    }
    assert.deepEqual(readdirSync(dir).sort(), ["adir", "loop", "plain"]);
    assert.deepEqual(readdirSync(join(dir, "adir")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
