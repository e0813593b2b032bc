/** Go programs under tests/fixtures/, built once per run (from the module cache), run on JSON. */

const tmp = Deno.makeTempDirSync({ prefix: "envd_go_fixture_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** The user's Go build cache if writable (fast), else a private one. */
function goCache(): string {
  const home = Deno.env.get("HOME");
  for (const dir of [Deno.env.get("GOCACHE"), home && `${home}/.cache/go-build`, `${tmp}/gocache`]) {
    if (!dir) continue;
    try {
      Deno.mkdirSync(dir, { recursive: true });
      Deno.writeTextFileSync(`${dir}/.envd_go_probe`, "");
      Deno.removeSync(`${dir}/.envd_go_probe`);
      return dir;
    } catch { /* not writable: try the next */ }
  }
  throw new Error("no writable GOCACHE");
}

const built = new Map<string, Promise<string>>();

/**
 * Builds tests/fixtures/NAME (once) and returns the binary's path. Offline (module cache only) unless `proxy`,
 * for a fixture whose modules the first run may fetch from the Go module proxy.
 */
export function goFixture(name: string, opts: { proxy?: boolean } = {}): Promise<string> {
  let bin = built.get(name);
  if (!bin) {
    bin = (async () => {
      const dir = decodeURIComponent(new URL(`../fixtures/${name}/`, import.meta.url).pathname);
      const out = `${tmp}/${name}`;
      const env: Record<string, string> = { GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local", GOCACHE: goCache() };
      if (!opts.proxy) env.GOPROXY = "off";
      const r = await new Deno.Command("go", { args: ["build", "-o", out, "."], cwd: dir, env }).output();
      if (!r.success) throw new Error(`go build of ${name} failed: ${new TextDecoder().decode(r.stderr)}`);
      return out;
    })();
    built.set(name, bin);
  }
  return bin;
}

/** Runs the fixture `name` with `args`, `input` on stdin; returns its stdout. */
export async function runGoFixture(name: string, input: string, args: string[] = []): Promise<Uint8Array> {
  const child = new Deno.Command(await goFixture(name), {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const output = child.output(); // read while writing, or a full stdout pipe would stall both sides
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(input));
  await w.close();
  const out = await output;
  if (!out.success) throw new Error(`fixture ${name} failed: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}
