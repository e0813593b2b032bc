/** logrus-shaped log lines on stderr, as envd prints them: colour-free text off a TTY, or JSON. */

export type Level = "debug" | "info" | "warning" | "error";
export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export interface LoggerOptions {
  write(line: string): void;
  format: "text" | "json";
  debug: boolean;
  /** TTY output uses logrus's short `INFO[time] msg` form; otherwise `time="…" level=info msg="…"`. */
  terminal: boolean;
  now?: () => Date;
}

const SHORT: Record<Level, string> = { debug: "DEBU", info: "INFO", warning: "WARN", error: "ERRO" };

// logrus quotes a value only when it holds characters outside this set.
function quote(v: string): string {
  return /^[A-Za-z0-9\-._/@^+]+$/.test(v) ? v : JSON.stringify(v);
}

/** Make a logger writing one line per entry; fields are sorted by key, as logrus does. */
export function createLogger(opts: LoggerOptions): Logger {
  const now = opts.now ?? (() => new Date());
  const emit = (level: Level, msg: string, fields: Fields = {}) => {
    if (level === "debug" && !opts.debug) return;
    const keys = Object.keys(fields).filter((k) => fields[k] !== undefined).sort();
    const time = now().toISOString().replace(/\.\d+Z$/, "Z");
    if (opts.format === "json") {
      const obj: Record<string, unknown> = {};
      for (const k of keys) obj[k] = fields[k];
      Object.assign(obj, { level, msg, time });
      opts.write(JSON.stringify(obj) + "\n");
      return;
    }
    const kv = keys.map((k) => `${k}=${quote(String(fields[k]))}`).join(" ");
    if (opts.terminal) {
      opts.write(`${SHORT[level]}[${time}] ${msg.padEnd(44)}${kv ? " " + kv : ""}`.trimEnd() + "\n");
    } else {
      opts.write(`time="${time}" level=${level} msg=${quote(msg)}${kv ? " " + kv : ""}\n`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warning", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
