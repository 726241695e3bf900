// A small greedy LZ4 block compressor for building test captures (the collector has the real one).
// Follows the block format's end rules: the last 5 bytes are literals and no match starts within
// the last 12 bytes.

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MATCH_FREE_TAIL = 12;
const MAX_OFFSET = 65535;

export function compressLz4Block(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  const lastPositionOf = new Map<number, number>();
  const word = (at: number) => input[at] | (input[at + 1] << 8) | (input[at + 2] << 16) | (input[at + 3] << 24);
  let anchor = 0;
  let position = 0;
  const matchLimit = input.length - MATCH_FREE_TAIL;

  while (position < matchLimit) {
    const current = word(position);
    const candidate = lastPositionOf.get(current);
    lastPositionOf.set(current, position);
    if (candidate === undefined || position - candidate > MAX_OFFSET || word(candidate) !== current) {
      position++;
      continue;
    }
    let matchLength = MIN_MATCH;
    while (position + matchLength < input.length - LAST_LITERALS && input[candidate + matchLength] === input[position + matchLength]) {
      matchLength++;
    }
    writeSequence(out, input.subarray(anchor, position), position - candidate, matchLength);
    position += matchLength;
    anchor = position;
  }
  writeSequence(out, input.subarray(anchor), 0, 0);
  return Uint8Array.from(out);
}

function writeSequence(out: number[], literals: Uint8Array, offset: number, matchLength: number): void {
  const matchCode = matchLength === 0 ? 0 : matchLength - MIN_MATCH;
  out.push((Math.min(literals.length, 15) << 4) | Math.min(matchCode, 15));
  if (literals.length >= 15) writeLengthExtension(out, literals.length - 15);
  for (const byte of literals) out.push(byte);
  if (matchLength === 0) return; // the last sequence: literals only
  out.push(offset & 0xff, offset >>> 8);
  if (matchCode >= 15) writeLengthExtension(out, matchCode - 15);
}

function writeLengthExtension(out: number[], remaining: number): void {
  while (remaining >= 255) {
    out.push(255);
    remaining -= 255;
  }
  out.push(remaining);
}
