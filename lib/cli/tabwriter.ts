/**
 * Go's text/tabwriter as buildctl configures it (minwidth 1, tabwidth 8, padding 1, padchar '\t'), so tables
 * printed like buildctl's are byte-identical: tab-terminated cells are aligned per block of consecutive lines
 * that have them, padded with tabs to the next multiple of 8; a line's last cell is not aligned.
 */

const TAB_WIDTH = 8;
const PADDING = 1;
const MIN_WIDTH = 1;

/** Formats `text` (cells separated by '\t', lines by '\n') as Go's tabwriter would flush it. */
export function tabwrite(text: string): string {
  const lines = text.split("\n").map((l) => l.split("\t"));
  const trailing = lines.pop()!; // after the last newline: written as is
  let out = "";
  const widths: number[] = [];

  const width = (s: string) => [...s].length;
  const pad = (textWidth: number, cellWidth: number) => {
    const cell = Math.ceil(cellWidth / TAB_WIDTH) * TAB_WIDTH;
    return "\t".repeat(Math.ceil((cell - textWidth) / TAB_WIDTH));
  };
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      out += lines[i].map((c, j) => j < widths.length ? c + pad(width(c), widths[j]) : c).join("") + "\n";
    }
  };
  // Go's format(): each column's block is the run of lines that have a cell in it; recurse to the right.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i].length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let w = MIN_WIDTH;
      for (; i < line1 && column < lines[i].length - 1; i++) {
        w = Math.max(w, width(lines[i][column]) + PADDING);
      }
      widths.push(w);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--; // the loop's i++ must not skip the line that ended the block
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out + trailing.join("\t");
}
