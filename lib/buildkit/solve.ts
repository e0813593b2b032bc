/**
 * One Dockerfile build: a session serving the local dirs and the exporters' targets, Solve with the dockerfile.v0
 * frontend, and the Status stream, all concurrently (the sequence of buildctl's client.Solve).
 */
import type { BuildkitClient } from "./client.ts";
import type { StatusResponse } from "./gen/moby/buildkit/v1/control_pb.ts";
import { type ExportTarget, fileSendAttachable } from "./session/filesend.ts";
import { fileSyncAttachable, type SyncStats } from "./session/filesync.ts";
import { newId, type SessionTransport, startSession } from "./session/session.ts";
import type { Attachable } from "./session/types.ts";

/** One exporter: buildkitd's type and attrs, plus where its output lands on this side (if anywhere). */
export interface ExportSpec {
  type: string;
  attrs: Record<string, string>;
  target?: ExportTarget;
}

/** A cache import or export, as buildctl's `type=registry,ref=...`. */
export interface CacheSpec {
  type: string;
  attrs: Record<string, string>;
}

/** What to build. */
export interface DockerfileBuild {
  /** Host directory sent as the `context` local. */
  contextDir: string;
  /** Host directory holding the Dockerfile, sent as the `dockerfile` local. */
  dockerfileDir: string;
  /** The Dockerfile's name inside dockerfileDir (frontend attr `filename`). */
  filename: string;
  target?: string;
  platforms?: string[];
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  /** More frontend attrs, passed as given. */
  frontendAttrs?: Record<string, string>;
  exports?: ExportSpec[];
  cacheImports?: CacheSpec[];
  cacheExports?: CacheSpec[];
  /** More local directories by name (named build contexts), sent like the context. */
  localDirs?: Record<string, string>;
  /** Keep the build out of buildkitd's history. */
  internal?: boolean;
  /** Entitlements the build asks for (`network.host`, `security.insecure`). */
  entitlements?: string[];
  /**
   * A frontend subrequest instead of a build (`frontend.lint`): the Solve is forwarded to our side and the
   * frontend is called through the gateway, so its result metadata (`result.json`) comes back.
   */
  subrequest?: string;
  /** More session services (auth, secrets). */
  attachables?: Attachable[];
  /** The session's shared key (see SessionOptions.sharedKey). */
  sharedKey?: string;
}

/** Options of {@link solveDockerfile}. */
export interface SolveOptions {
  /** Aborting cancels the Solve call, which makes buildkitd cancel the build. */
  signal?: AbortSignal;
  /** Every Status message, in order. */
  onStatus?(s: StatusResponse): void;
  /** Each local dir transfer as it ends. */
  onSync?(stats: SyncStats): void;
  /** The build's ref (its id in buildkitd's history), as the build starts. */
  onStart?(ref: string): void;
}

/** The outcome of a successful build. */
export interface SolveResult {
  ref: string;
  /** buildkitd's exporter response (`containerimage.digest`, `image.name`, ...). */
  exporterResponse: Record<string, string>;
  /** A subrequest's result metadata (`result.json`, `result.txt`, `result.statuscode`), as text. */
  subrequest?: Record<string, string>;
}

/** How long Status may trail behind a finished Solve before it is cut off. */
const STATUS_GRACE_MS = 3000;

/** The SolveRequest fields for `b` (exported for tests). */
export function solveRequest(b: DockerfileBuild, ref: string, sessionId: string) {
  const attrs: Record<string, string> = { filename: b.filename };
  if (b.target) attrs.target = b.target;
  if (b.platforms?.length) attrs.platform = b.platforms.join(",");
  for (const [k, v] of Object.entries(b.buildArgs ?? {})) attrs[`build-arg:${k}`] = v;
  if (b.noCache) attrs["no-cache"] = "";
  // The frontend resolves cache for its own sub-solves from this copy of the imports (Go: parseCacheOptions).
  if (b.cacheImports?.length) {
    attrs["cache-imports"] = JSON.stringify(b.cacheImports.map((c) => ({ Type: c.type, Attrs: c.attrs })));
  }
  Object.assign(attrs, b.frontendAttrs);
  const exporters = (b.exports ?? []).map((e) => ({ type: e.type, attrs: e.attrs }));
  return {
    ref,
    session: sessionId,
    // No frontend: buildkitd forwards the build to our gateway calls (a subrequest).
    frontend: b.subrequest ? "" : "dockerfile.v0",
    frontendAttrs: attrs,
    exporters,
    // Daemons before v0.13 read only these: the first exporter.
    exporterDeprecated: exporters[0]?.type ?? "",
    exporterAttrsDeprecated: exporters[0]?.attrs ?? {},
    cache: { imports: b.cacheImports ?? [], exports: b.cacheExports ?? [] },
    entitlements: b.entitlements ?? [],
    internal: b.internal ?? false,
  };
}

/** Run one Dockerfile build to the end on `client`, its session over `transport`; throws BuildkitError on failure. */
export async function solveDockerfile(
  client: BuildkitClient,
  transport: SessionTransport,
  b: DockerfileBuild,
  opts: SolveOptions = {},
): Promise<SolveResult> {
  const ref = newId();
  opts.onStart?.(ref);
  const dirs = { ...b.localDirs, context: b.contextDir, dockerfile: b.dockerfileDir };
  const attachables = [fileSyncAttachable(dirs, { onDone: (s, err) => !err && opts.onSync?.(s) })];
  const targets = (b.exports ?? []).map((e) => e.target);
  if (targets.some(Boolean)) attachables.push(fileSendAttachable(targets));
  attachables.push(...(b.attachables ?? []));
  const session = startSession(transport, attachables, { sharedKey: b.sharedKey });

  const statusStop = new AbortController();
  const status = (async () => {
    try {
      for await (const s of client.status(ref, { signal: statusStop.signal })) opts.onStatus?.(s);
    } catch {
      // Status fails with the build (or on cancel); Solve's error is the one reported.
    }
  })();

  const cancel = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, cancel.signal]) : cancel.signal;
  try {
    const request = solveRequest(b, ref, session.id);
    const solve = client.solve(request, { signal });
    const sub = b.subrequest
      ? subrequest(client, ref, b.subrequest, request.frontendAttrs, signal)
      : undefined;
    // A failed subrequest ends the forwarded build (it would wait for a Return otherwise).
    sub?.catch(() => cancel.abort());
    // A session that dies (daemon gone) fails the build at once even if Solve has not noticed yet.
    const res = await Promise.race([sub ? sub.then(() => solve) : solve, session.ended.then(() => solve)]);
    await Promise.race([status, delay(STATUS_GRACE_MS)]);
    return { ref, exporterResponse: { ...res.exporterResponse }, subrequest: sub ? await sub : undefined };
  } finally {
    statusStop.abort();
    await status;
    await session.close();
  }
}

// The frontend call of a forwarded build, as buildctl's client-side build does it: Solve the frontend with the
// request id (result returned to us), then Return its metadata so the build ends.
async function subrequest(
  client: BuildkitClient,
  ref: string,
  id: string,
  attrs: Record<string, string>,
  signal: AbortSignal,
): Promise<Record<string, string>> {
  const gw = client.gateway(ref, { signal });
  const res = await gw.solve({
    Frontend: "dockerfile.v0",
    FrontendOpt: { ...attrs, requestid: id, "frontend.caps": "moby.buildkit.frontend.subrequests" },
    allowResultReturn: true,
    allowResultArrayRef: true,
  });
  const metadata = res.result?.metadata ?? {};
  await gw.return({ result: { metadata } });
  const dec = new TextDecoder();
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, dec.decode(v)]));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}
