// The collector's DEFLATE compressor against zlib's inflate as the oracle: every stream it writes
// must inflate to the exact input, whatever the data, the block break and the search depth.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { testAddonPath } from './trace-helpers.js';

const native = createRequire(import.meta.url)(testAddonPath) as {
  deflateRaw(input: Uint8Array, blockBreaks?: number[], attempts?: number, longMatches?: boolean): Buffer;
};

// Event-like bytes: repeated record shapes with near-random fields, as in a capture chunk.
function eventLike(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16;
  for (let i = 0; i < size;) {
    bytes[i++] = 0x11;
    bytes[i++] = 0x80 | (next() & 0x7f);
    bytes[i++] = next() & 0x3f;
    if (next() % 3 === 0) bytes[i++] = 0x02;
  }
  return bytes;
}

// An allocation storm's records: one thread allocating four kinds in turn, another freeing in
// order, the two interleaved in runs of random length (each run starts with a thread switch).
function stormLike(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16;
  const allocations = [[0x91, 0x02], [0x11, 0x02], [0x21, 0x05], [0x91, 0x02]];
  let at = 0;
  let allocated = 0;
  let freed = 0;
  while (at < size - 16) {
    bytes[at++] = 0x26;
    for (let run = 1 + (next() % 6); run > 0 && at < size - 8; run--) {
      const [type, stack] = allocations[allocated++ & 3];
      bytes[at++] = type;
      bytes[at++] = stack;
    }
    bytes[at++] = 0x16;
    for (let run = 1 + (next() % 7); run > 0 && at < size - 8; run--) {
      bytes[at++] = freed++ % 3 === 2 ? 0x32 : 0x12;
      bytes[at++] = 0x02;
    }
  }
  return bytes;
}

// Bytes whose frequencies follow the Fibonacci numbers: a Huffman code for them is deeper than
// DEFLATE's 15 bits, so the compressor must limit the code lengths.
function fibonacciSkewed(): Uint8Array {
  const counts: number[] = [1, 1];
  while (counts.length < 27) counts.push(counts[counts.length - 1] + counts[counts.length - 2]);
  const total = counts.reduce((a, b) => a + b, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  counts.forEach((count, symbol) => { bytes.fill(symbol * 7, at, at + count); at += count; });
  // Shuffle so that few matches hide the literals.
  let state = 7;
  for (let i = bytes.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [bytes[i], bytes[j]] = [bytes[j], bytes[i]];
  }
  return bytes;
}

describe('collector DEFLATE compressor, checked by zlib', () => {
  const inputs: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['tiny', Uint8Array.of(1, 2, 3)],
    ['random 1 MiB (incompressible: stored blocks)', randomBytes(1 << 20)],
    ['zeros 1 MiB (longest matches at distance 1)', new Uint8Array(1 << 20)],
    ['source text', readFileSync(new URL('../../collector/src/core/tracker.cpp', import.meta.url))],
    ['event-like 2 MiB', eventLike(2 << 20, 1)],
    ['storm-like records 1 MiB', stormLike(1 << 20, 1)],
    ['skewed byte frequencies (length-limited codes)', fibonacciSkewed()],
  ];
  for (const [name, input] of inputs) {
    it(`round-trips ${name} at every search depth and block break, with and without long matches`, () => {
      const third = Math.floor(input.length / 3);
      for (const longMatches of [false, true]) {
        for (const attempts of [1, 4, 8, 16]) {
          for (const blockBreaks of [[], [0], [input.length >> 1], [third, 2 * third], [third, third, input.length]]) {
            const compressed = native.deflateRaw(input, blockBreaks, attempts, longMatches);
            expect(compressed.length).toBeLessThanOrEqual(input.length + (input.length >> 12) + 64);
            expect(Buffer.compare(inflateRawSync(compressed), Buffer.from(input))).toBe(0);
          }
        }
      }
    });
  }

  it('stores incompressible data with at most a few bytes per 32 KiB of overhead', () => {
    const input = randomBytes(1 << 20);
    expect(native.deflateRaw(input).length).toBeLessThanOrEqual(input.length + 5 * 33 + 8);
  });

  it('finds the long matches of a storm\'s records in the 8-byte chain', () => {
    // The nearest positions sharing 4 bytes are short repeats; the long matches lie further down.
    const input = stormLike(1 << 20, 2);
    const shortChain = native.deflateRaw(input, [], 16).length;
    const longChain = native.deflateRaw(input, [], 16, true).length;
    expect(longChain).toBeLessThan(shortChain * 0.9);
    expect(longChain).toBeLessThan(deflateRawSync(input, { level: 6 }).length * 1.15);
  });

  it('compresses event-like data about as well as zlib at its default level', () => {
    const input = eventLike(1 << 20, 2);
    const ours = native.deflateRaw(input, [], 8).length;
    const zlib = deflateRawSync(input, { level: 6 }).length;
    expect(ours).toBeLessThan(zlib * 1.05);
  });
});
