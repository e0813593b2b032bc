import assert from "node:assert/strict";
import { keysWithoutEffect } from "./effect.ts";
import { validateText } from "./validate.ts";

const ctx = (body: string) => validateText(`current = "c"\n[context.c]\n${body}`, "f.toml").model.contexts[0];

Deno.test("keysWithoutEffect: a daemon envd-lite does not run takes only the worker GC keys; managed ones take all", () => {
  const remote = ctx(
    'builder = "tcp"\ndebug = true\n[context.c.worker.oci]\ngc = true\nsnapshotter = "native"\n[context.c.registry."r"]\nhttp = true\n[context.c.daemon]\n',
  );
  assert.deepEqual(keysWithoutEffect(remote), [
    "debug, worker.oci.snapshotter, registry: no effect for builder tcp, whose daemon envd-lite does not run " +
    "(they apply to `envd-lite serve` and `context buildkitd-toml`; `prune` uses only the worker GC keys)",
    "daemon: no effect for builder tcp (only docker-container and unix are managed)",
  ]);
  assert.deepEqual(
    keysWithoutEffect(ctx('builder = "tcp"\n[context.c.worker.containerd]\ngc = false\n')),
    [],
  );
  assert.deepEqual(
    keysWithoutEffect(
      ctx('builder = "unix"\ndebug = true\n[context.c.daemon]\n[context.c.worker.containerd]\n'),
    ),
    [],
  );
  assert.deepEqual(keysWithoutEffect(ctx('builder = "docker-container"\n[context.c.worker.containerd]\n')), [
    "worker.containerd: no effect for builder docker-container (its container has no containerd)",
  ]);
});
