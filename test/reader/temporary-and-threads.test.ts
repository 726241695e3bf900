// Temporary allocations are freed by their thread within N of its own later allocations; each
// thread gets its own subtree under the root.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEvents } from '../collector/trace-helpers.js';
import { engineDecode, referenceDecode } from '../decoder/decode-bytes.js';
import { bytesByFunction, readSynthetic, viewByPath } from '../support/model-queries.js';
import { MAIN, WORKER, programCapture } from './program-fixture.js';

function readEventsOf(bytes: Uint8Array) {
  const path = join(mkdtempSync(join(tmpdir(), 'memview-threads-')), 'threads.bin');
  writeFileSync(path, bytes);
  return readEvents(path);
}

function temporaryScenario() {
  const { capture, stacks } = programCapture();
  capture.alloc(0x1000, 1, stacks.load).free(0x1000) // freed before the next allocation
    .alloc(0x2000, 2, stacks.parse).alloc(0x3000, 4, stacks.main).free(0x2000) // 1 allocation in between
    .alloc(0x4000, 8, stacks.load).alloc(0x5000, 16, stacks.main).alloc(0x6000, 32, stacks.main)
    .alloc(0x7000, 64, stacks.main).free(0x4000); // 3 allocations in between
  return capture;
}

describe('temporary allocations', () => {
  it('with N=1 are only those freed before the thread allocates again', async () => {
    const model = await readSynthetic(temporaryScenario());
    expect(model.temporaryThreshold).toBe(1);
    expect(bytesByFunction(model, 'temporary')).toEqual({ load: 1 });
  });

  it('with N=3 include blocks freed after up to two more allocations', async () => {
    const model = await readSynthetic(temporaryScenario(), { temporaryThreshold: 3 });
    expect(bytesByFunction(model, 'temporary')).toEqual({ load: 1, parse: 2 });
  });

  it('count only the allocating thread’s own allocations, and only frees on that thread', async () => {
    const { capture, stacks } = programCapture();
    capture.thread(1).alloc(0x1000, 10, stacks.load)
      .thread(2).alloc(0x9000, 99, stacks.parse) // another thread's allocation does not count
      .thread(1).free(0x1000) // temporary for thread 1
      .alloc(0x2000, 20, stacks.load)
      .thread(2).free(0x2000); // freed by another thread: not temporary
    const model = await readSynthetic(capture);
    expect(viewByPath(model, 'temporary')).toEqual({ [`${MAIN} > main > load`]: { bytes: 10, count: 1 } });
  });

  it('include the old block of a realloc that moves it right away', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x1000, 10, stacks.load).realloc(0x1000, 0x2000, 20, stacks.load);
    const model = await readSynthetic(capture);
    expect(bytesByFunction(model, 'temporary')).toEqual({ load: 10 });
  });
});

describe('threads', () => {
  it('each get a subtree named after the thread, with their own figures', async () => {
    const { capture, stacks } = programCapture();
    capture.thread(1).alloc(0x1000, 100, stacks.load)
      .thread(2).alloc(0x2000, 200, stacks.load).alloc(0x3000, 300, stacks.parse)
      .thread(1).alloc(0x4000, 400, stacks.load)
      .endChunk() // the next chunk names its thread again
      .alloc(0x5000, 500, stacks.parse);
    const model = await readSynthetic(capture);
    expect(viewByPath(model, 'allocated')).toEqual({
      [`${MAIN} > main > load`]: { bytes: 500, count: 2 },
      [`${MAIN} > main > parse`]: { bytes: 500, count: 1 },
      [`${WORKER} > main > load`]: { bytes: 200, count: 1 },
      [`${WORKER} > main > parse`]: { bytes: 300, count: 1 },
    });
    expect(model.stats.threads).toEqual([
      { id: 1, name: 'main', allocations: 3 },
      { id: 2, name: 'worker', allocations: 2 },
    ]);
  });

  it('past the 15 a chunk names by slot, are still told apart, in both readers', async () => {
    // Threads 101..120 take turns in one chunk: the first 15 get slots, the other 5 are named by
    // id every time (slot 0), and their new blocks' addresses share slot 0's base.
    const { capture, stacks } = programCapture();
    for (let round = 0; round < 3; round++) {
      for (let thread = 101; thread <= 120; thread++) {
        capture.thread(thread).alloc(0x100000 * thread + 0x100 * round, thread, stacks.load);
      }
    }
    const bytes = capture.toBytes();
    for (const model of [await referenceDecode(bytes), await engineDecode(bytes)]) {
      const threads = model.stats.threads.filter((thread) => thread.id > 100);
      expect(threads.map((thread) => [thread.id, thread.allocations])).toEqual(
        Array.from({ length: 20 }, (_, i) => [101 + i, 3]));
      expect(model.stats.totalBytesAllocated).toBe(3 * (101 + 120) * 10);
    }
    const { events } = await readEventsOf(bytes);
    expect(events.filter((event) => event.type === 'alloc').map((event) => event.address)).toEqual(
      [0, 1, 2].flatMap((round) => Array.from({ length: 20 }, (_, i) => 0x100000 * (101 + i) + 0x100 * round)));
  });

    it('keep the tree’s parents before their children', async () => {
    const { capture, stacks } = programCapture();
    capture.thread(2).alloc(0x1000, 1, stacks.parse).thread(1).alloc(0x2000, 1, stacks.load);
    const model = await readSynthetic(capture);
    expect(model.tree.parent[0]).toBe(-1);
    for (let node = 1; node < model.tree.count; node++) expect(model.tree.parent[node]).toBeLessThan(node);
  });
});
