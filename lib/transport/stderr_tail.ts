/** Splits a helper's stderr into lines for the debug log and keeps the last few to explain a failure. */

const KEEP_LINES = 5;

export class StderrTail {
  #partial = "";
  #lines: string[] = [];

  /** Feed a chunk; complete lines go to `onLine`. */
  write(chunk: Buffer | string, onLine?: (line: string) => void): void {
    const parts = (this.#partial + chunk.toString()).split("\n");
    this.#partial = parts.pop()!;
    for (const line of parts) this.#line(line, onLine);
  }

  /** Emit a last line that had no newline. */
  flush(onLine?: (line: string) => void): void {
    if (this.#partial) this.#line(this.#partial, onLine);
    this.#partial = "";
  }

  /** The last lines joined into one, for an error message. */
  text(): string {
    return this.#lines.join("; ");
  }

  #line(raw: string, onLine?: (line: string) => void): void {
    const line = raw.replace(/\r$/, "").trim();
    if (!line) return;
    onLine?.(line);
    this.#lines.push(line);
    if (this.#lines.length > KEEP_LINES) this.#lines.shift();
  }
}
