import assert from "node:assert/strict";
import { nerdctlArgs, parseNerdctlAddress } from "./mod.ts";

Deno.test("parseNerdctlAddress accepts a container name with an optional namespace", () => {
  assert.deepEqual(parseNerdctlAddress("buildkitd"), { container: "buildkitd" });
  assert.deepEqual(parseNerdctlAddress("nerdctl-container://bk_1.a"), { container: "bk_1.a" });
  assert.deepEqual(parseNerdctlAddress("bk?namespace=k8s.io"), { container: "bk", namespace: "k8s.io" });
});

Deno.test("parseNerdctlAddress names the part that is wrong", () => {
  const cases: [string, RegExp][] = [
    ["", /missing container name/],
    ["-bk", /container "-bk" must match/],
    ["bk?namespace=a..b", /namespace "a..b" must match/],
    ["bk?context=x", /unknown parameter "context"/],
  ];
  for (const [address, want] of cases) {
    assert.throws(() => parseNerdctlAddress(address), (err: Error) => {
      assert.match(err.message, /^invalid nerdctl-container builder address "/);
      assert.match(err.message, want);
      return true;
    }, address);
  }
});

Deno.test("nerdctlArgs matches BuildKit's nerdctl-container helper", () => {
  assert.deepEqual(nerdctlArgs({ container: "bk" }), ["exec", "-i", "bk", "buildctl", "dial-stdio"]);
  assert.deepEqual(nerdctlArgs({ container: "bk", namespace: "ns" }), [
    "exec",
    "--namespace",
    "ns",
    "-i",
    "bk",
    "buildctl",
    "dial-stdio",
  ]);
});
