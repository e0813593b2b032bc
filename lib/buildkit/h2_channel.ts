/**
 * The client's RpcChannel: our own gRPC client (lib/h2) straight on the endpoint's byte pipe (a TCP or unix
 * socket, TLS, or a helper's stdio). It replaced grpc-js: a small build spent a quarter of its time evaluating
 * grpc-js and in its first call, an upload went through two more copies and Bun's http2 client (which stalls when
 * grpc-go raises its window mid-stream), and a helper's stream needed a unix-socket bridge for grpc-js to dial.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { connect as netConnect, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { checkServerIdentity, connect as tlsConnect } from "node:tls";
import { type ClientCall, type Dial, GrpcClient } from "../h2/grpc_client.ts";
import type { Endpoint } from "../transport/types.ts";
import { grpcMethod, type Input, type TypedMethod } from "./grpc_service.ts";
import { sleep } from "./poll.ts";
import type { CallOptions, RpcChannel, RpcStream } from "./rpc.ts";
import type { RawSessionCall } from "./session/tunnel.ts";

/** SNI sent when dialing an IP literal over TLS (never resolvable, so it can only ever be a label). */
export const IP_SNI_PLACEHOLDER = "ip-literal.invalid";

/** An RpcChannel to `endpoint` on our HTTP/2 client; nothing is dialed until the first call. */
export function openH2Channel(endpoint: Endpoint): RpcChannel {
  let streamError: Error | undefined;
  const { dial, authority, scheme } = dialerFor(endpoint);
  const client = new GrpcClient(
    endpoint.kind === "stream"
      ? async (signal) => {
        // A helper's stream: its failure (exit status, stderr) explains a dropped connection.
        let pipe: Duplex;
        try {
          pipe = await dial(signal);
        } catch (err) {
          streamError = err instanceof Error ? err : new Error(String(err));
          throw err;
        }
        pipe.on("error", (err: Error) => (streamError = err));
        return pipe;
      }
      : dial,
    { authority, scheme },
  );
  return {
    unary<I extends DescMessage, O extends DescMessage>(
      method: TypedMethod<I, O>,
      request: Input<I>,
      opts: CallOptions,
    ): Promise<MessageShape<O>> {
      const def = grpcMethod(method);
      return client.unary(def.path, def.requestSerialize, def.responseDeserialize, request, opts);
    },
    serverStream<I extends DescMessage, O extends DescMessage>(
      method: TypedMethod<I, O>,
      request: Input<I>,
      opts: CallOptions,
    ): RpcStream<MessageShape<O>> {
      const def = grpcMethod(method);
      const call: ClientCall<Input<I>, MessageShape<O>> = client.call(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        opts,
      );
      call.on("error", () => {});
      call.end(request);
      return call as unknown as RpcStream<MessageShape<O>>;
    },
    rawBidi(path: string, opts: CallOptions): RawSessionCall {
      const raw = (b: Buffer) => b;
      return client.call<Buffer, Buffer>(path, raw, raw, opts);
    },
    // Redial at most every 250 ms (as the grpc-js channel was set to), so a just-started daemon is noticed soon.
    pause: (ms, signal) => sleep(Math.min(ms, 250), signal),
    get streamError() {
      return streamError;
    },
    close() {
      client.close();
      return Promise.resolve();
    },
  };
}

// How to open the byte pipe, and what the requests' :authority and :scheme say.
function dialerFor(endpoint: Endpoint): { dial: Dial; authority: string; scheme: "http" | "https" } {
  if (endpoint.kind === "stream") {
    // The stream is only a local hop; authority stays neutral like buildctl's dial-stdio.
    return { dial: (signal) => endpoint.open(signal), authority: "localhost", scheme: "http" };
  }
  const target = endpoint.target.replace(/^dns:(\/\/[^/]*\/)?/, "");
  if (target.startsWith("unix:")) {
    const path = target.replace(/^unix:(\/\/)?/, "");
    return { dial: () => connected(netConnect(path), "connect"), authority: "localhost", scheme: "http" };
  }
  const { host, port } = hostPort(target);
  const tls = endpoint.tls;
  if (!tls) {
    return { dial: () => connected(netConnect(port, host), "connect"), authority: target, scheme: "http" };
  }
  // The servername overrides SNI and authority; an IP literal gets a placeholder SNI (Deno and Bun refuse an IP
  // there; Go sends none) and the certificate is checked against the IP.
  const ip = isIP(host) !== 0;
  const servername = tls.servername ?? (ip ? IP_SNI_PLACEHOLDER : host);
  const dial = () =>
    connected(
      tlsConnect({
        host,
        port,
        servername,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        ALPNProtocols: ["h2"],
        ...(ip && !tls.servername
          ? { checkServerIdentity: (_n: string, cert) => checkServerIdentity(host, cert) }
          : {}),
      }),
      "secureConnect",
    );
  return { dial, authority: tls.servername ?? target, scheme: "https" };
}

// Resolves once the socket is connected (or the TLS handshake done); rejects with its error.
function connected(sock: Socket, event: "connect" | "secureConnect"): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      sock.destroy();
      reject(err);
    };
    sock.once("error", onError);
    sock.once(event, () => {
      sock.off("error", onError);
      sock.setNoDelay?.(true);
      resolve(sock);
    });
  });
}

/** Host and port of a `host:port` / `[v6]:port` target (port 443 when absent, as gRPC's default). */
export function hostPort(target: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(target);
  if (v6) return { host: v6[1], port: Number(v6[2]) };
  const i = target.lastIndexOf(":");
  if (i > 0 && target.indexOf(":") === i) {
    return { host: target.slice(0, i), port: Number(target.slice(i + 1)) };
  }
  return { host: target, port: 443 };
}
