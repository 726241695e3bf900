// The figures `memview stats` prints and the memory timeline, from a capture with known answers.
import { describe, expect, it } from 'vitest';
import { readSynthetic } from '../support/model-queries.js';
import { Allocator, Deallocator, SyntheticCapture } from '../support/synthetic-capture.js';
import { programCapture } from './program-fixture.js';

describe('capture stats', () => {
  it('count allocations by allocator, size and location', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 0, stacks.load) // malloc(0)
      .alloc(0x2000, 1, stacks.load, Allocator.calloc)
      .alloc(0x3000, 1000, stacks.parse, Allocator.new)
      .alloc(0x4000, 1023, stacks.parse, Allocator.newArray)
      .alloc(0x5000, 1024, stacks.parse, Allocator.posix_memalign)
      .free(0x3000, Deallocator.delete)
      .map(0x7f0000000000, 4096, stacks.main);
    const model = await readSynthetic(capture);
    const { stats } = model;
    expect(stats.totalAllocations).toBe(6);
    expect(stats.totalBytesAllocated).toBe(0 + 1 + 1000 + 1023 + 1024 + 4096);
    expect(stats.allocators).toMatchObject({
      malloc: { count: 1, bytes: 0 }, calloc: { count: 1, bytes: 1 }, new: { count: 1, bytes: 1000 },
      'new[]': { count: 1, bytes: 1023 }, posix_memalign: { count: 1, bytes: 1024 }, mmap: { count: 1, bytes: 4096 },
      realloc: { count: 0, bytes: 0 }, valloc: { count: 0, bytes: 0 },
    });
    expect(Object.keys(stats.allocators)).toEqual([
      'malloc', 'calloc', 'realloc', 'posix_memalign', 'aligned_alloc', 'memalign', 'valloc', 'pvalloc', 'new', 'new[]', 'mmap',
    ]);
    const nonEmptyBins = stats.sizeHistogram.filter((bin) => bin.count > 0);
    expect(nonEmptyBins).toEqual([
      { minBytes: 0, maxBytes: 0, count: 1 },
      { minBytes: 1, maxBytes: 1, count: 1 },
      { minBytes: 512, maxBytes: 1023, count: 2 },
      { minBytes: 1024, maxBytes: 2047, count: 1 },
      { minBytes: 4096, maxBytes: 8191, count: 1 },
    ]);
    expect(stats.sizeHistogram[0]).toEqual({ minBytes: 0, maxBytes: 0, count: 1 });
    expect(stats.sizeHistogram.at(-1)).toEqual({ minBytes: 4096, maxBytes: 8191, count: 1 });
    expect(stats.topByBytes.map((l) => [l.function, l.file, l.line, l.bytes, l.count])).toEqual([
      ['main', '/app/server.js', 1, 4096, 1],
      ['parse', '/app/server.js', 20, 3047, 3],
      ['load', '/app/server.js', 10, 1, 2],
    ]);
    expect(stats.topByCount.map((l) => l.function)).toEqual(['parse', 'load', 'main']);
    expect(stats.leakedBytes).toBe(0 + 1 + 1023 + 1024 + 4096);
    expect(stats.leakedAllocations).toBe(5);
  });

  it('read the collector’s META records and the duration from the trailer', async () => {
    const { capture, stacks } = programCapture();
    capture.time(2_500_000_000, 9_000_000).alloc(0x1000, 10, stacks.load).time(3_000_000_000, 7_000_000);
    capture.meta('endReason', 'SIGABRT').meta('framesNamedAfterwards', '1');
    const model = await readSynthetic(capture);
    expect(model.meta).toEqual({
      formatVersion: 6, pid: 4242, commandLine: ['node', '/app/server.js'], nodeVersion: 'v20.20.2',
      startTimeUnixMs: 1700000000000, durationMs: 3000, pageSize: 4096, mainThreadId: 1, nativeFrames: false, truncated: false,
      endReason: 'SIGABRT', framesNamedAfterwards: true, dataChunks: 1,
    });
    expect(model.stats.durationMs).toBe(3000);
    expect(model.stats.peakRssBytes).toBe(9_000_000);
    expect(model.stats.peakTimeMs).toBe(2500);
  });

  it('name an unnamed main thread "main" and leave other unnamed threads unnamed', async () => {
    const capture = new SyntheticCapture().meta('mainThreadId', '10');
    capture.thread(10).alloc(1, 1, 0).thread(11).alloc(2, 1, 0);
    const model = await readSynthetic(capture);
    expect(model.stats.threads).toEqual([{ id: 10, name: 'main', allocations: 1 }, { id: 11, name: '', allocations: 1 }]);
    expect(model.strings).toContain('thread 10 (main)');
    expect(model.strings).toContain('thread 11');
  });
});

describe('the timeline', () => {
  it('has one sample per TIME record with the most tracked and heap memory until the next one, and the RSS that follows', async () => {
    const { capture, stacks } = programCapture(); // TIME 0, RSS 1000
    capture.alloc(0x1000, 100, stacks.load).map(0x7f0000000000, 4096, stacks.load)
      .time(10e6, 2000).free(0x1000).time(20e6).time(30e6, 3000);
    const { timeline } = await readSynthetic(capture);
    expect([...timeline.timeMs]).toEqual([0, 10, 20, 30]);
    expect([...timeline.trackedBytes]).toEqual([4196, 4196, 4096, 4096]);
    expect([...timeline.heapBytes]).toEqual([100, 100, 0, 0]);
    expect([...timeline.rssBytes]).toEqual([1000, 2000, 2000, 3000]);
  });

  it('reads the peak at the peak\'s time, even when the peak is freed before the next TIME record', async () => {
    // Events carry the time of the TIME record before them: the peak at 10 ms came and went between
    // the TIME records of 10 and 20 ms (the phases capture of the QA report showed 27.5 of 68.5 MiB there).
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 100, stacks.load).time(10e6).alloc(0x2000, 5000, stacks.parse).free(0x2000).time(20e6).time(30e6);
    const { timeline, stats } = await readSynthetic(capture);
    expect(stats.peakBytes).toBe(5100);
    expect(stats.peakTimeMs).toBe(10);
    expect(timeline.trackedBytes[timeline.timeMs.indexOf(10)]).toBe(5100);
    expect(Math.max(...timeline.trackedBytes)).toBe(5100);
  });

  it('is decimated to at most 2000 points that keep the highest and lowest samples', async () => {
    const { capture, stacks } = programCapture();
    for (let i = 1; i <= 20000; i++) {
      if (i === 12345) capture.alloc(0x5000, 1_000_000, stacks.parse); // a short spike
      if (i === 12346) capture.free(0x5000);
      capture.alloc(0x1000 + (i % 2) * 0x100, 10 + (i % 7), stacks.load).time(i * 1e6);
      capture.free(0x1000 + (i % 2) * 0x100);
      if (i % 1000 === 0) capture.endChunk();
    }
    const { timeline, stats } = await readSynthetic(capture);
    expect(timeline.timeMs.length).toBeLessThanOrEqual(2000);
    expect(timeline.timeMs.length).toBeGreaterThan(1000);
    expect(Math.max(...timeline.trackedBytes)).toBe(1_000_014);
    expect(stats.peakBytes).toBe(1_000_014);
    // The spike was allocated after the TIME record of 12344 ms.
    expect(timeline.trackedBytes[timeline.timeMs.indexOf(stats.peakTimeMs)]).toBe(1_000_014);
    for (let i = 1; i < timeline.timeMs.length; i++) expect(timeline.timeMs[i]).toBeGreaterThan(timeline.timeMs[i - 1]);
  });
});
