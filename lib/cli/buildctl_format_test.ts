/** buildctl's number and table formatting, checked against Go itself (tests/fixtures/go_format runs the real code). */
import assert from "node:assert/strict";
import { runGoFixture } from "../../tests/helpers/go_fixture.ts";
import { tabwrite } from "./tabwriter.ts";
import { buildctlSize } from "./units.ts";

const SIZES = [
  0,
  1,
  999,
  1000,
  1001,
  1005,
  1125,
  1135,
  1234,
  4096,
  8192,
  99_995,
  999_499,
  999_999,
  1_000_000,
  1_005_000,
  1_125_000,
  5_005_312,
  10_020_000,
  123_456_789,
  999_999_999,
  1e9,
  1.5e12,
  2 ** 40,
  7.25e15,
  2 ** 53 - 1,
];
// Random sizes over every magnitude, and every exact x.xx5 tie below 10kB.
for (let i = 0; i < 300; i++) SIZES.push(Math.floor(Math.random() ** 3 * 2 ** 50));
for (let b = 1005; b < 10_000; b += 10) SIZES.push(b);

const TABLES = [
  "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\n" + `${"abc*".padEnd(71)}\ttrue       \t4.10kB\t\n`,
  "Reclaimable:\t10.02MB\nTotal:\t10.02MB\n",
  "Shared:\t1B\nPrivate:\t2B\nReclaimable:\t3B\nTotal:\t4B\n",
  "ID:\tx\nCreated at:\tt\nMutable:\ttrue\n\nID:\ty\nDescription:\t[1/1] COPY a /a\n\n",
  "a\tbb\tccc\n\tlonger cell here\t\nno tabs\nx\ty\n",
  "one\ttwo\tthree\tfour\nfive\tsix\nseven\teight\tnine\n",
  "é\tü\n\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\tz\n",
  "ends without newline\tcell",
  "",
  "\t\t\n\t\n",
];

Deno.test('buildctlSize equals Go\'s fmt.Sprintf("%.2f", units.Bytes(n)) for every magnitude and tie', async () => {
  const out = JSON.parse(new TextDecoder().decode(
    await runGoFixture("go_format", JSON.stringify({ sizes: SIZES, tables: [] })),
  ));
  SIZES.forEach((n, i) => assert.equal(buildctlSize(n), out.sizes[i], `size ${n}`));
});

Deno.test("tabwrite equals Go's text/tabwriter with buildctl's settings", async () => {
  const out = JSON.parse(new TextDecoder().decode(
    await runGoFixture("go_format", JSON.stringify({ sizes: [], tables: TABLES })),
  ));
  TABLES.forEach((t, i) => assert.equal(tabwrite(t), out.tables[i], JSON.stringify(t)));
});
