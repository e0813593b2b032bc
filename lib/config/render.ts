/** Model → TOML text, for contexts the CLI adds, for export, and for `inspect`. */
import { tomlKey, tomlPath, type TomlValue, tomlValue } from "./toml_edit.ts";
import type { Context, ContextsFile, GcPolicy, RegistryConfig } from "./types.ts";

type Row = [string, TomlValue | undefined];

function lines(indent: string, rows: Row[]): string {
  return rows.filter(([, v]) => v !== undefined).map(([k, v]) =>
    `${indent}${tomlKey(k)} = ${tomlValue(v!)}\n`
  ).join("");
}

function gcRows(p: GcPolicy): Row[] {
  return [
    ["all", p.all],
    ["filters", p.filters],
    ["keepDuration", p.keepDuration?.text],
    ["keepBytes", p.keepBytes?.text],
    ["reservedSpace", p.reservedSpace?.text],
    ["maxUsedSpace", p.maxUsedSpace?.text],
    ["minFreeSpace", p.minFreeSpace?.text],
  ];
}

function registryBlock(base: string[], host: string, r: RegistryConfig): string {
  const path = [...base, "registry", host];
  let s = `\n  [${tomlPath(path)}]\n` +
    lines("  ", [["mirrors", r.mirrors], ["http", r.http], ["insecure", r.insecure], ["ca", r.ca]]);
  for (const kp of r.keypair ?? []) {
    s += `\n  [[${tomlPath([...path, "keypair"])}]]\n` + lines("  ", [["key", kp.key], ["cert", kp.cert]]);
  }
  return s;
}

/** One context as `[context.NAME]` plus its indented sub-tables; `prefix` re-roots it (export writes `[context]`). */
export function renderContext(c: Context, base: string[] = ["context", c.name]): string {
  let s = `[${tomlPath(base)}]\n` + lines("", [
    ["builder", c.builder],
    ["builder-address", c.builderAddress],
    ["runner", c.runner],
    ["runner-address", c.runnerAddress],
  ]);
  if (c.tls) {
    s += `\n  [${tomlPath([...base, "grpc", "tls"])}]\n` +
      lines("  ", [["ca", c.tls.ca], ["cert", c.tls.cert], ["key", c.tls.key], [
        "servername",
        c.tls.servername,
      ]]);
  }
  const oci = c.worker?.oci;
  if (oci) {
    s += `\n  [${tomlPath([...base, "worker", "oci"])}]\n` + lines("  ", [
      ["gc", oci.gc],
      ["gckeepstorage", oci.gckeepstorage?.text],
      ["reservedSpace", oci.reservedSpace?.text],
      ["maxUsedSpace", oci.maxUsedSpace?.text],
      ["minFreeSpace", oci.minFreeSpace?.text],
      ["snapshotter", oci.snapshotter],
      ["platforms", oci.platforms],
      ["max-parallelism", oci.maxParallelism],
    ]);
    for (const p of oci.gcpolicy ?? []) {
      s += `\n  [[${tomlPath([...base, "worker", "oci", "gcpolicy"])}]]\n` + lines("  ", gcRows(p));
    }
  }
  for (const [host, r] of Object.entries(c.registry ?? {})) s += registryBlock(base, host, r);
  if (c.daemon) {
    const d = c.daemon;
    s += `\n  [${tomlPath([...base, "daemon"])}]\n` +
      lines("  ", [["image", d.image], ["rootless", d.rootless], ["flags", d.flags], ["state", d.state]]);
  }
  return s;
}

/** The text of a new contexts file holding `model`. */
export function renderFile(model: ContextsFile): string {
  const head =
    "# envd-lite contexts: edit by hand or with `envd-lite context ...`; comments and layout are kept.\n" +
    "# Every key is documented in envd.contexts.toml.example.\n\n";
  return head + `current = ${tomlValue(model.current)}\n` +
    model.contexts.map((c) => "\n" + renderContext(c)).join("");
}
