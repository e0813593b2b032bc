/** `[grpc.tls]` values are paths or inline PEM; turn them into the bytes grpc-js wants. */
import { readFileSync } from "node:fs";
import type { TlsConfig } from "../config/types.ts";
import { UserError } from "../errors.ts";

function pem(value: string | undefined, key: string, context: string): Buffer | undefined {
  if (value === undefined) return undefined;
  if (value.includes("-----BEGIN")) return Buffer.from(value);
  try {
    return readFileSync(value);
  } catch (err) {
    throw new UserError(
      `context "${context}": cannot read grpc.tls.${key} "${value}": ${
        (err as Error).message.split("\n")[0]
      }`,
    );
  }
}

/** Loads the TLS material of a context; undefined when it has no [grpc.tls] table. */
export function loadTls(tls: TlsConfig | undefined, context: string) {
  if (!tls) return undefined;
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new UserError(`context "${context}": [grpc.tls] needs both cert and key for a client certificate`);
  }
  return {
    ca: pem(tls.ca, "ca", context),
    cert: pem(tls.cert, "cert", context),
    key: pem(tls.key, "key", context),
    servername: tls.servername,
  };
}
