/** unix: a buildkitd listening on a unix socket (started by the user, or by `bootstrap` for a managed context). */
import { isAbsolute } from "node:path";
import { UserError } from "../../errors.ts";
import type { Driver, DriverFactory } from "../types.ts";
import { bootstrapHost, diagnoseHost, managedSocket, removeHost, stopHost } from "./managed.ts";

export const factory: DriverFactory = {
  name: "unix",
  create(context, env) {
    // With a [daemon] table envd-lite runs the daemon, and a bare name means a socket under the runtime dir.
    const managed = context.daemon !== undefined;
    const driver: Driver = {
      endpoint() {
        const path = managed ? managedSocket(context, env) : context.builderAddress.replace(/^unix:\/\//, "");
        if (!isAbsolute(path)) {
          throw new UserError(
            `invalid unix builder address "${context.builderAddress}": want an absolute socket path`,
          );
        }
        return Promise.resolve({ kind: "address", target: `unix://${path}`, display: `unix://${path}` });
      },
    };
    if (!managed) return driver;
    return {
      ...driver,
      bootstrap: (opts) => bootstrapHost(context, env, opts),
      stop: () => stopHost(context, env),
      remove: ({ keepState }) => removeHost(context, env, keepState),
      diagnose: () => Promise.resolve(diagnoseHost(context, env)),
    };
  },
};
