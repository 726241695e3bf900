// What the engine reports for small captures whose answer is known by construction.
import { describe, expect, it } from 'vitest';
import { SyntheticCapture } from '../support/synthetic-capture.js';
import { engineDecode, figuresAt, referenceDecode } from './decode-bytes.js';

const MiB = 1 << 20;

function captureWithFunctions(names: string[]): { capture: SyntheticCapture; stackOf: Record<string, number> } {
  const capture = new SyntheticCapture();
  capture.meta('mainThreadId', '1').thread(1).time(0, 0);
  const stackOf: Record<string, number> = {};
  const main = capture.jsFunction('JS:~main /app/main.js:1:1', '/app/main.js', 1, 1);
  for (const name of names) {
    stackOf[name] = capture.stack([main, capture.jsFunction(`JS:~${name} /app/main.js:10:3`, '/app/main.js', 10, 3)]);
  }
  return { capture, stackOf };
}

describe('known answers', () => {
  it('a 10 MiB block allocated in load() shows up as 10 MiB under load at the peak and as a leak', async () => {
    const { capture, stackOf } = captureWithFunctions(['load']);
    capture.alloc(0x1000, 10 * MiB, stackOf.load).time(5e6, 0);
    const model = await engineDecode(capture.toBytes({ codec: 'lz4' }));
    expect(figuresAt(model, 'peak', 'load')).toEqual({ bytes: 10 * MiB, count: 1 });
    expect(figuresAt(model, 'leaks', 'load')).toEqual({ bytes: 10 * MiB, count: 1 });
    expect(model.stats.peakBytes).toBe(10 * MiB);
    expect(model.stats.leakedBytes).toBe(10 * MiB);
    expect(model.meta.truncated).toBe(false);
  });

  it('the peak is the high-water mark, not the end state', async () => {
    const { capture, stackOf } = captureWithFunctions(['a', 'b', 'c']);
    capture.alloc(0x1000, 100, stackOf.a).alloc(0x2000, 200, stackOf.b).time(1e6, 0)
      .free(0x1000).alloc(0x3000, 50, stackOf.c).time(2e6, 0);
    const model = await engineDecode(capture.toBytes());
    expect(model.stats.peakBytes).toBe(300);
    expect(model.stats.peakTimeMs).toBe(0);
    expect(figuresAt(model, 'peak', 'a').bytes).toBe(100);
    expect(figuresAt(model, 'peak', 'b').bytes).toBe(200);
    expect(figuresAt(model, 'peak', 'c').bytes).toBe(0);
    expect(figuresAt(model, 'leaks', 'a').bytes).toBe(0);
    expect(figuresAt(model, 'leaks', 'c').bytes).toBe(50);
    expect(figuresAt(model, 'allocated', 'a')).toEqual({ bytes: 100, count: 1 });
  });

  it('the memory chart reads the peak at the peak\'s time, even when it is freed before the next TIME record', async () => {
    const { capture, stackOf } = captureWithFunctions(['a', 'spike']);
    capture.alloc(0x1000, 100, stackOf.a).time(10e6, 0).alloc(0x2000, 5000, stackOf.spike).free(0x2000).time(20e6, 0).time(30e6, 0);
    const model = await engineDecode(capture.toBytes());
    expect(model.stats.peakBytes).toBe(5100);
    expect(model.stats.peakTimeMs).toBe(10);
    expect([...model.timeline.timeMs]).toEqual([0, 10, 20, 30]);
    expect([...model.timeline.trackedBytes]).toEqual([100, 5100, 100, 100]);
    expect([...model.timeline.heapBytes]).toEqual([100, 5100, 100, 100]);
  });

  it('a block freed before its thread allocates again is temporary; threshold 2 allows one allocation between', async () => {
    const { capture, stackOf } = captureWithFunctions(['quick', 'slow', 'other']);
    capture.alloc(0x1000, 64, stackOf.quick).free(0x1000)
      .alloc(0x2000, 32, stackOf.slow).alloc(0x3000, 16, stackOf.other).free(0x2000);
    const bytes = capture.toBytes();
    const one = await engineDecode(bytes, 1);
    expect(figuresAt(one, 'temporary', 'quick')).toEqual({ bytes: 64, count: 1 });
    expect(figuresAt(one, 'temporary', 'slow')).toEqual({ bytes: 0, count: 0 });
    const two = await engineDecode(bytes, 2);
    expect(figuresAt(two, 'temporary', 'slow')).toEqual({ bytes: 32, count: 1 });
    expect(two.temporaryThreshold).toBe(2);
  });

  it('a block freed on another thread is not temporary', async () => {
    const { capture, stackOf } = captureWithFunctions(['handoff']);
    capture.alloc(0x1000, 64, stackOf.handoff).thread(2).free(0x1000);
    const model = await engineDecode(capture.toBytes());
    expect(figuresAt(model, 'temporary', 'handoff').count).toBe(0);
  });

  it('mapped pages count in tracked memory but not in heap; a half-unmapped mapping is still one allocation', async () => {
    const { capture, stackOf } = captureWithFunctions(['heapPages', 'buffer']);
    capture.alloc(0x1000, 1000, stackOf.buffer).map(0x7000000, 8 * 4096, stackOf.heapPages).unmap(0x7000000 + 4096, 4096);
    const model = await engineDecode(capture.toBytes());
    expect(model.stats.peakBytes).toBe(1000 + 8 * 4096);
    expect(model.stats.peakHeapBytes).toBe(1000);
    expect(figuresAt(model, 'leaks', 'heapPages')).toEqual({ bytes: 7 * 4096, count: 1 });
    expect(model.stats.leakedAllocations).toBe(2);
    expect(model.stats.allocators.mmap).toEqual({ count: 1, bytes: 8 * 4096 });
  });

  it('a realloc moves the block: the old stack loses it, the new one has it', async () => {
    const { capture, stackOf } = captureWithFunctions(['grow', 'start']);
    capture.alloc(0x1000, 10, stackOf.start).realloc(0x1000, 0x5000, 1000, stackOf.grow);
    const model = await engineDecode(capture.toBytes());
    expect(figuresAt(model, 'leaks', 'start').bytes).toBe(0);
    expect(figuresAt(model, 'leaks', 'grow')).toEqual({ bytes: 1000, count: 1 });
    expect(model.stats.allocators.realloc).toEqual({ count: 1, bytes: 1000 });
    expect(model.stats.totalAllocations).toBe(2);
  });

  it('a block allocated before a STACK_RESET keeps its stack after it', async () => {
    const { capture, stackOf } = captureWithFunctions(['before']);
    capture.alloc(0x1000, 77, stackOf.before).stackReset();
    const after = capture.stack([capture.jsFunction('JS:~after /app/main.js:20:1', '/app/main.js', 20, 1)]);
    capture.alloc(0x2000, 5, after);
    const model = await engineDecode(capture.toBytes());
    expect(figuresAt(model, 'leaks', 'before').bytes).toBe(77);
    expect(figuresAt(model, 'leaks', 'after').bytes).toBe(5);
  });

  it('threads are listed with their names and allocation counts, in order of appearance', async () => {
    const { capture, stackOf } = captureWithFunctions(['work']);
    capture.threadName(2, 'worker').alloc(0x1000, 1, stackOf.work).thread(2).alloc(0x2000, 1, stackOf.work).alloc(0x3000, 1, stackOf.work);
    const model = await engineDecode(capture.toBytes());
    expect(model.stats.threads).toEqual([
      { id: 1, name: 'main', allocations: 1 },
      { id: 2, name: 'worker', allocations: 2 },
    ]);
  });

  it('a capture without its trailer is marked truncated and keeps what it holds', async () => {
    const { capture, stackOf } = captureWithFunctions(['load']);
    capture.alloc(0x1000, 123, stackOf.load);
    const model = await engineDecode(capture.toBytes({ trailer: false }));
    expect(model.meta.truncated).toBe(true);
    expect(model.stats.truncated).toBe(true);
    expect(figuresAt(model, 'leaks', 'load').bytes).toBe(123);
  });

  it('agrees with the reference reader on all of the above', async () => {
    const { capture, stackOf } = captureWithFunctions(['x', 'y']);
    capture.alloc(0x1000, 10, stackOf.x).map(0x100000, 4096, stackOf.y).time(3e6, 99).free(0x1000).unmap(0x100000, 4096);
    const bytes = capture.toBytes({ codec: 'lz4' });
    expect(await engineDecode(bytes)).toEqual(await referenceDecode(bytes));
  });
});
