import assert from "node:assert/strict";
import { toJson } from "@bufbuild/protobuf";
import { StatusResponseSchema } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import { at, log, msg, status, vertex, warning } from "../../tests/helpers/status.ts";
import { formatRawJson, formatTime, parseRawJson, parseTime, RawJsonRenderer } from "./rawjson.ts";

Deno.test("formatRawJson() writes buildctl's SolveStatus shape: omitted empties, RFC 3339 times, base64 bytes", () => {
  const m = msg({
    vertexes: [
      vertex("sha256:aa", "[1/2] FROM x", {
        started: 0.5,
        completed: 12,
        cached: true,
        inputs: ["sha256:bb"],
      }),
      vertex("sha256:cc", "[2/2] COPY --link a /a", {
        group: { id: "g", name: "[2/2] COPY --link a /a", weak: true },
      }),
    ],
    statuses: [status("sha256:aa", "resolve x", { ts: 3, started: 1, name: "resolve", current: 0 })],
    logs: [log("sha256:aa", 4, "hi <b>&\n", 2), log("sha256:aa", 5, "")],
    warnings: [
      warning("sha256:aa", "W (line 1)", {
        detail: ["d"],
        url: "https://u",
        source: "FROM x\n",
        lines: [[1, 1]],
      }),
    ],
  });
  assert.equal(
    formatRawJson(m),
    '{"vertexes":[{"digest":"sha256:aa","inputs":["sha256:bb"],"name":"[1/2] FROM x",' +
      '"started":"2023-11-14T22:13:20.0005Z","completed":"2023-11-14T22:13:20.012Z","cached":true},' +
      '{"digest":"sha256:cc","name":"[2/2] COPY --link a /a","progressGroup":{"id":"g","name":"[2/2] COPY --link a /a","weak":true}}],' +
      '"statuses":[{"id":"resolve x","vertex":"sha256:aa","name":"resolve","current":0,' +
      '"timestamp":"2023-11-14T22:13:20.003Z","started":"2023-11-14T22:13:20.001Z"}],' +
      '"logs":[{"vertex":"sha256:aa","stream":2,"data":"aGkgPGI+Jgo=","timestamp":"2023-11-14T22:13:20.004Z"},' +
      '{"vertex":"sha256:aa","stream":1,"data":null,"timestamp":"2023-11-14T22:13:20.005Z"}],' +
      '"warnings":[{"vertex":"sha256:aa","level":1,"short":"VyAobGluZSAxKQ==","detail":["ZA=="],"url":"https://u",' +
      '"sourceInfo":{"filename":"Dockerfile","data":"RlJPTSB4Cg==","language":"Dockerfile"},' +
      '"range":[{"start":{"line":1},"end":{"line":1}}]}]}',
  );
  assert.equal(formatRawJson(msg({})), "{}");
});

Deno.test("formatRawJson() escapes <, > and & like Go's encoder", () => {
  const line = formatRawJson(msg({ vertexes: [vertex("d", "RUN a > b && c < d")] }));
  assert.equal(line, '{"vertexes":[{"digest":"d","name":"RUN a \\u003e b \\u0026\\u0026 c \\u003c d"}]}');
  assert.equal(JSON.parse(line).vertexes[0].name, "RUN a > b && c < d");
});

Deno.test("formatTime() is Go's RFC3339Nano in UTC; a missing time is the Unix epoch", () => {
  assert.equal(formatTime(at(0)), "2023-11-14T22:13:20Z");
  assert.equal(formatTime(at(0.000001)), "2023-11-14T22:13:20.000000001Z");
  assert.equal(formatTime(at(120)), "2023-11-14T22:13:20.12Z");
  assert.equal(formatTime(undefined), "1970-01-01T00:00:00Z");
  assert.deepEqual(parseTime("2023-11-15T00:13:20.5+02:00"), { ...at(500) });
  assert.equal(parseTime("yesterday"), undefined);
});

Deno.test("parseRawJson() reads a line back into the same StatusResponse", () => {
  const m = msg({
    vertexes: [
      vertex("sha256:aa", "RUN x", { started: 1.25, completed: 9, error: "boom", inputs: ["sha256:bb"] }),
    ],
    statuses: [status("sha256:aa", "sha256:l", { ts: 3, started: 1, completed: 3, current: 5, total: 9 })],
    logs: [log("sha256:aa", 4, "out\n")],
    warnings: [warning("sha256:aa", "W", { source: "FROM x\n", lines: [[1, 2]] })],
  });
  const back = parseRawJson(formatRawJson(m));
  assert.deepEqual(toJson(StatusResponseSchema, back), toJson(StatusResponseSchema, m));
  assert.equal(formatRawJson(back), formatRawJson(m));
});

Deno.test("RawJsonRenderer writes one line per update and keeps the state for the summary", () => {
  let out = "";
  const r = new RawJsonRenderer({ write: (s) => out += s });
  r.update(msg({ vertexes: [vertex("a", "A", { started: 0, completed: 1, cached: true })] }));
  r.update(msg({ vertexes: [vertex("b", "B", { started: 1, completed: 3 })] }));
  r.done();
  assert.equal(out.split("\n").length, 3);
  assert.ok(out.endsWith("}\n"));
  assert.deepEqual(r.state.summary(), { steps: 2, cached: 1, errors: 0, warnings: 0, durationMs: 3 });
});
