/** WindowFix: SETTINGS_INITIAL_WINDOW_SIZE raises become per-stream WINDOW_UPDATEs, and nothing else changes. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { FrameReader, WindowFix, windowUpdate } from "./h2window.ts";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(type: number, flags: number, stream: number, payload: Buffer | number[] = []): Buffer {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, p]);
}
const settings = (...pairs: [number, number][]) => {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => (p.writeUInt16BE(id, 6 * i), p.writeUInt32BE(v, 6 * i + 2)));
  return frame(4, 0, 0, p);
};
const headers = (stream: number, flags = 0x4) => frame(1, flags, stream, [0x82, 0x86, 0x84]);
const data = (stream: number, n: number, flags = 0) => frame(0, flags, stream, Buffer.alloc(n, 1));

/** Frames as [type, flags, stream, payload hex] for readable comparisons. */
function frames(bytes: Buffer, preface: boolean): [number, number, number, string][] {
  const out: [number, number, number, string][] = [];
  let pending: { h: [number, number, number]; parts: Buffer[] } | undefined;
  new FrameReader(preface).feed(bytes, {
    raw: (b) => pending?.parts.push(b),
    frame: (h, payload) => {
      if (pending) out.push([...pending.h, Buffer.concat(pending.parts).toString("hex")]);
      pending = { h: [h.type, h.flags, h.stream], parts: payload ? [payload] : [] };
    },
    needsPayload: () => false,
  });
  if (pending) out.push([...pending.h, Buffer.concat(pending.parts).toString("hex")]);
  return out;
}

function run(
  role: "server" | "client",
  inbound: Buffer[],
  outbound: Buffer[] = [],
): { seen: Buffer; injected: Buffer[] } {
  const injected: Buffer[] = [];
  const fix = new WindowFix(role, (b) => injected.push(b));
  for (const b of outbound) fix.outbound(b);
  return { seen: Buffer.concat(inbound.flatMap((c) => fix.inbound(c))), injected };
}

Deno.test("server role: a raise after a stream opened becomes a WINDOW_UPDATE on that stream", () => {
  const { seen } = run("server", [
    Buffer.concat([PREFACE, settings(), headers(1), data(1, 10), settings([4, 100000], [3, 100])]),
  ]);
  const f = frames(seen, true);
  assert.deepEqual(f.map(([t, fl, s]) => [t, fl, s]), [[4, 0, 0], [1, 4, 1], [0, 0, 1], [4, 0, 0], [
    8,
    0,
    1,
  ]]);
  // The SETTINGS frame keeps its other settings; the update carries the difference.
  assert.equal(f[3][3], "000300000064");
  assert.equal(f[4][3], (100000 - 65535).toString(16).padStart(8, "0"));
});

Deno.test("server role: settings before any stream, and decreases, pass unchanged", () => {
  const input = Buffer.concat([PREFACE, settings([4, 1 << 20]), headers(1), settings([4, 1000])]);
  assert.deepEqual(run("server", [input]).seen, input);
});

Deno.test("server role: a stream opened after a raise gets the difference right after its headers", () => {
  const input = Buffer.concat([
    PREFACE,
    headers(1),
    settings([4, 200000]),
    headers(3, 0), // continues
    frame(9, 0x4, 3, [0x82]), // CONTINUATION with END_HEADERS
    data(3, 5),
  ]);
  const f = frames(run("server", [input]).seen, true).map(([t, fl, s]) => [t, fl, s]);
  assert.deepEqual(f, [[1, 4, 1], [4, 0, 0], [8, 0, 1], [1, 0, 3], [9, 4, 3], [8, 0, 3], [0, 0, 3]]);
});

Deno.test("server role: streams we ended get no update", () => {
  const fix = new WindowFix("server", () => {});
  fix.inbound(Buffer.concat([PREFACE, headers(1), headers(3)]));
  fix.outbound(frame(1, 0x5, 1, [0x88])); // our trailers on stream 1, END_STREAM
  const out = Buffer.concat(fix.inbound(settings([4, 70000])));
  assert.deepEqual(frames(out, false).map(([t, , s]) => [t, s]), [[4, 0], [8, 3]]);
});

Deno.test("client role: our new streams get the raise injected as soon as the peer's bytes are between frames", () => {
  const injected: Buffer[] = [];
  const fix = new WindowFix("client", (b) => injected.push(b));
  fix.outbound(Buffer.concat([PREFACE, settings(), headers(1)]));
  const out = Buffer.concat(fix.inbound(Buffer.concat([settings(), settings([4, 300000])])));
  assert.deepEqual(frames(out, false).map(([t, , s]) => [t, s]), [[4, 0], [4, 0], [8, 1]]);
  // A stream opened now: the peer's bytes are idle between frames, so the update goes out at once.
  fix.outbound(headers(3));
  assert.deepEqual(injected, [windowUpdate(3, 300000 - 65535)]);
  // Mid-frame, it waits for the frame to end.
  const half = data(1, 20);
  assert.deepEqual(Buffer.concat(fix.inbound(half.subarray(0, 15))), half.subarray(0, 15));
  fix.outbound(headers(5));
  assert.equal(injected.length, 1);
  const rest = Buffer.concat(fix.inbound(half.subarray(15)));
  assert.deepEqual(rest, Buffer.concat([half.subarray(15), windowUpdate(5, 300000 - 65535)]));
});

Deno.test("any chunking of the input gives the same output bytes", () => {
  const input = Buffer.concat([
    PREFACE,
    settings(),
    headers(1),
    data(1, 40000),
    settings([4, 150000]),
    frame(6, 0, 0, Buffer.alloc(8)),
    headers(3),
    data(3, 777, 1),
    settings([4, 400000], [5, 16384]),
    data(1, 3, 1),
  ]);
  const whole = run("server", [input]).seen;
  for (let seed = 1; seed <= 50; seed++) {
    const chunks: Buffer[] = [];
    let x = seed;
    for (let pos = 0; pos < input.length;) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const n = 1 + (x % 97);
      chunks.push(input.subarray(pos, pos + n));
      pos += n;
    }
    assert.deepEqual(run("server", chunks).seen, whole, `seed ${seed}`);
  }
});

Deno.test("Bun's http2 server stalls on a raised initial window unless the frames pass through WindowFix", () => {
  const bun = join(import.meta.dirname!, "../../../node_modules/.bin/bun");
  const probe = join(import.meta.dirname!, "../../../tests/helpers/h2_stall_probe.ts");
  const outcome = (mode: string) =>
    JSON.parse(execFileSync(bun, [probe, mode], { encoding: "utf8", timeout: 30_000 }));
  assert.deepEqual(outcome("fixed"), { done: true, received: 32 << 20 });
  // The runtime bug itself (oven-sh/bun#30319, #41329). When a Bun upgrade fixes it, this line says so.
  assert.equal(outcome("raw").done, false, "Bun's http2 no longer stalls: WindowFix may be dropped");
});
