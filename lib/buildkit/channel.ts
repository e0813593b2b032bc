/**
 * Turns an Endpoint into a grpc-js Client (direct dial for addresses, a unix-socket bridge for byte streams) and
 * that into the client's RpcChannel. Builds use h2_channel.ts instead; this one serves the commands that manage
 * a daemon (du, prune, builder info…), where grpc-js's reconnecting channel is worth its start-up.
 */
import * as grpc from "@grpc/grpc-js";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import type { Endpoint } from "../transport/types.ts";
import { sleep } from "./poll.ts";
import { type Bridge, openBridge } from "../transport/bridge.ts";
import { grpcMethod, type Input, type TypedMethod } from "./grpc_service.ts";
import type { CallOptions, RpcChannel, RpcStream } from "./rpc.ts";
import type { RawSessionCall } from "./session/tunnel.ts";

const MiB = 1024 * 1024;

/**
 * grpc-js's backoff timers move a Date with the local-time get/setMilliseconds, and the first local-time
 * operation of a process loads the time-zone database (~3 ms of a small build, spent on a timer). Time-zone
 * offsets are whole seconds, so the UTC methods do the same arithmetic (start + delay), exact across DST folds too.
 */
export function useUtcMilliseconds(): void {
  Date.prototype.getMilliseconds = Date.prototype.getUTCMilliseconds;
  Date.prototype.setMilliseconds = Date.prototype.setUTCMilliseconds;
}
useUtcMilliseconds();

/** Channel options every BuildKit connection gets. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // buildkitd's own limits; grpc-js would otherwise refuse replies over 4 MiB.
  "grpc.max_send_message_length": 16 * MiB,
  "grpc.max_receive_message_length": 16 * MiB,
  // The 64 KiB default window starves high-latency pipes (docker exec) to a few MB/s.
  "grpc-node.flow_control_window": 16 * MiB,
  // grpc-js redials a refused address on its own backoff (default 1 s growing to 120 s) and fails calls fast
  // meanwhile; readiness polling wakes on its state changes, so this bounds how late a just-started daemon is
  // noticed (measured: under 250 ms). Cheap even for exec-based streams: at most 4 redials a second.
  "grpc.initial_reconnect_backoff_ms": 50,
  "grpc.max_reconnect_backoff_ms": 250,
  // Keepalive stays off: buildkitd (grpc-go defaults) answers pings more often than every 5 min with GOAWAY.
};

/** A dialed (lazily connecting) channel and what it owns. */
export interface Channel {
  client: grpc.Client;
  /** Present for `stream` endpoints; its lastError explains dropped connections. */
  bridge?: Bridge;
  close(): Promise<void>;
}

/** Options for {@link openChannel}. */
export interface ChannelOptions {
  /** Extra grpc-js channel options (tests, user agent). */
  channelOptions?: grpc.ChannelOptions;
}

/** Create the grpc-js client for an endpoint; nothing is dialed until the first call. */
export async function openChannel(endpoint: Endpoint, opts: ChannelOptions = {}): Promise<Channel> {
  const options = { ...CHANNEL_OPTIONS, ...opts.channelOptions };
  if (endpoint.kind === "address") {
    const tls = endpoint.tls;
    const creds = tls ? tlsCredentials(endpoint.target, tls, options) : grpc.credentials.createInsecure();
    const client = new grpc.Client(endpoint.target, creds, options);
    return { client, close: () => Promise.resolve(client.close()) };
  }
  const bridge = await openBridge(endpoint.open);
  // The bridge socket is only a local hop; authority stays neutral like buildctl's dial-stdio.
  const client = new grpc.Client(bridge.target, grpc.credentials.createInsecure(), {
    "grpc.default_authority": "localhost",
    ...options,
  });
  return {
    client,
    bridge,
    close: async () => {
      client.close();
      await bridge.close();
    },
  };
}

type TlsFiles = NonNullable<Extract<Endpoint, { kind: "address" }>["tls"]>;

