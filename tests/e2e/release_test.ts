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
  addMuslRuntime,
  baseRootfs,
  glibcFor,
  importRootfs,
  listTree,
  release,
  runContainer,
  runRelease,
  serve,
  unpack,
} from "../helpers/release.ts";
import { BIN, ROOT, run } from "../helpers/run.ts";
import { ensureTestUser, execAs, userHome } from "../helpers/unprivileged.ts";

const peers = daemons();
const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });
const SUFFIXES = ["linux-amd64", "linux-arm64", "linux-amd64-musl", "linux-arm64-musl"];
const QEMU = "/usr/bin/qemu-aarch64-static";
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const tempDir = (tag: string) => mkdtempSync(join(tmpdir(), `envd-lite-${tag}-`));

/** What scripts/release appends to the version: `+` HEAD's short hash (`.dirty` with uncommitted changes). */
function expectedCommit(): string {
  const git = (args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  const head = git(["rev-parse", "--short=12", "HEAD"]);
  if (head.status !== 0) return ""; // not a git checkout: no commit
  return `+${head.stdout.trim()}${
    git(["status", "--porcelain", "--untracked-files=no"]).stdout.trim() ? ".dirty" : ""
  }`;
}

/** What `--version` of this release's binaries prints. */
const versionLine = (rel: { version: string }) => `envd-lite version v${rel.version}${expectedCommit()}\n`;

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
    assert.equal(v, versionLine(rel));
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
    assert.equal(v.stdout, versionLine(rel));
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
  addMuslRuntime(dir, arch);
  copyFileSync(bin, join(dir, "usr/local/bin/envd-lite"));
  if (arch === "arm64") copyFileSync(QEMU, join(dir, "qemu-aarch64-static"));
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
      assert.equal(v.logs, versionLine(rel));
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

/** A PATH directory of busybox applets (no curl, no sha256sum unless `keep` names them) plus `extra` links. */
function toolDir(dir: string, extra: Record<string, string>, keep: string[] = []): string {
  mkdirSync(dir, { recursive: true });
  const applets = execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const a of applets) {
    if (["curl", "sha256sum", "shasum"].includes(a) && !keep.includes(a)) continue;
    symlinkSync("/bin/busybox", join(dir, a));
  }
  for (const [name, target] of Object.entries(extra)) symlinkSync(target, join(dir, name));
  return dir;
}

/** install.sh run by dash (Debian's sh) with exactly `env`, PATH and HOME defaulted. */
function install(env: Record<string, string>) {
  return spawnSync("/bin/dash", [join(ROOT, "install.sh")], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent", ...env },
  });
}

