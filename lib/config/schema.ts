/**
 * The keys the contexts file accepts, as data: the validator walks it, the JSON Schema is generated from it,
 * and `envd.contexts.toml.example` is tested against it, so the three cannot drift apart.
 */
import { BUILDER_TYPES } from "../driver/registry.ts";
import { RUNNER_TYPES } from "./types.ts";

/** `client`: a key of envd-lite's own, not of buildkitd.toml (the key-table test skips it). */
type Common = { doc: string; client?: true };
/** A string form the value (or each array item) must match; `what` names it in the error. */
type Pattern = { pattern?: string; what?: string; hint?: string };
export type KeySpec =
  | Common & Pattern & { kind: "string"; enum?: readonly string[] }
  | Common & { kind: "bool" }
  | Common & { kind: "int"; min?: number }
  | Common & { kind: "size" }
  | Common & { kind: "duration" }
  | Common & Pattern & { kind: "strings" }
  | Common & { kind: "any" }
  | Common & { kind: "table"; keys: Record<string, KeySpec>; required?: string[] }
  | Common & { kind: "tables"; keys: Record<string, KeySpec>; required?: string[] }
  | Common & { kind: "map"; value: KeySpec; keyPattern?: string };

/** Context names: envd accepts anything; we take docker's rule, as a name also becomes a TOML key and a file name. */
export const NAME_PATTERN = "^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$";

const size = (doc: string): KeySpec => ({ kind: "size", doc });
const str = (doc: string): KeySpec => ({ kind: "string", doc });
const bool = (doc: string): KeySpec => ({ kind: "bool", doc });
const strs = (doc: string): KeySpec => ({ kind: "strings", doc });
const table = (doc: string, keys: Record<string, KeySpec>): KeySpec => ({ kind: "table", doc, keys });
const mine = (spec: KeySpec): KeySpec => ({ ...spec, client: true });

const GC_SPACE = {
  reservedSpace: size("Never prune below this much cache (bytes, `512MB`, `20GB` or `10%` of the disk)"),
  maxUsedSpace: size("Prune while the cache is larger than this"),
  minFreeSpace: size("Prune while the disk has less free space than this"),
};

// buildkitd's GCConfig and NetworkConfig, embedded in both workers, and the keys both workers share.
const WORKER_COMMON: Record<string, KeySpec> = {
  enabled: bool("Run this worker (a managed daemon runs the containerd worker when its table is present)"),
  labels: { kind: "map", doc: "Extra worker labels", value: str("Label value") },
  platforms: strs("Platforms the worker offers"),
  snapshotter: str("Snapshotter (auto, overlayfs, native, fuse-overlayfs, stargz)"),
  gc: bool("Enable garbage collection"),
  gckeepstorage: size("Cache size to keep (deprecated in buildkitd for reservedSpace, still honoured)"),
  ...GC_SPACE,
  gcpolicy: {
    kind: "tables",
    doc: "GC rules, applied in order",
    keys: {
      all: bool("Apply to every record, internal ones too"),
      filters: strs("Record filters, e.g. type==source.local"),
      keepDuration: { kind: "duration", doc: "Keep records used within this long (`48h`, or seconds)" },
      keepBytes: size("Old name of reservedSpace"),
      ...GC_SPACE,
    },
  },
  networkMode: str("Network of build steps: auto, cni or host"),
  cniConfigPath: str("CNI config file"),
  cniBinaryPath: str("Directory of CNI plugins"),
  cniPoolSize: { kind: "int", doc: "Network namespaces kept ready", min: 0 },
  bridgeName: str("Bridge of the bridge network mode"),
  bridgeSubnet: str("Subnet of the bridge network mode"),
  "apparmor-profile": str("AppArmor profile confining build containers (already loaded)"),
  selinux: bool("Apply SELinux labels"),
  "max-parallelism": { kind: "int", doc: "Maximum parallel build steps", min: 1 },
  defaultCgroupParent: str("Cgroup parent of build containers"),
};

const WORKERS: KeySpec = table("Worker settings, as buildkitd.toml's [worker]", {
  oci: table(
    "OCI worker: rendered into managed daemons' buildkitd.toml, its GC rules applied by `prune` for remote ones",
    {
      ...WORKER_COMMON,
      noProcessSandbox: bool(
        "Run build steps without their own PID namespace (as --oci-worker-no-process-sandbox)",
      ),
      binary: str("OCI runtime binary (default buildkit-runc, then runc)"),
      proxySnapshotterPath: str("Socket of a proxy snapshotter plugin"),
      stargzSnapshotter: { kind: "any", doc: "stargz snapshotter settings, passed through" },
    },
  ),
  containerd: table(
    "containerd worker: build steps and snapshots in a containerd; a managed daemon runs it instead of the OCI worker",
    {
      ...WORKER_COMMON,
      address: str("containerd socket (default /run/containerd/containerd.sock)"),
      namespace: str("containerd namespace (default buildkit)"),
      runtime: table("Runtime of build steps", {
        name: str("Runtime name, e.g. io.containerd.runc.v2"),
        path: str("Runtime binary"),
        options: { kind: "any", doc: "Runtime options, passed through" },
      }),
    },
  ),
});

