// The LZ4 block decompressor agrees with the reference `lz4` tool, and rejects malformed blocks
// with a precise error instead of reading or writing out of bounds.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../collector/lib/reader/capture-error.js';
import { decompressLz4Block } from '../../collector/lib/reader/lz4-block.js';
import { compressLz4Block } from '../support/lz4-compress.js';

const LZ4_CLI = '/usr/bin/lz4';
const FRAME_MAGIC = 0x184d2204;
const BLOCK_MAX_SIZES: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };

interface FrameBlock {
  bytes: Uint8Array;
  compressed: boolean;
}

/** Splits an LZ4 *frame* (what the CLI writes) into its blocks and the frame's block size. */
function parseLz4Frame(frame: Uint8Array): { blockMaxSize: number; blocks: FrameBlock[] } {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  expect(view.getUint32(0, true)).toBe(FRAME_MAGIC);
  const flags = frame[4];
  expect(flags >>> 6).toBe(1); // frame format version 01
  expect(flags & 0x20).toBe(0x20); // blocks are independent
  const hasBlockChecksum = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const hasDictionaryId = (flags & 0x01) !== 0;
  const blockMaxSize = BLOCK_MAX_SIZES[(frame[5] >>> 4) & 0x7];
  let offset = 6 + (hasContentSize ? 8 : 0) + (hasDictionaryId ? 4 : 0) + 1; // + header checksum
  const blocks: FrameBlock[] = [];
  for (;;) {
    const sizeWord = view.getUint32(offset, true);
    offset += 4;
    if (sizeWord === 0) break; // end mark
    const size = sizeWord & 0x7fffffff;
    blocks.push({ bytes: frame.subarray(offset, offset + size), compressed: (sizeWord & 0x80000000) === 0 });
    offset += size + (hasBlockChecksum ? 4 : 0);
  }
  return { blockMaxSize, blocks };
}

/** Compresses with the CLI, then decompresses its blocks with our code. */
function roundTripThroughCli(original: Uint8Array, level: string): { output: Uint8Array; compressedBlocks: number } {
  const frame = execFileSync(LZ4_CLI, ['-q', level, '-B4', '-BI', '--no-frame-crc', '-c'], {
    input: original, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'ignore'],
  });
  const { blockMaxSize, blocks } = parseLz4Frame(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  const pieces: Uint8Array[] = [];
  let remaining = original.length;
  for (const block of blocks) {
    // Every block but the last holds exactly the frame's block size.
    const rawSize = Math.min(blockMaxSize, remaining);
    pieces.push(block.compressed ? decompressLz4Block(block.bytes, rawSize) : block.bytes);
    remaining -= rawSize;
  }
  expect(remaining).toBe(0);
  return { output: Buffer.concat(pieces), compressedBlocks: blocks.filter((block) => block.compressed).length };
}

function randomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

function repetitiveBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const block = Math.floor(i / 1000) % 4;
    bytes[i] = block === 0 ? 0 : block === 1 ? i % 3 : block === 2 ? 0x41 + (i % 17) : (i * 7) % 251;
  }
  return bytes;
}

function sourceText(): Uint8Array {
  const directory = join(import.meta.dirname, '../../collector/lib/reader');
  const text = readdirSync(directory).map((name) => readFileSync(join(directory, name), 'utf8')).join('\n');
  return new TextEncoder().encode(text.repeat(3));
}

const inputs: [string, Uint8Array, { compressible: boolean }][] = [
  ['one byte', Uint8Array.of(42), { compressible: false }],
  ['13 bytes', randomBytes(13, 1), { compressible: false }],
  ['300 KiB of random bytes', randomBytes(300 << 10, 7), { compressible: false }],
  ['200 KiB of runs and short cycles', repetitiveBytes(200 << 10), { compressible: true }],
  ['1 MiB of zeros', new Uint8Array(1 << 20), { compressible: true }],
  ['this reader’s own source text', sourceText(), { compressible: true }],
];

describe.skipIf(!existsSync(LZ4_CLI))('LZ4 blocks written by the lz4 CLI', () => {
  for (const [name, original, { compressible }] of inputs) {
    for (const level of ['-1', '-9', '-12']) {
      it(`decompress to the original: ${name}, level ${level}`, () => {
        const { output, compressedBlocks } = roundTripThroughCli(original, level);
        expect(Buffer.compare(output, original)).toBe(0);
        if (compressible) expect(compressedBlocks).toBeGreaterThan(0);
      });
    }
  }
});

describe('the test suite’s own LZ4 compressor', () => {
  for (const [name, original] of inputs) {
    it(`round-trips ${name}`, () => {
      expect(Buffer.compare(decompressLz4Block(compressLz4Block(original), original.length), original)).toBe(0);
    });
  }
});

describe('malformed LZ4 blocks', () => {
  const rejects = (block: number[], rawSize: number, message: RegExp) => {
    expect(() => decompressLz4Block(Uint8Array.from(block), rawSize)).toThrow(message);
  };

  it('reject a match offset of 0', () => rejects([0x10, 0x61, 0x00, 0x00, 0x00], 10, /offset is 0/));
  it('reject a match reaching before the start of the output', () =>
    rejects([0x10, 0x61, 0x02, 0x00, 0x00], 10, /offset 2 reaches before the start of the output \(at 1\)/));
  it('reject literals longer than the block', () => rejects([0x50, 0x61, 0x62], 5, /literals \(5 bytes\) run past the end/));
  it('reject literals that overrun the raw size', () => rejects([0x30, 0x61, 0x62, 0x63], 2, /literals overrun the output/));
  it('reject a match that overruns the raw size', () => rejects([0x1f, 0x61, 0x01, 0x00, 0x10, 0x00], 10, /match overruns the output/));
  it('reject a cut-off offset', () => rejects([0x10, 0x61, 0x01], 10, /offset runs past the end/));
  it('reject a cut-off length extension', () => rejects([0xf0, 0xff, 0xff], 1000, /length runs past the end/));
  it('reject a block that decompresses short of the raw size', () =>
    rejects([0x30, 0x61, 0x62, 0x63], 4, /decompresses to 3 bytes, the chunk header says 4/));
  it('reject an empty block with a non-zero raw size', () => rejects([], 4, /empty/));
  it('accept an overlapping match (a run)', () => {
    const run = decompressLz4Block(Uint8Array.of(0x1f, 0x61, 0x01, 0x00, 0x02, 0x00), 22);
    expect(new TextDecoder().decode(run)).toBe('a'.repeat(22));
  });

  it('fail cleanly, never crash, on thousands of corrupted blocks', () => {
    const original = sourceText().subarray(0, 4000);
    const valid = compressLz4Block(original);
    for (let trial = 0; trial < 3000; trial++) {
      const corrupted = valid.slice(0, trial % 7 === 0 ? valid.length - (trial % 50) : valid.length);
      const noise = randomBytes(4, trial);
      for (let k = 0; k < 1 + (trial % 3); k++) corrupted[(noise[k] * 131 + trial) % corrupted.length] ^= noise[3] | 1;
      try {
        decompressLz4Block(corrupted, original.length);
      } catch (error) {
        expect(error).toBeInstanceOf(PayloadError);
      }
    }
  });
});
