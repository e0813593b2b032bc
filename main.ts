/** Entry point: run the CLI, exit with its code. Ctrl-C aborts the running command and exits 130. */
import { runCli } from "./lib/cli/mod.ts";

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
const code = await runCli(process.argv.slice(2), { signal: controller.signal });
process.exitCode = code;
// Lingering handles (gRPC channels, child processes) must not delay a finished command.
setTimeout(() => process.exit(code), 50).unref();
