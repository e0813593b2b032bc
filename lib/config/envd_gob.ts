/**
 * Reads envd's ~/.config/envd/contexts: one Go encoding/gob value of envd's
 *
 *   type EnvdContext struct { Current string; Contexts []Context }
 *   type Context struct { Name string; Builder BuilderType; BuilderAddress string; Runner RunnerType; RunnerAddress *string }
 *
 * A decoder for this type family only, written from the wire format in the encoding/gob package
 * documentation. Fields are matched by the names in the stream's own type definitions (as Go does),
 * so field order does not matter and unknown fields are skipped when their type can be skipped.
 * Anything else is a UserError naming the byte offset; every length is bounded by the bytes left.
 */
import { UserError } from "../errors.ts";

/** One context as envd stores it; runnerAddress is absent when envd's *string was nil or pointed to "". */
export interface EnvdContextEntry {
  name: string;
  builder: string;
  builderAddress: string;
  runner: string;
  runnerAddress?: string;
}

// Predefined type ids (gob doc, "Encoding Details"). Ids 9..63 are gob's own or reserved; user types start at 64.
const BOOL = 1, INT = 2, UINT = 3, FLOAT = 4, BYTES = 5, STRING = 6, COMPLEX = 7, INTERFACE = 8;
const FIRST_USER_ID = 64;
// Gob nests by recursion; a hostile stream must not blow the JS stack (that would be a RangeError).
const MAX_DEPTH = 100;

interface Field {
  name: string;
  id: number;
}
type WireType =
  | { kind: "struct"; fields: Field[] }
  | { kind: "slice"; elem: number }
  | { kind: "array"; elem: number; len: number }
  | { kind: "map"; key: number; elem: number }
  // GobEncoder, BinaryMarshaler, TextMarshaler (e.g. time.Time): a byte count and opaque bytes.
  | { kind: "opaque" };

// Not fatal: Go strings are arbitrary bytes and gob does not check them. ignoreBOM keeps a leading U+FEFF, as Go does.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

class Reader {
  pos = 0;
  end: number; // end of the current message
  readonly types = new Map<number, WireType>();

  constructor(readonly buf: Uint8Array) {
    this.end = buf.length;
  }

  fail(what: string, at = this.pos): never {
    throw new UserError(`invalid envd contexts file (gob) at byte ${at}: ${what}`);
  }

  byte(): number {
    if (this.pos >= this.end) {
      this.fail(
        this.end < this.buf.length ? "value runs past the end of its message" : "unexpected end of file",
      );
    }
    return this.buf[this.pos++];
  }

  /** Below 128: the byte itself; otherwise the negated byte count (1..8) of a big-endian value follows. */
  uint(): number {
    const at = this.pos;
    const b = this.byte();
    if (b < 0x80) return b;
    const n = 256 - b;
    if (n > 8) this.fail(`bad unsigned integer length byte 0x${b.toString(16)}`, at);
    // Values past 2^53 lose precision, which is harmless: such a number is never a valid count or id.
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.byte();
    return v;
  }

  /** Signed ints ride in a uint: bit 0 says whether to complement the rest. */
  int(): number {
    const u = this.uint();
    return u % 2 === 1 ? -(u - 1) / 2 - 1 : u / 2;
  }

  /** A count of things that (but for a struct cut off by its message's end) take a byte each: bounded by the bytes left. */
  count(what: string): number {
    const at = this.pos;
    const n = this.uint();
    const left = this.end - this.pos;
    if (n > left) this.fail(`${what} ${n} exceeds the ${left} bytes left in the message`, at);
    return n;
  }

  skipBytes(): void {
    const n = this.count("byte count"); // not `this.pos += this.count()`: that reads pos before count moves it
    this.pos += n;
  }

  string(): string {
    const n = this.count("string length");
    this.pos += n;
    return utf8.decode(this.buf.subarray(this.pos - n, this.pos));
  }

  /**
   * A struct: (field delta, value) pairs ending in delta 0; `field(i)` must consume field i's value.
   * Go's decoder also ends a struct at the end of its message, terminator or not, so we do too.
   */
  struct(what: string, nfields: number, field: (i: number) => void): void {
    let i = -1;
    while (this.pos < this.end) {
      const at = this.pos;
      const delta = this.uint();
      if (delta === 0) return;
      i += delta;
      if (i >= nfields) this.fail(`field number ${i} out of range for ${what}`, at);
      field(i);
    }
  }

