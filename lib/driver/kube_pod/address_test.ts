import assert from "node:assert/strict";
import { kubectlArgs, parseKubePodAddress } from "./address.ts";

Deno.test("parseKubePodAddress accepts buildctl's kube-pod forms", () => {
  const cases: [string, unknown][] = [
    ["buildkitd-0", { pod: "buildkitd-0" }],
    ["kube-pod://buildkitd-0", { pod: "buildkitd-0" }],
    ["bk.v1?namespace=ci", { pod: "bk.v1", namespace: "ci" }],
    ["bk?namespace=ci&context=Prod_EU@admin&container=buildkitd", {
      pod: "bk",
      namespace: "ci",
      context: "Prod_EU@admin",
      container: "buildkitd",
    }],
    ["bk?namespace=", { pod: "bk" }],
  ];
  for (const [address, want] of cases) assert.deepEqual(parseKubePodAddress(address), want, address);
});

Deno.test("parseKubePodAddress names the part that is wrong", () => {
  const cases: [string, RegExp][] = [
    ["", /missing pod name/],
    ["?namespace=ci", /missing pod name/],
    ["BuildKit", /pod "BuildKit" must match/],
    ["bk?namespace=CI", /namespace "CI" must match/],
    ["bk?container=build_kit", /container "build_kit" must match/],
    ["bk?ns=ci", /unknown parameter "ns"/],
    ["bk;rm -rf /", /pod "bk;rm -rf \/" must match/],
  ];
  for (const [address, want] of cases) {
    assert.throws(() => parseKubePodAddress(address), (err: Error) => {
      assert.match(err.message, /^invalid kube-pod builder address "/);
      assert.match(err.message, want);
      return true;
    }, address);
  }
});

Deno.test("kubectlArgs keeps BuildKit's order and leaves out what is unset", () => {
  assert.deepEqual(kubectlArgs({ pod: "bk" }), ["exec", "-i", "bk", "--", "buildctl", "dial-stdio"]);
  assert.deepEqual(
    kubectlArgs({ pod: "bk", namespace: "ci", context: "prod", container: "c" }),
    ["--context=prod", "--namespace=ci", "exec", "--container=c", "-i", "bk", "--", "buildctl", "dial-stdio"],
  );
});
