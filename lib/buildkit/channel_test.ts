import assert from "node:assert/strict";
import { targetHost } from "./channel.ts";

Deno.test("targetHost() finds the host of every grpc-js target form", () => {
  assert.equal(targetHost("127.0.0.1:1234"), "127.0.0.1");
  assert.equal(targetHost("buildkitd.internal:8888"), "buildkitd.internal");
  assert.equal(targetHost("[::1]:1234"), "::1");
  assert.equal(targetHost("dns:///example.com:443"), "example.com");
  assert.equal(targetHost("unix:///run/buildkit/buildkitd.sock"), undefined);
  assert.equal(targetHost("localhost"), "localhost");
});

Deno.test("grpc-js's timer arithmetic (getMilliseconds() + delay, then setMilliseconds) is exact in every zone", async () => {
  // What grpc-js means is endTime = startTime + delay; with the UTC setter that holds in any zone, as long as
  // the local millisecond field is the UTC one (whole-second offsets). The local-time setter can be an hour off
  // inside a DST fold.
  const script = `
    const localMs = Date.prototype.getMilliseconds;
    Date.prototype.getMilliseconds = Date.prototype.getUTCMilliseconds;
    Date.prototype.setMilliseconds = Date.prototype.setUTCMilliseconds;
    let seed = 7, bad = 0;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 20000; i++) {
      const t = Math.floor((rand() - 0.35) * 8e12);
      const delay = Math.floor(rand() * 2 * 3600e3);
      const d = new Date(t);
      if (localMs.call(d) !== d.getMilliseconds()) bad++;
      d.setMilliseconds(d.getMilliseconds() + delay);
      if (d.getTime() !== t + delay) bad++;
    }
    console.log(bad);
  `;
  const zones = [
    "UTC",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Europe/Amsterdam",
    "Africa/Monrovia",
    "America/New_York",
  ];
  for (const tz of zones) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      env: { TZ: tz },
      stdout: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "0", tz);
  }
  assert.equal(Date.prototype.getMilliseconds, Date.prototype.getUTCMilliseconds);
  assert.equal(Date.prototype.setMilliseconds, Date.prototype.setUTCMilliseconds);
});
