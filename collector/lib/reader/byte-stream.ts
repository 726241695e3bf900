// Reads exact byte counts from an async stream of arbitrarily sized pieces, holding only what has
// been read ahead and not yet consumed (at most one chunk of the capture plus one piece).

export class ByteStream {
  private readonly pieces: AsyncIterator<Uint8Array>;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private ended = false;
  /** File offset of the next byte `read` returns. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.pieces = source[Symbol.asyncIterator]();
  }

  /**
   * Returns the next `length` bytes, or fewer only when the stream ends first (then everything
   * that was left). The result may share memory with the source's pieces.
   */
  async read(length: number): Promise<Uint8Array> {
    while (this.pendingBytes < length && !this.ended) {
      const next = await this.pieces.next();
      if (next.done) {
        this.ended = true;
      } else if (next.value.length > 0) {
        this.pending.push(next.value);
        this.pendingBytes += next.value.length;
      }
    }
    const taken = this.take(Math.min(length, this.pendingBytes));
    this.position += taken.length;
    return taken;
  }

  /** True when every byte has been read. */
  async atEnd(): Promise<boolean> {
    if (this.pendingBytes > 0) return false;
    const next = await this.read(1);
    if (next.length === 0) return true;
    this.position -= 1;
    this.pending.unshift(next);
    this.pendingBytes += 1;
    return false;
  }

  private take(length: number): Uint8Array {
    const first = this.pending[0];
    if (first !== undefined && first.length >= length) {
      // Common case: the bytes lie within one piece, no copy.
      this.consumeFromFirst(length);
      return first.subarray(0, length);
    }
    const joined = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const piece = this.pending[0];
      const count = Math.min(piece.length, length - filled);
      joined.set(piece.subarray(0, count), filled);
      filled += count;
      this.consumeFromFirst(count);
    }
    return joined;
  }

  private consumeFromFirst(count: number): void {
    const first = this.pending[0];
    if (first === undefined) return;
    if (count === first.length) this.pending.shift();
    else this.pending[0] = first.subarray(count);
    this.pendingBytes -= count;
  }
}
