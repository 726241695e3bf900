// The part of the protocol buffers wire format that profile.proto needs: varints, length-delimited
// fields (strings, nested messages, packed repeated integers). https://protobuf.dev/programming-guides/encoding/
// Values are non-negative: numbers below 2^53 (byte and allocation counts, ids) are encoded with
// arithmetic, not 32-bit bit operations; larger ones (timestamps in ns) come as bigint.

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const textEncoder = new TextEncoder();

export class ProtoWriter {
  private buffer = new Uint8Array(256);
  private length = 0;

  get bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes);
    this.buffer = grown;
  }

  private rawVarint(value: number | bigint): void {
    if (typeof value === 'bigint') {
      if (value < 0n || value >= 1n << 64n) throw new RangeError(`protobuf varint out of range: ${value}`);
      this.reserve(10);
      while (value >= 0x80n) {
        this.buffer[this.length++] = Number(value & 0x7fn) | 0x80;
        value >>= 7n;
      }
      this.buffer[this.length++] = Number(value);
      return;
    }
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`protobuf varint out of range: ${value}`);
    this.reserve(10);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  private key(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  /**
   * An integer field (uint64/int64 with a non-negative value); zero is the default and is left out.
   * Values from 2^53 up (nanosecond timestamps) must be given as bigint.
   */
  integer(field: number, value: number | bigint): this {
    if (value === 0 || value === 0n) return this;
    this.key(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  bytesField(field: number, bytes: Uint8Array): this {
    this.key(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(bytes.length);
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** A string field; repeated string fields keep empty strings (string_table[0] must be ""). */
  string(field: number, text: string): this {
    return this.bytesField(field, textEncoder.encode(text));
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const nested = new ProtoWriter();
    build(nested);
    return this.bytesField(field, nested.bytes);
  }

  /** A packed repeated integer field. */
  packed(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const nested = new ProtoWriter();
    for (let i = 0; i < values.length; i++) nested.rawVarint(values[i]);
    return this.bytesField(field, nested.bytes);
  }
}
