/**
 * Process start to exit of `--version`, `context ls` and `context use`, envd-lite against the real envd v1.3.4,
 * each in its own HOME holding the same three contexts, run alternately. Prints the median wall time and median
 * peak RSS (/usr/bin/time) of each, and the ratios of the medians.
 *   scripts/bench-cli [--runs N] [--envd PATH]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dirname!, "..");
const { values: opt } = parseArgs({
  options: { runs: { type: "string", default: "31" }, envd: { type: "string" } },
});
const runs = Number(opt.runs);
const envdBin = opt.envd ?? join(ROOT, ".cache/bin/envd");
if (!existsSync(envdBin)) throw new Error(`${envdBin} missing: run scripts/install_peers`);

const work = mkdtempSync(join(tmpdir(), "bench-cli-"));
// A private copy: others may be recompiling dist/ meanwhile.
const lite = join(work, "envd-lite");
copyFileSync(join(ROOT, "dist/envd-lite"), lite);

interface Client {
  name: string;
  bin: string;
  env: Record<string, string>;
}
const clients: Client[] = [lite, envdBin].map((bin, i) => ({
  name: i === 0 ? "envd-lite" : "envd v1.3.4",
  bin,
  // Analytics off: envd would otherwise post to its telemetry service on every run (and no network is here).
  env: {
    HOME: mkdtempSync(join(work, "home-")),
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    ENVD_ANALYTICS: "false",
  },
}));
for (const c of clients) {
  for (
    const [name, builder, address] of [["a", "tcp", "10.0.0.1:1234"], ["b", "unix", "/run/b.sock"], [
      "c",
      "tcp",
      "h:2",
    ]]
  ) {
    execFileSync(c.bin, [
      "context",
      "create",
      "--name",
      name,
      "--builder",
      builder,
      "--builder-address",
      address,
    ], {
      env: c.env,
      stdio: "ignore",
    });
  }
}

// envd has no --version flag: its `version` command is the nearest probe.
const WORK: [string, string[], string[]][] = [
  ["--version (envd: version)", ["--version"], ["version"]],
  ["context ls", ["context", "ls"], ["context", "ls"]],
  ["context use", ["context", "use", "--name", "b"], ["context", "use", "--name", "b"]],
];

function wallMs(c: Client, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.bin, args, { env: c.env, stdio: "ignore" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.name} ${args.join(" ")} exited ${r.status}`);
  return ms;
}

function peakKb(c: Client, args: string[]): number {
  const r = spawnSync("/usr/bin/time", ["-f", "%M", c.bin, ...args], { env: c.env, encoding: "utf8" });
  return Number(r.stderr.trim().split("\n").at(-1));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`# ${runs} runs each, alternating; ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`);
console.log("| work | envd-lite ms | envd ms | ratio | envd-lite MB | envd MB | ratio |");
console.log("|---|---|---|---|---|---|---|");
for (const [label, ...argsOf] of WORK) {
  const wall: number[][] = [[], []];
  const rss: number[][] = [[], []];
  for (let i = 0; i < runs; i++) {
    // Alternate who goes first, so neither always runs on a warmer cache.
    const order = i % 2 ? [1, 0] : [0, 1];
    for (const k of order) wall[k].push(wallMs(clients[k], argsOf[k]));
    for (const k of order) rss[k].push(peakKb(clients[k], argsOf[k]));
  }
  const [wl, we] = wall.map(median);
  const [rl, re] = rss.map(median).map((kb) => kb / 1024);
  console.log(
    `| ${label} | ${wl.toFixed(1)} | ${we.toFixed(1)} | ${(wl / we).toFixed(2)} | ${rl.toFixed(0)} | ${
      re.toFixed(0)
    } | ${(rl / re).toFixed(2)} |`,
  );
}
rmSync(work, { recursive: true, force: true });
