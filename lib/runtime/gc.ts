/**
 * Garbage-collection pacing for bulk transfers. Bun's collector lets short-lived buffers pile up before it runs;
 * a full collection from a clean stack every few dozen MB keeps the peak lower. Since the session's HTTP/2 and
 * the build connection became our own (lib/h2, pooled buffers) an upload makes little garbage, and this saves
 * only 2 to 5 MB of a 300 MB upload's ~90 MB peak (measured on the 2-vCPU VM), for no measurable time.
 * Elsewhere (Deno, Node) it does nothing.
 */
type BunGc = { gc(sync: boolean): void };

/** Counts bytes moved and asks for a collection once enough have gone by (and not more often than minMs). */
export class GcPacer {
  #bytes = 0;
  #last = 0;
  #pending = false;
  readonly #bun = (globalThis as { Bun?: BunGc }).Bun;

  constructor(readonly everyBytes: number, readonly minMs: number) {}

  /** Account for `n` bytes that became garbage (or soon will). */
  note(n: number): void {
    if (!this.#bun) return;
    this.#bytes += n;
    if (this.#bytes < this.everyBytes || this.#pending) return;
    const now = Date.now();
    if (now - this.#last < this.minMs) return;
    this.#pending = true;
    // Collect between events: objects the current call stack still holds would survive a collection here.
    setImmediate(() => {
      this.#bun!.gc(true);
      this.#pending = false;
      this.#bytes = 0;
      this.#last = Date.now();
    });
  }
}
