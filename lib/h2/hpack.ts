// HPACK (RFC 7541) for our HTTP/2 server: a full decoder for the peer's requests, a table-free encoder for our
// responses. Module evaluation allocates only the static table; the Huffman trie and the encoder's name index
// are built on first use, as start-up time matters more than the first header block's.

import { HUFFMAN_BITS, HUFFMAN_CODES } from "./gen/huffman.ts";

/** A malformed header block; the decoder's table is then out of step with the peer's (COMPRESSION_ERROR). */
export class HpackError extends Error {
  override name = "HpackError";
}

// RFC 7541 Appendix A; index i is STATIC[i - 1]. All ASCII, so string length = octet length.
const STATIC: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

const ENTRY_OVERHEAD = 32; // RFC 7541 4.1
const EOS = 256;

const utf8 = new TextDecoder();
const utf8Out = new TextEncoder();

// Node n's children are at 2n (bit 0) and 2n+1 (bit 1); 0 means unset (the root is never a child), a negative
// value is the leaf ~symbol. 257 leaves need 256 internal nodes.
let huffmanTrie: Int16Array | undefined;

function trie(): Int16Array {
  if (huffmanTrie) return huffmanTrie;
  const t = new Int16Array(2 * 256);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFFMAN_CODES[sym];
    let n = 0;
    for (let i = HUFFMAN_BITS[sym] - 1; i > 0; i--) {
      const slot = 2 * n + ((code >>> i) & 1);
      if (t[slot] === 0) t[slot] = nodes++;
      n = t[slot];
    }
    t[2 * n + (code & 1)] = ~sym;
  }
  return (huffmanTrie = t);
}

function huffmanDecode(src: Uint8Array, start: number, end: number): Uint8Array {
  const t = trie();
  const out = new Uint8Array((((end - start) * 8) / 5) | 0); // the shortest code is 5 bits
  let o = 0, n = 0, pending = 0, ones = true; // pending: bits read since the last symbol
  for (let i = start; i < end; i++) {
    const b = src[i];
    for (let k = 7; k >= 0; k--) {
      const bit = (b >> k) & 1;
      const next = t[2 * n + bit];
      if (next < 0) {
        if (next === ~EOS) throw new HpackError("hpack: EOS in Huffman string");
        out[o++] = ~next;
        n = 0;
        pending = 0;
        ones = true;
      } else {
        n = next;
        pending++;
        ones &&= bit === 1;
      }
    }
  }
  // RFC 7541 5.2: padding is the most significant bits of EOS (all ones), strictly shorter than 8 bits.
  if (pending > 7) throw new HpackError("hpack: Huffman padding longer than 7 bits");
  if (!ones) throw new HpackError("hpack: Huffman padding not all ones");
  return out.subarray(0, o);
}

interface Entry {
  readonly name: string;
  readonly value: string;
  readonly nameLen: number; // octets, as sent: TextDecoder may have replaced invalid UTF-8
  readonly size: number; // RFC 7541 4.1: name + value octets + 32
}

/** HPACK decoder for one connection: keeps the dynamic table across header blocks, which must arrive in order. */
export class HpackDecoder {
  readonly #max: number; // what we advertised (SETTINGS_HEADER_TABLE_SIZE)
  #cap: number; // the size the peer last chose, <= #max
  #size = 0;
  // The dynamic table as a ring: #first is the oldest entry, #first + #count - 1 the newest.
  #ring: (Entry | undefined)[] = new Array(16);
  #first = 0;
  #count = 0;
  // Cursor into the block being decoded, and the octet length of the last string read.
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #strLen = 0;

