/**
 * One build over a context's nodes, as buildx's multi-node builders: each requested platform goes to a node that
 * has it (sticky per build directory, skipping nodes that do not answer), the nodes build in parallel, and their
 * results become one: an index pushed over the per-platform manifests, or local outputs split per platform.
 */
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import type { StatusResponse } from "../buildkit/gen/moby/buildkit/v1/control_pb.ts";
import { UserError } from "../errors.ts";
import { buildMetadata, imageId, writeAtomic } from "./metadata.ts";
import { type BuildPlan, releasePlan } from "./plan.ts";
import { type BuildHooks, type BuildNode, type BuildResult, runBuild, SolveFailure } from "./run.ts";
import type { OutputPlan } from "./specs.ts";

/** A node as the context declares it. */
export interface FleetNode {
  name: string;
  /** Declared platforms; absent means what its workers report once it answers. */
  platforms?: string[];
}

/** A node that answered: where to build, and the platforms its workers report. */
export interface OpenNode extends BuildNode {
  platforms: string[];
  close(): Promise<void>;
}

/** Opens a node within BUILDKIT_CONNECTING_TIMEOUT, or throws why it did not answer. */
export type OpenFleetNode = (name: string) => Promise<OpenNode>;

/** What one node builds. */
export interface NodeShare {
  node: string;
  /** The platforms it builds; empty means the node's own (no --platform given). */
  platforms: string[];
}

/** A fleet build's result: the merged result, and which node built what. */
export interface FleetResult extends BuildResult {
  shares: NodeShare[];
}

/** Hooks of a fleet build: a build's, plus the pushing of the merged index. */
export interface FleetHooks extends BuildHooks {
  /** Put the index `body` as `name` (repo:tag) where the nodes pushed its manifests. */
  pushIndex?(name: string, body: Uint8Array, mediaType: string): Promise<void>;
  /** The manifest `digest` of repository `name` as the registry holds it (a node's pushed result). */
  fetchManifest?(name: string, digest: string): Promise<{ mediaType: string; body: Uint8Array }>;
}

/** `linux/arm64/v8` and `linux/arm64` are one platform, as containerd's matcher has it. */
export function normalizePlatform(p: string): string {
  const parts = p.trim().toLowerCase().split("/");
  if (parts[1] === "aarch64") parts[1] = "arm64";
  if (parts[1] === "x86_64" || parts[1] === "x86-64") parts[1] = "amd64";
  if (parts[1] === "arm64" && parts[2] === "v8") parts.length = 2;
  return parts.join("/");
}

/** The build directory a build is sticky by: the context's absolute path and the Dockerfile. */
export function stickyKey(plan: BuildPlan): string {
  return `${plan.contextDir}\0${plan.dockerfileDir}/${plan.filename}`;
}

/**
 * Nodes in the order a build directory tries them: highest rendezvous hash first. A node's rank depends only on
 * the key and its own name, so the first node stays first while it is up, and the others keep their order.
 */
export function stickyOrder<T extends { name: string }>(key: string, nodes: T[]): T[] {
  const score = (n: T) => createHash("sha256").update(`${key}\0${n.name}`).digest("hex");
  return [...nodes].map((n) => ({ n, s: score(n) })).sort((a, b) => (a.s < b.s ? 1 : a.s > b.s ? -1 : 0))
    .map((x) => x.n);
}

/** One line for a node that did not answer. */
function downLine(name: string, err: unknown): string {
  return `node ${name} skipped: ${(err as Error)?.message ?? String(err)}`;
}

