import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DEFAULT_BUILDKIT_IMAGE, imageFor } from "./image.ts";

Deno.test("the default image is the BuildKit version pinned in scripts/install_peers", () => {
  const script = readFileSync(new URL("../../scripts/install_peers", import.meta.url), "utf8");
  const pinned = /^BUILDKIT_VERSION=(\S+)/m.exec(script)?.[1];
  assert.ok(pinned, "scripts/install_peers has no BUILDKIT_VERSION= line");
  assert.equal(DEFAULT_BUILDKIT_IMAGE, `moby/buildkit:${pinned}`);
});

Deno.test("imageFor: flag, then [daemon].image, then the pinned default or its rootless variant", () => {
  assert.equal(imageFor(undefined), DEFAULT_BUILDKIT_IMAGE);
  assert.equal(imageFor({ rootless: true }), `${DEFAULT_BUILDKIT_IMAGE}-rootless`);
  assert.equal(imageFor({ image: "my/bk:1", rootless: true }), "my/bk:1");
  assert.equal(imageFor({ image: "my/bk:1" }, "other/bk:2"), "other/bk:2");
});
