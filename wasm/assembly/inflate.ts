// Raw DEFLATE decompression (RFC 1951), the codec of capture format 5's chunks. Bounds-checked on
// every length and distance, so a malformed stream is an error code, never a write outside
// [dst, dst + dstCapacity) nor a read past [src, src + srcLength + 8).
//
// Symbols are decoded through a table indexed by the next TABLE_BITS bits of the stream (codes up
// to that long, which is nearly every symbol a chunk uses); longer codes fall back to walking the
// canonical code a bit at a time. The bit buffer is refilled eight bytes at a time, so the source
// must be followed by 8 readable bytes (the engine's input buffer has READ_SLACK of them).

import { copyMatch } from "./match-copy";

export const INFLATE_ERROR_MALFORMED: isize = -1;

const TABLE_BITS: u32 = 10;
const TABLE_SIZE: u32 = 1 << TABLE_BITS;
const MAX_BITS: u32 = 15;
const LITERAL_LENGTH_SYMBOLS: u32 = 288;
const DISTANCE_SYMBOLS: u32 = 32;

// One decoding table: the fast table (entry = symbol << 4 | code length; 0 = a longer code or no
// code), the count of codes per length and the symbols in canonical order for the slow walk.
const TABLE_FAST: usize = 0;
const TABLE_COUNTS: usize = TABLE_FAST + (<usize>TABLE_SIZE << 2);
const TABLE_SYMBOLS: usize = TABLE_COUNTS + ((<usize>MAX_BITS + 1) << 1);
const TABLE_BYTES: usize = TABLE_SYMBOLS + (<usize>LITERAL_LENGTH_SYMBOLS << 1);

const literalTable = memory.data(<i32>TABLE_BYTES, 16);
const distanceTable = memory.data(<i32>TABLE_BYTES, 16);
const codeLengthTable = memory.data(<i32>TABLE_BYTES, 16);
const lengths = memory.data(<i32>(LITERAL_LENGTH_SYMBOLS + DISTANCE_SYMBOLS));
const offsets = memory.data((<i32>MAX_BITS + 2) << 1);

// Base and extra bits of length symbols 257..285 and of distance symbols 0..29 (RFC 1951, 3.2.5).
const LENGTH_BASE: StaticArray<u16> = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA: StaticArray<u8> = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_BASE: StaticArray<u16> = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DISTANCE_EXTRA: StaticArray<u8> = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER: StaticArray<u8> = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * Builds the decoding table for `count` code lengths at `lengthsAt`. False when the lengths are
 * over-subscribed (more codes than bits allow). An incomplete code is accepted, as zlib does:
 * a stream that uses a missing code fails when it is decoded.
 */
function buildTable(table: usize, lengthsAt: usize, count: u32): bool {
  const counts = table + TABLE_COUNTS;
  memory.fill(counts, 0, (<usize>MAX_BITS + 1) << 1);
  for (let symbol: u32 = 0; symbol < count; symbol++) {
    const length = <usize>load<u8>(lengthsAt + symbol);
    store<u16>(counts + (length << 1), load<u16>(counts + (length << 1)) + 1);
  }
  store<u16>(counts, 0);
  let left: i32 = 1;
  for (let length: usize = 1; length <= MAX_BITS; length++) {
    left = (left << 1) - <i32>load<u16>(counts + (length << 1));
    if (left < 0) return false;
  }
  // Canonical order: by length, then by symbol.
  store<u16>(offsets + 2, 0);
  for (let length: usize = 1; length < MAX_BITS; length++) {
    store<u16>(offsets + ((length + 1) << 1), load<u16>(offsets + (length << 1)) + load<u16>(counts + (length << 1)));
  }
  const symbols = table + TABLE_SYMBOLS;
  const fast = table + TABLE_FAST;
  memory.fill(fast, 0, <usize>TABLE_SIZE << 2);
  let code: u32 = 0;  // the canonical code of the next symbol, built up length by length
  for (let symbol: u32 = 0; symbol < count; symbol++) {
    const length = <usize>load<u8>(lengthsAt + symbol);
    if (length == 0) continue;
    const slot = offsets + (length << 1);
    const position = <usize>load<u16>(slot);
    store<u16>(slot, <u16>(position + 1));
    store<u16>(symbols + (position << 1), <u16>symbol);
  }
  // Fill the fast table in canonical order: codes of one length are consecutive.
  let index: usize = 0;
  for (let length: u32 = 1; length <= TABLE_BITS; length++) {
    const n = <u32>load<u16>(counts + (<usize>length << 1));
    for (let i: u32 = 0; i < n; i++) {
      const symbol = <u32>load<u16>(symbols + (index << 1));
      index++;
      // The stream holds codes most significant bit first: index the table by the reversed code.
      const reversed = reverseBits(code, length);
      const entry = (symbol << 4) | length;
      for (let fill = reversed; fill < TABLE_SIZE; fill += 1 << length) store<u32>(fast + (<usize>fill << 2), entry);
      code++;
    }
    code <<= 1;
  }
  return true;
}

