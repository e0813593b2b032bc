/** On the compiled binary: failed writes are one line naming the path; edits keep links and line endings. */
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errorOf, run, tempHome } from "../helpers/run.ts";

const FILE = 'current = "a"\r\n\r\n[context.a]\r\nbuilder = "tcp"\r\nbuilder-address = "h:1"\r\n';

function setup() {
  const h = tempHome();
  const file = join(h.home, "contexts.toml");
  writeFileSync(file, FILE);
  return { ...h, file, env: { ...h.env, ENVD_CONTEXTS_FILE: file } };
}

Deno.test("export into a missing directory or onto a directory: exit 1, one line naming the path, nothing left", async () => {
  const h = setup();
  try {
    mkdirSync(join(h.home, "adir"));
    for (
      const [dest, reason] of [
        [join(h.home, "missing/a.toml"), `directory ${h.home}/missing does not exist`],
        [join(h.home, "adir"), "it is a directory"],
      ]
    ) {
      const r = await run(["context", "export", "--name", "a", dest], { env: h.env });
      assert.equal(r.code, 1);
      assert.equal(r.stderr.split("\n").length, 2, r.stderr); // one line
      assert.equal(errorOf(r.stderr)!, `${dest}: cannot write: ${reason}`);
      assert.doesNotMatch(r.stderr, /internal error|\.tmp/);
    }
    assert.deepEqual(readdirSync(h.home).filter((n) => n.endsWith(".tmp")), [], "no temp file left");
    assert.deepEqual(readdirSync(join(h.home, "adir")), []);
    assert.equal(readFileSync(h.file, "utf8"), FILE);
  } finally {
    h.cleanup();
  }
});

Deno.test("a symlinked CRLF contexts file: create edits the target, keeps the link and CRLF", async () => {
  const h = setup();
  try {
    mkdirSync(join(h.home, "dotfiles"));
    const target = join(h.home, "dotfiles/contexts.toml");
    writeFileSync(target, FILE);
    const link = join(h.home, "link.toml");
    symlinkSync(target, link);
    const env = { ...h.env, ENVD_CONTEXTS_FILE: link };
    const r = await run([
      "context",
      "create",
      "--name",
      "b",
      "--builder",
      "tcp",
      "--builder-address",
      "h:2",
      "--use",
    ], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(link).isSymbolicLink(), "the link is still a link");
    const text = readFileSync(target, "utf8");
    assert.match(text, /\[context\.b\]\r\n/);
    assert.match(text, /^current = "b"\r\n/);
    assert.doesNotMatch(text, /(^|[^\r])\n/, "every line ends in CRLF");
    assert.deepEqual(readdirSync(join(h.home, "dotfiles")), ["contexts.toml"]);
  } finally {
    h.cleanup();
  }
});

Deno.test("update: an empty builder address is refused for what it is; a no-op says unchanged", async () => {
  const h = setup();
  try {
    const empty = await run(["context", "update", "--name", "a", "--builder-address", ""], { env: h.env });
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /--builder-address cannot be empty/);
    assert.doesNotMatch(empty.stderr, /inline table|cannot edit in place/);
    assert.equal(readFileSync(h.file, "utf8"), FILE);

    const same = await run(["context", "update", "--name", "a", "--builder-address", "h:1"], { env: h.env });
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stderr, /msg="Context a is unchanged"/);
    assert.equal(readFileSync(h.file, "utf8"), FILE);

    const changed = await run(["context", "update", "--name", "a", "--builder-address", "h:9"], {
      env: h.env,
    });
    assert.match(changed.stderr, /msg="Context a is updated"/);
    assert.equal(readFileSync(h.file, "utf8"), FILE.replace("h:1", "h:9"));
  } finally {
    h.cleanup();
  }
});
