// The engine must give the same CaptureModel as the reference reader: same tree, frames, views,
// timeline and stats, on random event streams of every shape the format allows.
import { describe, expect, it } from 'vitest';
import { piecesOf } from '../support/synthetic-capture.js';
import { readCapture } from '../../collector/lib/reader/index.js';
import { DecodeSession } from '../../wasm/host/decode-session.js';
import { compiledDecoder } from '../../wasm/host/node-wasm.js';
import { randomCapture } from './random-capture.js';

async function decodeWithEngine(bytes: Uint8Array, temporaryThreshold?: number) {
  const session = await DecodeSession.create(await compiledDecoder());
  return session.decode(piecesOf(bytes, 4099), bytes.length, { temporaryThreshold });
}

describe('engine against the reference reader', () => {
  // 20k blocks live before the random events: the live table outgrows the core's cache and the
  // engine switches from applying each record at once to decoding runs and touching their slots
  // first (wasm/assembly/record-decoder.ts, decodeHeapRun); both must agree with the reference.
  for (const seed of [101, 102]) {
    it(`random capture ${seed} with a live set past the cache (lz4, temporary threshold 2)`, async () => {
      const bytes = randomCapture(seed, { events: 6000, preallocate: 20000, codec: 'lz4' });
      const reference = await readCapture(piecesOf(bytes, 65536), bytes.length, { temporaryThreshold: 2 });
      const engine = await decodeWithEngine(bytes, 2);
      expect(engine.stats.leakedAllocations).toBeGreaterThan(20000);
      expect(engine).toEqual(reference);
    });
  }

  // Thousands of blocks numbered past many block pages of 1,024: pages close with a few survivors
  // and retire them to the old-block table, emptied pages are reused, and later frees find blocks
  // in either place (wasm/assembly/live-blocks.ts); long runs also merge time buckets.
  for (const seed of [201, 202]) {
    it(`random capture ${seed} whose blocks outlive their block pages (lz4, temporary threshold 1)`, async () => {
      const bytes = randomCapture(seed, { events: 60000, preallocate: 3000, codec: 'lz4' });
      const reference = await readCapture(piecesOf(bytes, 65536), bytes.length, { temporaryThreshold: 1 });
      const engine = await decodeWithEngine(bytes, 1);
      expect(reference.stats.totalAllocations).toBeGreaterThan(20000);
      expect(engine).toEqual(reference);
    });
  }

  // The same with the engine's limits cut down: at most 3 pages held (the oldest is then retired
  // whatever it holds), or a directory spanning 5 pages (the front page is retired when a new page
  // would leave the window). Capped sizes the default limits reach only with millions of blocks.
  for (const [seed, pages, window] of [[203, 3, 0], [204, 0, 5]]) {
    it(`random capture ${seed} with at most ${pages || 'the default'} pages held and a window of ${window || 'the default'} pages`, async () => {
      const bytes = randomCapture(seed, { events: 60000, preallocate: 3000, codec: 'lz4' });
      const reference = await readCapture(piecesOf(bytes, 65536), bytes.length, { temporaryThreshold: 1 });
      const session = await DecodeSession.create(await compiledDecoder());
      session.engine.liveBlockLimits(pages, window);
      const engine = await session.decode(piecesOf(bytes, 4099), bytes.length, { temporaryThreshold: 1 });
      expect(engine).toEqual(reference);
    });
  }

  // The collector writes each thread slot's records in a stream of its own, put back in order by
  // the chunk's schedule (docs/capture-format.md, "Chunk"); threads past the chunk's 15 slots share
  // stream 0. Both readers must read exactly what the same records in one stream say.
  for (const seed of [301, 302, 303]) {
    const codec = (['stored', 'lz4', 'deflate'] as const)[seed % 3];
    it(`random capture ${seed} in record streams, 20 threads (${codec})`, async () => {
      const options = { events: 8000, codec, threads: 20 };
      const oneStream = randomCapture(seed, options);
      const streams = randomCapture(seed, { ...options, streams: true });
      expect(streams.length).not.toBe(oneStream.length);
      const reference = await readCapture(piecesOf(oneStream, 65536), oneStream.length);
      expect(reference.stats.threads.length).toBeGreaterThan(15);
      expect(await readCapture(piecesOf(streams, 65536), streams.length)).toEqual(reference);
      expect(await decodeWithEngine(streams)).toEqual(reference);
    });
  }

  for (let seed = 1; seed <= 40; seed++) {
    const codec = (['stored', 'lz4', 'deflate'] as const)[seed % 3];
    const threshold = 1 + (seed % 4);
    it(`random capture ${seed} (${codec}, temporary threshold ${threshold})`, async () => {
      const bytes = randomCapture(seed, { events: 200 + seed * 150, codec, trailer: seed % 5 !== 0 });
      const reference = await readCapture(piecesOf(bytes, 65536), bytes.length, { temporaryThreshold: threshold });
      const engine = await decodeWithEngine(bytes, threshold);
      expect(engine).toEqual(reference);
    });
  }
});
