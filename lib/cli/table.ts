/** envd's table layout (tablewriter v1 as envd configures it): no borders, headers upper-case and centred,
 * first column left-aligned, the rest right-aligned, every cell padded by one space on each side. */

function center(s: string, width: number): string {
  const left = Math.floor((width - s.length) / 2);
  return " ".repeat(left) + s + " ".repeat(width - s.length - left);
}

/** Renders rows under headers the way `envd context ls` prints them. */
export function renderEnvdTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const line = (cells: string[]) => cells.map((c) => ` ${c} `).join("") + "\n";
  let out = line(headers.map((h, i) => center(h.toUpperCase(), widths[i])));
  for (const r of rows) {
    out += line(widths.map((w, i) => {
      const c = r[i] ?? "";
      const pad = " ".repeat(w - [...c].length);
      return i === 0 ? c + pad : pad + c;
    }));
  }
  return out;
}

/** A plain left-aligned table with two-space gaps (buildctl's style), for envd-lite's own commands. */
export function renderPlainTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd() + "\n";
  return line(headers) + rows.map(line).join("");
}
