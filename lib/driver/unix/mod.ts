/** unix: a buildkitd listening on a unix socket (started by the user, or by `bootstrap` for a managed context). */
import { isAbsolute } from "node:path";
import { UserError } from "../../errors.ts";
import type { DriverFactory } from "../types.ts";

export const factory: DriverFactory = {
  name: "unix",
  create(context) {
    return {
      endpoint() {
        const path = context.builderAddress.replace(/^unix:\/\//, "");
        if (!isAbsolute(path)) throw new UserError(`invalid unix builder address "${context.builderAddress}": want an absolute socket path`);
        return Promise.resolve({ kind: "address", target: `unix://${path}`, display: `unix://${path}` });
      },
    };
  },
};
