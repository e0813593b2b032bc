/** Registry credentials for buildkitd (pulls of private images, pushes), from docker's config.json and helpers. */
import { type ServiceImpl, Status, type UnaryCall, type UnaryCallback } from "../../h2/grpc_server.ts";
import {
  Auth,
  type CredentialsRequest,
  type CredentialsResponseSchema,
} from "../gen/moby/filesync/v1/auth_pb.ts";
import { grpcService, type Input, methodPath } from "../grpc_service.ts";
import { type HelperCredentials, helperGet } from "./credential_helper.ts";
import { type DockerConfig, findAuth, helperFor, loadDockerConfig, registryKey } from "./docker_config.ts";
import type { Attachable } from "./types.ts";

/** Options for {@link authAttachable}. */
export interface AuthOptions {
  /** Where DOCKER_CONFIG, HOME and PATH (for credential helpers) come from. */
  env: Record<string, string | undefined>;
  /** Debug log: host names and whether credentials were found, never the credentials themselves. */
  log?: (message: string) => void;
  /** Problems the user should see even without --debug (an unreadable config.json); defaults to `log`. */
  warn?: (message: string) => void;
}

/** Credentials as buildkitd takes them: an identity token is a Secret with an empty Username. */
export interface RegistryCredentials {
  username: string;
  secret: string;
  /** Where they came from, for logs: `config.json` or `docker-credential-<name>`; "" when there are none. */
  source: string;
}

/** The session's Auth service: answers Credentials; the token-authority methods say UNIMPLEMENTED. */
export function authAttachable(opts: AuthOptions): Attachable {
  const log = opts.log ?? (() => {});
  const warn = opts.warn ?? log;
  let config: Promise<DockerConfig | undefined> | undefined;
  // Loaded once per session, on first use, as docker loads it once per command.
  const loadConfig = () =>
    config ??= loadDockerConfig(opts.env).catch((err) => {
      // docker/cli warns and carries on without credentials; a public pull must not fail over a broken file.
      warn(`ignoring registry credentials: ${(err as Error).message}`);
      return undefined;
    });
  // buildkitd asks again for each blob and retry; a helper should run once per host and session.
  const cache = new Map<string, Promise<RegistryCredentials>>();
  const lookup = (host: string) => {
    const key = registryKey(host);
    let p = cache.get(key);
    if (!p) {
      p = loadConfig().then((c) => (c ? resolveCredentials(c, host, opts.env) : none()));
      cache.set(key, p);
      // A failed helper run is not remembered: the next request may succeed (e.g. after an unlock prompt).
      p.catch(() => cache.delete(key));
    }
    return p;
  };

  const unimplemented = (name: string) => (call: UnaryCall<{ Host: string }>, cb: UnaryCallback<unknown>) => {
    // buildkitd treats UNIMPLEMENTED as "no token authority": it asks Credentials and fetches tokens itself.
    log(`auth: ${name} for ${call.request.Host}: not served, buildkitd falls back to Credentials`);
    cb({ code: Status.UNIMPLEMENTED, details: `${name} is not served by envd-lite` }, null);
  };

  const implementation: ServiceImpl = {
    credentials(
      call: UnaryCall<CredentialsRequest>,
      cb: UnaryCallback<Input<typeof CredentialsResponseSchema>>,
    ) {
      const host = call.request.Host;
      lookup(host).then(
        (c) => {
          log(
            c.source
              ? `auth: credentials for ${host} found (${c.source})`
              : `auth: no credentials for ${host}`,
          );
          cb(null, { Username: c.username, Secret: c.secret });
        },
        (err: Error) => {
          log(`auth: credentials for ${host} failed: ${err.message}`);
          // Any code but UNIMPLEMENTED fails the registry request in buildkitd, with this message.
          cb({ code: Status.UNKNOWN, details: `credentials for ${host}: ${err.message}` }, null);
        },
      );
    },
    fetchToken: unimplemented("FetchToken"),
    getTokenAuthority: unimplemented("GetTokenAuthority"),
    verifyTokenAuthority: unimplemented("VerifyTokenAuthority"),
  };
  return {
    definition: grpcService(Auth),
    implementation,
    methods: Auth.methods.map(methodPath),
  };
}

/**
 * A host's credentials from a loaded config, the way docker/cli resolves them: a helper configured for the host
 * (credHelpers, else credsStore) is authoritative; otherwise the `auths` entry.
 */
export async function resolveCredentials(
  config: DockerConfig,
  host: string,
  env: Record<string, string | undefined>,
): Promise<RegistryCredentials> {
  const key = registryKey(host);
  const helper = helperFor(config, key);
  if (helper) {
    const got = await helperGet(helper, key, { env });
    return got ? fromEntry(got, `docker-credential-${helper}`) : none();
  }
  const entry = findAuth(config, key);
  return entry ? fromEntry(entry, "config.json") : none();
}

function fromEntry(e: HelperCredentials, source: string): RegistryCredentials {
  if (e.identityToken) return { username: "", secret: e.identityToken, source };
  if (!e.username && !e.password) return none();
  return { username: e.username, secret: e.password, source };
}

function none(): RegistryCredentials {
  return { username: "", secret: "", source: "" };
}
