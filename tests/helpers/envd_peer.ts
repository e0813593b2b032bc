/** The real envd v1.3.4 (built by scripts/install_peers into .cache/bin) as a test peer of the context commands. */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Result, ROOT, run } from "./run.ts";

export const ENVD_BIN = join(ROOT, ".cache/bin/envd");
export const GOLDEN_PATH = join(ROOT, "tests/fixtures/context_ls_envd.golden");

/** The commands whose `context ls` the golden file holds (scripts/gen_envd_golden runs them through envd). */
export const GOLDEN_STEPS: string[][] = [
  "context create --name demo --builder tcp --builder-address 1.2.3.4:8888 --runner envd-server --runner-address http://localhost:8080",
  "context create --name x --builder unix --builder-address /run/b.sock",
  "context create --name k8s --builder kube-pod --builder-address bk?namespace=ci --use",
  "context create --name nerd --builder nerdctl-container --builder-address nerd_bk",
  "context create --name dc --builder docker-container",
].map((line) => line.split(" "));

/** envd-lite's contexts file holding what a fresh envd install has (envd's default is not the seed's). */
export const ENVD_FRESH_TOML =
  'current = "default"\n\n[context.default]\nbuilder = "moby-worker"\nbuilder-address = "envd_buildkitd"\nrunner = "docker"\n';

/** Seeds a HOME for envd-lite with envd's fresh state. */
export function seedLite(home: string): void {
  mkdirSync(join(home, ".config/envd"), { recursive: true });
  writeFileSync(join(home, ".config/envd/contexts.toml"), ENVD_FRESH_TOML);
}

const made: string[] = [];
globalThis.addEventListener("unload", () => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** A temporary directory removed when the test run ends. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

let template: string | undefined;
/** A fresh HOME for envd: a copy of one where envd has run once (its first run makes an SSH key, ~1 s). */
export async function envdHome(): Promise<string> {
  if (!template) {
    template = tempDir("envd-peer-template-");
    const r = await runEnvd(template, ["context", "ls"]);
    if (r.code !== 0) throw new Error(`envd did not run: ${r.stderr}`);
  }
  const home = tempDir("envd-peer-");
  cpSync(template, home, { recursive: true });
  return home;
}

/** Runs the real envd in `home` (cwd there too), analytics off: it would phone home otherwise. */
export function runEnvd(home: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  if (!existsSync(ENVD_BIN)) throw new Error(`${ENVD_BIN} is missing: run scripts/install_peers`);
  return run(args, { exe: ENVD_BIN, cwd: home, env: { HOME: home, ENVD_ANALYTICS: "false", ...env } });
}
