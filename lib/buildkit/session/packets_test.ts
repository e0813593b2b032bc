/** Hand-framed packets decode as the generated code (and so Go) reads them. */
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BytesMessageSchema } from "../gen/moby/filesync/v1/filesync_pb.ts";
import { PacketSchema } from "../gen/fsutil/types/wire_pb.ts";
import {
  controlPacket,
  DATA_HEADROOM,
  dataPacketInPlace,
  decodeBytesMessage,
  decodePacket,
  encodeBytesMessage,
  PacketType,
  statPacket,
} from "./packets.ts";

Deno.test("a DATA packet written in place decodes with its id and bytes", () => {
  for (const [id, n] of [[0, 1], [1, 127], [300, 128], [2 ** 31, 70000]]) {
    const buf = Buffer.alloc(DATA_HEADROOM + n);
    buf.fill(9, DATA_HEADROOM);
    const p = decodePacket(dataPacketInPlace(buf, id, n));
    assert.equal(p.type, PacketType.PACKET_DATA);
    assert.equal(p.id, id);
    assert.deepEqual(Buffer.from(p.data), Buffer.alloc(n, 9));
  }
});

Deno.test("STAT, end of listing, REQ, FIN and ERR packets", () => {
  const p = decodePacket(
    statPacket({
      path: "a/b",
      mode: 0x800001ed,
      uid: 0,
      gid: 0,
      size: 3n,
      modTime: 1700000000123456789n,
      linkname: "",
      devmajor: 0n,
      devminor: 0n,
    }),
  );
  assert.equal(p.stat?.path, "a/b");
  assert.equal(p.stat?.mode, 0x800001ed);
  assert.equal(p.stat?.modTime, 1700000000123456789n);
  assert.equal(decodePacket(statPacket()).stat, undefined);
  assert.equal(decodePacket(controlPacket(PacketType.PACKET_REQ, 7)).id, 7);
  assert.equal(decodePacket(controlPacket(PacketType.PACKET_FIN)).type, PacketType.PACKET_FIN);
  assert.equal(
    Buffer.from(decodePacket(controlPacket(PacketType.PACKET_ERR, 0, Buffer.from("boom"))).data).toString(),
    "boom",
  );
});

Deno.test("hand-encoded STAT packets are byte for byte what the generated code writes", () => {
  const base = {
    path: "a/b",
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0n,
    modTime: 0n,
    linkname: "",
    devmajor: 0n,
    devminor: 0n,
  };
  const cases = [
    base,
    { ...base, path: "x", mode: 0x800001ed, uid: 1000, gid: 65534, size: 3n, modTime: 1700000000123456789n },
    { ...base, path: "dir/ünïcødé 文件", mode: 0x8000_01ff, size: (1n << 40n) + 7n },
    { ...base, path: "l", mode: 0x0800_01ff, linkname: "../target/€" },
    { ...base, path: "dev", mode: 0x0400_0000 | 0x0020_0000 | 0o660, devmajor: 8n, devminor: 0xfff00n },
    // Before 1970: a negative int64 is ten bytes.
    { ...base, path: "old", modTime: -1n },
    { ...base, path: "old2", modTime: -86400_000_000_000n, uid: 0xffffffff, gid: 0x7fffffff },
    { ...base, path: "p".repeat(300), size: (1n << 63n) - 1n },
  ];
  for (const stat of cases) {
    const generated = toBinary(PacketSchema, create(PacketSchema, { type: PacketType.PACKET_STAT, stat }));
    assert.deepEqual(new Uint8Array(statPacket(stat)), generated, stat.path);
  }
  assert.deepEqual(
    new Uint8Array(statPacket()),
    toBinary(PacketSchema, create(PacketSchema, { type: PacketType.PACKET_STAT })),
  );
});

Deno.test("BytesMessage framing round-trips with the generated code", () => {
  for (const n of [0, 5, 200, 100000]) {
    const data = Buffer.alloc(n, 3);
    assert.deepEqual(Buffer.from(fromBinary(BytesMessageSchema, encodeBytesMessage(data)).data), data);
    const generated = toBinary(BytesMessageSchema, create(BytesMessageSchema, { data }));
    assert.deepEqual(Buffer.from(decodeBytesMessage(generated)), data);
  }
  assert.throws(() => decodeBytesMessage(Buffer.from([0x0a, 0x05, 1])), /truncated/);
});