/** Decides which node builds which platform; opens what it tries (once each) and logs every node it skips. */
export async function routePlatforms(
  key: string,
  requested: string[],
  nodes: FleetNode[],
  open: OpenFleetNode,
  hooks: Pick<BuildHooks, "warn">,
): Promise<{ shares: NodeShare[]; opened: Map<string, OpenNode> }> {
  const opened = new Map<string, OpenNode>();
  const attempts = new Map<string, Promise<OpenNode | Error>>();
  const tryOpen = (name: string) => {
    let a = attempts.get(name);
    if (!a) {
      a = open(name).then((n) => (opened.set(name, n), n), (err) => {
        hooks.warn(downLine(name, err));
        return err instanceof Error ? err : new Error(String(err));
      });
      attempts.set(name, a);
    }
    return a;
  };
  const order = stickyOrder(key, nodes);
  const pick = async (platform: string | undefined): Promise<string> => {
    const tried: string[] = [];
    // Nodes that declare the platform, or declare none (their workers will say).
    const candidates = order.filter((n) =>
      platform === undefined || !n.platforms || n.platforms.some((p) => normalizePlatform(p) === platform)
    );
    for (const n of candidates) {
      const got = await tryOpen(n.name);
      if (got instanceof Error) {
        tried.push(`${n.name} (${got.message})`);
        continue;
      }
      if (platform === undefined || n.platforms || got.platforms.map(normalizePlatform).includes(platform)) {
        return n.name;
      }
    }
    if (platform === undefined) throw new UserError(`no node answers: tried ${tried.join(", ")}`);
    if (tried.length === 0) {
      const have = nodes.map((n) =>
        `${n.name} (${(n.platforms ?? opened.get(n.name)?.platforms ?? []).join(",")})`
      );
      throw new UserError(`no node builds ${platform}: nodes ${have.join(", ")}`);
    }
    throw new UserError(`no node for ${platform} answers: tried ${tried.join(", ")}`);
  };
  const platforms = requested.length ? requested.map(normalizePlatform) : [undefined];
  const picked = await Promise.allSettled(platforms.map(pick));
  const failed = picked.find((p) => p.status === "rejected");
  if (failed) {
    await Promise.all([...opened.values()].map((n) => n.close().catch(() => {})));
    throw (failed as PromiseRejectedResult).reason;
  }
  const byNode = new Map<string, string[]>();
  picked.forEach((p, i) => {
    const node = (p as PromiseFulfilledResult<string>).value;
    const list = byNode.get(node) ?? [];
    if (platforms[i]) list.push(requested[i]);
    byNode.set(node, list);
  });
  // Opened but not chosen: let them go now.
  for (const [name, n] of opened) {
    if (!byNode.has(name)) {
      await n.close().catch(() => {});
      opened.delete(name);
    }
  }
  return { shares: [...byNode].map(([node, platforms]) => ({ node, platforms })), opened };
}

const truthy = (v: string | undefined) => /^(1|true)$/i.test(v ?? "");

/** `repo:tag` / `repo@digest` → `repo`, as buildx pushes by digest to the repository only. */
export function repoOnly(name: string): string {
  const at = name.indexOf("@");
  const base = at >= 0 ? name.slice(0, at) : name;
  const colon = base.lastIndexOf(":");
  return colon > base.lastIndexOf("/") ? base.slice(0, colon) : base;
}

