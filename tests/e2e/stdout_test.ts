/**
 * Output on a pipe is complete when the process exits: the binary exits explicitly once its commands are done,
 * and Bun runs an empty write's callback before earlier data is out, which cut large outputs at 64 KiB.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MODES, run, tempHome } from "../helpers/run.ts";

for (const mode of MODES) {
  Deno.test(`context ls -f json of 3000 contexts (~300 KB) reaches a pipe whole (${mode})`, async () => {
    const h = tempHome();
    try {
      const file = join(h.home, "contexts.toml");
      let toml = 'current = "c0"\n';
      for (let i = 0; i < 3000; i++) {
        toml += `[context.c${i}]\nbuilder = "tcp"\nbuilder-address = "127.0.0.1:${1000 + i}"\n`;
      }
      writeFileSync(file, toml);
      const r = await run(["--contexts-file", file, "context", "ls", "-f", "json"], { env: h.env, mode });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.length > 128 * 1024, `only ${r.stdout.length} bytes`);
      const list = JSON.parse(r.stdout) as { context: string }[];
      assert.equal(list.length, 3000);
      assert.equal(list.at(-1)!.context, "c2999");
    } finally {
      h.cleanup();
    }
  });
}
