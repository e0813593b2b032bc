/**
 * Our gRPC client against our gRPC server, and each against grpc-js (the other side of the same calls), over
 * loopback TCP: unary and streaming calls, messages far larger than every flow-control window, statuses with
 * encoded messages, deadlines, cancellation, and a server that accepts and never speaks HTTP/2.
 */
import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { listenLoopback, type Windows } from "../../tests/helpers/h2_server.ts";
import { GrpcCallError, GrpcClient } from "./grpc_client.ts";
import { GrpcServer, type MethodDef, type ServerCall, type ServiceImpl } from "./grpc_server.ts";
import { Status } from "./status.ts";

const raw = (b: Buffer) => b;
// (With grpc-js's serializers too, so its client and server take the same definition.)
const method = (name: string, requestStream: boolean, responseStream: boolean): MethodDef => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestDeserialize: raw,
  responseSerialize: raw,
  ...{ requestSerialize: raw, responseDeserialize: raw, originalName: name },
});
const DEF = {
  echo: method("Echo", false, false),
  fail: method("Fail", false, false),
  many: method("Many", false, true),
  pipe: method("Pipe", true, true),
  hang: method("Hang", true, true),
};
const IMPL: ServiceImpl = {
  echo: (call: { request: Buffer }, cb) => cb(null, call.request),
  fail: (call: { request: Buffer }, cb) => cb({ code: Status.NOT_FOUND, details: call.request.toString() }),
  // `n` messages of `size` bytes each, byte i of message k = (k + i) & 0xff.
  many: (call: ServerCall<Buffer>) => {
    const [n, size] = JSON.parse(call.request.toString()) as [number, number];
    void (async () => {
      for (let k = 0; k < n; k++) {
        const m = Buffer.alloc(size);
        for (let i = 0; i < size; i++) m[i] = (k + i) & 0xff;
        if (!call.write(m)) await new Promise((r) => call.once("drain", r));
      }
      call.end();
    })();
  },
  // Echoes every message back, then ends when the client does.
  pipe: (call: ServerCall<Buffer>) => {
    call.on("data", (m: Buffer) => call.write(m));
    call.on("end", () => call.end());
  },
  // Never answers.
  hang: () => {},
};

/** Our server on loopback; `windows` are its receive windows. */
function ourServer(windows?: Windows) {
  const server = new GrpcServer();
  server.addService(DEF, IMPL);
  return listenLoopback(server, windows);
}

/** grpc-js's server with the same service. */
async function grpcJsServer() {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 16 << 20 });
  server.addService(DEF as unknown as grpc.ServiceDefinition, IMPL as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p)))
  );
  return { port, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

function ourClient(port: number, windows?: Windows): GrpcClient {
  return new GrpcClient(
    () =>
      new Promise((resolve, reject) => {
        const s = connect(port, "127.0.0.1", () => resolve(s));
        s.once("error", reject);
      }),
    { authority: `127.0.0.1:${port}`, streamWindow: windows?.stream, connectionWindow: windows?.conn },
  );
}

const pattern = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

for (const serverKind of ["our", "grpc-js's"] as const) {
  Deno.test(`our client against ${serverKind} server: unary, streams far past the windows, statuses`, async () => {
    const srv = serverKind === "our" ? await ourServer({ stream: 65535, conn: 65535 }) : await grpcJsServer();
    // Small receive windows on our side too: every direction needs many WINDOW_UPDATEs.
    const c = ourClient(srv.port, { stream: 65535, conn: 65535 });
    try {
      const big = pattern(5 * 1024 * 1024 + 7, 3);
      assert.deepEqual(await c.unary(DEF.echo.path, raw, raw, big), big);
      assert.deepEqual(await c.unary(DEF.echo.path, raw, raw, Buffer.alloc(0)), Buffer.alloc(0));
      // A status message with non-ASCII text and a percent sign survives the percent-encoding.
      await assert.rejects(c.unary(DEF.fail.path, raw, raw, Buffer.from("no «such» thing: 100%")), {
        code: Status.NOT_FOUND,
        details: "no «such» thing: 100%",
      });
      await assert.rejects(c.unary("/test.Echo/Nope", raw, raw, Buffer.alloc(1)), {
        code: Status.UNIMPLEMENTED,
      });

      const got: Buffer[] = [];
      for await (
        const m of c.call<Buffer, Buffer>(DEF.many.path, raw, raw).end(Buffer.from("[40, 100000]"))
      ) got.push(m as Buffer);
      assert.equal(got.length, 40);
      for (const [k, m] of got.entries()) assert.equal(m[99_999], (k + 99_999) & 0xff);

      // Bidi: many messages both ways while the other side reads slowly.
      const call = c.call<Buffer, Buffer>(DEF.pipe.path, raw, raw);
      const echoed: Buffer[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (m: Buffer) => {
          echoed.push(m);
          call.pause();
          setTimeout(() => call.resume(), 1);
        });
        call.on("end", resolve);
        call.on("error", reject);
      });
      const sent = Array.from({ length: 30 }, (_, k) => pattern(200_000 + k, k));
      for (const m of sent) if (!call.write(m)) await new Promise((r) => call.once("drain", r));
      call.end();
      await done;
      assert.deepEqual(echoed, sent);
    } finally {
      c.close();
      await srv.close();
    }
  });
}

