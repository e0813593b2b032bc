import assert from "node:assert/strict";
import type { StatusResponse } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import { log, msg, status, vertex, warning } from "../../tests/helpers/status.ts";
import { PlainRenderer } from "./plain.ts";

function render(messages: StatusResponse[], opts: { err?: Error; expandWarnings?: boolean } = {}): string {
  let out = "";
  const r = new PlainRenderer({ write: (s) => out += s }, undefined, { expandWarnings: opts.expandWarnings });
  for (const m of messages) r.update(m);
  r.done(opts.err);
  return out;
}

const DEF = "sha256:1111";
const META = "sha256:2222";
const FROM = "sha256:3333";
const RUN = "sha256:4444";
const COPY = "sha256:5555";
const IMG = "docker.io/library/alpine:3.20@sha256:beefbeef";

/** A successful build: context load, image pull with layer progress, a RUN with output, a cached COPY. */
const SUCCESS = [
  msg({ vertexes: [vertex(DEF, "[internal] load build definition from Dockerfile")] }),
  msg({ vertexes: [vertex(DEF, "[internal] load build definition from Dockerfile", { started: 0 })] }),
  msg({ statuses: [status(DEF, "transferring dockerfile:", { ts: 1, started: 1 })] }),
  msg({
    statuses: [status(DEF, "transferring dockerfile:", { ts: 5, started: 1, completed: 5, current: 68 })],
  }),
  msg({
    vertexes: [
      vertex(DEF, "[internal] load build definition from Dockerfile", { started: 0, completed: 10 }),
    ],
  }),
  msg({
    vertexes: [
      vertex(META, "[internal] load metadata for docker.io/library/alpine:3.20", { started: 12 }),
      vertex(FROM, `[1/3] FROM ${IMG}`),
      vertex(RUN, "[2/3] RUN apk add curl", { inputs: [FROM] }),
      vertex(COPY, "[3/3] COPY app /app", { inputs: [RUN] }),
    ],
  }),
  msg({
    vertexes: [
      vertex(META, "[internal] load metadata for docker.io/library/alpine:3.20", {
        started: 12,
        completed: 812,
      }),
    ],
  }),
  msg({
    vertexes: [vertex(FROM, `[1/3] FROM ${IMG}`, { started: 820 })],
    statuses: [status(FROM, `resolve ${IMG}`, { ts: 820, started: 820 })],
  }),
  msg({
    statuses: [status(FROM, "sha256:abc", { ts: 900, started: 830, current: 1_000_000, total: 3_400_000 })],
  }),
  msg({
    statuses: [status(FROM, "sha256:abc", { ts: 950, started: 830, current: 1_050_000, total: 3_400_000 })],
  }),
  msg({
    vertexes: [vertex(FROM, `[1/3] FROM ${IMG}`, { started: 820, completed: 1700 })],
    statuses: [
      status(FROM, `resolve ${IMG}`, { ts: 825, started: 820, completed: 825 }),
      status(FROM, "sha256:abc", {
        ts: 1500,
        started: 830,
        completed: 1500,
        current: 3_400_000,
        total: 3_400_000,
      }),
      status(FROM, "extracting sha256:abc", { ts: 1700, started: 1510, completed: 1700 }),
    ],
  }),
  msg({
    vertexes: [vertex(RUN, "[2/3] RUN apk add curl", { inputs: [FROM], started: 1710 })],
    logs: [
      log(RUN, 1800, "fetch https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/APKINDEX.tar.gz\n"),
      log(RUN, 1900, "partial "),
    ],
  }),
  msg({ logs: [log(RUN, 2000, "line\n(5/5) Installing curl\nOK: 12 MiB in 19 packages\n")] }),
  msg({
    vertexes: [
      vertex(RUN, "[2/3] RUN apk add curl", { inputs: [FROM], started: 1710, completed: 2300 }),
      vertex(COPY, "[3/3] COPY app /app", { inputs: [RUN], started: 2300, completed: 2310, cached: true }),
    ],
  }),
];

