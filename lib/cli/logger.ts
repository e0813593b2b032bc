/** logrus-shaped log lines on stderr, as envd prints them (TextFormatter, FullTimestamp): the coloured short
 * form on a terminal, `time="…" level=… msg=… k=v` elsewhere, or logrus's JSON with --log-format json. */

export type Level = "debug" | "info" | "warning" | "error" | "fatal";
export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** The line envd's ExitErrHandler writes before exiting 1 (the caller exits). */
  fatal(msg: string, fields?: Fields): void;
}

export interface LoggerOptions {
  write(line: string): void;
  format: "text" | "json";
  debug: boolean;
  /** A terminal gets logrus's coloured `INFO[time] msg` form; otherwise `time="…" level=info msg="…"`. */
  terminal: boolean;
  now?: () => Date;
}

const SHORT: Record<Level, string> = {
  debug: "DEBU",
  info: "INFO",
  warning: "WARN",
  error: "ERRO",
  fatal: "FATA",
};
// logrus's colours: gray, blue, yellow, red.
const COLOUR: Record<Level, number> = { debug: 37, info: 36, warning: 33, error: 31, fatal: 31 };

// Go's %q for the characters a message or value can hold: quotes, backslashes and control characters escaped,
// printable Unicode kept as is.
function goQuote(s: string): string {
  const named: Record<string, string> = {
    "\x07": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
  };
  // deno-lint-ignore no-control-regex
  const special = /[\x00-\x1f\x7f"\\]/g;
  return `"${s.replace(special, (c) => named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}"`;
}

// logrus quotes a value only when it holds characters outside this set; an empty value stays bare.
function quote(v: string): string {
  return /^[A-Za-z0-9\-._/@^+]*$/.test(v) ? v : goQuote(v);
}

/** Go's RFC 3339 in local time, as logrus's default timestamp: `2006-01-02T15:04:05Z07:00`. */
export function rfc3339(d: Date): string {
  const p = (n: number) => String(Math.abs(n)).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? "Z" : `${off < 0 ? "-" : "+"}${p(Math.trunc(off / 60))}:${p(off % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}${zone}`;
}

/** Make a logger writing one line per entry; fields are sorted by key, as logrus does. */
export function createLogger(opts: LoggerOptions): Logger {
  const now = opts.now ?? (() => new Date());
  const emit = (level: Level, msg: string, fields: Fields = {}) => {
    if (level === "debug" && !opts.debug) return;
    const keys = Object.keys(fields).filter((k) => fields[k] !== undefined).sort();
    const time = rfc3339(now());
    if (opts.format === "json") {
      // Go encodes logrus's field map with its keys sorted, the fixed ones included.
      const all: Record<string, unknown> = { level, msg, time };
      for (const k of keys) all[k] = fields[k];
      const obj = Object.fromEntries(Object.keys(all).sort().map((k) => [k, all[k]]));
      opts.write(JSON.stringify(obj) + "\n");
      return;
    }
    if (opts.terminal) {
      const c = COLOUR[level];
      const kv = keys.map((k) => ` \x1b[${c}m${k}\x1b[0m=${quote(String(fields[k]))}`).join("");
      opts.write(`\x1b[${c}m${SHORT[level]}\x1b[0m[${time}] ${msg.padEnd(44)} ${kv}\n`);
    } else {
      const kv = keys.map((k) => ` ${k}=${quote(String(fields[k]))}`).join("");
      opts.write(`time="${time}" level=${level} msg=${quote(msg)}${kv}\n`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warning", m, f),
    error: (m, f) => emit("error", m, f),
    fatal: (m, f) => emit("fatal", m, f),
  };
}
