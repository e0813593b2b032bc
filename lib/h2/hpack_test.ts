import assert from "node:assert/strict";
import { goFixture, runGoFixture } from "../../tests/helpers/go_fixture.ts";
import { encodeHeaders, HpackDecoder, HpackError } from "./hpack.ts";

// The peer is tests/fixtures/hpack: golang.org/x/net/http2/hpack, what buildkitd's grpc-go encodes with. The
// Go-backed tests fail (never skip) without `go`: the fixture build throws.

type Field = { name: string; value: string; sensitive?: boolean };
type Block = { tableSize?: number; fields: Field[] };

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));
// A fresh module cache (CI) may need x/net from the Go module proxy; the build is cached by name for runGoFixture.
const peer = () => goFixture("hpack", { proxy: true });
const pairs = (fs: Field[]): [string, string][] => fs.map((f) => [f.name, f.value]);

/** Go encodes `blocks` on one encoder; returns each block's bytes. */
async function goEncode(blocks: Block[], limit?: number): Promise<Uint8Array[]> {
  await peer();
  const out = new TextDecoder().decode(
    await runGoFixture("hpack", JSON.stringify({ limit, blocks }), ["encode"]),
  );
  return out.trimEnd().split("\n").map(unhex);
}

/** Go decodes `blocks` in order on one decoder. */
async function goDecode(blocks: Uint8Array[]): Promise<[string, string][][]> {
  await peer();
  const out = await runGoFixture("hpack", JSON.stringify({ blocks: blocks.map(hex) }), ["decode"]);
  return JSON.parse(new TextDecoder().decode(out));
}

/** Go encodes, we decode in order on one decoder of `max`: every block must come back as sent. */
async function roundTrip(
  blocks: Block[],
  opts: { limit?: number; max?: number } = {},
): Promise<Uint8Array[]> {
  const encoded = await goEncode(blocks, opts.limit);
  assert.equal(encoded.length, blocks.length);
  const dec = new HpackDecoder(opts.max);
  encoded.forEach((b, i) => assert.deepEqual(dec.decode(b), pairs(blocks[i].fields), `block ${i}`));
  return encoded;
}

function grpcRequest(n: number): Field[] {
  return [
    { name: ":method", value: "POST" },
    { name: ":scheme", value: "http" },
    {
      name: ":path",
      value: n % 3 ? "/moby.filesync.v1.FileSync/DiffCopy" : "/moby.filesync.v1.Auth/Credentials",
    },
    { name: ":authority", value: "localhost" },
    { name: "content-type", value: "application/grpc" },
    { name: "user-agent", value: "grpc-go/1.74.2" },
    { name: "te", value: "trailers" },
    { name: "grpc-timeout", value: `${n * 7 + 1}m` },
    { name: "dir-name", value: "context" },
    { name: "dir-name", value: n % 2 ? "dockerfile" : "" },
    { name: "include-patterns", value: "src/**" },
    { name: "include-patterns", value: `build/${"x".repeat(n * 40)}` }, // up to several hundred octets
    { name: "followpaths", value: "Dockerfile" },
    { name: "x-docker-expose-session-sharedkey", value: "" },
    { name: "x-note", value: n % 2 ? "héllo wörld — 中文 😀" : "ascii" },
    { name: "authorization", value: "Bearer secret", sensitive: true },
  ];
}

// mulberry32: a fixed seed gives the same "random" blocks every run.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomBlocks(seed: number, n: number, sizes: number[]): Block[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const chars = ["a", "z", "-", "0", "/", " ", "%", "~", "\t", "\x7f", "é", "ß", "中", "😀", "\u{10ffff}"];
  const str = (max: number) => Array.from({ length: Math.floor(r() * max) }, () => pick(chars)).join("");
  const names = [
    ":path",
    "content-type",
    "user-agent",
    "dir-name",
    "grpc-timeout",
    "cookie",
    "x-a",
    "x-ünïcode",
  ];
  const values = ["", "0", "application/grpc", "text/html; charset=utf-8", "gzip, deflate", "GET"];
  return Array.from({ length: n }, (_, i) => ({
    tableSize: i % 25 === 24 ? pick(sizes) : undefined,
    fields: Array.from({ length: 1 + Math.floor(r() * 12) }, () => ({
      name: r() < 0.6
        ? pick(names)
        : `x-${
          Array.from({ length: 1 + Math.floor(r() * 20) }, () => pick([..."abcdefgh-"]))
            .join("")
        }`,
      value: r() < 0.4 ? pick(values) : str(r() < 0.1 ? 600 : 40),
      sensitive: r() < 0.1,
    })),
  }));
}

