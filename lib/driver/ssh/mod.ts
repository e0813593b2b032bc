/**
 * ssh: buildkitd on a remote machine reached by `ssh … -- host buildctl [--addr unix://PATH] dial-stdio`, with the
 * user's own ssh config, keys and agent (no key is stored in the contexts file). buildctl's ssh:// form.
 */
import { UserError } from "../../errors.ts";
import { execEndpoint } from "../exec_endpoint.ts";
import type { DriverFactory } from "../types.ts";

export interface SshAddress {
  user?: string;
  host: string;
  port?: number;
  /** The daemon's socket on the remote machine; absent: buildctl's default. */
  socket?: string;
}

/** Parse `[ssh://][user@]host[:port][/path/to/buildkitd.sock]`; an IPv6 host is written in brackets. */
export function parseSshAddress(address: string): SshAddress {
  const bad = (why: string) => new UserError(`invalid ssh builder address "${address}": ${why}`);
  let rest = address.replace(/^ssh:\/\//, "");
  const out: SshAddress = { host: "" };
  const at = rest.indexOf("@");
  const slash = rest.indexOf("/");
  if (at >= 0 && (slash < 0 || at < slash)) {
    out.user = rest.slice(0, at);
    if (!out.user) throw bad("empty user before @");
    rest = rest.slice(at + 1);
  }
  const m = /^(\[[0-9A-Fa-f:.%a-z]+\]|[^:/\[\]@\s]+)(?::([^/]*))?(\/.*)?$/.exec(rest);
  if (!m) throw bad("want [user@]host[:port][/path/to/buildkitd.sock]");
  out.host = m[1].replace(/^\[(.*)\]$/, "$1");
  if (out.host.startsWith("-")) throw bad("a host cannot start with -");
  if (m[2] !== undefined) {
    const port = Number(m[2]);
    if (!/^\d+$/.test(m[2]) || port < 1 || port > 65535) throw bad(`port "${m[2]}" is not 1-65535`);
    out.port = port;
  }
  if (m[3] !== undefined && m[3] !== "/") out.socket = m[3];
  return out;
}

/**
 * ssh's arguments: BatchMode, so that a missing key or an unknown host key fails with ssh's own reason instead of
 * waiting for a password or a yes/no on the terminal; `--` so that the host can never be read as an option.
 */
export function sshArgs(a: SshAddress): string[] {
  return [
    "-o",
    "BatchMode=yes",
    ...(a.user ? ["-l", a.user] : []),
    ...(a.port ? ["-p", String(a.port)] : []),
    "--",
    a.host,
    "buildctl",
    ...(a.socket ? ["--addr", `unix://${a.socket}`] : []),
    "dial-stdio",
  ];
}

export const factory: DriverFactory = {
  name: "ssh",
  create(context, env) {
    return {
      endpoint() {
        const args = sshArgs(parseSshAddress(context.builderAddress));
        return Promise.resolve(execEndpoint("ssh", context.builderAddress, "ssh", args, env));
      },
    };
  },
};
