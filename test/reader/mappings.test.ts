// Accessible mapped memory: MAPs count as allocations of their length, and UNMAPs remove any
// part of them: a head, a middle, or pieces of several MAPs at once.
import { describe, expect, it } from 'vitest';
import { bytesByFunction, readSynthetic, viewByPath } from '../support/model-queries.js';
import { MAIN, programCapture } from './program-fixture.js';

const KiB = 1024;
const BASE = 0x7f0000000000;

describe('mapped memory', () => {
  it('is split by partial, middle and multi-range unmaps, charged to the MAP’s stack', async () => {
    const { capture, stacks } = programCapture();
    capture.map(BASE, 64 * KiB, stacks.load) // load: 64 KiB
      .unmap(BASE + 16 * KiB, 16 * KiB) // a hole in the middle: 48 KiB
      .unmap(BASE, 16 * KiB) // the head: 32 KiB left, [32K, 64K)
      .map(BASE + 64 * KiB, 64 * KiB, stacks.parse) // parse: 64 KiB, total 96 KiB ← peak
      .unmap(BASE + 32 * KiB, 64 * KiB); // the rest of load's MAP and half of parse's
    const model = await readSynthetic(capture);
    expect(model.stats.peakBytes).toBe(96 * KiB);
    expect(bytesByFunction(model, 'peak')).toEqual({ load: 32 * KiB, parse: 64 * KiB });
    expect(viewByPath(model, 'leaks')).toEqual({ [`${MAIN} > main > parse`]: { bytes: 32 * KiB, count: 1 } });
    expect(model.stats.leakedAllocations).toBe(1);
    expect(model.stats.allocators.mmap).toEqual({ count: 2, bytes: 128 * KiB });
    expect(model.stats.peakHeapBytes).toBe(0);
  });

  it('a MAP that stays half mapped still counts as one live allocation', async () => {
    const { capture, stacks } = programCapture();
    capture.map(BASE, 8 * KiB, stacks.load).unmap(BASE + 4 * KiB, 4 * KiB);
    const model = await readSynthetic(capture);
    expect(model.stats.leakedBytes).toBe(4 * KiB);
    expect(model.stats.leakedAllocations).toBe(1);
  });

  it('unmapping pages that were never mapped changes nothing', async () => {
    const { capture, stacks } = programCapture();
    capture.map(BASE, 8 * KiB, stacks.load).unmap(BASE + 8 * KiB, 8 * KiB).unmap(BASE - 4 * KiB, 4 * KiB);
    const model = await readSynthetic(capture);
    expect(model.stats.leakedBytes).toBe(8 * KiB);
  });

  it('a MAP over pages already mapped takes them over instead of counting them twice', async () => {
    const { capture, stacks } = programCapture();
    capture.map(BASE, 8 * KiB, stacks.load).map(BASE + 4 * KiB, 8 * KiB, stacks.parse);
    const model = await readSynthetic(capture);
    expect(model.stats.leakedBytes).toBe(12 * KiB);
    expect(bytesByFunction(model, 'leaks')).toEqual({ load: 4 * KiB, parse: 8 * KiB });
  });
});
