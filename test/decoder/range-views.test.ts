// Time-range answers (rangeViews) against what they must equal: over the whole run, the model's
// own peak and leak views; over [0, t], the peak and leak views of the capture cut at t, as the
// reference reader reads it. Long enough runs make the engine merge its time buckets.
import { describe, expect, it } from 'vitest';
import type { CaptureModel, NodeMetrics } from '../../viewer/model/types.js';
import { SyntheticCapture, piecesOf } from '../support/synthetic-capture.js';
import { DecodeSession } from '../../wasm/host/decode-session.js';
import { compiledDecoder } from '../../wasm/host/node-wasm.js';
import { referenceDecode } from './decode-bytes.js';
import { seededRandom } from './random-capture.js';

/** A run with TIME records 1-30 ms apart; with `stopAtMs`, the part before the first TIME at or after it. */
function timedCapture(seed: number, events: number, stopAtMs = Infinity): { bytes: Uint8Array; durationMs: number } {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const capture = new SyntheticCapture();
  capture.thread(1).time(0, 0);
  const pcs = [0, 1, 2, 3, 4, 5].map((i) => capture.jsFunction(`JS:~f${i} /a.js:${i + 1}:1`, '/a.js', i + 1, 1));
  const stacks = [0, 1, 2, 3, 4, 5, 6, 7].map(() => capture.stack([pick(pcs), pick(pcs)]));
  const live: number[] = [];
  let next = 0x1000;
  let timeMs = 0;
  for (let i = 0; i < events; i++) {
    const roll = random();
    if (roll < 0.08) {
      const nextTimeMs = timeMs + 1 + Math.floor(random() * 30);
      if (nextTimeMs >= stopAtMs) break;
      timeMs = nextTimeMs;
      capture.time(timeMs * 1e6, 0);
    } else if (roll < 0.1) capture.thread(1 + Math.floor(random() * 2));
    else if (roll < 0.5) {
      capture.alloc((next += 32), 1 + Math.floor(random() * 1000), pick(stacks));
      live.push(next);
    } else if (roll < 0.85 && live.length > 0) {
      // Free recent blocks more often than old ones: most die young, some live long.
      const index = random() < 0.7 ? live.length - 1 - Math.floor(random() * Math.min(5, live.length)) : Math.floor(random() * live.length);
      capture.free(live.splice(index, 1)[0]);
    } else if (roll < 0.92) {
      capture.map(0x10000000 + Math.floor(random() * 64) * 4096, 4096 * (1 + Math.floor(random() * 4)), pick(stacks));
    } else {
      capture.unmap(0x10000000 + Math.floor(random() * 64) * 4096, 4096 * (1 + Math.floor(random() * 3)));
    }
  }
  return { bytes: capture.toBytes(), durationMs: timeMs };
}

/** Figures by call path (frame names from the root), so models with different trees compare. */
function byPath(model: CaptureModel, metrics: NodeMetrics): Map<string, [number, number]> {
  const paths: string[] = [''];
  const result = new Map<string, [number, number]>();
  for (let node = 1; node < model.tree.count; node++) {
    const frame = model.tree.frame[node];
    paths[node] = `${paths[model.tree.parent[node]]}/${model.strings[model.frames.functionName[frame]]}`;
    if (metrics.bytes[node] === 0 && metrics.count[node] === 0) continue;
    const figures = result.get(paths[node]) ?? [0, 0];
    figures[0] += metrics.bytes[node];
    figures[1] += metrics.count[node];
    result.set(paths[node], figures);
  }
  return result;
}

function total(values: Float64Array): number {
  return values.reduce((sum, value) => sum + value, 0);
}

async function engineSession(bytes: Uint8Array): Promise<{ session: DecodeSession; model: CaptureModel }> {
  const session = await DecodeSession.create(await compiledDecoder());
  const model = await session.decode(piecesOf(bytes, 8191), bytes.length);
  return { session, model };
}