  /** The n elements of a slice or array; like Go, each must start before the message ends. */
  elements(n: number, element: () => void): void {
    for (let i = 0; i < n; i++) {
      if (this.pos >= this.end) this.fail(`${n} elements expected but only ${i} fit in the message`);
      element();
    }
  }

  /** Same, with field handlers by position, for gob's own fixed type-definition structs. */
  fixed(what: string, fields: (() => void)[]): void {
    this.struct(what, fields.length, (i) => fields[i]());
  }

  /** A typeId is an int32; 0 is never a valid one. */
  typeId(): number {
    const at = this.pos;
    const id = this.int();
    if (id === 0 || Math.abs(id) > 0x7fffffff) this.fail(`bad type id ${id}`, at);
    return id;
  }

  /** The body of a (-id, wireType) message. */
  defineType(id: number, at: number): void {
    if (id < FIRST_USER_ID) this.fail(`redefinition of predefined type id ${id}`, at);
    if (this.types.has(id)) this.fail(`type id ${id} defined twice`, at);
    let wt: WireType | undefined;
    const set = (t: WireType) => {
      if (wt) this.fail(`type ${id} is defined as more than one kind`);
      wt = t;
    };
    const common = () => this.fixed("CommonType", [() => this.string(), () => this.int()]);
    this.fixed("wireType", [
      () => {
        let elem = 0, len = 0;
        this.fixed("arrayType", [common, () => elem = this.int(), () => len = this.int()]);
        set({ kind: "array", elem, len });
      },
      () => {
        let elem = 0;
        this.fixed("sliceType", [common, () => elem = this.int()]);
        set({ kind: "slice", elem });
      },
      () => {
        const fields: Field[] = [];
        this.fixed("structType", [common, () => {
          this.elements(this.count("field count"), () => {
            const f = { name: "", id: 0 };
            this.fixed("fieldType", [() => f.name = this.string(), () => f.id = this.int()]);
            fields.push(f);
          });
        }]);
        set({ kind: "struct", fields });
      },
      () => {
        let key = 0, elem = 0;
        this.fixed("mapType", [common, () => key = this.int(), () => elem = this.int()]);
        set({ kind: "map", key, elem });
      },
      ...[0, 1, 2].map(() => () => {
        this.fixed("gobEncoderType", [common]);
        set({ kind: "opaque" });
      }),
    ]);
    if (!wt) this.fail(`type ${id} has an empty definition`, at);
    this.types.set(id, wt);
  }

  /** Like Go's decoder, insists up front that every type a value of type `id` can hold is defined. */
  checkDefined(id: number, at: number): void {
    const todo = [id], seen = new Set<number>(); // a work list: a long chain of types must not recurse deeply
    for (let t = todo.pop(); t !== undefined; t = todo.pop()) {
      if ((t >= BOOL && t <= INTERFACE) || seen.has(t)) continue;
      seen.add(t);
      const wt = this.types.get(t) ?? this.fail(`type id ${t} is used but never defined`, at);
      if (wt.kind === "struct") { for (const f of wt.fields) todo.push(f.id); }
      else if (wt.kind === "map") todo.push(wt.key, wt.elem);
      else if (wt.kind !== "opaque") todo.push(wt.elem);
    }
  }

  /** Reads past one value of type `id`, whose shape the stream itself defined. */
  skip(id: number, depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`values nested more than ${MAX_DEPTH} deep`);
    switch (id) {
      case BOOL:
      case INT:
      case UINT:
      case FLOAT: // float64 bits, byte-reversed, as a uint
        this.uint();
        return;
      case COMPLEX:
        this.uint();
        this.uint();
        return;
      case BYTES:
      case STRING:
        return this.skipBytes();
      case INTERFACE:
        return this.skipInterface();
    }
    const t = this.types.get(id) ?? this.fail(`value of undefined or unsupported type id ${id}`);
    switch (t.kind) {
      case "struct":
        return this.struct(`type ${id}`, t.fields.length, (i) => this.skip(t.fields[i].id, depth + 1));
      case "slice":
      case "array": {
        const at = this.pos;
        const n = this.count("element count");
        if (t.kind === "array" && n !== t.len) {
          this.fail(`array of length ${t.len} sent with ${n} elements`, at);
        }
        return this.elements(n, () => this.skip(t.elem, depth + 1));
      }
      case "map":
        for (let n = this.count("map size"); n > 0; n--) {
          this.skip(t.key, depth + 1);
          this.skip(t.elem, depth + 1);
        }
        return;
      case "opaque":
        return this.skipBytes();
    }
  }

  /**
   * An interface value: the concrete type's registered name ("" for nil), its type id, then a byte
   * count, so the value itself can be skipped unread. Type definitions for it normally come as
   * separate messages before this one; inline ones only occur for interfaces nested in interfaces.
   */
  skipInterface(): void {
    const n = this.count("interface type name length");
    if (n === 0) return; // a nil interface
    this.pos += n;
    const at = this.pos;
    // The concrete type id is not checked, as in Go: only the byte count matters for skipping.
    if (this.int() < 0) this.fail("an interface value with inline type definitions is not supported", at);
    this.skipBytes();
  }
}

