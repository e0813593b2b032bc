/** Run by buildkit_client_test.ts under Bun and Deno: the same client calls, results printed as one JSON object. */
import { readFileSync } from "node:fs";
import { connect as netConnect, createServer } from "node:net";
import { openBuildConnection } from "../../lib/buildkit/build_connection.ts";
import { connect } from "../../lib/buildkit/client.ts";
import type { Endpoint } from "../../lib/transport/types.ts";
import { daemons } from "../helpers/daemons.ts";

const peers = daemons();
const t = peers.buildkitTls;
const tls = (ca: string, servername?: string) => ({
  ca: readFileSync(ca),
  cert: readFileSync(t.cert),
  key: readFileSync(t.key),
  ...(servername ? { servername } : {}),
});
const endpoints: Record<string, Endpoint> = {
  tcp: { kind: "address", target: peers.buildkitTcp, display: "tcp" },
  unix: { kind: "address", target: `unix://${peers.buildkitUnix}`, display: "unix" },
  stream: { kind: "stream", display: "stream", open: () => Promise.resolve(netConnect(peers.buildkitUnix)) },
  mtlsIp: { kind: "address", target: t.address, display: "mtls", tls: tls(t.ca) },
  mtlsName: { kind: "address", target: t.address, display: "mtls", tls: tls(t.ca, t.servername) },
};

const out: Record<string, unknown> = {};
for (const [name, ep] of Object.entries(endpoints)) {
  const c = await connect(ep);
  out[name] = (await c.info()).version;
  if (name === "tcp") out.workers = (await c.listWorkers()).length;
  await c.close();
  // A build's connection (our own HTTP/2 client, lib/h2) answers the same on every transport.
  const b = await openBuildConnection(ep);
  out[`${name}Build`] = (await b.client.info()).version;
  await b.close();
}
const wrongCa: Endpoint = { kind: "address", target: t.address, display: "mtls", tls: tls(t.wrongCa) };
out.wrongCa = await failure(wrongCa, 5000, "5s");
out.wrongCaBuild = await failure(wrongCa, 5000, "5s", true);
const port = await new Promise<number>((res) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => res(p));
  });
});
const unreachable: Endpoint = {
  kind: "address",
  target: `127.0.0.1:${port}`,
  display: `tcp://127.0.0.1:${port}`,
};
out.unreachable = await failure(unreachable, 1000, "1s");
out.unreachableBuild = await failure(unreachable, 1000, "1s", true);
process.stdout.write(JSON.stringify(out));

async function failure(ep: Endpoint, timeoutMs: number, timeoutText: string, build = false): Promise<string> {
  const c = build ? (await openBuildConnection(ep)).client : await connect(ep);
  try {
    await c.waitReady({ timeoutMs, timeoutText });
    return "no error";
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.close();
  }
}