Deno.test("HpackDecoder decodes grpc-go's gRPC request headers on one table, across blocks", async () => {
  const blocks = [1, 1, ...Array.from({ length: 20 }, (_, n) => n)].map((n) => ({ fields: grpcRequest(n) }));
  const encoded = await roundTrip(blocks);
  // The dynamic table was used: a repeat of a request is far smaller than the request was.
  assert.ok(encoded[1].length * 3 < encoded[0].length, `${encoded[1].length} vs ${encoded[0].length}`);
});

Deno.test("HpackDecoder decodes grpc-go's random fields, with the table resized to 0 and back", async () => {
  await roundTrip(randomBlocks(7541, 300, [0, 64, 300, 1000, 4096]));
});

Deno.test("HpackDecoder decodes under a small advertised table (256 octets), evicting as the peer does", async () => {
  await roundTrip([{ fields: grpcRequest(4) }, ...randomBlocks(42, 200, [0, 100, 256])], {
    limit: 256,
    max: 256,
  });
});

Deno.test("HpackDecoder knows every static table entry as grpc-go indexes it", async () => {
  const statics = [
    ":authority",
    ":method GET",
    ":method POST",
    ":path /",
    ":path /index.html",
    ":scheme http",
    ":scheme https",
    ...["200", "204", "206", "304", "400", "404", "500"].map((s) => `:status ${s}`),
    "accept-charset",
    "accept-encoding gzip, deflate",
    ..."accept-language accept-ranges accept access-control-allow-origin age allow authorization cache-control"
      .split(" "),
    ..."content-disposition content-encoding content-language content-length content-location content-range"
      .split(" "),
    ..."content-type cookie date etag expect expires from host if-match if-modified-since if-none-match if-range"
      .split(" "),
    ..."if-unmodified-since last-modified link location max-forwards proxy-authenticate proxy-authorization range"
      .split(" "),
    ..."referer refresh retry-after server set-cookie strict-transport-security transfer-encoding user-agent"
      .split(" "),
    "vary",
    "via",
    "www-authenticate",
  ].map((s) => {
    const i = s.indexOf(" ");
    return i < 0 ? { name: s, value: "" } : { name: s.slice(0, i), value: s.slice(i + 1) };
  });
  assert.equal(statics.length, 61);
  // Plain: an exact match is fully indexed. Sensitive: a never-indexed literal naming the static entry.
  const [plain, sensitive] = await roundTrip([
    { fields: statics },
    { fields: statics.map((f) => ({ ...f, sensitive: true })) },
  ]);
  assert.deepEqual([...plain], Array.from({ length: 61 }, (_, i) => 0x81 + i));
  assert.deepEqual([sensitive[0], sensitive[1]], [0x11, 0x00]); // never indexed, name 1, empty value
});

Deno.test("HpackDecoder decodes the RFC 7541 C.4.1 Huffman example", () => {
  assert.deepEqual(new HpackDecoder().decode(unhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ]);
});

Deno.test("encodeHeaders uses 0x88 for :status 200, static name indexes, and plain literals", () => {
  assert.equal(hex(encodeHeaders([[":status", "200"]])), "88");
  assert.equal(hex(encodeHeaders([[":status", "404"]])), "0803343034");
  // content-type is static 31: 15 in the 4-bit prefix, then 16.
  assert.equal(hex(encodeHeaders([["content-type", "a"]])), "0f100161");
  assert.equal(hex(encodeHeaders([["grpc-status", ""]])), "000b677270632d73746174757300");
  assert.equal(encodeHeaders([]).length, 0);
});

Deno.test("grpc-go decodes what encodeHeaders produces, and so do we", async () => {
  const lists: [string, string][][] = [
    [[":status", "200"], ["content-type", "application/grpc"]],
    [["grpc-status", "0"]],
    [["grpc-status", "2"], ["grpc-message", "héllo %E2%80%94 failed"]],
    [[":status", "404"], ["www-authenticate", "x"], ["content-length", "0"], ["x-empty", ""]],
    [["x-long", "v".repeat(5000)], [`x-${"n".repeat(200)}`, "😀 中文 \u{10ffff} é"]],
    [["x-lone-surrogate", "a\ud800b"]], // TextEncoder writes U+FFFD
    ...randomBlocks(99, 100, [4096]).map((b) => pairs(b.fields)),
  ];
  const encoded = lists.map(encodeHeaders);
  const expected = lists.map((l) => l.map(([n, v]): [string, string] => [n, v.replace("\ud800", "\ufffd")]));
  assert.deepEqual(await goDecode(encoded), expected);
  const dec = new HpackDecoder();
  assert.deepEqual(encoded.map((b) => dec.decode(b)), expected);
});

