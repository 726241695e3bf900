// Reads the primitive encodings of docs/capture-format.md ("Encodings") from one chunk payload.
// Values are JavaScript numbers: exact up to 2^53, which covers every user-space address, size and
// time; bigger 64-bit values (never written for real data) lose low bits rather than fail.
import { PayloadError } from './capture-error.js';

const MAX_VARINT_BYTES = 10;
const utf8 = new TextDecoder('utf-8');

export class PayloadCursor {
  position = 0;

  /**
   * `payloadPosition` turns a position in `bytes` into one in the chunk's payload, for errors: the
   * identity, but for records put back in order from their streams (record-decoder.ts).
   */
  constructor(readonly bytes: Uint8Array, readonly payloadPosition: (position: number) => number = (position) => position) {}

  get atEnd(): boolean {
    return this.position >= this.bytes.length;
  }

  byte(): number {
    if (this.position >= this.bytes.length) this.cutShort();
    return this.bytes[this.position++];
  }

  varint(): number {
    const start = this.position;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.position >= this.bytes.length) this.cutShort();
      const byte = this.bytes[this.position++];
      // The tenth byte holds bit 63 only; anything more overflows 64 bits.
      if (i === MAX_VARINT_BYTES - 1 && byte > 1) {
        throw new PayloadError('varint overflows 64 bits', this.payloadPosition(start));
      }
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new PayloadError('varint longer than 10 bytes', this.payloadPosition(start));
  }

  zigzag(): number {
    return unzigzag(this.varint());
  }

  utf8(length: number): string {
    if (length > this.bytes.length - this.position) this.cutShort();
    const text = utf8.decode(this.bytes.subarray(this.position, this.position + length));
    this.position += length;
    return text;
  }

  skip(length: number): void {
    if (length > this.bytes.length - this.position) this.cutShort();
    this.position += length;
  }

  private cutShort(): never {
    throw new PayloadError('record runs past the end of the chunk', this.payloadPosition(this.position));
  }
}

/** (n << 1) ^ (n >> 63) undone with arithmetic, since bitwise operators are 32-bit in JS. */
export function unzigzag(encoded: number): number {
  return encoded % 2 === 0 ? encoded / 2 : -(encoded + 1) / 2;
}
