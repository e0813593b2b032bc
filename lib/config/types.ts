/** The contexts file's data model, as validated from TOML. */

/** A byte size as buildkitd accepts it: plain bytes, a unit string (binary units), or a percent of the disk. */
export interface Size {
  /** What the user wrote, kept for display and for rendering buildkitd.toml. */
  text: string;
  bytes?: number;
  percent?: number;
}

/** A Go-syntax duration (`48h`, `1m30s`) or integer seconds. */
export interface Duration {
  text: string;
  ms: number;
}

/** `[context.N.grpc.tls]`: buildkitd.toml's keys seen from the client. Paths, or PEM text when embedded. */
export interface TlsConfig {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
}

/** One `[[context.N.worker.W.gcpolicy]]` entry, typed. */
export interface GcPolicy {
  all?: boolean;
  filters?: string[];
  keepDuration?: Duration;
  keepBytes?: Size;
  reservedSpace?: Size;
  maxUsedSpace?: Size;
  minFreeSpace?: Size;
}

/** The GC keys of `[context.N.worker.W]`, typed (see `workerGc`). */
export interface WorkerGc {
  gc?: boolean;
  gckeepstorage?: Size;
  reservedSpace?: Size;
  maxUsedSpace?: Size;
  minFreeSpace?: Size;
  gcpolicy?: GcPolicy[];
}

/** The two workers buildkitd has, by their buildkitd.toml table name (and executor label). */
export const WORKER_NAMES = ["oci", "containerd"] as const;
export type WorkerName = typeof WORKER_NAMES[number];

/** A TOML value as the file holds it (after validation against the schema). */
export type RawTable = Record<string, unknown>;

/** `[context.N.registry."host"]`. */
export interface RegistryConfig {
  mirrors?: string[];
  http?: boolean;
  insecure?: boolean;
  ca?: string[];
  keypair?: { key: string; cert: string }[];
}

/** `[context.N.daemon]`: present when envd-lite manages the daemon itself. */
export interface DaemonConfig {
  image?: string;
  rootless?: boolean;
  flags?: string[];
  state?: string;
}

/** `[context.N.serve]`: how `envd-lite serve` runs this context's daemon on the builder machine. */
export interface ServeConfig {
  address?: string[];
  cert?: string;
  key?: string;
  ca?: string;
  rootless?: boolean;
  state?: string;
  flags?: string[];
}

/** `[[context.N.node]]`: one more buildkitd of the context (the context's own builder is its first node). */
export interface NodeConfig {
  /** Unique within the context, and not the context's own name (which names its first node). */
  name: string;
  builder: string;
  builderAddress: string;
  /** Platforms this node builds; absent means what its workers report. */
  platforms?: string[];
  tls?: TlsConfig;
}

/** One context: envd's 5-tuple plus the buildkitd.toml-shaped sections. */
export interface Context {
  name: string;
  builder: string;
  builderAddress: string;
  runner: string;
  runnerAddress?: string;
  tls?: TlsConfig;
  registry?: Record<string, RegistryConfig>;
  /**
   * Every other buildkitd.toml key of the context ([worker.oci], [worker.containerd], debug, [dns], ...) exactly as
   * the file holds it: rendering it back writes the same value forms (an integer stays an integer).
   */
  buildkitd?: RawTable;
  daemon?: DaemonConfig;
  serve?: ServeConfig;
  /** More buildkitd nodes, in file order ([[context.N.node]]). */
  nodes?: NodeConfig[];
}

/** The whole file: contexts in file order and the current one. */
export interface ContextsFile {
  current: string;
  contexts: Context[];
}

/** Where a context came from and why it is the one in use. */
export interface ResolvedContext {
  context: Context;
  /** Absolute path of the contexts file, or null when the embedded default was used. */
  file: string | null;
  /** What picked it: the --context flag, ENVD_CONTEXT, or the file's `current`. */
  source: "flag" | "env" | "file";
}

export const RUNNER_TYPES = ["docker", "envd-server"] as const;
