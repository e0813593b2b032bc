/** Build secrets (`--secret`): what RUN --mount=type=secret receives, read from files or env vars when asked. */
import { type ServiceImpl, Status, type UnaryCall, type UnaryCallback } from "../../h2/grpc_server.ts";
import { readFile, stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { UsageError, UserError } from "../../errors.ts";
import {
  type GetSecretRequest,
  type GetSecretResponseSchema,
  Secrets,
} from "../gen/moby/buildkit/secrets/v1/secrets_pb.ts";
import { grpcService, type Input, methodPath } from "../grpc_service.ts";
import type { Attachable } from "./types.ts";

/** One `--secret`: its id and where its value comes from. Neither src nor env: env var `id` if set, else file `id`. */
export interface SecretSpec {
  id: string;
  src?: string;
  env?: string;
}

/** BuildKit's client-side cap on a secret (secretsprovider.MaxSecretSize). */
export const MAX_SECRET_SIZE = 500 * 1024;

/**
 * Parse a `--secret` value as buildx does: CSV fields `id=`, `src=`/`source=`, `env=`, `type=file|env` (with
 * `type=env`, `src` names the variable). The id defaults to the basename of src, or to the env var's name.
 */
export function parseSecretFlag(text: string): SecretSpec {
  const bad = (why: string) =>
    new UsageError(`invalid value ${JSON.stringify(text)} for flag --secret: ${why}`);
  let fields: string[];
  try {
    fields = csvFields(text);
  } catch (err) {
    throw bad((err as Error).message);
  }
  let type = "";
  let id = "";
  let src = "";
  let env = "";
  for (const f of fields) {
    const eq = f.indexOf("=");
    if (eq < 0) throw bad(`field ${JSON.stringify(f)} must be a key=value pair`);
    const key = f.slice(0, eq).toLowerCase();
    const value = f.slice(eq + 1);
    switch (key) {
      case "type":
        if (value !== "file" && value !== "env") {
          throw bad(`unsupported secret type ${JSON.stringify(value)}`);
        }
        type = value;
        break;
      case "id":
        id = value;
        break;
      case "src":
      case "source":
        src = value;
        break;
      case "env":
        env = value;
        break;
      default:
        throw bad(`unexpected key ${JSON.stringify(key)} (want id, src, env or type)`);
    }
  }
  if (type === "env" && !env) [env, src] = [src, ""];
  if (src && env) throw bad("give src or env, not both");
  if (type === "file" && env) throw bad("type=file takes src, not env");
  id ||= src ? basename(src) : env;
  if (!id) throw bad("no id (give id=, or src=/env= to name it after)");
  return { id, ...(src ? { src } : {}), ...(env ? { env } : {}) };
}

/** Options for {@link secretsAttachable}. */
export interface SecretsOptions {
  /** Debug log: ids, sources and sizes, never values. */
  log?: (message: string) => void;
  /** Relative src paths are resolved against this (default: the current directory, now). */
  cwd?: string;
}

/** The session's Secrets service; each value is read when buildkitd asks for it, unknown ids are NOT_FOUND. */
export function secretsAttachable(
  secrets: SecretSpec[],
  env: Record<string, string | undefined>,
  opts: SecretsOptions = {},
): Attachable {
  const log = opts.log ?? (() => {});
  const cwd = opts.cwd ?? process.cwd();
  // A later --secret with the same id replaces an earlier one, as in buildx.
  const byId = new Map(secrets.map((s) => [s.id, s.src ? { ...s, src: resolve(cwd, s.src) } : s]));
  const implementation: ServiceImpl = {
    getSecret(
      call: UnaryCall<GetSecretRequest>,
      cb: UnaryCallback<Input<typeof GetSecretResponseSchema>>,
    ) {
      const id = call.request.ID;
      const spec = byId.get(id);
      if (!spec) {
        // NOT_FOUND (or UNIMPLEMENTED) is what buildkitd reads as "no such secret": an optional mount is then skipped.
        log(`secrets: ${id} requested, not provided`);
        cb({ code: Status.NOT_FOUND, details: `secret ${id} not found` }, null);
        return;
      }
      readSecret(spec, env).then(
        ({ data, from }) => {
          log(`secrets: ${id} sent (${data.length} bytes from ${from})`);
          cb(null, { data });
        },
        (err: Error) => {
          log(`secrets: ${id} failed: ${err.message}`);
          cb({ code: Status.FAILED_PRECONDITION, details: err.message }, null);
        },
      );
    },
  };
  return { definition: grpcService(Secrets), implementation, methods: Secrets.methods.map(methodPath) };
}

/** Fail before the build starts if a secret's file or env var is missing or too big (buildx checks up front too). */
export async function checkSecrets(
  secrets: SecretSpec[],
  env: Record<string, string | undefined>,
): Promise<void> {
  for (const s of secrets) {
    const src = source(s, env);
    if ("env" in src) {
      if (env[src.env] === undefined) {
        throw new UserError(`secret ${s.id}: environment variable ${src.env} is not set`);
      }
      continue;
    }
    let size: number;
    try {
      size = (await stat(src.file)).size;
    } catch (err) {
      throw new UserError(
        `secret ${s.id}: cannot read ${src.file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
    if (size > MAX_SECRET_SIZE) throw tooBig(s.id, size);
  }
}

async function readSecret(
  spec: SecretSpec,
  env: Record<string, string | undefined>,
): Promise<{ data: Uint8Array; from: string }> {
  const src = source(spec, env);
  let data: Uint8Array;
  let from: string;
  if ("env" in src) {
    const value = env[src.env];
    if (value === undefined) throw new Error(`secret ${spec.id}: environment variable ${src.env} is not set`);
    data = new TextEncoder().encode(value);
    from = `env ${src.env}`;
  } else {
    try {
      data = await readFile(src.file);
    } catch (err) {
      throw new Error(
        `secret ${spec.id}: cannot read ${src.file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
    from = src.file;
  }
  if (data.length > MAX_SECRET_SIZE) throw tooBig(spec.id, data.length);
  return { data, from };
}

// buildkit's rule for a bare id: the env var of that name when it is set, else the file of that name.
function source(s: SecretSpec, env: Record<string, string | undefined>): { env: string } | { file: string } {
  if (s.env) return { env: s.env };
  if (s.src) return { file: s.src };
  return env[s.id] !== undefined ? { env: s.id } : { file: s.id };
}

function tooBig(id: string, size: number): UserError {
  return new UserError(`secret ${id} is ${size} bytes; BuildKit takes at most ${MAX_SECRET_SIZE} (500 KiB)`);
}

// go-csvvalue's rules, which buildx uses: comma-separated, a field may be "quoted" with "" for a quote.
function csvFields(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ",") {
        throw new Error(`unexpected ${JSON.stringify(text[i])} after a quoted field`);
      }
    } else {
      const comma = text.indexOf(",", i);
      field = text.slice(i, comma < 0 ? text.length : comma);
      if (field.includes('"')) throw new Error(`bare " in field ${JSON.stringify(field)}`);
      i = comma < 0 ? text.length : comma;
    }
    out.push(field);
    if (i >= text.length) return out;
    i++; // the comma
  }
}