Deno.test("plain: a successful build reads like buildx --progress=plain", () => {
  assert.equal(
    render(SUCCESS),
    `#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 68B done
#1 DONE 0.0s

#2 [internal] load metadata for docker.io/library/alpine:3.20
#2 DONE 0.8s

#3 [1/3] FROM ${IMG}
#3 sha256:abc 1.00MB / 3.40MB 0.1s
#3 resolve ${IMG} done
#3 sha256:abc 3.40MB / 3.40MB 0.7s done
#3 extracting sha256:abc 0.2s done
#3 DONE 0.9s

#4 [2/3] RUN apk add curl
#4 0.090 fetch https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/APKINDEX.tar.gz
#4 0.190 partial line
#4 0.290 (5/5) Installing curl
#4 0.290 OK: 12 MiB in 19 packages
#4 DONE 0.6s

#5 [3/3] COPY app /app
#5 CACHED

Finished in 2.3s: 5 steps, 1 cached
`,
  );
});

const DOCKERFILE = "FROM alpine:3.20 as base\nENV foo bar\nRUN --mount=type=secret,id=tok make\n";

/** A failing build: a restarted internal step, lint warnings, a --link progress group, a failing RUN, a canceled one. */
const FAILURE = [
  msg({
    vertexes: [
      vertex(DEF, "[internal] load build definition from Dockerfile", { started: 0, completed: 2 }),
      vertex(DEF, "[internal] load build definition from Dockerfile", { started: 3 }),
    ],
  }),
  msg({
    statuses: [status(DEF, "transferring dockerfile:", { ts: 8, started: 4, completed: 8, current: 81 })],
  }),
  msg({
    vertexes: [
      vertex(DEF, "[internal] load build definition from Dockerfile", { started: 3, completed: 20 }),
    ],
  }),
  msg({
    warnings: [
      warning(DEF, "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)", {
        detail: ["The 'as' keyword should match the case of the 'from' keyword"],
        url: "https://docs.docker.com/go/dockerfile/rule/from-as-casing/",
        source: DOCKERFILE,
        lines: [[1, 1]],
      }),
    ],
  }),
  msg({
    vertexes: [
      vertex("copy", "[2/4] COPY --link a /a", {
        started: 30,
        completed: 40,
        group: { id: "g", name: "[2/4] COPY --link a /a", weak: true },
      }),
    ],
  }),
  msg({
    vertexes: [
      vertex("link", "[2/4] LINK COPY --link a /a", {
        started: 41,
        completed: 45,
        group: { id: "g", name: "[2/4] COPY --link a /a" },
      }),
    ],
    statuses: [status("link", "merging", { ts: 45, started: 41, completed: 45 })],
  }),
  msg({
    vertexes: [
      vertex(RUN, "[3/4] RUN make", { started: 50 }),
      vertex(COPY, "[4/4] RUN sleep 10", { started: 55 }),
    ],
  }),
  msg({ logs: [log(RUN, 60, "cc -o app main.c\n"), log(RUN, 70, "main.c:1: error: boom\n", 2)] }),
  msg({
    vertexes: [
      vertex(RUN, "[3/4] RUN make", {
        started: 50,
        completed: 90,
        error: 'process "/bin/sh -c make" did not complete successfully: exit code: 2',
      }),
      vertex(COPY, "[4/4] RUN sleep 10", { started: 55, completed: 95, error: "canceled: context canceled" }),
    ],
  }),
];

Deno.test("plain: a failing build prints the error, the failed step's last lines, warnings and a summary", () => {
  assert.equal(
    render(FAILURE, { err: new Error("failed to solve") }),
    `#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 81B done
#1 WARN: FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)
#1 DONE 0.0s

#2 [2/4] COPY --link a /a
#2 merging done
#2 DONE 0.0s

#3 [3/4] RUN make
#3 ...

#4 [4/4] RUN sleep 10
#4 ...

#3 [3/4] RUN make
#3 0.010 cc -o app main.c
#3 0.020 main.c:1: error: boom
#3 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2

#4 [4/4] RUN sleep 10
#4 CANCELED
------
 > [3/4] RUN make:
0.010 cc -o app main.c
0.020 main.c:1: error: boom
------

 1 warning found (use --debug to expand):
 - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)

Failed after 0.1s: 4 steps, 0 cached, 1 error
`,
  );
});

