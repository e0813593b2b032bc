/**
 * `--ssh` on the compiled binary: a real ssh-agent (Debian's openssh-client) holding a generated key, reached by a
 * `RUN --mount=type=ssh` step that runs ssh-add inside the build (the binary and its libraries copied in).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { busybox, workspace } from "../helpers/build_workspace.ts";

/** ssh-add and the libraries ldd lists, laid out under `root` at their host paths. */
function sshAddRootfs(root: string): void {
  const files = ["/usr/bin/ssh-add"];
  for (const line of execFileSync("ldd", ["/usr/bin/ssh-add"], { encoding: "utf8" }).split("\n")) {
    const m = /(\/\S+) \(0x/.exec(line);
    if (m) files.push(m[1]);
  }
  for (const f of files) {
    mkdirSync(join(root, dirname(f)), { recursive: true });
    copyFileSync(f, join(root, f));
  }
}

async function agent(dir: string): Promise<{ sock: string; stop(): void }> {
  const sock = join(dir, "agent.sock");
  const p = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
  for (let i = 0; i < 100 && !statSync(sock, { throwIfNoEntry: false })?.isSocket(); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return { sock, stop: () => p.kill() };
}

Deno.test("--ssh default forwards $SSH_AUTH_SOCK, --ssh ID=KEY a key file: RUN --mount=type=ssh sees the key", async () => {
  const from = await busybox();
  using w = await workspace({
    "Dockerfile": [
      `FROM ${from}`,
      "COPY rootfs/ /",
      "RUN --mount=type=ssh ssh-add -l > /default.txt",
      "RUN --mount=type=ssh,id=deploy ssh-add -l > /deploy.txt",
      "FROM scratch",
      "COPY --from=0 /default.txt /deploy.txt /",
      "",
    ].join("\n"),
  });
  sshAddRootfs(join(w.dir, "rootfs"));
  const key = (name: string) => {
    const path = join(w.home, name);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path]);
    return { path, fingerprint: execFileSync("ssh-keygen", ["-lf", `${path}.pub`], { encoding: "utf8" }) };
  };
  const a = key("agent-key");
  const b = key("file-key");
  const ag = await agent(w.home);
  try {
    execFileSync("ssh-add", ["-q", a.path], { env: { SSH_AUTH_SOCK: ag.sock }, stdio: "ignore" });
    const out = join(w.home, "out");
    // --no-cache: the steps are the same every run, the keys are not.
    const r = await w.build([
      "--no-cache",
      "--ssh",
      "default",
      "--ssh",
      `deploy=${b.path}`,
      "--output",
      `type=local,dest=${out}`,
    ], {
      env: { SSH_AUTH_SOCK: ag.sock },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(out, "default.txt"), "utf8"), a.fingerprint);
    assert.equal(readFileSync(join(out, "deploy.txt"), "utf8"), b.fingerprint);
  } finally {
    ag.stop();
  }
});