@inline function reverseBits(value: u32, width: u32): u32 {
  return bitReverse32(value) >>> (32 - width);
}

function bitReverse32(value: u32): u32 {
  value = ((value >>> 1) & 0x55555555) | ((value & 0x55555555) << 1);
  value = ((value >>> 2) & 0x33333333) | ((value & 0x33333333) << 2);
  value = ((value >>> 4) & 0x0f0f0f0f) | ((value & 0x0f0f0f0f) << 4);
  value = ((value >>> 8) & 0x00ff00ff) | ((value & 0x00ff00ff) << 8);
  return (value >>> 16) | (value << 16);
}

let fixedBuilt = false;
const fixedLiteralTable = memory.data(<i32>TABLE_BYTES, 16);
const fixedDistanceTable = memory.data(<i32>TABLE_BYTES, 16);

function buildFixedTables(): void {
  for (let symbol: usize = 0; symbol < 288; symbol++) {
    store<u8>(lengths + symbol, symbol < 144 ? 8 : symbol < 256 ? 9 : symbol < 280 ? 7 : 8);
  }
  buildTable(fixedLiteralTable, lengths, 288);
  memory.fill(lengths, 5, 30);
  buildTable(fixedDistanceTable, lengths, 30);
  fixedBuilt = true;
}

// The decoder's state between helpers: the bit buffer, the read position, and how far that
// position may run past the stream's end (8 bytes of refill) before the stream is corrupt.
let bits: u64 = 0;
let bitCount: u32 = 0;
let input: usize = 0;
let inputLimit: usize = 0;

/** Tops the bit buffer up to at least 56 bits (reads up to 8 bytes past the stream's end). */
@inline function refill(): void {
  bits |= load<u64>(input) << bitCount;
  input += (63 - bitCount) >>> 3;
  bitCount |= 56;
}

@inline function take(width: u32): u32 {
  const value = <u32>bits & ((1 << width) - 1);
  bits >>= width;
  bitCount -= width;
  return value;
}

/** The next symbol of `table`, or -1 for a code the table does not have. Needs 15 bits buffered. */
@inline function decodeSymbol(table: usize): i32 {
  const entry = load<u32>(table + TABLE_FAST + ((<usize>bits & (TABLE_SIZE - 1)) << 2));
  const length = entry & 15;
  if (length != 0) {
    bits >>= length;
    bitCount -= length;
    return <i32>(entry >>> 4);
  }
  return decodeLongSymbol(table);
}

