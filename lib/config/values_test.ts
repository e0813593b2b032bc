import assert from "node:assert/strict";
import { parseConfigDuration, parseGoDuration, parseSize } from "./values.ts";

Deno.test("parseSize: buildkitd's forms (binary units, case-insensitive, b optional, percent)", () => {
  assert.deepEqual(parseSize("512MB"), { bytes: 512 * 1024 ** 2 });
  assert.deepEqual(parseSize("20gb"), { bytes: 20 * 1024 ** 3 });
  assert.deepEqual(parseSize("1k"), { bytes: 1024 });
  assert.deepEqual(parseSize("1.5GiB"), { bytes: 1.5 * 1024 ** 3 });
  assert.deepEqual(parseSize("10%"), { percent: 10 });
  assert.deepEqual(parseSize(4096), { bytes: 4096 });
  assert.deepEqual(parseSize("4096"), { bytes: 4096 });
  for (const bad of ["", "MB", "-1MB", "101%", "10.5%", "1 bananas", "1e3", -5, 1.5]) {
    assert.equal(parseSize(bad), null, String(bad));
  }
});

Deno.test("parseGoDuration: Go's syntax", () => {
  assert.equal(parseGoDuration("48h"), 48 * 3600e3);
  assert.equal(parseGoDuration("1h30m"), 5400e3);
  assert.equal(parseGoDuration("1.5s"), 1500);
  assert.equal(parseGoDuration("300ms"), 300);
  assert.equal(parseGoDuration("2us"), 0.002);
  assert.equal(parseGoDuration("-2s"), -2000);
  assert.equal(parseGoDuration("0"), 0);
  for (const bad of ["", "5", "2 days", "1d", "h", "1h-5m", "5sec"]) {
    assert.equal(parseGoDuration(bad), null, bad);
  }
  assert.equal(parseConfigDuration(60), 60e3);
  // buildkitd falls back to integer seconds for a string Go's syntax refuses (checked on buildkitd v0.29.0).
  assert.equal(parseConfigDuration("7200"), 7200e3);
  assert.equal(parseConfigDuration(" 7200"), null);
  assert.equal(parseConfigDuration("-1s"), null);
});
