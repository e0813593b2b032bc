/** index.json of an OCI layout directory, read and updated as buildctl's ociindex does (tags as ref.name). */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** An OCI descriptor, as index.json holds it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

interface Index {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  [key: string]: unknown;
}

const REF_NAME = "org.opencontainers.image.ref.name";
const IMAGE_NAME = "io.containerd.image.name";

function readIndex(dir: string): Index | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, "index.json"), "utf8");
  } catch {
    return undefined;
  }
  return JSON.parse(text) as Index;
}

/** The manifest tagged `tag` (image name first, then ref name), if any. */
export function indexGet(dir: string, tag: string): Descriptor | undefined {
  const ms = readIndex(dir)?.manifests ?? [];
  return ms.find((m) => m.annotations?.[IMAGE_NAME] === tag) ??
    ms.find((m) => m.annotations?.[REF_NAME] === tag);
}

/** Tag `desc` as `tag`, replacing what had that tag; writes oci-layout too. Replaced atomically. */
export function indexPut(dir: string, desc: Descriptor, tag: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const idx = readIndex(dir) ?? { schemaVersion: 2, manifests: [] };
  idx.schemaVersion ||= 2;
  idx.mediaType ||= "application/vnd.oci.image.index.v1+json";
  idx.manifests = (idx.manifests ?? []).filter((m) =>
    m.annotations?.[REF_NAME] !== tag || m.annotations?.[IMAGE_NAME]
  );
  idx.manifests.push({ ...desc, annotations: { ...desc.annotations, [REF_NAME]: tag } });
  const tmp = join(dir, `.index.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(idx));
  renameSync(tmp, join(dir, "index.json"));
}
