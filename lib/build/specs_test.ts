/** --output / --import-cache / --export-cache / --build-arg parsing: buildctl's and envd's forms. */
import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { parseBuildArgs, parseCache, parseOutput, splitCsv } from "./specs.ts";

Deno.test("outputs: buildctl's form, envd's short form, buildx's registry, and client-side dest", () => {
  assert.deepEqual(parseOutput("type=image,name=r/i:t,push=true,registry.insecure=true"), {
    type: "image",
    attrs: { name: "r/i:t", push: "true", "registry.insecure": "true" },
  });
  assert.deepEqual(parseOutput("type=image,r/i:t,push=true"), {
    type: "image",
    attrs: { name: "r/i:t", push: "true" },
  });
  assert.deepEqual(parseOutput("type=registry,name=r/i:t"), {
    type: "image",
    attrs: { name: "r/i:t", push: "true" },
  });
  assert.deepEqual(parseOutput("type=docker"), { type: "docker", attrs: {}, load: true });
  assert.deepEqual(parseOutput("type=docker,name=x:1,dest=/tmp/x.tar"), {
    type: "docker",
    attrs: { name: "x:1" },
    dest: "/tmp/x.tar",
  });
  assert.deepEqual(parseOutput("type=oci,dest=-"), { type: "oci", attrs: {}, dest: "-" });
  assert.deepEqual(parseOutput("type=tar,dest=out.tar"), { type: "tar", attrs: {}, dest: "out.tar" });
  assert.deepEqual(parseOutput("type=local,dest=out"), { type: "local", attrs: {}, dest: "out" });
  assert.deepEqual(parseOutput('type=image,"name=a,b",push=true'), {
    type: "image",
    attrs: { name: "a,b", push: "true" },
  });
  assert.deepEqual(parseOutput("type=cacheonly"), { type: "cacheonly", attrs: {} });
});

Deno.test("outputs: mistakes are usage errors naming the value", () => {
  for (
    const bad of [
      "name=x",
      "type=nope",
      "type=local",
      "type=local,dest=-",
      "type=oci",
      "type=image,a,b",
      "type=image,a,name=b",
      "type=image,dest=x",
      'type=image,"name=x',
    ]
  ) {
    assert.throws(
      () => parseOutput(bad),
      (e: Error) => e instanceof UsageError && e.message.includes(bad),
      bad,
    );
  }
});

Deno.test("cache specs: buildctl's form, a bare ref, and what cannot be served", () => {
  assert.deepEqual(parseCache("import-cache", "type=registry,ref=r/i:cache"), {
    type: "registry",
    attrs: { ref: "r/i:cache" },
  });
  assert.deepEqual(parseCache("import-cache", "r/i:cache"), {
    type: "registry",
    attrs: { ref: "r/i:cache" },
  });
  assert.deepEqual(parseCache("export-cache", "type=inline"), { type: "inline", attrs: {} });
  assert.deepEqual(parseCache("export-cache", "type=registry,ref=r/c,mode=max"), {
    type: "registry",
    attrs: { ref: "r/c", mode: "max" },
  });
  assert.deepEqual(parseCache("import-cache", "type=local,src=d"), { type: "local", attrs: { src: "d" } });
  assert.throws(() => parseCache("cache-from", "type=local"), /--cache-from .*src=DIR/);
  assert.throws(() => parseCache("import-cache", "type=inline"), /type=registry/);
  assert.throws(() => parseCache("export-cache", "type=registry"), /ref=/);
});

Deno.test("build args: K=V, and a bare K from the environment (skipped when unset)", () => {
  assert.deepEqual(parseBuildArgs(["A=1", "B=x=y", "C=", "HOME", "UNSET"], { HOME: "/root" }), {
    A: "1",
    B: "x=y",
    C: "",
    HOME: "/root",
  });
  assert.throws(() => parseBuildArgs(["=v"], {}), UsageError);
});

Deno.test("splitCsv: quotes protect commas, doubled quotes are one", () => {
  assert.deepEqual(splitCsv('a,"b,c",d'), ["a", "b,c", "d"]);
  assert.deepEqual(splitCsv('"x""y"'), ['x"y']);
});
