/** A real unprivileged user for rootless tests: created once (useradd, subuid/subgid, docker group), used via setpriv. */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BIN, ROOT } from "./run.ts";

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** `/run/user/UID`, owned by the user, as a login session would have it. */
  runtimeDir: string;
}

export interface Home {
  home: string;
  env: Record<string, string>;
  cleanup(): void;
}

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/** Make sure user `name` exists with subordinate ids, a runtime dir and (for the docker-container case) docker access. */
export function ensureTestUser(name = "envd-lite-test"): TestUser {
  if (process.getuid?.() !== 0) throw new Error("rootless tests create a user: run them as root");
  try {
    sh("id", ["-u", name]);
  } catch {
    sh("useradd", ["--create-home", "--shell", "/bin/sh", name]);
  }
  const uid = Number(sh("id", ["-u", name]));
  const gid = Number(sh("id", ["-g", name]));
  for (const [file, flag] of [["/etc/subuid", "--add-subuids"], ["/etc/subgid", "--add-subgids"]]) {
    const has = existsSync(file) &&
      readFileSync(file, "utf8").split("\n").some((l) => l.split(":")[0] === name);
    if (!has) {
      // Past any range already handed out, so no two users share ids.
      const ends = existsSync(file)
        ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) =>
          Number(l.split(":")[1]) + Number(l.split(":")[2])
        )
        : [];
      const start = Math.max(100000, ...ends);
      sh("usermod", [flag, `${start}-${start + 65535}`, name]);
    }
  }
  try {
    sh("getent", ["group", "docker"]);
    sh("usermod", ["-aG", "docker", name]);
  } catch { /* no docker group: the docker-container case will say so */ }
  const runtimeDir = `/run/user/${uid}`;
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  chownSync(runtimeDir, uid, gid);
  return { name, uid, gid, runtimeDir };
}

/** A fresh HOME owned by the user, and a minimal environment (no USER: found by uid, as under cron). */
export function userHome(user: TestUser): Home {
  const home = mkdtempSync(join("/tmp", "envd-lite-rl-"));
  chownSync(home, user.uid, user.gid);
  return {
    home,
    env: {
      HOME: home,
      XDG_RUNTIME_DIR: user.runtimeDir,
      // buildkitd (Go-built) first, then rootlesskit, newuidmap and runc from the system.
      PATH: `${ROOT}/.cache/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
    },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` as the user (setpriv: its uid, gid and groups) with exactly `env`. */
export async function execAs(
  user: TestUser,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<Result> {
  const child = new Deno.Command("setpriv", {
    args: ["--reuid", String(user.uid), "--regid", String(user.gid), "--init-groups", "--", cmd, ...args],
    env,
    clearEnv: true,
    cwd: env.HOME,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs the compiled envd-lite as the user. */
export function runAs(
  user: TestUser,
  args: string[],
  env: Record<string, string>,
  timeoutMs?: number,
): Promise<Result> {
  return execAs(user, BIN, args, env, timeoutMs);
}
