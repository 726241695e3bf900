// The peak view shows what was live when tracked memory was highest; the leaks view what was
// still live at the end; the allocated view everything ever allocated.
import { describe, expect, it } from 'vitest';
import { Allocator, Deallocator } from '../support/synthetic-capture.js';
import { bytesByFunction, readSynthetic, totalOf, viewByPath } from '../support/model-queries.js';
import { MAIN, programCapture } from './program-fixture.js';

describe('the peak', () => {
  it('is the moment tracked memory was highest, with frees before and after it', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 100, stacks.load) // 100
      .alloc(0x2000, 200, stacks.parse) // 300  ← peak
      .free(0x1000) // 200
      .alloc(0x3000, 50, stacks.load) // 250
      .free(0x2000); // 50
    const model = await readSynthetic(capture);
    expect(model.stats.peakBytes).toBe(300);
    expect(viewByPath(model, 'peak')).toEqual({
      [`${MAIN} > main > load`]: { bytes: 100, count: 1 },
      [`${MAIN} > main > parse`]: { bytes: 200, count: 1 },
    });
  });

  it('is the last allocation when memory only grows at the end', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 100, stacks.load).alloc(0x2000, 200, stacks.parse)
      .free(0x2000).free(0x1000)
      .alloc(0x3000, 250, stacks.parse).alloc(0x4000, 60, stacks.load);
    const model = await readSynthetic(capture);
    expect(model.stats.peakBytes).toBe(310);
    expect(bytesByFunction(model, 'peak')).toEqual({ parse: 250, load: 60 });
  });

  it('is the first time the maximum was reached, not a later equal one', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 100, stacks.load).free(0x1000).alloc(0x2000, 100, stacks.parse);
    const model = await readSynthetic(capture);
    expect(bytesByFunction(model, 'peak')).toEqual({ load: 100 });
  });

  it('matches an eager snapshot over a thousand random allocations and frees across chunks', async () => {
    const { capture, stacks } = programCapture();
    const functions = ['load', 'parse', 'main'] as const;
    // The obvious oracle: copy the live bytes per function whenever a new maximum is reached.
    const live = new Map<number, { fn: (typeof functions)[number]; size: number }>();
    let total = 0;
    let best = 0;
    let bestSnapshot: Record<string, number> = {};
    let seed = 12345;
    const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let event = 0; event < 1000; event++) {
      const address = 0x1000 + random(64) * 0x100;
      const block = live.get(address);
      if (block !== undefined) {
        capture.free(address);
        live.delete(address);
        total -= block.size;
      } else {
        const fn = functions[random(3)];
        const size = 1 + random(5000);
        capture.alloc(address, size, stacks[fn]);
        live.set(address, { fn, size });
        total += size;
        if (total > best) {
          best = total;
          bestSnapshot = {};
          for (const { fn: f, size: s } of live.values()) bestSnapshot[f] = (bestSnapshot[f] ?? 0) + s;
        }
      }
      if (event % 97 === 0) capture.endChunk();
    }
    const model = await readSynthetic(capture, { codec: 'lz4' });
    expect(model.stats.peakBytes).toBe(best);
    expect(bytesByFunction(model, 'peak')).toEqual(bestSnapshot);
    expect(model.stats.leakedBytes).toBe(total);
  });

  it('counts heap and mapped memory together, and heap alone for peakHeapBytes', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 5000, stacks.load) // heap 5000
      .map(0x7f0000000000, 8192, stacks.parse) // tracked 13192 ← peak
      .free(0x1000)
      .alloc(0x2000, 7000, stacks.load); // heap 7000 ← heap peak, tracked 15192 ← new peak
    const model = await readSynthetic(capture);
    expect(model.stats.peakBytes).toBe(15192);
    expect(model.stats.peakHeapBytes).toBe(7000);
  });
});

describe('leaks and allocations', () => {
  it('leaks are what is still live at the end', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 100, stacks.load).alloc(0x2000, 200, stacks.parse, Allocator.new)
      .free(0x2000, Deallocator.delete).alloc(0x3000, 30, stacks.load);
    const model = await readSynthetic(capture);
    expect(viewByPath(model, 'leaks')).toEqual({ [`${MAIN} > main > load`]: { bytes: 130, count: 2 } });
    expect(model.stats.leakedBytes).toBe(130);
    expect(model.stats.leakedAllocations).toBe(2);
  });

  it('frees of addresses never seen allocated change nothing', async () => {
    const { capture, stacks } = programCapture();
    capture.free(0xdead0).alloc(0x1000, 100, stacks.load).free(0xbeef0).free(0x1001);
    const model = await readSynthetic(capture);
    expect(model.stats.leakedBytes).toBe(100);
    expect(model.stats.peakBytes).toBe(100);
  });

  it('an allocation at an address still live replaces the old block instead of adding to it', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 100, stacks.load).alloc(0x1000, 40, stacks.parse).free(0x1000);
    const model = await readSynthetic(capture);
    expect(model.stats.leakedBytes).toBe(0);
    expect(model.stats.peakBytes).toBe(100);
    expect(totalOf(model, 'allocated')).toEqual({ bytes: 140, count: 2 });
  });

  it('a realloc chain counts each step as an allocation and leaves only the last block live', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 10, stacks.load)
      .realloc(0x1000, 0x2000, 20, stacks.parse) // moves
      .realloc(0x2000, 0x2000, 30, stacks.parse) // grows in place
      .realloc(0x2000, 0x3000, 40, stacks.parse)
      .realloc(0, 0x4000, 8, stacks.load); // realloc(NULL, n) is a malloc
    const model = await readSynthetic(capture);
    expect(totalOf(model, 'allocated')).toEqual({ bytes: 108, count: 5 });
    expect(model.stats.allocators.malloc).toEqual({ count: 1, bytes: 10 });
    expect(model.stats.allocators.realloc).toEqual({ count: 4, bytes: 98 });
    expect(bytesByFunction(model, 'leaks')).toEqual({ parse: 40, load: 8 });
    expect(model.stats.peakBytes).toBe(48);
  });
});
