/**
 * Context upload, buildctl vs envd-lite, against the same buildkitd: a generated big context (~1 GB in ~10k files)
 * and a small one, built alternately several times by each client with no export (`FROM scratch / COPY . /ctx`,
 * cached after the first run, so the upload is what differs). Before every run all files get a new mtime, so the
 * daemon asks for every file again. Prints median wall time, their ratio, upload MB/s (context size over the
 * "load build context" step's duration, from --progress rawjson) and peak RSS (/usr/bin/time) of each client.
 *   scripts/bench-build [--runs N] [--big-mb MB] [--files N] [--addr HOST:PORT]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dirname!, "..");
const { values: opt } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "big-mb": { type: "string", default: "1024" },
    files: { type: "string", default: "10000" },
    addr: { type: "string" },
  },
});
const env = JSON.parse(readFileSync(join(ROOT, ".daemons/env.json"), "utf8"));
const addr: string = opt.addr ?? env.buildkitTcp;
const buildctl: string = env.buildctl;
const runs = Number(opt.runs);

// A private copy: others may be recompiling dist/ meanwhile.
const work = mkdtempSync(join(tmpdir(), "bench-build-"));
const bin = join(work, "envd-lite");
copyFileSync(join(ROOT, "dist/envd-lite"), bin);
const home = join(work, "home");
mkdirSync(home);
execFileSync(bin, [
  "context",
  "create",
  "--name",
  "bench",
  "--builder",
  "tcp",
  "--builder-address",
  addr,
  "--use",
], {
  env: { HOME: home, PATH: process.env.PATH },
  stdio: "ignore",
});

/** A context of `files` files totalling about `mb` MB, made once under .cache/ and reused. */
function context(name: string, mb: number, files: number): { dir: string; bytes: number; count: number } {
  const dir = join(ROOT, ".cache/bench-build", `${name}-${mb}mb-${files}`);
  const stamp = join(dir, ".complete");
  if (!existsSync(stamp)) {
    rmSync(dir, { recursive: true, force: true });
    const per = Math.floor((mb * 1024 * 1024) / files);
    for (let i = 0; i < files; i++) {
      const sub = join(dir, `d${String(i % 100).padStart(3, "0")}`);
      mkdirSync(sub, { recursive: true });
      // Sizes vary ±80 % around the mean; contents are random (nothing compresses).
      const size = Math.max(1, Math.round(per * (0.2 + 1.6 * ((i * 7919) % 1000) / 1000)));
      writeFileSync(join(sub, `f${i}.bin`), randomBytes(size));
    }
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY . /ctx\n");
    writeFileSync(stamp, "");
  }
  let bytes = 0, count = 0;
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else bytes += st.size, count++;
    }
  };
  walk(dir);
  return { dir, bytes, count };
}

function touchAll(dir: string): void {
  const t = new Date();
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else utimesSync(p, t, t);
    }
  };
  walk(dir);
}

interface Sample {
  wall: number;
  rssMb: number;
  uploadS: number;
}

// Duration of the "[internal] load build context" step, from a rawjson progress stream.
function uploadSeconds(rawjson: string): number {
  const v = new Map<string, { started?: string; completed?: string }>();
  for (const line of rawjson.split("\n")) {
    if (!line.startsWith("{")) continue;
    for (const x of JSON.parse(line).vertexes ?? []) {
      if (x.name !== "[internal] load build context") continue;
      v.set(x.digest, {
        ...v.get(x.digest),
        ...(x.started && { started: x.started }),
        ...(x.completed && { completed: x.completed }),
      });
    }
  }
  const d = [...v.values()].find((e) => e.started && e.completed);
  return d ? (Date.parse(d.completed!) - Date.parse(d.started!)) / 1000 : NaN;
}

function once(client: "buildctl" | "envd-lite", dir: string): Sample {
  touchAll(dir);
  const timeFile = join(work, "time");
  const cmd = client === "buildctl"
    ? [
      buildctl,
      "--addr",
      `tcp://${addr}`,
      "build",
      "--frontend",
      "dockerfile.v0",
      "--local",
      `context=${dir}`,
      "--local",
      `dockerfile=${dir}`,
      "--progress",
      "rawjson",
    ]
    : [bin, "build", "--path", dir, "--progress", "rawjson", "--output", "type=cacheonly"];
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", timeFile, ...cmd], {
    env: { HOME: home, PATH: process.env.PATH },
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${client} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return {
    wall,
    rssMb: Number(readFileSync(timeFile, "utf8").trim().split("\n").at(-1)) / 1024,
    uploadS: uploadSeconds(r.stderr),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  const sets = [
    { name: "big", ...context("big", Number(opt["big-mb"]), Number(opt.files)) },
    { name: "small", ...context("small", 1, 50) },
  ];
  const version = execFileSync(buildctl, ["--version"], { encoding: "utf8" }).trim();
  console.log(
    `buildkitd tcp://${addr}; ${version}; envd-lite ${
      execFileSync(bin, ["--version"], { encoding: "utf8" }).trim()
    }`,
  );
  for (const set of sets) {
    console.log(
      `\n${set.name}: ${
        (set.bytes / 1e6).toFixed(1)
      } MB in ${set.count} files, ${runs} runs each, alternating`,
    );
    // One unmeasured run each: the first build of a context also fills the daemon's cache.
    once("buildctl", set.dir);
    once("envd-lite", set.dir);
    const samples: Record<string, Sample[]> = { buildctl: [], "envd-lite": [] };
    for (let i = 0; i < runs; i++) {
      for (
        const c
          of (i % 2 ? ["envd-lite", "buildctl"] : ["buildctl", "envd-lite"]) as ("buildctl" | "envd-lite")[]
      ) {
        const s = once(c, set.dir);
        samples[c].push(s);
        console.log(
          `  ${c.padEnd(9)} run ${i + 1}: ${s.wall.toFixed(2)} s, upload ${
            s.uploadS.toFixed(2)
          } s, peak RSS ${s.rssMb.toFixed(0)} MB`,
        );
      }
    }
    const row = (c: string) => {
      const s = samples[c];
      const up = median(s.map((x) => x.uploadS));
      return {
        wall: median(s.map((x) => x.wall)),
        mbps: set.bytes / 1e6 / up,
        rssMedian: median(s.map((x) => x.rssMb)),
        rssMax: Math.max(...s.map((x) => x.rssMb)),
      };
    };
    const a = row("buildctl"), b = row("envd-lite");
    const fmt = (n: string, r: ReturnType<typeof row>) =>
      `  ${n.padEnd(9)} median ${r.wall.toFixed(2)} s, upload ${r.mbps.toFixed(0)} MB/s, peak RSS median ${
        r.rssMedian.toFixed(0)
      } MB (max ${r.rssMax.toFixed(0)} MB)`;
    console.log(fmt("buildctl", a));
    console.log(fmt("envd-lite", b));
    console.log(`  ratio envd-lite/buildctl wall time: ${(b.wall / a.wall).toFixed(2)}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
