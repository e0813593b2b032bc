// Gob bytes come from real Go (tests/fixtures/envd_gob), built once per run, so the decoder is checked
// against encoding/gob itself rather than against hand-made expectations of it.
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import { decodeEnvdContexts, type EnvdContextEntry } from "./envd_gob.ts";
import { fixtureBin, gob, type GoEnvdContext } from "../../tests/helpers/envd_gob.ts";

/** What the decoder should return for a Go value. */
function expected(v: GoEnvdContext): { current: string; contexts: EnvdContextEntry[] } {
  return {
    current: v.Current,
    contexts: (v.Contexts ?? []).map((c) => ({
      name: c.Name,
      builder: c.Builder,
      builderAddress: c.BuilderAddress,
      runner: c.Runner,
      // gob sends a pointer's pointee and omits zero values, so a pointer to "" arrives as nil.
      ...(c.RunnerAddress ? { runnerAddress: c.RunnerAddress } : {}),
    })),
  };
}

function ctx(
  Name: string,
  Builder: string,
  BuilderAddress: string,
  Runner = "docker",
  RunnerAddress: string | null = null,
) {
  return { Name, Builder, BuilderAddress, Runner, RunnerAddress };
}

const fresh: GoEnvdContext = {
  Current: "default",
  Contexts: [ctx("default", "moby-worker", "envd_buildkitd", "docker", null)],
};
const several: GoEnvdContext = {
  Current: "k8s",
  Contexts: [
    ctx("default", "moby-worker", "envd_buildkitd"),
    ctx("remote", "tcp", "tcp://10.0.0.5:8888"),
    ctx("sock", "unix", "unix:///run/buildkit/buildkitd.sock"),
    ctx(
      "k8s",
      "kube-pod",
      "kube-pod://buildkitd-0?namespace=envd",
      "envd-server",
      "http://envd-server.example:8080",
    ),
    ctx("dc", "docker-container", "docker-container://envd_buildkitd", "docker", ""),
  ],
};

/** Asserts that decoding throws a one-line UserError that names a byte offset; returns its message. */
function assertUserError(bytes: Uint8Array, what: string): string {
  try {
    decodeEnvdContexts(bytes);
  } catch (e) {
    assert.ok(e instanceof UserError, `${what}: threw ${e instanceof Error ? e.name : typeof e}: ${e}`);
    assert.match(e.message, /^invalid envd contexts file \(gob\) at byte \d+: [^\n]+$/, what);
    return e.message;
  }
  assert.fail(`${what}: decoded without error`);
}

Deno.test("decodes the default contexts file a fresh envd writes", async () => {
  const bytes = await gob(fresh);
  assert.deepEqual(decodeEnvdContexts(bytes), {
    current: "default",
    contexts: [{
      name: "default",
      builder: "moby-worker",
      builderAddress: "envd_buildkitd",
      runner: "docker",
    }],
  });
  assert.equal("runnerAddress" in decodeEnvdContexts(bytes).contexts[0], false);
});

Deno.test("decodes tcp, unix and kube-pod builders and an envd-server runner address", async () => {
  assert.deepEqual(decodeEnvdContexts(await gob(several)), expected(several));
});

Deno.test("empty strings, nil pointers and empty lists come back as zero values", async () => {
  const v: GoEnvdContext = { Current: "", Contexts: [ctx("", "", "", "", null), ctx("x", "", "", "", "")] };
  assert.deepEqual(decodeEnvdContexts(await gob(v)), expected(v));
  assert.deepEqual(decodeEnvdContexts(await gob({ Current: "", Contexts: null })), {
    current: "",
    contexts: [],
  });
  assert.deepEqual(decodeEnvdContexts(await gob({ Current: "a", Contexts: [] })), {
    current: "a",
    contexts: [],
  });
  // Go writes identical bytes for a nil *string and a pointer to "".
  const nilPtr = await gob({ Current: "c", Contexts: [ctx("c", "tcp", "tcp://h:1", "docker", null)] });
  const emptyPtr = await gob({ Current: "c", Contexts: [ctx("c", "tcp", "tcp://h:1", "docker", "")] });
  assert.deepEqual(emptyPtr, nilPtr);
});

