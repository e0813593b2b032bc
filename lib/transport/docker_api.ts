/** Reaching the Docker API named by DOCKER_HOST: a dockerode client, and raw protocol upgrades dockerode cannot do. */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import Docker from "dockerode";

/** Where the Docker API is, as node:http request options. */
export type DockerTarget =
  | { socketPath: string; display: string }
  | { host: string; port: number; tls?: { ca: Buffer; cert: Buffer; key: Buffer }; display: string };

/** A Docker API client plus the target it talks to. */
export interface DockerApi {
  docker: Docker;
  target: DockerTarget;
}

/** Parse DOCKER_HOST (unix:// or tcp://, TLS per DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) as the docker CLI does. */
export function dockerTarget(env: Record<string, string | undefined>): DockerTarget {
  const raw = env.DOCKER_HOST || "unix:///var/run/docker.sock";
  if (raw.startsWith("unix://")) return { socketPath: raw.slice("unix://".length), display: raw };
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(raw);
  if (!m) throw new Error(`unsupported DOCKER_HOST "${raw}": want unix:///path or tcp://host:port`);
  const host = m[1].replace(/^\[|\]$/g, "");
  const verify = !!env.DOCKER_TLS_VERIFY;
  const port = m[2] ? Number(m[2]) : verify ? 2376 : 2375;
  if (!verify) return { host, port, display: raw };
  const dir = env.DOCKER_CERT_PATH || join(env.HOME || homedir(), ".docker");
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    host,
    port,
    tls: { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") },
    display: raw,
  };
}

/** A dockerode client for `env`'s DOCKER_HOST (dockerode itself would read this process's env instead). */
export function dockerApi(env: Record<string, string | undefined>): DockerApi {
  const target = dockerTarget(env);
  const docker = "socketPath" in target ? new Docker({ socketPath: target.socketPath }) : new Docker({
    host: target.host,
    port: target.port,
    protocol: target.tls ? "https" : "http",
    ...target.tls,
  });
  return { docker, target };
}

/**
 * POST `path` with `Upgrade: proto` and return the raw connection after `101 Switching Protocols`.
 * dockerode's hijack sends an empty chunked body (`0\r\n\r\n`) that dockerd, which serves the new protocol on the
 * raw connection, would take as its first bytes; this request has no body, like the docker CLI's DialHijack.
 */
export function dockerUpgrade(
  target: DockerTarget,
  path: string,
  proto: string,
  headers: Record<string, string | string[]> = {},
  signal?: AbortSignal,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const where = "socketPath" in target
      ? { socketPath: target.socketPath }
      : { host: target.host, port: target.port, ...target.tls };
    const request = "tls" in target && target.tls ? https.request : http.request;
    const req = request({
      ...where,
      method: "POST",
      path,
      headers: { ...headers, Connection: "Upgrade", Upgrade: proto },
    });
    // Aborting ends the request while it is pending, and the connection once upgraded.
    let upgraded: Socket | undefined;
    const abort = () => (upgraded ? upgraded.destroy() : req.destroy(new Error("aborted")));
    if (signal?.aborted) abort();
    signal?.addEventListener("abort", abort, { once: true });
    req.once("upgrade", (_res, socket: Socket, head: Buffer) => {
      // Bytes the server sent right after its 101 (e.g. HTTP/2 SETTINGS) belong to the new protocol.
      if (head.length > 0) socket.unshift(head);
      upgraded = socket;
      socket.once("close", () => signal?.removeEventListener("abort", abort));
      resolve(socket);
    });
    req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        const msg = body.trim().replace(/^\{"message":"(.*)"\}$/, "$1");
        reject(new Error(`Docker API POST ${path}: HTTP ${res.statusCode}${msg ? `: ${msg}` : ""}`));
      });
    });
    req.once("error", (err) => reject(new Error(`cannot reach Docker at ${target.display}: ${err.message}`)));
    req.end();
  });
}
