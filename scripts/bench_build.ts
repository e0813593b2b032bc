/**
 * Builds side by side against the same buildkitd: envd-lite, buildx v0.38.2 (remote driver, its config in a
 * temporary DOCKER_CONFIG) and buildctl, alternating who goes first. Two kinds of work, each `FROM scratch` +
 * `COPY . /ctx` with no export (`type=cacheonly`; buildctl: no --output):
 *  - a small cached build: 50 files, `--progress quiet`, every file unchanged (process start to exit);
 *  - uploads: generated contexts (300 MB / 3,000 files, 1 GB / 10,000 files, with --3g also 3 GB / 30,000
 *    files), every file touched before each run so the daemon asks for all of it again.
 * Prints each run, then one table of medians (wall time, upload MB/s from the "load build context" step of
 * --progress rawjson, peak RSS from /usr/bin/time) and the ratios of envd-lite's medians to each peer's.
 *   scripts/bench-build [--runs N] [--small-runs N] [--3g] [--only small,300mb,1gb,3gb] [--addr HOST:PORT]
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
import { cpus, freemem, loadavg, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dirname!, "..");
const { values: opt } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "small-runs": { type: "string", default: "11" },
    "3g": { type: "boolean", default: false },
    only: { type: "string" },
    addr: { type: "string" },
  },
});
const env = JSON.parse(readFileSync(join(ROOT, ".daemons/env.json"), "utf8"));
const addr: string = opt.addr ?? env.buildkitTcp;
const buildctl: string = env.buildctl;
const buildxBin = join(ROOT, ".cache/bin/buildx");
if (!existsSync(buildxBin)) throw new Error(`${buildxBin} missing: run scripts/install_peers`);

type Client = "envd-lite" | "buildx" | "buildctl";
const CLIENTS: Client[] = ["envd-lite", "buildx", "buildctl"];

// A private copy: others may be recompiling dist/ meanwhile.
const work = mkdtempSync(join(tmpdir(), "bench-build-"));
const bin = join(work, "envd-lite");
copyFileSync(join(ROOT, "dist/envd-lite"), bin);
const home = join(work, "home");
mkdirSync(home);
const baseEnv = {
  HOME: home,
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  DOCKER_CONFIG: join(work, "docker"),
};
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
  env: baseEnv,
  stdio: "ignore",
});
execFileSync(buildxBin, ["create", "--name", "bench", "--driver", "remote", `tcp://${addr}`], {
  env: baseEnv,
  stdio: "ignore",
});

interface Work {
  name: string;
  dir: string;
  bytes: number;
  count: number;
  small: boolean;
}

/** A context of `files` files totalling about `mb` MB, made once under .cache/ and reused. */
function context(name: string, mb: number, files: number, small: boolean): Work {
  const dir = join(ROOT, ".cache/bench-build", `${small ? "small" : "big"}-${mb}mb-${files}`);
  const stamp = join(dir, ".complete");
  if (!existsSync(stamp)) {
    console.log(`generating ${dir} ...`);
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
  for (const p of listFiles(dir)) bytes += statSync(p).size, count++;
  return { name, dir, bytes, count, small };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

function touchAll(dir: string): void {
  const t = new Date();
  for (const p of listFiles(dir)) utimesSync(p, t, t);
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

function command(client: Client, set: Work): string[] {
  const progress = set.small ? "quiet" : "rawjson";
  switch (client) {
    case "envd-lite":
      return [bin, "build", "--path", set.dir, "--progress", progress, "--output", "type=cacheonly"];
    case "buildx":
      return [
        buildxBin,
        "build",
        "--builder",
        "bench",
        "--progress",
        progress,
        "--output",
        "type=cacheonly",
        set.dir,
      ];
    case "buildctl":
      return [
        buildctl,
        "--addr",
        `tcp://${addr}`,
        "build",
        "--frontend",
        "dockerfile.v0",
        "--local",
        `context=${set.dir}`,
        "--local",
        `dockerfile=${set.dir}`,
        "--progress",
        progress,
      ];
  }
}

function once(client: Client, set: Work): Sample {
  if (!set.small) touchAll(set.dir);
  const timeFile = join(work, "time");
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", timeFile, ...command(client, set)], {
    env: baseEnv,
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${client} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return {
    wall,
    rssMb: Number(readFileSync(timeFile, "utf8").trim().split("\n").at(-1)) / 1024,
    uploadS: set.small ? NaN : uploadSeconds(r.stderr),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

try {
  const all = [
    context("small cached build (50 files)", 1, 50, true),
    context("upload 300 MB / 3,000 files", 300, 3000, false),
    context("upload 1 GB / 10,000 files", 1024, 10000, false),
    ...(opt["3g"] ? [context("upload 3 GB / 30,000 files", 3072, 30000, false)] : []),
  ];
  const keys = ["small", "300mb", "1gb", "3gb"];
  const only = opt.only?.split(",");
  const sets = all.filter((_, i) => !only || only.includes(keys[i]));
  const version = (b: string, ...a: string[]) =>
    execFileSync(b, a, { encoding: "utf8", env: baseEnv }).trim();
  console.log(`buildkitd tcp://${addr}`);
  console.log(
    `${version(bin, "--version")}; ${version(buildxBin, "version")}; ${version(buildctl, "--version")}`,
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${
      (totalmem() / 2 ** 30).toFixed(0)
    } GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} free); load average at start ${load()}`,
  );
  const rows: string[] = [];
  for (const set of sets) {
    const runs = Number(set.small ? opt["small-runs"] : opt.runs);
    console.log(
      `\n${set.name}: ${
        (set.bytes / 1e6).toFixed(1)
      } MB in ${set.count} files, ${runs} runs each, alternating`,
    );
    // One unmeasured run each: the first build of a context also fills the daemon's cache.
    for (const c of CLIENTS) once(c, set);
    const samples: Record<Client, Sample[]> = { "envd-lite": [], buildx: [], buildctl: [] };
    for (let i = 0; i < runs; i++) {
      // Rotate who goes first, so nobody always runs on the warmest cache.
      const order = CLIENTS.map((_, k) => CLIENTS[(i + k) % CLIENTS.length]);
      const line: string[] = [];
      for (const c of order) {
        const s = once(c, set);
        samples[c].push(s);
        line.push(
          `${c} ${set.small ? `${(s.wall * 1000).toFixed(0)} ms` : `${s.wall.toFixed(2)} s`} ${
            s.rssMb.toFixed(0)
          } MB`,
        );
      }
      console.log(`  run ${i + 1}: ${line.join(", ")}`);
    }
    const m = (c: Client) => ({
      wall: median(samples[c].map((x) => x.wall)),
      rss: median(samples[c].map((x) => x.rssMb)),
      rssMax: Math.max(...samples[c].map((x) => x.rssMb)),
      mbps: set.bytes / 1e6 / median(samples[c].map((x) => x.uploadS)),
    });
    const [l, x, b] = CLIENTS.map(m);
    const wall = (r: ReturnType<typeof m>) =>
      set.small ? `${(r.wall * 1000).toFixed(0)} ms` : `${r.wall.toFixed(2)} s`;
    const cell = (r: ReturnType<typeof m>) =>
      `${wall(r)}, ${r.rss.toFixed(0)} MB${
        set.small ? "" : ` (max ${r.rssMax.toFixed(0)}), ${r.mbps.toFixed(0)} MB/s`
      }`;
    const ratio = (a: number, z: number) => `${(a / z).toFixed(2)}×`;
    rows.push(
      `| ${set.name} | ${cell(l)} | ${cell(x)} | ${cell(b)} | ${ratio(l.wall, x.wall)} / ${
        ratio(l.rss, x.rss)
      } | ${ratio(l.wall, b.wall)} / ${ratio(l.rss, b.rss)} |`,
    );
  }
  console.log(`\nmedians; load average at end ${load()}`);
  console.log(
    "| work | envd-lite | buildx (remote driver) | buildctl | vs buildx: wall / RSS | vs buildctl: wall / RSS |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
} finally {
  rmSync(work, { recursive: true, force: true });
}
