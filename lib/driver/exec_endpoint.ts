/** The endpoint of a builder reached through a helper command's stdio (`kubectl exec …`, `nerdctl exec …`). */
import { execStream } from "../transport/exec_stream.ts";
import type { Endpoint } from "../transport/types.ts";
import type { DriverEnv } from "./types.ts";

/** A stream endpoint that runs `command args` per connection; its stderr lines go to the debug log. */
export function execEndpoint(
  builder: string,
  address: string,
  command: string,
  args: string[],
  env: DriverEnv,
): Endpoint {
  const display = `${builder}://${address.replace(new RegExp(`^${builder}://`), "")}`;
  return {
    kind: "stream",
    display,
    open: (signal) =>
      execStream(command, args, {
        env: env.env,
        signal,
        onStderr: (line) => env.debug?.(`${display}: ${command}: ${line}`),
      }),
  };
}