Deno.test("HpackDecoder evicts by octets (name + value + 32), and an oversized entry empties the table", () => {
  const dec = new HpackDecoder(80);
  // Literal with incremental indexing, new name "é" (2 octets), value "x" (1): size 35. Two fit in 80.
  const add = (v: string) => Uint8Array.of(0x40, 0x02, 0xc3, 0xa9, 0x01, v.charCodeAt(0));
  dec.decode(add("a"));
  dec.decode(add("b"));
  assert.deepEqual(dec.decode(Uint8Array.of(0xbe, 0xbf)), [["é", "b"], ["é", "a"]]); // 62 newest, 63 older
  dec.decode(add("c")); // 105 > 80: evicts "a"
  assert.deepEqual(dec.decode(Uint8Array.of(0xbe, 0xbf)), [["é", "c"], ["é", "b"]]);
  assert.throws(() => dec.decode(Uint8Array.of(0xc0)), /index 64 beyond/);
  // 1 + 48 + 32 = 81 > 80: emitted, not stored, and everything else evicted.
  const big = dec.decode(Uint8Array.of(0x40, 0x01, 0x62, 0x30, ...new Array(48).fill(0x79)));
  assert.deepEqual(big, [["b", "y".repeat(48)]]);
  assert.throws(() => dec.decode(Uint8Array.of(0xbe)), /index 62 beyond/);
});

Deno.test("HpackDecoder sizes an indexed name by its octets, and a size update evicts at once", () => {
  const dec = new HpackDecoder(70);
  dec.decode(Uint8Array.of(0x40, 0x02, 0xc3, 0xa9, 0x01, 0x61)); // "é" "a": 35
  dec.decode(Uint8Array.of(0x7e, 0x01, 0x62)); // name 62 ("é", 2 octets) "b": 35, table full at 70
  dec.decode(Uint8Array.of(0x40, 0x02, 0xc3, 0xa9, 0x02, 0x78, 0x79)); // 36: both older entries must go
  assert.deepEqual(dec.decode(Uint8Array.of(0xbe)), [["é", "xy"]]);
  assert.throws(() => dec.decode(Uint8Array.of(0xbf)), /index 63 beyond/);
  assert.deepEqual(dec.decode(Uint8Array.of(0x20, 0x3f, 0x27)), []); // to 0 and back to 70 (31 + 39)
  assert.throws(() => dec.decode(Uint8Array.of(0xbe)), /index 62 beyond/);
});

Deno.test("HpackDecoder rejects malformed blocks with HpackError", () => {
  const bad: [string, number[], RegExp][] = [
    ["truncated integer", [0xff], /truncated integer/],
    ["truncated integer continuation", [0xff, 0x80], /truncated integer/],
    ["integer overflow", [0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], /overflow/],
    ["endless zero continuations", [0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], /overflow/],
    ["truncated string", [0x00, 0x05, 0x61], /truncated string/],
    ["missing value", [0x00, 0x01, 0x61], /truncated integer/],
    ["index 0", [0x80], /index 0/],
    ["index beyond the tables", [0xbe], /beyond/],
    ["literal name index beyond the tables", [0x0f, 0x2f, 0x00], /beyond/],
    ["size update above max", [0x3f, 0xe2, 0x1f], /above the limit/],
    ["size update after a field", [0x82, 0x20], /after a field/],
    ["Huffman padding not ones", [0x00, 0x81, 0x18, 0x00], /not all ones/], // "a" = 00011, then 000
    ["Huffman padding over 7 bits", [0x00, 0x82, 0x1f, 0xff, 0x00], /longer than 7/],
    ["Huffman padding of 8 bits", [0x00, 0x81, 0xff, 0x00], /longer than 7/],
    ["EOS in a Huffman string", [0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00], /EOS/],
  ];
  for (const [what, bytes, msg] of bad) {
    assert.throws(() => new HpackDecoder().decode(Uint8Array.from(bytes)), (e) => {
      assert.ok(e instanceof HpackError, what);
      assert.match(e.message, msg, what);
      return true;
    });
  }
  // The edges of those: well-formed.
  assert.deepEqual(new HpackDecoder().decode(Uint8Array.of(0x3f, 0xe1, 0x1f, 0x20, 0x00, 0x81, 0x1f, 0x00)), [
    ["a", ""],
  ]);
});
