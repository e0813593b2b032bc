/** Reading the error a failed command reported: envd's logrus line off a terminal (`level=fatal msg=exit … error="…"`). */

/** The `error` field of the fatal line in `stderr`, unquoted; throws when there is none. */
export function fatalError(stderr: string): string {
  const line = stderr.split("\n").find((l) => /\blevel=fatal\b/.test(l));
  if (!line) throw new Error(`no fatal line in stderr: ${JSON.stringify(stderr)}`);
  const m = /\berror=("(?:[^"\\]|\\.)*"|\S+)/.exec(line);
  if (!m) throw new Error(`the fatal line has no error field: ${line}`);
  return m[1].startsWith('"') ? JSON.parse(m[1]) : m[1];
}
