import assert from "node:assert/strict";
import { UserError } from "../../errors.ts";
import { parseSshAddress, sshArgs } from "./mod.ts";

Deno.test("ssh addresses: user, host, port, socket path, IPv6, buildctl's ssh:// prefix", () => {
  const cases: [string, ReturnType<typeof parseSshAddress>, string[]][] = [
    ["builder.internal", { host: "builder.internal" }, ["--", "builder.internal", "buildctl", "dial-stdio"]],
    ["ci@10.0.0.7", { user: "ci", host: "10.0.0.7" }, [
      "-l",
      "ci",
      "--",
      "10.0.0.7",
      "buildctl",
      "dial-stdio",
    ]],
    ["ssh://ci@h:2222", { user: "ci", host: "h", port: 2222 }, [
      "-l",
      "ci",
      "-p",
      "2222",
      "--",
      "h",
      "buildctl",
      "dial-stdio",
    ]],
    [
      "h:22/run/buildkit/buildkitd.sock",
      { host: "h", port: 22, socket: "/run/buildkit/buildkitd.sock" },
      ["-p", "22", "--", "h", "buildctl", "--addr", "unix:///run/buildkit/buildkitd.sock", "dial-stdio"],
    ],
    ["h/tmp/b.sock", { host: "h", socket: "/tmp/b.sock" }, [
      "--",
      "h",
      "buildctl",
      "--addr",
      "unix:///tmp/b.sock",
      "dial-stdio",
    ]],
    ["root@[::1]:2200", { user: "root", host: "::1", port: 2200 }, [
      "-l",
      "root",
      "-p",
      "2200",
      "--",
      "::1",
      "buildctl",
      "dial-stdio",
    ]],
  ];
  for (const [address, want, args] of cases) {
    const got = parseSshAddress(address);
    assert.deepEqual(got, want, address);
    assert.deepEqual(sshArgs(got), ["-o", "BatchMode=yes", ...args], address);
  }
});

Deno.test("bad ssh addresses are one UserError naming the address", () => {
  for (const bad of ["", "@h", "h:0", "h:99999", "h:x", "-oProxyCommand=x", "a@b@h", "[::1"]) {
    assert.throws(() => parseSshAddress(bad), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, new RegExp(`^invalid ssh builder address "${bad.replace(/[[\]]/g, "\\$&")}"`));
      return true;
    }, bad);
  }
});
