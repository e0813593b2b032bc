/** Hand-framed packets decode as the generated code (and so Go) reads them. */
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BytesMessageSchema } from "../gen/moby/filesync/v1/filesync_pb.ts";
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

Deno.test("BytesMessage framing round-trips with the generated code", () => {
  for (const n of [0, 5, 200, 100000]) {
    const data = Buffer.alloc(n, 3);
    assert.deepEqual(Buffer.from(fromBinary(BytesMessageSchema, encodeBytesMessage(data)).data), data);
    const generated = toBinary(BytesMessageSchema, create(BytesMessageSchema, { data }));
    assert.deepEqual(Buffer.from(decodeBytesMessage(generated)), data);
  }
  assert.throws(() => decodeBytesMessage(Buffer.from([0x0a, 0x05, 1])), /truncated/);
});
