/**
 * Wire forms of fsutil Packets and BytesMessages. File content is the bulk of a transfer, so DATA packets and
 * BytesMessages are framed by hand around the bytes (no copy through a message object); STATs and the rare
 * control packets go through the generated code.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Packet, Packet_PacketType as PacketType, PacketSchema } from "../gen/fsutil/types/wire_pb.ts";
import type { Stat } from "../gen/fsutil/types/stat_pb.ts";
import type { FileStat } from "./fswalk.ts";

export { PacketType };
export type { Packet, Stat };

/** Bytes to leave before file content read into a buffer, so a DATA header fits in front of it. */
export const DATA_HEADROOM = 16;

/**
 * A STAT packet; without `stat` it is the end-of-listing marker. Encoded by hand (the proto3 bytes the generated
 * code writes: fields in order, defaults left out), since every listed entry is one and the reflective encoder
 * costs tens of microseconds each before the JIT warms up.
 */
export function statPacket(stat?: FileStat): Buffer {
  if (!stat) return Buffer.alloc(0);
  const path = Buffer.from(stat.path);
  const link = stat.linkname ? Buffer.from(stat.linkname) : undefined;
  const w = new ByteWriter(path.length + (link?.length ?? 0) + 128);
  w.bytesField(1, path);
  w.varintField(2, BigInt(stat.mode >>> 0));
  w.varintField(3, BigInt(stat.uid >>> 0));
  w.varintField(4, BigInt(stat.gid >>> 0));
  w.varintField(5, stat.size);
  w.varintField(6, stat.modTime);
  if (link) w.bytesField(7, link);
  w.varintField(8, stat.devmajor);
  w.varintField(9, stat.devminor);
  const body = w.done();
  // Packet { type: STAT (the default, left out), stat: body }
  const out = new ByteWriter(body.length + 8);
  out.bytesField(2, body);
  return out.done();
}

/** Protobuf fields into a buffer sized by the caller. */
class ByteWriter {
  readonly #buf: Buffer;
  #at = 0;
  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(size);
  }
  /** A varint field, left out when zero (int64 negatives as ten-byte two's complement, as proto3 does). */
  varintField(field: number, v: bigint): void {
    if (v === 0n) return;
    this.#at = writeVarint(this.#buf, this.#at, field << 3);
    let u = BigInt.asUintN(64, v);
    while (u > 0x7fn) {
      this.#buf[this.#at++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.#buf[this.#at++] = Number(u);
  }
  /** A length-delimited field, left out when empty. */
  bytesField(field: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.#at = writeVarint(this.#buf, this.#at, (field << 3) | 2);
    this.#at = writeVarint(this.#buf, this.#at, b.length);
    this.#buf.set(b, this.#at);
    this.#at += b.length;
  }
  done(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }
}

/** A control packet (REQ, FIN, ERR with its message, or an empty DATA ending file `id`). */
export function controlPacket(type: PacketType, id = 0, data?: Uint8Array): Buffer {
  return wrap(toBinary(PacketSchema, create(PacketSchema, { type, id, data })));
}

/**
 * A DATA packet for file `id` whose content sits in `buf` from DATA_HEADROOM on (`n` bytes): the header is written
 * into the headroom just before it, and the packet is a view of `buf`.
 */
export function dataPacketInPlace(buf: Buffer, id: number, n: number): Buffer {
  const start = DATA_HEADROOM - (2 + (id !== 0 ? 1 + varintSize(id) : 0) + 1 + varintSize(n));
  let at = start;
  buf[at++] = 0x08;
  buf[at++] = PacketType.PACKET_DATA;
  if (id !== 0) {
    buf[at++] = 0x18;
    at = writeVarint(buf, at, id);
  }
  buf[at++] = 0x22;
  writeVarint(buf, at, n);
  return buf.subarray(start, DATA_HEADROOM + n);
}

/** Decode a Packet (DATA's bytes stay a view of `buf`). */
export function decodePacket(buf: Uint8Array): Packet {
  return fromBinary(PacketSchema, buf);
}

/** A BytesMessage around `data` (field 1, length-delimited). */
export function encodeBytesMessage(data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + varintSize(data.length) + data.length);
  buf[0] = 0x0a;
  buf.set(data, writeVarint(buf, 1, data.length));
  return buf;
}

/** The payload of a BytesMessage, as a view of `buf`; unknown fields are skipped. */
export function decodeBytesMessage(buf: Uint8Array): Uint8Array {
  let pos = 0;
  let data: Uint8Array = new Uint8Array(0);
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const wire = tag & 7;
    if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      if (tag >>> 3 === 1) data = buf.subarray(p2, p2 + len);
      pos = p2 + len;
    } else if (wire === 0) {
      pos = readVarint(buf, pos)[1];
    } else if (wire === 5) pos += 4;
    else if (wire === 1) pos += 8;
    else throw new Error(`malformed BytesMessage (wire type ${wire})`);
  }
  if (pos > buf.length) throw new Error("malformed BytesMessage (truncated)");
  return data;
}

/** Bytes the protobuf varint of a non-negative integer takes. */
export function varintSize(n: number): number {
  let size = 1;
  for (; n > 0x7f; size++) n = Math.floor(n / 128);
  return size;
}

/** Write the protobuf varint of a non-negative integer at `at`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n > 0x7f) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let n = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error("malformed message (truncated varint)");
    const b = buf[pos++];
    n += (b & 0x7f) * mul;
    if (b < 0x80) return [n, pos];
    mul *= 128;
  }
}

function wrap(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
