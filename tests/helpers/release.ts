/** The release as CI downloads it: scripts/release's output, served over HTTP, unpacked into bare containers. */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type Docker from "dockerode";
import { ROOT } from "./run.ts";

export interface Release {
  dir: string;
  version: string;
  /** Archive file name for `linux-amd64`, `linux-arm64-musl`, ... */
  archive(suffix: string): string;
}

/** Arguments after `scripts/release --out DIR`, output captured; throws with the output on failure. */
export function runRelease(dir: string, args: string[] = [], env: Record<string, string> = {}): string {
  return execFileSync(join(ROOT, "scripts/release"), ["--out", dir, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });
}

let made: Release | undefined;
/** scripts/release's output in .cache/release-test (the script rebuilds only when the sources changed). */
export function release(): Release {
  if (made) return made;
  const dir = join(ROOT, ".cache/release-test");
  runRelease(dir);
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
  made = { dir, version, archive: (suffix) => `envd-lite-${version}-${suffix}.tar.gz` };
  return made;
}

/** Extract one member of a release archive into `dest`; returns its path. */
export function unpack(archive: string, member: string, dest: string): string {
  mkdirSync(dest, { recursive: true });
  execFileSync("tar", ["-xzf", archive, "-C", dest, "--strip-components=1", member]);
  return join(dest, member.split("/").slice(1).join("/"));
}

/** `python3 -m http.server` on 127.0.0.1 serving `dir`, on a free port. */
export async function serve(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(
    "python3",
    ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const port = await new Promise<string>((ok, fail) => {
    let seen = "";
    child.stdout.on("data", (b: Buffer) => {
      seen += b.toString();
      const m = / port (\d+)/.exec(seen);
      if (m) ok(m[1]);
    });
    child.stderr.resume();
    child.on("exit", (code) => fail(new Error(`http.server exited (${code}): ${seen}`)));
  });
  child.stdout.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.on("exit", () => ok());
        child.kill("SIGTERM");
      }),
  };
}

/** Copy what `scripts/musl_runtime ARCH` assembles (musl loader, musl-built libstdc++ and libgcc_s) into `dir`. */
export function addMuslRuntime(dir: string, arch: "amd64" | "arm64"): void {
  const from = execFileSync(join(ROOT, "scripts/musl_runtime"), [arch], { encoding: "utf8" }).trim();
  execFileSync("cp", ["-a", `${from}/lib`, `${from}/usr`, dir]);
}

/** The host's glibc: the libraries `ldd` lists for `bin`, copied to the same paths under `dir`. */
export function glibcFor(bin: string, dir: string): void {
  for (const lib of execFileSync("ldd", [bin], { encoding: "utf8" }).match(/\/\S+/g) ?? []) {
    mkdirSync(join(dir, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(dir, lib));
  }
}

/** A minimal rootfs: /tmp, /root, /etc/passwd, and (with `busybox`) the static busybox with its applets. */
export function baseRootfs(dir: string, opts: { busybox: boolean }): void {
  for (const d of ["tmp", "root", "etc", "usr/local/bin"]) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, "tmp"), 0o1777);
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  if (!opts.busybox) return;
  mkdirSync(join(dir, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  const applets = execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(dir, "bin", a));
}

/** Every file and symlink under `dir`, as absolute paths inside it. */
export function listTree(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const p = `${prefix}/${e.name}`;
    return e.isDirectory() ? listTree(dir, p) : [p];
  });
}

/** `docker import` of a directory as `repo:tag`. */
export async function importRootfs(docker: Docker, dir: string, repo: string, tag: string): Promise<string> {
  const tar = spawn("tar", ["-C", dir, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
  const stream = await docker.importImage(tar.stdout, { repo, tag });
  await new Promise<void>((ok, fail) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? fail(err) : ok()))
  );
  return `${repo}:${tag}`;
}

export interface ContainerRun {
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  binds?: string[];
}

/** Run a container on the host network to its end; returns exit code and the combined output. */
export async function runContainer(docker: Docker, c: ContainerRun): Promise<{ code: number; logs: string }> {
  const container = await docker.createContainer({
    Image: c.image,
    Cmd: c.cmd,
    Entrypoint: c.entrypoint,
    Env: c.env,
    WorkingDir: c.workingDir,
    HostConfig: { NetworkMode: "host", Binds: c.binds },
  });
  try {
    await container.start();
    const { StatusCode } = await container.wait();
    const raw = await container.logs({ stdout: true, stderr: true });
    return { code: StatusCode, logs: demux(raw) };
  } finally {
    await container.remove({ force: true });
  }
}

// Docker's log stream without a TTY: 8-byte frame headers (stream, 0, 0, 0, size32) before each chunk.
function demux(buf: Buffer): string {
  let out = "";
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return out;
}
