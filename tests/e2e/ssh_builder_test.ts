/**
 * The ssh builder against a real sshd (Debian's openssh-server on 127.0.0.1, started by scripts/daemons) whose
 * sessions run the real buildctl. ssh reads ~/.ssh/config from the passwd entry, not $HOME, so each test puts
 * an `ssh` first on PATH that only adds `-F <the test's config>` and records its argv before running /usr/bin/ssh.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daemons } from "../helpers/daemons.ts";
import { run } from "../helpers/run.ts";

const peers = daemons();
const ssh = peers.sshd;

interface SshHome {
  dir: string;
  env: Record<string, string>;
  argv(): string[];
  cleanup(): void;
}

/** A HOME with a contexts file for `address`, and an ssh config of `config` lines for 127.0.0.1. */
function sshHome(address: string, config: string[], extraEnv: Record<string, string> = {}): SshHome {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-ssh-"));
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "ssh_config"), `Host 127.0.0.1\n${config.map((l) => `  ${l}\n`).join("")}`);
  writeFileSync(
    join(dir, "bin/ssh"),
    `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir}/argv'\nexec /usr/bin/ssh -F '${dir}/ssh_config' "$@"\n`,
    { mode: 0o755 },
  );
  const file = join(dir, "contexts.toml");
  writeFileSync(file, `current = "r"\n[context.r]\nbuilder = "ssh"\nbuilder-address = "${address}"\n`);
  return {
    dir,
    env: { HOME: dir, ENVD_CONTEXTS_FILE: file, PATH: `${dir}/bin:/usr/bin:/bin`, ...extraEnv },
    argv: () => readFileSync(join(dir, "argv"), "utf8").trimEnd().split("\n"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const ADDRESS = `${ssh.user}@127.0.0.1:${ssh.port}${peers.buildkitUnix}`;
const TRUSTED = [`UserKnownHostsFile ${ssh.knownHosts}`, `IdentityFile ${ssh.key}`, "IdentitiesOnly yes"];

Deno.test("ssh: bootstrap and a build go through ssh … buildctl --addr unix://SOCK dial-stdio", async () => {
  const h = sshHome(ADDRESS, TRUSTED);
  try {
    const ls = await run(["context", "ls", "-f", "json"], { env: h.env });
    assert.equal(JSON.parse(ls.stdout)[0].builder_addr, `ssh://${ADDRESS}`);

    const r = await run(["bootstrap"], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`BuildKit: \\S+ ${peers.buildkitVersion.replace(/\./g, "\\.")}`));
    assert.deepEqual(h.argv(), [
      "-o",
      "BatchMode=yes",
      "-l",
      ssh.user,
      "-p",
      String(ssh.port),
      "--",
      "127.0.0.1",
      "buildctl",
      "--addr",
      `unix://${peers.buildkitUnix}`,
      "dial-stdio",
    ]);

    // A whole build: the context travels up the ssh session, the result comes back down it.
    const ctx = join(h.dir, "ctx");
    mkdirSync(ctx);
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nCOPY hello /hello\n");
    writeFileSync(join(ctx, "hello"), "over ssh\n");
    const out = join(h.dir, "out");
    const b = await run(["build", "-p", ctx, "--output", `type=local,dest=${out}`, "--progress", "plain"], {
      env: h.env,
    });
    assert.equal(b.code, 0, b.stderr);
    assert.equal(readFileSync(join(out, "hello"), "utf8"), "over ssh\n");
  } finally {
    h.cleanup();
  }
});

Deno.test("ssh: the key can come from the user's ssh-agent", async () => {
  const agent = spawnSync("ssh-agent", ["-s"], { encoding: "utf8" }).stdout;
  const sock = /SSH_AUTH_SOCK=([^;]+);/.exec(agent)![1];
  const pid = /SSH_AGENT_PID=(\d+);/.exec(agent)![1];
  try {
    execFileSync("ssh-add", [ssh.key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
    const h = sshHome(ADDRESS, [`UserKnownHostsFile ${ssh.knownHosts}`, "IdentityFile /nonexistent"], {
      SSH_AUTH_SOCK: sock,
    });
    try {
      const r = await run(["bootstrap"], { env: h.env });
      assert.equal(r.code, 0, r.stderr);
    } finally {
      h.cleanup();
    }
  } finally {
    process.kill(Number(pid));
  }
});

for (
  const [what, config, reason] of [
    [
      "a refused key",
      [`UserKnownHostsFile ${ssh.knownHosts}`, "IdentityFile /nonexistent", "IdentitiesOnly yes"],
      /Permission denied \(publickey\)/,
    ],
    [
      "an unknown host key",
      ["UserKnownHostsFile /dev/null", `IdentityFile ${ssh.key}`],
      /Host key verification failed/,
    ],
  ] as const
) {
  Deno.test(`ssh: ${what} fails at once with ssh's own reason, on one line`, async () => {
    const h = sshHome(ADDRESS, [...config]);
    try {
      const t0 = Date.now();
      const r = await run(["bootstrap"], { env: { ...h.env, BUILDKIT_CONNECTING_TIMEOUT: "20s" } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, reason);
      assert.match(r.stderr, /ssh exited with code 255/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.ok(Date.now() - t0 < 10_000, "failed without waiting out the 20 s connect timeout");
    } finally {
      h.cleanup();
    }
  });
}
