/** A minimal ustar writer: enough to hand a few config files to Docker's putArchive, without a tar dependency. */

/** One entry; directories end with `/` and have no data. */
export interface TarEntry {
  path: string;
  data?: Uint8Array;
  mode: number;
  uid?: number;
  gid?: number;
}

const BLOCK = 512;
const enc = new TextEncoder();

function put(h: Uint8Array, offset: number, len: number, text: string): void {
  const b = enc.encode(text);
  if (b.length > len) throw new Error(`tar: "${text}" does not fit in ${len} bytes`);
  h.set(b, offset);
}

// Numeric fields are zero-padded octal, NUL-terminated.
const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0");

// ustar keeps long paths as prefix (155) + "/" + name (100).
function splitPath(path: string): [string, string] {
  if (enc.encode(path).length <= 100) return ["", path];
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (enc.encode(prefix).length <= 155 && enc.encode(name).length <= 100 && name) return [prefix, name];
  }
  throw new Error(`tar: path too long: ${path}`);
}

function header(e: TarEntry, size: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const [prefix, name] = splitPath(e.path);
  put(h, 0, 100, name);
  put(h, 100, 8, octal(e.mode & 0o7777, 8));
  put(h, 108, 8, octal(e.uid ?? 0, 8));
  put(h, 116, 8, octal(e.gid ?? 0, 8));
  put(h, 124, 12, octal(size, 12));
  put(h, 136, 12, octal(mtime, 12));
  h[156] = e.path.endsWith("/") ? 0x35 : 0x30; // '5' directory, '0' file
  put(h, 257, 8, "ustar\u000000");
  put(h, 345, 155, prefix);
  // The checksum is computed with its own field read as spaces.
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  put(h, 148, 8, octal(sum, 7) + "\u0000 ");
  return h;
}

/** A tar archive of `entries`, in order, ending with the two zero blocks. */
export function tar(entries: TarEntry[], mtime = Math.floor(Date.now() / 1000)): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = e.data ?? new Uint8Array();
    parts.push(header(e, data.length, mtime), data, new Uint8Array((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
