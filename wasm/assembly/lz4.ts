// LZ4 block decompression (the block format of the LZ4 specification), bounds-checked on every
// length so a malformed block is an error code, never a write outside [dst, dst + dstCapacity).
// Copies go 16 bytes at a time (SIMD) when both the source and the destination have that much
// room; the destination buffer therefore wants 16 bytes of slack past dstCapacity only for speed,
// not for safety: without room the copy falls back to exact byte loops.

import { copyMatch } from "./match-copy";

export const LZ4_ERROR_MALFORMED: isize = -1;

/**
 * Decompresses the block [src, src + srcLength) into dst. Returns the number of bytes written,
 * or LZ4_ERROR_MALFORMED when a length, offset or the end of the block is inconsistent.
 */
export function lz4DecompressBlock(src: usize, srcLength: usize, dst: usize, dstCapacity: usize): isize {
  let input = src;
  const inputEnd = src + srcLength;
  let output = dst;
  const outputEnd = dst + dstCapacity;
  if (srcLength == 0) return LZ4_ERROR_MALFORMED;

  while (true) {
    if (input >= inputEnd) return LZ4_ERROR_MALFORMED;
    const token = <u32>load<u8>(input);
    input++;

    // Literals.
    let literalLength = <usize>(token >>> 4);
    if (literalLength == 15) {
      let more: u32 = 255;
      while (more == 255) {
        if (input >= inputEnd) return LZ4_ERROR_MALFORMED;
        more = <u32>load<u8>(input);
        input++;
        literalLength += more;
        if (literalLength > dstCapacity) return LZ4_ERROR_MALFORMED;
      }
    }
    if (literalLength > inputEnd - input || literalLength > outputEnd - output) return LZ4_ERROR_MALFORMED;
    if (literalLength <= inputEnd - input - 16 && literalLength <= outputEnd - output - 16 &&
        inputEnd - input >= 16 && outputEnd - output >= 16) {
      // Wild copy: may write up to 15 bytes past the literals, all inside the destination and
      // overwritten by what follows.
      let from = input;
      let to = output;
      const toEnd = output + literalLength;
      do {
        v128.store(to, v128.load(from));
        from += 16;
        to += 16;
      } while (to < toEnd);
    } else {
      memory.copy(output, input, literalLength);
    }
    input += literalLength;
    output += literalLength;

    // The last sequence has literals only.
    if (input == inputEnd) break;

    // Match.
    if (inputEnd - input < 2) return LZ4_ERROR_MALFORMED;
    const offset = <usize>load<u16>(input);
    input += 2;
    if (offset == 0 || offset > output - dst) return LZ4_ERROR_MALFORMED;
    let matchLength = <usize>(token & 15);
    if (matchLength == 15) {
      let more: u32 = 255;
      while (more == 255) {
        if (input >= inputEnd) return LZ4_ERROR_MALFORMED;
        more = <u32>load<u8>(input);
        input++;
        matchLength += more;
        if (matchLength > dstCapacity) return LZ4_ERROR_MALFORMED;
      }
    }
    matchLength += 4;
    if (matchLength > outputEnd - output) return LZ4_ERROR_MALFORMED;

    output = copyMatch(output, offset, matchLength, outputEnd);
  }
  return <isize>(output - dst);
}