Deno.test("decodes unicode names", async () => {
  const v: GoEnvdContext = {
    Current: "日本語",
    Contexts: [
      ctx("日本語", "tcp", "tcp://ü.example:1"),
      ctx("🚀 ctx", "unix", "unix:///tmp/ß.sock"),
      ctx("\uFEFFbom", "tcp", "tcp://h:1"),
    ],
  };
  assert.deepEqual(decodeEnvdContexts(await gob(v)), expected(v));
});

Deno.test("decodes 500 contexts", async () => {
  const v: GoEnvdContext = {
    Current: "ctx-499",
    Contexts: Array.from(
      { length: 500 },
      (_, i) => ctx(`ctx-${i}`, "tcp", `tcp://10.0.${i >> 8}.${i & 255}:${1234 + i}`),
    ),
  };
  const got = decodeEnvdContexts(await gob(v));
  assert.equal(got.contexts.length, 500);
  assert.deepEqual(got, expected(v));
});

Deno.test("matches fields by the stream's names, not by position", async () => {
  assert.deepEqual(decodeEnvdContexts(await gob(several, "reordered")), expected(several));
});

Deno.test("skips unknown fields of many kinds (ints, maps, arrays, time.Time, interfaces, nested structs)", async () => {
  assert.deepEqual(decodeEnvdContexts(await gob(several, "extra")), expected(several));
  assert.deepEqual(decodeEnvdContexts(await gob(fresh, "extra")), expected(fresh));
});

Deno.test("reads only the first value, as Go's Decoder.Decode does", async () => {
  const bytes = await gob(several);
  const more = new Uint8Array([...bytes, ...bytes.subarray(0, 7), 0xff]);
  assert.deepEqual(decodeEnvdContexts(more), expected(several));
});

Deno.test("every truncation of a real file is a UserError", async () => {
  for (const bytes of [await gob(several), await gob(several, "extra")]) {
    for (let n = 0; n < bytes.length; n++) {
      assertUserError(bytes.subarray(0, n), `truncated to ${n} of ${bytes.length}`);
    }
  }
});

/** mulberry32: small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Our verdict on `bytes`: the decoded value, or the UserError message; anything else is a test failure. */
function verdict(
  bytes: Uint8Array,
  what: string,
): { ok: true; v: ReturnType<typeof decodeEnvdContexts> } | { ok: false; err: string } {
  try {
    return { ok: true, v: decodeEnvdContexts(bytes) };
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`${what}: threw ${e}`, { cause: e });
    assert.doesNotMatch(e.message, /\n/, what);
    return { ok: false, err: e.message };
  }
}

/** Go's own verdict on each file, decoding into envd's types as envd does. */
async function goDecode(
  files: Uint8Array[],
): Promise<({ ok: true; v: GoEnvdContext } | { ok: false; err: string })[]> {
  const child = new Deno.Command(await fixtureBin(), { args: ["decode"], stdin: "piped", stdout: "piped" })
    .spawn();
  const output = child.output(); // read while writing, or a full stdout pipe would stall both sides
  const w = child.stdin.getWriter();
  await w.write(
    new TextEncoder().encode(files.map((f) => Buffer.from(f).toString("base64") + "\n").join("")),
  );
  await w.close();
  const out = await output;
  assert.ok(out.success, "fixture decode failed");
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("random garbage decodes or throws UserError, never anything else", () => {
  const rand = prng(20240611);
  const int = (n: number) => Math.floor(rand() * n);
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    if (!verdict(Uint8Array.from({ length: int(300) }, () => int(256)), `random case ${i}`).ok) rejected++;
  }
  assert.ok(rejected > 2900, `only ${rejected} of 3000 random inputs rejected`);
});