Deno.test("plain: expanded warnings show detail, link and the Dockerfile lines", () => {
  const out = render(FAILURE.slice(0, 4), { expandWarnings: true });
  assert.equal(
    out.slice(out.indexOf(" 1 warning")),
    ` 1 warning found:
 - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)
The 'as' keyword should match the case of the 'from' keyword
More info: https://docs.docker.com/go/dockerfile/rule/from-as-casing/
Dockerfile:1
--------------------
   1 | >>> FROM alpine:3.20 as base
   2 |     ENV foo bar
   3 |     RUN --mount=type=secret,id=tok make
--------------------


Finished in 0.0s: 1 step, 0 cached
`,
  );
});

Deno.test("plain: an unfinished counter is repeated only after 5% more or 5 s more", () => {
  const out = render([
    msg({ vertexes: [vertex(FROM, "FROM", { started: 0 })] }),
    msg({ statuses: [status(FROM, "sha256:l", { ts: 100, started: 0, current: 10, total: 1000 })] }),
    msg({ statuses: [status(FROM, "sha256:l", { ts: 200, started: 0, current: 60, total: 1000 })] }),
    msg({ statuses: [status(FROM, "sha256:l", { ts: 300, started: 0, current: 100, total: 1000 })] }),
    msg({ statuses: [status(FROM, "sha256:l", { ts: 5400, started: 0, current: 110, total: 1000 })] }),
    msg({ statuses: [status(FROM, "sha256:l", { ts: 5500, started: 0, current: 120, total: 1000 })] }),
  ]);
  assert.deepEqual(out.split("\n").filter((l) => l.includes("sha256:l")), [
    "#1 sha256:l 60B / 1.00kB 0.2s",
    "#1 sha256:l 110B / 1.00kB 5.4s",
  ]);
});

Deno.test("plain: a quick restart of a finished step prints it once; a late warning repeats its result", () => {
  const out = render([
    msg({ vertexes: [vertex(DEF, "load", { started: 0, completed: 1 })] }),
    msg({ vertexes: [vertex(DEF, "load", { started: 2 })] }),
    msg({ vertexes: [vertex(DEF, "load", { started: 2, completed: 30 })] }),
    msg({ vertexes: [vertex(RUN, "run", { started: 40, completed: 50 })] }),
    msg({ warnings: [warning(DEF, "late")] }),
  ]);
  assert.equal(
    out,
    "#1 load\n#1 DONE 0.0s\n\n#2 run\n#2 DONE 0.0s\n\n#1 load\n#1 WARN: late\n#1 DONE 0.0s\n\n" +
      " 1 warning found (use --debug to expand):\n - late\n\nFinished in 0.1s: 2 steps, 0 cached\n",
  );
});

Deno.test("plain: nothing but the summary for an empty stream", () => {
  assert.equal(render([]), "Finished in 0.0s: 0 steps, 0 cached\n");
});

Deno.test("plain: a build whose daemon died mid-step reports the wall time since the build started", () => {
  // The RUN step started at 12 ms and never completed: the steps alone span 0.1 s.
  let out = "";
  const started = 1_000_000;
  const r = new PlainRenderer({ write: (s) => out += s }, undefined, {
    startedAt: started,
    now: () => started + 3200,
  });
  for (const m of FAILURE.slice(0, 3)) r.update(m);
  r.done(new Error("lost connection to buildkitd"));
  assert.match(out, /\nFailed after 3\.2s: /);
  // Without a start time, the steps' own span, as before.
  assert.match(render(FAILURE.slice(0, 3), { err: new Error("x") }), /\nFailed after 0\.\ds: /);
});
