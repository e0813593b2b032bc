/**
 * The keys the contexts file accepts, as data: the validator walks it, the JSON Schema is generated from it,
 * and `envd.contexts.toml.example` is tested against it, so the three cannot drift apart.
 */
import { BUILDER_TYPES } from "../driver/registry.ts";
import { RUNNER_TYPES } from "./types.ts";

export type KeySpec =
  | { kind: "string"; doc: string; enum?: readonly string[] }
  | { kind: "bool"; doc: string }
  | { kind: "int"; doc: string; min?: number }
  | { kind: "size"; doc: string }
  | { kind: "duration"; doc: string }
  | { kind: "strings"; doc: string }
  | { kind: "table"; doc: string; keys: Record<string, KeySpec>; required?: string[] }
  | { kind: "tables"; doc: string; keys: Record<string, KeySpec>; required?: string[] }
  | { kind: "map"; doc: string; value: KeySpec; keyPattern?: string };

/** Context names: envd accepts anything; we take docker's rule, as a name also becomes a TOML key and a file name. */
export const NAME_PATTERN = "^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$";

const size = (doc: string): KeySpec => ({ kind: "size", doc });

const GC_SPACE = {
  reservedSpace: size("Never prune below this much cache (bytes, `512MB`, `20GB` or `10%` of the disk)"),
  maxUsedSpace: size("Prune while the cache is larger than this"),
  minFreeSpace: size("Prune while the disk has less free space than this"),
};

export const CONTEXT_SPEC: KeySpec = {
  kind: "table",
  doc: "One build context: where buildkitd is and how to reach it",
  required: ["builder"],
  keys: {
    builder: { kind: "string", doc: "Builder type", enum: BUILDER_TYPES },
    "builder-address": {
      kind: "string",
      doc: "Builder address: container name, host:port, socket path or pod",
    },
    runner: { kind: "string", doc: "Runner type", enum: RUNNER_TYPES },
    "runner-address": { kind: "string", doc: "Runner address (envd-server URL)" },
    grpc: {
      kind: "table",
      doc: "gRPC settings, as buildkitd.toml's [grpc] seen from the client",
      keys: {
        tls: {
          kind: "table",
          doc:
            "TLS to a remote buildkitd: `ca` alone verifies the server, `cert`+`key` add a client certificate",
          keys: {
            ca: { kind: "string", doc: "CA certificate: a path, or PEM text" },
            cert: { kind: "string", doc: "Client certificate: a path, or PEM text" },
            key: { kind: "string", doc: "Client key: a path, or PEM text" },
            servername: { kind: "string", doc: "Name to verify the server certificate against" },
          },
        },
      },
    },
    worker: {
      kind: "table",
      doc: "Worker settings, as buildkitd.toml's [worker]",
      keys: {
        oci: {
          kind: "table",
          doc:
            "OCI worker: rendered into managed daemons' buildkitd.toml, applied by `prune` for remote ones",
          keys: {
            gc: { kind: "bool", doc: "Enable garbage collection" },
            gckeepstorage: size(
              "Cache size to keep (deprecated in buildkitd for reservedSpace, still honoured)",
            ),
            ...GC_SPACE,
            snapshotter: {
              kind: "string",
              doc: "Snapshotter (auto, overlayfs, native, fuse-overlayfs, stargz)",
            },
            platforms: { kind: "strings", doc: "Platforms the worker offers" },
            "max-parallelism": { kind: "int", doc: "Maximum parallel build steps", min: 1 },
            gcpolicy: {
              kind: "tables",
              doc: "GC rules, applied in order",
              keys: {
                all: { kind: "bool", doc: "Apply to every record, internal ones too" },
                filters: { kind: "strings", doc: "Record filters, e.g. type==source.local" },
                keepDuration: {
                  kind: "duration",
                  doc: "Keep records used within this long (`48h`, or seconds)",
                },
                keepBytes: size("Old name of reservedSpace"),
                ...GC_SPACE,
              },
            },
          },
        },
      },
    },
    registry: {
      kind: "map",
      doc: 'Registry settings by host, as buildkitd.toml\'s [registry."host"]',
      value: {
        kind: "table",
        doc: "One registry",
        keys: {
          mirrors: { kind: "strings", doc: "Mirrors to pull from first (host[/path])" },
          http: { kind: "bool", doc: "Plain HTTP" },
          insecure: { kind: "bool", doc: "HTTPS without certificate verification" },
          ca: { kind: "strings", doc: "CA certificate paths" },
          keypair: {
            kind: "tables",
            doc: "Client certificates",
            required: ["key", "cert"],
            keys: {
              key: { kind: "string", doc: "Key path" },
              cert: { kind: "string", doc: "Certificate path" },
            },
          },
        },
      },
    },
    daemon: {
      kind: "table",
      doc: "Present when envd-lite manages the daemon (docker-container, or a local unix socket)",
      keys: {
        image: { kind: "string", doc: "buildkit image (docker-container)" },
        rootless: { kind: "bool", doc: "Run buildkitd rootless" },
        flags: { kind: "strings", doc: "Extra buildkitd flags" },
        state: { kind: "string", doc: "Volume (docker-container) or directory holding the daemon's state" },
      },
    },
  },
};

export const FILE_SPEC: KeySpec = {
  kind: "table",
  doc: "envd-lite contexts file",
  keys: {
    current: { kind: "string", doc: "The context in use" },
    context: { kind: "map", doc: "Contexts by name", value: CONTEXT_SPEC, keyPattern: NAME_PATTERN },
  },
};
