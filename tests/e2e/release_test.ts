/**
 * What CI downloads, proven as CI would use it: scripts/release's archives and SHA256SUMS, install.sh against a
 * local HTTP server (also a tampered archive and failed downloads), the arm64 builds under qemu-user, the musl
 * builds in a rootfs of only the musl loader and what they link, bare Debian- and Alpine-style containers that
 * install with the README's one line and then build and push, and the image scripts/release builds with
 * envd-lite itself, pulled into dockerd, building and pushing from inside.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerApi } from "../../lib/transport/docker_api.ts";
import { daemons } from "../helpers/daemons.ts";
import {
  baseRootfs,
  copyTree,
  glibcFor,
  importRootfs,
  listTree,
  muslRuntime,
  release,
  runContainer,
  serve,
  unpack,
} from "../helpers/release.ts";
import { BIN, ROOT, run } from "../helpers/run.ts";

const peers = daemons();
const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });
const SUFFIXES = ["linux-amd64", "linux-arm64", "linux-amd64-musl", "linux-arm64-musl"];
const QEMU = "/usr/bin/qemu-aarch64-static";
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const tempDir = (tag: string) => mkdtempSync(join(tmpdir(), `envd-lite-${tag}-`));

/** The commit scripts/release stamps: HEAD's short hash, `.dirty` with uncommitted changes to tracked files. */
function expectedCommit(): string {
  const head = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT, encoding: "utf8" })
    .trim();
  const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return dirty.trim() ? `${head}.dirty` : head;
}

/** ELF e_machine of a file: 0x3e x86-64, 0xb7 aarch64. */
function elfMachine(file: string): number {
  const fd = openSync(file, "r");
  const head = Buffer.alloc(20);
  readSync(fd, head, 0, 20, 0);
  return head.readUInt16LE(18);
}