// The outputs one node of a multi-node build runs (buildx's rules), and the names the merged index goes to.
function nodeOutputs(
  outputs: OutputPlan[],
  log: (m: string) => void,
): { outputs: OutputPlan[]; push: string[] } {
  const push: string[] = [];
  if (outputs.length === 0) {
    log("no --output given: a multi-node build's result stays in each node's cache");
    return { outputs: [{ type: "cacheonly", attrs: {} }], push };
  }
  const out = outputs.map((o) => {
    if (o.type === "oci" || o.type === "tar") {
      throw new UserError(`${o.type} for multi-node builds currently not supported`);
    }
    if (o.load) {
      throw new UserError(
        "loading a multi-node build into Docker is not supported: push it (--push) or use --output type=local",
      );
    }
    if (o.type === "image" && truthy(o.attrs.push)) {
      const names = (o.attrs.name ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      if (!names.length) throw new UserError("tag is needed when pushing to registry");
      push.push(...names);
      return {
        ...o,
        attrs: { ...o.attrs, name: [...new Set(names.map(repoOnly))].join(","), "push-by-digest": "true" },
      };
    }
    // One directory per platform (linux_amd64/), whatever each node builds.
    if (o.type === "local") return { ...o, attrs: { ...o.attrs, "platform-split": "true" } };
    return o;
  });
  return { outputs: out, push };
}

/** A node's status with its vertex names prefixed by `[node]`, so the progress shows who built what. */
export function tagStatus(s: StatusResponse, node: string): StatusResponse {
  for (const v of s.vertexes) v.name = `[${node}] ${v.name}`;
  return s;
}

/** The plan one node runs: its platforms, its outputs; the files the fleet writes itself are left out. */
function nodePlan(plan: BuildPlan, share: NodeShare, outputs: OutputPlan[], single: boolean): BuildPlan {
  const frontendAttrs = { ...plan.frontendAttrs };
  if (share.platforms.length) frontendAttrs.platform = share.platforms.join(",");
  const p = { ...plan, frontendAttrs, outputs, temporary: [] };
  return single ? p : { ...p, metadataFile: undefined, iidfile: undefined };
}

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const INDEXES = [OCI_INDEX, DOCKER_LIST];

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

function platformObject(p: string): Record<string, string> {
  const [os, architecture, variant] = normalizePlatform(p).split("/");
  return variant ? { architecture, os, variant } : { architecture, os };
}

/** The index over every node's pushed result: a node's index contributes its manifests, a manifest itself. */
export async function mergedIndex(
  repo: string,
  results: { share: NodeShare; digest: string }[],
  fetch: NonNullable<FleetHooks["fetchManifest"]>,
): Promise<{ body: Uint8Array; mediaType: string; digest: string }> {
  const manifests: Descriptor[] = [];
  for (const r of results) {
    const got = await fetch(repo, r.digest);
    if (INDEXES.includes(got.mediaType)) {
      const idx = JSON.parse(new TextDecoder().decode(got.body)) as { manifests: Descriptor[] };
      manifests.push(...idx.manifests);
    } else {
      const d: Descriptor = { mediaType: got.mediaType, digest: r.digest, size: got.body.length };
      if (r.share.platforms.length === 1) d.platform = platformObject(r.share.platforms[0]);
      manifests.push(d);
    }
  }
  const docker = manifests.every((m) => m.mediaType.startsWith("application/vnd.docker."));
  const mediaType = docker ? DOCKER_LIST : OCI_INDEX;
  const body = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
  const digest = "sha256:" + createHash("sha256").update(body).digest("hex");
  return { body, mediaType, digest };
}

/**
 * Run `plan` over `nodes`: route, build each share in parallel (the first failure stops the others and names its
 * node), then merge. A single share runs as a plain build with its node's name on the progress.
 */
export async function runFleetBuild(
  plan: BuildPlan,
  nodes: FleetNode[],
  open: OpenFleetNode,
  hooks: FleetHooks,
): Promise<FleetResult> {
  if (plan.iidfile) rmSync(plan.iidfile, { force: true });
  const platforms = [
    ...new Set((plan.frontendAttrs.platform ?? "").split(",").map((p) => p.trim()).filter(Boolean)),
  ];
  // A frontend subrequest (--call check) has one answer for the whole Dockerfile: one node gives it.
  const requested = plan.subrequest ? platforms.slice(0, 1) : platforms;
  let routed;
  try {
    routed = await routePlatforms(stickyKey(plan), requested, nodes, open, hooks);
  } catch (err) {
    releasePlan(plan);
    throw err;
  }
  const { shares, opened } = routed;
  for (const s of shares) {
    hooks.info(`node ${s.node} builds ${s.platforms.length ? s.platforms.join(",") : "its own platform"}`, {
      node: s.node,
    });
  }
  const closeAll = () => Promise.all([...opened.values()].map((n) => n.close().catch(() => {})));
  const single = shares.length === 1;
  let adapted: { outputs: OutputPlan[]; push: string[] };
  try {
    adapted = single ? { outputs: plan.outputs, push: [] } : nodeOutputs(plan.outputs, (m) => hooks.info(m));
  } catch (err) {
    await closeAll();
    releasePlan(plan);
    throw err;
  }
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  hooks.signal.addEventListener("abort", onAbort);
  let first: unknown;
  const runs = shares.map(async (share) => {
    const node = opened.get(share.node)!;
    const p = nodePlan(plan, share, adapted.outputs, single);
    try {
      return await runBuild(p, () => Promise.resolve(node), {
        ...hooks,
        signal: stop.signal,
        onStatus: (s) => hooks.onStatus(tagStatus(s, share.node)),
      });
    } catch (err) {
      const e = err instanceof SolveFailure ? new SolveFailure(err.cause, share.node) : err;
      // The first failure is the build's; it stops the others, whose cancellations say nothing new.
      if (first === undefined) {
        first = e;
        stop.abort();
      }
      throw e;
    }
  });
  const settled = await Promise.allSettled(runs);
  hooks.signal.removeEventListener("abort", onAbort);
  releasePlan(plan);
  if (first !== undefined) throw first;
  const results = settled.map((s) => (s as PromiseFulfilledResult<BuildResult>).value);
  if (single) return { ...results[0], shares };
  const exporterResponse: Record<string, string> = {};
  if (adapted.push.length) {
    if (!hooks.pushIndex || !hooks.fetchManifest) {
      throw new Error("a fleet push needs pushIndex and fetchManifest");
    }
    const parts = results.map((r, i) => ({
      share: shares[i],
      digest: r.exporterResponse["containerimage.digest"],
    }));
    const missing = parts.find((p) => !p.digest);
    if (missing) throw new UserError(`node ${missing.share.node} pushed no image digest`);
    const byRepo = new Map<string, string[]>();
    for (const n of adapted.push) byRepo.set(repoOnly(n), [...byRepo.get(repoOnly(n)) ?? [], n]);
    let digest = "";
    for (const [repo, names] of byRepo) {
      const idx = await mergedIndex(repo, parts, hooks.fetchManifest);
      for (const n of names) await hooks.pushIndex(n, idx.body, idx.mediaType);
      digest = idx.digest;
    }
    exporterResponse["containerimage.digest"] = digest;
    exporterResponse["image.name"] = adapted.push.join(",");
  }
  const merged: FleetResult = {
    ref: results.map((r) => r.ref).join(","),
    exporterResponse,
    outputs: plan.outputs,
    loaded: [],
    imageId: imageId(exporterResponse),
    shares,
  };
  if (plan.metadataFile) {
    writeAtomic(plan.metadataFile, JSON.stringify(buildMetadata(exporterResponse, merged.ref), null, 2));
  }
  if (plan.iidfile) writeAtomic(plan.iidfile, merged.imageId);
  return merged;
}