describe('rangeViews', () => {
  it('over the whole run equals the model\'s peak and leak views', async () => {
    for (const seed of [1, 2, 3]) {
      const { bytes, durationMs } = timedCapture(seed, 4000);
      const { session, model } = await engineSession(bytes);
      const range = session.rangeViews(0, durationMs);
      expect(range.peak).toEqual(model.views.peak);
      expect(range.leaks).toEqual(model.views.leaks);
    }
  });

  it('over [0, t] equals the peak and leaks of the capture cut at t, across bucket merges', async () => {
    for (const seed of [4, 5]) {
      const { bytes, durationMs } = timedCapture(seed, 12000);
      const { session, model } = await engineSession(bytes);
      expect(session.rangeResolutionMs).toBeGreaterThan(1); // the buckets were merged at least once
      // Ranges are answered per leak bucket of `width`: an end inside one moves to the nearest boundary.
      const width = session.leakResolutionMs;
      for (let step = 1; step <= 8; step++) {
        const lastBucket = Math.floor((durationMs / width) * step / 9);
        const range = session.rangeViews(0, (lastBucket + 1) * width - width / 4);
        expect(range.snappedMs).toEqual([0, (lastBucket + 1) * width]);
        const cut = await referenceDecode(timedCapture(seed, 12000, (lastBucket + 1) * width).bytes);
        expect(byPath(model, range.peak), `seed ${seed}, bucket ${lastBucket}`).toEqual(byPath(cut, cut.views.peak));
        expect(byPath(model, range.leaks), `seed ${seed}, bucket ${lastBucket}`).toEqual(byPath(cut, cut.views.leaks));
      }
    }
  }, 60_000);

  it('a block allocated and freed inside a range is not a leak of it; one that outlives the range is', async () => {
    const capture = new SyntheticCapture();
    capture.thread(1).time(0, 0);
    const shortLived = capture.stack([capture.jsFunction('JS:~shortLived /a.js:1:1', '/a.js', 1, 1)]);
    const longLived = capture.stack([capture.jsFunction('JS:~longLived /a.js:2:1', '/a.js', 2, 1)]);
    capture.time(100e6, 0).alloc(0x1000, 10, shortLived).alloc(0x2000, 20, longLived)
      .time(150e6, 0).free(0x1000).time(300e6, 0).free(0x2000).time(400e6, 0);
    const bytes = capture.toBytes();
    const { session, model } = await engineSession(bytes);
    const nodeOf = (name: string) => {
      for (let node = 1; node < model.tree.count; node++) {
        if (model.strings[model.frames.functionName[model.tree.frame[node]]] === name) return node;
      }
      throw new Error(name);
    };
    const range = session.rangeViews(90, 200);
    expect(range.leaks.bytes[nodeOf('shortLived')]).toBe(0);
    expect(range.leaks.bytes[nodeOf('longLived')]).toBe(20);
    expect(range.peak.bytes[nodeOf('shortLived')]).toBe(10);
    const later = session.rangeViews(200, 350);
    expect(later.leaks.bytes[nodeOf('longLived')]).toBe(0);
    expect(later.peak.bytes[nodeOf('longLived')]).toBe(20);
    expect(later.peak.bytes[nodeOf('shortLived')]).toBe(0);
  });

  it('counts a block allocated just after the range in its leaks only if its peak counts it too', async () => {
    // The workers capture of the QA report: the run's peak came 2.5 ms after the range's end, and
    // the range's leaks (75.5 MiB) counted it while its peak (40.3 MiB) did not.
    const capture = new SyntheticCapture();
    capture.thread(1).time(0, 0);
    const early = capture.stack([capture.jsFunction('JS:~early /a.js:1:1', '/a.js', 1, 1)]);
    const justAfter = capture.stack([capture.jsFunction('JS:~justAfter /a.js:2:1', '/a.js', 2, 1)]);
    capture.time(10e6, 0).alloc(0x1000, 100, early);
    for (let ms = 11; ms <= 400; ms++) {
      capture.time(ms * 1e6, 0);
      if (ms === 141) capture.alloc(0x100000, 1_000_000, justAfter);
    }
    const { session, model } = await engineSession(capture.toBytes());
    expect(session.leakResolutionMs).toBe(8); // so that 137 and 141 ms share a leak bucket
    let node = 1;
    while (model.strings[model.frames.functionName[model.tree.frame[node]]] !== 'justAfter') node++;
    const range = session.rangeViews(0, 137);
    expect(range.snappedMs).toEqual([0, 144]); // the chart shows this range
    expect(range.leaks.bytes[node]).toBe(1_000_000);
    expect(range.peak.bytes[node]).toBe(1_000_000);
    const before = session.rangeViews(0, 135);
    expect(before.snappedMs).toEqual([0, 136]);
    expect(before.leaks.bytes[node]).toBe(0);
    expect(total(before.leaks.bytes)).toBe(100);
    expect(total(before.peak.bytes)).toBe(100);
  });

  it('answers both views for the same range, which it reports, so leaks never exceed the peak', async () => {
    for (const seed of [6, 7]) {
      const { bytes, durationMs } = timedCapture(seed, 12000);
      const { session } = await engineSession(bytes);
      for (let i = 0; i < 40; i++) {
        const t0 = (durationMs * (i % 7)) / 9;
        const t1 = t0 + (durationMs * (1 + (i % 5))) / 17;
        const range = session.rangeViews(t0, t1);
        const [fromMs, toMs] = range.snappedMs;
        expect(fromMs).toBeLessThan(toMs);
        expect(fromMs).toBeLessThanOrEqual(t0);
        expect(toMs).toBeGreaterThanOrEqual(t1);
        expect(total(range.leaks.bytes), `seed ${seed}, ${t0}-${t1} ms`).toBeLessThanOrEqual(total(range.peak.bytes));
      }
    }
  }, 60_000);

  it('counts more than 65,535 blocks of one call path freed in one later bucket', async () => {
    // Their frees all land on one leak tuple, whose count must not wrap (the engine keeps 16 bits
    // of count per tuple and starts another one when it would overflow).
    const capture = new SyntheticCapture();
    capture.thread(1).time(0, 0);
    const stack = capture.stack([capture.jsFunction('JS:~manyBlocks /a.js:1:1', '/a.js', 1, 1)]);
    const blocks = 70_000;
    for (let i = 0; i < blocks; i++) capture.alloc(0x100000 + i * 32, 3, stack);
    capture.time(500e6, 0);
    for (let i = 0; i < blocks; i++) capture.free(0x100000 + i * 32);
    capture.time(1000e6, 0);
    const { session, model } = await engineSession(capture.toBytes());
    let node = 1;
    while (model.strings[model.frames.functionName[model.tree.frame[node]]] !== 'manyBlocks') node++;
    // Allocated in the first tenth of the run, freed after it: every block outlived the range.
    const range = session.rangeViews(0, 100);
    expect(range.leaks.count[node]).toBe(blocks);
    expect(range.leaks.bytes[node]).toBe(3 * blocks);
  });
});
