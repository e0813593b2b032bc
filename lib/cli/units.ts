/** Human-readable sizes and durations, as buildctl and Go print them. */

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Decimal units with four significant digits: `4.096kB`, `1.2GB`. */
export function humanSize(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${UNITS[i]}`;
}

/**
 * A size as buildctl prints it (`fmt.Sprintf("%.2f", units.Bytes(n))`): whole bytes below 1000 (`512B`), else
 * decimal units with two decimals (`4.10kB`, `10.02MB`), rounded half to even as Go's big.Float does.
 */
export function buildctlSize(bytes: number): string {
  if (bytes < 1000) return `${bytes}B`;
  let i = 0;
  while (i < UNITS.length - 1 && bytes >= 1000 ** (i + 1)) i++;
  const v = bytes / 1000 ** i;
  // The only binary values that lie exactly halfway between two cents are odd eighths (x.125, x.375…):
  // toFixed rounds those up, Go's big.Float to the even cent.
  if (Number.isInteger(v * 8) && (v * 8) % 2 === 1) {
    const down = Math.floor(v * 100);
    return `${((down % 2 === 0 ? down : down + 1) / 100).toFixed(2)}${UNITS[i]}`;
  }
  return `${v.toFixed(2)}${UNITS[i]}`;
}

/** Go's Duration.String() for whole milliseconds: `48h0m0s`, `1m30s`, `1.5s`, `500ms`, `0s`. */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (Math.abs(ms) < 1000) return `${ms}ms`;
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  const h = Math.floor(rest / 3600e3);
  rest -= h * 3600e3;
  const m = Math.floor(rest / 60e3);
  rest -= m * 60e3;
  const s = `${Number((rest / 1000).toFixed(3))}s`;
  if (h) return `${sign}${h}h${m}m${s}`;
  if (m) return `${sign}${m}m${s}`;
  return sign + s;
}
