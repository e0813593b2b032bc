import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { describe, toBuildkitError } from "./errors.ts";

const ctx = { display: "tcp://127.0.0.1:9" };
const lastError = (e: string) => `No connection established. Last error: ${e}. Resolution note: `;

Deno.test("describe() keeps only the socket error of an UNAVAILABLE", () => {
  assert.equal(
    describe(status.UNAVAILABLE, lastError("Error: connect ECONNREFUSED 127.0.0.1:9"), ctx),
    "cannot connect to buildkitd tcp://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9",
  );
  assert.equal(
    describe(status.UNAVAILABLE, "Name resolution failed for target dns:nosuch.invalid:1234", ctx),
    "cannot connect to buildkitd tcp://127.0.0.1:9: Name resolution failed for target dns:nosuch.invalid:1234",
  );
});

Deno.test("describe() names TLS failures as such (strings seen from Deno and Bun)", () => {
  const tls = { ...ctx, tls: { clientCert: true } };
  assert.equal(
    describe(status.UNAVAILABLE, lastError("Error: unable to verify the first certificate"), tls),
    "cannot connect to buildkitd tcp://127.0.0.1:9: tls: certificate verify failed: unable to verify the first certificate",
  );
  assert.match(
    describe(
      status.UNAVAILABLE,
      lastError(
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: x.",
      ),
      tls,
    ),
    /: tls: Hostname\/IP does not match certificate's altnames/,
  );
  assert.match(
    describe(
      status.UNAVAILABLE,
      lastError("Error: error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER"),
      tls,
    ),
    /: tls: error:100000f7:SSL routines/,
  );
  // Deno reports a refused client (no certificate offered) only as a broken pipe.
  assert.equal(
    describe(
      status.UNAVAILABLE,
      lastError("write EPIPE (2026-11-28T17:35:44.977Z)").replace(". Resolution", " Resolution"),
      {
        ...ctx,
        tls: { clientCert: false },
      },
    ),
    "cannot connect to buildkitd tcp://127.0.0.1:9: tls: handshake failed (write EPIPE); the daemon may require a client certificate",
  );
});

Deno.test("describe() hints at TLS when a plaintext client meets a TLS server", () => {
  assert.equal(
    describe(status.UNAVAILABLE, lastError("Failed to connect (2026-11-28T17:35:20.345Z)"), ctx),
    "cannot connect to buildkitd tcp://127.0.0.1:9: Failed to connect (not a gRPC server, or it expects TLS)",
  );
  // A Go TLS server may also reset the connection on a plaintext preface.
  assert.equal(
    describe(status.UNAVAILABLE, lastError("read ECONNRESET (2026-11-28T17:35:20.345Z)"), ctx),
    "cannot connect to buildkitd tcp://127.0.0.1:9: read ECONNRESET (not a gRPC server, or it expects TLS)",
  );
});

Deno.test("describe() prefers the byte stream's own error for bridged endpoints", () => {
  assert.equal(
    describe(status.UNAVAILABLE, lastError("Connection closed"), {
      display: "docker-container://b",
      streamError: new Error("container b is not running"),
    }),
    "cannot connect to buildkitd docker-container://b: container b is not running",
  );
});

Deno.test("describe() passes on UNAVAILABLE statuses the daemon itself sent", () => {
  assert.equal(
    describe(
      status.UNAVAILABLE,
      "failed to read dockerfile: rpc error: code = Unavailable desc = no files",
      ctx,
    ),
    "failed to read dockerfile: rpc error: code = Unavailable desc = no files",
  );
  assert.equal(
    describe(status.UNAVAILABLE, "Connection dropped", ctx),
    "lost connection to buildkitd tcp://127.0.0.1:9",
  );
});

Deno.test("describe() maps the other codes to what the user can do", () => {
  assert.equal(
    describe(status.DEADLINE_EXCEEDED, "Deadline exceeded after 1.502s,Waiting for LB pick", ctx),
    "cannot connect to buildkitd tcp://127.0.0.1:9: no answer (connection not established in time)",
  );
  assert.equal(
    describe(status.DEADLINE_EXCEEDED, "Deadline exceeded", ctx),
    "buildkitd tcp://127.0.0.1:9 did not answer in time",
  );
  assert.equal(
    describe(status.UNIMPLEMENTED, "", { ...ctx, method: "Info" }),
    "buildkitd tcp://127.0.0.1:9 does not support Info (is it older than this client needs?)",
  );
  assert.equal(describe(status.CANCELLED, "Cancelled on client", ctx), "cancelled");
  assert.equal(
    describe(status.UNKNOWN, 'process "/bin/sh -c false" did not complete successfully: exit code: 1', ctx),
    'process "/bin/sh -c false" did not complete successfully: exit code: 1',
  );
  assert.equal(describe(status.INTERNAL, "", ctx), "buildkitd tcp://127.0.0.1:9: gRPC status INTERNAL");
});

Deno.test("toBuildkitError() keeps the code and cause, and wraps non-gRPC errors", () => {
  const grpcErr = Object.assign(new Error("14 UNAVAILABLE: x"), { code: status.UNAVAILABLE, details: "x" });
  const e = toBuildkitError(grpcErr, ctx);
  assert.equal(e.code, status.UNAVAILABLE);
  assert.equal(e.cause, grpcErr);
  assert.equal(e.exitCode, 1);
  const plain = toBuildkitError(new Error("boom\nmore"), ctx);
  assert.equal(plain.code, undefined);
  assert.equal(plain.message, "buildkitd tcp://127.0.0.1:9: boom more");
  assert.equal(toBuildkitError(e, ctx), e);
});
