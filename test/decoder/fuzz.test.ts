// Damaged captures (payload bytes flipped, overwritten, inserted or deleted, checksums re-sealed so
// the damage reaches the decoder; chunk headers scribbled on) end, within a time bound, either in
// a CaptureError or in a model, and never in a trap, a hang or an out-of-bounds write. When the
// reference reader also reads the damaged capture, both give the same model.
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../../collector/lib/reader/capture-error.js';
import { chunksOf, resealChecksum } from './capture-surgery.js';
import { engineDecode, outcome, referenceDecode } from './decode-bytes.js';
import { randomCapture, seededRandom } from './random-capture.js';

const CASES = 300;
const TIME_BOUND_MS = 2000;

function damage(original: Uint8Array, random: () => number): Uint8Array {
  let bytes = original.slice();
  const chunks = chunksOf(bytes).filter((chunk) => chunk.storedSize > 0);
  const chunk = chunks[Math.floor(random() * chunks.length)];
  const at = chunk.payloadOffset + Math.floor(random() * chunk.storedSize);
  const roll = random();
  if (roll < 0.35) {
    for (let i = 0; i < 1 + Math.floor(random() * 4); i++) bytes[at + Math.floor(random() * 8) % (chunk.storedSize - (at - chunk.payloadOffset))] ^= 1 << Math.floor(random() * 8);
  } else if (roll < 0.55) {
    bytes[at] = Math.floor(random() * 256);
  } else if (roll < 0.7) {
    // Insert or delete inside the payload, keeping the chunk header's sizes: a shifted stream.
    const shifted = random() < 0.5
      ? [...bytes.subarray(0, at), Math.floor(random() * 256), ...bytes.subarray(at, chunk.payloadOffset + chunk.storedSize - 1)]
      : [...bytes.subarray(0, at), ...bytes.subarray(at + 1, chunk.payloadOffset + chunk.storedSize), 0];
    bytes = new Uint8Array([...shifted, ...bytes.subarray(chunk.payloadOffset + chunk.storedSize)]);
  } else if (roll < 0.85) {
    // A chunk header field: kind, codec, sizes.
    const field = [4, 5, 8, 9, 12, 13, 14][Math.floor(random() * 7)];
    bytes[chunk.headerOffset + field] = Math.floor(random() * 256);
  } else {
    bytes.fill(random() < 0.5 ? 0 : 0xff, at, Math.min(at + 1 + Math.floor(random() * 40), chunk.payloadOffset + chunk.storedSize));
  }
  if (random() < 0.9) {
    for (const location of chunksOf(bytes)) {
      if (location.payloadOffset + location.storedSize <= bytes.length) resealChecksum(bytes, location);
    }
  }
  return bytes;
}

describe('fuzz: damaged captures', () => {
  it(`${CASES} damaged captures end in a model or a CaptureError, in bounded time, agreeing with the reference`, async () => {
    const random = seededRandom(2024);
    // Two of them in record streams with a schedule (format version 6, as the collector writes).
    const originals = [1, 2, 3, 4].map((seed) => randomCapture(seed * 31, {
      events: 600, codec: seed % 2 === 0 ? 'lz4' : 'stored', streams: seed > 2, threads: seed > 2 ? 5 : 3,
    }));
    let errors = 0;
    let models = 0;
    for (let i = 0; i < CASES; i++) {
      const bytes = damage(originals[i % originals.length], random);
      const started = performance.now();
      const engine = await outcome(() => engineDecode(bytes));
      expect(performance.now() - started, `case ${i}`).toBeLessThan(TIME_BOUND_MS);
      if (engine instanceof Error) {
        expect(engine, `case ${i}: ${engine.stack}`).toBeInstanceOf(CaptureError);
        errors++;
        continue;
      }
      models++;
      const reference = await outcome(() => referenceDecode(bytes));
      if (!(reference instanceof Error)) expect(engine, `case ${i}`).toEqual(reference);
    }
    // The damage must reach both outcomes for the test to mean anything.
    expect(errors).toBeGreaterThan(CASES / 10);
    expect(models).toBeGreaterThan(CASES / 20);
  }, 120_000);
});
