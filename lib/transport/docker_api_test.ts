import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerTarget, dockerUpgrade } from "./docker_api.ts";

Deno.test("dockerTarget follows DOCKER_HOST like the docker CLI", () => {
  const cases: [Record<string, string>, unknown][] = [
    [{}, { socketPath: "/var/run/docker.sock", display: "unix:///var/run/docker.sock" }],
    [{ DOCKER_HOST: "unix:///run/user/1000/docker.sock" }, {
      socketPath: "/run/user/1000/docker.sock",
      display: "unix:///run/user/1000/docker.sock",
    }],
    [{ DOCKER_HOST: "tcp://10.0.0.5:2375" }, {
      host: "10.0.0.5",
      port: 2375,
      display: "tcp://10.0.0.5:2375",
    }],
    [{ DOCKER_HOST: "tcp://docker.internal" }, {
      host: "docker.internal",
      port: 2375,
      display: "tcp://docker.internal",
    }],
    [{ DOCKER_HOST: "tcp://[::1]:2375" }, { host: "::1", port: 2375, display: "tcp://[::1]:2375" }],
  ];
  for (const [env, want] of cases) assert.deepEqual(dockerTarget(env), want, JSON.stringify(env));
});

Deno.test("dockerTarget loads TLS material from DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set", () => {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-certs-"));
  try {
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, f), `pem of ${f}`);
    const t = dockerTarget({ DOCKER_HOST: "tcp://remote", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir });
    assert.ok("host" in t && t.tls);
    assert.equal(t.port, 2376);
    assert.equal(t.tls.ca.toString(), "pem of ca.pem");
    assert.equal(t.tls.cert.toString(), "pem of cert.pem");
    assert.equal(t.tls.key.toString(), "pem of key.pem");
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("dockerTarget refuses hosts it cannot dial", () => {
  assert.throws(
    () => dockerTarget({ DOCKER_HOST: "ssh://me@box" }),
    /unsupported DOCKER_HOST "ssh:\/\/me@box"/,
  );
  assert.throws(() => dockerTarget({ DOCKER_HOST: "tcp://host:port" }), /unsupported DOCKER_HOST/);
});

/** A stand-in Docker API on a unix socket whose upgrade handler sees the raw request. */
async function fakeDocker(onUpgrade: (req: http.IncomingMessage, sock: Socket, head: Buffer) => void) {
  const dir = mkdtempSync(join(tmpdir(), "envd-lite-fake-docker-"));
  const socketPath = join(dir, "docker.sock");
  const server = http.createServer((_req, res) => {
    res.writeHead(404, { "content-type": "application/json" }).end('{"message":"page not found"}');
  });
  // Upgraded connections leave the server's books; close() must end them itself.
  const upgraded = new Set<Socket>();
  server.on("upgrade", (req, sock: Socket, head: Buffer) => {
    upgraded.add(sock);
    onUpgrade(req, sock, head);
  });
  server.listen(socketPath);
  await once(server, "listening");
  return {
    target: { socketPath, display: `unix://${socketPath}` },
    async close() {
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      for (const sock of upgraded) sock.destroy();
      await closed;
      rmSync(dir, { recursive: true });
    },
  };
}

Deno.test("dockerUpgrade sends a bodiless Upgrade request and hands back the raw connection", async () => {
  let seen: http.IncomingHttpHeaders | undefined;
  let firstBytes: Buffer = Buffer.alloc(0);
  const docker = await fakeDocker((req, sock, head) => {
    seen = req.headers;
    firstBytes = head;
    // Like dockerd: 101, then the new protocol's first bytes at once, then echo.
    sock.write(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nSERVER-PREFACE",
    );
    sock.on("data", (d: Buffer) => sock.write(d));
  });
  try {
    const conn = await dockerUpgrade(docker.target, "/grpc", "h2c");
    const got: Buffer[] = [];
    conn.on("data", (d: Buffer) => got.push(d));
    conn.write("CLIENT-PREFACE");
    for (let i = 0; i < 100 && Buffer.concat(got).length < 28; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(Buffer.concat(got).toString(), "SERVER-PREFACECLIENT-PREFACE");
    assert.equal(seen?.upgrade, "h2c");
    assert.equal(seen?.connection, "Upgrade");
    // No body may precede the new protocol: no chunked terminator, no JSON.
    assert.equal(seen?.["transfer-encoding"], undefined);
    assert.ok(seen?.["content-length"] === undefined || seen["content-length"] === "0");
    assert.equal(firstBytes.length, 0);
    conn.destroy();
  } finally {
    await docker.close();
  }
});

Deno.test("dockerUpgrade reports the daemon's refusal", async () => {
  const docker = await fakeDocker((_req, sock) => {
    const body = '{"message":"protocol h3 not supported"}';
    sock.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
  try {
    await assert.rejects(
      dockerUpgrade(docker.target, "/grpc", "h3"),
      /Docker API POST \/grpc: HTTP 400: protocol h3 not supported/,
    );
  } finally {
    await docker.close();
  }
});

Deno.test("dockerUpgrade names the Docker host it cannot reach", async () => {
  await assert.rejects(
    dockerUpgrade(
      { socketPath: "/nonexistent/docker.sock", display: "unix:///nonexistent/docker.sock" },
      "/grpc",
      "h2c",
    ),
    /cannot reach Docker at unix:\/\/\/nonexistent\/docker.sock/,
  );
});