/** Decodes the bytes of envd's contexts file (Go gob of types.EnvdContext), or throws a UserError. */
export function decodeEnvdContexts(bytes: Uint8Array): { current: string; contexts: EnvdContextEntry[] } {
  const r = new Reader(bytes);
  if (bytes.length === 0) r.fail("the file is empty");
  // Messages are (byte count, type id, body); negative ids define types, the first positive one is the value.
  for (;;) {
    r.end = bytes.length;
    if (r.pos >= bytes.length) r.fail("type definitions but no value");
    const at = r.pos;
    const len = r.uint();
    const left = bytes.length - r.pos;
    if (len > left) r.fail(`message of ${len} bytes but only ${left} bytes left in the file`, at);
    if (len === 0) r.fail("empty message", at);
    r.end = r.pos + len;
    const idAt = r.pos;
    const id = r.typeId();
    if (id > 0) return readValue(r, id, idAt); // like Go's Decode, whatever follows the value is not read
    r.defineType(-id, idAt);
    if (r.pos !== r.end) r.fail(`${r.end - r.pos} stray bytes after the definition of type ${-id}`);
  }
}

const CONTEXT_FIELDS = ["Name", "Builder", "BuilderAddress", "Runner", "RunnerAddress"];

function readValue(r: Reader, id: number, at: number): { current: string; contexts: EnvdContextEntry[] } {
  const top = r.types.get(id);
  if (top?.kind !== "struct") r.fail(`the value has type id ${id}, which is not a defined struct`, at);
  r.checkDefined(id, at);
  // Check field types up front, as Go's decoder does when it compiles the wire type against EnvdContext.
  let ctx: { kind: "struct"; fields: Field[] } | undefined;
  for (const f of top.fields) {
    if (f.name === "Current" && f.id !== STRING) r.fail(`field Current has type id ${f.id}, not string`, at);
    if (f.name !== "Contexts") continue;
    const slice = r.types.get(f.id);
    const elem = slice?.kind === "slice" ? r.types.get(slice.elem) : undefined;
    if (elem?.kind !== "struct") r.fail(`field Contexts has type id ${f.id}, not a slice of structs`, at);
    for (const cf of elem.fields) {
      if (CONTEXT_FIELDS.includes(cf.name) && cf.id !== STRING) {
        r.fail(`field Context.${cf.name} has type id ${cf.id}, not string`, at);
      }
    }
    ctx = elem;
  }
  if (top.fields.length > 0 && !top.fields.some((f) => f.name === "Current" || f.name === "Contexts")) {
    r.fail("the value has neither a Current nor a Contexts field; not an envd contexts file", at);
  }

  const out = { current: "", contexts: [] as EnvdContextEntry[] };
  r.struct("EnvdContext", top.fields.length, (i) => {
    const f = top.fields[i];
    if (f.name === "Current") out.current = r.string();
    else if (f.name === "Contexts" && ctx) {
      r.elements(r.count("context count"), () => out.contexts.push(readContext(r, ctx)));
    } else r.skip(f.id, 1);
  });
  return out;
}

function readContext(r: Reader, t: { fields: Field[] }): EnvdContextEntry {
  // Absent fields are zero values: gob never sends "" or a nil pointer.
  const c: EnvdContextEntry = { name: "", builder: "", builderAddress: "", runner: "" };
  r.struct("Context", t.fields.length, (i) => {
    const f = t.fields[i];
    switch (f.name) {
      case "Name":
        c.name = r.string();
        break;
      case "Builder":
        c.builder = r.string();
        break;
      case "BuilderAddress":
        c.builderAddress = r.string();
        break;
      case "Runner":
        c.runner = r.string();
        break;
      case "RunnerAddress":
        c.runnerAddress = r.string();
        break;
      default:
        r.skip(f.id, 2);
    }
  });
  return c;
}
