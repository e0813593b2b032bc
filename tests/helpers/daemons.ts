/** The real peers started by `scripts/daemons start`, as described by its env.json. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export interface DaemonsEnv {
  /** buildkitd (OCI worker, plaintext) as `127.0.0.1:PORT`. */
  buildkitTcp: string;
  /** The same buildkitd's unix socket (absolute path). */
  buildkitUnix: string;
  /** A second buildkitd requiring mTLS; `wrongCa` is an unrelated CA for "refused" tests. */
  buildkitTls: {
    address: string;
    ca: string;
    cert: string;
    key: string;
    wrongCa: string;
    servername: string;
  };
  dockerHost: string;
  /** The image the docker-container driver runs, `moby/buildkit:<version>`, built locally. */
  buildkitImage: string;
  /** `local/busybox:1`: a tiny base image for builds and containers. */
  busyboxImage: string;
  /** docker-registry without auth, `127.0.0.1:PORT`. */
  registry: string;
  registryAuth: { address: string; user: string; password: string };
  /** sshd on loopback whose sessions have the pinned buildctl on PATH; `key` is authorized, `knownHosts` trusts it. */
  sshd: { host: string; port: number; user: string; key: string; knownHosts: string };
  /** Our own containerd's socket (root and state under .daemons/containerd), for buildkitd's containerd worker. */
  containerd: string;
  buildctl: string;
  buildkitd: string;
  buildkitVersion: string;
}

const DEFAULT_PATH = resolve(import.meta.dirname!, "../../.daemons/env.json");

/** Read `.daemons/env.json` (or `$ENVD_LITE_DAEMONS_ENV`); throws telling how to start the daemons when missing. */
export function daemons(): DaemonsEnv {
  const path = process.env.ENVD_LITE_DAEMONS_ENV ?? DEFAULT_PATH;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`no test daemons: ${path} is missing; run \`scripts/daemons start\` first`);
  }
  return JSON.parse(text) as DaemonsEnv;
}