Deno.test("grpc-js's client against our server: unary, a server stream, a failure", async () => {
  const srv = await ourServer();
  const Client = grpc.makeGenericClientConstructor(DEF as unknown as grpc.ServiceDefinition, "Echo");
  const c = new Client(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure()) as unknown as
    & grpc.Client
    & Record<
      string,
      (
        req: Buffer,
        cb?: (e: grpc.ServiceError | null, r: Buffer) => void,
      ) => grpc.ClientReadableStream<Buffer>
    >;
  try {
    const big = pattern(3 * 1024 * 1024, 9);
    const res = await new Promise<Buffer>((ok, ko) => c.echo(big, (e, r) => (e ? ko(e) : ok(r))));
    assert.deepEqual(res, big);
    const err = await new Promise<grpc.ServiceError>((ok) => c.fail(Buffer.from("gone"), (e) => ok(e!)));
    assert.equal(err.code, Status.NOT_FOUND);
    assert.equal(err.details, "gone");
    let n = 0;
    for await (const m of c.many(Buffer.from("[5, 70000]"))) n += (m as Buffer).length;
    assert.equal(n, 5 * 70000);
  } finally {
    c.close();
    await srv.close();
  }
});

Deno.test("deadlines, cancellation and a peer that never speaks HTTP/2 end calls with grpc-js's statuses", async () => {
  const srv = await ourServer();
  const c = ourClient(srv.port);
  const silentSockets = new Set<Socket>();
  const silent = createServer((s) => silentSockets.add(s));
  const silentPort = await listen(silent);
  const s = ourClient(silentPort);
  try {
    // A pipe call the server never answers: the deadline ends it.
    const slow = c.call<Buffer, Buffer>(DEF.hang.path, raw, raw, { timeoutMs: 200 });
    slow.on("error", () => {});
    const st = await new Promise<{ code: number }>((r) => slow.once("status", r));
    assert.equal(st.code, Status.DEADLINE_EXCEEDED);

    const ac = new AbortController();
    const p = c.unary(DEF.hang.path, raw, raw, Buffer.alloc(1), { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, { code: Status.CANCELLED });

    // Connected TCP, no SETTINGS ever: not connected, in grpc-js's words for that case.
    await assert.rejects(s.unary(DEF.echo.path, raw, raw, Buffer.alloc(1), { timeoutMs: 300 }), (e) => {
      assert.ok(e instanceof GrpcCallError);
      assert.equal(e.code, Status.DEADLINE_EXCEEDED);
      assert.match(e.details, /waiting for connection/);
      return true;
    });
    // Nothing listening: UNAVAILABLE naming the socket error; the next call dials again.
    const gone = ourClient(await freePort());
    for (let i = 0; i < 2; i++) {
      await assert.rejects(gone.unary(DEF.echo.path, raw, raw, Buffer.alloc(1)), {
        code: Status.UNAVAILABLE,
        details: /^No connection established\. Last error: Error: connect ECONNREFUSED/,
      });
    }
    gone.close();
    // Still usable after all that.
    assert.deepEqual(await c.unary(DEF.echo.path, raw, raw, Buffer.from("ok")), Buffer.from("ok"));
  } finally {
    c.close();
    s.close();
    await srv.close();
    await close(silent, silentSockets);
  }
});

function listen(server: Server): Promise<number> {
  return new Promise((res) =>
    server.listen(0, "127.0.0.1", () => res((server.address() as { port: number }).port))
  );
}

function close(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((r) => server.close(() => r()));
}

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}
