/**
 * The registry side of a multi-node push, as buildx's imagetools does it: read back each node's pushed manifest by
 * digest, PUT the merged index under every tag. Distribution's HTTP API with docker's credentials (Basic or a
 * Bearer token from the realm the registry names); plain HTTP for loopback and hosts the context marks `http`.
 */
import { UserError } from "../errors.ts";

/** `host/repo:tag` split as docker reads a name (docker.io and library/ when no host is given). */
export function parseName(name: string): { host: string; repo: string; tag: string } {
  const at = name.indexOf("@");
  let rest = at >= 0 ? name.slice(0, at) : name;
  let tag = at >= 0 ? name.slice(at + 1) : "latest";
  const colon = rest.lastIndexOf(":");
  if (at < 0 && colon > rest.lastIndexOf("/")) [rest, tag] = [rest.slice(0, colon), rest.slice(colon + 1)];
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  if (first && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return { host: first, repo: rest.slice(slash + 1), tag };
  }
  return { host: "registry-1.docker.io", repo: rest.includes("/") ? rest : `library/${rest}`, tag };
}

/** Loopback registries speak plain HTTP unless told otherwise, as buildkitd's resolver assumes. */
function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\./.test(h);
}

/** A registry client for one build: credentials looked up once per host, tokens kept per scope. */
export function registryClient(env: Record<string, string | undefined>, httpHosts: string[] = []) {
  const tokens = new Map<string, string>();
  const scheme = (host: string) => (isLoopback(host) || httpHosts.includes(host) ? "http" : "https");

  async function credentials(host: string): Promise<{ username: string; secret: string }> {
    const [{ loadDockerConfig }, { resolveCredentials }] = await Promise.all([
      import("../buildkit/session/docker_config.ts"),
      import("../buildkit/session/auth.ts"),
    ]);
    const config = await loadDockerConfig(env).catch(() => undefined);
    return config ? await resolveCredentials(config, host, env) : { username: "", secret: "" };
  }

  // Answer a 401's challenge: Basic with the credentials, or a Bearer token from the named realm.
  async function authorize(host: string, challenge: string, scope: string): Promise<string | undefined> {
    const cred = await credentials(host);
    const basic = cred.secret ? "Basic " + btoa(`${cred.username}:${cred.secret}`) : undefined;
    if (/^basic/i.test(challenge)) return basic;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!params.realm) return undefined;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", scope);
    const res = await fetch(url, { headers: basic ? { Authorization: basic } : {} });
    if (!res.ok) throw new UserError(`${host}: token request failed: HTTP ${res.status}`);
    const body = await res.json() as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }

  async function call(name: string, ref: string, init: RequestInit, push: boolean): Promise<Response> {
    const { host, repo } = parseName(name);
    const url = `${scheme(host)}://${host}/v2/${repo}/manifests/${ref}`;
    const scope = `repository:${repo}:${push ? "pull,push" : "pull"}`;
    const send = (auth?: string) =>
      fetch(url, {
        ...init,
        headers: { ...init.headers as Record<string, string>, ...(auth ? { Authorization: auth } : {}) },
      });
    let res = await send(tokens.get(scope));
    if (res.status === 401) {
      await res.body?.cancel();
      const auth = await authorize(host, res.headers.get("www-authenticate") ?? "", scope);
      if (auth) {
        tokens.set(scope, auth);
        res = await send(auth);
      }
    }
    return res;
  }

  return {
    /** The manifest `digest` in `name`'s repository, with its media type. */
    async fetchManifest(name: string, digest: string): Promise<{ mediaType: string; body: Uint8Array }> {
      const res = await call(name, digest, {
        headers: {
          Accept: [
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v2+json",
          ].join(", "),
        },
      }, false);
      if (!res.ok) throw new UserError(`cannot read ${name}@${digest} back: HTTP ${res.status}`);
      const body = new Uint8Array(await res.arrayBuffer());
      const mediaType = res.headers.get("content-type")?.split(";")[0] ??
        (JSON.parse(new TextDecoder().decode(body)).mediaType as string);
      return { mediaType, body };
    },
    /** PUT the index as `name` (its tag). */
    async pushIndex(name: string, body: Uint8Array, mediaType: string): Promise<void> {
      const { tag } = parseName(name);
      const res = await call(
        name,
        tag,
        { method: "PUT", headers: { "Content-Type": mediaType }, body: body as Uint8Array<ArrayBuffer> },
        true,
      );
      if (!res.ok) {
        const why = (await res.text()).split("\n")[0].slice(0, 200);
        throw new UserError(
          `pushing the index to ${name} failed: HTTP ${res.status}${why ? `: ${why}` : ""}`,
        );
      }
      await res.body?.cancel();
    },
  };
}
