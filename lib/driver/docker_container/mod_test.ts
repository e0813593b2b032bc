import assert from "node:assert/strict";
import { parseContainerName } from "./mod.ts";

Deno.test("parseContainerName takes a Docker container name, with or without buildctl's prefix", () => {
  assert.equal(parseContainerName("envd_buildkitd"), "envd_buildkitd");
  assert.equal(parseContainerName("docker-container://bk.1-a"), "bk.1-a");
  assert.equal(parseContainerName("/envd_buildkitd"), "envd_buildkitd");
});

Deno.test("parseContainerName refuses what Docker would refuse", () => {
  for (const bad of ["", "-bk", "bk name", "bk/x", "docker-container://"]) {
    assert.throws(
      () => parseContainerName(bad),
      /invalid docker-container builder address .*want a container name/,
      bad,
    );
  }
});
