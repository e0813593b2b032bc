/** The local exporter's receiving side, fed packets as buildkitd's fsutil sender sends them. */
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PacketSchema } from "../gen/fsutil/types/wire_pb.ts";
import { GoMode } from "./fsmode.ts";
import { DirReceiver } from "./fsreceive.ts";
import { decodePacket, type Packet, PacketType } from "./packets.ts";

const T = 1600000000123456789n;
const stat = (path: string, mode: number, extra: { linkname?: string; size?: bigint } = {}): Packet =>
  create(PacketSchema, {
    type: PacketType.PACKET_STAT,
    stat: { path, mode: mode >>> 0, modTime: T, ...extra },
  });
const data = (id: number, text = "") =>
  create(PacketSchema, { type: PacketType.PACKET_DATA, id, data: Buffer.from(text) });

async function receive(dest: string, packets: Packet[]) {
  const sent: Packet[] = [];
  const r = new DirReceiver(dest, (b) => sent.push(decodePacket(b)));
  await r.init();
  for (const p of packets) await r.handle(p);
  return { r, sent };
}

Deno.test("a tree is written in order: dirs, files after their DATA, links; FIN once everything arrived", async () => {
  const dest = mkdtempSync(join(tmpdir(), "fsreceive-"));
  try {
    const { r, sent } = await receive(join(dest, "out"), [
      stat("bin", GoMode.dir | 0o755),
      stat("bin/tool", 0o755),
      stat("bin/tool2", 0o755, { linkname: "bin/tool" }),
      stat("etc", GoMode.dir | 0o555),
      stat("etc/conf", 0o640),
      stat("link", GoMode.symlink | 0o777, { linkname: "bin/tool" }),
      stat("tmp", GoMode.dir | GoMode.sticky | 0o777),
      create(PacketSchema, { type: PacketType.PACKET_STAT }),
      data(1, "#!/bin/sh\n"),
      data(4, "k=v"),
      data(1),
    ]);
    // REQ for the two regular files (ids count every STAT), no FIN while etc/conf is open.
    assert.deepEqual(sent.map((p) => [p.type, p.id]), [[PacketType.PACKET_REQ, 1], [
      PacketType.PACKET_REQ,
      4,
    ]]);
    await r.handle(data(4));
    assert.equal(sent.at(-1)!.type, PacketType.PACKET_FIN);
    await r.handle(create(PacketSchema, { type: PacketType.PACKET_FIN }));
    assert.equal(r.finished, true);
    const out = join(dest, "out");
    assert.equal(readFileSync(join(out, "bin/tool"), "utf8"), "#!/bin/sh\n");
    assert.equal(statSync(join(out, "bin/tool")).mode & 0o7777, 0o755);
    assert.equal(statSync(join(out, "bin/tool2")).ino, statSync(join(out, "bin/tool")).ino);
    assert.equal(readFileSync(join(out, "etc/conf"), "utf8"), "k=v");
    assert.equal(statSync(join(out, "etc")).mode & 0o7777, 0o555);
    assert.equal(statSync(join(out, "tmp")).mode & 0o7777, 0o1777);
    assert.equal(readlinkSync(join(out, "link")), "bin/tool");
    // Times to the microsecond (utimes takes seconds as a double).
    assert.equal(Math.round(statSync(join(out, "etc/conf")).mtimeMs), Number(T / 1_000_000n));
    assert.equal(r.stats.bytes, 13);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});

Deno.test("merging replaces files and links but keeps what the export does not name", async () => {
  const dest = mkdtempSync(join(tmpdir(), "fsreceive-"));
  try {
    writeFileSync(join(dest, "keep"), "mine");
    writeFileSync(join(dest, "f"), "old");
    const { r } = await receive(dest, [
      stat("f", GoMode.symlink | 0o777, { linkname: "keep" }),
      create(PacketSchema, { type: PacketType.PACKET_STAT }),
    ]);
    assert.equal(lstatSync(join(dest, "f")).isSymbolicLink(), true);
    assert.equal(readFileSync(join(dest, "keep"), "utf8"), "mine");
    assert.equal(r.finished, false);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});

Deno.test("paths that leave the destination, or come before their parent, are refused", async () => {
  const dest = mkdtempSync(join(tmpdir(), "fsreceive-"));
  try {
    for (const bad of ["../x", "/etc/x", "a/../../x", "./a"]) {
      await assert.rejects(receive(dest, [stat(bad, 0o644)]), /invalid path/, bad);
    }
    await assert.rejects(receive(dest, [stat("a/b", 0o644)]), /out of order/);
    await assert.rejects(
      receive(dest, [stat("h", 0o644, { linkname: "../etc/passwd" })]),
      /invalid hard link/,
    );
    await assert.rejects(receive(dest, [data(9, "x")]), /invalid file request 9/);
    await assert.rejects(
      receive(dest, [create(PacketSchema, { type: PacketType.PACKET_ERR, data: Buffer.from("disk full") })]),
      /error from sender: disk full/,
    );
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});
