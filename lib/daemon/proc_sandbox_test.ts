import assert from "node:assert/strict";
import { procIsMasked } from "./proc_sandbox.ts";

const HOST = `22 27 0:21 / /proc rw,relatime - proc proc rw
40 22 0:35 / /proc/sys/fs/binfmt_misc rw,relatime - autofs systemd-1 rw
23 27 0:22 / /sys rw - sysfs sysfs rw`;

Deno.test("procIsMasked: a host's /proc (binfmt_misc only) is usable; a container's masks are not", () => {
  assert.equal(procIsMasked(HOST), undefined);
  const container = HOST +
    "\n90 22 0:50 /null /proc/kcore rw,nosuid - devtmpfs udev rw\n91 22 0:51 / /proc/acpi ro - tmpfs tmpfs ro";
  assert.equal(procIsMasked(container), "/proc/kcore");
});
