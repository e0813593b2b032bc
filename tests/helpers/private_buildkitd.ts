/** A throw-away buildkitd of the test's own (fresh cache, killable), on a loopback port. */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daemons } from "./daemons.ts";

/** A running private daemon. */
export interface PrivateBuildkitd {
  /** `127.0.0.1:PORT`. */
  address: string;
  pid: number;
  /** SIGKILL it (as a crash would) and wait for it to be gone. */
  kill(): Promise<void>;
  /** Stop it if still running and remove its state. */
  stop(): Promise<void>;
}

function containerPids(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/root`).startsWith(dir)) pids.push(Number(name));
    } catch { /* exited, or not ours to read */ }
  }
  return pids;
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Start buildkitd (OCI worker, empty config, `flags` added) and wait until `buildctl debug workers` answers. */
export async function startPrivateBuildkitd(flags: string[] = []): Promise<PrivateBuildkitd> {
  const peers = daemons();
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-bk-"));
  writeFileSync(join(dir, "buildkitd.toml"), "");
  const address = `127.0.0.1:${await freePort()}`;
  const child = new Deno.Command(peers.buildkitd, {
    args: [
      "--config",
      join(dir, "buildkitd.toml"),
      "--root",
      join(dir, "root"),
      "--otel-socket-path",
      join(dir, "otel.sock"),
      "--containerd-worker=false",
      "--oci-worker=true",
      "--addr",
      `tcp://${address}`,
      ...flags,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = child.status;
  let exited = false;
  status.then(() => (exited = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const out = await new Deno.Command(peers.buildctl, {
      args: ["--addr", `tcp://${address}`, "debug", "workers"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (out.success) break;
    if (exited || Date.now() > deadline) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`private buildkitd did not start at ${address}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const kill = async () => {
    if (!exited) child.kill("SIGKILL");
    await status;
  };
  return {
    address,
    pid: child.pid,
    kill,
    async stop() {
      await kill();
      // Build containers it started may outlive a killed daemon: end those whose root is in its state dir.
      for (const pid of containerPids(dir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch { /* gone already */ }
      }
      // ...and the mounts it left (snapshots, container roots), deepest first.
      const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "")
        .filter((m) => m.startsWith(dir)).sort((a, b) => b.length - a.length);
      for (const m of mounts) await new Deno.Command("umount", { args: ["-l", m], stderr: "null" }).output();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
