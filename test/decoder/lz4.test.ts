// The engine's LZ4 block decoder against the lz4 CLI (the reference implementation): every block
// of a frame the CLI compressed decompresses to the original bytes; malformed blocks are errors,
// never writes outside the destination.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { instantiateDecoder, type DecoderExports } from '../../wasm/host/decoder-instance.js';
import { compiledDecoder } from '../../wasm/host/node-wasm.js';
import { lz4FrameBlocks } from './lz4-frame.js';
import { randomBytes, seededRandom } from './random-capture.js';

const LZ4_CLI = '/usr/bin/lz4';

async function engine(): Promise<DecoderExports> {
  return instantiateDecoder(await compiledDecoder());
}

/** Decompresses one block with the engine; returns the bytes or the error code. */
function decompress(decoder: DecoderExports, block: Uint8Array, capacity: number): Uint8Array | number {
  const input = decoder.inputBuffer(block.length) >>> 0;
  new Uint8Array(decoder.memory.buffer, input, block.length).set(block);
  const written = decoder.lz4DecompressInput(block.length, capacity);
  if (written < 0) return written;
  return new Uint8Array(decoder.memory.buffer, decoder.rawPointer() >>> 0, written).slice();
}

function compressWithCli(data: Uint8Array, args: string[]): Uint8Array {
  return new Uint8Array(execFileSync(LZ4_CLI, [...args, '-q', '-BI', '--no-frame-crc', '-c'], { input: data, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] }));
}

function checkRoundTrip(decoder: DecoderExports, data: Uint8Array, args: string[]): void {
  const { blocks, blockMaxBytes } = lz4FrameBlocks(compressWithCli(data, args));
  let offset = 0;
  for (const block of blocks) {
    const expected = data.subarray(offset, offset + Math.min(blockMaxBytes, data.length - offset));
    const actual = block.uncompressed ? block.data : decompress(decoder, block.data, expected.length);
    // Buffer.equals: a deep equality over megabytes would dominate the test's time.
    expect(typeof actual === 'number' ? actual : Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
    offset += expected.length;
  }
  expect(offset).toBe(data.length);
}

/** Text-like data with repeats at every distance, short (overlapping) and long. */
function repetitiveBytes(seed: number, length: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const roll = random();
    if (roll < 0.3 || at < 16) bytes[at++] = 97 + Math.floor(random() * 26);
    else {
      const distance = roll < 0.6 ? 1 + Math.floor(random() * 15) : 16 + Math.floor(random() * Math.min(at - 16, 60000) + 1);
      const count = Math.floor(random() * 300);
      for (let i = 0; i < count && at < length && at - distance >= 0; i++, at++) bytes[at] = bytes[at - distance];
      if (at - distance < 0) bytes[at++] = 0;
    }
  }
  return bytes;
}

describe.skipIf(!existsSync(LZ4_CLI))('LZ4 block decompression against the lz4 CLI', () => {
  it('decompresses incompressible random bytes', async () => {
    const decoder = await engine();
    checkRoundTrip(decoder, randomBytes(1, 300_000, 256), ['-B4']);
  });

  it('decompresses low-entropy random bytes (long matches, every offset)', async () => {
    const decoder = await engine();
    for (const alphabet of [2, 4, 16]) checkRoundTrip(decoder, randomBytes(alphabet, 200_000, alphabet), ['-B5']);
  });

  it('decompresses repetitive text with overlapping matches, fast and high compression', async () => {
    const decoder = await engine();
    for (let seed = 1; seed <= 6; seed++) {
      checkRoundTrip(decoder, repetitiveBytes(seed, 100_000 + seed * 7919), [seed % 2 === 0 ? '-9' : '-1', '-B4']);
    }
  });

  it('decompresses real data: a binary and a source file, 4 MB blocks', async () => {
    const decoder = await engine();
    checkRoundTrip(decoder, new Uint8Array(readFileSync(process.execPath)).subarray(0, 6 << 20), ['-B7']);
    checkRoundTrip(decoder, new Uint8Array(readFileSync(new URL('../../collector/lib/reader/frame-resolver.ts', import.meta.url))), ['-B4']);
  });

  it('decompresses tiny inputs, including a single literal and the empty block', async () => {
    const decoder = await engine();
    for (const length of [1, 5, 12, 13, 16, 17, 31, 64]) checkRoundTrip(decoder, randomBytes(length, length, 3), ['-B4']);
    expect(decompress(decoder, new Uint8Array([0]), 0)).toEqual(new Uint8Array(0));
  });

  it('rejects malformed blocks without writing past the destination', async () => {
    const decoder = await engine();
    const data = repetitiveBytes(9, 50_000);
    const block = lz4FrameBlocks(compressWithCli(data, ['-B4'])).blocks[0].data;
    // Too small a destination: an error, not an overflow.
    expect(decompress(decoder, block, 1000)).toBeLessThan(0);
    // Cut short anywhere: an error or a shorter output, never a trap.
    for (let cut = 1; cut < block.length; cut += 97) {
      const result = decompress(decoder, block.subarray(0, cut), data.length);
      if (typeof result !== 'number') expect(result.length).toBeLessThanOrEqual(data.length);
    }
    // Offsets pointing before the start.
    expect(decompress(decoder, new Uint8Array([0x10, 0x41, 0x05, 0x00, 0x00]), 100)).toBeLessThan(0);
    expect(decompress(decoder, new Uint8Array([0x00, 0x00, 0x00]), 100)).toBeLessThan(0);
    // Random garbage, many times: every call returns.
    const random = seededRandom(77);
    for (let i = 0; i < 2000; i++) {
      const garbage = randomBytes(i, 1 + Math.floor(random() * 200), 256);
      const result = decompress(decoder, garbage, 4096);
      if (typeof result !== 'number') expect(result.length).toBeLessThanOrEqual(4096);
    }
  });
});