// The canonical walk for codes longer than TABLE_BITS: one bit at a time, comparing the code so
// far with the first code of each length.
function decodeLongSymbol(table: usize): i32 {
  const counts = table + TABLE_COUNTS;
  let code: i32 = 0;
  let first: i32 = 0;
  let index: i32 = 0;
  for (let length: u32 = 1; length <= MAX_BITS; length++) {
    code |= <i32>((bits >> (length - 1)) & 1);
    const count = <i32>load<u16>(counts + (<usize>length << 1));
    if (code - count < first) {
      bits >>= length;
      bitCount -= length;
      return <i32>load<u16>(table + TABLE_SYMBOLS + (<usize>(index + code - first) << 1));
    }
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return -1;
}

/** Reads a dynamic block's code lengths and builds its two tables; false when they are malformed. */
function readDynamicTables(): bool {
  refill();
  const literalCount = take(5) + 257;
  const distanceCount = take(5) + 1;
  const headerCount = take(4) + 4;
  if (literalCount > 286 || distanceCount > 30) return false;
  memory.fill(lengths, 0, 19);
  for (let i: i32 = 0; i < <i32>headerCount; i++) {
    refill();
    store<u8>(lengths + <usize>unchecked(CODE_LENGTH_ORDER[i]), <u8>take(3));
  }
  if (!buildTable(codeLengthTable, lengths, 19)) return false;
  const total = literalCount + distanceCount;
  let filled: u32 = 0;
  while (filled < total) {
    refill();
    if (input > inputLimit) return false;
    const symbol = decodeSymbol(codeLengthTable);
    if (symbol < 0) return false;
    if (symbol < 16) {
      store<u8>(lengths + filled, <u8>symbol);
      filled++;
      continue;
    }
    let repeat: u32;
    let value: u8 = 0;
    if (symbol == 16) {
      if (filled == 0) return false;
      value = load<u8>(lengths + filled - 1);
      repeat = 3 + take(2);
    } else if (symbol == 17) {
      repeat = 3 + take(3);
    } else {
      repeat = 11 + take(7);
    }
    if (filled + repeat > total) return false;
    memory.fill(lengths + filled, value, repeat);
    filled += repeat;
  }
  // A block must be able to end.
  if (load<u8>(lengths + 256) == 0) return false;
  if (!buildTable(literalTable, lengths, literalCount)) return false;
  return buildTable(distanceTable, lengths + literalCount, distanceCount);
}

/**
 * Decompresses the raw DEFLATE stream [src, src + srcLength) into dst. Returns the number of bytes
 * written, or INFLATE_ERROR_MALFORMED when a code, length or distance is invalid, the output would
 * pass dstCapacity, or the stream does not end exactly at srcLength.
 */
export function inflateRaw(src: usize, srcLength: usize, dst: usize, dstCapacity: usize): isize {
  input = src;
  bits = 0;
  bitCount = 0;
  const inputEnd = src + srcLength;
  inputLimit = inputEnd + 8;
  let output = dst;
  const outputEnd = dst + dstCapacity;
  let final: u32 = 0;
  while (final == 0) {
    refill();
    if (input > inputLimit) return INFLATE_ERROR_MALFORMED;
    final = take(1);
    const type = take(2);
    let literals = literalTable;
    let distances = distanceTable;
    if (type == 0) {
      // Stored: the rest of this byte is padding, then LEN, NLEN and LEN bytes.
      take(bitCount & 7);
      const at = input - (bitCount >>> 3);
      bits = 0;
      bitCount = 0;
      if (at + 4 > inputEnd) return INFLATE_ERROR_MALFORMED;
      const length = <usize>load<u16>(at);
      if ((length ^ <usize>load<u16>(at + 2)) != 0xffff) return INFLATE_ERROR_MALFORMED;
      if (length > inputEnd - at - 4 || length > outputEnd - output) return INFLATE_ERROR_MALFORMED;
      memory.copy(output, at + 4, length);
      output += length;
      input = at + 4 + length;
      continue;
    } else if (type == 1) {
      if (!fixedBuilt) buildFixedTables();
      literals = fixedLiteralTable;
      distances = fixedDistanceTable;
    } else if (type == 2) {
      if (!readDynamicTables()) return INFLATE_ERROR_MALFORMED;
    } else {
      return INFLATE_ERROR_MALFORMED;
    }
    while (true) {
      // A length symbol, its extra bits, a distance symbol and its extra bits take at most 48.
      refill();
      // A stream that runs on past its end (into the slack) is corrupt; stop before reading further.
      if (input > inputLimit) return INFLATE_ERROR_MALFORMED;
      const symbol = decodeSymbol(literals);
      if (symbol < 256) {
        if (symbol < 0 || output >= outputEnd) return INFLATE_ERROR_MALFORMED;
        store<u8>(output, <u8>symbol);
        output++;
        continue;
      }
      if (symbol == 256) break;
      const lengthIndex = symbol - 257;
      if (lengthIndex >= 29) return INFLATE_ERROR_MALFORMED;
      const length = <usize>unchecked(LENGTH_BASE[lengthIndex]) + <usize>take(<u32>unchecked(LENGTH_EXTRA[lengthIndex]));
      const distanceSymbol = decodeSymbol(distances);
      if (<u32>distanceSymbol >= 30) return INFLATE_ERROR_MALFORMED;
      const distance = <usize>unchecked(DISTANCE_BASE[distanceSymbol]) + <usize>take(<u32>unchecked(DISTANCE_EXTRA[distanceSymbol]));
      if (distance > output - dst || length > outputEnd - output) return INFLATE_ERROR_MALFORMED;
      output = copyMatch(output, distance, length, outputEnd);
    }
    // Bits consumed so far must lie inside the stream.
    if (input - (bitCount >>> 3) > inputEnd) return INFLATE_ERROR_MALFORMED;
  }
  // The stream ends at the byte holding its last bit: nothing may follow.
  if (input - (bitCount >>> 3) != inputEnd) return INFLATE_ERROR_MALFORMED;
  return <isize>(output - dst);
}
