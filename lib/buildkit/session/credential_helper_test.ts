import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable, helperGet } from "./credential_helper.ts";

/** A temp dir holding `docker-credential-test`, a real helper speaking the protocol, plus what it was sent. */
function withHelper(fn: (dir: string, env: Record<string, string>) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "envd-lite-helper-"));
    writeFileSync(
      join(dir, "docker-credential-test"),
      `#!/bin/sh
[ "$1" = get ] || { echo "unexpected action $1"; exit 2; }
cat > "${dir}/last"
url=$(cat "${dir}/last")
{ cat "${dir}/last"; echo "|"; } >> "${dir}/calls"
case "$url" in
  helper.example) printf '{"ServerURL":"%s","Username":"hu","Secret":"helper-secret"}\\n' "$url" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"<token>","Secret":"hub-token"}' "$url" ;;
  missing.example) echo "credentials not found in native keychain"; exit 1 ;;
  garbage.example) echo 'Secret: helper-secret, not JSON' ;;
  leaky.example) echo '{"Username":"u","Secret":"leaked-secret"}'; exit 1 ;;
  slow.example) sleep 5 ;;
  *) echo "boom: keychain is locked" >&2; exit 3 ;;
esac
`,
    );
    chmodSync(join(dir, "docker-credential-test"), 0o755);
    try {
      await fn(dir, { PATH: `/nonexistent:${dir}:/usr/bin:/bin` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

Deno.test(
  "helperGet() sends the server URL on stdin without a newline and decodes the reply",
  withHelper(async (dir, env) => {
    assert.deepEqual(await helperGet("test", "helper.example", { env }), {
      username: "hu",
      password: "helper-secret",
      identityToken: "",
    });
    assert.equal(readFileSync(join(dir, "calls"), "utf8"), "helper.example|\n");
  }),
);

Deno.test(
  'helperGet(): the "<token>" username means an identity token',
  withHelper(async (_dir, env) => {
    assert.deepEqual(await helperGet("test", "https://index.docker.io/v1/", { env }), {
      username: "",
      password: "",
      identityToken: "hub-token",
    });
  }),
);

Deno.test(
  'helperGet(): "credentials not found" is no credentials, not an error',
  withHelper(async (_dir, env) => {
    assert.equal(await helperGet("test", "missing.example", { env }), undefined);
  }),
);

Deno.test(
  "helperGet() failures name the helper and never echo a secret",
  withHelper(async (_dir, env) => {
    await assert.rejects(helperGet("test", "other.example", { env }), {
      message: "docker-credential-test get failed (exit 3): boom: keychain is locked",
    });
    await assert.rejects(helperGet("test", "garbage.example", { env }), {
      message: "docker-credential-test get printed something that is not JSON",
    });
    await assert.rejects(helperGet("test", "leaky.example", { env }), {
      message: "docker-credential-test get failed (exit 1)",
    });
    await assert.rejects(helperGet("test", "slow.example", { env, timeoutMs: 200 }), {
      message: "docker-credential-test get timed out after 0.2s",
    });
    await assert.rejects(helperGet("absent", "helper.example", { env }), {
      message: "credential helper docker-credential-absent not found in PATH",
    });
  }),
);

Deno.test(
  "findExecutable() walks PATH in order and skips files that are not executable",
  withHelper(async (dir, env) => {
    assert.equal(
      await findExecutable("docker-credential-test", env.PATH),
      join(dir, "docker-credential-test"),
    );
    writeFileSync(join(dir, "not-exec"), "");
    assert.equal(await findExecutable("not-exec", env.PATH), undefined);
    assert.equal(await findExecutable("docker-credential-test", ""), undefined);
  }),
);
