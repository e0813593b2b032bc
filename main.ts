/** Entry point: run the CLI, exit with its code. Ctrl-C aborts the running command and exits 130. */
import { VERSION } from "./lib/version.ts";

const argv = process.argv.slice(2);
// Installed or linked as `envd`, the binary answers as envd (app=envd in logs, `envd …` in usage lines).
const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const prog = base(process.argv0) === "envd" || base(process.execPath) === "envd" ? "envd" : "envd-lite";
// The commonest probe of a freshly downloaded binary answers before any module is evaluated.
if (argv.length === 1 && argv[0] === "--version") {
  process.stdout.write(`${prog} version v${VERSION}\n`);
  process.exit(0);
}

const { allWritten, trackWrites } = await import("./lib/stdio.ts");
trackWrites([process.stdout, process.stderr]);
const { quietRuntimeWarnings } = await import("./lib/warnings.ts");
quietRuntimeWarnings(
  argv.includes("--debug")
    ? (line) =>
      process.stderr.write(`time="${new Date().toISOString()}" level=debug msg=${JSON.stringify(line)}\n`)
    : undefined,
);

const controller = new AbortController();
let interrupts = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    controller.abort();
    // A second Ctrl-C, or a command that ignores the abort, must not keep the user waiting.
    if (++interrupts > 1) process.exit(130);
    setTimeout(() => process.exit(130), 3000).unref();
  });
}
const { runCli } = await import("./lib/cli/mod.ts");
const code = await runCli(argv, { signal: controller.signal, prog });
// Exit explicitly (lingering gRPC channels or child handles must not delay a finished command),
// but only once what was written to stdout and stderr has been flushed.
await allWritten();
process.exit(code);
