// LZ4 block decompression (the block format of the LZ4 specification, without the frame around
// it). A chunk's payload is untrusted: every length is checked against both buffers before it is
// used, so a malformed block fails with a PayloadError naming the input position, never reads or
// writes out of bounds, and always terminates (each step consumes at least one input byte).
import { PayloadError } from './capture-error.js';

const MIN_MATCH_LENGTH = 4;

/** Decompresses one LZ4 block whose decompressed size must be exactly `rawSizeBytes`. */
export function decompressLz4Block(block: Uint8Array, rawSizeBytes: number): Uint8Array {
  const output = new Uint8Array(rawSizeBytes);
  let inputPos = 0;
  let outputPos = 0;
  if (block.length === 0) {
    if (rawSizeBytes === 0) return output;
    throw new PayloadError(`LZ4 block is empty but should decompress to ${rawSizeBytes} bytes`, 0);
  }

  const readLengthExtension = (length: number): number => {
    // Lengths of 15 continue in following bytes; each 255 means "more follows".
    let extra: number;
    do {
      if (inputPos >= block.length) {
        throw new PayloadError('LZ4 length runs past the end of the block', inputPos);
      }
      extra = block[inputPos++];
      length += extra;
    } while (extra === 255);
    return length;
  };

  for (;;) {
    const tokenPos = inputPos;
    const token = block[inputPos++];

    let literalLength = token >>> 4;
    if (literalLength === 15) literalLength = readLengthExtension(literalLength);
    if (literalLength > block.length - inputPos) {
      throw new PayloadError(
        `LZ4 literals (${literalLength} bytes) run past the end of the block`, tokenPos);
    }
    if (literalLength > rawSizeBytes - outputPos) {
      throw new PayloadError(
        `LZ4 literals overrun the output (raw size ${rawSizeBytes} bytes)`, tokenPos);
    }
    output.set(block.subarray(inputPos, inputPos + literalLength), outputPos);
    inputPos += literalLength;
    outputPos += literalLength;

    // The last sequence has literals only: the block ends right after them.
    if (inputPos === block.length) break;

    if (block.length - inputPos < 2) {
      throw new PayloadError('LZ4 match offset runs past the end of the block', inputPos);
    }
    const matchOffset = block[inputPos] | (block[inputPos + 1] << 8);
    const offsetPos = inputPos;
    inputPos += 2;
    if (matchOffset === 0) throw new PayloadError('LZ4 match offset is 0', offsetPos);
    if (matchOffset > outputPos) {
      throw new PayloadError(
        `LZ4 match offset ${matchOffset} reaches before the start of the output (at ${outputPos})`,
        offsetPos);
    }

    let matchLength = token & 0x0f;
    if (matchLength === 15) matchLength = readLengthExtension(matchLength);
    matchLength += MIN_MATCH_LENGTH;
    if (matchLength > rawSizeBytes - outputPos) {
      throw new PayloadError(
        `LZ4 match overruns the output (raw size ${rawSizeBytes} bytes)`, tokenPos);
    }
    // Byte by byte on purpose: a match may overlap the bytes it is producing (offset < length).
    let from = outputPos - matchOffset;
    for (let i = 0; i < matchLength; i++) output[outputPos++] = output[from++];
  }

  if (outputPos !== rawSizeBytes) {
    throw new PayloadError(
      `LZ4 block decompresses to ${outputPos} bytes, the chunk header says ${rawSizeBytes}`,
      inputPos);
  }
  return output;
}
