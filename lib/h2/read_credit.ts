/**
 * Flow control from the reader's side, for both call types: a stream's receive window is given back as its
 * messages are taken, at once while the reader keeps up, and only when it asks for more once its buffer is full
 * (so a slow reader holds the peer back instead of piling messages up in memory).
 */
export class ReadCredit {
  #held = false;
  #owed = 0;

  /** `credit(n)` returns `n` bytes of the stream's window to the peer. */
  constructor(readonly credit: (n: number) => void) {}

  /** The reader's buffer is full (Readable.push returned false): hold credit from now on. */
  hold(): void {
    this.#held = true;
  }

  /** `n` bytes arrived (and were pushed to the reader). */
  received(n: number): void {
    if (this.#held) this.#owed += n;
    else if (n) this.credit(n);
  }

  /** The reader wants more (Readable._read), or will read no more: give back what was held. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    const n = this.#owed;
    this.#owed = 0;
    if (n) this.credit(n);
  }
}