Deno.test("install.sh against python3 -m http.server: installs the checked archive; curl+sha256sum, wget+shasum, a non-root user", async () => {
  const rel = release();
  const server = await serve(rel.dir);
  const dir = tempDir("install");
  try {
    const want = versionLine(rel).trim();
    // dash with curl and sha256sum; busybox sh with only wget and shasum; the version SHA256SUMS lists.
    const wgetOnly = toolDir(join(dir, "wget-tools"), { shasum: "/usr/bin/shasum" });
    for (
      const [label, shell, path] of [
        ["curl", "/bin/dash", "/usr/bin:/bin"],
        ["wget", "/bin/busybox sh", wgetOnly],
      ] as const
    ) {
      const target = join(dir, label, "bin");
      const [sh, ...shArgs] = shell.split(" ");
      const r = spawnSync(sh, [...shArgs, join(ROOT, "install.sh")], {
        encoding: "utf8",
        env: {
          PATH: path,
          HOME: join(dir, label),
          ENVD_LITE_BASE_URL: server.url,
          ENVD_LITE_INSTALL_DIR: target,
        },
      });
      assert.equal(r.status, 0, `${label}: ${r.stderr}`);
      assert.equal(r.stdout.split("\n")[0], `installed ${want} (amd64, glibc) to ${target}/envd-lite`);
      assert.deepEqual(readdirSync(target), ["envd-lite"]);
      assert.equal(execFileSync(join(target, "envd-lite"), ["--version"], { encoding: "utf8" }), `${want}\n`);
    }
    // Not root: `curl ... | sh` as a real unprivileged user installs into ~/.local/bin and says it is not on PATH.
    const user = ensureTestUser();
    const home = userHome(user);
    try {
      const r = await execAs(user, "sh", ["-c", `curl -fsSL ${server.url}/install.sh | sh`], {
        HOME: home.home,
        PATH: "/usr/bin:/bin",
        ENVD_LITE_BASE_URL: server.url,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        `installed ${want} (amd64, glibc) to ${home.home}/.local/bin/envd-lite\nnote: ${home.home}/.local/bin is not on PATH\n`,
      );
    } finally {
      home.cleanup();
    }
    const pinned = install({
      ENVD_LITE_BASE_URL: `${server.url}/`,
      ENVD_LITE_VERSION: `v${rel.version}`,
      ENVD_LITE_INSTALL_DIR: join(dir, "pinned"),
    });
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.ok(existsSync(join(dir, "pinned/envd-lite")));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("install.sh installs nothing and says why in one line: tampered archive, failed downloads, no such version, binary that cannot start", async () => {
  const rel = release();
  const dir = tempDir("install-bad");
  // A copy of the release whose amd64 archive has one byte changed; SHA256SUMS is the original.
  const served = join(dir, "served");
  mkdirSync(served);
  for (const f of readdirSync(rel.dir).filter((f) => !f.startsWith("."))) {
    if (f === rel.archive("linux-amd64")) continue;
    if (f !== rel.archive("linux-arm64")) symlinkSync(join(rel.dir, f), join(served, f)); // arm64: "missing"
  }
  const tampered = readFileSync(join(rel.dir, rel.archive("linux-amd64")));
  tampered[tampered.length >> 1] ^= 0xff;
  writeFileSync(join(served, rel.archive("linux-amd64")), tampered);
  const server = await serve(served);
  const target = join(dir, "target");
  try {
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        "tampered",
        {},
        new RegExp(`checksum mismatch for ${rel.archive("linux-amd64").replace(/[.]/g, "\\.")}`),
      ],
      [
        "version",
        { ENVD_LITE_VERSION: "9.9.9" },
        /SHA256SUMS lists no envd-lite-9\.9\.9-linux-amd64\.tar\.gz$/,
      ],
      [
        "no-server",
        { ENVD_LITE_BASE_URL: "http://127.0.0.1:9/x" },
        /could not download http:\/\/127\.0\.0\.1:9\/x\/SHA256SUMS$/,
      ],
      ["no-musl", { ENVD_LITE_LIBC: "musl" }, /the musl build does not start here: it needs libstdc\+\+/],
      ["bad-libc", { ENVD_LITE_LIBC: "bionic" }, /ENVD_LITE_LIBC=bionic: expected glibc or musl$/],
    ];
    for (const [label, env, message] of cases) {
      const r = install({ ENVD_LITE_BASE_URL: server.url, ENVD_LITE_INSTALL_DIR: target, ...env });
      assert.notEqual(r.status, 0, label);
      assert.equal(r.stdout, "", label);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${label}: ${r.stderr}`);
      assert.match(lines[0], /^envd-lite install: /);
      assert.match(lines[0], message, label);
      assert.ok(!existsSync(target), `${label}: ${target} was created`);
    }
    // A listed archive the server does not have (404) is a failed download, with curl and with busybox wget.
    const arm = join(dir, "arm-tools");
    mkdirSync(arm);
    writeFileSync(join(arm, "uname"), "#!/bin/sh\necho aarch64\n", { mode: 0o755 });
    for (
      const [label, path] of [["curl", `${arm}:/usr/bin:/bin`], [
        "wget",
        `${arm}:${toolDir(join(dir, "w"), {}, ["sha256sum"])}`,
      ]]
    ) {
      const r = install({
        PATH: path,
        ENVD_LITE_BASE_URL: server.url,
        ENVD_LITE_INSTALL_DIR: target,
        ENVD_LITE_LIBC: "glibc",
      });
      assert.notEqual(r.status, 0, label);
      assert.equal(
        r.stderr,
        `envd-lite install: could not download ${server.url}/${rel.archive("linux-arm64")}\n`,
        label,
      );
      assert.ok(!existsSync(target));
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const RELEASES = "https://github.com/envd-lite/envd-lite/releases/latest/download";

/** The fenced block after `<!-- tested: NAME ... -->` in README.md. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const m = new RegExp(`<!-- tested: ${name}\\b[^\\n]*-->\\n\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(readme);
  assert.ok(m, `README.md has no block marked "tested: ${name}"`);
  return m[1];
}

/** The manifest (or index) `ref` has in the test registry, read over HTTP. */
async function manifest(
  repo: string,
  tag: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${peers.registry}/v2/${repo}/manifests/${tag}`, {
    headers: {
      Accept: [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
      ].join(", "),
    },
  });
  return { status: res.status, body: res.status === 200 ? await res.json() : {} };
}

for (const style of ["Debian-style (glibc, curl)", "Alpine-style (musl, wget)"]) {
  const musl = style.includes("musl");
  Deno.test(`a bare ${style} container with only sh installs with the README's line, then builds and pushes`, async () => {
    const rel = release();
    const server = await serve(rel.dir);
    const dir = tempDir("bare-install");
    const tag = randomBytes(4).toString("hex");
    const repo = "envd-lite-release/installed";
    let image = "";
    try {
      baseRootfs(dir, { busybox: true });
      if (musl) {
        addMuslRuntime(dir, "amd64");
      } else {
        // Debian's sh (dash) and curl with the glibc they and the binary link; busybox's wget goes (busybox sh
        // would still run its applets by name, dash does not).
        for (const tool of [BIN, "/bin/dash", "/usr/bin/curl"]) glibcFor(tool, dir);
        copyFileSync("/usr/bin/curl", join(dir, "bin/curl"));
        rmSync(join(dir, "bin/sh"));
        copyFileSync("/bin/dash", join(dir, "bin/sh"));
        rmSync(join(dir, "bin/wget"));
      }
      mkdirSync(join(dir, "work/ctx"), { recursive: true });
      writeFileSync(join(dir, "work/ctx/Dockerfile"), "FROM scratch\nCOPY hello.txt /\n");
      writeFileSync(join(dir, "work/ctx/hello.txt"), `installed by install.sh, ${style}\n`);
      image = await importRootfs(docker, dir, "envd-lite-bare-install", tag);

      // The README's plain-shell recipe, whose first line is the one-line install, pointed at the local server.
      const recipe = readmeBlock("plain-shell");
      assert.equal(recipe.split("\n")[0], readmeBlock("install-line").trim());
      let lines = recipe.replace(`${RELEASES}/`, `${server.url}/`);
      assert.match(lines, /^curl -fsSL http:\/\/127\.0\.0\.1:\d+\/install\.sh \| sh\n/);
      if (musl) lines = lines.replace("curl -fsSL", "wget -qO-");
      const script = [
        "set -e",
        `for c in ${
          musl ? "curl" : "wget"
        } envd-lite docker node deno bun; do if command -v "$c"; then echo "found $c"; exit 3; fi; done`,
        "cd /work/ctx",
        lines,
      ].join("\n");
      const r = await runContainer(docker, {
        image,
        cmd: ["/bin/sh", "-c", script],
        env: [
          "HOME=/root",
          "PATH=/usr/local/bin:/bin",
          `ENVD_LITE_BASE_URL=${server.url}`,
          `BUILDKIT_ADDR=${peers.buildkitTcp}`,
          `IMAGE=${peers.registry}/${repo}:${tag}`,
        ],
      });
      assert.equal(r.code, 0, r.logs);
      assert.match(
        r.logs,
        new RegExp(
          `installed envd-lite version v${rel.version}\\S* \\(amd64, ${
            musl ? "musl" : "glibc"
          }\\) to /usr/local/bin/envd-lite`,
        ),
      );
      const m = await manifest(repo, tag);
      assert.equal(m.status, 200);
      assert.equal((m.body.layers as unknown[]).length, 1);
    } finally {
      await server.close();
      if (image) await docker.getImage(image).remove().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** A registry blob (a layer) of the test registry. */
async function blob(repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`http://${peers.registry}/v2/${repo}/blobs/${digest}`);
  assert.equal(res.status, 200, `blob ${digest}`);
  return Buffer.from(await res.arrayBuffer());
}

type Index = { manifests: { digest: string; platform: { os: string; architecture: string } }[] };

let imageMade: Promise<{ repo: string; tag: string }> | undefined;
/** scripts/release --image pushes REF and REF-debug to the test registry, building on a tcp context. */
function releaseImage(): Promise<{ repo: string; tag: string }> {
  imageMade ??= (async () => {
    const rel = release();
    const home = tempDir("image-home");
    const repo = "envd-lite-release/envd-lite";
    const tag = `${rel.version}-${randomBytes(4).toString("hex")}`;
    try {
      const env = { HOME: home };
      const created = await run([
        "context",
        "create",
        "--name",
        "rel",
        "--builder",
        "tcp",
        "--builder-address",
        peers.buildkitTcp,
        "--use",
      ], { env });
      assert.equal(created.code, 0, created.stderr);
      const outText = runRelease(rel.dir, ["--image", `${peers.registry}/${repo}:${tag}`], env);
      assert.match(outText, /up to date/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    return { repo, tag };
  })();
  return imageMade;
}

Deno.test("scripts/release --image: envd-lite builds and pushes a FROM scratch amd64+arm64 index; the arm64 image's files run under qemu", async () => {
  const { repo, tag } = await releaseImage();
  const rel = release();
  for (const t of [tag, `${tag}-debug`]) {
    const index = await manifest(repo, t);
    assert.equal(index.status, 200, t);
    const platforms = (index.body as unknown as Index).manifests.map((m) =>
      `${m.platform.os}/${m.platform.architecture}`
    );
    assert.deepEqual(platforms.sort(), ["linux/amd64", "linux/arm64"], t);
  }
  // The arm64 image, unpacked from its layers, is exactly the musl binary, what it links and CA certificates.
  const index = (await manifest(repo, tag)).body as unknown as Index;
  const arm = index.manifests.find((m) => m.platform.architecture === "arm64")!;
  const armManifest = (await manifest(repo, arm.digest)).body as {
    layers: { digest: string }[];
    config: { digest: string };
  };
  const config = JSON.parse((await blob(repo, armManifest.config.digest)).toString());
  assert.deepEqual(config.config.Entrypoint, ["/usr/local/bin/envd-lite"]);
  const dir = tempDir("image-arm64");
  try {
    for (const layer of armManifest.layers) {
      const file = join(dir, "layer.tgz");
      writeFileSync(file, await blob(repo, layer.digest));
      execFileSync("tar", ["-xzf", file, "-C", dir]);
      rmSync(file);
    }
    const files = listTree(dir).sort();
    assert.deepEqual(files.filter((f) => !f.startsWith("/usr/lib/libgcc_s-")), [
      "/etc/ssl/certs/ca-certificates.crt",
      "/lib/ld-musl-aarch64.so.1",
      "/lib/libc.musl-aarch64.so.1",
      "/usr/lib/libgcc_s.so.1",
      "/usr/lib/libstdc++.so.6",
      "/usr/local/bin/envd-lite",
    ]);
    assert.equal(elfMachine(join(dir, "usr/local/bin/envd-lite")), 0xb7);
    const home = join(dir, "root");
    mkdirSync(home, { recursive: true });
    for (const args of [["--version"], ["context", "ls"]]) {
      const r = spawnSync(QEMU, ["-L", dir, join(dir, "usr/local/bin/envd-lite"), ...args], {
        encoding: "utf8",
        env: { HOME: home },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        args[0] === "--version"
          ? new RegExp(`^${versionLine(rel).replace(/[.+]/g, "\\$&")}$`)
          : / default \(current\) /,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("the image, pulled into dockerd, runs the README's docker lines: creates a tcp context, builds and pushes", async () => {
  const { repo, tag } = await releaseImage();
  const ref = `${peers.registry}/${repo}:${tag}`;
  const dir = tempDir("image-run");
  const pushedTag = randomBytes(4).toString("hex");
  try {
    mkdirSync(join(dir, "home"));
    mkdirSync(join(dir, "work"));
    writeFileSync(join(dir, "work/Dockerfile"), "FROM scratch\nCOPY hello.txt /\n");
    writeFileSync(join(dir, "work/hello.txt"), "built inside the envd-lite image\n");
    const r = spawnSync("sh", ["-ec", readmeBlock("docker-run")], {
      cwd: join(dir, "work"),
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: join(dir, "home"),
        DOCKER_HOST: peers.dockerHost,
        REF: ref,
        BUILDKIT_ADDR: peers.buildkitTcp,
        IMAGE: `${peers.registry}/envd-lite-release/from-image:${pushedTag}`,
      },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`pushed ${peers.registry}/envd-lite-release/from-image:${pushedTag}`));
    // The context the container created is in the mounted contexts file.
    assert.match(
      readFileSync(join(dir, "home/.config/envd/contexts.toml"), "utf8"),
      /\[context\.ci\]\nbuilder = "tcp"\nbuilder-address = "127\.0\.0\.1:\d+"/,
    );
    const image = await docker.getImage(ref).inspect();
    assert.equal(image.Architecture, "amd64");
    const m = await manifest("envd-lite-release/from-image", pushedTag);
    assert.equal(m.status, 200);
  } finally {
    await docker.getImage(ref).remove().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The lines of a YAML block scalar or list that follow `key:` at `indent`, dedented. */
function yamlLines(text: string, key: string): string[] {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => new RegExp(`^\\s*(- )?${key}:`).test(l));
  assert.ok(at >= 0, `no ${key}: in ${text.slice(0, 80)}`);
  const indent = lines[at].search(/\S/);
  const body: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() && l.search(/\S/) <= indent) break;
    body.push(l);
  }
  const strip = Math.min(...body.filter((l) => l.trim()).map((l) => l.search(/\S/)));
  return body.map((l) => l.slice(strip)).filter((l, i, a) => l || i < a.length - 1);
}

Deno.test("the README's GitLab job runs in the image's -debug variant: credentials, tcp context, build, push to an htpasswd registry", async () => {
  const { repo, tag } = await releaseImage();
  const ref = `${peers.registry}/${repo}:${tag}-debug`;
  const dir = tempDir("gitlab");
  const sha = randomBytes(4).toString("hex");
  const auth = peers.registryAuth;
  try {
    const job = readmeBlock("gitlab-job");
    assert.match(job, /name: \S+:\d+\.\d+\.\d+-debug\n\s+entrypoint: \[""\]/);
    const script = yamlLines(job, "script").map((l) => l.replace(/^- /, ""));
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY hello.txt /\n");
    writeFileSync(join(dir, "hello.txt"), "from a GitLab job\n");
    const pull = await docker.pull(ref);
    await new Promise<void>((ok, fail) =>
      docker.modem.followProgress(pull, (e: Error | null) => e ? fail(e) : ok())
    );
    // GitLab runs the script with the image's sh in the checked-out project directory, with its CI_* variables.
    const r = await runContainer(docker, {
      image: ref,
      entrypoint: ["/bin/sh", "-ec"],
      cmd: [script.join("\n")],
      workingDir: "/builds/group/app",
      binds: [`${dir}:/builds/group/app`],
      env: [
        `BUILDKIT_ADDR=${peers.buildkitTcp}`,
        `CI_REGISTRY=${auth.address}`,
        `CI_REGISTRY_USER=${auth.user}`,
        `CI_REGISTRY_PASSWORD=${auth.password}`,
        `CI_REGISTRY_IMAGE=${auth.address}/group/app`,
        `CI_COMMIT_SHORT_SHA=${sha}`,
      ],
    });
    assert.equal(r.code, 0, r.logs);
    assert.match(r.logs, new RegExp(`pushed ${auth.address}/group/app:${sha}`));
    assert.doesNotMatch(r.logs, new RegExp(auth.password));
    const res = await fetch(`http://${auth.address}/v2/group/app/manifests/${sha}`, {
      headers: {
        Authorization: `Basic ${btoa(`${auth.user}:${auth.password}`)}`,
        Accept:
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    assert.equal(res.status, 200);
  } finally {
    await docker.getImage(ref).remove().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("action.yml's step and the README's workflow run with RUNNER_TEMP and GITHUB_PATH in a temp dir", async () => {
  const rel = release();
  const server = await serve(rel.dir);
  const dir = tempDir("gha");
  const sha = randomBytes(4).toString("hex");
  try {
    const action = readFileSync(join(ROOT, "action.yml"), "utf8");
    assert.match(action, /using: composite/);
    assert.match(action, /^ {6}shell: sh\n/m);
    const step = yamlLines(action, "run").join("\n");
    assert.match(step, /^set -eu\n/);
    assert.doesNotMatch(step, /\$\{\{/, "inputs must reach the script as environment variables");
    // The step's env: mapping of inputs, with the inputs' defaults, as the runner would evaluate it.
    const defaults = Object.fromEntries(
      [...action.matchAll(/^ {2}([\w-]+):\n(?: {4}.*\n)*? {4}default: (.*)$/gm)].map((
        m,
      ) => [m[1], m[2] === '""' ? "" : m[2]]),
    );
    const inputs: Record<string, string> = {
      ...defaults,
      "base-url": server.url,
      "builder-address": peers.buildkitTcp,
    };
    // github.action_ref: the tag the workflow's `uses:` names, which pins the version installed.
    const context: Record<string, string> = { "github.action_ref": `v${rel.version}` };
    for (const [k, v] of Object.entries(inputs)) context[`inputs.${k}`] = v;
    const stepEnv = Object.fromEntries(
      yamlLines(action, "env").map((l) => /^(\w+): \$\{\{ ([\w.-]+) \}\}$/.exec(l)!).map((m) => {
        assert.ok(m[2] in context, `action.yml's env uses ${m[2]}`);
        return [m[1], context[m[2]]];
      }),
    );
    mkdirSync(join(dir, "runner-temp"));
    mkdirSync(join(dir, "home"));
    mkdirSync(join(dir, "work"));
    writeFileSync(join(dir, "work/Dockerfile"), "FROM scratch\nCOPY hello.txt /\n");
    writeFileSync(join(dir, "work/hello.txt"), "from a GitHub workflow\n");
    const runner = {
      PATH: "/usr/bin:/bin",
      HOME: join(dir, "home"),
      RUNNER_TEMP: join(dir, "runner-temp"),
      GITHUB_PATH: join(dir, "github_path"),
      GITHUB_OUTPUT: join(dir, "github_output"),
      GITHUB_ACTION_PATH: ROOT,
      GITHUB_SHA: sha,
    };
    writeFileSync(runner.GITHUB_PATH, "");
    const installed = spawnSync("sh", ["-e", "-c", step], {
      cwd: join(dir, "work"),
      encoding: "utf8",
      env: { ...runner, ...stepEnv },
    });
    assert.equal(installed.status, 0, installed.stderr);
    const bin = join(dir, "runner-temp/envd-lite/bin");
    assert.equal(readFileSync(runner.GITHUB_PATH, "utf8"), `${bin}\n`);
    assert.equal(readFileSync(runner.GITHUB_OUTPUT, "utf8"), `path=${bin}/envd-lite\n`);
    assert.match(installed.stderr, /Context ci is created/);
    // An action tag naming a release that does not exist fails the step (the pin is honoured, not ignored).
    const refVar = Object.keys(stepEnv).find((k) => stepEnv[k] === context["github.action_ref"])!;
    const unpinned = spawnSync("sh", ["-e", "-c", step], {
      encoding: "utf8",
      env: { ...runner, ...stepEnv, [refVar]: "v9.9.9", RUNNER_TEMP: join(dir, "other-temp") },
    });
    assert.notEqual(unpinned.status, 0);
    assert.match(unpinned.stderr, /lists no envd-lite-9\.9\.9-linux-amd64\.tar\.gz/);

    // The workflow's next step finds envd-lite on the PATH the runner builds from GITHUB_PATH.
    const workflow = readmeBlock("github-workflow");
    assert.match(workflow, /uses: envd-lite\/envd-lite@v\d/);
    const build = /- run: (.*)$/m.exec(workflow)![1];
    const image = `${peers.registry}/envd-lite-release/gha`;
    const r = spawnSync("sh", ["-e", "-c", build], {
      cwd: join(dir, "work"),
      encoding: "utf8",
      env: { ...runner, PATH: `${bin}:${runner.PATH}`, IMAGE: image },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`pushed ${image}:${sha}`));
    assert.equal((await manifest("envd-lite-release/gha", sha)).status, 200);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
