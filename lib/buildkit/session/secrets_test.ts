import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveAttachable } from "../../../tests/helpers/attachable.ts";
import { UsageError, UserError } from "../../errors.ts";
import { checkSecrets, MAX_SECRET_SIZE, parseSecretFlag, secretsAttachable } from "./secrets.ts";

Deno.test("parseSecretFlag() takes buildx's forms", () => {
  const table: [string, ReturnType<typeof parseSecretFlag>][] = [
    ["id=tok,src=/run/tok.txt", { id: "tok", src: "/run/tok.txt" }],
    ["id=tok,source=tok.txt", { id: "tok", src: "tok.txt" }],
    ["src=/home/u/.npmrc", { id: ".npmrc", src: "/home/u/.npmrc" }],
    ["type=file,id=tok,src=a/b", { id: "tok", src: "a/b" }],
    ["id=tok,env=GH_TOKEN", { id: "tok", env: "GH_TOKEN" }],
    ["type=env,id=tok,src=GH_TOKEN", { id: "tok", env: "GH_TOKEN" }],
    ["type=env,id=tok,env=GH_TOKEN", { id: "tok", env: "GH_TOKEN" }],
    ["env=GH_TOKEN", { id: "GH_TOKEN", env: "GH_TOKEN" }],
    ["type=env,src=GH_TOKEN", { id: "GH_TOKEN", env: "GH_TOKEN" }],
    ["id=tok", { id: "tok" }],
    ["ID=tok,SRC=x", { id: "tok", src: "x" }],
    ['"id=a,b","src=c,d"', { id: "a,b", src: "c,d" }],
    ['"src=say ""hi"""', { id: 'say "hi"', src: 'say "hi"' }],
    ["id=tok,src=a=b", { id: "tok", src: "a=b" }],
  ];
  for (const [text, want] of table) assert.deepEqual(parseSecretFlag(text), want, text);
});

Deno.test("parseSecretFlag() errors are one line naming the flag and its value", () => {
  const cases: [string, string][] = [
    ["id=tok,src", 'field "src" must be a key=value pair'],
    ["id=tok,path=x", 'unexpected key "path" (want id, src, env or type)'],
    ["type=ssh,id=x", 'unsupported secret type "ssh"'],
    ["id=tok,src=f,env=V", "give src or env, not both"],
    ["type=file,env=V", "type=file takes src, not env"],
    ["type=file", "no id (give id=, or src=/env= to name it after)"],
    ["", 'field "" must be a key=value pair'],
    ['"id=tok', "unterminated quoted field"],
    ['id=t"ok', 'bare " in field "id=t\\"ok"'],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseSecretFlag(text), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.message, `invalid value ${JSON.stringify(text)} for flag --secret: ${why}`);
      return true;
    });
  }
});

Deno.test("GetSecret reads files and env vars at request time; unknown ids are NOT_FOUND", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-secrets-"));
  const logs: string[] = [];
  const env: Record<string, string | undefined> = { GH_TOKEN: "env-value", bare: "bare-env-value" };
  const a = secretsAttachable(
    [
      { id: "file", src: "tok.txt" },
      { id: "env", env: "GH_TOKEN" },
      { id: "bare" },
      { id: "dup", src: "first.txt" },
      { id: "dup", src: "tok.txt" },
      { id: "gone", src: "gone.txt" },
      { id: "unset", env: "NOPE" },
      { id: "big", src: "big.bin" },
    ],
    env,
    { log: (m) => logs.push(m), cwd: dir },
  );
  assert.deepEqual(a.methods, ["/moby.buildkit.secrets.v1.Secrets/GetSecret"]);
  const served = await serveAttachable(a);
  const get = async (id: string) => {
    const r = await served.call<{ data: Uint8Array }>("getSecret", { ID: id });
    return r.ok ? Buffer.from(r.value.data).toString() : { code: r.code, details: r.details };
  };
  try {
    // Written after the attachable exists: nothing is read up front.
    writeFileSync(join(dir, "tok.txt"), "file-value\n");
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(MAX_SECRET_SIZE + 1));
    assert.equal(await get("file"), "file-value\n");
    assert.equal(await get("env"), "env-value");
    assert.equal(await get("bare"), "bare-env-value");
    assert.equal(await get("dup"), "file-value\n");
    env.GH_TOKEN = "changed";
    assert.equal(await get("env"), "changed");
    assert.deepEqual(await get("nope"), { code: grpc.status.NOT_FOUND, details: "secret nope not found" });
    assert.deepEqual(await get("gone"), {
      code: grpc.status.FAILED_PRECONDITION,
      details: `secret gone: cannot read ${join(dir, "gone.txt")}: ENOENT`,
    });
    assert.deepEqual(await get("unset"), {
      code: grpc.status.FAILED_PRECONDITION,
      details: "secret unset: environment variable NOPE is not set",
    });
    assert.deepEqual(await get("big"), {
      code: grpc.status.FAILED_PRECONDITION,
      details: `secret big is ${
        MAX_SECRET_SIZE + 1
      } bytes; BuildKit takes at most ${MAX_SECRET_SIZE} (500 KiB)`,
    });
    const text = logs.join("\n");
    for (const value of ["file-value", "env-value", "changed", "bare-env-value"]) {
      assert.ok(!text.includes(value), text);
    }
    assert.ok(logs.includes(`secrets: file sent (11 bytes from ${join(dir, "tok.txt")})`), text);
    assert.ok(logs.includes("secrets: env sent (9 bytes from env GH_TOKEN)"), text);
    assert.ok(logs.includes("secrets: nope requested, not provided"), text);
  } finally {
    await served.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("checkSecrets() fails before the build on a missing file, unset env var or oversized file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-secrets-"));
  try {
    writeFileSync(join(dir, "ok"), "v");
    writeFileSync(join(dir, "big"), Buffer.alloc(MAX_SECRET_SIZE + 1));
    await checkSecrets([{ id: "a", src: join(dir, "ok") }, { id: "b", env: "SET" }], { SET: "" });
    const fails: [Parameters<typeof checkSecrets>[0][0], string][] = [
      [{ id: "a", src: join(dir, "missing") }, `secret a: cannot read ${join(dir, "missing")}: ENOENT`],
      [{ id: "b", env: "UNSET" }, "secret b: environment variable UNSET is not set"],
      [
        { id: "c", src: join(dir, "big") },
        `secret c is ${MAX_SECRET_SIZE + 1} bytes; BuildKit takes at most`,
      ],
    ];
    for (const [spec, msg] of fails) {
      await assert.rejects(checkSecrets([spec], {}), (err: Error) => {
        assert.ok(err instanceof UserError);
        assert.ok(err.message.startsWith(msg), err.message);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