  constructor(maxTableSize = 4096) {
    this.#max = this.#cap = maxTableSize;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION payloads joined) into [name, value] pairs. */
  decode(block: Uint8Array): [string, string][] {
    const fields: [string, string][] = [];
    this.#buf = block;
    this.#pos = 0;
    try {
      while (this.#pos < block.length) {
        const b = block[this.#pos];
        if (b & 0x80) { // 6.1 indexed field
          const e = this.#entry(this.#int(7));
          fields.push([e.name, e.value]);
        } else if (b & 0x40) { // 6.2.1 literal with incremental indexing
          const e = this.#literal(6);
          fields.push([e.name, e.value]);
          this.#add(e);
        } else if (b & 0x20) { // 6.3 dynamic table size update
          if (fields.length > 0) throw new HpackError("hpack: table size update after a field");
          const size = this.#int(5);
          if (size > this.#max) {
            throw new HpackError(`hpack: table size ${size} above the limit ${this.#max}`);
          }
          this.#cap = size;
          this.#evict(0);
        } else { // 6.2.2 without indexing, 6.2.3 never indexed: same layout, neither touches the table
          const e = this.#literal(4);
          fields.push([e.name, e.value]);
        }
      }
    } finally {
      this.#buf = new Uint8Array(0); // do not pin the caller's buffer
    }
    return fields;
  }

  // 5.1: an integer with an N-bit prefix, at most 2^31 - 1.
  #int(prefix: number): number {
    const buf = this.#buf;
    if (this.#pos >= buf.length) throw new HpackError("hpack: truncated integer");
    const mask = (1 << prefix) - 1;
    let v = buf[this.#pos++] & mask;
    if (v < mask) return v;
    for (let shift = 0;; shift += 7) {
      if (this.#pos >= buf.length) throw new HpackError("hpack: truncated integer");
      // Past 5 continuation octets only zero octets could follow a valid value: refuse rather than loop on them.
      if (shift > 28) throw new HpackError("hpack: integer overflow");
      const b = buf[this.#pos++];
      v += (b & 0x7f) * 2 ** shift;
      if (v > 0x7fffffff) throw new HpackError("hpack: integer overflow");
      if ((b & 0x80) === 0) return v;
    }
  }

  // 5.2: a string literal; sets #strLen to its decoded octet length.
  #str(): string {
    const huffman = (this.#buf[this.#pos] & 0x80) !== 0; // #int checks the octet exists
    const len = this.#int(7);
    const start = this.#pos;
    if (len > this.#buf.length - start) throw new HpackError("hpack: truncated string");
    this.#pos += len;
    const bytes = huffman
      ? huffmanDecode(this.#buf, start, start + len)
      : this.#buf.subarray(start, start + len);
    this.#strLen = bytes.length;
    return utf8.decode(bytes);
  }

  // 6.2: a literal field whose name is an index (N-bit prefix) or, for index 0, a string.
  #literal(prefix: number): Entry {
    const index = this.#int(prefix);
    let name: string, nameLen: number;
    if (index === 0) {
      name = this.#str();
      nameLen = this.#strLen;
    } else {
      const e = this.#entry(index);
      name = e.name;
      nameLen = e.nameLen;
    }
    const value = this.#str();
    return { name, value, nameLen, size: nameLen + this.#strLen + ENTRY_OVERHEAD };
  }

  // 2.3.3: 1..61 static, then the dynamic table newest first.
  #entry(index: number): Entry {
    if (index === 0) throw new HpackError("hpack: index 0");
    if (index <= STATIC.length) {
      const [name, value] = STATIC[index - 1];
      return { name, value, nameLen: name.length, size: name.length + value.length + ENTRY_OVERHEAD };
    }
    const i = index - STATIC.length;
    if (i > this.#count) throw new HpackError(`hpack: index ${index} beyond the tables`);
    return this.#ring[(this.#first + this.#count - i) & (this.#ring.length - 1)]!;
  }

  // 4.4: evict first; an entry larger than the whole table just empties it.
  #add(e: Entry): void {
    this.#evict(e.size);
    if (e.size > this.#cap) return;
    if (this.#count === this.#ring.length) {
      const grown: (Entry | undefined)[] = new Array(this.#ring.length * 2); // stays a power of two
      for (let j = 0; j < this.#count; j++) {
        grown[j] = this.#ring[(this.#first + j) & (this.#ring.length - 1)];
      }
      this.#ring = grown;
      this.#first = 0;
    }
    this.#ring[(this.#first + this.#count) & (this.#ring.length - 1)] = e;
    this.#count++;
    this.#size += e.size;
  }

  // 4.3, 4.4: drop the oldest entries until `room` more octets fit under the current size.
  #evict(room: number): void {
    while (this.#count > 0 && this.#size + room > this.#cap) {
      const e = this.#ring[this.#first]!;
      this.#ring[this.#first] = undefined;
      this.#first = (this.#first + 1) & (this.#ring.length - 1);
      this.#count--;
      this.#size -= e.size;
    }
  }
}

let staticNames: Map<string, number> | undefined;

function staticNameIndex(name: string): number | undefined {
  if (!staticNames) {
    staticNames = new Map();
    // Lowest index wins, as any index for the name is equally valid.
    for (let i = STATIC.length; i >= 1; i--) staticNames.set(STATIC[i - 1][0], i);
  }
  return staticNames.get(name);
}

// Octets TextEncoder will write for s (a lone surrogate becomes U+FFFD, 3 octets).
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // the pair's 2 units become 4 octets
      i++;
    } else n += 2;
  }
  return n;
}

function writeInt(buf: Uint8Array, p: number, flags: number, prefix: number, v: number): number {
  const mask = (1 << prefix) - 1;
  if (v < mask) {
    buf[p++] = flags | v;
    return p;
  }
  buf[p++] = flags | mask;
  v -= mask;
  while (v >= 0x80) {
    buf[p++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[p++] = v;
  return p;
}

function writeString(buf: Uint8Array, p: number, s: string): number {
  p = writeInt(buf, p, 0x00, 7, utf8Length(s)); // H = 0: Huffman would save little on our few short headers
  return p + utf8Out.encodeInto(s, buf.subarray(p)).written;
}

/** Encodes our response headers statelessly (literals without indexing), so the peer's table never changes. */
export function encodeHeaders(headers: [string, string][]): Uint8Array {
  let cap = 0;
  // Per field at most 3 integers of 6 octets; per UTF-16 unit at most 3 octets.
  for (const [name, value] of headers) cap += 18 + 3 * (name.length + value.length);
  const buf = new Uint8Array(cap);
  let p = 0;
  for (const [name, value] of headers) {
    if (name === ":status" && value === "200") {
      buf[p++] = 0x88; // fully indexed: static entry 8 needs no table state either
      continue;
    }
    const index = staticNameIndex(name);
    if (index !== undefined) p = writeInt(buf, p, 0x00, 4, index);
    else {
      buf[p++] = 0x00;
      p = writeString(buf, p, name);
    }
    p = writeString(buf, p, value);
  }
  return buf.subarray(0, p);
}
