import assert from "node:assert/strict";
import { once } from "node:events";
import type { Duplex } from "node:stream";
import { execStream } from "./exec_stream.ts";

const ENV = { PATH: process.env.PATH };

/** Everything the stream yields until it ends, or the error it fails with. */
async function drain(s: Duplex): Promise<{ out: string; err?: Error }> {
  let out = "";
  try {
    for await (const chunk of s) out += chunk;
    return { out };
  } catch (err) {
    return { out, err: err as Error };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it no longer runs.
  return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
}

async function waitGone(pid: number, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

Deno.test("execStream carries stdin to stdout and keeps stderr out of the stream", async () => {
  const lines: string[] = [];
  const s = await execStream("sh", ["-c", "echo warming up >&2; cat; echo bye >&2"], {
    env: ENV,
    onStderr: (l) => lines.push(l),
  });
  s.end("hello\x00world");
  const { out, err } = await drain(s);
  assert.equal(err, undefined);
  assert.equal(out, "hello\x00world");
  assert.deepEqual(lines, ["warming up", "bye"]);
});

Deno.test("execStream fails with the exit code and stderr tail of a failing command", async () => {
  const s = await execStream("sh", ["-c", "echo 'pods \"x\" not found' >&2; exit 3"], { env: ENV });
  s.end();
  const { err } = await drain(s);
  assert.match(err?.message ?? "", /^sh exited with code 3: pods "x" not found$/);
});

Deno.test("execStream rejects a command that is not on PATH", async () => {
  await assert.rejects(
    execStream("envd-lite-no-such-cmd", [], { env: ENV }),
    /cannot run envd-lite-no-such-cmd: not found on PATH/,
  );
});

Deno.test("execStream looks the command up on the given env's PATH", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/only-here`, "#!/bin/sh\necho found-it\n", { mode: 0o755 });
    const s = await execStream("only-here", [], { env: { PATH: `${dir}:${ENV.PATH}` } });
    s.end();
    assert.equal((await drain(s)).out, "found-it\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("destroying the stream kills the child, even one ignoring stdin EOF", async () => {
  const s = await execStream("sh", ["-c", "echo $$; exec sleep 30"], { env: ENV });
  const [first] = await once(s, "data") as [Buffer];
  const pid = Number(first.toString().trim());
  assert.ok(alive(pid), "child runs before destroy");
  s.destroy();
  assert.ok(await waitGone(pid), `child ${pid} still runs after destroy`);
});

Deno.test("aborting the signal destroys the stream and kills the child", async () => {
  const ac = new AbortController();
  const s = await execStream("sh", ["-c", "echo $$; exec sleep 30"], { env: ENV, signal: ac.signal });
  const [first] = await once(s, "data") as [Buffer];
  const pid = Number(first.toString().trim());
  const failed = once(s, "error");
  ac.abort();
  const [err] = await failed as [Error];
  assert.equal(err.message, "aborted");
  assert.ok(await waitGone(pid), `child ${pid} still runs after abort`);
});

Deno.test("the stream has the no-op unref/ref Deno's http2 client needs", async () => {
  const s = await execStream("cat", [], { env: ENV }) as Duplex & { unref(): unknown; ref(): unknown };
  assert.equal(s.unref(), s);
  assert.equal(s.ref(), s);
  s.destroy();
  await once(s, "close");
});
