/** Real Go gob bytes for tests: tests/fixtures/envd_gob built once per run (encoding/gob itself, not a model of it). */
/** A types.EnvdContext as the fixture's JSON input (RunnerAddress null = nil pointer). */
export interface GoContext {
  Name: string;
  Builder: string;
  BuilderAddress: string;
  Runner: string;
  RunnerAddress: string | null;
}
export interface GoEnvdContext {
  Current: string;
  Contexts: GoContext[] | null;
}

const fixtureDir = decodeURIComponent(new URL("../fixtures/envd_gob/", import.meta.url).pathname);
const tmp = Deno.makeTempDirSync({ prefix: "envd_gob_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** The user's Go build cache if writable (fast), else a private one. */
function goCache(): string {
  const home = Deno.env.get("HOME");
  for (const dir of [Deno.env.get("GOCACHE"), home && `${home}/.cache/go-build`, `${tmp}/gocache`]) {
    if (!dir) continue;
    try {
      Deno.mkdirSync(dir, { recursive: true });
      Deno.writeTextFileSync(`${dir}/.envd_gob_probe`, "");
      Deno.removeSync(`${dir}/.envd_gob_probe`);
      return dir;
    } catch { /* not writable: try the next */ }
  }
  throw new Error("no writable GOCACHE");
}

const goEnv = { GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local", GOPROXY: "off", GOCACHE: goCache() };
let built: Promise<string> | undefined;
export function fixtureBin(): Promise<string> {
  built ??= (async () => {
    const bin = `${tmp}/envdgobfixture`;
    const out = await new Deno.Command("go", { args: ["build", "-o", bin, "."], cwd: fixtureDir, env: goEnv })
      .output();
    if (!out.success) throw new Error(`go build failed: ${new TextDecoder().decode(out.stderr)}`);
    return bin;
  })();
  return built;
}

/** Gob-encodes `value` with Go; mode "extra" adds unknown fields, "reordered" permutes the known ones. */
export async function gob(value: GoEnvdContext, mode = "plain"): Promise<Uint8Array> {
  const child = new Deno.Command(await fixtureBin(), {
    args: [mode],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const output = child.output(); // read while writing, or a full stdout pipe would stall both sides
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(value)));
  await w.close();
  const out = await output;
  if (!out.success) throw new Error(`fixture failed: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}