/** Keys of buildkitd.toml outside [worker], [grpc] and [registry] that a context can carry. */
const DAEMON_KEYS: Record<string, KeySpec> = {
  debug: bool("buildkitd debug logging"),
  trace: bool("buildkitd trace logging"),
  "insecure-entitlements": strs("Entitlements builds may ask for: security.insecure, network.host, device"),
  provenanceEnvDir: str("Directory of extra provenance environment files"),
  log: table("Daemon log", { format: { kind: "string", doc: "Log format", enum: ["text", "json"] } }),
  dns: table("DNS of build steps", {
    nameservers: strs("Name servers"),
    options: strs("resolv.conf options"),
    searchDomains: strs("Search domains"),
  }),
  history: table("Build history kept by the daemon", {
    maxAge: { kind: "duration", doc: "Drop records older than this" },
    maxEntries: { kind: "int", doc: "Keep at most this many records", min: 0 },
  }),
  frontend: table('Built-in frontends, as [frontend."dockerfile.v0"] and [frontend."gateway.v0"]', {
    "dockerfile.v0": table("The built-in Dockerfile frontend", { enabled: bool("Offer it") }),
    "gateway.v0": table("The gateway frontend (frontend images)", {
      enabled: bool("Offer it"),
      allowedRepositories: strs("Frontend images it may run"),
    }),
  }),
  cdi: table("Container Device Interface", {
    disabled: bool("Turn CDI off"),
    specDirs: strs("Directories of CDI specs"),
    autoAllowed: strs("Devices builds get without asking"),
  }),
  system: table("Daemon system settings", {
    platformsCacheMaxAge: { kind: "duration", doc: "How often supported platforms are rescanned" },
  }),
};

/** Keys of a context that map onto its own model fields; every other key is a buildkitd.toml key kept as written. */
export const MODEL_KEYS = [
  "builder",
  "builder-address",
  "runner",
  "runner-address",
  "grpc",
  "registry",
  "daemon",
  "serve",
  "node",
];

/** `os/arch[/variant]`, as buildkitd's platforms are written. */
export const PLATFORM_PATTERN = "^[a-z0-9_]+/[a-z0-9_]+(/[a-z0-9_.]+)?$";

const GRPC: KeySpec = table("gRPC settings, as buildkitd.toml's [grpc] seen from the client", {
  tls: table(
    "TLS to a remote buildkitd: `ca` alone verifies the server, `cert`+`key` add a client certificate",
    {
      ca: str("CA certificate: a path, or PEM text"),
      cert: str("Client certificate: a path, or PEM text"),
      key: str("Client key: a path, or PEM text"),
      servername: mine(str("Name to verify the server certificate against")),
    },
  ),
});

/** `[[context.N.node]]`: more buildkitd of the context; builds go to them by platform, sticky, with failover. */
export const NODE_SPEC: KeySpec & { kind: "tables" } = {
  kind: "tables",
  doc:
    "More buildkitd nodes of this context (its own builder is the first): builds route to them by platform",
  client: true,
  required: ["name", "builder", "builder-address"],
  keys: {
    name: {
      kind: "string",
      doc: "Node name, unique within the context (and not the context's own name)",
      pattern: NAME_PATTERN,
      what: "node name",
    },
    builder: { kind: "string", doc: "Builder type", enum: BUILDER_TYPES },
    "builder-address": str("Builder address, as the context's"),
    platforms: {
      kind: "strings",
      doc: "Platforms it builds (os/arch[/variant]); default: what its workers report",
      pattern: PLATFORM_PATTERN,
      what: "platform",
      hint: "use os/arch[/variant], e.g. linux/arm64",
    },
    grpc: GRPC,
  },
};

export const CONTEXT_SPEC: KeySpec = {
  kind: "table",
  doc: "One build context: where buildkitd is and how to reach it",
  required: ["builder"],
  keys: {
    builder: mine({ kind: "string", doc: "Builder type", enum: BUILDER_TYPES }),
    "builder-address": mine(str("Builder address: container name, host:port, socket path or pod")),
    runner: mine({ kind: "string", doc: "Runner type", enum: RUNNER_TYPES }),
    "runner-address": mine(str("Runner address (envd-server URL)")),
    ...DAEMON_KEYS,
    grpc: GRPC,
    worker: WORKERS,
    registry: {
      kind: "map",
      doc: 'Registry settings by host, as buildkitd.toml\'s [registry."host"]',
      value: table("One registry", {
        mirrors: strs("Mirrors to pull from first (host[/path])"),
        http: bool("Plain HTTP"),
        insecure: bool("HTTPS without certificate verification"),
        ca: strs("CA certificate paths"),
        keypair: {
          kind: "tables",
          doc: "Client certificates",
          required: ["key", "cert"],
          keys: { key: str("Key path"), cert: str("Certificate path") },
        },
      }),
    },
    daemon: mine(
      table("Present when envd-lite manages the daemon (docker-container, or a local unix socket)", {
        image: str("buildkit image (docker-container)"),
        rootless: bool("Run buildkitd rootless"),
        flags: strs("Extra buildkitd flags"),
        state: str("Volume (docker-container) or directory holding the daemon's state"),
      }),
    ),
    serve: mine(table("How `envd-lite serve` runs this context's daemon on the builder machine", {
      address: strs("Addresses to listen on (default tcp://0.0.0.0:8888)"),
      cert: str("Server certificate path (buildkitd.toml's [grpc.tls] cert)"),
      key: str("Server key path"),
      ca: str("CA that client certificates must chain to (mTLS)"),
      rootless: bool("Run rootless (default: rootless unless run as root)"),
      state: str("Directory holding the daemon's state"),
      flags: strs("Extra buildkitd flags"),
    })),
    node: NODE_SPEC,
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
