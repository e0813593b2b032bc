/** The Dockerfile location of a failed build, from the typed details buildkitd attaches to its gRPC status. */
import assert from "node:assert/strict";
import { errorSource, fromStatusDetails } from "./error_source.ts";

// google.rpc.Status{code=1, message=2, details=3: Any{type_url=1, value=2}}, encoded by hand.
function ld(field: number, bytes: Uint8Array): number[] {
  const len: number[] = [];
  for (let n = bytes.length;; n >>= 7) {
    if (n < 128) {
      len.push(n);
      break;
    }
    len.push((n & 0x7f) | 0x80);
  }
  return [(field << 3) | 2, ...len, ...bytes];
}
const any = (type: string, json: unknown) =>
  ld(3, Uint8Array.from([...ld(1, Buffer.from(type)), ...ld(2, Buffer.from(JSON.stringify(json)))]));
const dockerfile = Buffer.from("FROM scratch\nRUN --mount=type=foo echo\n").toString("base64");
const status = Uint8Array.from([
  0x08,
  0x02,
  ...ld(2, Buffer.from('unsupported mount type "foo"')),
  ...any("github.com/moby/buildkit/stack.Stack+json", { frames: [] }),
  ...any("github.com/moby/buildkit/errdefs.Source+json", {
    info: { filename: "Dockerfile", data: dockerfile, language: "Dockerfile" },
    ranges: [{ start: { line: 2 }, end: { line: 2 } }],
  }),
]);

Deno.test("the Source detail gives file, data and line", () => {
  const s = fromStatusDetails(status)!;
  assert.equal(s.info.filename, "Dockerfile");
  assert.equal(s.line, 2);
  assert.equal(Buffer.from(s.info.data).toString().split("\n")[1], "RUN --mount=type=foo echo");
});

Deno.test("found through the error's cause chain and its metadata; absent or broken details give nothing", () => {
  const grpcErr = {
    metadata: { get: (k: string) => (k === "grpc-status-details-bin" ? [Buffer.from(status)] : []) },
  };
  const wrapped = new Error("build failed", { cause: new Error("x", { cause: grpcErr }) });
  assert.equal(errorSource(wrapped)?.line, 2);
  assert.equal(errorSource(new Error("plain")), undefined);
  assert.equal(
    fromStatusDetails(Uint8Array.from([...any("github.com/moby/buildkit/errdefs.Source+json", "{nope")])),
    undefined,
  );
  assert.equal(fromStatusDetails(Uint8Array.from([0x1a, 0x7f, 1])), undefined);
});