Deno.test("damaged files: same verdict and same contexts as Go's own decoder", async () => {
  // Damage keeps most of the structure, so it reaches far deeper into the decoder than noise does.
  const rand = prng(7);
  const int = (n: number) => Math.floor(rand() * n);
  const real = [await gob(several), await gob(several, "extra"), await gob(several, "reordered")];
  const cases = Array.from({ length: 3000 }, (_, i) => {
    const b = real[i % 3].slice();
    for (let k = 1 + int(3); k > 0; k--) b[int(b.length)] = [int(256), 0, 1, 0x7f, 0x80, 0xff][int(6)];
    if (i % 5 !== 0) return b;
    const at = int(b.length); // also shift everything after a point: deletes 1..3 bytes
    return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1 + int(3))]);
  });
  const go = await goDecode(cases);
  const tally = { same: 0, bothReject: 0, stricter: 0 };
  cases.forEach((bytes, i) => {
    const ours = verdict(bytes, `damaged case ${i}`), theirs = go[i];
    if (ours.ok && theirs.ok) {
      assert.deepEqual(ours.v, {
        current: theirs.v.Current,
        contexts: (theirs.v.Contexts ?? []).map((c) => ({
          name: c.Name,
          builder: c.Builder,
          builderAddress: c.BuilderAddress,
          runner: c.Runner,
          ...(c.RunnerAddress !== null ? { runnerAddress: c.RunnerAddress } : {}),
        })),
      }, `damaged case ${i}`);
      tally.same++;
    } else if (!ours.ok && !theirs.ok) tally.bothReject++;
    else if (!ours.ok && /defined as more than one kind/.test(ours.err)) {
      // Go takes a type definition claiming two kinds (say struct and map) and picks one depending on
      // where the type is used; we refuse it.
      tally.stricter++;
    } else {assert.fail(
        `damaged case ${i}: Go says ${JSON.stringify(theirs)}, we say ${JSON.stringify(ours)}`,
      );}
  });
  console.log(`  vs Go: ${JSON.stringify(tally)}`);
  assert.ok(tally.same > 500 && tally.bothReject > 1000, JSON.stringify(tally));
});

// Hand-built streams for what Go's encoder never writes.
const uint = (n: number): number[] => {
  if (n < 128) return [n];
  const b: number[] = [];
  for (; n > 0; n = Math.floor(n / 256)) b.unshift(n % 256);
  return [256 - b.length, ...b];
};
const int = (n: number) => uint(n < 0 ? -2 * n - 1 : 2 * n);
const str = (s: string) => {
  const b = new TextEncoder().encode(s);
  return [...uint(b.length), ...b];
};
const msg = (...body: number[]) => [...uint(body.length), ...body];
/** (-id, wireType{StructT: structType{CommonType{Name}, Field}}) */
const defStruct = (id: number, fields: [string, number][]) =>
  msg(
    ...int(-id),
    3,
    1,
    1,
    ...str(`T${id}`),
    0,
    1,
    ...uint(fields.length),
    ...fields.flatMap(([name, t]) => [1, ...str(name), 1, ...int(t), 0]),
    0,
    0,
  );
/** (-id, wireType{SliceT: sliceType{CommonType, Elem}}) */
const defSlice = (id: number, elem: number) =>
  msg(...int(-id), 2, 1, 1, ...str(`S${id}`), 0, 1, ...int(elem), 0, 0);

Deno.test("hand-built streams: a minimal file decodes", () => {
  const bytes = [...defStruct(64, [["Current", 6]]), ...msg(...int(64), 1, ...str("x"), 0)];
  assert.deepEqual(decodeEnvdContexts(new Uint8Array(bytes)), { current: "x", contexts: [] });
  // Go also ends a struct at the end of its message without the 0 terminator; so do we.
  const unterminated = [...defStruct(64, [["Current", 6]]), ...msg(...int(64), 1, ...str("x"))];
  assert.deepEqual(decodeEnvdContexts(new Uint8Array(unterminated)), { current: "x", contexts: [] });
});

