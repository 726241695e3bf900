// The engine's DEFLATE decoder against zlib (the reference implementation): every stream zlib
// writes, at every level and strategy (stored, fixed and dynamic Huffman blocks), inflates to the
// original bytes; malformed streams are errors, never writes outside the destination.
import { readFileSync } from 'node:fs';
import { constants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { instantiateDecoder, type DecoderExports } from '../../wasm/host/decoder-instance.js';
import { compiledDecoder } from '../../wasm/host/node-wasm.js';
import { randomBytes, seededRandom } from './random-capture.js';

async function engine(): Promise<DecoderExports> {
  return instantiateDecoder(await compiledDecoder());
}

/** Inflates one stream with the engine; returns the bytes or the error code. */
function inflate(decoder: DecoderExports, stream: Uint8Array, capacity: number): Uint8Array | number {
  const input = decoder.inputBuffer(stream.length) >>> 0;
  new Uint8Array(decoder.memory.buffer, input, stream.length).set(stream);
  const written = decoder.inflateInput(stream.length, capacity);
  if (written < 0) return written;
  return new Uint8Array(decoder.memory.buffer, decoder.rawPointer() >>> 0, written).slice();
}

/** Bytes with a geometric spread of frequencies: some Huffman codes are longer than 10 bits. */
function skewedBytes(seed: number, length: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.min(255, Math.floor(-Math.log2(random() + 1e-12) * 1.3));
  return bytes;
}

const STRATEGIES: [string, object][] = [
  ['stored (level 0)', { level: 0 }],
  ['level 1', { level: 1 }],
  ['level 6', { level: 6 }],
  ['level 9', { level: 9 }],
  ['fixed Huffman codes', { level: 6, strategy: constants.Z_FIXED }],
  ['Huffman codes only', { level: 6, strategy: constants.Z_HUFFMAN_ONLY }],
  ['run lengths', { level: 6, strategy: constants.Z_RLE }],
];

function checkRoundTrip(decoder: DecoderExports, data: Uint8Array): void {
  for (const [name, options] of STRATEGIES) {
    const actual = inflate(decoder, deflateRawSync(data, options), data.length);
    // Buffer.equals: a deep equality over megabytes would dominate the test's time.
    expect(typeof actual === 'number' ? `error ${actual} (${name})` : Buffer.from(actual).equals(Buffer.from(data)) || name).toBe(true);
  }
}

describe('DEFLATE decompression against zlib', () => {
  it('inflates incompressible, low-entropy and skewed random bytes', async () => {
    const decoder = await engine();
    checkRoundTrip(decoder, randomBytes(1, 300_000, 256));
    for (const alphabet of [2, 4, 16]) checkRoundTrip(decoder, randomBytes(alphabet, 200_000, alphabet));
    checkRoundTrip(decoder, skewedBytes(5, 400_000));
  });

  it('inflates real data: a binary and a source file', async () => {
    const decoder = await engine();
    checkRoundTrip(decoder, new Uint8Array(readFileSync(process.execPath)).subarray(0, 3 << 20));
    checkRoundTrip(decoder, new Uint8Array(readFileSync(new URL('../../collector/lib/reader/frame-resolver.ts', import.meta.url))));
  });

  it('inflates tiny inputs and the empty stream', async () => {
    const decoder = await engine();
    for (const length of [0, 1, 2, 3, 4, 5, 8, 9, 31, 258, 259]) checkRoundTrip(decoder, randomBytes(length, length, 3));
  });

  it('rejects malformed streams without writing past the destination', async () => {
    const decoder = await engine();
    const data = randomBytes(9, 50_000, 7);
    const stream = deflateRawSync(data, { level: 6 });
    // Too small a destination: an error, not an overflow.
    expect(inflate(decoder, stream, 1000)).toBeLessThan(0);
    // Cut short anywhere: an error (the stream must end where its last block ends).
    for (let cut = 0; cut < stream.length; cut += 97) expect(inflate(decoder, stream.subarray(0, cut), data.length)).toBeLessThan(0);
    // Bytes after the last block.
    expect(inflate(decoder, Uint8Array.from([...stream, 0]), data.length)).toBeLessThan(0);
    // Block type 3 is reserved; a distance before the start of the output; a stored block whose
    // length and its complement disagree.
    expect(inflate(decoder, Uint8Array.of(0x07, 0x00), 100)).toBeLessThan(0);
    expect(inflate(decoder, Uint8Array.of(0x03, 0x02, 0x00), 100)).toBeLessThan(0);
    expect(inflate(decoder, Uint8Array.of(0x01, 0x05, 0x00, 0xfa, 0xfe, 1, 2, 3, 4, 5), 100)).toBeLessThan(0);
    // Every single-bit flip, and random garbage: every call returns, inside the destination.
    for (let bit = 0; bit < Math.min(stream.length * 8, 4000); bit += 3) {
      const flipped = stream.slice();
      flipped[bit >> 3] ^= 1 << (bit & 7);
      const result = inflate(decoder, flipped, data.length);
      if (typeof result !== 'number') expect(result.length).toBeLessThanOrEqual(data.length);
    }
    const random = seededRandom(77);
    for (let i = 0; i < 2000; i++) {
      const garbage = randomBytes(i, 1 + Math.floor(random() * 200), 256);
      const result = inflate(decoder, garbage, 4096);
      if (typeof result !== 'number') expect(result.length).toBeLessThanOrEqual(4096);
    }
  });
});