Deno.test("scripts/release: four archives with binary, LICENSE, README, completions; SHA256SUMS; --version with the commit", async () => {
  const rel = release();
  const sums = readFileSync(join(rel.dir, "SHA256SUMS"), "utf8").trim().split("\n").map((l) => l.split("  "));
  assert.deepEqual(sums.map(([, n]) => n).sort(), [...SUFFIXES.map(rel.archive), "install.sh"].sort());
  for (const [hash, name] of sums) assert.equal(sha256(join(rel.dir, name)), hash, name);
  assert.equal(
    readFileSync(join(rel.dir, "install.sh"), "utf8"),
    readFileSync(join(ROOT, "install.sh"), "utf8"),
  );

  const completions = Object.fromEntries(
    await Promise.all([["bash", "envd-lite.bash"], ["zsh", "_envd-lite"], ["fish", "envd-lite.fish"]].map(
      async ([shell, file]) => [file, (await run(["completion", shell])).stdout],
    )),
  );
  for (const suffix of SUFFIXES) {
    const top = `envd-lite-${rel.version}-${suffix}`;
    const listing = execFileSync("tar", ["-tzvf", join(rel.dir, rel.archive(suffix))], { encoding: "utf8" });
    const names = listing.trim().split("\n").map((l) => l.split(/\s+/).pop()!).filter((n) =>
      !n.endsWith("/")
    );
    assert.deepEqual(names.sort(), [
      `${top}/LICENSE`,
      `${top}/README.md`,
      `${top}/completions/_envd-lite`,
      `${top}/completions/envd-lite.bash`,
      `${top}/completions/envd-lite.fish`,
      `${top}/envd-lite`,
    ]);
    assert.match(listing, new RegExp(`^-rwxr-xr-x 0/0 .* ${top}/envd-lite$`, "m"));
    const dir = tempDir("archive");
    try {
      execFileSync("tar", ["-xzf", join(rel.dir, rel.archive(suffix)), "-C", dir]);
      for (const [file, text] of Object.entries(completions)) {
        assert.equal(readFileSync(join(dir, top, "completions", file), "utf8"), text, `${suffix} ${file}`);
      }
      assert.equal(
        readFileSync(join(dir, top, "LICENSE"), "utf8"),
        readFileSync(join(ROOT, "LICENSE"), "utf8"),
      );
      assert.equal(elfMachine(join(dir, top, "envd-lite")), suffix.includes("arm64") ? 0xb7 : 0x3e, suffix);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const dir = tempDir("version");
  try {
    const bin = unpack(
      join(rel.dir, rel.archive("linux-amd64")),
      `envd-lite-${rel.version}-linux-amd64/envd-lite`,
      dir,
    );
    const v = execFileSync(bin, ["--version"], { encoding: "utf8" });
    assert.equal(v, `envd-lite version v${rel.version}+${expectedCommit()}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("the arm64 glibc binary runs under qemu-user: --version and context ls", () => {
  const rel = release();
  const dir = tempDir("arm64");
  try {
    const top = `envd-lite-${rel.version}-linux-arm64`;
    const bin = unpack(join(rel.dir, rel.archive("linux-arm64")), `${top}/envd-lite`, join(dir, "bin"));
    // libc6-arm64-cross holds the aarch64 glibc; -L makes it the guest's /lib.
    const qemu = (args: string[]) =>
      spawnSync(QEMU, ["-L", "/usr/aarch64-linux-gnu", bin, ...args], {
        encoding: "utf8",
        env: { HOME: dir, PATH: "/usr/bin:/bin" },
      });
    const v = qemu(["--version"]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, new RegExp(`^envd-lite version v${rel.version}\\+`));
    const ls = qemu(["context", "ls"]);
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, /^ +CONTEXT +BUILDER .*\n default \(current\) +docker-container /);
    assert.equal(qemu(["version"]).stdout.match(/Platform: (.*)/)?.[1], "linux/arm64");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A rootfs of only the musl loader, what the binary links (libstdc++, libgcc_s) and the binary at
 * /usr/local/bin/envd-lite; for arm64 also qemu-aarch64-static, which runs it (dockerd here has no binfmt).
 */
function muslRootfs(dir: string, arch: "amd64" | "arm64", bin: string): void {
  baseRootfs(dir, { busybox: false });
  copyTree(muslRuntime(arch), dir);
  rmSync(join(dir, ".complete"));
  copyFileSync(bin, join(dir, "usr/local/bin/envd-lite"));
  execFileSync("chmod", ["755", join(dir, "usr/local/bin/envd-lite")]);
  if (arch === "arm64") copyFileSync(QEMU, join(dir, "qemu-aarch64-static"));
  if (arch === "arm64") execFileSync("chmod", ["755", join(dir, "qemu-aarch64-static")]);
}

for (const arch of ["amd64", "arm64"] as const) {
  Deno.test(`the ${arch} musl binary runs in a container of only the musl loader and what it links`, async () => {
    const rel = release();
    const dir = tempDir(`musl-${arch}`);
    const tag = randomBytes(4).toString("hex");
    let image = "";
    try {
      const top = `envd-lite-${rel.version}-linux-${arch}-musl`;
      const bin = unpack(
        join(rel.dir, rel.archive(`linux-${arch}-musl`)),
        `${top}/envd-lite`,
        join(dir, "x"),
      );
      const fs = join(dir, "rootfs");
      muslRootfs(fs, arch, bin);
      const m = arch === "amd64" ? "x86_64" : "aarch64";
      assert.deepEqual(
        listTree(fs).filter((p) => p !== "/etc/passwd" && p !== "/qemu-aarch64-static").sort(),
        [
          `/lib/ld-musl-${m}.so.1`,
          `/lib/libc.musl-${m}.so.1`,
          ...readdirSync(join(fs, "usr/lib")).filter((f) => f.startsWith("libgcc_s-")).map((f) =>
            `/usr/lib/${f}`
          ),
          "/usr/lib/libgcc_s.so.1",
          "/usr/lib/libstdc++.so.6",
          "/usr/local/bin/envd-lite",
        ].sort(),
      );
      image = await importRootfs(docker, fs, "envd-lite-musl", `${arch}-${tag}`);
      const entry = arch === "amd64"
        ? ["/usr/local/bin/envd-lite"]
        : ["/qemu-aarch64-static", "/usr/local/bin/envd-lite"];
      const env = ["HOME=/root"];
      const v = await runContainer(docker, { image, entrypoint: entry, cmd: ["--version"], env });
      assert.equal(v.code, 0, v.logs);
      assert.match(v.logs, new RegExp(`^envd-lite version v${rel.version}\\+`));
      const ls = await runContainer(docker, { image, entrypoint: entry, cmd: ["context", "ls"], env });
      assert.equal(ls.code, 0, ls.logs);
      assert.match(ls.logs, / default \(current\) +docker-container /);
      const full = await runContainer(docker, { image, entrypoint: entry, cmd: ["version"], env });
      assert.match(full.logs, new RegExp(`Platform: linux/${arch}`));
    } finally {
      if (image) await docker.getImage(image).remove().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
