/** Parsers for the value forms buildkitd.toml accepts: disk sizes and Go durations. */

const UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** Parses `512MB`, `20GB`, `10%` or plain bytes (binary units, case-insensitive, `b` optional) as buildkitd does; null when invalid. */
export function parseSize(text: string | number): { bytes?: number; percent?: number } | null {
  if (typeof text === "number") return Number.isSafeInteger(text) && text >= 0 ? { bytes: text } : null;
  const t = text.trim();
  // buildkitd parses the percentage as an integer: `10.5%` is refused by the daemon, so here too.
  const pct = /^(\d+)%$/.exec(t);
  if (pct) {
    const p = Number(pct[1]);
    return p <= 100 ? { percent: p } : null;
  }
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)$/i.exec(t);
  if (!m) return null;
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  return Number.isSafeInteger(bytes) ? { bytes } : null;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1e3,
  m: 60e3,
  h: 3600e3,
};

/** Parses Go's duration syntax (`1h30m`, `500ms`, `-2s`; a bare `0`) into milliseconds; null when invalid. */
export function parseGoDuration(text: string): number | null {
  const t = text.trim();
  if (t === "0" || t === "+0" || t === "-0") return 0;
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(t);
  if (!m) return null;
  let total = 0;
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]];
  }
  return m[1] === "-" ? -total : total;
}

/** Durations in buildkitd.toml: a Go duration string, or a number of seconds (an integer, or its digits as a string). */
export function parseConfigDuration(value: string | number): number | null {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value * 1000 : null;
  // buildkitd tries Go's syntax first, then the whole text as integer seconds: "7200" is two hours.
  if (/^\d+$/.test(value)) return parseConfigDuration(Number(value));
  const ms = parseGoDuration(value);
  return ms !== null && ms >= 0 ? ms : null;
}