// TLS with the PEM bytes; mutates `options` for the server name. When the target is an IP literal and no
// servername is given, grpc-js would hand the IP to tls.connect as SNI, which Deno and Bun reject outright
// ("servername must not be an IP address"); Go sends no SNI there and checks the certificate's IP SANs.
// So SNI gets a placeholder and the certificate is still checked against the IP.
function tlsCredentials(
  target: string,
  tls: TlsFiles,
  options: grpc.ChannelOptions,
): grpc.ChannelCredentials {
  const host = targetHost(target);
  let verify: grpc.VerifyOptions = {};
  if (tls.servername) {
    options["grpc.ssl_target_name_override"] = tls.servername;
    options["grpc.default_authority"] = tls.servername;
  } else if (host !== undefined && isIP(host)) {
    options["grpc.ssl_target_name_override"] = IP_SNI_PLACEHOLDER;
    verify = { checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert) };
  }
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, verify);
}

/** SNI sent when dialing an IP literal over TLS (never resolvable, so it can only ever be a label). */
export const IP_SNI_PLACEHOLDER = "ip-literal.invalid";

/** The host part of a grpc-js `host:port` / `[v6]:port` target; undefined for unix targets. */
export function targetHost(target: string): string | undefined {
  const t = target.replace(/^dns:(\/\/[^/]*\/)?/, "");
  if (t.startsWith("unix:")) return undefined;
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(t);
  if (v6) return v6[1];
  const i = t.lastIndexOf(":");
  return i > 0 && t.indexOf(":") === i ? t.slice(0, i) : t;
}

/** The RpcChannel over a grpc-js channel. */
export function grpcJsRpc(channel: Channel): RpcChannel {
  const calls = new Set<grpc.Call>();
  const track = <C extends grpc.Call>(call: C): C => {
    calls.add(call);
    call.once("status", () => calls.delete(call));
    return call;
  };
  const client = channel.client;
  return {
    unary<I extends DescMessage, O extends DescMessage>(
      method: TypedMethod<I, O>,
      request: Input<I>,
      opts: CallOptions,
    ): Promise<MessageShape<O>> {
      const def = grpcMethod(method);
      return new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          request,
          metadataOf(opts),
          callOptions(opts),
          (err, res) => (err ? reject(err) : resolve(res!)),
        );
        track(call);
        cancelOn(opts.signal, call);
      });
    },
    serverStream<I extends DescMessage, O extends DescMessage>(
      method: TypedMethod<I, O>,
      request: Input<I>,
      opts: CallOptions,
    ): RpcStream<MessageShape<O>> {
      const def = grpcMethod(method);
      const call = client.makeServerStreamRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadataOf(opts),
        callOptions(opts),
      );
      track(call);
      cancelOn(opts.signal, call);
      return call as unknown as RpcStream<MessageShape<O>>;
    },
    rawBidi(path: string, opts: CallOptions): RawSessionCall {
      const raw = (b: Buffer) => b;
      const call = client.makeBidiStreamRequest(path, raw, raw, metadataOf(opts), callOptions(opts));
      track(call);
      cancelOn(opts.signal, call);
      return call;
    },
    // Wake as soon as the channel changes state (e.g. becomes READY when grpc-js's own reconnect succeeds):
    // fail-fast calls during grpc-js's reconnect backoff would otherwise add up to a second.
    pause(ms: number, signal?: AbortSignal): Promise<void> {
      const ch = client.getChannel();
      const state = ch.getConnectivityState(true);
      if (state === grpc.connectivityState.READY || state === grpc.connectivityState.SHUTDOWN) {
        return sleep(ms, signal);
      }
      return new Promise((resolve) => {
        const done = () => {
          signal?.removeEventListener("abort", done);
          resolve();
        };
        signal?.addEventListener("abort", done, { once: true });
        ch.watchConnectivityState(state, Date.now() + ms, done);
      });
    },
    get streamError() {
      return channel.bridge?.lastError;
    },
    async close() {
      for (const call of calls) call.cancel();
      calls.clear();
      await channel.close();
    },
  };
}

function metadataOf(opts: CallOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(opts.metadata ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) md.add(key, v);
  }
  return md;
}

function callOptions(opts: CallOptions): grpc.CallOptions {
  return opts.timeoutMs === undefined ? {} : { deadline: Date.now() + opts.timeoutMs };
}

function cancelOn(signal: AbortSignal | undefined, call: grpc.Call): void {
  if (!signal) return;
  if (signal.aborted) {
    call.cancel();
    return;
  }
  const onAbort = () => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  call.once("status", () => signal.removeEventListener("abort", onAbort));
}
