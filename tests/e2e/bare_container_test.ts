/**
 * The compiled binary needs no Docker, Node or Deno: it runs in a container made from a bare rootfs (busybox, the
 * binary and the few libc libraries `ldd` lists), reaches the loopback buildkitd and registry over host
 * networking, creates a tcp context, and builds and pushes an image; the manifest is then read back over HTTP.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { dockerApi } from "../../lib/transport/docker_api.ts";
import { daemons } from "../helpers/daemons.ts";
import { BIN } from "../helpers/run.ts";

const peers = daemons();
const { docker } = dockerApi({ DOCKER_HOST: peers.dockerHost });

/** busybox + every applet + the binary + the libraries it links, and a build context at /work/ctx. */
function rootfs(dir: string, dockerfile: string): void {
  for (const d of ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "usr/local/bin", "work/ctx"]) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  chmodSync(join(dir, "tmp"), 0o1777);
  copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  for (
    const applet of execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean)
  ) {
    if (applet !== "busybox") symlinkSync("busybox", join(dir, "bin", applet));
  }
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  copyFileSync(BIN, join(dir, "usr/local/bin/envd-lite"));
  chmodSync(join(dir, "usr/local/bin/envd-lite"), 0o755);
  const libs = execFileSync("ldd", [BIN], { encoding: "utf8" }).match(/\/\S+/g) ?? [];
  for (const lib of libs) {
    mkdirSync(join(dir, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(dir, lib));
  }
  writeFileSync(join(dir, "work/ctx/Dockerfile"), dockerfile);
  writeFileSync(join(dir, "work/ctx/hello.txt"), "from a bare container\n");
}

Deno.test("the binary alone, in a container without Docker, Node or Deno, builds and pushes an image", async () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-bare-"));
  const tag = randomBytes(4).toString("hex");
  const image = `envd-lite-bare:${tag}`;
  const pushed = `${peers.registry}/envd-lite-bare/hello:${tag}`;
  try {
    rootfs(dir, "FROM scratch\nCOPY hello.txt /\n");
    // docker import of the rootfs tarball.
    const tar = spawn("tar", ["-C", dir, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const imported = await docker.importImage(tar.stdout, { repo: "envd-lite-bare", tag });
    await new Promise<void>((ok, fail) =>
      docker.modem.followProgress(imported, (err: Error | null) => (err ? fail(err) : ok()))
    );
    const script = [
      "set -e",
      'for c in docker dockerd node deno bun; do if command -v "$c"; then echo "found $c"; exit 3; fi; done',
      `envd-lite context create --name bare --builder tcp --builder-address ${peers.buildkitTcp} --use`,
      `envd-lite build --path /work/ctx --progress plain --output type=image,name=${pushed},push=true`,
    ].join("\n");
    const container = await docker.createContainer({
      Image: image,
      Cmd: ["/bin/sh", "-c", script],
      Env: ["HOME=/root", "PATH=/usr/local/bin:/bin"],
      HostConfig: { NetworkMode: "host", AutoRemove: false },
    });
    try {
      await container.start();
      const { StatusCode } = await container.wait();
      const logs = (await container.logs({ stdout: true, stderr: true })).toString();
      assert.equal(StatusCode, 0, logs);
      assert.match(logs, new RegExp(`pushed ${pushed}`));
    } finally {
      await container.remove({ force: true });
    }
    const res = await fetch(`http://${peers.registry}/v2/envd-lite-bare/hello/manifests/${tag}`, {
      headers: {
        Accept:
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    assert.equal(res.status, 200);
    const manifest = await res.json();
    assert.equal(manifest.layers.length, 1);
  } finally {
    await docker.getImage(image).remove().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
