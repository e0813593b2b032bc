/** Plain, JSON-friendly shapes of what buildkitd reports, converted from the generated messages. */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { UsageRecord as PbUsageRecord } from "./gen/moby/buildkit/v1/control_pb.ts";
import type { BuildkitVersion, GCPolicy, WorkerRecord } from "./gen/moby/buildkit/v1/types/worker_pb.ts";
import type { Platform as PbPlatform } from "./gen/pb/ops_pb.ts";

/** The daemon's version. Empty strings mean a daemon older than v0.11, which does not report one. */
export interface BuildkitInfo {
  package: string;
  version: string;
  revision: string;
  /** v0.30+ only. */
  dockerfileVersion?: string;
}

/** An OCI platform, as `os/arch[/variant]`. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  osVersion?: string;
  osFeatures?: string[];
}

/** One garbage-collection rule; byte counts and durations are plain numbers (exact below 2^53, i.e. 8 PiB). */
export interface GcPolicy {
  all: boolean;
  filters: string[];
  keepDurationMs: number;
  reservedSpace: number;
  maxUsedSpace: number;
  minFreeSpace: number;
}

/** A worker (executor + snapshotter) of the daemon. */
export interface Worker {
  id: string;
  labels: Record<string, string>;
  platforms: Platform[];
  gcPolicies: GcPolicy[];
  /** v0.11+ daemons report their version per worker too. */
  buildkitVersion?: BuildkitInfo;
}

/** A cache record from DiskUsage or Prune. */
export interface UsageRecord {
  id: string;
  mutable: boolean;
  inUse: boolean;
  shared: boolean;
  size: number;
  parents: string[];
  createdAt?: Date;
  lastUsedAt?: Date;
  usageCount: number;
  description: string;
  /** regular | internal | frontend | source.local | source.git.checkout | exec.cachemount */
  recordType: string;
}

const NS_PER_MS = 1_000_000n;

/** Version message to BuildkitInfo. */
export function toInfo(v: BuildkitVersion | undefined): BuildkitInfo {
  const info: BuildkitInfo = {
    package: v?.package ?? "",
    version: v?.version ?? "",
    revision: v?.revision ?? "",
  };
  if (v?.dockerfileVersion) info.dockerfileVersion = v.dockerfileVersion;
  return info;
}

/** Worker message to Worker. */
export function toWorker(w: WorkerRecord): Worker {
  const out: Worker = {
    id: w.id,
    labels: { ...w.labels },
    platforms: w.platforms.map(toPlatform),
    gcPolicies: w.gcPolicy.map(toGcPolicy),
  };
  if (w.buildkitVersion) out.buildkitVersion = toInfo(w.buildkitVersion);
  return out;
}

/** GC policy message to GcPolicy (nanoseconds become milliseconds). */
export function toGcPolicy(p: GCPolicy): GcPolicy {
  return {
    all: p.all,
    filters: [...p.filters],
    keepDurationMs: Number(p.keepDuration / NS_PER_MS),
    reservedSpace: Number(p.reservedSpace),
    maxUsedSpace: Number(p.maxUsedSpace),
    minFreeSpace: Number(p.minFreeSpace),
  };
}

/** Platform message to Platform, leaving out empty optional parts. */
export function toPlatform(p: PbPlatform): Platform {
  const out: Platform = { os: p.os, architecture: p.architecture };
  if (p.variant) out.variant = p.variant;
  if (p.osVersion) out.osVersion = p.osVersion;
  if (p.osFeatures.length) out.osFeatures = [...p.osFeatures];
  return out;
}

/** `os/arch[/variant]`, as buildctl prints platforms. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** Usage record message to UsageRecord (`parents` falls back to the pre-v0.10 single `parent`). */
export function toUsageRecord(r: PbUsageRecord): UsageRecord {
  const out: UsageRecord = {
    id: r.id,
    mutable: r.mutable,
    inUse: r.inUse,
    shared: r.shared,
    size: Number(r.size),
    parents: r.parents.length ? [...r.parents] : r.parent ? [r.parent] : [],
    usageCount: Number(r.usageCount),
    description: r.description,
    recordType: r.recordType,
  };
  const created = toDate(r.createdAt);
  if (created) out.createdAt = created;
  const used = toDate(r.lastUsedAt);
  if (used) out.lastUsedAt = used;
  return out;
}

/** Milliseconds to a Go time.Duration (nanoseconds) for the wire. */
export function msToNs(ms: number): bigint {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`invalid duration: ${ms} ms`);
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

/** A byte count for an int64 field. */
export function toInt64(bytes: number): bigint {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`invalid byte count: ${bytes}`);
  return BigInt(bytes);
}

/** A Date that keeps the wire's nanoseconds within its second (JSON still shows the ISO time). */
export class PreciseDate extends Date {
  constructor(ms: number, readonly nanos: number) {
    super(ms);
  }
}

// Go's zero time.Time (year 1) marshals as a Timestamp far before 1970; treat it as absent.
function toDate(t: Timestamp | undefined): PreciseDate | undefined {
  if (!t || t.seconds <= 0n) return undefined;
  return new PreciseDate(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6), t.nanos);
}