Deno.test("hand-built streams: hostile or foreign input is a clear UserError", () => {
  const cases: [string, number[], RegExp][] = [
    ["empty file", [], /file is empty/],
    [
      "huge message length",
      [0xf8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0],
      /message of \d+ bytes but only 1 bytes left/,
    ],
    ["9-byte integer", [0xf7, 1, 2, 3, 4, 5, 6, 7, 8, 9], /bad unsigned integer length byte 0xf7/],
    ["only type definitions", defStruct(64, [["Current", 6]]), /type definitions but no value/],
    ["a string, not a struct", msg(...int(6), ...str("hi"), 0), /type id 6, which is not a defined struct/],
    ["undefined type", msg(...int(70), 0), /type id 70, which is not a defined struct/],
    [
      "Current is an int",
      [...defStruct(64, [["Current", 2]]), ...msg(...int(64), 0)],
      /Current has type id 2, not string/,
    ],
    [
      "Contexts is a string",
      [...defStruct(64, [["Contexts", 6]]), ...msg(...int(64), 0)],
      /Contexts has type id 6/,
    ],
    [
      "Context.Name is a bool",
      [
        ...defStruct(64, [["Contexts", 65]]),
        ...defSlice(65, 66),
        ...defStruct(66, [["Name", 1]]),
        ...msg(...int(64), 0),
      ],
      /Context.Name has type id 1, not string/,
    ],
    [
      "some other struct",
      [...defStruct(64, [["Foo", 6]]), ...msg(...int(64), 1, ...str("x"), 0)],
      /not an envd contexts file/,
    ],
    ["redefined builtin", defStruct(6, []), /predefined type id 6/],
    ["defined twice", [...defStruct(64, []), ...defStruct(64, [])], /type id 64 defined twice/],
    [
      "field out of range",
      [...defStruct(64, [["Current", 6]]), ...msg(...int(64), 2, 1, 0)],
      /field number 1 out of range/,
    ],
    [
      "string longer than message",
      [...defStruct(64, [["Current", 6]]), ...msg(...int(64), 1, 100, 0)],
      /string length 100 exceeds/,
    ],
    [
      "stray bytes after a definition",
      msg(...defStruct(64, []).slice(1), 0),
      /stray bytes after the definition of type 64/,
    ],
    [
      // type T []T, nested 1000 deep: bounded by depth, not by the JS stack
      "deep nesting",
      [
        ...defSlice(65, 65),
        ...defStruct(64, [["Current", 6], ["X", 65]]),
        ...msg(...int(64), 2, ...Array(1000).fill(1), 0, 0),
      ],
      /nested more than 100 deep/,
    ],
    [
      // rejected up front as Go does, even though the value never sends field X
      "unknown field of undefined type",
      [...defStruct(64, [["Current", 6], ["X", 99]]), ...msg(...int(64), 0)],
      /type id 99 is used but never defined/,
    ],
    [
      "slice elements past the end of the message",
      [
        ...defStruct(64, [["Contexts", 65]]),
        ...defSlice(65, 66),
        ...defStruct(66, [["Name", 6]]),
        ...msg(...int(64), 1, 2, 1, ...str("a")),
      ],
      /2 elements expected but only 1 fit in the message/,
    ],
  ];
  for (const [what, bytes, want] of cases) {
    assert.match(assertUserError(new Uint8Array(bytes), what), want, what);
  }
});

Deno.test("envd_gob.ts imports nothing but ../errors.ts (it must run under Deno and Bun alike)", () => {
  const src = Deno.readTextFileSync(new URL("./envd_gob.ts", import.meta.url));
  assert.deepEqual([...src.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]), [
    "../errors.ts",
  ]);
  assert.doesNotMatch(src, /\bimport\(|\brequire\(|\bDeno\./);
});
