/** envd's `context ls` table (tablewriter v1.1.0 as envd v1.3.4 configures it): no borders or separators,
 * headers upper-cased, every header and cell left-aligned and padded by one space on each side, trailing
 * whitespace of a cell dropped, widths in terminal columns. */

// Wide (East Asian W/F) ranges: two columns each, as go-runewidth counts them.
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
// Control, combining and zero-width characters take no column.
const ZERO = /[\p{Cc}\p{Mn}\p{Me}\u200b-\u200f\u2028\u2029\u2060\ufeff]/u;

/** Terminal columns of `s`, as tablewriter measures a cell. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += ZERO.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1;
  return w;
}

/** Renders rows under headers the way `envd context ls` prints them. */
export function renderEnvdTable(headers: string[], rows: string[][]): string {
  const cells = rows.map((r) => headers.map((_, i) => (r[i] ?? "").trimEnd()));
  const head = headers.map((h) => h.toUpperCase());
  const widths = head.map((h, i) => Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i]))));
  const line = (cs: string[]) =>
    cs.map((c, i) => ` ${c}${" ".repeat(widths[i] - displayWidth(c))} `).join("") + "\n";
  return [head, ...cells].map(line).join("");
}

/** A plain left-aligned table with two-space gaps (buildctl's style), for envd-lite's own commands. */
export function renderPlainTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd() + "\n";
  return line(headers) + rows.map(line).join("");
}
