/**
 * Garbage-collection pacing for bulk transfers. A context upload is copied several times on its way (grpc-js
 * framing on both gRPC layers, HTTP/2 frames), about a gigabyte of short-lived buffers per gigabyte sent, and Bun's
 * collector lets that pile up to a few hundred MB of RSS before it runs. A full collection from a clean stack
 * every few dozen MB keeps the peak well lower for a few percent of CPU. Elsewhere (Deno, Node) it does nothing.
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
