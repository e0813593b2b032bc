/** Reusable buffers for bulk transfers: a gigabyte sent through fresh buffers is a gigabyte of garbage. */

/** A free list of equally sized buffers; take() allocates when it is empty, give() keeps up to `keep`. */
export class BufferPool {
  readonly #free: Buffer[] = [];

  constructor(readonly size: number, readonly keep: number) {}

  /** A buffer of `size` bytes (contents undefined). */
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Return a buffer taken from this pool once nothing refers to it any more. */
  give(buf: Buffer): void {
    if (this.#free.length < this.keep && buf.length === this.size) this.#free.push(buf);
  }
}
