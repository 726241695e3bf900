// The collector's LZ4 block compressor against the reference `lz4` tool: every block it writes,
// wrapped in an LZ4 frame, must decompress with `lz4 -d` to the exact input.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testAddonPath } from './trace-helpers.js';

const native = createRequire(import.meta.url)(testAddonPath) as { lz4Compress(input: Uint8Array, attempts?: number): Buffer };

// xxHash32 of fewer than 16 bytes (the frame descriptor's header checksum byte is all we need).
function xxh32(data: Uint8Array, seed = 0): number {
  const P1 = 2654435761, P2 = 2246822519, P3 = 3266489917, P5 = 374761393;
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  let h = (seed + P5 + data.length) >>> 0;
  let i = 0;
  for (; i < data.length; i++) h = Math.imul(rotl((h + Math.imul(data[i], P5)) >>> 0, 11), P1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function frame(block: Uint8Array): Buffer {
  const descriptor = Uint8Array.of(0x60, 0x70); // version 1, independent blocks; 4 MiB max block
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, ...descriptor, (xxh32(descriptor) >>> 8) & 0xff]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(block.length);
  return Buffer.concat([header, size, block, Buffer.alloc(4)]);
}

function roundTrip(input: Uint8Array, attempts = 4): Buffer {
  const result = spawnSync('lz4', ['-d', '-c'], { input: frame(native.lz4Compress(input, attempts)), maxBuffer: 64 << 20 });
  expect(result.status, result.stderr?.toString()).toBe(0);
  return result.stdout;
}

describe('collector LZ4 compressor, checked by the lz4 tool', () => {
  const inputs: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['tiny', Uint8Array.of(1, 2, 3)],
    ['random 1 MiB (incompressible)', randomBytes(1 << 20)],
    ['zeros 1 MiB', new Uint8Array(1 << 20)],
    ['source text', readFileSync(new URL('../../collector/src/core/tracker.cpp', import.meta.url))],
    ['a real capture payload pattern', (() => {
      const bytes = new Uint8Array(1 << 20);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i % 7 === 0 ? 0x11 : (i * 2654435761) >>> 27) & 0xff;
      return bytes;
    })()],
  ];
  for (const [name, input] of inputs) {
    it(`round-trips ${name}, searching hash chains and with a single probe`, () => {
      expect(Buffer.compare(roundTrip(input), Buffer.from(input))).toBe(0);
      expect(Buffer.compare(roundTrip(input, 1), Buffer.from(input))).toBe(0);
    });
  }

  it('compresses repetitive event streams well', () => {
    const input = Buffer.alloc(1 << 20);
    for (let i = 0; i < input.length; i += 8) input.writeUInt32LE(0x01020304 + ((i >> 3) % 5), i);
    expect(native.lz4Compress(input).length).toBeLessThan(input.length / 20);
  });
});
